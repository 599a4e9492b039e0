"""What the dialects share: one DRF view class per endpoint (so each is in the OpenAPI schema),
the key check with the account's rate limit, and the one place where an error becomes the
dialect's answer.

A request goes: parameters (query string and form body, as the handler protocol reads them) →
API key → banned? → rate limit → the endpoint's function. ``ApplicationError`` (smsbox's one
error tree) and ``DialectError`` (a dialect's own refusal of its input) are rendered by the
dialect; anything else is logged and answered as the dialect's server error.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from apikeys.authentication import api_key_check_admit, api_key_from_request
from apikeys.throttling import Refusal, failed_request_record
from rentals.handler.transport import request_params
from smsbox.errors import ApplicationError
from smsbox.models import User

logger = logging.getLogger(__name__)


class DialectError(Exception):
    """A dialect refuses the request in its own words (a bad parameter, an unknown order)."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str = "", failed: bool = True
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status  # None: the dialect's usual status for a refusal
        self.code = code
        self.failed = failed  # counts as a failed request (the block after too many)


@dataclass
class Call:
    """One dialect request: the caller (None on guest endpoints), its parameters and the
    path's parts."""

    user: User | None
    params: dict[str, str]
    path: dict[str, str] = field(default_factory=dict)

    def get(self, *names: str) -> str:
        """The first of ``names`` that is given (clients differ: ``order_id`` / ``orderid``)."""
        return next((self.params[n] for n in names if self.params.get(n)), "")


class Dialect:
    """How one dialect answers what is not the endpoint's own success."""

    def unauthorized(self) -> HttpResponse:
        raise NotImplementedError

    def banned(self, until: datetime) -> HttpResponse:
        raise NotImplementedError

    def refused(self, refusal: Refusal, user: User) -> HttpResponse:
        raise NotImplementedError

    def refusal(self, exc: DialectError) -> HttpResponse:
        raise NotImplementedError

    def failure(self, exc: ApplicationError) -> HttpResponse:
        raise NotImplementedError

    def server_error(self) -> HttpResponse:
        raise NotImplementedError

    def raw_key(self, request: HttpRequest, params: dict[str, str]) -> str | None:
        return api_key_from_request(request)


def dialect_failure(dialect: Dialect) -> Callable[[HttpRequest, bool], HttpResponse]:
    """What a request of ``dialect`` that failed outside ``_answer`` answers
    (``smsbox.failures``): its server error, a 503 when the database went away."""

    def render(request: HttpRequest, unavailable: bool) -> HttpResponse:
        response = dialect.server_error()
        if unavailable:
            response.status_code = 503
            response["Retry-After"] = str(settings.SMSBOX_RETRY_AFTER_SECONDS)
        return response

    return render


def _answer(
    dialect: Dialect, run: Callable[[Call], HttpResponse], guest: bool, request: HttpRequest, path
) -> HttpResponse:
    try:
        return _answer_checked(dialect, run, guest, request, path)
    except (OperationalError, InterfaceError):  # the database went away: try again shortly
        logger.exception("dialect endpoint %s lost its database", request.path)
        return dialect_failure(dialect)(request, True)
    except Exception:  # a dialect has no traceback page: log it, answer its server error
        logger.exception("dialect endpoint %s failed", request.path)
        return dialect.server_error()


def _answer_checked(
    dialect: Dialect, run: Callable[[Call], HttpResponse], guest: bool, request: HttpRequest, path
) -> HttpResponse:
    params = request_params(request)
    user = None
    if not guest:
        raw_key = dialect.raw_key(request, params)
        if not raw_key:
            return dialect.unauthorized()
        api_key, refusal, _ = api_key_check_admit(raw_key)
        if api_key is None:
            return dialect.unauthorized()
        user = api_key.user
        if user.is_banned():
            return dialect.banned(user.banned_until)
        if refusal is not None:
            return dialect.refused(refusal, user)
    try:
        return run(Call(user=user, params=params, path=path))
    except DialectError as exc:
        if exc.failed and user is not None:
            failed_request_record(user=user)
        return dialect.refusal(exc)
    except ApplicationError as exc:
        if user is not None:
            failed_request_record(user=user)
        return dialect.failure(exc)


