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
