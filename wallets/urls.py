from django.urls import path

from wallets import api, topup_api

urlpatterns = [
    path("wallet/", api.WalletApi.as_view(), name="api-wallet"),
    path("wallet/transactions/", api.TransactionListApi.as_view(), name="api-wallet-transactions"),
    path("wallet/top-ups/", topup_api.TopUpListApi.as_view(), name="api-top-ups"),
    path("wallet/top-ups/<str:top_up_id>/", topup_api.TopUpDetailApi.as_view(), name="api-top-up"),
    path("payment-methods/", topup_api.PaymentMethodListApi.as_view(), name="api-payment-methods"),
]
