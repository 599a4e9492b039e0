from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"

    def ready(self) -> None:
        from providers.receivers import mark_attempt_on_sms
        from providers.signals import upstream_sms_received

        upstream_sms_received.connect(
            mark_attempt_on_sms, dispatch_uid="providers.mark_attempt_on_sms"
        )
