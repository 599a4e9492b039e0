"""The one exception tree of smsbox.

Domain code raises an ``ApplicationError`` subclass; each interface maps it once: the REST API
to a JSON error with ``code``, the handler protocol to its token, the dashboard to a message.
"""

from typing import Any

from django.utils.translation import gettext_noop


class ApplicationError(Exception):
    code: str = "APPLICATION_ERROR"
    message: str = "The request could not be completed."
    status: int = 400

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message or self.message
        self.extra = extra or {}
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}: {self.message})"


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    message = gettext_noop("Not found.")
    status = 404


class InvalidInput(ApplicationError):
    code = "INVALID_INPUT"
    message = gettext_noop("The input is not valid.")


class Conflict(ApplicationError):
    code = "CONFLICT"
    message = gettext_noop("The request conflicts with the current state.")
    status = 409


class PermissionDenied(ApplicationError):
    code = "PERMISSION_DENIED"
    message = gettext_noop("You may not do this.")
    status = 403
