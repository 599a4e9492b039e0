from django.utils.translation import gettext_noop

from smsbox.errors import ApplicationError, Conflict, InvalidInput


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
