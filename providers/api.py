"""REST API v1: the catalog (countries, services, operators, number types), the market and
quotes. Thin views: parse, call a selector, render."""

from decimal import Decimal

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from providers.models import Country, Operator, Service
from providers.selectors import (
    country_resolve,
    market_list,
    offer_quote,
    service_resolve,
)
from smsbox.api import error_responses
from smsbox.money import format_money

# Card kinds (seed 001's "number types"): every number smsbox sells today is a real SIM.
NUMBER_TYPES = [{"code": "physical", "name": "Physical SIM card"}]

COUNTRY_PARAM = OpenApiParameter(
    "country", str, description="SMS-Activate id, ISO code or English name (any case)."
)
SERVICE_PARAM = OpenApiParameter(
    "service", str, description="Service code or name (any case), e.g. tg or Telegram."
)
OPERATOR_PARAM = OpenApiParameter("operator", str, description="Operator code; empty = any.")


class CountrySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="sms_activate_id", help_text="SMS-Activate country id")
    iso = serializers.CharField()
    name = serializers.CharField(source="name_en")
    nameRu = serializers.CharField(source="name_ru")
    nameZh = serializers.CharField(source="name_zh")
    retry = serializers.BooleanField()
    rent = serializers.BooleanField()


class ServiceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class OperatorSerializer(serializers.Serializer):
    country = serializers.IntegerField(source="country.sms_activate_id")
    code = serializers.CharField()
    name = serializers.CharField()


class NumberTypeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class MarketOfferSerializer(serializers.Serializer):
    offerId = serializers.IntegerField(source="offer.pk")
    service = serializers.CharField(source="offer.service.code")
    serviceName = serializers.CharField(source="offer.service.name")
    country = serializers.IntegerField(source="offer.country.sms_activate_id")
    countryName = serializers.CharField(source="offer.country.name_en")
    operator = serializers.SerializerMethodField()
    price = serializers.SerializerMethodField(help_text="Retail price, two decimals.")
    stock = serializers.IntegerField(source="offer.stock")

    def get_operator(self, market) -> str:
        return market.offer.operator or "any"

    def get_price(self, market) -> str:
        return format_money(market.retail_price)


class QuoteSerializer(serializers.Serializer):
    service = serializers.CharField()
    country = serializers.IntegerField()
    operator = serializers.CharField()
    price = serializers.CharField(allow_null=True, help_text="Cheapest retail price, or null.")
    stock = serializers.IntegerField()
    available = serializers.BooleanField()


class QuoteQuerySerializer(serializers.Serializer):
    service = serializers.CharField(max_length=100)
    country = serializers.CharField(max_length=100)
    operator = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class MarketQuerySerializer(serializers.Serializer):
    service = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)
    operator = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


def _operator(raw: str) -> str:
    raw = (raw or "").strip().lower()
    return "" if raw == "any" else raw


class CountryListApi(APIView):
    @extend_schema(
        tags=["catalog"],
        summary="Countries",
        responses={200: CountrySerializer(many=True), **error_responses()},
        examples=[
            OpenApiExample(
                "USA",
                value=[
                    {
                        "id": 187,
                        "iso": "US",
                        "name": "USA",
                        "nameRu": "США",
                        "nameZh": "美国",
                        "retry": True,
                        "rent": True,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        countries = Country.objects.filter(visible=True).order_by("sms_activate_id")
        return Response(CountrySerializer(countries, many=True).data)


class ServiceListApi(APIView):
    @extend_schema(
        tags=["catalog"],
        summary="Services",
        responses={200: ServiceSerializer(many=True), **error_responses()},
        examples=[
            OpenApiExample(
                "Telegram", value=[{"code": "tg", "name": "Telegram"}], response_only=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        services = Service.objects.filter(visible=True).order_by("name", "code")
        return Response(ServiceSerializer(services, many=True).data)


class OperatorListApi(APIView):
    @extend_schema(
        tags=["catalog"],
        summary="Operators (of one country with ?country=)",
        parameters=[COUNTRY_PARAM],
        responses={200: OperatorSerializer(many=True), **error_responses(e400=["BAD_COUNTRY"])},
        examples=[
            OpenApiExample(
                "Russia", value=[{"country": 0, "code": "mts", "name": "MTS"}], response_only=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        operators = Operator.objects.select_related("country").order_by("country", "code")
        if request.query_params.get("country", "").strip():
            operators = operators.filter(country=country_resolve(request.query_params["country"]))
        return Response(OperatorSerializer(operators, many=True).data)


class NumberTypeListApi(APIView):
    @extend_schema(
        tags=["catalog"],
        summary="Number types (card kinds)",
        responses={200: NumberTypeSerializer(many=True), **error_responses()},
        examples=[OpenApiExample("Types", value=NUMBER_TYPES, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        return Response(NumberTypeSerializer(NUMBER_TYPES, many=True).data)


class MarketApi(GenericAPIView):
    serializer_class = MarketOfferSerializer

    @extend_schema(
        tags=["catalog"],
        summary="Market: in-stock offers, cheapest first",
        parameters=[COUNTRY_PARAM, SERVICE_PARAM, OPERATOR_PARAM],
        responses={
            200: MarketOfferSerializer(many=True),
            **error_responses(e400=["BAD_SERVICE", "BAD_COUNTRY"]),
        },
        examples=[
            OpenApiExample(
                "Telegram in the USA",
                value=[
                    {
                        "offerId": 7,
                        "service": "tg",
                        "serviceName": "Telegram",
                        "country": 187,
                        "countryName": "USA",
                        "operator": "any",
                        "price": "0.65",
                        "stock": 120,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        query = MarketQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        service = service_resolve(data["service"]) if data.get("service") else None
        country = country_resolve(data["country"]) if data.get("country") else None
        market = market_list(service=service, country=country, operator=_operator(data["operator"]))
        page = self.paginate_queryset(market)
        return self.get_paginated_response(MarketOfferSerializer(page, many=True).data)


class QuoteApi(APIView):
    @extend_schema(
        tags=["catalog"],
        summary="Quote: price and availability of a service in a country",
        parameters=[
            OpenApiParameter("service", str, required=True, description=SERVICE_PARAM.description),
            OpenApiParameter("country", str, required=True, description=COUNTRY_PARAM.description),
            OPERATOR_PARAM,
        ],
        responses={200: QuoteSerializer, **error_responses(e400=["BAD_SERVICE", "BAD_COUNTRY"])},
        examples=[
            OpenApiExample(
                "In stock",
                value={
                    "service": "tg",
                    "country": 187,
                    "operator": "any",
                    "price": "0.65",
                    "stock": 120,
                    "available": True,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        query = QuoteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        service = service_resolve(query.validated_data["service"])
        country = country_resolve(query.validated_data["country"])
        operator = _operator(query.validated_data["operator"])
        quote = offer_quote(service=service, country=country, operator=operator)
        price: Decimal | None = quote.retail_price if quote else None
        return Response(
            QuoteSerializer(
                {
                    "service": service.code,
                    "country": country.sms_activate_id,
                    "operator": operator or "any",
                    "price": format_money(price) if price is not None else None,
                    "stock": quote.stock if quote else 0,
                    "available": bool(quote and quote.stock > 0),
                }
            ).data
        )
