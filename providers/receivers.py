"""Receivers the providers app connects to its own signals (wired in ``ProvidersConfig.ready``)."""

from providers.services import purchase_attempt_mark_sms


def mark_attempt_on_sms(sender, *, provider, upstream_id, received_at, **kwargs) -> None:
    """The first SMS of a bought number makes its purchase attempt count as a success."""
    purchase_attempt_mark_sms(provider=provider, upstream_id=upstream_id, received_at=received_at)
