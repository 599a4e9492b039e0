"""REST API v1: activations, their actions and messages, all my messages, token export and
query. Thin views: parse, call one service or selector of rentals, render."""

from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from providers.selectors import country_resolve, service_resolve
from rentals import selectors, services
from rentals.activation_cache import activation_cache_keys
from rentals.models import Activation, Rental, SmsMessage
from rentals.status import SMSPOOL_CODES, smspool_code, smspool_label
from smsbox import parsing
from smsbox.api import MoneyField, StrictDecimalField, StrictIntegerField, error_responses
from smsbox.errors import InvalidInput
from smsbox.money import format_money

State = Activation.State

# REST action name → the service it calls.
ACTIONS = {
    selectors.ACTION_READY: "activation_mark_ready",
    selectors.ACTION_RESEND: "activation_request_another_code",
    selectors.ACTION_FINISH: "activation_finish",
    selectors.ACTION_CANCEL: "activation_cancel",
    selectors.ACTION_REPLACE: "activation_replace",
    selectors.ACTION_REUSE: "activation_reuse",
    selectors.ACTION_SKIP: "number_skip",
}


def record_url(order: Activation | Rental) -> str:
    """The public record link of an activation or a rental (the binding key authorizes)."""
    return f"{settings.SMSBOX_SITE_URL}/api/sms/record?key={order.binding_key}"


# A long-term rental's state as an SMSPool code (1 pending … 8 activating): active is pending.
RENTAL_SMSPOOL_CODES = {"processing": 7, "active": 1, "expired": 2, "finished": 3,
                        "cancelled": 5, "revoked": 6, "failed": 6}  # fmt: skip


def rental_latest_message(rental: Rental) -> SmsMessage | None:
    return rental.messages.order_by("-received_at", "-id").first()


def activation_data(activation: Activation, *, now: datetime | None = None) -> dict[str, Any]:
    """An activation as the REST API shows it, with what can be done now and when the rest
    can (seconds)."""
    now = now or timezone.now()
    return {
        "id": activation.pk,
        "displayNumber": activation.display_number,
        "service": activation.service.code,
        "serviceName": activation.service.name,
        "country": activation.country.sms_activate_id,
        "countryName": activation.country.name_en,
        "operator": activation.operator or "any",
        "phone": activation.phone or None,
        "price": format_money(activation.price),
        "status": smspool_code(activation),
        "statusLabel": smspool_label(activation),
        "state": activation.state,
        "ready": activation.ready,
        "latestCode": activation.code or None,
        "createdAt": activation.created_at,
        "expiresAt": activation.expires_at,
        "apiBindingKey": activation.binding_key,
        "recordUrl": record_url(activation),
        "available_actions": selectors.activation_available_actions(activation, now=now),
        "cooldowns": {
            "resend": selectors.resend_cooldown_seconds(activation, now=now),
            "cancel": selectors.early_cancel_seconds(activation, now=now)
            if activation.state == State.WAITING
            else 0,
        },
    }


def message_data(message: SmsMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "activationId": message.activation_id,
        "rentalId": message.rental_id,
        "sender": message.sender,
        "text": message.text,
        "code": message.code or None,
        "receivedAt": message.received_at,
    }


# --- serializers (input, and the documented output) -------------------------------------------


class CooldownsSerializer(serializers.Serializer):
    resend = serializers.IntegerField(help_text="Seconds until another code may be asked for.")
    cancel = serializers.IntegerField(help_text="Seconds until cancel / replace are allowed.")


class ActivationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    displayNumber = serializers.CharField()
    service = serializers.CharField()
    serviceName = serializers.CharField()
    country = serializers.IntegerField(help_text="SMS-Activate country id")
    countryName = serializers.CharField()
    operator = serializers.CharField()
    phone = serializers.CharField(allow_null=True)
    price = MoneyField()
    status = serializers.ChoiceField(
        choices=[1, 2, 3, 4, 5, 6, 7, 8],
        help_text="SMSPool code: 1 pending, 2 expired, 3 completed, 4 resend, 5 cancelled, "
        "6 refunded, 7 processing, 8 activating",
    )
    statusLabel = serializers.CharField()
    state = serializers.ChoiceField(choices=State.values)
    ready = serializers.BooleanField()
    latestCode = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField()
    expiresAt = serializers.DateTimeField()
    apiBindingKey = serializers.CharField()
    recordUrl = serializers.CharField()
    available_actions = serializers.ListField(child=serializers.ChoiceField(choices=list(ACTIONS)))
    cooldowns = CooldownsSerializer()


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    activationId = serializers.IntegerField(allow_null=True)
    rentalId = serializers.IntegerField(allow_null=True)
    sender = serializers.CharField()
    text = serializers.CharField()
    code = serializers.CharField(allow_null=True)
    receivedAt = serializers.DateTimeField()


