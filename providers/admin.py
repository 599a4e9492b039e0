"""The back office of upstream providers: catalog, providers with health and balance, offers,
price rules, purchase attempts, and a quote preview."""

from __future__ import annotations

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from providers import breaker
from providers.models import Country, Offer, Operator, PriceRule, Provider, PurchaseAttempt, Service
from providers.pricing import PriceBook
from providers.selectors import (
    market_list,
    offer_quote,
    provider_balance,
    provider_health_summary,
)
from providers.services import offers_sync, price_rule_set, provider_test_connection
from smsbox.admin_audit import AuditedAdminMixin
from smsbox.errors import ApplicationError
from smsbox.money import format_money

logger = logging.getLogger(__name__)


# --- catalog ----------------------------------------------------------------------------------
@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = [
        "name_en",
        "sms_activate_id",
        "iso",
        "visible",
        "retry",
        "rent",
        "multi_service",
        "smspool_id",
        "fivesim_name",
    ]
    list_filter = ["visible", "retry", "rent", "multi_service"]
    list_editable = ["smspool_id", "fivesim_name"]  # the client dialects' identifiers
    search_fields = ["name_en", "name_ru", "=iso", "=sms_activate_id", "=fivesim_name"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "visible", "smspool_id", "fivesim_name"]
    list_filter = ["visible"]
    list_editable = ["smspool_id", "fivesim_name"]  # the client dialects' identifiers
    search_fields = ["code", "name", "=fivesim_name"]


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "country"]
    list_filter = [("country", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["country"]
    search_fields = ["code", "name", "country__name_en", "=country__iso"]


# --- providers --------------------------------------------------------------------------------
class ProviderForm(forms.ModelForm):
    """The credentials are write-only: never rendered back; left blank, they stay as they are."""

    api_key = forms.CharField(
        label="Credentials",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the current credentials.",
    )
    base_url = forms.URLField(
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text=Provider._meta.get_field("base_url").help_text,
    )

    class Meta:
        model = Provider
        fields = [
            "name",
            "protocol",
            "enabled",
            "priority",
            "timeout",
            "base_url",
            "api_key",
            "extra_params",
            "service_codes",
            "country_codes",
            "settings",
        ]

    def clean_api_key(self) -> str:
        value = self.cleaned_data.get("api_key", "").strip()
        if not value and self.instance.pk:
            return Provider.objects.values_list("api_key", flat=True).get(pk=self.instance.pk)
        return value


class ProviderChangeList(ChangeList):
    """Loads the health figures of the listed providers in one query per window."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        summary = provider_health_summary(provider_ids=[p.pk for p in self.result_list])
        for provider in self.result_list:
            provider.health = summary.get(provider.pk, {})


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


@admin.register(Provider)
class ProviderAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = ProviderForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "name",
        "protocol",
        "enabled",
        "priority",
        "success_24h",
        "success_7d",
        "errors_24h",
        "latency_24h",
        "breaker",
        "balance",
    ]
    list_filter = ["protocol", "enabled"]
    search_fields = ["name", "base_url"]
    actions = ["test_connection", "sync_offers_now"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "protocol", "enabled", "priority", "timeout"]}),
        ("Connection", {"fields": ["base_url", "api_key", "extra_params"]}),
        ("Codes and options", {"fields": ["service_codes", "country_codes", "settings"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def get_changelist(self, request: HttpRequest, **kwargs: object) -> type[ChangeList]:
        return ProviderChangeList

    def get_fieldsets(self, request: HttpRequest, obj: Provider | None = None) -> list:
        """Without the right to change a provider its credentials are not shown at all: a
        view-only page renders every field as text."""
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "api_key"]})
            for name, options in fieldsets
        ]

    def _health(self, provider: Provider, window: str):
        return getattr(provider, "health", {}).get(window)

    @admin.display(description="success 24 h")
    def success_24h(self, provider: Provider) -> str:
        health = self._health(provider, "24h")
        return f"{_rate(health.success_rate)} of {health.sold}" if health else "—"

    @admin.display(description="success 7 d")
    def success_7d(self, provider: Provider) -> str:
        health = self._health(provider, "7d")
        return f"{_rate(health.success_rate)} of {health.sold}" if health else "—"

    @admin.display(description="errors 24 h")
    def errors_24h(self, provider: Provider) -> str:
        health = self._health(provider, "24h")
        return _rate(health.error_rate) if health else "—"

    @admin.display(description="median latency 24 h")
    def latency_24h(self, provider: Provider) -> str:
        health = self._health(provider, "24h")
        if not health or health.median_latency_ms is None:
            return "—"
        return f"{health.median_latency_ms:.0f} ms"

    @admin.display(description="breaker")
    def breaker(self, provider: Provider) -> str:
        return breaker.breaker_state(provider.pk).replace("_", "-")

    @admin.display(description="upstream balance")
    def balance(self, provider: Provider) -> str:
        """The cached figure only ("Test connection" and the periodic job fill it)."""
        if not provider.enabled:
            return "—"
        cached = provider_balance(provider=provider)
        if not cached.known:
            return "not checked"
        return "unavailable" if cached.amount is None else format_money(cached.amount)

    @admin.action(description="Test connection (ask for the balance)")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        for provider in queryset:
            try:
                balance = provider_test_connection(provider=provider)
            except ApplicationError as error:
                self.message_user(request, f"{provider}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{provider}: connected, balance {format_money(balance)}."
                )

    @admin.action(description="Sync offers now")
    def sync_offers_now(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        for provider in queryset:
            try:
                result = offers_sync(provider=provider)
            except ApplicationError as error:
                self.message_user(request, f"{provider}: {error.message}", messages.ERROR)
            except DatabaseError as error:
                logger.exception("Offers of %s could not be stored", provider)
                self.message_user(
                    request,
                    f"{provider}: the offers could not be stored ({type(error).__name__}).",
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    f"{provider}: {result.upserted} offers synced, {result.out_of_stock} "
                    f"now out of stock, {result.skipped} skipped ({result.unreadable} with "
                    "unreadable figures, the others not in the catalog).",
                )


# --- offers -----------------------------------------------------------------------------------
class InStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "in_stock"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "In stock"), ("no", "Out of stock")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Offer]) -> QuerySet[Offer]:
        if self.value() == "yes":
            return queryset.filter(stock__gt=0)
        if self.value() == "no":
            return queryset.filter(stock=0)
        return queryset


class OfferChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        book = PriceBook()
        for offer in self.result_list:
            offer.retail = book.retail(
                provider_id=offer.provider_id,
                service_id=offer.service_id,
                country_id=offer.country_id,
                cost=offer.cost,
            )


class QuoteForm(forms.Form):
    service = forms.ModelChoiceField(Service.objects.all())
    country = forms.ModelChoiceField(Country.objects.all())
    operator = forms.CharField(required=False, max_length=32, help_text="Blank for any.")


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    """Offers come from the providers' price lists (sync): read-only here."""

    change_list_template = "admin/providers/offer/change_list.html"
    list_display = [
        "service",
        "country",
        "operator",
        "provider",
        "cost",
        "retail_price",
        "stock",
        "updated_at",
    ]
    list_filter = [
        InStockFilter,
        "provider",
        ("country", admin.RelatedOnlyFieldListFilter),
        ("service", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["provider", "service", "country"]
    search_fields = [
        "service__code",
        "service__name",
        "country__name_en",
        "=country__iso",
        "provider__name",
    ]

    def get_changelist(self, request: HttpRequest, **kwargs: object) -> type[ChangeList]:
        return OfferChangeList

    @admin.display(description="retail")
    def retail_price(self, offer: Offer) -> str:
        retail = getattr(offer, "retail", None)
        return "—" if retail is None else format_money(retail)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Offer | None = None) -> bool:
        return False

    def get_urls(self) -> list:
        quote = path(
            "quote/", self.admin_site.admin_view(self.quote_view), name="providers_offer_quote"
        )
        return [quote, *super().get_urls()]

    def quote_view(self, request: HttpRequest) -> HttpResponse:
        """What a customer would pay for a service in a country now, and the offers behind it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = QuoteForm(request.GET or None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Quote preview",
            "opts": self.model._meta,
            "form": form,
            "changelist_url": reverse("admin:providers_offer_changelist"),
        }
        if form.is_valid():
            selection = {
                "service": form.cleaned_data["service"],
                "country": form.cleaned_data["country"],
                "operator": form.cleaned_data["operator"].strip(),
            }
            context["quote"] = offer_quote(**selection)
            context["market"] = [
                {
                    "offer": m.offer,
                    "retail": format_money(m.retail_price),
                    "breaker": breaker.breaker_state(m.offer.provider_id).replace("_", "-"),
                }
                for m in market_list(**selection)
            ]
            if context["quote"]:
                context["price"] = format_money(context["quote"].retail_price)
        return TemplateResponse(request, "admin/providers/offer/quote.html", context)


# --- price rules and attempts -----------------------------------------------------------------
@admin.register(PriceRule)
class PriceRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "provider", "service", "country", "percent", "fixed", "floor"]
    list_filter = ["provider", ("country", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["provider", "service", "country"]
    autocomplete_fields = ["service", "country"]
    search_fields = ["service__code", "service__name", "country__name_en", "provider__name"]

    def get_readonly_fields(self, request: HttpRequest, obj: PriceRule | None = None) -> list:
        """A rule's scope is what identifies it: to change the scope, add a rule."""
        scope = ["provider", "service", "country"] if obj is not None else []
        return [*super().get_readonly_fields(request, obj), *scope]

    def save_audited(
        self, request: HttpRequest, obj: PriceRule, form: forms.ModelForm, change: bool
    ) -> None:
        rule = price_rule_set(
            provider=obj.provider,
            service=obj.service,
            country=obj.country,
            percent=obj.percent,
            fixed=obj.fixed,
            floor=obj.floor,
        )
        obj.pk, obj.created_at, obj.updated_at = rule.pk, rule.created_at, rule.updated_at


@admin.register(PurchaseAttempt)
class PurchaseAttemptAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "provider",
        "service",
        "country",
        "outcome",
        "latency_ms",
        "upstream_id",
        "phone",
        "cost",
        "sms",
    ]
    list_filter = ["outcome", "provider"]
    list_select_related = ["provider", "service", "country"]
    search_fields = ["=upstream_id", "phone"]
    date_hierarchy = "created_at"

    @admin.display(description="SMS", boolean=True)
    def sms(self, attempt: PurchaseAttempt) -> bool:
        return attempt.sms_received_at is not None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: PurchaseAttempt | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: PurchaseAttempt | None = None
    ) -> bool:
        return False
