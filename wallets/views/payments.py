"""What processors reach: the callback endpoint, and the sandbox processor's payment page."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from smsbox.api import error_body
from smsbox.errors import ApplicationError
from wallets.errors import CallbackTooLarge
from wallets.models import SandboxInvoice
from wallets.processors import sandbox_allowed
from wallets.processors.sandbox import ACTIONS, sandbox_act
from wallets.topup_services import MAX_CALLBACK_BYTES, payment_callback_receive


@csrf_exempt
@require_POST
def payment_callback(request: HttpRequest, name: str) -> HttpResponse:
    """``POST /payments/<name>/callback``: answers what the processor expects, or the error
    body with a 4xx (a 5xx only when the processor should try again later)."""
    try:
        if _content_length(request) > MAX_CALLBACK_BYTES:
            raise CallbackTooLarge(extra={"max_bytes": MAX_CALLBACK_BYTES})
        status, body, content_type = payment_callback_receive(
            processor_name=name,
            body=request.body,
            headers=request.headers,
            remote_addr=request.META.get("REMOTE_ADDR", ""),
        )
    except ApplicationError as error:
        return JsonResponse(error_body(error.code, error.message, error.extra), status=error.status)
    return HttpResponse(body, status=status, content_type=content_type)


def _content_length(request: HttpRequest) -> int:
    """The announced body size; an unreadable one counts as too large, before any read."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return MAX_CALLBACK_BYTES + 1


@require_GET
def sandbox_page(request: HttpRequest, ref: str) -> HttpResponse:
    invoice = _sandbox_invoice(ref)
    actions = [("pay", _("Pay")), ("pay_less", _("Pay less")), ("expire", _("Expire"))]
    context = {"invoice": invoice, "actions": actions}
    return render(request, "dashboard/wallets/topup_sandbox.html", context)


@require_POST
def sandbox_action(request: HttpRequest, ref: str, action: str) -> HttpResponse:
    """A sandbox button: the sandbox changes its invoice and sends its signed callback
    through the same code as ``payment_callback``; then the customer goes back to smsbox."""
    invoice = _sandbox_invoice(ref)
    if action not in ACTIONS:
        raise Http404
    processor, body, headers = sandbox_act(ref=invoice.ref, action=action)
    try:
        payment_callback_receive(
            processor_name=processor.name,
            body=body,
            headers=headers,
            remote_addr=request.META.get("REMOTE_ADDR", ""),
        )
    except ApplicationError as error:
        messages.error(
            request,
            _("The sandbox's callback was refused: %(reason)s") % {"reason": error.message},
        )
        return redirect("payments-sandbox-page", ref=invoice.ref)
    if invoice.return_url:
        return redirect(invoice.return_url)
    return redirect("payments-sandbox-page", ref=invoice.ref)


def _sandbox_invoice(ref: str) -> SandboxInvoice:
    invoice = SandboxInvoice.objects.filter(ref=ref).select_related("processor").first()
    if invoice is None or not sandbox_allowed():
        raise Http404
    return invoice