class PurchaseSerializer(serializers.Serializer):
    service = serializers.CharField(max_length=100, help_text="Code or name, any case.")
    country = serializers.CharField(max_length=100, help_text="Id, ISO code or name, any case.")
    operator = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    maxPrice = StrictDecimalField(
        max_digits=14, decimal_places=4, min_value=0, required=False, allow_null=True
    )
    orderId = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Idempotency key (the Idempotency-Key header does the same).",
    )


class BatchPurchaseSerializer(PurchaseSerializer):
    orderId = None
    quantity = StrictIntegerField(min_value=1, max_value=50)


class BatchItemSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    activation = ActivationSerializer(allow_null=True)
    error = serializers.DictField(allow_null=True)


class BatchResultSerializer(serializers.Serializer):
    successCount = serializers.IntegerField()
    failedCount = serializers.IntegerField()
    items = BatchItemSerializer(many=True)


class ExportSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["selected", "current", "renewal", "all"])
    ids = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=list,
        max_length=500,
        help_text="For scope=selected: ids or display numbers.",
    )
    format = serializers.ChoiceField(
        choices=["json", "txt"],
        default="json",
        help_text='txt: the lines alone, as text/plain (one "number----relayURL" per line).',
    )


class ExportResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    lines = serializers.ListField(child=serializers.CharField())
    text = serializers.CharField(help_text='"number----relayURL" lines')


class QuerySerializer(serializers.Serializer):
    terms = serializers.ListField(
        child=serializers.CharField(max_length=100),
        min_length=1,
        max_length=500,
        help_text="Binding keys, display numbers or phone numbers.",
    )


class QueryItemSerializer(serializers.Serializer):
    phone = serializers.CharField(allow_null=True)
    apiBindingKey = serializers.CharField()
    displayNumber = serializers.CharField()
    latestCode = serializers.CharField(allow_null=True)
    status = serializers.IntegerField()
    statusLabel = serializers.CharField()
    recordUrl = serializers.CharField()


_ACTIVATION_EXAMPLE = {
    "id": 635468024,
    "displayNumber": "A2611221030XY7Q",
    "service": "tg",
    "serviceName": "Telegram",
    "country": 187,
    "countryName": "USA",
    "operator": "any",
    "phone": "12025550143",
    "price": "0.65",
    "status": 1,
    "statusLabel": "pending",
    "state": "waiting",
    "ready": False,
    "latestCode": None,
    "createdAt": "2026-11-22T10:30:57Z",
    "expiresAt": "2026-11-22T10:50:57Z",
    "apiBindingKey": "bk_3fJ9…",
    "recordUrl": "https://smsbox.example/api/sms/record?key=bk_3fJ9…",
    "available_actions": ["ready", "skip"],
    "cooldowns": {"resend": 0, "cancel": 118},
}
_MESSAGES_EXAMPLE = OpenApiExample(
    "Messages",
    value={
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": 5,
                "activationId": 635468024,
                "rentalId": None,
                "sender": "Telegram",
                "text": "Telegram code 123456",
                "code": "123456",
                "receivedAt": "2026-11-22T10:31:20Z",
            }
        ],
    },
    response_only=True,
)
ID_PARAM = OpenApiParameter(
    "ident", str, OpenApiParameter.PATH, description="Numeric id or display number."
)


# --- views ------------------------------------------------------------------------------------


class BadFilter(InvalidInput):
    code = "INVALID_FILTER"
    message = "A filter value is not valid."


def _list_filters(params) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    # ``status`` too: the name of the field that shows the SMSPool code in each activation.
    state, status = (params.get(name, "").strip().lower() for name in ("state", "status"))
    if state and status and state != status:
        raise BadFilter("Give state or status, not both.", extra={"state": state, "status": status})
    state = state or status
    if state:
        if parsing.is_digits(state, max_length=2):
            filters["state"] = [s for s, code in SMSPOOL_CODES.items() if code == int(state)]
            if not filters["state"]:
                raise BadFilter(extra={"state": state})
        elif state in State.values:
            filters["state"] = state
        else:
            raise BadFilter(extra={"state": state, "states": State.values})
    if params.get("service", "").strip():
        filters["service"] = service_resolve(params["service"]).code
    if params.get("country", "").strip():
        filters["country"] = country_resolve(params["country"]).sms_activate_id
    for name, key in (("date", "day"), ("since", "since"), ("until", "until")):
        raw = params.get(name, "").strip()
        if raw:
            filters[key] = _date(raw, name)
    if "day" in filters:
        day = filters.pop("day")
        filters["since"] = day
        filters["until"] = day + timedelta(days=1)
    return filters


