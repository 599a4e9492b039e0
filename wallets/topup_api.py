"""REST API v1: top-ups (create, list, detail) and the payment methods. Thin views over
wallets.topup_services and wallets.topup_selectors."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from smsbox.api import MoneyField, error_responses
from wallets.topup_selectors import payment_methods, topup_get_for_user, topups_for_user
from wallets.topup_services import topup_create


class TopUpCreateSerializer(serializers.Serializer):
    amount = serializers.CharField(help_text='In the installation\'s currency, e.g. "25.00".')
    processor = serializers.CharField(help_text="A processor name from payment-methods.")
    payCurrency = serializers.CharField(help_text="One of that processor's currencies.")


class TopUpSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(
        help_text="created, pending, confirming, paid, partially_paid, overpaid, expired, failed"
    )
    amount = MoneyField()
    currency = serializers.CharField()
    processor = serializers.CharField(source="processor.name")
    payCurrency = serializers.CharField(source="pay_currency")
    paymentUrl = serializers.CharField(source="payment_url")
    amountReceived = MoneyField(source="amount_received")
    amountCredited = MoneyField(source="amount_credited")
    txHashes = serializers.ListField(child=serializers.CharField(), source="tx_hash_list")
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    paidAt = serializers.DateTimeField(source="paid_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")


class PaymentMethodSerializer(serializers.Serializer):
    processor = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()
    currencies = serializers.ListField(child=serializers.CharField())
    min = MoneyField(source="minimum")
    max = MoneyField(source="maximum")
    currency = serializers.CharField()


_TOP_UP = {
    "id": 7,
    "status": "pending",
    "amount": "25.00",
    "currency": "USD",
    "processor": "cryptomus",
    "payCurrency": "USDT",
    "paymentUrl": "https://pay.cryptomus.com/pay/0b6bd2b4-5c9c-4d39-8f8e-4b1a4e0c7d11",
    "amountReceived": "0.00",
    "amountCredited": "0.00",
    "txHashes": [],
    "expiresAt": "2026-01-01T11:00:00Z",
    "paidAt": None,
    "createdAt": "2026-01-01T10:00:00Z",
}
_CREATE_ERRORS = [
    "INVALID_AMOUNT",
    "TOP_UP_AMOUNT_OUT_OF_RANGE",
    "UNKNOWN_PROCESSOR",
    "UNKNOWN_CURRENCY",
]


class TopUpListApi(GenericAPIView):
    serializer_class = TopUpSerializer

    @extend_schema(
        tags=["wallet"],
        summary="Top-ups, newest first",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("pageSize", int)],
        responses={200: TopUpSerializer(many=True), **error_responses()},
        examples=[
            OpenApiExample(
                "Top-ups",
                value={"count": 1, "next": None, "previous": None, "results": [_TOP_UP]},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(topups_for_user(user=request.user))
        return self.get_paginated_response(TopUpSerializer(page, many=True).data)

    @extend_schema(
        tags=["wallet"],
        summary="Top up: an invoice at a payment processor",
        description="Pay at `paymentUrl`; the balance is credited once the processor confirms.",
        request=TopUpCreateSerializer,
        responses={
            201: TopUpSerializer,
            **error_responses(e400=_CREATE_ERRORS, e502=["PAYMENT_PROCESSOR_REFUSED"]),
        },
        examples=[
            OpenApiExample(
                "Top up",
                value={"amount": "25.00", "processor": "cryptomus", "payCurrency": "USDT"},
                request_only=True,
            ),
            OpenApiExample("Created", value=_TOP_UP, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        data = TopUpCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        top_up = topup_create(
            user=request.user,
            amount=data.validated_data["amount"],
            processor_name=data.validated_data["processor"],
            pay_currency=data.validated_data["payCurrency"],
            base_url=request.build_absolute_uri("/"),
        )
        return Response(TopUpSerializer(top_up).data, status=201)


class TopUpDetailApi(GenericAPIView):
    serializer_class = TopUpSerializer

    @extend_schema(
        tags=["wallet"],
        summary="One top-up",
        responses={200: TopUpSerializer, **error_responses(e404=["TOP_UP_NOT_FOUND"])},
        examples=[OpenApiExample("Top-up", value=_TOP_UP, response_only=True)],
    )
    def get(self, request: Request, top_up_id: str) -> Response:
        top_up = topup_get_for_user(user=request.user, top_up_id=top_up_id)
        return Response(TopUpSerializer(top_up).data)


class PaymentMethodListApi(GenericAPIView):
    serializer_class = PaymentMethodSerializer
    pagination_class = None

    @extend_schema(
        tags=["wallet"],
        summary="Payment methods: enabled processors, their currencies and the limits",
        responses={200: PaymentMethodSerializer(many=True), **error_responses()},
        examples=[
            OpenApiExample(
                "Methods",
                value=[
                    {
                        "processor": "cryptomus",
                        "kind": "cryptomus",
                        "label": "Cryptomus",
                        "currencies": ["USDT", "BTC"],
                        "min": "1.00",
                        "max": "5000.00",
                        "currency": "USD",
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response(PaymentMethodSerializer(payment_methods(), many=True).data)
