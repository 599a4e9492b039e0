"""The Rent page: long-term rentals by plan (package or hours), bought with ``rental_purchase``
as the REST API and the handler buy them."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from providers.models import Country, Service
from rentals import rental_selectors
from rentals.models import Rental
from rentals.models.rentals import Package
from rentals.services import rentals as rental_services
from smsbox import parsing
from smsbox.dashboard import error_flash, form_key, owned
from smsbox.errors import ApplicationError
from smsbox.forms import StrictIntegerField


class RentForm(forms.Form):
    country = forms.ModelChoiceField(
        Country.objects.filter(visible=True, rent=True), to_field_name="sms_activate_id"
    )
    service = forms.ModelChoiceField(
        Service.objects.filter(visible=True),
        to_field_name="code",
        required=False,
        empty_label=gettext_lazy("Any service"),
    )
    package = forms.ChoiceField(choices=[("", "—"), *Package.choices], required=False)
    hours = StrictIntegerField(label=gettext_lazy("Hours"), min_value=1, required=False)
    auto_renew = forms.BooleanField(label=gettext_lazy("Renew automatically"), required=False)
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("package") and not cleaned.get("hours"):
            self.add_error("hours", _("Choose a plan or give the number of hours."))
        return cleaned


@login_required
@require_GET
def rent_page(request: HttpRequest) -> HttpResponse:
    countries = Country.objects.filter(visible=True, rent=True).order_by("name_en")
    country = countries.filter(sms_activate_id=_int(request.GET.get("country"))).first()
    service = Service.objects.filter(code=request.GET.get("service", ""), visible=True).first()
    context = {"section": "rent", "countries": countries, "country": country, "service": service}
    if country is not None:
        # The plans a quote uses: the service's own when it has any, else "any service" ones.
        own = (
            list(rental_selectors.rental_plans(country=country, service=service)) if service else []
        )
        plans = own or rental_selectors.rental_plans(country=country).filter(service__isnull=True)
        context["plans"] = [(plan, form_key()) for plan in plans]
        context["custom_key"] = form_key()
        context["services"] = Service.objects.filter(visible=True).order_by("name")
        hours = request.GET.get("hours", "").strip()
        if hours:
            try:
                context["custom_quote"] = rental_selectors.rental_quote(
                    country=country, service=service, hours=hours
                )
            except ApplicationError as error:
                error_flash(request, error)
    return render(request, "dashboard/rentals/rent.html", context)


def _int(raw: object) -> int | None:
    raw = str(raw or "").strip()
    return int(raw) if parsing.is_digits(raw, max_length=9) else None


@login_required
@require_POST
def rent_submit(request: HttpRequest) -> HttpResponse:
    form = RentForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field].label or field}: {error}")
        return redirect(f"/rent/?country={request.POST.get('country', '')}")
    data = form.cleaned_data
    try:
        rental = rental_services.rental_purchase(
            user=request.user,
            country=data["country"],
            service=data["service"],
            hours=data["hours"] if not data["package"] else None,
            package=data["package"] or None,
            auto_renew=data["auto_renew"],
            idempotency_key=data["idempotency_key"],
        )
    except ApplicationError as error:
        error_flash(request, error)
        return redirect(f"/rent/?country={data['country'].sms_activate_id}")
    return _rented(request, rental)


def _rented(request: HttpRequest, rental: Rental) -> HttpResponse:
    if rental.state == Rental.State.FAILED:
        messages.error(request, _("No number could be rented; the price was refunded."))
        return redirect("dashboard-history")
    messages.success(request, _("Number rented: it is in My Numbers."))
    return redirect("dashboard-numbers")


@login_required
@require_POST
def rent_again(request: HttpRequest, ident: int) -> HttpResponse:
    """A new rental like a past one: same country, service and duration, at today's price."""
    past = owned(rental_selectors.rental_get_for_user, user=request.user, ident=ident)
    try:
        rental = rental_services.rental_purchase(
            user=request.user,
            country=past.country,
            service=past.service,
            hours=past.hours if not past.package else None,
            package=past.package or None,
            auto_renew=past.auto_renew,
            idempotency_key=request.POST.get("idempotency_key", "").strip()[:100] or None,
        )
    except ApplicationError as error:
        error_flash(request, error)
        return redirect("dashboard-history")
    return _rented(request, rental)
