from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from smsbox import admin_audit  # noqa: F401  (registers the audit log)
from smsbox.admin_audit import AuditedAdminMixin
from smsbox.audit import audit_record
from smsbox.lifecycle import account_delete
from smsbox.models import DeferredTask, JobRun, User
from smsbox.selectors import job_runs_latest


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    ordering = ["-created_at"]
    list_display = ["email", "tier", "is_verified", "is_staff", "last_activity_at", "created_at"]
    list_filter = ["tier", "is_verified", "is_staff", "is_active"]
    search_fields = ["email"]
    readonly_fields = [
        "created_at",
        "last_login",
        "last_activity_at",
        "verified_at",
        "inactivity_notice_days",
        "inactivity_notice_sent_at",
        "deleted_at",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Account",
            {"fields": ["tier", "is_verified", "verified_at", "banned_until", "webhook_url"]},
        ),
        (
            "Activity",
            {
                "fields": [
                    "created_at",
                    "last_login",
                    "last_activity_at",
                    "inactivity_notice_days",
                    "inactivity_notice_sent_at",
                    "deleted_at",
                ]
            },
        ),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
    ]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = ["delete_accounts"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """Accounts are deleted only through the lifecycle (balance forfeited, data removed)."""
        return False

    @admin.action(
        description="Delete the selected accounts (forfeit the balance, remove personal data)",
        permissions=["delete_account"],
    )
    def delete_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            email = user.email
            with transaction.atomic():
                outcome = account_delete(user_id=user.pk)
                audit_record(
                    actor=request.user,
                    action="customer.delete",
                    target=user,
                    before={"email": email},
                    after={"deleted": outcome.deleted, "anonymised": outcome.anonymised},
                    reason=outcome.reason,
                )
            if outcome.deleted:
                self.message_user(request, f"{email}: deleted")
            else:
                self.message_user(request, f"{email}: kept ({outcome.reason})", messages.WARNING)

    def has_delete_account_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("smsbox.delete_account")


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedAdminMixin, DjangoGroupAdmin):
    """Roles: who changes a role's permissions is in the audit log."""


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    """History of the periodic jobs, read-only; the last run of every job is shown on top."""

    change_list_template = "admin/smsbox/jobrun/change_list.html"
    list_display = ["name", "status", "started_at", "duration", "rows", "errors", "hostname"]
    list_filter = ["status", "name"]
    search_fields = ["name", "hostname", "error"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in JobRun._meta.fields]

    @admin.display(description="Seconds")
    def duration(self, run: JobRun) -> str:
        return "—" if run.duration is None else f"{run.duration:.1f}"

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "latest_runs": job_runs_latest()}
        return super().changelist_view(request, extra_context=extra_context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DeferredTask)
class DeferredTaskAdmin(admin.ModelAdmin):
    """The outbox of tasks the broker could not take (Redis down): read-only; the periodic job
    ``smsbox.tasks.deferred_tasks_flush`` publishes and removes them."""

    list_display = ["id", "task", "args", "eta", "created_at", "attempts", "last_error"]
    list_filter = ["task"]
    readonly_fields = ["task", "args", "kwargs", "eta", "created_at", "attempts", "last_error"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
