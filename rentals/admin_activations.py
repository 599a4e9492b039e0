"""Admin of activations: what support is asked about, read-only money, actions via services."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from rentals.models import Activation, NumberBan, SmsMessage, SpendPolicy
from rentals.services import activation_cancel_refund, activation_force_complete
from rentals.status import smspool_label
from smsbox import parsing
from smsbox.admin_audit import audited_action
from smsbox.admin_mixins import ReadOnlyAdminMixin
from smsbox.errors import ApplicationError
from wallets.models import LedgerEntry

LEDGER_COLUMNS = ("time", "kind", "amount", "balance after", "actor", "memo")


class SmsMessageInline(admin.TabularInline):
    model = SmsMessage
    fields = ["received_at", "sender", "text", "text_truncated", "code", "upstream_message_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["received_at"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Activation)
class ActivationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "display_number",
        "user_email",
        "service",
        "country",
        "phone",
        "state",
        "price",
        "provider",
        "created_at",
    ]
    list_filter = ["state", "provider", "service", "country", "created_at"]
    list_select_related = ["user", "service", "country", "provider"]
    search_fields = ["=id", "display_number", "phone", "upstream_id", "user__email"]
    date_hierarchy = "created_at"
    inlines = [SmsMessageInline]
    actions = ["cancel_and_refund", "force_complete"]
    fields = [
        "user",
        "display_number",
        "state",
        "status_label",
        "service",
        "country",
        "operator",
        "provider",
        "upstream_id",
        "phone",
        "price",
        "cost",
        "code",
        "created_at",
        "number_at",
        "sms_received_at",
        "expires_at",
        "settled_at",
        "ready",
        "resend_count",
        "resend_available_at",
        "idempotency_key",
        "webhook_url",
        "replaces",
        "reuses",
        "memo",
        "ledger",
    ]
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # "=id" must not be tried with a term that is not a number (a phone with "+", an e-mail)
        term = request.GET.get("q", "").strip()
        return self.search_fields if parsing.is_digits(term) else self.search_fields[1:]

    @admin.display(description="customer", ordering="user__email")
    def user_email(self, obj: Activation) -> str:
        return obj.user.email

    @admin.display(description="SMSPool status")
    def status_label(self, obj: Activation) -> str:
        return smspool_label(obj)

    @admin.display(description="ledger entries")
    def ledger(self, obj: Activation) -> str:
        entries = LedgerEntry.objects.filter(
            reference_kind="activation", reference_id=str(obj.pk)
        ).select_related("actor")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (e.created_at, e.kind, e.amount, e.balance_after, e.actor or "", e.memo)
                for e in entries
            ),
        )
        header = format_html_join("", "<th>{}</th>", ((h,) for h in LEDGER_COLUMNS))
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, rows
        )

    @admin.action(description="Cancel and refund (no SMS received)", permissions=["refund"])
    def cancel_and_refund(self, request: HttpRequest, queryset: QuerySet[Activation]) -> None:
        self._apply(request, queryset, activation_cancel_refund, "cancelled and refunded")

    @admin.action(description="Force complete (no refund)", permissions=["operate"])
    def force_complete(self, request: HttpRequest, queryset: QuerySet[Activation]) -> None:
        self._apply(request, queryset, activation_force_complete, "completed")

    def _apply(self, request, queryset, service, done: str) -> None:
        succeeded = 0
        for activation in queryset:
            try:
                audited_action(
                    request,
                    activation,
                    f"activation.{service.__name__.removeprefix('activation_')}",
                    lambda a=activation: service(activation=a, actor=request.user),
                )
                succeeded += 1
            except ApplicationError as exc:
                self.message_user(
                    request, f"{activation.display_number}: {exc.message}", messages.WARNING
                )
        if succeeded:
            self.message_user(request, f"{succeeded} activation(s) {done}.", messages.SUCCESS)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        """Support refunds orders (README "Operators")."""
        return request.user.has_perm("smsbox.refund_order")

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("rentals.change_activation")


@admin.register(NumberBan)
class NumberBanAdmin(admin.ModelAdmin):
    list_display = ["phone", "user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["phone", "user__email"]
    raw_id_fields = ["user", "activation"]


@admin.register(SpendPolicy)
class SpendPolicyAdmin(admin.ModelAdmin):
    list_display = ["user", "max_price", "daily_cap", "max_concurrent", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
