"""Dashboard pages of rentals (included at the site root by smsbox.urls)."""

from django.urls import path

from rentals.views import buy, developer, history, numbers, rent

# My Numbers' live list, polled every few seconds while an order is open: smsbox.urls tries it
# before the rest.
polled = [
    path("numbers/live/", numbers.numbers_fragment, name="dashboard-numbers-fragment"),
]

urlpatterns = [
    path("", buy.buy_page, name="home"),
    path("buy/", buy.buy_submit, name="dashboard-buy"),
    path("buy/options/<str:kind>/", buy.buy_options, name="dashboard-buy-options"),
    path("buy/favourite/", buy.favourite_toggle_view, name="dashboard-favourite"),
    path("rent/", rent.rent_page, name="dashboard-rent"),
    path("rent/buy/", rent.rent_submit, name="dashboard-rent-buy"),
    path("numbers/", numbers.numbers_page, name="dashboard-numbers"),
    path(
        "numbers/activations/<int:ident>/<str:action>/",
        numbers.activation_action,
        name="dashboard-activation-action",
    ),
    path(
        "numbers/rentals/<int:ident>/<str:action>/",
        numbers.rental_action,
        name="dashboard-rental-action",
    ),
    path("history/", history.history_page, name="dashboard-history"),
    path(
        "history/activations/<int:ident>/",
        history.activation_detail,
        name="dashboard-activation-detail",
    ),
    path("history/activations/<int:ident>/again/", buy.buy_again, name="dashboard-buy-again"),
    path("history/rentals/<int:ident>/", history.rental_detail, name="dashboard-rental-detail"),
    path("history/rentals/<int:ident>/again/", rent.rent_again, name="dashboard-rent-again"),
    path("developer/", developer.developer_fragment, name="dashboard-developer"),
    path("developer/webhook/", developer.webhook_save, name="dashboard-webhook"),
    path("developer/webhook/rotate/", developer.webhook_rotate, name="dashboard-webhook-rotate"),
    path(
        "developer/webhook/deliveries/<int:delivery_id>/replay/",
        developer.webhook_replay,
        name="dashboard-webhook-replay",
    ),
    path("developer/policy/", developer.policy_save, name="dashboard-policy"),
]
