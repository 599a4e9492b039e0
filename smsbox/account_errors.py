"""Errors of sign-up and e-mail verification."""

from django.utils.translation import gettext_noop

from smsbox.errors import ApplicationError, Conflict


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    message = gettext_noop("An account with this e-mail address already exists.")


class VerificationLinkInvalid(ApplicationError):
    code = "VERIFICATION_LINK_INVALID"
    message = gettext_noop(
        "This verification link is not valid. Check that you copied the whole link."
    )


class VerificationLinkExpired(ApplicationError):
    code = "VERIFICATION_LINK_EXPIRED"
    message = gettext_noop("This verification link has expired. Ask for a new one below.")
    status = 410


class EmailNotSent(ApplicationError):
    code = "EMAIL_NOT_SENT"
    message = gettext_noop(
        "We could not send the e-mail just now. Please ask for a new link in a few minutes."
    )
    status = 503


class EmailUnchanged(ApplicationError):
    code = "EMAIL_UNCHANGED"
    message = gettext_noop("This is already your e-mail address.")
