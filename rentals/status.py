"""One place that says how an activation's state looks to each interface: SMSPool's numeric
codes (REST API) and the SMS-Activate status tokens (handler protocol)."""

from rentals.models import Activation

State = Activation.State

# SMSPool: 1 pending, 2 expired, 3 completed, 4 resend, 5 cancelled, 6 refunded, 7 processing,
# 8 activating.
SMSPOOL_CODES: dict[str, int] = {
    State.PROCESSING: 7,
    State.UNKNOWN: 7,
    State.WAITING: 1,
    State.RECEIVED: 3,
    State.RESEND: 4,
    State.COMPLETED: 3,
    State.CANCELLED: 5,
    State.EXPIRED: 2,
    State.FAILED: 6,
}
SMSPOOL_LABELS = {
    1: "pending",
    2: "expired",
    3: "completed",
    4: "resend",
    5: "cancelled",
    6: "refunded",
    7: "processing",
    8: "activating",
}


def smspool_code(activation: Activation) -> int:
    """The SMSPool status code; a waiting number the customer marked ready is 8 (activating)."""
    if activation.state == State.WAITING and activation.ready:
        return 8
    return SMSPOOL_CODES[activation.state]


def smspool_label(activation: Activation) -> str:
    return SMSPOOL_LABELS[smspool_code(activation)]


def handler_status(activation: Activation) -> str:
    """The answer of the handler protocol's ``getStatus``."""
    state = activation.state
    if state in (State.RECEIVED, State.COMPLETED) and activation.code:
        return f"STATUS_OK:{activation.code}"
    if state == State.RESEND:
        return f"STATUS_WAIT_RETRY:{activation.code}" if activation.code else "STATUS_WAIT_RESEND"
    if state in Activation.REFUNDED_STATES:
        return "STATUS_CANCEL"
    if state == State.COMPLETED:  # completed without a code (an operator's force-complete)
        return "STATUS_OK:"
    return "STATUS_WAIT_CODE"


def handler_status_number(activation: Activation) -> str:
    """``activationStatus`` of ``getActiveActivations`` / ``getHistory`` (SMS-Activate digits:
    0 waiting, 1 ready, 2 code received, 3 waiting for another code, 6 finished, 8 cancelled)."""
    state = activation.state
    if state in Activation.REFUNDED_STATES:
        return "8"
    if state == State.COMPLETED:
        return "6"
    if state == State.RESEND:
        return "3"
    if state == State.RECEIVED:
        return "2"
    return "1" if activation.ready else "0"
