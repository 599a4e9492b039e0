from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_delete, post_save

        from providers.models import Country, Offer, Operator, PriceRule, Provider, Service
        from providers.receivers import mark_attempt_on_sms
        from providers.signals import upstream_sms_received
        from providers.snapshot import (
            on_snapshot_source_written,
            snapshot_request_finished,
            snapshot_request_started,
        )

        upstream_sms_received.connect(
            mark_attempt_on_sms, dispatch_uid="providers.mark_attempt_on_sms"
        )
        # The per-process copies of price rules, the catalog and the offers (providers.snapshot).
        for model in (PriceRule, Service, Country, Operator, Provider, Offer):
            for signal in (post_save, post_delete):
                signal.connect(
                    on_snapshot_source_written,
                    sender=model,
                    dispatch_uid=f"snapshot-{model.__name__}-{signal is post_save}",
                )
        request_started.connect(snapshot_request_started, dispatch_uid="snapshot-request-start")
        request_finished.connect(snapshot_request_finished, dispatch_uid="snapshot-request-end")
