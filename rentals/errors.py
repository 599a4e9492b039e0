"""Errors of activations. Each ``code`` is the SMS-Activate handler token it maps to (or a stable
REST code); the handler protocol answers ``code`` as it is, the REST API puts it in its body.

``NO_BALANCE`` (``wallets.errors.InsufficientFunds``), ``NO_NUMBERS``
(``providers.adapters.NoNumbers``) and ``WRONG_MAX_PRICE`` (``providers.router.MaxPriceTooLow``)
come from the apps below and reach the caller unchanged.
"""

from django.utils.translation import gettext_noop

from smsbox.errors import ApplicationError, Conflict, InvalidInput, NotFound


class NoActivation(NotFound):
    code = "NO_ACTIVATION"
    message = gettext_noop("No such activation.")


class BadStatus(Conflict):
    """The activation is not in a state that allows this action."""

    code = "BAD_STATUS"
    message = gettext_noop("This action is not possible in the activation's current state.")


class EarlyCancelDenied(Conflict):
    code = "EARLY_CANCEL_DENIED"
    message = gettext_noop("An activation cannot be cancelled in its first minutes.")


class ResendCooldown(Conflict):
    code = "RESEND_COOLDOWN"
    message = gettext_noop("Another code can be requested a little later.")


class CancelAfterSms(BadStatus):
    code = "BAD_STATUS"
    message = gettext_noop(
        "An activation that received an SMS cannot be cancelled; finish it instead."
    )


class ReplaceAfterSms(BadStatus):
    code = "BAD_STATUS"
    message = gettext_noop("Only an activation that has not received an SMS can be replaced.")


class ReuseNotAvailable(Conflict):
    code = "RENEW_ACTIVATION_NOT_AVAILABLE"
    message = gettext_noop("This number cannot be used again.")


class OrderAlreadyExists(Conflict):
    """The idempotency key was used before for a different order."""

    code = "ORDER_ALREADY_EXISTS"
    message = gettext_noop("An order with this key already exists.")


class SpendLimitExceeded(ApplicationError):
    """A limit of the customer's spend policy refuses the purchase."""

    code = "SPEND_LIMIT"
    message = gettext_noop("Your spend policy refuses this purchase.")
    status = 403


class MaxPriceLimit(SpendLimitExceeded):
    code = "WRONG_MAX_PRICE"
    message = gettext_noop("The number costs more than your maximum price per activation.")


class DailyCapReached(SpendLimitExceeded):
    code = "DAILY_CAP"
    message = gettext_noop("Your daily spending cap is reached.")


class ChannelsLimit(SpendLimitExceeded):
    code = "CHANNELS_LIMIT"
    message = gettext_noop("You have as many open activations as your policy allows.")


class SpendPolicyTooLoose(InvalidInput):
    code = "SPEND_POLICY_TOO_LOOSE"
    message = gettext_noop("A limit you set cannot be above your account's own limit.")


class PurchasesSuspended(SpendLimitExceeded):
    """An operator blocked the account, or the abuse rule suspended its purchases."""

    code = "PURCHASES_SUSPENDED"
    message = "Purchases are suspended on this account; contact support."


class BadQuantity(InvalidInput):
    code = "BAD_QUANTITY"
    message = gettext_noop("The quantity must be between 1 and 50.")


class BadMultiService(InvalidInput):
    """A number for several services names none, too many, or one twice."""

    code = "BAD_SERVICE"
    message = gettext_noop("One number is sold for 1 to 10 different services.")
