"""History: every activation and rental with filters, search, pages and CSV; and one order's
detail page (timeline, messages, the ledger entries it caused)."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from providers.models import Country, Service
from rentals import rental_selectors, selectors
from rentals.models import Activation, Rental
from rentals.services.activations import REFERENCE_KIND as ACTIVATION_REFERENCE
from rentals.services.rental_money import rental_reference
from smsbox.dashboard import csv_response, form_key, owned, paginate, query_without_page
from smsbox.money import format_money
from wallets.selectors import ledger_entries_for_reference

KINDS = [("activations", gettext_lazy("Activations")), ("rentals", gettext_lazy("Rentals"))]


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=KINDS, required=False)
    state = forms.CharField(required=False)
    service = forms.ModelChoiceField(
        Service.objects.filter(visible=True).order_by("name"),
        to_field_name="code",
        required=False,
        label=gettext_lazy("Service"),
        empty_label=gettext_lazy("All services"),
    )
    country = forms.ModelChoiceField(
        Country.objects.filter(visible=True).order_by("name_en"),
        to_field_name="sms_activate_id",
        required=False,
        label=gettext_lazy("Country"),
        empty_label=gettext_lazy("All countries"),
    )
    since = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(
        label=gettext_lazy("Number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "+1 202… / A26…"}),
    )

    def states(self) -> list[tuple[str, str]]:
        model = Rental if self.chosen_kind() == "rentals" else Activation
        return list(model.State.choices)

    def chosen_kind(self) -> str:
        kind = self.data.get("kind", "")
        return kind if kind in dict(KINDS) else "activations"

    def clean_state(self) -> str:
        state = self.cleaned_data["state"].strip()
        if state and state not in dict(self.states()):
            raise forms.ValidationError(_("Unknown state."))
        return state

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "state": data.get("state") or None,
            "service": data["service"].code if data.get("service") else None,
            "country": data["country"].sms_activate_id if data.get("country") else None,
            "since": _day(data.get("since")),
            "until": _day(data.get("until"), next_day=True),
            "search": data.get("q") or "",
        }


def _day(day, *, next_day: bool = False) -> datetime | None:
    if day is None:
        return None
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start + timedelta(days=1) if next_day else start


@login_required
@require_GET
def history_page(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    valid = form.is_valid()
    kind = form.chosen_kind()
    filters = form.filters() if valid else {}
    if kind == "rentals":
        rows = rental_selectors.rentals_for_user(user=request.user, **filters)
    else:
        rows = selectors.activations_for_user(user=request.user, **filters)
    if valid and request.GET.get("format") == "csv":
        return _csv(kind, rows)
    page = paginate(request, rows)
    return render(
        request,
        "dashboard/rentals/history.html",
        {
            "section": "history",
            "form": form,
            "kind": kind,
            "kinds": KINDS,
            "states": form.states(),
            "page": page,
            "rows": [(row, form_key()) for row in page],
            "query": query_without_page(request),
        },
    )


def _csv(kind: str, rows) -> HttpResponse:
    if kind == "rentals":
        header = [
            "id",
            "display_number",
            "phone",
            "service",
            "country",
            "state",
            "duration",
            "price",
            "auto_renew",
            "created_at",
            "expires_at",
        ]
        lines = (
            [
                r.pk,
                r.display_number,
                r.phone,
                r.service.code if r.service else "",
                r.country.iso,
                r.state,
                r.duration_label,
                format_money(r.price),
                r.auto_renew,
                r.created_at.isoformat(),
                r.expires_at.isoformat(),
            ]
            for r in rows.iterator(chunk_size=500)
        )
        return csv_response("rentals.csv", header, lines)
    header = [
        "id",
        "display_number",
        "phone",
        "service",
        "country",
        "operator",
        "state",
        "code",
        "price",
        "created_at",
        "expires_at",
    ]
    lines = (
        [
            a.pk,
            a.display_number,
            a.phone,
            a.service.code,
            a.country.iso,
            a.operator,
            a.state,
            a.code,
            format_money(a.price),
            a.created_at.isoformat(),
            a.expires_at.isoformat(),
        ]
        for a in rows.iterator(chunk_size=500)
    )
    return csv_response("activations.csv", header, lines)


@login_required
@require_GET
def activation_detail(request: HttpRequest, ident: int) -> HttpResponse:
    activation = owned(selectors.activation_get_for_user, user=request.user, ident=ident)
    entries = ledger_entries_for_reference(
        user=request.user, reference_kind=ACTIVATION_REFERENCE, reference_id=activation.pk
    )
    reusable = selectors.ACTION_REUSE in selectors.activation_available_actions(activation)
    return _detail(
        request,
        activation,
        kind="activation",
        given_at=activation.number_at,
        messages=list(selectors.messages_for_activation(activation=activation)),
        entries=list(entries),
        can_reuse=reusable,
    )


@login_required
@require_GET
def rental_detail(request: HttpRequest, ident: int) -> HttpResponse:
    rental = owned(rental_selectors.rental_get_for_user, user=request.user, ident=ident)
    entries = ledger_entries_for_reference(
        user=request.user, reference_kind=rental_reference(rental).kind, reference_id=rental.pk
    )
    periods = [
        (r.created_at, r.get_kind_display(), r.duration_label)
        for r in rental.renewals.all()
        if r.period > 1
    ]
    return _detail(
        request,
        rental,
        kind="rental",
        given_at=rental.started_at,
        messages=list(rental_selectors.rental_messages(rental=rental)),
        entries=list(entries),
        extra_events=periods,
    )


def _detail(
    request: HttpRequest,
    order: Activation | Rental,
    *,
    kind: str,
    given_at: datetime | None,
    messages: list,
    entries: list,
    extra_events: list = (),
    **context,
) -> HttpResponse:
    """An order's page; its timeline: bought, number given, renewals, SMS, refunds, the end."""
    events = [(order.created_at, _("Bought"), format_money(order.price))]
    if given_at:
        events.append((given_at, _("Number given"), f"+{order.phone}"))
    events += extra_events
    events += [(m.received_at, _("SMS received"), m.code or m.text[:60]) for m in messages]
    events += [
        (e.created_at, _("Refunded"), format_money(e.amount)) for e in entries if e.amount > 0
    ]
    if order.settled_at:
        events.append((order.settled_at, order.get_state_display(), ""))
    return render(
        request,
        "dashboard/rentals/order_detail.html",
        {
            "section": "history",
            "order": order,
            "kind": kind,
            "events": sorted(events, key=lambda event: event[0]),
            "sms": messages,
            "entries": entries,
            "key": form_key(),
            **context,
        },
    )
