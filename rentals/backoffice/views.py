"""The back office's admin pages: support search, customer page, reports, provider operations.

Every view runs inside ``admin.site.admin_view`` (staff login, and 2FA where it is on) and
checks the operator's permission itself: without it, 403. Actions are POSTs that validate a
form, call one operator action and come back to the page with a message.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from rentals.backoffice import actions, forms
from rentals.backoffice.customer import customer_page_sections
from rentals.backoffice.search import TERM_MAX, clean_term, support_search
from rentals.models import Activation, Rental
from smsbox.errors import ApplicationError
from smsbox.models import User
from smsbox.money import format_money, to_cents
from wallets.adjustments import (
    adjust_outcome_text,
    adjustment_approve,
    adjustment_reject,
    operator_adjust,
)
from wallets.services import wallet_get_or_create


def require_perm(request: HttpRequest, *permissions: str) -> None:
    if not request.user.has_perms(permissions):
        raise PermissionDenied("Your role does not allow this.")


def page(request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
    context = {**admin.site.each_context(request), "title": title, **context}
    return TemplateResponse(request, template, context)


# --- support search ---------------------------------------------------------------------------
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    require_perm(request, "smsbox.view_customer")
    raw = request.GET.get("q", "")
    hits = support_search(raw)
    if len(hits) == 1:
        return HttpResponseRedirect(hits[0].url)
    term = clean_term(raw)
    return page(
        request,
        "admin/backoffice/search.html",
        "Support search",
        q=term,
        hits=hits,
        truncated=len(raw) > TERM_MAX,
    )


# --- customer page ----------------------------------------------------------------------------
@require_GET
def customer(request: HttpRequest, user_id: int) -> HttpResponse:
    require_perm(request, "smsbox.view_customer")
    user = get_object_or_404(User, pk=user_id)
    return page(
        request,
        "admin/backoffice/customer.html",
        f"Customer {user.email or f'#{user.pk}'}",
        customer=user,
        sections=customer_page_sections(user=user),
        forms={
            "adjust": forms.AdjustForm(),
            "note": forms.NoteForm(),
        },
    )


@dataclass(frozen=True)
class CustomerAction:
    permission: str
    form: type
    run: Callable[[HttpRequest, User, dict], str]  # answers the message for the operator


def _refund(request: HttpRequest, user: User, data: dict) -> str:
    model = Activation if data["kind"] == "activation" else Rental
    order = get_object_or_404(model, pk=data["order_id"], user=user)
    amount = actions.order_refund(actor=request.user, order=order, reason=data["reason"])
    return f"{order.display_number}: {format_money(amount)} refunded."


def _adjust(request: HttpRequest, user: User, data: dict) -> str:
    outcome = operator_adjust(
        wallet=wallet_get_or_create(user=user),
        amount=data["amount"],
        actor=request.user,
        reason=data["reason"],
        token=str(data["token"]),
    )
    return adjust_outcome_text(outcome)


def _approve(request: HttpRequest, user: User, data: dict) -> str:
    decided = adjustment_approve(request_id=_own_request(user, data), checker=request.user)
    return f"Adjustment {to_cents(decided.amount):+.2f} approved."


def _reject(request: HttpRequest, user: User, data: dict) -> str:
    decided = adjustment_reject(request_id=_own_request(user, data), checker=request.user)
    return f"Adjustment {to_cents(decided.amount):+.2f} rejected."


def _own_request(user: User, data: dict) -> int:
    from wallets.models import AdjustmentRequest

    return get_object_or_404(AdjustmentRequest, pk=data["request_id"], wallet__user=user).pk


def _block(request: HttpRequest, user: User, data: dict) -> str:
    actions.customer_block(actor=request.user, customer=user, reason=data["reason"])
    return "Blocked: API keys, dashboard and purchases stop now."


def _unblock(request: HttpRequest, user: User, data: dict) -> str:
    actions.customer_unblock(actor=request.user, customer=user, reason=data["reason"])
    return "Unblocked."


def _tier(request: HttpRequest, user: User, data: dict) -> str:
    actions.customer_set_tier(
        actor=request.user, customer=user, tier=data["tier"], reason=data["reason"]
    )
    return f"Tier is now {data['tier']}."


def _resend(request: HttpRequest, user: User, data: dict) -> str:
    sent = actions.customer_resend_verification(actor=request.user, customer=user)
    return "Verification e-mail sent." if sent else "The e-mail could not be sent now."


def _delete(request: HttpRequest, user: User, data: dict) -> str:
    outcome = actions.customer_delete(actor=request.user, customer=user, reason=data["reason"])
    return f"Account deletion: {outcome}."


def _note(request: HttpRequest, user: User, data: dict) -> str:
    actions.customer_note_add(actor=request.user, customer=user, text=data["text"])
    return "Note added."


CUSTOMER_ACTIONS: dict[str, CustomerAction] = {
    "refund": CustomerAction("smsbox.refund_order", forms.RefundForm, _refund),
    "adjust": CustomerAction("smsbox.adjust_balance", forms.AdjustForm, _adjust),
    "approve": CustomerAction("smsbox.approve_adjustment", forms.DecisionForm, _approve),
    "reject": CustomerAction("smsbox.approve_adjustment", forms.DecisionForm, _reject),
    "block": CustomerAction("smsbox.block_customer", forms.ReasonForm, _block),
    "unblock": CustomerAction("smsbox.block_customer", forms.ReasonForm, _unblock),
    "tier": CustomerAction("smsbox.change_tier", forms.TierForm, _tier),
    "resend-verification": CustomerAction("smsbox.resend_verification", forms.EmptyForm, _resend),
    "delete": CustomerAction("smsbox.delete_account", forms.ReasonForm, _delete),
    "note": CustomerAction("smsbox.add_note", forms.NoteForm, _note),
}


@require_POST
def customer_action(request: HttpRequest, user_id: int, name: str) -> HttpResponse:
    action = CUSTOMER_ACTIONS.get(name)
    if action is None:
        raise PermissionDenied("No such action.")
    require_perm(request, "smsbox.view_customer", action.permission)
    user = get_object_or_404(User, pk=user_id)
    form = action.form(request.POST)
    back = redirect(reverse("backoffice:customer", args=[user.pk]))
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{name}: {field}: {' '.join(errors)}")
        return back
    try:
        messages.success(request, action.run(request, user, form.cleaned_data))
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, f"{name}: {error.message}")
    if not User.objects.filter(pk=user.pk).exists():
        return redirect("admin:index")
    return back
