"""The public record link: ``GET /api/sms/record?key=<binding key>[&format=txt]``.

No authentication: the binding key authorizes. JSON (state, phone, latest code, messages) or
the minimal text ``YES|123456`` / ``NO|``.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from rentals import selectors
from rentals.api.activations import RENTAL_SMSPOOL_CODES, MessageSerializer, message_data
from rentals.status import smspool_code, smspool_label
from smsbox.api import error_responses
from smsbox.errors import NotFound


class RecordSerializer(serializers.Serializer):
    state = serializers.CharField()
    status = serializers.IntegerField(help_text="SMSPool code")
    statusLabel = serializers.CharField()
    phone = serializers.CharField(allow_null=True)
    service = serializers.CharField()
    latestCode = serializers.CharField(allow_null=True)
    expiresAt = serializers.DateTimeField()
    messages = MessageSerializer(many=True)


class RecordApi(GenericAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    serializer_class = RecordSerializer

    @extend_schema(
        tags=["record link"],
        summary="Public record of an activation or a rental by its binding key (no auth)",
        auth=[],
        parameters=[
            OpenApiParameter("key", str, required=True, description="The apiBindingKey."),
            OpenApiParameter("format", str, enum=["json", "txt"]),
        ],
        responses={
            (200, "application/json"): RecordSerializer,
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="YES|123456 or NO|"),
            **{k: v for k, v in error_responses(e404=["NOT_FOUND"]).items() if k == 404},
        },
        examples=[
            OpenApiExample(
                "Received",
                value={
                    "state": "received",
                    "status": 3,
                    "statusLabel": "completed",
                    "phone": "12025550143",
                    "service": "tg",
                    "latestCode": "123456",
                    "expiresAt": "2026-11-22T10:50:57Z",
                    "messages": [
                        {
                            "id": 5,
                            "activationId": 635468024,
                            "sender": "Telegram",
                            "text": "Telegram code 123456",
                            "code": "123456",
                            "receivedAt": "2026-11-22T10:31:20Z",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response | HttpResponse:
        text = request.query_params.get("format", "").strip().lower() == "txt"
        key = request.query_params.get("key", "").strip()[:64]
        try:
            record = _activation_record(key)
        except NotFound:
            try:
                record = _rental_record(key)
            except NotFound:
                if text:
                    return HttpResponse("NO|", content_type="text/plain", status=404)
                raise
        if text:
            code = record["latestCode"]
            return HttpResponse(f"YES|{code}" if code else "NO|", content_type="text/plain")
        return Response(record)


def _activation_record(key: str) -> dict:
    activation = selectors.activation_get_by_binding_key(binding_key=key)
    code = activation.code if activation.state not in activation.REFUNDED_STATES else ""
    messages = selectors.messages_for_activation(activation=activation)
    return {
        "state": activation.state,
        "status": smspool_code(activation),
        "statusLabel": smspool_label(activation),
        "phone": activation.phone or None,
        "service": activation.service.code,
        "latestCode": code or None,
        "expiresAt": activation.expires_at,
        "messages": [message_data(m) for m in messages],
    }


def _rental_record(key: str) -> dict:
    rental = selectors.rental_get_by_binding_key(binding_key=key)
    messages = list(rental.messages.order_by("received_at", "id"))
    latest = messages[-1].code if messages else ""
    return {
        "state": rental.state,
        "status": RENTAL_SMSPOOL_CODES.get(rental.state, 1),
        "statusLabel": rental.state,
        "phone": rental.phone or None,
        "service": rental.service.code if rental.service_id else "full",
        "latestCode": latest or None,
        "expiresAt": rental.expires_at,
        "messages": [message_data(m) for m in messages],
    }
