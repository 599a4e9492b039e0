"""Errors of long-term rentals. Each ``code`` is the SMS-Activate rent token it maps to.

``NO_BALANCE`` (``wallets.errors.InsufficientFunds``) and ``NO_NUMBERS``
(``providers.adapters.NoNumbers``) come from the apps below and reach the caller unchanged.
"""

from django.utils.translation import gettext_noop

from smsbox.errors import Conflict, InvalidInput, NotFound


class RentalNotFound(NotFound):
    """No such rental, or not the caller's (the two are never told apart)."""

    code = "NO_ID_RENT"
    message = gettext_noop("No such rental.")


class RentDie(Conflict):
    code = "RENT_DIE"
    message = gettext_noop("The rental is over and cannot be extended.")


class CantCancel(Conflict):
    code = "CANT_CANCEL"
    message = gettext_noop(
        "A rental can be cancelled only in its first minutes and before any SMS."
    )


class AlreadyFinished(Conflict):
    code = "ALREADY_FINISH"
    message = gettext_noop("The rental is already finished.")


class AlreadyCancelled(Conflict):
    code = "ALREADY_CANCEL"
    message = gettext_noop("The rental is already cancelled.")


class RentalRevoked(Conflict):
    code = "STATUS_REVOKE"
    message = gettext_noop("The rental was revoked and its unused share refunded.")


class RentalBusy(Conflict):
    """An extension of the rental is being made upstream right now."""

    code = "RENTAL_BUSY"
    message = gettext_noop("The rental is being extended; try again in a moment.")


class RentalNotActive(Conflict):
    code = "RENTAL_NOT_ACTIVE"
    message = gettext_noop("The rental is not active.")


class InvalidTime(InvalidInput):
    code = "INVALID_TIME"
    message = gettext_noop("The rental time is not valid.")


class MaxHoursExceed(InvalidInput):
    code = "MAX_HOURS_EXCEED"
    message = gettext_noop("The rental time is longer than allowed.")


class InvalidPackage(InvalidTime):
    code = "INVALID_PACKAGE"
    message = gettext_noop("The rental package is not valid; use 1m, 3m, 6m or 1y.")
