"""OpenAPI links between the REST operations: what a client (and schemathesis' stateful
testing) can do next with the id an answer gives. Added to the generated document by a
drf-spectacular post-processing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``)."""

from typing import Any

_ID = "$response.body#/id"

# (path, method, status) of the answer → {link name: (operationId, {parameter: expression})}
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("/api/v1/activations/", "post", "201"): {
        "GetActivation": ("activations_retrieve", {"ident": _ID}),
        "ActivationMessages": ("activations_messages_list", {"ident": _ID}),
        "ReadyActivation": ("activations_ready", {"ident": _ID}),
        "ResendActivation": ("activations_resend", {"ident": _ID}),
        "CancelActivation": ("activations_cancel", {"ident": _ID}),
        "FinishActivation": ("activations_finish", {"ident": _ID}),
    },
    ("/api/v1/activations/{ident}/", "get", "200"): {
        "CancelActivation": ("activations_cancel", {"ident": _ID}),
        "FinishActivation": ("activations_finish", {"ident": _ID}),
    },
    ("/api/v1/rentals/", "post", "201"): {
        "GetRental": ("rentals_retrieve", {"ident": _ID}),
        "ExtendRental": ("rentals_extend_create", {"ident": _ID}),
        "RentalAutoRenew": ("rentals_auto_renew_create", {"ident": _ID}),
        "RentalMessages": ("rentals_messages_list", {"ident": _ID}),
        "CancelRental": ("rentals_cancel", {"ident": _ID}),
        "FinishRental": ("rentals_finish", {"ident": _ID}),
    },
    ("/api/v1/rentals/{ident}/", "get", "200"): {
        "ExtendRental": ("rentals_extend_create", {"ident": _ID}),
    },
    ("/api/v1/api-keys/", "post", "201"): {
        "RegenerateApiKey": ("api_keys_regenerate_create", {"key_id": _ID}),
        "RevokeApiKey": ("api_keys_destroy", {"key_id": _ID}),
    },
    ("/api/v1/wallet/top-ups/", "post", "201"): {
        "GetTopUp": ("wallet_top_ups_retrieve", {"top_up_id": _ID}),
    },
    ("/api/v1/webhook/", "put", "200"): {
        "GetWebhook": ("webhook_retrieve", {}),
        "WebhookDeliveries": ("webhook_deliveries_list", {}),
        "RotateWebhookSecret": ("webhook_rotate_secret_create", {}),
    },
}


def add_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The post-processing hook: each answer above gets its ``links``."""
    paths = result.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue  # an operation not in this document (e.g. a public subset)
        response["links"] = {
            name: {"operationId": operation, "parameters": parameters}
            for name, (operation, parameters) in links.items()
        }
    return result
