from smsbox.errors import ApplicationError, Conflict, InvalidInput


class InsufficientFunds(ApplicationError):
    code = "NO_BALANCE"
    message = "The balance is too low for this."
    status = 402


class InvalidAmount(InvalidInput):
    code = "INVALID_AMOUNT"
    message = "The amount is not valid."


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "This idempotency key was already used for a different movement."


class RefundExceedsCharge(Conflict):
    code = "REFUND_EXCEEDS_CHARGE"
    message = "A refund cannot exceed what was charged for the same reference."


class AdjustmentAlreadyDecided(Conflict):
    code = "ADJUSTMENT_DECIDED"
    message = "This adjustment was already approved or rejected."


class SelfApprovalRefused(Conflict):
    code = "SELF_APPROVAL"
    message = "An adjustment must be approved by another operator than the one who asked."
