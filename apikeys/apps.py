from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from apikeys import schema, signals  # noqa: F401  (schema registers itself with OpenAPI)
        from apikeys.lifecycle import api_keys_erase_for_user
        from smsbox.lifecycle import register_deletion_handler

        signals.connect()
        # A deleted (or anonymised) account keeps no API key, live or revoked.
        register_deletion_handler(api_keys_erase_for_user)
