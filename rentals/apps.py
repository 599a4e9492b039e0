from django.apps import AppConfig


class RentalsConfig(AppConfig):
    name = "rentals"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from providers.signals import upstream_sms_received
        from rentals import lifecycle, selectors  # noqa: F401  (lifecycle registers a handler)
        from rentals.models import Activation, Rental, SmsMessage
        from rentals.orders_version import on_order_written
        from rentals.rental_selectors import rental_deletion_guard, rentals_frozen_amount
        from rentals.services.intake import on_upstream_sms
        from smsbox.lifecycle import register_deletion_guard
        from wallets.selectors import register_frozen_source

        # Every upstream SMS (simulator, push, polling) reaches activations through this signal.
        upstream_sms_received.connect(on_upstream_sms, dispatch_uid="rentals.on_upstream_sms")
        # Every write of an order or an SMS drops My Numbers' version of the list and, for an
        # activation, its cached copy (rentals.orders_version, rentals.activation_cache).
        for model in (Activation, Rental, SmsMessage):
            for signal in (post_save, post_delete):
                uid = f"orders-version-{model.__name__}-{signal is post_save}"
                signal.connect(on_order_written, sender=model, dispatch_uid=uid)
        register_frozen_source(selectors.activations_frozen_amount)
        register_deletion_guard(selectors.activations_deletion_guard)
        register_deletion_guard(rental_deletion_guard)
        register_frozen_source(rentals_frozen_amount)
        # Failures of the handler protocol and the dialects answer in their own shapes.
        from rentals.dialects import fivesim, smspool
        from rentals.dialects.common import dialect_failure
        from rentals.handler.views import handler_failure
        from smsbox.failures import error_page_register

        error_page_register("/stubs/handler_api", handler_failure)
        error_page_register("/smspool/", dialect_failure(smspool.DIALECT))
        error_page_register("/5sim/", dialect_failure(fivesim.DIALECT))
