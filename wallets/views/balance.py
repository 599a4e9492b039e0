"""The Balance page: balance, money held by orders that may still be refunded, and the ledger
with filters and CSV."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from smsbox.dashboard import csv_response, paginate, query_without_page
from smsbox.money import format_money
from wallets.models import LedgerEntry
from wallets.selectors import ledger_entries, wallet_for_user, wallet_summary


class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", gettext_lazy("All kinds")), *LedgerEntry.Kind.choices],
        required=False,
    )
    since = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["until"] < cleaned["since"]:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> dict:
        data = self.cleaned_data
        until = data.get("until")
        return {
            "kind": data.get("kind") or None,
            "since": _start(data.get("since")),
            "until": _start(until + timedelta(days=1)) if until else None,
        }


def _start(day) -> datetime | None:
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


@login_required
@require_GET
def balance_page(request: HttpRequest) -> HttpResponse:
    wallet = wallet_for_user(user=request.user)
    form = LedgerFilterForm(request.GET)
    if wallet is None:
        entries = LedgerEntry.objects.none()
    else:
        filters = form.filters() if form.is_valid() else {}
        entries = ledger_entries(wallet=wallet, **filters).order_by("-created_at", "-id")
    if form.is_valid() and request.GET.get("format") == "csv":
        return _csv(entries)
    return render(
        request,
        "dashboard/wallets/balance.html",
        {
            "section": "balance",
            "summary": wallet_summary(wallet=wallet),
            "form": form,
            "page": paginate(request, entries),
            "query": query_without_page(request),
        },
    )


def _csv(entries) -> HttpResponse:
    header = ["id", "created_at", "kind", "amount", "balance_after", "reference", "memo"]
    rows = (
        [
            e.pk,
            e.created_at.isoformat(),
            e.kind,
            format_money(e.amount),
            format_money(e.balance_after),
            e.reference,
            e.memo,
        ]
        for e in entries.iterator(chunk_size=500)
    )
    return csv_response("transactions.csv", header, rows)
