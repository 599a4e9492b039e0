from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from smsbox.services import user_record_activity


class ActivityMiddleware:
    """Record that a session-authenticated customer used the dashboard.

    ``user_record_activity`` writes at most once per ``SMSBOX_ACTIVITY_WRITE_INTERVAL`` per user,
    so most requests cost no query at all; requests without a session cookie cost nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Without a session cookie nobody is logged in: the API and handler requests (API keys)
        # skip the session and user lookups altogether.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_record_activity(user=user)
        return self.get_response(request)
