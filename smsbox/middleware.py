from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from smsbox.services import user_record_activity


class ActivityMiddleware:
    """Record that a session-authenticated customer used the dashboard.

    ``user_record_activity`` writes at most once per ``SMSBOX_ACTIVITY_WRITE_INTERVAL`` per user,
    so most requests cost no query at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_record_activity(user=user)
        return self.get_response(request)
