"""The simulator: an upstream with its own number pool per country that needs no network.

It sells every configured service in its countries, answers like a real upstream, and delivers
an SMS with a code after a delay through ``providers.signals.upstream_sms_received`` — the same
path an upstream push takes — from a Celery task scheduled at the delay, and when polled.

Everything it draws comes from ``random.Random(f"{seed}:{sequence}")``, where ``sequence``
counts the buys of the provider, so the same seed gives the same numbers, codes and failures.
Settings on the provider (all optional)::

    seed            0             countries     [0, 6, 16, 187, 43]   (SMS-Activate ids)
    services        every visible catalog service (or a list of codes)
    cost            "0.10"        costs         {"tg": "0.25"}   stock   100
    pool_size       500           balance       "1000.00"
    sms_delay       5             seconds until the SMS; null = never
    code_length     6             code_alphabet "digits" or "alnum"
    sms_text        "Your {service} code is {code}"
    fail_no_numbers 0.0           share of buys answered NoNumbers
    fail_timeout    0.0           share of buys that take effect but raise OutcomeUnknown
    fail_transient  0.0           share of buys answered Transient
    late_sms        0.0           share of numbers whose SMS comes after late_sms_delay
    late_sms_delay  1800

``stock`` is only reported: it is the count every offer shows in the price list (and 0 sells
nothing), but a sale does not count it down, so the simulator never runs out by selling. Use
``fail_no_numbers`` to see a provider run dry.
"""

from __future__ import annotations

import functools
import random
import string
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from providers.adapters.base import (
    ActiveActivation,
    ActiveRent,
    Adapter,
    BoughtMultiNumber,
    BoughtNumber,
    BoughtServiceOrder,
    NoNumbers,
    OfferQuote,
    OutcomeUnknown,
    RentedNumber,
    Transient,
    UpstreamError,
    UpstreamMessage,
    UpstreamRejected,
    UpstreamStatus,
)
from providers.adapters.simulator_settings import DEFAULTS
from smsbox.instances import bound_cursor, insert_values, sql_constants
from smsbox.outbox import task_enqueue

_CALLING_CODES = {0: "7", 1: "380", 2: "7", 6: "62", 16: "44", 43: "49", 187: "1"}
_FAILED = "failed"  # status of a draw that sold nothing (kept so the sequence moves on)
_HELD = ("waiting", "received")  # statuses of the orders that hold their number


_FIRST_CANDIDATES = 16  # pool numbers asked about first when a sale draws its number


@functools.lru_cache(maxsize=64)
def _phone_pool(seed: str, country_id: int, size: int) -> tuple[str, ...]:
    """The simulator's numbers in one country, sorted: drawn once per process (the same seed
    always gives the same pool), not on every sale."""
    rng = random.Random(f"{seed}:pool:{country_id}")
    prefix = _CALLING_CODES.get(country_id, f"99{country_id:03d}")
    pool = {prefix + "".join(rng.choices(string.digits, k=10)) for _ in range(size)}
    return tuple(sorted(pool))


def _sale_status(failure: UpstreamError | None) -> str:
    """A sale stays open unless it definitely failed (an injected timeout did sell)."""
    return _FAILED if failure and not isinstance(failure, OutcomeUnknown) else "waiting"


def _write(number) -> bool:
    """Write the sale ``number``, as failed when no number could be had for it (no phone);
    whether it has one."""
    if not number.phone:
        number.status = _FAILED
    number.save(force_insert=True)
    return bool(number.phone)


