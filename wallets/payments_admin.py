"""Admin of payments: processor accounts (credentials write-only) and top-ups (searchable by
what support is asked for, raw callbacks read-only, ask the processor again, manual credit)."""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from smsbox.admin_audit import AuditedAdminMixin
from smsbox.errors import ApplicationError
from wallets.models import PaymentProcessor, TopUp, TopUpCallback
from wallets.topup_services import processor_problems, topup_credit_manually, topup_reconcile

CREDENTIALS = ("api_key", "secret")


class PaymentProcessorForm(forms.ModelForm):
    """Credentials are write-only: never rendered back; left blank, they stay as they are."""

    api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the current key.",
    )
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text=PaymentProcessor._meta.get_field("base_url").help_text,
    )
    secret = forms.CharField(
        label="Callback secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="IPN / webhook secret. Write-only. Leave blank to keep the current one.",
    )

    class Meta:
        model = PaymentProcessor
        fields = [
            "name",
            "kind",
            "enabled",
            "base_url",
            "merchant",
            "store_id",
            "api_key",
            "secret",
            "currencies",
            "allowed_ips",
            "invoice_minutes",
            "timeout",
        ]

    def _kept(self, field: str) -> str:
        value = (self.cleaned_data.get(field) or "").strip()
        if not value and self.instance.pk:
            return PaymentProcessor.objects.values_list(field, flat=True).get(pk=self.instance.pk)
        return value

    def clean_api_key(self) -> str:
        return self._kept("api_key")

    def clean_secret(self) -> str:
        return self._kept("secret")

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            for name, value in data.items():
                setattr(self.instance, name, value)
            problems = processor_problems(self.instance)
            if problems:
                raise forms.ValidationError(problems)
        return data


@admin.register(PaymentProcessor)
class PaymentProcessorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = PaymentProcessorForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "name",
        "kind",
        "enabled",
        "callback_url",
        "rejected_callbacks",
        "last_rejected_at",
    ]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "merchant", "store_id"]
    readonly_fields = [
        "callback_url",
        "rejected_callbacks",
        "last_rejected_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="callback URL (paste into the processor)")
    def callback_url(self, processor: PaymentProcessor) -> str:
        return reverse("payments-callback", args=[processor.name]) if processor.pk else "-"

    def get_fields(self, request: HttpRequest, obj: PaymentProcessor | None = None) -> list:
        fields = [*self.form._meta.fields, *self.readonly_fields]
        if self.has_change_permission(request, obj):
            return fields
        return [f for f in fields if f not in CREDENTIALS]


class TopUpCallbackInline(admin.TabularInline):
    model = TopUpCallback
    extra = 0
    can_delete = False
    fields = ["created_at", "source", "reported_status", "remote_addr", "body"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ManualCreditForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=200, help_text="Shown in the ledger as the memo.")
    # One token per rendered form: submitting it twice credits once.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


@admin.register(TopUp)
class TopUpAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "user",
        "processor",
        "amount",
        "pay_currency",
        "status",
        "amount_received",
        "amount_credited",
        "processor_ref",
    ]
    list_filter = ["status", "processor", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["user", "processor"]
    search_fields = [
        "tx_hashes",
        "user__email",
        "=processor_ref",
        "=processor_payment_id",
        "=order_id",
        "=id",
    ]
    date_hierarchy = "created_at"
    inlines = [TopUpCallbackInline]
    actions = ["ask_processor_again", "credit_manually"]
    readonly_fields = [f.name for f in TopUp._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_credit_permission(self, request: HttpRequest) -> bool:
        """Top-ups are Finance's (and the owner's): Support reads them."""
        return request.user.has_perm("wallets.change_topup")

    @admin.action(
        description="Ask the processor again about the selected top-ups", permissions=["credit"]
    )
    def ask_processor_again(self, request: HttpRequest, queryset: QuerySet[TopUp]) -> None:
        for top_up in queryset:
            try:
                top_up = topup_reconcile(top_up_id=top_up.pk)
            except ApplicationError as error:
                self.message_user(request, f"#{top_up.pk}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"#{top_up.pk}: {top_up.get_status_display()}, "
                    f"credited {top_up.amount_credited:.2f}",
                )

    @admin.action(
        description="Credit the selected top-up manually (with a reason)", permissions=["credit"]
    )
    def credit_manually(
        self, request: HttpRequest, queryset: QuerySet[TopUp]
    ) -> HttpResponse | None:
        form = ManualCreditForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for top_up in queryset:
                self._credit(request, top_up, form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Credit top-ups manually",
            "form": form,
            "top_ups": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallets/topup_credit.html", context)

    def _credit(self, request: HttpRequest, top_up: TopUp, data: dict) -> None:
        try:
            top_up = topup_credit_manually(
                top_up_id=top_up.pk,
                amount=data["amount"],
                actor=request.user,
                reason=data["reason"],
                token=str(data["token"]),
            )
        except ApplicationError as error:
            self.message_user(request, f"#{top_up.pk}: {error.message}", messages.ERROR)
        else:
            self.message_user(
                request, f"#{top_up.pk}: credited {top_up.amount_credited:.2f} in all"
            )
