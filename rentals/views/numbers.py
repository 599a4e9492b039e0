"""My Numbers: the open activations and rentals, their codes as they arrive (htmx polls the
fragment while something is open), and every action the REST API offers on them, through the
same service functions."""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from rentals import rental_selectors, selectors, services
from rentals.api.activations import ACTIONS
from rentals.models import Activation, Rental
from rentals.orders_version import open_orders_current
from rentals.services import rental_reorder
from rentals.services import rentals as rental_services
from smsbox.dashboard import error_flash, owned
from smsbox.errors import ApplicationError

State = Activation.State

# What each action says when it worked.
DONE = {
    selectors.ACTION_READY: gettext_lazy("Marked as sent: the code is on its way."),
    selectors.ACTION_RESEND: gettext_lazy("Another code was requested."),
    selectors.ACTION_FINISH: gettext_lazy("Activation finished."),
    selectors.ACTION_CANCEL: gettext_lazy("Activation cancelled; the price was refunded."),
    selectors.ACTION_REPLACE: gettext_lazy(
        "Replaced: here is a new number, the old one was refunded."
    ),
    selectors.ACTION_REUSE: gettext_lazy("The same number again: wait for its code."),
    selectors.ACTION_SKIP: gettext_lazy("This number will never be given to you again."),
}
RENTAL_DONE = {
    "cancel": gettext_lazy("Rental cancelled; the price was refunded."),
    "finish": gettext_lazy("Rental finished; the number is released."),
}

RENTAL_ACTIONS = ("auto-renew", "extend", *RENTAL_DONE)


@dataclass
class ActivationRow:
    """An activation as its card shows it: what can be done now, and in how many seconds what
    cannot yet (the button waits with a countdown)."""

    activation: Activation
    expires_in: int
    actions: set[str]
    waiting: dict[str, int] = field(default_factory=dict)


@dataclass
class RentalRow:
    rental: Rental
    expires_in: int
    cancel_for: int


def activation_row(activation: Activation, *, now: datetime) -> ActivationRow:
    actions = set(selectors.activation_available_actions(activation, now=now))
    waiting = {}
    resendable = activation.state in (State.RECEIVED, State.RESEND) and activation.has_sms
    if resendable and selectors.ACTION_RESEND not in actions:
        waiting[selectors.ACTION_RESEND] = selectors.resend_cooldown_seconds(activation, now=now)
    if activation.state == State.WAITING:
        early = selectors.early_cancel_seconds(activation, now=now)
        if early:
            waiting.update({selectors.ACTION_CANCEL: early, selectors.ACTION_REPLACE: early})
    left = (activation.expires_at - now).total_seconds()
    return ActivationRow(activation, max(int(left), 0), actions, waiting)


def rental_row(rental: Rental, *, now: datetime) -> RentalRow:
    left = max(int((rental.expires_at - now).total_seconds()), 0)
    return RentalRow(rental, left, rental_selectors.rental_cancel_seconds(rental, now=now))


def _fragment_context(request: HttpRequest) -> dict:
    version = open_orders_current(user=request.user)  # before the rows (orders_version)
    now = timezone.now()
    activations, rentals = selectors.open_orders_for_user(user=request.user)
    return {
        "activations": [activation_row(a, now=now) for a in activations],
        "rentals": [rental_row(r, now=now) for r in rentals],
        "version": version,
        "poll_ms": settings.SMSBOX_DASHBOARD_POLL_MS,
    }


@login_required
@require_GET
def numbers_page(request: HttpRequest) -> HttpResponse:
    context = {"section": "numbers", **_fragment_context(request)}
    return render(request, "dashboard/rentals/numbers.html", context)


@login_required
@require_GET
def numbers_fragment(request: HttpRequest) -> HttpResponse:
    """The order list, polled. A poll that brings the version of what it shows (``v``) gets 204
    while nothing changed: htmx keeps the page, and the countdowns run on in the browser."""
    known = request.GET.get("v", "")
    if known and known == open_orders_current(user=request.user):
        return HttpResponse(status=204)
    return _fragment(request)


def _fragment(request: HttpRequest, *, after_action: bool = False) -> HttpResponse:
    context = {**_fragment_context(request), "after_action": after_action}
    return render(request, "dashboard/rentals/numbers_fragment.html", context)


def _answer(request: HttpRequest) -> HttpResponse:
    """After an action: the fresh list for htmx (its messages and the new balance in the
    header included), else back to the page."""
    if request.htmx:
        return _fragment(request, after_action=True)
    return redirect("dashboard-numbers")


@login_required
@require_POST
def activation_action(request: HttpRequest, ident: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404()
    activation = owned(selectors.activation_get_for_user, user=request.user, ident=ident)
    service = getattr(services, ACTIONS[action])
    try:
        service(activation=activation)
    except ApplicationError as error:
        error_flash(request, error)
    else:
        messages.success(request, DONE[action])
    return _answer(request)


@login_required
@require_POST
def rental_action(request: HttpRequest, ident: int, action: str) -> HttpResponse:
    if action not in RENTAL_ACTIONS:
        raise Http404()
    rental = owned(rental_selectors.rental_get_for_user, user=request.user, ident=ident)
    try:
        if action == "auto-renew":
            enabled = request.POST.get("enabled") == "on"
            rental_services.rental_set_auto_renew(rental=rental, enabled=enabled)
            messages.success(
                request, _("Auto-renew is on.") if enabled else _("Auto-renew is off.")
            )
        elif action == "extend":
            package = request.POST.get("package", "").strip()
            rental_reorder.rental_continue(
                rental=rental,
                hours=None if package else request.POST.get("hours", "").strip(),
                package=package or None,
            )
            messages.success(request, _("Rental extended."))
        else:
            getattr(rental_services, f"rental_{action}")(rental=rental)
            messages.success(request, RENTAL_DONE[action])
    except ApplicationError as error:
        error_flash(request, error)
    return _answer(request)
