"""The rental sweeps on several workers: a rental another worker holds is skipped, not waited
for; two polling workers never ask about one rental at once; failures reach the job history."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction

from providers.adapters import UpstreamRejected
from providers.adapters.simulator import SimulatorAdapter
from providers.models import SimulatedNumber
from rentals import tasks
from rentals.models import Rental
from rentals.services import rental_endings
from rentals.services import rentals as rental_services
from rentals.services.rentals import (
    rental_purchase,
    rental_renew,
    rentals_expire_due,
    rentals_poll,
)
from smsbox.models import JobRun
from tests.rentals.rental_support import expire_in


@pytest.fixture
def two_rentals(renter, usa, rent_sim, rent_plans) -> list[Rental]:
    return [rental_purchase(user=renter, country=usa, hours=24) for _ in range(2)]


class _Holder:
    """Another worker: a thread that holds the row lock of one rental until released."""

    def __init__(self, rental_id: int) -> None:
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(rental_id,))

    def _run(self, rental_id: int) -> None:
        try:
            with transaction.atomic():
                Rental.objects.select_for_update().get(pk=rental_id)
                self.locked.set()
                self.release.wait(30)
        finally:
            connection.close()

    def __enter__(self) -> "_Holder":
        self.thread.start()
        assert self.locked.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join()


@pytest.fixture
def lock_timeout():
    """A sweep that waits for a lock fails within seconds instead of hanging the suite."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '3s'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = 0")


@pytest.mark.django_db(transaction=True)
def test_the_expiry_sweep_skips_a_rental_another_worker_holds(two_rentals, lock_timeout):
    held, free = two_rentals
    expiry = max(r.expires_at for r in two_rentals) + timedelta(seconds=1)

    with time_machine.travel(expiry, tick=False), _Holder(held.pk):
        assert rentals_expire_due() == 1

    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.state, free.state) == ("active", "expired")
    with time_machine.travel(expiry, tick=False):
        assert rentals_expire_due() == 1  # the next run takes it


@pytest.mark.django_db(transaction=True)
def test_the_renewal_skips_a_rental_another_worker_holds(two_rentals, lock_timeout):
    held, free = (expire_in(r, timedelta(minutes=30)) for r in two_rentals)

    with _Holder(held.pk):
        outcome = rental_renew(rental_id=held.pk)
        assert rental_renew(rental_id=free.pk).status == "renewed"

    assert outcome.status == "skipped"
    assert held.renewals.count() == 1
    assert rental_renew(rental_id=held.pk).status == "renewed"


# --- polling ------------------------------------------------------------------------------
@pytest.fixture
def polled(monkeypatch) -> Counter:
    """Count the upstream inbox reads per rent id."""
    counts: Counter = Counter()
    lock = threading.Lock()
    original = SimulatorAdapter.rent_messages

    def counting(self, *, upstream_id: str):
        with lock:
            counts[upstream_id] += 1
        return original(self, upstream_id=upstream_id)

    monkeypatch.setattr(SimulatorAdapter, "rent_messages", counting)
    return counts


@pytest.mark.django_db(transaction=True)
def test_two_polling_workers_never_ask_about_one_rental_twice(
    renter, usa, rent_sim, rent_plans, polled
):
    rentals = [rental_purchase(user=renter, country=usa, hours=24) for _ in range(4)]
    barrier = threading.Barrier(2)
    asked: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            asked.append(rentals_poll())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(asked) == 4
    assert polled == Counter({r.upstream_id: 1 for r in rentals})


@pytest.mark.django_db
def test_polling_takes_the_longest_unpolled_first_and_keeps_a_lease(two_rentals, polled):
    first, second = two_rentals

    assert rentals_poll(limit=1) == 1
    assert rentals_poll(limit=1) == 1
    assert rentals_poll() == 0  # both leased

    assert polled == Counter({first.upstream_id: 1, second.upstream_id: 1})
    first.refresh_from_db()
    with time_machine.travel(first.polled_at + timedelta(minutes=1), tick=False):
        assert rentals_poll(limit=1) == 1
    assert polled[first.upstream_id] == 2


# --- job history ------------------------------------------------------------------------------
def _run(name: str) -> JobRun:
    return JobRun.objects.get(name=name)


@pytest.mark.django_db
def test_a_poll_the_upstream_refuses_is_an_error_of_the_job(two_rentals):
    broken, _fine = two_rentals
    SimulatedNumber.objects.filter(pk=int(broken.upstream_id)).update(status="failed")

    assert tasks.rentals_poll() == 2

    run = _run("rentals.rentals_poll")
    assert (run.status, run.rows, run.errors) == ("ok", 2, 1)
    assert str(broken.pk) in run.error


@pytest.mark.django_db
def test_a_renewal_that_breaks_is_an_error_of_the_job(two_rentals, monkeypatch):
    broken, _fine = (expire_in(r, timedelta(minutes=30)) for r in two_rentals)
    original = rental_services.rental_renew

    def renew(*, rental_id: int):
        if rental_id == broken.pk:
            raise RuntimeError("database went away")
        return original(rental_id=rental_id)

    monkeypatch.setattr(rental_services, "rental_renew", renew)

    assert tasks.rentals_renew() == 1

    run = _run("rentals.rentals_renew")
    assert (run.status, run.rows, run.errors) == ("ok", 1, 1)
    assert "database went away" in run.error


@pytest.mark.django_db
def test_an_expiry_that_breaks_is_an_error_of_the_job_and_the_others_expire(
    two_rentals, monkeypatch
):
    broken, fine = two_rentals
    original = rental_endings.rental_expire

    def expire(*, rental, **kwargs):
        if rental.pk == broken.pk:
            raise UpstreamRejected("broken row")
        return original(rental=rental, **kwargs)

    monkeypatch.setattr(rental_endings, "rental_expire", expire)

    with time_machine.travel(max(r.expires_at for r in two_rentals) + timedelta(seconds=1)):
        assert tasks.rentals_expire() == 1

    run = _run("rentals.rentals_expire")
    assert (run.status, run.rows, run.errors) == ("ok", 1, 1)
    fine.refresh_from_db()
    assert fine.state == "expired"