class SimulatorAdapter(Adapter):
    protocol = "simulator"
    rents_again = True

    @property
    def conf(self) -> dict[str, Any]:
        return {**DEFAULTS, **(self.provider.settings or {})}

    # --- catalog -------------------------------------------------------------------------
    def _service_codes(self) -> list[str]:
        from providers.models import Service

        if self.conf["services"] is not None:
            return [str(code) for code in self.conf["services"]]
        return list(Service.objects.filter(visible=True).values_list("code", flat=True))

    def _sells(self, service) -> bool:
        """Whether ``service`` (a catalog row) is one of ``_service_codes()``, without reading
        the whole catalog: with no list configured, every visible service is sold."""
        if self.conf["services"] is not None:
            return service.code in self._service_codes()
        return bool(service.visible)

    def _cost(self, service_code: str) -> Decimal:
        return Decimal(str(self.conf["costs"].get(service_code, self.conf["cost"])))

    def fetch_offers(self) -> list[OfferQuote]:
        from providers.models import Country

        countries = Country.objects.filter(sms_activate_id__in=self.conf["countries"])
        stock = int(self.conf["stock"])
        codes = self._service_codes()
        return [
            OfferQuote(
                service_code=code, country_id=c.sms_activate_id, cost=self._cost(code), stock=stock
            )
            for c in countries.order_by("sms_activate_id")
            for code in codes
        ]

    # --- drawing -------------------------------------------------------------------------
    def _pool(self, country_id: int) -> tuple[str, ...]:
        return _phone_pool(str(self.conf["seed"]), country_id, int(self.conf["pool_size"]))

    def _code(self, rng: random.Random) -> str:
        alphabet = (
            string.digits
            if self.conf["code_alphabet"] == "digits"
            else string.ascii_uppercase + string.digits
        )
        return "".join(rng.choices(alphabet, k=int(self.conf["code_length"])))

    def _open(
        self,
        service,
        country,
        *,
        kind: str,
        hours: int | None,
        max_cost: Decimal | None,
        phone: str | None = None,
    ):
        """Draw the next sale under the provider's row lock; returns (number, failure). With
        ``phone`` the sale is of that number, refused (``RENT_DIE``) while another order of the
        provider holds it."""
        from providers.models import SimulatedNumber

        with transaction.atomic():
            sequence = self._locked_sequence() + 1
            draw, start, code, late = self._sale_draw(sequence)
            service_code = service.code if service else "full"
            failure = self._failure(draw, service, country.sms_activate_id, max_cost)
            number = SimulatedNumber(
                provider=self.provider,
                sequence=sequence,
                kind=kind,
                service_code=service_code,
                country_id_sa=country.sms_activate_id,
                phone="",
                cost=self._cost(service_code),
                status=_sale_status(failure),
                code=code,
                sms_due_at=self._due(late < self.conf["late_sms"]),
                ends_at=timezone.now() + timedelta(hours=hours) if hours else None,
            )
            if number.status == _FAILED:  # sold nothing: no number to draw
                number.save(force_insert=True)
            elif phone is None:
                failure = self._write_pooled(number, start) or failure
            else:
                failure = self._write_held(number, phone) or failure
            if number.status == "waiting":
                self._schedule(number)
        return number, failure

    def _write_pooled(self, number, start: float) -> NoNumbers | None:
        """Write the sale ``number`` with the first number of the pool from ``start`` that no
        open order holds; with every number held, as failed, answering NoNumbers. Usually one of
        the first few is free: on PostgreSQL, those are asked about and the sale written in one
        statement."""
        country_id = number.country_id_sa
        if connection.vendor == "postgresql":
            if _insert_first_free(number, self._in_order(country_id, start, _FIRST_CANDIDATES)):
                return None
            number.phone = self._first_free(country_id, self._in_order(country_id, start)) or ""
        else:
            number.phone = self._phone(country_id, start) or ""
        if _write(number):
            return None
        return NoNumbers("The simulator's pool for this country is exhausted.")

    def _write_held(self, number, phone: str) -> UpstreamRejected | None:
        """Write the sale ``number`` of ``phone``; as failed, answering ``RENT_DIE``, while
        another order of the provider holds it."""
        number.phone = self._free(phone) or ""
        if _write(number):
            return None
        return UpstreamRejected("The number is taken.", extra={"token": "RENT_DIE"})

    def _locked_sequence(self) -> int:
        """The sequence number of the provider's last sale, under the provider's row lock (no
        columns read): sales of one simulator are drawn in turn (their sequence, the numbers
        they hold). Inside the caller's transaction."""
        from providers.models import Provider, SimulatedNumber

        if connection.vendor == "postgresql":
            return _locked_sequence_sql(self.provider.pk)
        Provider.objects.select_for_update().filter(pk=self.provider.pk).values_list("pk").first()
        sales = SimulatedNumber.objects.filter(provider=self.provider)
        return sales.aggregate(m=Max("sequence"))["m"] or 0

    def _failure(self, draw: float, service, country_id: int, max_cost: Decimal | None):
        conf = self.conf
        service_code = service.code if service else "full"
        if country_id not in conf["countries"] or int(conf["stock"]) <= 0:
            return NoNumbers("The simulator has no numbers for this country.")
        if service_code != "full" and not self._sells(service):
            return NoNumbers("The simulator does not sell this service.")
        if max_cost is not None and self._cost(service_code) > max_cost:
            return NoNumbers("Nothing within the maximum cost.")
        bounds = (conf["fail_no_numbers"], conf["fail_timeout"], conf["fail_transient"])
        if draw < bounds[0]:
            return NoNumbers("The simulator injected NO_NUMBERS.")
        if draw < bounds[0] + bounds[1]:
            return OutcomeUnknown("The simulator injected a buy timeout.")
        if draw < sum(bounds):
            return Transient("The simulator injected a transient error.")
        return None

    def _phone(self, country_id: int, start: float) -> str | None:
        # Usually one of the first few is free: ask about those only, then about the rest.
        head = self._in_order(country_id, start, _FIRST_CANDIDATES)
        open_numbers = self._open_numbers(country_id)
        busy = set(open_numbers.filter(phone__in=head).values_list("phone", flat=True))
        for phone in head:
            if phone not in busy:
                return phone
        return self._first_free(country_id, self._in_order(country_id, start))

    def _in_order(self, country_id: int, start: float, count: int | None = None) -> tuple[str, ...]:
        """The first ``count`` numbers of the pool (all of them by default) in the order a sale
        drawing ``start`` tries them, without copying the rest of a large pool."""
        pool = self._pool(country_id)
        first = int(start * len(pool))
        count = len(pool) if count is None else min(count, len(pool))
        return pool[first : first + count] + pool[: max(first + count - len(pool), 0)]

    def _first_free(self, country_id: int, in_order: tuple[str, ...]) -> str | None:
        """The first of ``in_order`` no open order holds, reading every open number."""
        busy = set(self._open_numbers(country_id).values_list("phone", flat=True))
        return next((phone for phone in in_order if phone not in busy), None)

    def _open_numbers(self, country_id: int):
        from providers.models import SimulatedNumber

        return SimulatedNumber.objects.filter(
            provider=self.provider, country_id_sa=country_id, status__in=_HELD
        )

    def _free(self, phone: str) -> str | None:
        """``phone`` when no open order of the provider holds it."""
        from providers.models import SimulatedNumber

        held = SimulatedNumber.objects.filter(provider=self.provider, phone=phone, status__in=_HELD)
        return None if held.exists() else phone

    def _due(self, late: bool):
        delay = self.conf["sms_delay"]
        if delay is None:
            return None
        seconds = max(float(delay), float(self.conf["late_sms_delay"])) if late else float(delay)
        return timezone.now() + timedelta(seconds=seconds)

    def _schedule(self, number) -> None:
        if number.sms_due_at is None:
            return
        from providers import tasks

        countdown = max((number.sms_due_at - timezone.now()).total_seconds(), 0)
        transaction.on_commit(  # the outbox when the broker is down (simulator_deliver_due_all
            # catches up anyway)
            lambda: task_enqueue(tasks.simulator_deliver_sms, number.pk, countdown=countdown)
        )

    def _get(self, upstream_id: str, *, kind: str = "activation"):
        from providers.models import SimulatedNumber

        simulator_deliver_due(provider_id=self.provider.pk, upstream_id=upstream_id)
        number = (
            SimulatedNumber.objects.filter(provider=self.provider, kind=kind, pk=_int(upstream_id))
            .exclude(status=_FAILED)
            .first()
        )
        if number is None:
            raise UpstreamRejected("No such activation.", extra={"token": "NO_ACTIVATION"})
        return number

    # --- activations ---------------------------------------------------------------------
    def buy(self, *, service, country, operator="", max_cost=None) -> BoughtNumber:
        number, failure = self._open(
            service, country, kind="activation", hours=None, max_cost=max_cost
        )
        if failure:
            raise failure
        return BoughtNumber(upstream_id=str(number.pk), phone=number.phone, cost=number.cost)

    def status(self, *, upstream_id: str) -> UpstreamStatus:
        number = self._get(upstream_id)
        messages = [_message(m) for m in number.messages]
        state = {
            "waiting": UpstreamStatus.WAITING,
            "received": UpstreamStatus.RECEIVED,
            "cancelled": UpstreamStatus.CANCELLED,
            "finished": UpstreamStatus.FINISHED,
        }[number.status]
        code = messages[-1].code if messages else ""
        return UpstreamStatus(
            state=state, code=code, text=messages[-1].text if messages else "", messages=messages
        )

    def _transition(
        self, upstream_id: str, *, allowed: set[str], to: str, kind: str = "activation"
    ):
        from providers.models import SimulatedNumber

        number = self._get(upstream_id, kind=kind)
        with transaction.atomic():
            number = SimulatedNumber.objects.select_for_update().get(pk=number.pk)
            if number.status == to:
                return number
            if number.status not in allowed:
                raise UpstreamRejected(
                    f"The number is {number.status}.", extra={"token": "BAD_STATUS"}
                )
            number.status = to
            if to == "waiting":
                rng = random.Random(f"{self.conf['seed']}:{number.sequence}:{len(number.messages)}")
                number.code = self._code(rng)
                number.sms_due_at = self._due(False)
                self._schedule(number)
            number.save(update_fields=["status", "code", "sms_due_at"])
        return number

    def request_another_sms(self, *, upstream_id: str) -> None:
        self._transition(upstream_id, allowed={"received"}, to="waiting")

    def cancel(self, *, upstream_id: str) -> None:
        self._transition(upstream_id, allowed={"waiting"}, to="cancelled")

    def finish(self, *, upstream_id: str) -> None:
        self._transition(upstream_id, allowed={"waiting", "received"}, to="finished")

    def active_activations(self) -> list[ActiveActivation]:
        from providers.models import SimulatedNumber

        numbers = SimulatedNumber.objects.filter(
            provider=self.provider, kind="activation", status__in=["waiting", "received"]
        ).order_by("pk")
        return [
            ActiveActivation(
                upstream_id=str(n.pk),
                phone=n.phone,
                service_code=n.service_code,
                country_id=n.country_id_sa,
                started_at=n.created_at,
                cost=n.cost,
            )
            for n in numbers
        ]

    def reuse(self, *, upstream_id: str, country=None) -> BoughtNumber:
        """The same number again for the same service, as a new order with a new code."""
        from providers.models import Country, Service

        old = self._get(upstream_id)
        if old.status != "finished":
            raise UpstreamRejected("Only a finished number can be reused.")
        service = Service.objects.get(code=old.service_code)
        country = Country.objects.get(sms_activate_id=old.country_id_sa)
        number, failure = self._open(service, country, kind="activation", hours=None, max_cost=None)
        if failure and not isinstance(failure, OutcomeUnknown):
            raise failure
        number.phone = old.phone
        number.save(update_fields=["phone"])
        if failure:
            raise failure
        return BoughtNumber(upstream_id=str(number.pk), phone=number.phone, cost=number.cost)

    # --- one number for several services ------------------------------------------------
    multi_service = True

    def buy_multi(self, *, services, country, operator="", max_costs=None) -> BoughtMultiNumber:
        """One free number of the pool, one order per service on it (each its own sale in the
        sequence, with its own code and SMS). Fails as a whole: a service not sold, or above
        its max cost, sells nothing; an injected timeout leaves every order open."""
        numbers, failure = self._open_multi(services, country, max_costs=max_costs or {})
        if failure:
            raise failure
        return BoughtMultiNumber(
            phone=numbers[0].phone,
            orders=tuple(
                BoughtServiceOrder(service_code=n.service_code, upstream_id=str(n.pk), cost=n.cost)
                for n in numbers
            ),
        )

    def _open_multi(self, services, country, *, max_costs):
        """Draw the sales of a multi-service number under the provider's row lock: the first
        sale's draw decides the failure and the number, every sale draws its own code."""
        from providers.models import SimulatedNumber

        country_id = country.sms_activate_id
        with transaction.atomic():
            last = self._locked_sequence()
            draws = [self._sale_draw(last + 1 + i) for i in range(len(services))]
            failure = self._multi_failure(draws[0][0], services, country_id, max_costs)
            sells = failure is None or isinstance(failure, OutcomeUnknown)
            phone = self._phone(country_id, draws[0][1]) if sells else ""
            if phone is None:
                failure = NoNumbers("The simulator's pool for this country is exhausted.")
            status = _sale_status(failure)
            numbers = [
                SimulatedNumber.objects.create(
                    provider=self.provider,
                    sequence=last + 1 + i,
                    kind="activation",
                    service_code=service.code,
                    country_id_sa=country_id,
                    phone=phone or "",
                    cost=self._cost(service.code),
                    status=status,
                    code=code,
                    sms_due_at=self._due(late < self.conf["late_sms"]),
                )
                for i, (service, (_, _, code, late)) in enumerate(zip(services, draws, strict=True))
            ]
            for number in numbers:
                if number.status == "waiting":
                    self._schedule(number)
        return numbers, failure

    def _multi_failure(self, draw: float, services, country_id: int, max_costs):
        """The first service's failure (one not sold, or above its max cost), else the
        injected one of ``draw``, else None."""
        for service in services:
            failure = self._failure(draw, service, country_id, max_costs.get(service.code))
            if failure is not None:
                return failure
        return None

    def _sale_draw(self, sequence: int) -> tuple[float, float, str, float]:
        """(failure draw, number draw, code, late draw) of the ``sequence``-th sale:
        deterministic under the simulator's seed."""
        rng = random.Random(f"{self.conf['seed']}:{sequence}")
        draw, start = rng.random(), rng.random()
        code = self._code(rng)
        return draw, start, code, rng.random()

    # --- long-term rentals ---------------------------------------------------------------
    def rent(self, *, service, country, hours, operator="") -> RentedNumber:
        number, failure = self._open(service, country, kind="rent", hours=hours, max_cost=None)
        if failure:
            raise failure
        return RentedNumber(
            upstream_id=str(number.pk), phone=number.phone, ends_at=number.ends_at, cost=number.cost
        )

    def rent_messages(self, *, upstream_id: str) -> list[UpstreamMessage]:
        return [_message(m) for m in self._get(upstream_id, kind="rent").messages]

    def rent_extend(self, *, upstream_id: str, hours: int) -> RentedNumber:
        from providers.models import SimulatedNumber

        number = self._get(upstream_id, kind="rent")
        with transaction.atomic():
            number = SimulatedNumber.objects.select_for_update().get(pk=number.pk)
            if number.status in ("cancelled", "finished"):
                raise UpstreamRejected("The rent is over.", extra={"token": "RENT_DIE"})
            number.ends_at = max(number.ends_at or timezone.now(), timezone.now()) + timedelta(
                hours=hours
            )
            number.save(update_fields=["ends_at"])
        return RentedNumber(
            upstream_id=str(number.pk), phone=number.phone, ends_at=number.ends_at, cost=number.cost
        )

    def rent_again(self, *, upstream_id: str, hours: int) -> RentedNumber:
        """The number of a finished or cancelled rent again, as a new rent with a new id, for
        the same service and country; ``RENT_DIE`` while another order holds the number. The
        injected failures apply as to ``rent``."""
        from providers.models import Country, Service

        old = self._get(upstream_id, kind="rent")
        if old.status not in ("finished", "cancelled"):
            raise UpstreamRejected("The rent is still running.", extra={"token": "BAD_STATUS"})
        service = Service.objects.filter(code=old.service_code).first()
        country = Country.objects.get(sms_activate_id=old.country_id_sa)
        number, failure = self._open(
            service, country, kind="rent", hours=hours, max_cost=None, phone=old.phone
        )
        if failure:
            raise failure
        return RentedNumber(
            upstream_id=str(number.pk), phone=number.phone, ends_at=number.ends_at, cost=number.cost
        )

    def rent_finish(self, *, upstream_id: str) -> None:
        self._transition(upstream_id, allowed={"waiting", "received"}, to="finished", kind="rent")

    def rent_cancel(self, *, upstream_id: str) -> None:
        self._transition(upstream_id, allowed={"waiting", "received"}, to="cancelled", kind="rent")

    def active_rents(self) -> list[ActiveRent]:
        from providers.models import SimulatedNumber

        numbers = SimulatedNumber.objects.filter(
            provider=self.provider, kind="rent", status__in=["waiting", "received"]
        ).order_by("pk")
        return [
            ActiveRent(
                upstream_id=str(n.pk),
                phone=n.phone,
                service_code=n.service_code,
                country_id=n.country_id_sa,
                started_at=n.created_at,
                cost=n.cost,
            )
            for n in numbers
        ]

    # --- account -------------------------------------------------------------------------
    def balance(self) -> Decimal:
        return Decimal(str(self.conf["balance"]))


