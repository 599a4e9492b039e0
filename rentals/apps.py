from django.apps import AppConfig


class RentalsConfig(AppConfig):
    name = "rentals"

    def ready(self) -> None:
        from providers.signals import upstream_sms_received
        from rentals import lifecycle, selectors  # noqa: F401  (lifecycle registers a handler)
        from rentals.rental_selectors import rental_deletion_guard, rentals_frozen_amount
        from rentals.services.intake import on_upstream_sms
        from smsbox.lifecycle import register_deletion_guard
        from wallets.selectors import register_frozen_source

        # Every upstream SMS (simulator, push, polling) reaches activations through this signal.
        upstream_sms_received.connect(on_upstream_sms, dispatch_uid="rentals.on_upstream_sms")
        register_frozen_source(selectors.activations_frozen_amount)
        register_deletion_guard(selectors.activations_deletion_guard)
        register_deletion_guard(rental_deletion_guard)
        register_frozen_source(rentals_frozen_amount)
