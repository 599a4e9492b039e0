"""Errors of sign-up and e-mail verification."""

from smsbox.errors import ApplicationError, Conflict


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    message = "An account with this e-mail address already exists."


class VerificationLinkInvalid(ApplicationError):
    code = "VERIFICATION_LINK_INVALID"
    message = "This verification link is not valid. Check that you copied the whole link."


class VerificationLinkExpired(ApplicationError):
    code = "VERIFICATION_LINK_EXPIRED"
    message = "This verification link has expired. Ask for a new one below."
    status = 410


class EmailNotSent(ApplicationError):
    code = "EMAIL_NOT_SENT"
    message = "We could not send the e-mail just now. Please ask for a new link in a few minutes."
    status = 503