def simulator_deliver_due(
    *, provider_id: int | None = None, upstream_id: str | None = None, limit: int = 500
) -> int:
    """Deliver every SMS whose time has come (optionally of one number); returns how many."""
    from providers.models import SimulatedNumber

    due = SimulatedNumber.objects.filter(status="waiting", sms_due_at__lte=timezone.now())
    if provider_id is not None:
        due = due.filter(provider_id=provider_id)
    if upstream_id is not None:
        due = due.filter(pk=_int(upstream_id))
    delivered = 0
    for pk in due.order_by("sms_due_at").values_list("pk", flat=True)[:limit]:
        delivered += simulator_deliver(number_id=pk)
    return delivered


def simulator_deliver(*, number_id: int) -> bool:
    """Deliver the SMS of a number if it is waiting and due; False when there is nothing to do."""
    from providers.models import SimulatedNumber
    from providers.signals import upstream_sms_received

    with transaction.atomic():
        number = (
            SimulatedNumber.objects.select_for_update(of=("self",))
            .select_related("provider")
            .filter(pk=number_id, status="waiting", sms_due_at__lte=timezone.now())
            .first()
        )
        if number is None:
            return False
        adapter = SimulatorAdapter(number.provider)
        service_name = number.service_code
        text = adapter.conf["sms_text"].format(service=service_name, code=number.code)
        received_at = timezone.now()
        message_id = f"{number.pk}-{len(number.messages) + 1}"
        number.messages = [
            *number.messages,
            {
                "id": message_id,
                "text": text,
                "code": number.code,
                "sender": service_name,
                "at": received_at.isoformat(),
            },
        ]
        number.status = "received"
        number.save(update_fields=["messages", "status"])
        upstream_sms_received.send(
            sender=SimulatorAdapter,
            provider=number.provider,
            upstream_id=str(number.pk),
            phone=number.phone,
            sender_name=service_name,
            text=text,
            code=number.code,
            upstream_message_id=message_id,
            received_at=received_at,
        )
    return True


