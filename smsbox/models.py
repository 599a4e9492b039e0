from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **fields: object) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.update(is_staff=True, is_superuser=True, is_verified=True)
        fields.setdefault("verified_at", timezone.now())
        return self._create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    class Tier(models.TextChoices):
        STANDARD = "standard", "Standard"
        BUSINESS = "business", "Business"

    email = models.EmailField(unique=True)
    is_staff = models.BooleanField(default=False, help_text="Operators: may log in to the admin.")
    is_active = models.BooleanField(default=True)
    is_verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    banned_until = models.DateTimeField(null=True, blank=True)
    webhook_url = models.URLField(blank=True, max_length=500)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Account lifecycle: the smallest lead time (days before deletion) of the inactivity notices
    # sent since the account was last active; cleared by activity.
    inactivity_notice_days = models.PositiveSmallIntegerField(null=True, blank=True)
    inactivity_notice_sent_at = models.DateTimeField(null=True, blank=True)
    # Set when the account was anonymised in place because its row could not be deleted.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Raised by "log out other sessions": it is part of the session auth hash (0 keeps Django's).
    session_epoch = models.PositiveIntegerField(default=0)

    # Back office: an operator's block stops the API keys and the dashboard at once; the abuse
    # rule (or an operator) suspends purchases only.
    blocked_at = models.DateTimeField(null=True, blank=True)
    block_reason = models.CharField(max_length=255, blank=True, default="")
    purchases_suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=255, blank=True, default="")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["is_verified", "created_at"])]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_session_auth_hash(self) -> str:
        """Django's hash of the password, salted with ``session_epoch`` once it was raised, so
        raising it ends every session but the one that is handed the new hash."""
        if not self.session_epoch:
            return super().get_session_auth_hash()
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            f"smsbox.sessions.{self.session_epoch}", self.password, algorithm="sha256"
        ).hexdigest()

    def is_banned(self, *, now=None) -> bool:
        return self.banned_until is not None and self.banned_until > (now or timezone.now())


class JobRun(models.Model):
    """One run of a periodic job: when, where, how many rows it touched, what went wrong."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Rows the job changed.")
    errors = models.PositiveIntegerField(default=0, help_text="Rows the job could not handle.")
    error = models.TextField(blank=True)
    hostname = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["name", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class OperatorAction(models.Model):
    """The audit log: one row per operator action, written in the transaction of the change.

    Append-only: PostgreSQL refuses to change or delete a row (only the links to a deleted
    account may be cleared). The back office's permissions hang on this model (roles are
    groups holding them, created by ``rentals/migrations/0011_backoffice_roles``).
    """

    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True, help_text="Kept if deleted.")
    action = models.CharField(max_length=64, db_index=True)
    target_kind = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=255, blank=True)
    customer = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The customer the action concerns, when it concerns one.",
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["target_kind", "target_id"], name="audit_target_idx"),
            models.Index(fields=["customer", "-created_at"], name="audit_customer_idx"),
        ]
        permissions = [
            ("view_customer", "View customer pages and use the support search"),
            ("refund_order", "Refund an order"),
            ("adjust_balance", "Adjust a balance up to SMSBOX_SUPPORT_ADJUST_LIMIT"),
            ("adjust_balance_unlimited", "Adjust a balance by any amount"),
            ("approve_adjustment", "Approve or reject another operator's adjustment"),
            ("block_customer", "Block and unblock accounts"),
            ("change_tier", "Change a customer's tier"),
            ("resend_verification", "Resend the verification e-mail"),
            ("delete_account", "Start an account's deletion"),
            ("add_note", "Write operator notes"),
            ("view_reports", "View the reports"),
            ("operate_providers", "Operate upstream providers (test, sync, disable)"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_email or 'system'} {self.action} {self.target_kind}:{self.target_id}"


class OperatorNote(models.Model):
    """A note an operator wrote about a customer."""

    customer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="operator_notes")
    author = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Note on {self.customer_id} at {self.created_at:%Y-%m-%d %H:%M}"


class AlertEpisode(models.Model):
    """One episode of an operator alert (e.g. a provider's breaker open): the alert is sent
    when the episode opens, once; the episode closes when the condition clears."""

    kind = models.CharField(max_length=32)
    subject = models.CharField(max_length=64, help_text="What it is about, e.g. provider:3.")
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=models.Q(closed_at__isnull=True),
                name="alert_one_open_episode",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} since {self.opened_at:%Y-%m-%d %H:%M}"


class DeferredTask(models.Model):
    """A Celery task a request could not hand to the broker (Redis unreachable): the outbox.

    The row the task is about is already committed; ``smsbox.tasks.deferred_tasks_flush`` (a
    periodic job) sends these again once the broker answers, oldest first, and deletes each row
    it sent. Tasks are idempotent, so a row sent twice (a flush killed after the send) is
    harmless."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    eta = models.DateTimeField(null=True, blank=True, help_text="Not to run before this time.")
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} deferred at {self.created_at:%Y-%m-%d %H:%M:%S}"
