from django.utils.translation import gettext_noop

from smsbox.errors import ApplicationError, Conflict, InvalidInput, NotFound, PermissionDenied


class InsufficientFunds(ApplicationError):
    code = "NO_BALANCE"
    message = gettext_noop("The balance is too low for this.")
    status = 402


class InvalidAmount(InvalidInput):
    code = "INVALID_AMOUNT"
    message = gettext_noop("The amount is not valid.")


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = gettext_noop("This idempotency key was already used for a different movement.")


class RefundExceedsCharge(Conflict):
    code = "REFUND_EXCEEDS_CHARGE"
    message = gettext_noop("A refund cannot exceed what was charged for the same reference.")


# --- top-ups ------------------------------------------------------------------------------
class TopUpNotFound(NotFound):
    code = "TOP_UP_NOT_FOUND"
    message = gettext_noop("No such top-up.")


class UnknownProcessor(InvalidInput):
    code = "UNKNOWN_PROCESSOR"
    message = gettext_noop("No such payment method.")


class UnknownCurrency(InvalidInput):
    code = "UNKNOWN_CURRENCY"
    message = gettext_noop("This payment method does not take that currency.")


class TopUpAmountOutOfRange(InvalidAmount):
    code = "TOP_UP_AMOUNT_OUT_OF_RANGE"
    message = gettext_noop("The amount is outside the top-up limits.")


class CallbackProcessorUnknown(NotFound):
    code = "PROCESSOR_NOT_FOUND"
    message = "No such payment processor."


class CallbackInvoiceUnknown(NotFound):
    code = "INVOICE_NOT_FOUND"
    message = "No such invoice at this processor."


class CallbackForbidden(PermissionDenied):
    code = "CALLBACK_FORBIDDEN"
    message = "Callbacks are not accepted from this address."


class CallbackTooLarge(InvalidInput):
    code = "CALLBACK_TOO_LARGE"
    message = "The callback body is too large."
    status = 413


class AdjustmentAlreadyDecided(Conflict):
    code = "ADJUSTMENT_DECIDED"
    message = "This adjustment was already approved or rejected."


class SelfApprovalRefused(Conflict):
    code = "SELF_APPROVAL"
    message = "An adjustment must be approved by another operator than the one who asked."
