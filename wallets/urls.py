from django.urls import path

from wallets import api

urlpatterns = [
    path("wallet/", api.WalletApi.as_view(), name="api-wallet"),
    path("wallet/transactions/", api.TransactionListApi.as_view(), name="api-wallet-transactions"),
]