class DialectView(APIView):
    """An endpoint of a dialect. DRF's authentication, throttling and error body are off: the
    dialect checks the key and the rate limit itself and answers errors in its own shape."""

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    dialect: Dialect
    run: Callable[[Call], HttpResponse]
    guest = False  # no API key needed (a public catalog endpoint)

    def get(self, request: Request, **path: Any) -> HttpResponse:
        return _answer(self.dialect, type(self).run, self.guest, request._request, path)

    def post(self, request: Request, **path: Any) -> HttpResponse:
        return _answer(self.dialect, type(self).run, self.guest, request._request, path)


def endpoint_view(
    dialect: Dialect,
    run: Callable[[Call], HttpResponse],
    *,
    schema: Callable | None,
    guest: bool = False,
    methods: tuple[str, ...] = ("get", "post"),
) -> type[DialectView]:
    """A view class for ``run``; ``schema`` (an ``extend_schema(...)``) documents its GET, or
    None leaves the class out of the schema (the ``.php`` twin of a documented path)."""
    attrs: dict[str, Any] = {
        "dialect": dialect,
        "run": staticmethod(run),
        "guest": guest,
        "http_method_names": list(methods),
        "__doc__": run.__doc__,
    }
    if schema is None:
        attrs["schema"] = None
    else:
        # Fresh functions: extend_schema writes onto the function it decorates.
        def get(self, request: Request, **path: Any) -> HttpResponse:
            return DialectView.get(self, request, **path)

        def post(self, request: Request, **path: Any) -> HttpResponse:
            return DialectView.post(self, request, **path)

        attrs["get"] = schema(get)
        attrs["post"] = extend_schema(exclude=True)(post)  # the GET documents both
    return type(f"{type(dialect).__name__}_{run.__name__}", (DialectView,), attrs)


# --- the OpenAPI schema -----------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """One documented endpoint of a dialect: its path (Django syntax, without the prefix), what
    runs it, and what the schema shows (parameters, a success example, error examples by
    status)."""

    path: str
    run: Callable[[Call], HttpResponse]
    summary: str
    params: tuple[str, ...] = ()
    example: Any = None
    errors: dict[int, dict[str, Any]] = field(default_factory=dict)
    guest: bool = False


def endpoint_schema(
    endpoint: Endpoint, *, tag: str, error_media: str, path_params: tuple[str, ...] = ()
) -> Callable:
    """``extend_schema`` of ``endpoint``: its tag, query/form parameters, the success example
    and one example per error (in the dialect's own shape and media type)."""
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

    kind = OpenApiTypes.STR if error_media == "text/plain" else OpenApiTypes.OBJECT
    responses: dict[Any, OpenApiResponse] = {
        200: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description=endpoint.summary,
            examples=[OpenApiExample("Success", value=endpoint.example, status_codes=["200"])],
        )
    }
    for status, examples in sorted(endpoint.errors.items()):
        key = status if error_media == "application/json" else (status, error_media)
        if status == 200:  # a refusal answered with 200: documented beside the success
            responses[200].examples += [
                OpenApiExample(name, value=value, status_codes=["200"])
                for name, value in examples.items()
            ]
            continue
        responses[key] = OpenApiResponse(
            kind,
            description=", ".join(examples),
            examples=[
                OpenApiExample(name, value=value, status_codes=[str(status)])
                for name, value in examples.items()
            ],
        )
    parameters = [OpenApiParameter(n, str, OpenApiParameter.PATH) for n in path_params]
    parameters += [OpenApiParameter(n, str, OpenApiParameter.QUERY) for n in endpoint.params]
    return extend_schema(
        tags=[tag],
        summary=endpoint.summary,
        description=(endpoint.run.__doc__ or "").strip(),
        operation_id=re.sub(r"[^a-z0-9]+", "_", f"{tag} {endpoint.path}".lower()).strip("_"),
        parameters=parameters,
        request=None,
        responses=responses,
        auth=[] if endpoint.guest else None,
    )
