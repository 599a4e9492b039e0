"""URLs of rentals: REST API v1 (under /api/v1/), the public record link and the SMS-Activate
handler protocol (included at the root by smsbox.urls)."""

from django.urls import include, path

from rentals.api import activations, record, rentals, webhooks
from rentals.handler.views import handler_api

api_v1 = [
    path("activations/", activations.ActivationListApi.as_view(), name="api-activations"),
    path(
        "activations/batch/",
        activations.ActivationBatchApi.as_view(),
        name="api-activations-batch",
    ),
    path(
        "activations/<str:ident>/",
        activations.ActivationDetailApi.as_view(),
        name="api-activation",
    ),
    path(
        "activations/<str:ident>/messages/",
        activations.ActivationMessagesApi.as_view(),
        name="api-activation-messages",
    ),
    *[
        path(f"activations/<str:ident>/{name}/", activations.action_view(name))
        for name in activations.ACTIONS
    ],
    path("messages/", activations.MessageListApi.as_view(), name="api-messages"),
    path("rental-plans/", rentals.RentalPlanListApi.as_view(), name="api-rental-plans"),
    path("rental-plans/quote/", rentals.RentalQuoteApi.as_view(), name="api-rental-quote"),
    path("rentals/", rentals.RentalListApi.as_view(), name="api-rentals"),
    path("rentals/<str:ident>/", rentals.RentalDetailApi.as_view(), name="api-rental"),
    path("rentals/<str:ident>/extend/", rentals.RentalExtendApi.as_view()),
    path("rentals/<str:ident>/auto-renew/", rentals.RentalAutoRenewApi.as_view()),
    path("rentals/<str:ident>/cancel/", rentals.rental_cancel_view),
    path("rentals/<str:ident>/finish/", rentals.rental_finish_view),
    path("rentals/<str:ident>/messages/", rentals.RentalMessagesApi.as_view()),
    path("tokens/export/", activations.TokenExportApi.as_view(), name="api-tokens-export"),
    path("tokens/query/", activations.TokenQueryApi.as_view(), name="api-tokens-query"),
    path("webhook/", webhooks.WebhookApi.as_view(), name="api-webhook"),
    path(
        "webhook/rotate-secret/",
        webhooks.WebhookSecretRotateApi.as_view(),
        name="api-webhook-rotate-secret",
    ),
    path(
        "webhook/deliveries/",
        webhooks.WebhookDeliveryListApi.as_view(),
        name="api-webhook-deliveries",
    ),
]

urlpatterns = [
    path("stubs/handler_api.php", handler_api, name="handler-api"),  # polled: tried first
    path("stubs/handler_api", handler_api),
    path("api/v1/", include(api_v1)),
    path("api/sms/record", record.RecordApi.as_view(), name="api-record"),
    path("", include("rentals.dialects.urls")),  # SMSPool and 5sim client dialects
]
