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


# No third-party origin anywhere; inline scripts and styles are refused too.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
# The admin (Django's own pages) and the API docs (Swagger UI) set their own rules.
_CSP_EXEMPT = ("/admin/", "/api/")


class ContentSecurityPolicyMiddleware:
    """Send ``CONTENT_SECURITY_POLICY`` with every HTML page of the dashboard and accounts."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        html = response.get("Content-Type", "").startswith("text/html")
        if html and not request.path.startswith(_CSP_EXEMPT):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
