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
