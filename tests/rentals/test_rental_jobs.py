"""The rental jobs: scheduled by beat, recorded in the job history, thin over the services."""

from datetime import timedelta

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from providers.models import SimulatedNumber
from rentals import tasks
from rentals.models import Rental
from rentals.services.rentals import rental_finish, rental_purchase
from smsbox.models import JobRun
from tests.rentals.rental_support import expire_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def rental(renter, usa, rent_sim, rent_plans) -> Rental:
    return rental_purchase(user=renter, country=usa, hours=24)


def test_beat_runs_the_rental_jobs():
    names = set(PeriodicTask.objects.values_list("task", flat=True))

    assert {
        "rentals.tasks.rentals_renew",
        "rentals.tasks.rentals_expire",
        "rentals.tasks.rentals_poll",
    } <= names


def test_the_jobs_call_the_services_and_record_their_runs(rental):
    expire_in(rental, timedelta(minutes=10))

    assert tasks.rentals_renew() == 1
    rental.refresh_from_db()
    with time_machine.travel(rental.expires_at + timedelta(seconds=1)):
        assert tasks.rentals_expire() == 1
    assert tasks.rentals_poll() == 0  # nothing active any more

    runs = dict(JobRun.objects.values_list("name", "rows"))
    assert runs == {
        "rentals.rentals_renew": 1,
        "rentals.rentals_expire": 1,
        "rentals.rentals_poll": 0,
    }


def test_the_release_task_tells_the_upstream(rental):
    rental_finish(rental=rental)

    tasks.rental_upstream_release(rental.pk, "finish")
    tasks.rental_upstream_release(rental.pk + 1000, "finish")  # gone: nothing to do

    assert SimulatedNumber.objects.get(pk=int(rental.upstream_id)).status == "finished"
