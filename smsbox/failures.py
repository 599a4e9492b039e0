"""What a request answers when something unexpected breaks it: never a traceback, never an HTML
page where a program expects its own format.

* Under ``/api/``: the one JSON error body. A lost database connection (``OperationalError``,
  ``InterfaceError``) is ``503 SERVICE_UNAVAILABLE`` with ``Retry-After``; anything else is
  ``500 INTERNAL`` whose ``details.id`` is the id logged with the traceback, so support can find
  it from what the client saw.
* Paths an app registers (``error_page_register``: the handler protocol, the client dialects)
  answer in their protocol's own shape.
* Everything else (the dashboard, accounts): the plain pages ``templates/500.html`` and
  ``templates/503.html``, rendered without a request context (they must not need the database).

``ApiErrorMiddleware`` catches what views raise; ``server_error`` (``handler500``) what the
middleware raises before a view runs.
"""

import logging
import sys
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from smsbox.api import error_body

logger = logging.getLogger("smsbox.errors")

API_PREFIX = "/api/"
DATABASE_LOST = (OperationalError, InterfaceError)

# Path prefix → renders the error answer of that protocol (``unavailable``: the database went).
_pages: dict[str, Callable[[HttpRequest, bool], HttpResponse]] = {}


def error_page_register(prefix: str, render: Callable[[HttpRequest, bool], HttpResponse]) -> None:
    """Answer failures of requests under ``prefix`` with ``render(request, unavailable)``."""
    _pages[prefix] = render


def error_response(request: HttpRequest, exc: BaseException | None) -> HttpResponse:
    """The answer to a request that ``exc`` broke (logged here with an id)."""
    unavailable = isinstance(exc, DATABASE_LOST)
    error_id = uuid.uuid4().hex[:16]
    logger.error(
        "request failed (error id %s): %s %s",
        error_id,
        request.method,
        request.path,
        exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
    )
    path = request.path
    if path.startswith(API_PREFIX):
        return api_error_response(unavailable, error_id)
    for prefix, render in _pages.items():
        if path.startswith(prefix):
            return _retry_later(render(request, unavailable), unavailable)
    template = "503.html" if unavailable else "500.html"
    body = loader.get_template(template).render({"error_id": error_id})
    return _retry_later(HttpResponse(body, status=503 if unavailable else 500), unavailable)


def api_error_response(unavailable: bool, error_id: str) -> JsonResponse:
    if unavailable:
        body = error_body(
            "SERVICE_UNAVAILABLE",
            "The service is briefly unavailable; try again shortly.",
            {"retry_after": settings.SMSBOX_RETRY_AFTER_SECONDS},
        )
        return _retry_later(JsonResponse(body, status=503), True)
    body = error_body(
        "INTERNAL", "Something went wrong on our side; it was logged.", {"id": error_id}
    )
    return JsonResponse(body, status=500)


def _retry_later(response: HttpResponse, unavailable: bool) -> HttpResponse:
    if unavailable and response.status_code == 503:
        response["Retry-After"] = str(settings.SMSBOX_RETRY_AFTER_SECONDS)
    return response


class ApiErrorMiddleware:
    """Views' unexpected exceptions under ``/api/`` and the registered prefixes become their
    protocol's error answer (the dashboard's go to ``server_error``, or Django's debug page)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        path = request.path
        if path.startswith(API_PREFIX) or any(path.startswith(p) for p in _pages):
            return error_response(request, exc)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: Django calls it inside its ``except`` block, so the exception is at hand."""
    return error_response(request, sys.exc_info()[1])
