"""URLs of rentals: REST API v1 (under /api/v1/), the public record link and the SMS-Activate
handler protocol (included at the root by smsbox.urls)."""

from django.urls import include, path

from rentals.api import activations, record, webhooks
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
    path("api/v1/", include(api_v1)),
    path("api/sms/record", record.RecordApi.as_view(), name="api-record"),
    path("stubs/handler_api.php", handler_api, name="handler-api"),
    path("stubs/handler_api", handler_api),
]