# --- the buy's statements on PostgreSQL ----------------------------------------------------
def _locked_sequence_sql(provider_id: int) -> int:
    """``_locked_sequence`` in one round trip: the lock, then the last sequence, as two
    statements of one query string (with Django's client-side binding, the default, psycopg
    sends it as one simple query; ``server_side_binding`` would refuse it). Not one statement:
    a statement reads with the snapshot taken when it started, so a MAX beside a FOR UPDATE
    that waited for the lock would miss the sale of the transaction it waited for; the second
    statement's snapshot is taken once the lock is held. ``FOR NO KEY UPDATE``, not ``FOR
    UPDATE``: buys still take it in turn, but a foreign key's check of the provider's row (a
    purchase attempt, step 3 of a purchase) does not wait for the buy's commit.

    The sale's commit does not wait for the disk (``synchronous_commit`` off for its
    transaction): the simulator stands in for an upstream, whose answer a crash can lose as
    well. The purchase's next commit (step 3) writes the sale to disk with its own; a sale lost
    before that leaves the purchase processing, for reconciliation to settle."""
    with connection.cursor() as cursor:
        cursor.execute(_lock_and_last_sql(), [provider_id, provider_id])
        cursor.nextset()
        cursor.nextset()
        return cursor.fetchone()[0] or 0


