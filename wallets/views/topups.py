"""Dashboard: top up (amount, processor, currency → the processor's payment page), the
invoice's status (live through htmx) and the list of top-ups."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from smsbox.dashboard import error_message
from smsbox.errors import ApplicationError, NotFound
from smsbox.forms import StrictDecimalField
from wallets.errors import UnknownCurrency
from wallets.selectors import wallet_for_user, wallet_summary
from wallets.topup_selectors import payment_methods, topup_get_for_user, topups_for_user
from wallets.topup_services import topup_create

# What the status page stops polling at: nothing more will happen without an operator.
SETTLED = {"paid", "overpaid", "failed"}
PAGE_SIZE = 50


class TopUpForm(forms.Form):
    amount = StrictDecimalField(min_value=0, max_digits=12, decimal_places=2)
    processor = forms.ChoiceField(label=gettext_lazy("Payment method"))
    pay_currency = forms.ChoiceField(label=gettext_lazy("Pay in"))

    def __init__(self, *args: object, methods: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].help_text = gettext_lazy("%(min)s to %(max)s %(currency)s") % {
            "min": f"{settings.SMSBOX_TOPUP_MIN:.2f}",
            "max": f"{settings.SMSBOX_TOPUP_MAX:.2f}",
            "currency": settings.SMSBOX_CURRENCY,
        }
        self.fields["processor"].choices = [(m.processor, m.label) for m in methods]
        self.fields["pay_currency"].choices = [
            (m.label, [(c, c) for c in m.currencies]) for m in methods
        ]


@login_required
@require_http_methods(["GET", "POST"])
def topup_new(request: HttpRequest) -> HttpResponse:
    methods = payment_methods()
    form = TopUpForm(request.POST or None, methods=methods)
    if request.method == "POST" and form.is_valid():
        try:
            top_up = topup_create(
                user=request.user,
                amount=form.cleaned_data["amount"],
                processor_name=form.cleaned_data["processor"],
                pay_currency=form.cleaned_data["pay_currency"],
                base_url=request.build_absolute_uri("/"),
            )
        except ApplicationError as error:
            field = "pay_currency" if isinstance(error, UnknownCurrency) else None
            form.add_error(field, error_message(error))
        else:
            return redirect(top_up.payment_url)
    context = {"form": form, "methods": methods, "currency": settings.SMSBOX_CURRENCY}
    status = 400 if form.is_bound else 200  # a bound form here was refused
    return render(request, "dashboard/wallets/topup_new.html", context, status=status)


@login_required
@require_GET
def topup_list(request: HttpRequest) -> HttpResponse:
    top_ups = topups_for_user(user=request.user)[:PAGE_SIZE]
    return render(request, "dashboard/wallets/topup_list.html", {"top_ups": top_ups})


@login_required
@require_GET
def topup_detail(request: HttpRequest, top_up_id: int) -> HttpResponse:
    """The page, or (to htmx) just its status fragment, polled until the invoice settles."""
    try:
        top_up = topup_get_for_user(user=request.user, top_up_id=top_up_id)
    except NotFound:
        return render(request, "dashboard/wallets/topup_missing.html", status=404)
    context = {
        "top_up": top_up,
        "balance": wallet_summary(wallet=wallet_for_user(user=request.user)).balance,
        "settled": top_up.status in SETTLED,
        "currency": settings.SMSBOX_CURRENCY,
    }
    template = "topup_status.html" if request.htmx else "topup_detail.html"
    return render(request, f"dashboard/wallets/{template}", context)
