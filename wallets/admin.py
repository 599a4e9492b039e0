import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from smsbox.admin import UserAdmin
from smsbox.admin_mixins import ReadOnlyAdminMixin
from smsbox.errors import ApplicationError
from smsbox.models import User
from wallets.adjustments import (
    adjust_outcome_text,
    adjustment_approve,
    adjustment_reject,
    operator_adjust,
)
from wallets.models import AdjustmentRequest, LedgerEntry, Wallet
from wallets.selectors import wallet_for_user, wallet_summary
from wallets.services import wallet_get_or_create

LATEST_ENTRIES = 20
ENTRY_COLUMNS = ("time", "kind", "amount", "balance after", "reference", "actor", "memo")


def latest_entries_table(wallet: Wallet | None) -> str:
    """The latest ledger entries of a wallet as a small read-only table."""
    if wallet is None:
        return "no wallet yet"
    entries = wallet.entries.select_related("actor")[:LATEST_ENTRIES]
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (e.created_at, e.kind, e.amount, e.balance_after, e.reference, e.actor or "", e.memo)
            for e in entries
        ),
    )
    header = format_html_join("", "<th>{}</th>", ((h,) for h in ENTRY_COLUMNS))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, rows)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "user", "balance", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__email", "=id"]
    readonly_fields = ["user", "balance", "created_at", "updated_at", "latest_entries"]

    @admin.display(description=f"latest {LATEST_ENTRIES} ledger entries")
    def latest_entries(self, wallet: Wallet) -> str:
        return latest_entries_table(wallet)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "wallet_owner",
        "kind",
        "amount",
        "balance_after",
        "reference",
        "actor",
        "memo",
    ]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["wallet__user__email", "reference_id", "idempotency_key", "memo"]
    list_select_related = ["wallet__user", "actor"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "wallet",
        "kind",
        "amount",
        "balance_after",
        "reference_kind",
        "reference_id",
        "idempotency_key",
        "actor",
        "memo",
        "created_at",
    ]

    @admin.display(description="customer", ordering="wallet__user__email")
    def wallet_owner(self, entry: LedgerEntry) -> str:
        return str(entry.wallet.user or f"deleted account (wallet {entry.wallet_id})")


class AdjustBalanceForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=4,
        help_text="Positive to credit, negative to debit.",
    )
    reason = forms.CharField(max_length=255, help_text="Shown in the ledger as the memo.")
    # One token per rendered form: submitting it twice moves the money once.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("The amount must not be zero.")
        return amount


class WalletUserAdmin(UserAdmin):
    """Users with their wallet summary, latest ledger entries and the adjust-balance action."""

    actions = [*UserAdmin.actions, "adjust_balance"]
    readonly_fields = [*UserAdmin.readonly_fields, "wallet_summary", "latest_entries"]
    fieldsets = [*UserAdmin.fieldsets, ("Wallet", {"fields": ["wallet_summary", "latest_entries"]})]

    @admin.display(description=f"latest {LATEST_ENTRIES} ledger entries")
    def latest_entries(self, user: User) -> str:
        return latest_entries_table(wallet_for_user(user=user))

    @admin.display(description="wallet")
    def wallet_summary(self, user: User) -> str:
        summary = wallet_summary(wallet=wallet_for_user(user=user))
        return (
            f"balance {summary.balance} · frozen {summary.frozen_amount} · "
            f"recharged {summary.total_recharge} · consumed {summary.total_consume}"
        )

    @admin.action(description="Adjust balance of the selected customers", permissions=["adjust"])
    def adjust_balance(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        form = AdjustBalanceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._adjust(request, queryset, form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust balance",
            "form": form,
            "users": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallets/adjust_balance.html", context)

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("smsbox.adjust_balance")

    def _adjust(self, request: HttpRequest, users: QuerySet[User], data: dict) -> None:
        for user in users:
            try:
                outcome = operator_adjust(
                    wallet=wallet_get_or_create(user=user),
                    amount=data["amount"],
                    actor=request.user,
                    reason=data["reason"],
                    token=f"{data['token']}:{user.pk}",
                )
            except ApplicationError as error:
                self.message_user(request, f"{user}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{user}: {adjust_outcome_text(outcome)}")


admin.site.unregister(User)
admin.site.register(User, WalletUserAdmin)


@admin.register(AdjustmentRequest)
class AdjustmentRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Adjustments above the four-eyes threshold, approved or rejected by a second operator."""

    list_display = ["created_at", "wallet", "amount", "reason", "status", "maker", "checker"]
    list_filter = ["status"]
    list_select_related = ["wallet__user", "maker", "checker"]
    search_fields = ["wallet__user__email", "maker__email", "reason", "=id"]
    readonly_fields = [f.name for f in AdjustmentRequest._meta.fields]
    actions = ["approve", "reject"]

    @admin.action(description="Approve (moves the money)", permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[AdjustmentRequest]) -> None:
        self._decide(request, queryset, adjustment_approve, "approved")

    @admin.action(description="Reject", permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[AdjustmentRequest]) -> None:
        self._decide(request, queryset, adjustment_reject, "rejected")

    def _decide(self, request: HttpRequest, queryset, service, verb: str) -> None:
        for pk in queryset.values_list("pk", flat=True):
            try:
                service(request_id=pk, checker=request.user)
            except ApplicationError as error:
                self.message_user(request, f"Request {pk}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Request {pk} {verb}.", messages.SUCCESS)

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("smsbox.approve_adjustment")


from wallets import payments_admin  # noqa: E402, F401  (registers the payments admin)
