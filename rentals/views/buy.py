"""The Buy page: pick a service and a country, see prices per operator, buy a number; favourites
and "buy again". The purchase is ``activation_purchase``, as for the REST API and the handler."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from providers.models import Country, Service
from providers.selectors import (
    countries_search,
    offer_quote,
    operator_quotes,
    services_search,
)
from rentals import selectors
from rentals.models import Activation
from rentals.services import activation_purchase
from rentals.services.favourites import favourite_toggle
from smsbox import parsing
from smsbox.dashboard import error_flash, form_key, owned
from smsbox.errors import ApplicationError
from smsbox.forms import StrictDecimalField


class PairForm(forms.Form):
    service = forms.ModelChoiceField(
        Service.objects.filter(visible=True), to_field_name="code", widget=forms.HiddenInput
    )
    country = forms.ModelChoiceField(
        Country.objects.filter(visible=True),
        to_field_name="sms_activate_id",
        widget=forms.HiddenInput,
    )


class PurchaseForm(PairForm):
    operator = forms.CharField(max_length=32, required=False)
    max_price = StrictDecimalField(
        label=gettext_lazy("Max price"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=gettext_lazy("Optional: never pay more than this."),
    )
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def clean_operator(self) -> str:
        operator = self.cleaned_data["operator"].strip().lower()
        return "" if operator == "any" else operator


def _pair(request: HttpRequest) -> tuple[Service | None, Country | None]:
    code, country_id = request.GET.get("service", "").strip(), request.GET.get("country", "")
    service = Service.objects.filter(code=code, visible=True).first() if code else None
    country = (
        Country.objects.filter(sms_activate_id=int(country_id), visible=True).first()
        if parsing.is_digits(country_id.strip(), max_length=9)
        else None
    )
    return service, country


@login_required
@require_GET
def buy_page(request: HttpRequest) -> HttpResponse:
    service, country = _pair(request)
    favourites = list(selectors.favourites_for_user(user=request.user))
    context = {
        "section": "buy",
        "service": service,
        "country": country,
        "favourites": favourites,
        "is_favourite": any(
            f.service_id == getattr(service, "pk", None)
            and f.country_id == getattr(country, "pk", None)
            for f in favourites
        ),
        "recent": [(a, form_key()) for a in selectors.activations_for_user(user=request.user)[:5]],
        "popular_services": services_search("", limit=8) if service is None else [],
        "popular_countries": countries_search("", limit=8) if country is None else [],
    }
    if service is not None and country is not None:
        context["quote"] = offer_quote(service=service, country=country)
        context["operators"] = operator_quotes(service=service, country=country)
        context["form"] = PurchaseForm(
            initial={
                "service": service.code,
                "country": country.sms_activate_id,
                "idempotency_key": form_key(),
            }
        )
    return render(request, "dashboard/rentals/buy.html", context)


@login_required
@require_GET
def buy_options(request: HttpRequest, kind: str) -> HttpResponse:
    """The type-to-search list of services or countries (an htmx fragment)."""
    term = request.GET.get("q", "")
    service, country = _pair(request)
    found = services_search(term) if kind == "service" else countries_search(term)
    return render(
        request,
        "dashboard/rentals/buy_options.html",
        {"kind": kind, "found": found, "service": service, "country": country},
    )


@login_required
@require_POST
def buy_submit(request: HttpRequest) -> HttpResponse:
    form = PurchaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a service and a country first."))
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("home")
    data = form.cleaned_data
    back = f"/?service={data['service'].code}&country={data['country'].sms_activate_id}"
    try:
        activation = activation_purchase(
            user=request.user,
            service=data["service"],
            country=data["country"],
            operator=data["operator"],
            max_price=data["max_price"],
            idempotency_key=data["idempotency_key"],
        )
    except ApplicationError as error:
        error_flash(request, error)
        return redirect(back)
    return _bought(request, activation)


def _bought(request: HttpRequest, activation: Activation) -> HttpResponse:
    if activation.state in Activation.REFUNDED_STATES:
        messages.error(request, _("No number could be bought; the price was refunded."))
        return redirect("dashboard-history")
    if activation.state in Activation.PENDING_STATES:
        messages.info(
            request,
            _(
                "Your order for %(service)s is processing: the provider has not answered yet. "
                "It shows here with its number once it has one, or is refunded."
            )
            % {"service": activation.service.name},
        )
        return redirect("dashboard-numbers")
    messages.success(
        request,
        _("Number for %(service)s bought: watch for the code here.")
        % {"service": activation.service.name},
    )
    return redirect("dashboard-numbers")


@login_required
@require_POST
def buy_again(request: HttpRequest, ident: int) -> HttpResponse:
    """The same service, country and operator as a past activation, at today's price."""
    key = request.POST.get("idempotency_key", "").strip()[:100]
    past = owned(selectors.activation_get_for_user, user=request.user, ident=ident)
    try:
        activation = activation_purchase(
            user=request.user,
            service=past.service,
            country=past.country,
            operator=past.operator,
            idempotency_key=key or None,
        )
    except ApplicationError as error:
        error_flash(request, error)
        return redirect("dashboard-history")
    return _bought(request, activation)


@login_required
@require_POST
def favourite_toggle_view(request: HttpRequest) -> HttpResponse:
    service, country = _pair_of(request.POST)
    if service is None or country is None:
        messages.error(request, _("Choose a service and a country first."))
        return redirect("home")
    favourite = favourite_toggle(user=request.user, service=service, country=country)
    messages.success(
        request, _("Added to your favourites.") if favourite else _("Removed from favourites.")
    )
    return redirect(f"/?service={service.code}&country={country.sms_activate_id}")


def _pair_of(data) -> tuple[Service | None, Country | None]:
    form = PairForm(data)
    form.is_valid()
    return form.cleaned_data.get("service"), form.cleaned_data.get("country")
