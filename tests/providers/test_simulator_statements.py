"""The simulator buy's hand-written statements on PostgreSQL, one test (or more) each: the
provider's lock with the last sequence in one round trip."""

import threading
import time

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from providers.adapters import adapter_for
from providers.adapters.simulator import _locked_sequence_sql
from providers.models import Country, Service, SimulatedNumber
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
        with psycopg.connect(_dsn()) as elsewhere:
            with pytest.raises(psycopg.errors.LockNotAvailable):
                elsewhere.execute(_NOWAIT, [provider.pk])
            elsewhere.rollback()
            assert elsewhere.execute(_NOWAIT, [other.pk]).fetchone() == (1,)
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


_NOWAIT = "SELECT 1 FROM providers_provider WHERE id = %s FOR UPDATE NOWAIT"


def _sales(provider) -> list[tuple]:
    sales = SimulatedNumber.objects.filter(provider=provider).order_by("sequence")
    return list(sales.values_list("sequence", "phone", "code"))


def _until_a_session_waits_for_a_lock() -> None:
    """From a connection of its own: inside a transaction, pg_stat_activity does not change."""
    deadline = time.monotonic() + 30
    with psycopg.connect(_dsn(), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second buy never waited for the lock")


def _dsn() -> str:
    conf = connection.settings_dict
    password = f" password={conf['PASSWORD']}" if conf["PASSWORD"] else ""
    return f"host={conf['HOST']} port={conf['PORT']} user={conf['USER']} dbname={conf['NAME']}" + (
        password
    )
