"""The webhook and spend-policy part of the API page (the page itself is ``apikeys.views``):
webhook URL, signing secret rotation, the delivery log with replay, and the limits the customer
may tighten. The same services as ``/api/v1/webhook/``."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from rentals.models import SpendPolicy
from rentals.services.policy import spend_policy_effective, spend_policy_tier, spend_policy_tighten
from rentals.webhooks import (
    webhook_deliveries_for_user,
    webhook_delivery_get_for_user,
    webhook_redeliver,
    webhook_secret_get_or_create,
    webhook_secret_rotate,
    webhook_url_set,
)
from smsbox.dashboard import error_message, owned
from smsbox.errors import ApplicationError
from smsbox.forms import StrictDecimalField, StrictIntegerField

DELIVERIES_SHOWN = 20


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Webhook URL"),
        max_length=500,
        required=False,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/sms"}),
        help_text=gettext_lazy("Every SMS is POSTed here, signed. Empty: no webhook."),
    )


class PolicyForm(forms.Form):
    max_price = StrictDecimalField(
        label=gettext_lazy("Max price per number"), required=False, min_value=Decimal("0.01"),
        max_digits=14, decimal_places=2,
    )  # fmt: skip
    daily_cap = StrictDecimalField(
        label=gettext_lazy("Daily spending cap"), required=False, min_value=0, max_digits=14,
        decimal_places=2,
    )  # fmt: skip
    max_concurrent = StrictIntegerField(
        label=gettext_lazy("Open activations at most"), required=False, min_value=0
    )


def _context(request: HttpRequest, **forms_) -> dict:
    own = SpendPolicy.objects.filter(user=request.user).first()
    initial = (
        {f: getattr(own, f) for f in ("max_price", "daily_cap", "max_concurrent")} if own else {}
    )
    return {
        "webhook_form": forms_.get("webhook_form")
        or WebhookForm(initial={"url": request.user.webhook_url}),
        "policy_form": forms_.get("policy_form") or PolicyForm(initial=initial),
        "secret": webhook_secret_get_or_create(user=request.user),
        "deliveries": webhook_deliveries_for_user(user=request.user)[:DELIVERIES_SHOWN],
        "tier": spend_policy_tier(user=request.user),
        "effective": spend_policy_effective(user=request.user),
    }


def _render(request: HttpRequest, **forms_) -> HttpResponse:
    return render(request, "dashboard/rentals/developer.html", _context(request, **forms_))


def _answer(request: HttpRequest, **forms_) -> HttpResponse:
    return _render(request, **forms_) if request.htmx else redirect("dashboard-api")


def _refused(request: HttpRequest, **forms_) -> HttpResponse:
    """A form with errors: shown in place (htmx), or its errors as messages on the page."""
    if request.htmx:
        return _render(request, **forms_)
    for form in forms_.values():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("dashboard-api")


@login_required
@require_GET
def developer_fragment(request: HttpRequest) -> HttpResponse:
    return _render(request)


@login_required
@require_POST
def webhook_save(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            webhook_url_set(user=request.user, url=form.cleaned_data["url"])
        except ApplicationError as error:
            form.add_error("url", error_message(error))
        else:
            messages.success(request, _("Webhook URL saved."))
            return _answer(request)
    return _refused(request, webhook_form=form)


@login_required
@require_POST
def webhook_rotate(request: HttpRequest) -> HttpResponse:
    webhook_secret_rotate(user=request.user)
    messages.success(request, _("New signing secret: deliveries from now on use it."))
    return _answer(request)


@login_required
@require_POST
def webhook_replay(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = owned(webhook_delivery_get_for_user, user=request.user, delivery_id=delivery_id)
    webhook_redeliver(delivery=delivery)
    messages.success(request, _("The delivery is sent again."))
    return _answer(request)


@login_required
@require_POST
def policy_save(request: HttpRequest) -> HttpResponse:
    form = PolicyForm(request.POST)
    if form.is_valid():
        try:
            spend_policy_tighten(user=request.user, **form.cleaned_data)
        except ApplicationError as error:
            field = error.extra.get("field")
            form.add_error(field if field in form.fields else None, error_message(error))
        else:
            messages.success(request, _("Spend policy saved."))
            return _answer(request)
    return _refused(request, policy_form=form)
