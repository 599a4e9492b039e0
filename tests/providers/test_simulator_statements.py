"""The simulator buy's hand-written statements on PostgreSQL, one test (or more) each: the
provider's lock with the last sequence in one round trip, and the insert that draws the number
from the pool's first candidates; a buy as a whole, and the same sales as the ORM's."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from providers.adapters import NoNumbers, OutcomeUnknown, Transient, UpstreamRejected, adapter_for
from providers.adapters.simulator import _insert_first_free, _locked_sequence_sql
from providers.models import Country, Service, SimulatedNumber
from tests.database import dsn
from tests.factories import ProviderFactory


@pytest.fixture
def telegram() -> Service:
    """Transactional tests run on a flushed database: the catalog may be empty."""
    return Service.objects.get_or_create(code="tg", defaults={"name": "Telegram"})[0]


@pytest.fixture
def usa() -> Country:
    return Country.objects.get_or_create(
        sms_activate_id=187, defaults={"iso": "US", "name_en": "USA"}
    )[0]


def simulator(**settings):
    return ProviderFactory(settings={"sms_delay": None, **settings})


# --- the provider's lock and the last sequence --------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_lock_answers_the_providers_last_sequence_and_holds_its_row(telegram, usa):
    provider, other = simulator(), simulator()
    for _ in range(3):
        adapter_for(provider).buy(service=telegram, country=usa)
    adapter_for(other).buy(service=telegram, country=usa)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        last = _locked_sequence_sql(provider.pk)
        # another connection cannot take the provider's row meanwhile, but the other's
        with psycopg.connect(dsn()) as elsewhere:
            with pytest.raises(psycopg.errors.LockNotAvailable):
                elsewhere.execute(_NOWAIT, [provider.pk])
            elsewhere.rollback()
            assert elsewhere.execute(_NOWAIT, [other.pk]).fetchone() == (1,)
            # a foreign key's check (a purchase attempt, step 3 of a purchase) does not wait
            assert elsewhere.execute(_KEY_SHARE, [provider.pk]).fetchone() == (1,)
    assert last == 3
    sent = [q["sql"] for q in queries.captured_queries]
    assert sent[0] == "BEGIN" and sent[-1] == "COMMIT" and len(sent) == 3, sent  # one trip
    with transaction.atomic():
        assert _locked_sequence_sql(simulator().pk) == 0  # no sale yet


@pytest.mark.django_db(transaction=True)
def test_a_buy_that_waited_for_the_lock_counts_the_sale_it_waited_for(telegram, usa):
    provider = simulator()
    waited = {}

    def buy_meanwhile() -> None:
        try:
            waited["bought"] = adapter_for(provider).buy(service=telegram, country=usa)
        except Exception as exc:  # reported below
            waited["error"] = exc
        finally:
            connection.close()

    with transaction.atomic():  # the first buy's lock is held until this commits
        first = adapter_for(provider).buy(service=telegram, country=usa)
        meanwhile = threading.Thread(target=buy_meanwhile)
        meanwhile.start()
        _until_a_session_waits_for_a_lock()
    meanwhile.join(30)

    assert "error" not in waited, waited
    sales = SimulatedNumber.objects.filter(provider=provider).order_by("sequence")
    assert [(n.sequence, n.phone) for n in sales] == [
        (1, first.phone),
        (2, waited["bought"].phone),
    ]
    assert first.phone != waited["bought"].phone


@pytest.mark.django_db(transaction=True)
def test_buys_at_once_sell_what_buys_one_after_another_sell(telegram, usa):
    """The sequence decides every draw, and the lock that the sales are drawn in turn: buys at
    once write the same sales as the same buys made one at a time by a twin simulator."""
    at_once, in_turn = simulator(seed=5, pool_size=40), simulator(seed=5, pool_size=40)
    errors, start = [], threading.Barrier(6)

    def buy() -> None:
        try:
            start.wait(30)
            for _ in range(4):
                adapter_for(at_once).buy(service=telegram, country=usa)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for _ in range(24):
        adapter_for(in_turn).buy(service=telegram, country=usa)

    assert errors == []
    assert _sales(at_once) == _sales(in_turn)
    assert len({phone for _, phone, _ in _sales(at_once)}) == 24


# --- the insert that draws the number ---------------------------------------------------------
@pytest.mark.django_db
def test_the_insert_takes_the_first_candidate_no_open_order_of_the_provider_there_holds():
    provider, other = simulator(), simulator()
    candidates = ("10000000001", "10000000002", "10000000003", "10000000004", "10000000005")
    _sale(provider, 1, phone=candidates[0], status="waiting").save()
    _sale(provider, 2, phone=candidates[1], status="received").save()
    _sale(provider, 3, phone=candidates[2], status="finished").save()
    _sale(other, 1, phone=candidates[3]).save()
    _sale(provider, 4, phone=candidates[4], country_id_sa=16).save()

    drawn = []
    for sequence in range(5, 9):  # each drawn number is held by the sale that drew it
        number = _sale(provider, sequence)
        if _insert_first_free(number, candidates):
            drawn.append(number.phone)
    # held by a finished order, by another provider's, in another country: free
    assert drawn == list(candidates[2:])
    assert not SimulatedNumber.objects.filter(provider=provider, sequence=8).exists()


@pytest.mark.django_db
def test_the_insert_writes_every_field_as_the_orm_does():
    provider = simulator()
    fields = dict(
        kind="rent",
        service_code="tg",
        cost=Decimal("0.25"),
        code="ABC123",
        sms_due_at=timezone.now() + timedelta(seconds=30),
        ends_at=timezone.now() + timedelta(hours=4),
        created_at=timezone.now(),
    )
    by_orm = _sale(provider, 1, phone="10000000001", **fields)
    by_orm.save(force_insert=True)
    by_sql = _sale(provider, 2, **fields)
    with CaptureQueriesContext(connection) as queries:
        assert _insert_first_free(by_sql, ("10000000001", "10000000002"))

    assert len(queries) == 1
    assert (by_sql.phone, by_sql._state.adding) == ("10000000002", False)
    stored = SimulatedNumber.objects.get(pk=by_sql.pk)
    assert _columns(stored) == _columns(by_sql) == {**_columns(by_orm), "phone": "10000000002"}
    by_sql.phone = "10000000003"  # as reuse does: the instance saves as any other
    by_sql.save(update_fields=["phone"])
    assert SimulatedNumber.objects.get(pk=by_sql.pk).phone == "10000000003"


# --- a buy as a whole ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_buy_is_one_transaction_of_two_round_trips(telegram, usa):
    provider = simulator()
    adapter_for(provider).buy(service=telegram, country=usa)
    with CaptureQueriesContext(connection) as queries:
        bought = adapter_for(provider).buy(service=telegram, country=usa)

    sent = [q["sql"] for q in queries.captured_queries]
    assert sent[0] == "BEGIN" and sent[-1] == "COMMIT" and len(sent) == 4, sent
    assert "FOR NO KEY UPDATE" in sent[1] and sent[2].startswith("INSERT")
    number = SimulatedNumber.objects.get(pk=int(bought.upstream_id))
    assert (number.sequence, number.phone, number.status) == (2, bought.phone, "waiting")


@pytest.mark.django_db(transaction=True)
def test_a_sale_commits_without_waiting_for_the_disk_and_only_the_sale(telegram, usa, monkeypatch):
    """The simulator stands in for an upstream: its sale's transaction turns
    ``synchronous_commit`` off for itself alone (``SET LOCAL``)."""
    from providers.adapters import simulator as module

    seen, insert = [], module._insert_first_free

    def recording(number, candidates):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        return insert(number, candidates)

    monkeypatch.setattr(module, "_insert_first_free", recording)
    adapter_for(simulator()).buy(service=telegram, country=usa)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        after = cursor.fetchone()[0]
    assert (seen, after) == (["off"], "on")


@pytest.mark.django_db(transaction=True)
def test_the_insert_settles_on_a_generic_plan(telegram, usa):
    """Prepared, with the held statuses written in (as values, they kept PostgreSQL from using
    the partial index of open numbers in a generic plan, so it planned every sale anew): planned
    for the first sales, then one plan kept."""
    provider = simulator(pool_size=10000)
    SimulatedNumber.objects.bulk_create(  # orders of another country: the index pays
        _sale(provider, sequence, country_id_sa=6, phone=f"62{sequence:09d}")
        for sequence in range(10000, 13000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE providers_simulatednumber")
    for _ in range(8):
        adapter_for(provider).buy(service=telegram, country=usa)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'INSERT INTO providers_simulatednumber%%'"
        )
        [(generic, custom)] = cursor.fetchall()
        assert generic >= 1 and custom <= 5, (generic, custom)  # no longer planned each sale


@pytest.mark.django_db
def test_the_statements_sell_what_the_orm_sells(telegram, usa, monkeypatch):
    """Injected failures, an exhausted pool (its first candidates all held) and rents ordered
    again: the same outcomes and the same rows as the ORM, which SQLite takes."""
    settings = {
        "seed": 11,
        "pool_size": 20,
        "fail_no_numbers": 0.1,
        "fail_timeout": 0.1,
        "fail_transient": 0.1,
    }
    by_sql = _sell(simulator(**settings), telegram, usa)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    by_orm = _sell(simulator(**settings), telegram, usa)

    assert by_sql == by_orm
    outcomes = [sale[0] for sale in by_sql]
    assert {"bought", "NoNumbers", "OutcomeUnknown", "Transient", "UpstreamRejected"} <= set(
        outcomes
    )


_NOWAIT = "SELECT 1 FROM providers_provider WHERE id = %s FOR UPDATE NOWAIT"
# What PostgreSQL takes to check a foreign key to the row.
_KEY_SHARE = "SELECT 1 FROM providers_provider WHERE id = %s FOR KEY SHARE NOWAIT"


def _sale(provider, sequence: int, **fields) -> SimulatedNumber:
    defaults = dict(service_code="tg", country_id_sa=187, phone="", cost=Decimal("0.10"))
    return SimulatedNumber(provider=provider, sequence=sequence, **{**defaults, **fields})


def _columns(number: SimulatedNumber) -> dict:
    skipped = {"id", "sequence"}
    return {
        f.attname: getattr(number, f.attname)
        for f in SimulatedNumber._meta.concrete_fields
        if f.attname not in skipped
    }


def _sell(provider, telegram, usa) -> list[tuple]:
    """Fifty rents from a pool of twenty, every third one finished and ordered again later;
    the outcome and the sale of each."""
    adapter, ended, sold = adapter_for(provider), [], []
    for n in range(50):
        try:
            if n % 4 == 3 and ended:
                bought = adapter.rent_again(upstream_id=ended.pop(0), hours=2)
            else:
                bought = adapter.rent(service=telegram, country=usa, hours=2)
            if n % 3 == 0:
                adapter.rent_finish(upstream_id=bought.upstream_id)
                ended.append(bought.upstream_id)
            outcome = "bought"
        except (NoNumbers, OutcomeUnknown, Transient, UpstreamRejected) as exc:
            outcome = type(exc).__name__
        sale = SimulatedNumber.objects.filter(provider=provider).order_by("sequence").last()
        sold.append((outcome, sale.sequence, sale.kind, sale.phone, sale.status, sale.code))
    return sold


def _sales(provider) -> list[tuple]:
    sales = SimulatedNumber.objects.filter(provider=provider).order_by("sequence")
    return list(sales.values_list("sequence", "phone", "code"))


def _until_a_session_waits_for_a_lock() -> None:
    """From a connection of its own: inside a transaction, pg_stat_activity does not change."""
    deadline = time.monotonic() + 30
    with psycopg.connect(dsn(), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second buy never waited for the lock")