def _date(raw: str, name: str) -> datetime:
    day = parsing.or_none(parsing.day, raw[:10], name=name)
    if day is None:
        raise BadFilter(f"{name} must be a date, YYYY-MM-DD.", extra={name: raw[:40]})
    return timezone.make_aware(datetime.combine(day, time.min))


class ActivationListApi(GenericAPIView):
    serializer_class = ActivationSerializer

    @extend_schema(
        tags=["activations"],
        summary="My activations, newest first",
        parameters=[
            OpenApiParameter("state", str, description="A state name or an SMSPool code (1-8)."),
            OpenApiParameter("status", str, description="The same as state."),
            OpenApiParameter("service", str, description="Code or name."),
            OpenApiParameter("country", str, description="Id, ISO code or name."),
            OpenApiParameter("date", str, description="Created that day, YYYY-MM-DD."),
            OpenApiParameter("since", str, description="Created from that day, YYYY-MM-DD."),
            OpenApiParameter("until", str, description="Created before that day, YYYY-MM-DD."),
            OpenApiParameter("page", int),
            OpenApiParameter("pageSize", int),
        ],
        responses={
            200: ActivationSerializer(many=True),
            **error_responses(e400=["INVALID_FILTER", "BAD_SERVICE", "BAD_COUNTRY"]),
        },
        examples=[
            OpenApiExample(
                "Page",
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [_ACTIVATION_EXAMPLE],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        filters = _list_filters(request.query_params)
        activations = selectors.activations_for_user(user=request.user, **filters)
        page = self.paginate_queryset(activations)
        now = timezone.now()
        return self.get_paginated_response([activation_data(a, now=now) for a in page])

    @extend_schema(
        tags=["activations"],
        summary="Buy a number (idempotent with Idempotency-Key or orderId)",
        request=PurchaseSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={
            201: ActivationSerializer,
            202: OpenApiResponse(
                ActivationSerializer,
                description="Charged, but the upstream has not answered yet: the activation is "
                "processing (status 7). Poll it; it gets its number or is refunded.",
            ),
            **error_responses(
                e400=["INVALID_INPUT", "BAD_SERVICE", "BAD_COUNTRY"],
                e402=["NO_BALANCE"],
                e403=["SPEND_LIMIT", "WRONG_MAX_PRICE", "DAILY_CAP", "CHANNELS_LIMIT"],
                e409=["NO_NUMBERS", "WRONG_MAX_PRICE", "ORDER_ALREADY_EXISTS"],
            ),
        },
        examples=[
            OpenApiExample(
                "Telegram in the USA",
                value={"service": "tg", "country": "US", "maxPrice": "1.00", "orderId": "o-1"},
                request_only=True,
            ),
            OpenApiExample(
                "Bought", value=_ACTIVATION_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        body = PurchaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        key = request.headers.get("Idempotency-Key", "").strip() or data["orderId"]
        activation = services.activation_purchase(
            user=request.user,
            service=service_resolve(data["service"]),
            country=country_resolve(data["country"]),
            operator=_operator(data["operator"]),
            max_price=data.get("maxPrice"),
            idempotency_key=key[:100],
        )
        # An upstream answer not known yet: accepted, pollable (status 7, processing).
        pending = activation.state in Activation.PENDING_STATES
        return Response(activation_data(activation), status=202 if pending else 201)


def _operator(raw: str) -> str:
    raw = (raw or "").strip().lower()
    return "" if raw == "any" else raw


class ActivationBatchApi(GenericAPIView):
    serializer_class = BatchResultSerializer

    @extend_schema(
        tags=["activations"],
        summary="Buy several numbers (one result per number)",
        request=BatchPurchaseSerializer,
        responses={
            200: BatchResultSerializer,
            **error_responses(e400=["INVALID_INPUT", "BAD_SERVICE", "BAD_COUNTRY"]),
        },
        examples=[
            OpenApiExample(
                "Two", value={"service": "tg", "country": "US", "quantity": 2}, request_only=True
            ),
            OpenApiExample(
                "One bought, one not",
                value={
                    "successCount": 1,
                    "failedCount": 1,
                    "items": [
                        {"ok": True, "activation": _ACTIVATION_EXAMPLE, "error": None},
                        {
                            "ok": False,
                            "activation": None,
                            "error": {"code": "NO_BALANCE", "message": "The balance is too low."},
                        },
                    ],
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        body = BatchPurchaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = services.activation_purchase_batch(
            user=request.user,
            service=service_resolve(data["service"]),
            country=country_resolve(data["country"]),
            quantity=data["quantity"],
            operator=_operator(data["operator"]),
            max_price=data.get("maxPrice"),
        )
        items = [
            {"ok": True, "activation": activation_data(item.activation), "error": None}
            if item.activation is not None
            else {
                "ok": False,
                "activation": None,
                "error": {"code": item.error.code, "message": item.error.message},
            }
            for item in result.items
        ]
        return Response(
            {
                "successCount": result.success_count,
                "failedCount": result.failed_count,
                "items": items,
            }
        )


class ActivationDetailApi(GenericAPIView):
    serializer_class = ActivationSerializer

    @extend_schema(
        tags=["activations"],
        summary="One activation, by id or display number",
        parameters=[ID_PARAM],
        responses={200: ActivationSerializer, **error_responses(e404=["NO_ACTIVATION"])},
        examples=[OpenApiExample("Waiting", value=_ACTIVATION_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, ident: str) -> Response:
        activation = selectors.activation_detail_for_user(
            user=request.user, ident=ident, cached=getattr(request, "smsbox_cached", None)
        )
        return Response(activation_data(activation))

    @staticmethod
    def cached_keys(kwargs: dict[str, Any]) -> tuple[str, ...]:
        """The activation's Redis copy, read along with the API key check (clients poll)."""
        ident = str(kwargs.get("ident", "")).strip()
        return activation_cache_keys(int(ident)) if parsing.is_digits(ident) else ()


class ActivationActionApi(GenericAPIView):
    serializer_class = ActivationSerializer
    action_name = ""

    def post(self, request: Request, ident: str) -> Response:
        activation = selectors.activation_get_for_user(user=request.user, ident=ident)
        service = getattr(services, ACTIONS[self.action_name])
        result = service(activation=activation)
        if not isinstance(result, Activation):  # number_skip answers the ban
            result = selectors.activation_get_for_user(user=request.user, ident=activation.pk)
        return Response(activation_data(result))


_ACTION_DOCS = {
    "ready": ("The SMS was sent: mark the activation ready", ["BAD_STATUS"]),
    "resend": (
        "Ask for another code (free, after a code, once per cooldown)",
        ["BAD_STATUS", "RESEND_COOLDOWN"],
    ),
    "finish": (
        "Finish (without a code: cancelled and refunded)",
        ["BAD_STATUS", "EARLY_CANCEL_DENIED"],
    ),
    "cancel": (
        "Cancel and refund (before any SMS, not in the first minutes)",
        ["BAD_STATUS", "EARLY_CANCEL_DENIED"],
    ),
    "replace": (
        "Cancel, refund and buy another number (answers the new activation)",
        ["BAD_STATUS", "EARLY_CANCEL_DENIED", "NO_NUMBERS", "NO_BALANCE"],
    ),
    "reuse": (
        "The same number again after completion (answers the new activation)",
        ["RENEW_ACTIVATION_NOT_AVAILABLE", "NO_BALANCE"],
    ),
    "skip": ("Never give me this number again", ["BAD_STATUS"]),
}


def action_view(name: str):
    summary, codes = _ACTION_DOCS[name]
    conflicts = [c for c in codes if c not in ("NO_BALANCE",)]

    def post(self, request: Request, ident: str) -> Response:
        return ActivationActionApi.post(self, request, ident)

    post = extend_schema(
        tags=["activations"],
        summary=summary,
        operation_id=f"activations_{name}",
        request=None,
        parameters=[ID_PARAM],
        responses={
            200: ActivationSerializer,
            **error_responses(
                e404=["NO_ACTIVATION"],
                e409=conflicts,
                **({"e402": ["NO_BALANCE"]} if "NO_BALANCE" in codes else {}),
            ),
        },
        examples=[OpenApiExample("Updated", value=_ACTIVATION_EXAMPLE, response_only=True)],
    )(post)
    view = type(
        f"Activation{name.capitalize()}Api",
        (ActivationActionApi,),
        {"action_name": name, "__doc__": summary, "post": post},
    )
    return view.as_view()


class ActivationMessagesApi(GenericAPIView):
    serializer_class = MessageSerializer

    @extend_schema(
        tags=["activations"],
        summary="Messages of one activation, oldest first",
        parameters=[ID_PARAM, OpenApiParameter("page", int), OpenApiParameter("pageSize", int)],
        responses={200: MessageSerializer(many=True), **error_responses(e404=["NO_ACTIVATION"])},
        examples=[_MESSAGES_EXAMPLE],
    )
    def get(self, request: Request, ident: str) -> Response:
        activation = selectors.activation_get_for_user(user=request.user, ident=ident)
        page = self.paginate_queryset(selectors.messages_for_activation(activation=activation))
        return self.get_paginated_response([message_data(m) for m in page])


class MessageListApi(GenericAPIView):
    serializer_class = MessageSerializer

    @extend_schema(
        tags=["activations"],
        summary="All SMS I received, newest first",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("pageSize", int)],
        responses={200: MessageSerializer(many=True), **error_responses()},
        examples=[_MESSAGES_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.messages_for_user(user=request.user))
        return self.get_paginated_response([message_data(m) for m in page])


class TokenExportApi(GenericAPIView):
    serializer_class = ExportResultSerializer

    @extend_schema(
        tags=["tokens"],
        summary='Export "number----relayURL" lines',
        request=ExportSerializer,
        responses={
            (200, "application/json"): ExportResultSerializer,
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description='format=txt: "number----relayURL" lines'
            ),
            **error_responses(e400=["INVALID_INPUT"]),
        },
        examples=[
            OpenApiExample("All", value={"scope": "all"}, request_only=True),
            OpenApiExample("As text", value={"scope": "all", "format": "txt"}, request_only=True),
            OpenApiExample(
                "Lines",
                value={
                    "count": 1,
                    "lines": ["12025550143----https://smsbox.example/api/sms/record?key=bk_3fJ9"],
                    "text": "12025550143----https://smsbox.example/api/sms/record?key=bk_3fJ9",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response | HttpResponse:
        body = ExportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        scope, terms = body.validated_data["scope"], [str(t) for t in body.validated_data["ids"]]
        activations = self._activations(request, scope, terms)
        rentals = selectors.rentals_for_export(user=request.user, scope=scope, terms=terms)
        lines = [f"{a.phone}----{record_url(a)}" for a in activations if a.phone]
        lines += [f"{r.phone}----{record_url(r)}" for r in rentals]
        text = "\n".join(lines)
        if body.validated_data["format"] == "txt":
            return HttpResponse(text, content_type="text/plain; charset=utf-8")
        return Response({"count": len(lines), "lines": lines, "text": text})

    def _activations(self, request: Request, scope: str, terms: list[str]):
        if scope == "renewal":
            return []  # activations never renew; long-term rentals with auto-renew do
        if scope == "current":
            return selectors.activations_for_user(
                user=request.user, state=list(Activation.LIVE_STATES)
            )
        if scope == "all":
            return selectors.activations_for_user(user=request.user)
        ids = [int(t) for t in terms if parsing.is_digits(t)]
        found = selectors.activations_for_user(user=request.user)
        return found.filter(pk__in=ids) | found.filter(
            display_number__in=[t.upper() for t in terms]
        )


class TokenQueryApi(GenericAPIView):
    serializer_class = QueryItemSerializer

    @extend_schema(
        tags=["tokens"],
        summary="Look up my activations by binding keys or numbers",
        request=QuerySerializer,
        responses={200: QueryItemSerializer(many=True), **error_responses(e400=["INVALID_INPUT"])},
        examples=[
            OpenApiExample(
                "Terms", value={"terms": ["+12025550143", "bk_3fJ9"]}, request_only=True
            ),
            OpenApiExample(
                "Found",
                value=[
                    {
                        "phone": "12025550143",
                        "apiBindingKey": "bk_3fJ9…",
                        "displayNumber": "A2611221030XY7Q",
                        "latestCode": "123456",
                        "status": 3,
                        "statusLabel": "completed",
                        "recordUrl": "https://smsbox.example/api/sms/record?key=bk_3fJ9…",
                    }
                ],
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        body = QuerySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        terms = body.validated_data["terms"]
        found = selectors.activations_by_terms(user=request.user, terms=terms)
        items = [
            {
                "phone": a.phone or None,
                "apiBindingKey": a.binding_key,
                "displayNumber": a.display_number,
                "latestCode": a.code or None,
                "status": smspool_code(a),
                "statusLabel": smspool_label(a),
                "recordUrl": record_url(a),
            }
            for a in found[:500]
        ]
        for rental in selectors.rentals_by_terms(user=request.user, terms=terms)[:500]:
            latest = rental_latest_message(rental)
            items.append(
                {
                    "phone": rental.phone or None,
                    "apiBindingKey": rental.binding_key,
                    "displayNumber": rental.display_number,
                    "latestCode": (latest.code or None) if latest else None,
                    "status": RENTAL_SMSPOOL_CODES.get(rental.state, 1),
                    "statusLabel": rental.state,
                    "recordUrl": record_url(rental),
                }
            )
        return Response(items)
