"""The part of rentals in an account's deletion (``smsbox.lifecycle``).

A customer who ever bought something keeps their activations and rentals: the ledger refers to
them (``activation`` 42, ``rental`` 7), so the books only balance while those rows exist, and
the account is anonymised rather than deleted. What identifies the person goes:

- deleted: the webhook signing secret, the webhook deliveries (their payloads hold SMS texts and
  phone numbers), the number bans, the spend policy, and every SMS of their activations and
  rentals;
- cleared on every activation and rental: the phone number, the latest code, the per-order
  webhook URL, the client's idempotency key, and the binding key, so that a public record link
  stops working;
- kept: ids, display numbers, services, countries, prices, costs, states and times, which is
  what the ledger entries and the operators' figures refer to.
"""

import secrets
from collections.abc import Iterator

from django.db.models import Exists, Model, OuterRef, QuerySet

from providers.models import PurchaseAttempt
from rentals.activation_cache import activation_cache_drop
from rentals.models import (
    Activation,
    NumberBan,
    Rental,
    SmsMessage,
    SpendPolicy,
    WebhookDelivery,
    WebhookSecret,
)
from smsbox.lifecycle import register_deletion_handler
from smsbox.models import User

# What an erased phone number reads: the live and ended states of both models require a number
# (``activation_live_has_phone``, ``rental_live_has_phone``), so it cannot be empty there.
ERASED_PHONE = "erased"
ERASED_KEY_PREFIX = "erased:"
_BATCH = 500


def rentals_erase_personal_data(user: User) -> None:
    """A deletion handler: runs inside the deletion transaction, with the user row locked."""
    WebhookSecret.objects.filter(user=user).delete()
    WebhookDelivery.objects.filter(user=user).delete()
    NumberBan.objects.filter(user=user).delete()
    SpendPolicy.objects.filter(user=user).delete()
    SmsMessage.objects.filter(activation__user=user).delete()
    SmsMessage.objects.filter(rental__user=user).delete()
    for model in (Activation, Rental):
        orders = model.objects.filter(user=user)
        _forget_upstream_numbers(orders)
        _erase_orders(model, orders)


def _erase_orders(model: type[Activation] | type[Rental], orders: QuerySet) -> None:
    orders.exclude(phone="").update(phone=ERASED_PHONE)
    cleared = {"webhook_url": ""}
    if model is Activation:
        cleared.update(code="", idempotency_key="")
    else:
        cleared.update(idempotency_key=None)
    orders.update(**cleared)
    # Each binding key is unique: a fresh unguessable one per row, so old links find nothing.
    for batch in _batches(orders):
        for order in batch:
            order.binding_key = f"{ERASED_KEY_PREFIX}{secrets.token_urlsafe(24)}"
        model.objects.bulk_update(batch, ["binding_key"])
        if model is Activation:  # updates skip the signals: drop the cached copies here
            activation_cache_drop([order.pk for order in batch])


def _forget_upstream_numbers(orders: QuerySet) -> None:
    """The router's record of each purchase (``PurchaseAttempt``) repeats the number it got."""
    own = orders.filter(provider=OuterRef("provider"), upstream_id=OuterRef("upstream_id"))
    PurchaseAttempt.objects.exclude(upstream_id="").exclude(phone="").filter(Exists(own)).update(
        phone=""
    )


def _batches(orders: QuerySet) -> Iterator[list[Model]]:
    """The rows of ``orders`` (only their keys) in ascending windows of ``_BATCH``."""
    last = 0
    while True:
        batch = list(orders.filter(pk__gt=last).order_by("pk").only("pk", "binding_key")[:_BATCH])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


# Registered when ``RentalsConfig.ready()`` imports this module.
register_deletion_handler(rentals_erase_personal_data)
