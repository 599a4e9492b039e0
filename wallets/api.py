"""REST API v1: the customer's wallet summary and ledger. Thin views over wallets.selectors."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from smsbox.api import MoneyField, error_responses
from smsbox.errors import InvalidInput
from wallets.models import LedgerEntry
from wallets.selectors import ledger_entries, wallet_for_user, wallet_summary


class WalletSummarySerializer(serializers.Serializer):
    balance = MoneyField()
    frozenAmount = MoneyField(source="frozen_amount")
    totalRecharge = MoneyField(source="total_recharge")
    totalConsume = MoneyField(source="total_consume")
    currency = serializers.CharField()


class TransactionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = MoneyField(help_text="Signed: negative for money spent.")
    balanceAfter = MoneyField(source="balance_after")
    referenceKind = serializers.CharField(source="reference_kind")
    referenceId = serializers.CharField(source="reference_id")
    memo = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


class UnknownKind(InvalidInput):
    code = "INVALID_KIND"
    message = "Unknown transaction kind."


class WalletApi(GenericAPIView):
    serializer_class = WalletSummarySerializer

    @extend_schema(
        tags=["wallet"],
        summary="Wallet summary",
        responses={200: WalletSummarySerializer, **error_responses()},
        examples=[
            OpenApiExample(
                "Summary",
                value={
                    "balance": "12.50",
                    "frozenAmount": "1.30",
                    "totalRecharge": "50.00",
                    "totalConsume": "37.50",
                    "currency": "USD",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        summary = wallet_summary(wallet=wallet_for_user(user=request.user))
        data = {**summary.__dict__, "currency": settings.SMSBOX_CURRENCY}
        return Response(WalletSummarySerializer(data).data)


class TransactionListApi(GenericAPIView):
    serializer_class = TransactionSerializer

    @extend_schema(
        tags=["wallet"],
        summary="Wallet transactions, newest first",
        parameters=[
            OpenApiParameter(
                "kind", str, enum=LedgerEntry.Kind.values, description="Only this kind."
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("pageSize", int),
        ],
        responses={200: TransactionSerializer(many=True), **error_responses(e400=["INVALID_KIND"])},
        examples=[
            OpenApiExample(
                "Deposit",
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "id": 3,
                            "kind": "deposit",
                            "amount": "50.00",
                            "balanceAfter": "50.00",
                            "referenceKind": "deposit",
                            "referenceId": "tx-1",
                            "memo": "",
                            "createdAt": "2026-01-01T10:00:00Z",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind", "").strip()
        if kind and kind not in LedgerEntry.Kind.values:
            raise UnknownKind(extra={"kinds": LedgerEntry.Kind.values})
        wallet = wallet_for_user(user=request.user)
        entries = (
            ledger_entries(wallet=wallet, kind=kind or None).order_by("-created_at", "-id")
            if wallet is not None
            else LedgerEntry.objects.none()
        )
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(TransactionSerializer(page, many=True).data)
