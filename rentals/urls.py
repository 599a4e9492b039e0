"""URLs of rentals: REST API v1 (under /api/v1/), the public record link and the SMS-Activate
handler protocol (included at the root by smsbox.urls)."""

from django.urls import include, path

from rentals.api import webhooks
from rentals.handler.views import handler_api

api_v1 = [
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
    path("stubs/handler_api.php", handler_api, name="handler-api"),
    path("stubs/handler_api", handler_api),
]
