"""REST API v1: long-term rentals — plans and quotes, purchase, list, one, extend (an ended
rental: its number ordered again as a new rental), auto-renew, cancel, finish and messages. Thin
views over ``rentals.services`` and ``rental_selectors``."""

from typing import Any

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
from rentals import rental_selectors
from rentals.api.activations import MessageSerializer, message_data, record_url
from rentals.models import Rental
from rentals.services import rental_reorder
from rentals.services import rentals as rental_services
from smsbox.api import MoneyField, StrictIntegerField, error_responses
from smsbox.errors import InvalidInput
from smsbox.money import format_money


def rental_data(rental: Rental) -> dict[str, Any]:
    return {
        "id": rental.pk,
        "displayNumber": rental.display_number,
        "country": rental.country.sms_activate_id,
        "countryName": rental.country.name_en,
        "service": rental.service.code if rental.service_id else None,
        "operator": rental.operator or "any",
        "phone": rental.phone or None,
        "state": rental.state,
        "price": format_money(rental.price),
        "hours": rental.hours,
        "package": rental.package or None,
        "autoRenew": rental.auto_renew,
        "createdAt": rental.created_at,
        "startedAt": rental.started_at,
        "expiresAt": rental.expires_at,
        "apiBindingKey": rental.binding_key,
        "recordUrl": record_url(rental),
    }


class RentalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    displayNumber = serializers.CharField()
    country = serializers.IntegerField()
    countryName = serializers.CharField()
    service = serializers.CharField(allow_null=True, help_text="null: any service")
    operator = serializers.CharField()
    phone = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=Rental.State.values)
    price = MoneyField()
    hours = serializers.IntegerField(allow_null=True)
    package = serializers.CharField(allow_null=True)
    autoRenew = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    expiresAt = serializers.DateTimeField()
    apiBindingKey = serializers.CharField()
    recordUrl = serializers.CharField()


class PlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    country = serializers.IntegerField(source="country.sms_activate_id")
    service = serializers.CharField(source="service.code", allow_null=True, default=None)
    unit = serializers.CharField()
    length = serializers.IntegerField(allow_null=True)
    package = serializers.CharField()
    price = MoneyField()


class DurationSerializer(serializers.Serializer):
    hours = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=100000)
    days = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=30,
        help_text="1-30: the same as hours = 24 * days",
    )
    rentDays = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=30, help_text="The same as days."
    )
    package = serializers.CharField(
        required=False, allow_blank=True, max_length=4, help_text="1m, 3m, 6m or 1y"
    )

    def duration(self) -> dict[str, Any]:
        data = self.validated_data
        hours = data.get("hours")
        if data.get("days") and data.get("rentDays"):
            raise InvalidInput("Give days or rentDays, not both.")
        days = data.get("days") or data.get("rentDays")
        if days:
            if hours:
                raise InvalidInput("Give hours or days, not both.")
            hours = days * 24
        return {"hours": hours, "package": data.get("package") or None}


class RentalPurchaseSerializer(DurationSerializer):
    country = serializers.CharField(max_length=100)
    service = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="Empty: any service"
    )
    operator = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    autoRenew = serializers.BooleanField(required=False, default=True)
    webhookUrl = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    orderId = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class AutoRenewSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


class QuoteResultSerializer(serializers.Serializer):
    country = serializers.IntegerField()
    service = serializers.CharField(allow_null=True)
    hours = serializers.IntegerField()
    package = serializers.CharField(allow_null=True)
    price = MoneyField()
    rule = serializers.CharField(help_text="exact (a plan) or pro_rata (from the nearest plan)")


_RENTAL_EXAMPLE = {
    "id": 1049, "displayNumber": "R2611221045AB3C", "country": 16, "countryName": "United Kingdom",
    "service": None, "operator": "any", "phone": "447700900123", "state": "active",
    "price": "19.90", "hours": None, "package": "1m", "autoRenew": True,
    "createdAt": "2026-11-22T10:45:00Z", "startedAt": "2026-11-22T10:45:01Z",
    "expiresAt": "2026-12-22T10:45:01Z", "apiBindingKey": "rk_9d…",
    "recordUrl": "https://smsbox.example/api/sms/record?key=rk_9d…",
}  # fmt: skip
ID_PARAM = OpenApiParameter(
    "ident", str, OpenApiParameter.PATH, description="Numeric id or display number."
)
_RENTAL_ERRORS_404 = ["NO_ID_RENT"]


def _service(raw: str):
    return service_resolve(raw) if (raw or "").strip() else None


