"""Pages of wallets: the top-up dashboard, processor callbacks and the sandbox's payment page
(included at the root by smsbox.urls)."""

from django.urls import path

from wallets.views import payments, topups

urlpatterns = [
    path("wallet/top-up/", topups.topup_new, name="topup-new"),
    path("wallet/top-ups/", topups.topup_list, name="topup-list"),
    path("wallet/top-ups/<int:top_up_id>/", topups.topup_detail, name="topup-detail"),
    path("payments/<slug:name>/callback", payments.payment_callback, name="payments-callback"),
    path("payments/sandbox/<str:ref>/", payments.sandbox_page, name="payments-sandbox-page"),
    path(
        "payments/sandbox/<str:ref>/<str:action>/",
        payments.sandbox_action,
        name="payments-sandbox-action",
    ),
]
