"""REST API v1: the customer's webhook URL, its signing secret and the delivery log."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from rentals.models import WebhookDelivery
from rentals.webhooks import (
    webhook_deliveries_for_user,
    webhook_secret_get_or_create,
    webhook_secret_rotate,
    webhook_url_set,
)
from smsbox.api import error_responses
from smsbox.errors import InvalidInput


class WebhookSerializer(serializers.Serializer):
    url = serializers.CharField(allow_blank=True)
    secret = serializers.CharField(help_text="Signs X-Smsbox-Signature (HMAC-SHA256).")


class WebhookSetSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, allow_blank=True, help_text="Empty to clear.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    event = serializers.CharField()
    payload = serializers.JSONField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)


class BadFilter(InvalidInput):
    code = "INVALID_FILTER"
    message = "Unknown filter value."


_WEBHOOK_EXAMPLE = {"url": "https://example.com/hooks/sms", "secret": "whsec_3x…"}


class WebhookApi(GenericAPIView):
    serializer_class = WebhookSerializer

    @extend_schema(
        tags=["webhooks"],
        summary="My webhook URL and signing secret",
        responses={200: WebhookSerializer, **error_responses()},
        examples=[OpenApiExample("Webhook", value=_WEBHOOK_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        return Response(self._render(request))

    @extend_schema(
        tags=["webhooks"],
        summary="Set or clear my webhook URL",
        request=WebhookSetSerializer,
        responses={
            200: WebhookSerializer,
            **error_responses(
                e400=["INVALID_INPUT", "WEBHOOK_URL_REFUSED", "WEBHOOK_HOST_UNRESOLVED"]
            ),
        },
        examples=[
            OpenApiExample(
                "Set", value={"url": "https://example.com/hooks/sms"}, request_only=True
            ),
            OpenApiExample("Webhook", value=_WEBHOOK_EXAMPLE, response_only=True),
        ],
    )
    def put(self, request: Request) -> Response:
        body = WebhookSetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook_url_set(user=request.user, url=body.validated_data["url"])
        return Response(self._render(request))

    def _render(self, request: Request) -> dict:
        secret = webhook_secret_get_or_create(user=request.user)
        return WebhookSerializer({"url": request.user.webhook_url, "secret": secret}).data


class WebhookSecretRotateApi(GenericAPIView):
    serializer_class = WebhookSerializer

    @extend_schema(
        tags=["webhooks"],
        summary="Rotate the signing secret (deliveries from now on use the new one)",
        request=None,
        responses={200: WebhookSerializer, **error_responses()},
        examples=[OpenApiExample("Rotated", value=_WEBHOOK_EXAMPLE, response_only=True)],
    )
    def post(self, request: Request) -> Response:
        secret = webhook_secret_rotate(user=request.user)
        return Response(WebhookSerializer({"url": request.user.webhook_url, "secret": secret}).data)


class WebhookDeliveryListApi(GenericAPIView):
    serializer_class = DeliverySerializer

    @extend_schema(
        tags=["webhooks"],
        summary="Webhook delivery log, newest first",
        parameters=[
            OpenApiParameter("status", str, enum=WebhookDelivery.Status.values),
            OpenApiParameter("event", str, enum=WebhookDelivery.Event.values),
            OpenApiParameter("page", int),
            OpenApiParameter("pageSize", int),
        ],
        responses={200: DeliverySerializer(many=True), **error_responses(e400=["INVALID_FILTER"])},
        examples=[
            OpenApiExample(
                "Log",
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "id": 9,
                            "url": "https://example.com/hooks/sms",
                            "event": "activation.sms",
                            "payload": {
                                "activationId": 635468024,
                                "service": "tg",
                                "code": "12345",
                            },
                            "status": "succeeded",
                            "attempts": 1,
                            "lastStatusCode": 200,
                            "lastError": "",
                            "nextAttemptAt": None,
                            "createdAt": "2026-01-01T10:00:00Z",
                            "deliveredAt": "2026-01-01T10:00:01Z",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status", "").strip()
        event = request.query_params.get("event", "").strip()
        if status and status not in WebhookDelivery.Status.values:
            raise BadFilter(extra={"status": WebhookDelivery.Status.values})
        if event and event not in WebhookDelivery.Event.values:
            raise BadFilter(extra={"event": WebhookDelivery.Event.values})
        deliveries = webhook_deliveries_for_user(
            user=request.user, status=status or None, event=event or None
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
