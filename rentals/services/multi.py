"""One number for several services (the handler's ``getMultiServiceNumber``): one activation per
service, each with its own price, charge, upstream order, SMS and life, all on the same phone.

The purchase is the saga of ``activation_purchase`` for the whole group:

1. one transaction: lock the customer, check the spend policy, create one activation per service
   in ``processing`` and charge each (one ledger charge per activation, referencing it). A wallet
   that cannot pay for all of them pays for none.
2. outside any transaction: the router buys one number for all the services from the cheapest
   provider that sells them all, failing over to the next.
3. one transaction: every activation gets the number and its own upstream order; when nothing
   was bought, every one is failed and refunded. An unknown outcome leaves them all ``unknown``:
   reconciliation settles each by its own service and country, so each finds its own order on
   the shared number (orders are told apart by their upstream id, never by the phone).

Prices: each activation is charged the retail price of its service at the provider with the
cheapest total. A failover buys only from providers whose price for every service is at most
what was charged for it, so no service is sold below its cost. ``max_price`` caps each
service's price, as getNumber's caps its one activation's.

Once bought, the activations are independent: each is finished, cancelled, expired and
refunded by the transitions of ``rentals.services.activations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction

from providers.adapters import NoNumbers, OutcomeUnknown
from providers.models import Country, Service
from providers.router import (
    RoutedMultiOffer,
    RoutedMultiPurchase,
    multi_routable_offers,
    purchase_route_multi,
)
from rentals.errors import BadMultiService
from rentals.models import Activation
from rentals.services.activations import (
    _fail,
    _give_number,
    _lock,
    _lock_customer,
    _mark_unknown,
    _open,
    _release,
)
from smsbox.errors import ApplicationError
from smsbox.models import User

State = Activation.State
MULTI_SERVICE_MAX = 10


def activations_purchase_multi(
    *,
    user: User,
    services: Sequence[Service],
    country: Country,
    operator: str = "",
    max_price: Decimal | None = None,
    webhook_url: str = "",
) -> list[Activation]:
    """Buy one number for ``services`` (1 to 10 different ones): one activation each, in the
    order given, all with the same phone. A purchase whose upstream outcome is unknown returns
    them in ``unknown`` (no number yet). Raises ``BadMultiService`` (BAD_SERVICE), ``NoNumbers``
    (every charge refunded), ``MaxPriceTooLow``, ``InsufficientFunds`` for the total (nothing
    charged) or a ``SpendLimitExceeded``."""
    services = _distinct(services)
    offers = _quoted(services=services, country=country, operator=operator, max_price=max_price)
    activations, banned = _open_all(
        user=user,
        services=services,
        country=country,
        operator=operator,
        prices=[routed.retail_price for routed in offers[0].offers],
        webhook_url=webhook_url,
    )
    return _buy_all(activations, exclude_phones=banned, offers=offers)


def _distinct(services: Sequence[Service]) -> list[Service]:
    services = list(services)
    if not 1 <= len(services) <= MULTI_SERVICE_MAX:
        raise BadMultiService(extra={"max": MULTI_SERVICE_MAX})
    if len({s.pk for s in services}) != len(services):
        raise BadMultiService("Each service may be named once.")
    return services


def _quoted(
    *, services: list[Service], country: Country, operator: str, max_price: Decimal | None
) -> list[RoutedMultiOffer]:
    """The providers the purchase may buy from, cheapest total first: the first sets the
    prices."""
    offers = multi_routable_offers(
        services=services, country=country, operator=operator, max_price=max_price
    )
    if not offers:
        raise NoNumbers("No provider sells one number for all these services.")
    return offers


def _open_all(
    *,
    user: User,
    services: list[Service],
    country: Country,
    operator: str,
    prices: list[Decimal],
    webhook_url: str,
) -> tuple[list[Activation], list[str]]:
    """Step 1: one transaction around the single purchase's step 1 for each service, so the
    policy sees the activations created before and one refused charge or limit undoes them
    all. Answers the activations and the numbers the customer banned."""
    with transaction.atomic():
        opened = [
            _open(
                user=user,
                service=service,
                country=country,
                operator=operator,
                price=price,
                key="",
                webhook_url=webhook_url,
                replaces=None,
            )
            for service, price in zip(services, prices, strict=True)
        ]
    return [activation for activation, _ in opened], opened[-1][1]


def _buy_all(
    activations: list[Activation], *, exclude_phones: list[str], offers: list[RoutedMultiOffer]
) -> list[Activation]:
    """Steps 2 and 3."""
    first = activations[0]
    try:
        routed = purchase_route_multi(
            services=[a.service for a in activations],
            country=first.country,
            operator=first.operator,
            caps={a.service_id: a.price for a in activations},
            exclude_phones=exclude_phones,
            offers=offers,
        )
    except OutcomeUnknown as exc:
        return _mark_all_unknown(activations, exc)
    except ApplicationError as exc:
        _fail_all(activations, reason=exc.code)
        raise
    except Exception:
        # A bug or a lost connection: refund now if we can; what we cannot settle here stays
        # processing for reconciliation.
        _fail_all(activations, reason="ERROR")
        raise
    return _deliver_all(activations, routed)


def _deliver_all(activations: list[Activation], routed: RoutedMultiPurchase) -> list[Activation]:
    try:
        with transaction.atomic():
            locked = [_lock(a) for a in _by_pk(activations)]
            for row in locked:
                if row.state == State.PROCESSING:
                    order = routed.order_for(row.service_id)
                    _give_number(
                        row,
                        provider=routed.provider,
                        upstream_id=order.upstream_id,
                        phone=routed.phone,
                        cost=order.cost,
                    )
    except IntegrityError:
        # Reconciliation gave one of the orders to a crashed purchase meanwhile. The customer
        # asked for one number for all the services: every activation is refunded.
        _fail_all(activations, reason="NUMBER_TAKEN")
        _release_unheld(routed)
        raise NoNumbers("The number went to another order.") from None
    if any(row.upstream_id != routed.order_for(row.service_id).upstream_id for row in locked):
        _release_unheld(routed)  # some were settled meanwhile: we do not want their orders
    by_pk = {row.pk: row for row in locked}
    return [by_pk[a.pk] for a in activations]


def _mark_all_unknown(activations: list[Activation], exc: OutcomeUnknown) -> list[Activation]:
    with transaction.atomic():
        marked = {a.pk: _mark_unknown(a, exc) for a in _by_pk(activations)}
    return [marked[a.pk] for a in activations]


def _fail_all(activations: list[Activation], *, reason: str) -> None:
    """Nothing (or nothing usable) was bought: each pending activation failed and refunded, in
    one transaction that locks in the purchase's order: the customer, every activation, then
    the wallet. The customer's row first because a transaction that writes one wallet row
    twice has PostgreSQL check the wallet's (deferred) foreign key to its user at commit: that
    would lock the user after the wallet, the reverse of a purchase, and deadlock with one."""
    with transaction.atomic():
        _lock_customer(activations[0].user_id)
        for activation in _by_pk(activations):
            _lock(activation)
        for activation in _by_pk(activations):
            _fail(activation, reason=reason)


def _release_unheld(routed: RoutedMultiPurchase) -> None:
    """Give back upstream the orders of this number that no activation holds."""
    ids = [order.upstream_id for order in routed.orders]
    held = set(
        Activation.objects.filter(provider=routed.provider, upstream_id__in=ids).values_list(
            "upstream_id", flat=True
        )
    )
    for upstream_id in ids:
        if upstream_id not in held:
            _release(routed.provider, upstream_id)


def _by_pk(activations: list[Activation]) -> list[Activation]:
    return sorted(activations, key=lambda a: a.pk)
