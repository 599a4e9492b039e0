import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

# The activation and rental admins live in their own modules; importing them registers them.
from rentals import admin_activations, admin_rentals  # noqa: F401
from rentals.models import UpstreamOrphan, WebhookDelivery
from rentals.webhooks import webhook_redeliver
from smsbox.admin_mixins import ReadOnlyAdminMixin


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The webhook delivery log: read-only, with a "redeliver" action. Secrets are never shown."""

    list_display = [
        "id",
        "user_email",
        "url",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    ]
    list_filter = ["status", "event"]
    list_select_related = ["user"]
    search_fields = ["user__email", "url", "reference_id"]
    date_hierarchy = "created_at"
    actions = ["redeliver"]
    fields = [
        "user",
        "url",
        "event",
        "reference_kind",
        "reference_id",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "last_attempt_at",
        "created_at",
        "delivered_at",
        "payload_pretty",
    ]
    readonly_fields = fields

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj: WebhookDelivery) -> str:
        return obj.user.email

    @admin.display(description="payload")
    def payload_pretty(self, obj: WebhookDelivery) -> str:
        text = json.dumps(obj.payload, indent=2, ensure_ascii=False)
        return format_html("<pre>{}</pre>", text)

    @admin.action(description="Redeliver (a new round of attempts)", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for delivery in queryset:
            webhook_redeliver(delivery=delivery, actor=request.user)
            count += 1
        self.message_user(request, f"{count} deliveries scheduled again.", messages.SUCCESS)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("rentals.change_webhookdelivery")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(UpstreamOrphan)
class UpstreamOrphanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Upstream orders no activation or rental held, found and released by the upstream audit
    (``manage.py upstream_audit``, beat every 5 minutes): read-only, with what they cost."""

    list_display = [
        "id",
        "provider",
        "kind",
        "upstream_id",
        "phone",
        "service_code",
        "cost",
        "found_at",
        "released_at",
        "attempts",
        "last_error",
    ]
    list_filter = ["kind", "provider", ("released_at", admin.EmptyFieldListFilter)]
    list_select_related = ["provider"]
    search_fields = ["upstream_id", "phone"]
    date_hierarchy = "found_at"
    readonly_fields = [f.name for f in UpstreamOrphan._meta.fields]
