"""Dashboard pages of wallets (included at the site root by smsbox.urls)."""

from django.urls import path

from wallets.views import balance

urlpatterns = [
    path("balance/", balance.balance_page, name="dashboard-balance"),
]
