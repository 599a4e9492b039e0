from django.utils.translation import gettext_noop

from smsbox.errors import Conflict, InvalidInput, NotFound


class ApiKeyInvalidFormat(InvalidInput):
    code = "INVALID_API_KEY_FORMAT"
    message = gettext_noop(
        "An API key is 32 to 128 letters (A-Z, a-z) and digits (0-9), nothing else."
    )


class ApiKeyInvalidName(InvalidInput):
    code = "INVALID_API_KEY_NAME"
    message = gettext_noop("An API key needs a name of at most 100 characters.")


class ApiKeyNotFound(NotFound):
    code = "API_KEY_NOT_FOUND"
    message = gettext_noop("No such API key.")


class ApiKeyRevoked(Conflict):
    code = "API_KEY_REVOKED"
    message = gettext_noop("This API key is revoked; create a new one.")


class ApiKeyTaken(Conflict):
    code = "API_KEY_TAKEN"
    message = gettext_noop("This key is already in use; choose another.")
