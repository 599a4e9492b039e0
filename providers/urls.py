from django.urls import path

from providers import api

urlpatterns = [
    path("countries/", api.CountryListApi.as_view(), name="api-countries"),
    path("services/", api.ServiceListApi.as_view(), name="api-services"),
    path("operators/", api.OperatorListApi.as_view(), name="api-operators"),
    path("number-types/", api.NumberTypeListApi.as_view(), name="api-number-types"),
    path("market/", api.MarketApi.as_view(), name="api-market"),
    path("quote/", api.QuoteApi.as_view(), name="api-quote"),
]
