"""Operators see and revoke keys here. The digest is never shown, and keys are not added here:
they are created through ``apikeys.services`` so that the raw key can be shown once."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.services import api_key_revoke
from smsbox.admin_mixins import ReadOnlyAdminMixin

DISPLAYED_FIELDS = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("yes", "Revoked"), ("no", "Live")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


class ApiKeyEventInline(admin.TabularInline):
    model = ApiKeyEvent
    fk_name = "api_key"
    fields = ["action", "actor", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user_email", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    list_filter = [RevokedFilter]
    search_fields = ["user__email", "=prefix", "name"]
    date_hierarchy = "created_at"
    fields = DISPLAYED_FIELDS
    readonly_fields = DISPLAYED_FIELDS
    inlines = [ApiKeyEventInline]
    actions = ["revoke_keys"]

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj: ApiKey) -> str:
        return obj.user.email

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key, actor=request.user)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("apikeys.change_apikey")

    # Keys are created through the service (the raw key is shown once), edited by nobody, and
    # revoked rather than deleted so that their audit trail stays.


@admin.register(ApiKeyEvent)
class ApiKeyEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail of every key, searchable by customer: read-only."""

    list_display = ["created_at", "user", "api_key", "action", "actor"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["user__email", "api_key__prefix", "api_key__name", "actor__email"]
    list_select_related = ["user", "api_key", "actor"]
    date_hierarchy = "created_at"
    readonly_fields = ["api_key", "user", "action", "actor", "created_at"]
