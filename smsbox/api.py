"""The shared kernel of the REST API: one error body everywhere, pagination, schema helpers.

Every error answers ``{"error": {"code": "NO_BALANCE", "message": "…", "details": {…}}}`` with
the HTTP status of its kind: an ``ApplicationError`` carries its own code, message, extra
(the details) and status; DRF's errors (validation, authentication, throttling, 404, 405, …)
are mapped here once.
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import is_valid_path
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from smsbox import parsing
from smsbox.errors import ApplicationError
from smsbox.money import format_money

# DRF exception class → our stable code (the most specific class first).
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "INVALID_INPUT"),
    (exceptions.ParseError, "PARSE_ERROR"),
    (exceptions.AuthenticationFailed, "AUTHENTICATION_FAILED"),
    (exceptions.NotAuthenticated, "NOT_AUTHENTICATED"),
    (exceptions.PermissionDenied, "PERMISSION_DENIED"),
    (exceptions.NotFound, "NOT_FOUND"),
    (exceptions.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (exceptions.NotAcceptable, "NOT_ACCEPTABLE"),
    (exceptions.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.Throttled, "RATE_LIMITED"),
]


class StrictIntegerField(serializers.IntegerField):
    """A whole number in ASCII digits (or a JSON integer) through the strict parser: DRF's
    own field reads "٣" as 3 and "1.0" as 1."""

    def to_internal_value(self, data: Any) -> int:
        try:
            return parsing.integer(data, name=self.field_name or "value")
        except parsing.InvalidParameter:
            self.fail("invalid")


class StrictDecimalField(serializers.DecimalField):
    """A decimal amount through the strict parser: ASCII digits with an optional point (a
    JSON number is read through its shortest text), no sign, exponent, NaN or infinity."""

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, float):
            data = repr(data)  # "1.5", "1e+300" (refused), "nan" (refused)
        places = self.decimal_places if self.decimal_places is not None else 4
        whole = (self.max_digits - places) if self.max_digits is not None else 10
        try:
            value = parsing.amount(
                data, name=self.field_name or "value", places=places, max_integer_digits=whole
            )
        except parsing.InvalidParameter:
            self.fail("invalid")
        return self.quantize(self.validate_precision(value))


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every known error becomes the one error body."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, _jsonable(exc.extra)), status=exc.status)
    if isinstance(exc, DataError):  # e.g. a NUL character PostgreSQL cannot store or match
        set_rollback()
        return Response(
            error_body("INVALID_INPUT", "A value in the request is not valid.", {}), status=400
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    response.data = _drf_error_body(exc)
    return response


def _drf_error_body(exc: exceptions.APIException) -> dict[str, Any]:
    code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "ERROR")
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return error_body(code, "The input is not valid.", {"fields": _plain(detail)})
    details: dict[str, Any] = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details["retry_after"] = int(exc.wait + 0.999)
    custom_code = getattr(exc, "smsbox_code", None)
    return error_body(custom_code or code, str(exc.detail), details)


def _plain(detail: Any) -> Any:
    """ErrorDetail trees → plain strings, lists and dicts."""
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(v) for v in detail]
    return str(detail)


def _jsonable(value: Any) -> Any:
    """An error's ``extra`` as JSON values: Decimals, dates and the like become strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | bool | str) or value is None:
        return value
    return str(value)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any path under /api/ that no view serves: the one error body, not an HTML page. A path
    that a view serves with a trailing slash (the REST API's paths end in one) is answered with
    that path, so that a client missing the slash learns what to send."""
    if not request.path_info.endswith("/") and _served(request, request.path_info + "/"):
        path = request.path + "/"
        body = error_body(
            "NOT_FOUND", f"No such API endpoint; the path ends in a slash: {path}", {"path": path}
        )
    else:
        body = error_body("NOT_FOUND", "No such API endpoint.")
    return JsonResponse(body, status=404)


def _served(request: HttpRequest, path: str) -> bool:
    """Whether a view other than ``api_not_found`` serves ``path``."""
    match = is_valid_path(path, getattr(request, "urlconf", None))
    return bool(match) and match.func is not api_not_found


class JsonNegotiation(DefaultContentNegotiation):
    """The API speaks JSON only: a request that takes anything (most clients send no Accept
    header, or ``*/*``) or JSON gets it without parsing the header; any other Accept header is
    negotiated as DRF does (406 when nothing fits)."""

    _ANY = frozenset({"", "*/*", "application/json"})

    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1 and request.META.get("HTTP_ACCEPT", "").strip() in self._ANY:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class Pagination(PageNumberPagination):
    """``?page=1&pageSize=20`` (``page_size`` too); at most 100 per page."""

    page_size = 20
    page_size_query_param = "pageSize"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        """``pageSize`` (or ``page_size``) through the strict parser; the default when it is
        absent or not a whole number from 1, cut to ``max_page_size``."""
        params = request.query_params
        raw = params.get(self.page_size_query_param, params.get("page_size"))
        size = parsing.or_none(parsing.integer, raw, name="pageSize", minimum=1)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request, paginator) -> int | str:
        """``page`` as ASCII digits ("last" too); anything else is a page that does not exist."""
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw in self.last_page_strings:
            return paginator.num_pages
        return raw if parsing.is_digits(raw, max_length=9) else 0


@extend_schema_field({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2,}$", "example": "12.50"})
class MoneyField(serializers.Field):
    """A Decimal rendered with two decimals at least, as a string (never a float)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return format_money(value)


# --- schema helpers ---------------------------------------------------------------------------

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(),
            },
        )
    },
)

_STATUS_TEXT = {
    400: "Invalid input",
    401: "Missing, wrong or revoked credentials",
    402: "Balance too low",
    403: "Not allowed",
    404: "Not found (also what another customer's object is)",
    409: "Conflicts with the current state",
    429: "Rate limited (see Retry-After)",
    503: "The database is briefly unreachable: try again after Retry-After seconds",
}
_DEFAULT_CODES = {
    400: ["INVALID_INPUT"],
    401: ["NOT_AUTHENTICATED", "AUTHENTICATION_FAILED"],
    404: ["NOT_FOUND"],
    429: ["RATE_LIMITED", "ACCOUNT_BLOCKED"],
    503: ["SERVICE_UNAVAILABLE"],
}


def error_responses(**codes_by_status: list[str]) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses=…)`` entries of the error body, with one example per code.

    Always documents 401, 429 and 503 (smsbox.failures); call as
    ``error_responses(e404=["ACTIVATION_NOT_FOUND"])``.
    """
    wanted: dict[int, list[str]] = {401: [], 429: [], 503: []}
    for key, codes in codes_by_status.items():
        wanted[int(key.lstrip("e"))] = list(codes)
    responses = {}
    for status, codes in sorted(wanted.items()):
        codes = list(dict.fromkeys(codes + _DEFAULT_CODES.get(status, [])))
        responses[status] = OpenApiResponse(
            response=ErrorSerializer,
            description=f"{_STATUS_TEXT.get(status, 'Error')}: " + ", ".join(codes),
            examples=[
                OpenApiExample(
                    code,
                    value=error_body(code, _example_message(code)),
                    status_codes=[str(status)],
                    response_only=True,
                )
                for code in codes
            ],
        )
    return responses


def _example_message(code: str) -> str:
    return code.replace("_", " ").capitalize() + "."
