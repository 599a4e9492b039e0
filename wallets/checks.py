"""Start-up checks of wallets."""

from django.core.checks import Error, Tags, register
from django.db import DatabaseError


@register(Tags.database)
def sandbox_processor_refused(
    app_configs: object = None, databases: object = None, **kwargs: object
) -> list[Error]:
    """An enabled sandbox processor (it credits without real money) is refused in production
    unless SMSBOX_SANDBOX_PAYMENTS says it is wanted."""
    from wallets.models import PaymentProcessor
    from wallets.processors import sandbox_allowed

    if sandbox_allowed() or not databases:
        return []
    try:
        enabled = list(
            PaymentProcessor.objects.filter(kind="sandbox", enabled=True).values_list(
                "name", flat=True
            )
        )
    except DatabaseError:  # not migrated yet
        return []
    if not enabled:
        return []
    return [
        Error(
            f"Sandbox payment processor(s) {', '.join(enabled)} enabled while DEBUG is off.",
            hint="Disable them, or set SMSBOX_SANDBOX_PAYMENTS=true for a demo installation.",
            id="wallets.E001",
        )
    ]
