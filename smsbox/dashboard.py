"""What every dashboard view shares: the one mapping of ``ApplicationError`` to a message, the
idempotency key of a form, pagination and CSV downloads."""

import csv
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language, gettext

from smsbox.errors import ApplicationError, NotFound

T = TypeVar("T")


def error_message(error: ApplicationError) -> str:
    """The refusal as the customer reads it: the service's own message, in the page's language.
    The catalog has every error class's message; a message a service composed (with figures in
    it) falls back, in another language than English, to its class's translated message."""
    translated = gettext(error.message)
    if translated != error.message or (get_language() or "en").startswith("en"):
        return translated
    return gettext(type(error).message)


def error_flash(request: HttpRequest, error: ApplicationError) -> None:
    messages.error(request, error_message(error))


def form_key() -> str:
    """A fresh idempotency key for one rendering of a purchase form: submitting that form twice
    (a double click, a second tab, a retried POST) buys once."""
    return uuid.uuid4().hex


def paginate(request: HttpRequest, rows) -> Page:
    paginator = Paginator(rows, settings.SMSBOX_DASHBOARD_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response


def _cell(value: object) -> object:
    """Spreadsheets run cells that start with = + - @ as formulas: quote those (text only)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def query_without_page(request: HttpRequest) -> str:
    """The current filters as a query string, for the pagination and CSV links."""
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    return params.urlencode()


def owned(selector: Callable[..., T], **lookup: object) -> T:
    """``selector(**lookup)`` (an ownership selector such as ``activation_get_for_user``), with
    its "not found" — also for another customer's object — as the dashboard's 404 page."""
    try:
        return selector(**lookup)
    except NotFound:
        raise Http404() from None
