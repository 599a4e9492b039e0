from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from apikeys import schema, signals  # noqa: F401  (schema registers itself with OpenAPI)

        signals.connect()
