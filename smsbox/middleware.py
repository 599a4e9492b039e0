import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation

from smsbox.services import user_record_activity


class ApiMiddleware:
    """The first middleware: a request of a client program (its path under one of
    ``SMSBOX_API_PATHS``) goes to its view through ``SMSBOX_API_MIDDLEWARE`` alone; any other
    through the rest of ``MIDDLEWARE``. Client programs authenticate with API keys, so the
    browser's middleware (sessions, CSRF, login, messages, the dashboard's language and checks)
    would only cost them time: on the polling path, about a fifth of a request's CPU. They
    answer in ``LANGUAGE_CODE`` (a browser's request before, on the same thread, may have
    chosen another language)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.paths = tuple(settings.SMSBOX_API_PATHS)
        self.api = _handler(settings.SMSBOX_API_MIDDLEWARE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.paths):
            translation.activate(settings.LANGUAGE_CODE)
            return self.api.get_response(request)
        return self.get_response(request)


def _handler(middleware: list[str]) -> BaseHandler:
    """A Django request handler whose middleware is ``middleware``."""
    handler = BaseHandler()
    site = settings.MIDDLEWARE
    settings.MIDDLEWARE = middleware  # what load_middleware reads, put back at once
    try:
        handler.load_middleware()
    finally:
        settings.MIDDLEWARE = site
    return handler


class ActivityMiddleware:
    """Record that a session-authenticated customer used the dashboard.

    ``user_record_activity`` writes at most once per ``SMSBOX_ACTIVITY_WRITE_INTERVAL`` per user,
    so most requests cost no query at all; requests without a session cookie cost nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Without a session cookie nobody is logged in: no session or user lookup.
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


class BlockedAccountMiddleware:
    """A customer whose account an operator blocked gets a clear page (403) instead of the
    dashboard, at once: the user row is read on every request anyway."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.blocked_at is not None
            and not user.is_staff
            and request.path != reverse("logout")
        ):
            context = {"reason": user.block_reason}
            return render(request, "registration/account_blocked.html", context, status=403)
        return self.get_response(request)


class StaffSessionMiddleware:
    """Staff sessions end after ``SMSBOX_STAFF_SESSION_MINUTES`` without a request (0: never).
    The last request's time is written to the session at most once a minute."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        minutes = settings.SMSBOX_STAFF_SESSION_MINUTES
        if minutes <= 0 or settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return self.get_response(request)
        now = time.time()
        seen = request.session.get(STAFF_SEEN_KEY)
        if seen is not None and now - seen > minutes * 60:
            logout(request)
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if seen is None or now - seen > 60:
            request.session[STAFF_SEEN_KEY] = now
        return self.get_response(request)


STAFF_SEEN_KEY = "smsbox_staff_seen"