class RentalPlanListApi(GenericAPIView):
    serializer_class = PlanSerializer

    @extend_schema(
        tags=["rentals"],
        summary="Rental plans (prices per duration)",
        parameters=[OpenApiParameter("country", str), OpenApiParameter("service", str)],
        responses={
            200: PlanSerializer(many=True),
            **error_responses(e400=["BAD_COUNTRY", "BAD_SERVICE"]),
        },
        examples=[
            OpenApiExample(
                "Plans",
                value=[
                    {
                        "id": 1,
                        "country": 16,
                        "service": None,
                        "unit": "package",
                        "length": None,
                        "package": "1m",
                        "price": "19.90",
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        country = country_resolve(params["country"]) if params.get("country", "").strip() else None
        plans = rental_selectors.rental_plans(
            country=country, service=_service(params.get("service", ""))
        )
        return Response(PlanSerializer(plans, many=True).data)


class RentalQuoteApi(GenericAPIView):
    serializer_class = QuoteResultSerializer

    @extend_schema(
        tags=["rentals"],
        summary="Price of a rental for a duration",
        parameters=[
            OpenApiParameter("country", str, required=True),
            OpenApiParameter("service", str),
            OpenApiParameter("hours", int),
            OpenApiParameter("days", int),
            OpenApiParameter("package", str),
        ],
        responses={
            200: QuoteResultSerializer,
            **error_responses(
                e400=[
                    "BAD_COUNTRY",
                    "BAD_SERVICE",
                    "INVALID_TIME",
                    "MAX_HOURS_EXCEED",
                    "INVALID_PACKAGE",
                ],
                e409=["NO_NUMBERS"],
            ),
        },
        examples=[
            OpenApiExample(
                "Quote",
                value={
                    "country": 16,
                    "service": None,
                    "hours": 720,
                    "package": "1m",
                    "price": "19.90",
                    "rule": "exact",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        body = DurationSerializer(data=request.query_params)
        body.is_valid(raise_exception=True)
        country = country_resolve(request.query_params.get("country", ""))
        quote = rental_selectors.rental_quote(
            country=country,
            service=_service(request.query_params.get("service", "")),
            **body.duration(),
        )
        return Response(
            {
                "country": country.sms_activate_id,
                "service": quote.service.code if quote.service else None,
                "hours": quote.hours,
                "package": quote.package or None,
                "price": format_money(quote.price),
                "rule": quote.rule,
            }
        )


class RentalListApi(GenericAPIView):
    serializer_class = RentalSerializer

    @extend_schema(
        tags=["rentals"],
        summary="My rentals, newest first",
        parameters=[
            OpenApiParameter("state", str, enum=Rental.State.values),
            OpenApiParameter("page", int),
            OpenApiParameter("pageSize", int),
        ],
        responses={200: RentalSerializer(many=True), **error_responses(e400=["INVALID_FILTER"])},
        examples=[
            OpenApiExample(
                "Page",
                value={"count": 1, "next": None, "previous": None, "results": [_RENTAL_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        state = request.query_params.get("state", "").strip()
        if state and state not in Rental.State.values:
            raise InvalidInput("Unknown state.", extra={"states": Rental.State.values})
        rentals = rental_selectors.rentals_for_user(user=request.user, state=state or None)
        page = self.paginate_queryset(rentals)
        return self.get_paginated_response([rental_data(r) for r in page])

    @extend_schema(
        tags=["rentals"],
        summary="Rent a number (idempotent with Idempotency-Key or orderId)",
        request=RentalPurchaseSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={
            201: RentalSerializer,
            202: OpenApiResponse(
                RentalSerializer,
                description="Charged, but the upstream has not answered yet: the rental is "
                "processing. Poll it; it becomes active with its number or is refunded.",
            ),
            **error_responses(
                e400=[
                    "INVALID_INPUT",
                    "BAD_COUNTRY",
                    "BAD_SERVICE",
                    "INVALID_TIME",
                    "MAX_HOURS_EXCEED",
                ],
                e402=["NO_BALANCE"],
                e409=["NO_NUMBERS"],
            ),
        },
        examples=[
            OpenApiExample(
                "One month in the UK", value={"country": "GB", "package": "1m"}, request_only=True
            ),
            OpenApiExample(
                "Rented", value=_RENTAL_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        body = RentalPurchaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        key = request.headers.get("Idempotency-Key", "").strip() or data["orderId"]
        operator = data["operator"].strip().lower()
        rental = rental_services.rental_purchase(
            user=request.user,
            country=country_resolve(data["country"]),
            service=_service(data.get("service", "")),
            auto_renew=data["autoRenew"],
            webhook_url=data["webhookUrl"],
            idempotency_key=key[:100] or None,
            operator="" if operator == "any" else operator,
            **body.duration(),
        )
        # An upstream answer not known yet: accepted, pollable.
        pending = rental.state in (Rental.State.PROCESSING, Rental.State.UNKNOWN)
        return Response(rental_data(rental), status=202 if pending else 201)


class RentalDetailApi(GenericAPIView):
    serializer_class = RentalSerializer

    @extend_schema(
        tags=["rentals"],
        summary="One rental, by id or display number",
        parameters=[ID_PARAM],
        responses={200: RentalSerializer, **error_responses(e404=_RENTAL_ERRORS_404)},
        examples=[OpenApiExample("Active", value=_RENTAL_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, ident: str) -> Response:
        return Response(
            rental_data(rental_selectors.rental_get_for_user(user=request.user, ident=ident))
        )


class RentalExtendApi(GenericAPIView):
    serializer_class = RentalSerializer

    @extend_schema(
        tags=["rentals"],
        summary="Extend (charged at the plan price); an ended rental: its number again",
        description=(
            "Extends a running rental. Once a rental has ended (finished, expired, cancelled) its "
            "number is ordered again from the same upstream as a new rental, charged as a "
            "purchase of the duration, and the new rental is answered (another id). RENT_DIE "
            "when the number cannot be had again (the price is refunded)."
        ),
        parameters=[ID_PARAM],
        request=DurationSerializer,
        responses={
            200: RentalSerializer,
            **error_responses(
                e404=_RENTAL_ERRORS_404,
                e402=["NO_BALANCE"],
                e400=["INVALID_TIME", "MAX_HOURS_EXCEED"],
                e409=["RENT_DIE", "RENTAL_BUSY"],
            ),
        },
        examples=[
            OpenApiExample("Seven days", value={"days": 7}, request_only=True),
            OpenApiExample("Extended", value=_RENTAL_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request: Request, ident: str) -> Response:
        rental = rental_selectors.rental_get_for_user(user=request.user, ident=ident)
        body = DurationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rental = rental_reorder.rental_continue(rental=rental, **body.duration())
        return Response(rental_data(_fresh(request, rental)))


class RentalAutoRenewApi(GenericAPIView):
    serializer_class = RentalSerializer

    @extend_schema(
        tags=["rentals"],
        summary="Turn auto-renew on or off",
        parameters=[ID_PARAM],
        request=AutoRenewSerializer,
        responses={
            200: RentalSerializer,
            **error_responses(e404=_RENTAL_ERRORS_404, e409=["RENT_DIE"]),
        },
        examples=[
            OpenApiExample("Off", value={"enabled": False}, request_only=True),
            OpenApiExample("Updated", value=_RENTAL_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request: Request, ident: str) -> Response:
        rental = rental_selectors.rental_get_for_user(user=request.user, ident=ident)
        body = AutoRenewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rental_services.rental_set_auto_renew(rental=rental, enabled=body.validated_data["enabled"])
        return Response(rental_data(_fresh(request, rental)))


def _fresh(request: Request, rental: Rental) -> Rental:
    return rental_selectors.rental_get_for_user(user=request.user, ident=rental.pk)


def _ending_view(name: str, summary: str, codes: list[str]):
    def post(self, request: Request, ident: str) -> Response:
        rental = rental_selectors.rental_get_for_user(user=request.user, ident=ident)
        getattr(rental_services, f"rental_{name}")(rental=rental)
        return Response(rental_data(_fresh(request, rental)))

    post = extend_schema(
        tags=["rentals"],
        summary=summary,
        operation_id=f"rentals_{name}",
        request=None,
        parameters=[ID_PARAM],
        responses={200: RentalSerializer, **error_responses(e404=_RENTAL_ERRORS_404, e409=codes)},
        examples=[
            OpenApiExample(
                "Ended",
                value={
                    **_RENTAL_EXAMPLE,
                    "state": f"{name}ed" if name == "finish" else "cancelled",
                },
                response_only=True,
            )
        ],
    )(post)
    return type(
        f"Rental{name.capitalize()}Api",
        (GenericAPIView,),
        {"post": post, "serializer_class": RentalSerializer},
    ).as_view()


class RentalMessagesApi(GenericAPIView):
    serializer_class = MessageSerializer

    @extend_schema(
        tags=["rentals"],
        summary="Messages of one rental, oldest first",
        parameters=[ID_PARAM, OpenApiParameter("page", int), OpenApiParameter("pageSize", int)],
        responses={200: MessageSerializer(many=True), **error_responses(e404=_RENTAL_ERRORS_404)},
        examples=[
            OpenApiExample(
                "Messages",
                value={"count": 0, "next": None, "previous": None, "results": []},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, ident: str) -> Response:
        rental = rental_selectors.rental_get_for_user(user=request.user, ident=ident)
        page = self.paginate_queryset(rental_selectors.rental_messages(rental=rental))
        return self.get_paginated_response([message_data(m) for m in page])


rental_cancel_view = _ending_view(
    "cancel",
    "Cancel with a full refund (first minutes, before any SMS)",
    ["CANT_CANCEL", "ALREADY_CANCEL", "ALREADY_FINISH", "STATUS_REVOKE", "RENTAL_NOT_ACTIVE"],
)
rental_finish_view = _ending_view(
    "finish",
    "Finish: release the number now (nothing refunded)",
    ["ALREADY_CANCEL", "ALREADY_FINISH", "STATUS_REVOKE", "RENTAL_NOT_ACTIVE"],
)