@functools.cache
def _lock_and_last_sql() -> str:
    from providers.models import Provider, SimulatedNumber

    sales = SimulatedNumber._meta
    return (
        "SET LOCAL synchronous_commit TO off; "  # noqa: S608 (constants)
        f"SELECT 1 FROM {Provider._meta.db_table} WHERE {Provider._meta.pk.column} = %s "
        "FOR NO KEY UPDATE; "
        f"SELECT MAX({sales.get_field('sequence').column}) FROM {sales.db_table} "
        f"WHERE {sales.get_field('provider').column} = %s"
    )


def _insert_first_free(number, candidates: tuple[str, ...]) -> bool:
    """Write the sale ``number`` with the first of ``candidates`` that no open order of its
    provider in its country holds, in one statement; False, nothing written, when every one is
    held. Under the provider's row lock, as every sale is drawn."""
    values = insert_values(number, [f for f in _insert_fields() if f.name != "phone"])
    params = [*values, list(candidates), number.provider_id, number.country_id_sa]
    with bound_cursor() as cursor:
        cursor.execute(_insert_first_free_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return False
    number.pk, number.phone = row
    number._state.adding = False
    number._state.db = connection.alias
    return True


@functools.cache
def _insert_fields() -> list:
    """Every column of a sale but its id (fields added later included, with their defaults)."""
    from providers.models import SimulatedNumber

    return [f for f in SimulatedNumber._meta.concrete_fields if not f.primary_key]


@functools.cache
def _insert_first_free_sql() -> str:
    from providers.models import SimulatedNumber

    meta = SimulatedNumber._meta
    table, fields = meta.db_table, _insert_fields()
    provider, country, phone, status = (
        meta.get_field(name).column for name in ("provider", "country_id_sa", "phone", "status")
    )
    values = ", ".join("c.phone" if f.name == "phone" else "%s" for f in fields)
    held = sql_constants(_HELD)
    # A scalar subquery, not NOT EXISTS: PostgreSQL turns NOT EXISTS into an anti-join, which
    # it may run by hashing every open number of the country (1.2 ms at 3 000 open), where
    # this asks the index of open numbers about the candidates in turn until one is free. The
    # statuses written in, not sent as values: the statement is prepared, and only with them in
    # its text can its generic plan use that (partial) index and be kept instead of planning
    # each sale anew.
    return (
        f"INSERT INTO {table} ({', '.join(f.column for f in fields)}) "  # noqa: S608 (constants)
        f"SELECT {values} FROM unnest(%s::text[]) WITH ORDINALITY AS c(phone, n) "
        f"WHERE (SELECT 1 FROM {table} s WHERE s.{provider} = %s "
        f"AND s.{country} = %s AND s.{status} IN ({held}) AND s.{phone} = c.phone LIMIT 1) "
        f"IS NULL ORDER BY c.n LIMIT 1 RETURNING {meta.pk.column}, {phone}"
    )


def _message(raw: dict[str, Any]) -> UpstreamMessage:
    from datetime import datetime

    return UpstreamMessage(
        text=raw["text"],
        code=raw.get("code", ""),
        sender=raw.get("sender", ""),
        received_at=datetime.fromisoformat(raw["at"]) if raw.get("at") else None,
        upstream_message_id=raw.get("id", ""),
    )


def _int(raw: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise UpstreamRejected(
            "No such activation.", extra={"token": "WRONG_ACTIVATION_ID"}
        ) from None
