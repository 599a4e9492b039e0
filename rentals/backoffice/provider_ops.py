"""Provider operations: per provider its state and health, and the owner's actions on it
(test connection, sync offers, disable / enable), each audited."""

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from providers import breaker
from providers.models import Offer, Provider, PurchaseAttempt
from providers.selectors import provider_balance, provider_health
from providers.services import offers_sync, provider_test_connection
from smsbox.audit import audit_record, operator_require
from smsbox.errors import ApplicationError
from smsbox.models import User

WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def provider_rows() -> list[dict[str, Any]]:
    providers = list(Provider.objects.order_by("-enabled", "name"))
    ids = [p.pk for p in providers]
    health = {
        name: {h.provider_id: h for h in provider_health(window=window, provider_ids=ids)}
        for name, window in WINDOWS.items()
    }
    offers = {
        row["provider_id"]: row
        for row in Offer.objects.filter(provider_id__in=ids)
        .values("provider_id")
        .annotate(count=Count("id"), synced=Max("updated_at"))
    }
    return [_row(p, health, offers.get(p.pk, {})) for p in providers]


def _row(provider: Provider, health: dict, offers: dict) -> dict[str, Any]:
    last_error = (
        PurchaseAttempt.objects.filter(provider=provider)
        .exclude(error="")
        .order_by("-created_at")
        .values("error", "created_at")
        .first()
    )
    return {
        "provider": provider,
        "breaker": breaker.breaker_state(provider.pk),
        "balance": provider_balance(provider=provider),
        "last_error": last_error,
        "health": {name: by_id.get(provider.pk) for name, by_id in health.items()},
        "offers": offers.get("count", 0),
        "synced": offers.get("synced"),
    }


def provider_run(*, actor: User, provider: Provider, name: str) -> str:
    """Run one operation on a provider, audited; answers what to tell the operator."""
    operator_require(actor, "smsbox.operate_providers")
    if name == "test":
        balance = provider_test_connection(provider=provider)
        _audit(actor, provider, "provider.test", after={"balance": balance})
        return f"{provider.name}: connection works, balance {balance}."
    if name == "sync":
        result = offers_sync(provider=provider)
        _audit(actor, provider, "provider.sync", after={"upserted": result.upserted})
        return f"{provider.name}: {result.upserted} offers synced, {result.skipped} skipped."
    if name in ("disable", "enable"):
        enabled = name == "enable"
        with transaction.atomic():
            locked = Provider.objects.select_for_update().get(pk=provider.pk)
            before = locked.enabled
            locked.enabled = enabled
            locked.save(update_fields=["enabled", "updated_at"])
            audit_record(
                actor=actor,
                action=f"provider.{name}",
                target=locked,
                before={"enabled": before},
                after={"enabled": enabled},
            )
        return f"{provider.name}: {name}d."
    raise PermissionDenied("No such operation.")


def _audit(actor: User, provider: Provider, action: str, *, after: dict) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action=action, target=provider, after=after)


# --- views ------------------------------------------------------------------------------------
def providers_view(request: HttpRequest) -> HttpResponse:
    from rentals.backoffice.views import page

    if not request.user.has_perm("smsbox.operate_providers"):
        raise PermissionDenied("Provider operations are the owner's.")
    return page(
        request, "admin/backoffice/providers.html", "Provider operations", rows=provider_rows()
    )


@require_POST
def provider_action(request: HttpRequest, provider_id: int, name: str) -> HttpResponse:
    if not request.user.has_perm("smsbox.operate_providers"):
        raise PermissionDenied("Provider operations are the owner's.")
    provider = get_object_or_404(Provider, pk=provider_id)
    try:
        messages.success(request, provider_run(actor=request.user, provider=provider, name=name))
    except ApplicationError as error:
        messages.error(request, f"{provider.name}: {error.message}")
    return redirect("backoffice:providers")
