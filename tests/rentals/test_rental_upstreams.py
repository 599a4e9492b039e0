"""Rentals bought from real protocols: the SMS-Activate rent API and the long-term rentals of
seed 004, each against a fake upstream speaking it over HTTP on localhost."""

from datetime import timedelta
from decimal import Decimal

import pytest

from providers.models import Country
from providers.services import offers_sync
from rentals.models import Rental
from rentals.rental_errors import RentDie
from rentals.rental_selectors import rental_messages
from rentals.services.rental_reorder import rental_reorder
from rentals.services.rentals import (
    rental_cancel,
    rental_extend,
    rental_finish,
    rental_poll,
    rental_purchase,
    rental_upstream_release,
)
from tests.factories import ProviderFactory
from tests.rentals.conftest import make_simple_get
from tests.rentals.rental_support import balance, rental_entries, usa_plans

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_activate(fake_sms_activate, catalog):
    provider = ProviderFactory(
        protocol="sms_activate", base_url=fake_sms_activate.handler_url, timeout=Decimal("2")
    )
    offers_sync(provider=provider)
    return provider


@pytest.fixture
def simple_get(fake_simple_get, catalog):
    return make_simple_get(fake_simple_get, "UK")


@pytest.fixture
def uk(catalog) -> Country:
    country = Country.objects.get(iso="GB")
    usa_plans(country)
    return country


def _requests(fake, **match):
    found = []
    for request in fake.requests:
        params = request.json() if request.method == "POST" and request.body else request.params
        params = {**request.params, **(params if isinstance(params, dict) else {})}
        if all(str(params.get(k)) == str(v) for k, v in match.items()):
            found.append((request.path, params))
    return found


# --- SMS-Activate rent API --------------------------------------------------------------------
def test_sms_activate_rent_purchase_inbox_and_extension(
    renter, usa, rent_plans, sms_activate, fake_sms_activate
):
    rental = rental_purchase(user=renter, country=usa, hours=24)

    assert (rental.state, rental.provider) == (Rental.State.ACTIVE, sms_activate)
    assert (rental.upstream_id, rental.phone) == ("635468022", "79959707564")
    [(_, asked)] = _requests(fake_sms_activate, action="getRentNumber")
    assert (asked["time"], asked["country"], asked["service"]) == ("24", "187", "full")

    rent = fake_sms_activate.rents[635468022]
    rent["sms"].append(
        {
            "phoneFrom": "Uber",
            "text": "Uber code 0183",
            "service": "ub",
            "date": "2030-01-30 14:04:16",
        }
    )
    assert rental_poll(rental=rental) == 1
    rent["sms"].append(
        {
            "phoneFrom": "Tinder",
            "text": "Tinder 417097",
            "service": "oi",
            "date": "2030-01-30 14:31:58",
        }
    )
    assert rental_poll(rental=rental) == 2  # the whole inbox, stored once each

    messages = list(rental_messages(rental=rental))
    assert [(m.sender, m.code) for m in messages] == [("Uber", "0183"), ("Tinder", "417097")]

    old_expiry = rental.expires_at
    rental = rental_extend(rental=rental, hours=48)
    [(_, extended)] = _requests(fake_sms_activate, action="continueRentNumber")
    assert (extended["id"], extended["rent_time"]) == ("635468022", "48")
    assert rental.expires_at == old_expiry + timedelta(hours=48)


def test_sms_activate_rent_cancel_and_finish_reach_the_upstream(
    renter, usa, rent_plans, sms_activate, fake_sms_activate
):
    cancelled = rental_cancel(rental=rental_purchase(user=renter, country=usa, hours=24))
    finished = rental_finish(rental=rental_purchase(user=renter, country=usa, hours=24))

    rental_upstream_release(rental=cancelled, how="cancel")
    rental_upstream_release(rental=finished, how="finish")
    rental_upstream_release(rental=finished, how="finish")  # ALREADY_FINISH: nothing to do

    assert fake_sms_activate.rents[int(cancelled.upstream_id)]["status"] == "cancelled"
    assert fake_sms_activate.rents[int(finished.upstream_id)]["status"] == "finished"


def test_sms_activate_reorders_the_number_of_a_finished_rent_under_a_new_id(
    renter, usa, rent_plans, sms_activate, fake_sms_activate
):
    finished = rental_finish(rental=rental_purchase(user=renter, country=usa, hours=4))

    new = rental_reorder(rental=finished, hours=24)

    # the old rent is closed upstream first (a running one would be extended, not re-ordered)
    calls = [r.params["action"] for r in fake_sms_activate.requests[-2:]]
    assert calls == ["setRentStatus", "continueRentNumber"]
    [(_, asked)] = _requests(fake_sms_activate, action="continueRentNumber")
    assert (asked["id"], asked["rent_time"]) == (finished.upstream_id, "24")
    assert new.state == Rental.State.ACTIVE and new.pk != finished.pk
    assert (new.phone, new.provider) == (finished.phone, sms_activate)
    assert int(new.upstream_id) > int(finished.upstream_id)
    assert fake_sms_activate.rents[int(new.upstream_id)]["status"] == "active"
    assert rental_entries(new) == [("charge", Decimal("-3.0000"))]
    assert balance(renter) == Decimal("96.00")


def test_sms_activate_refusing_the_number_is_rent_die_and_refunded(
    renter, usa, rent_plans, sms_activate, fake_sms_activate
):
    finished = rental_finish(rental=rental_purchase(user=renter, country=usa, hours=4))
    # somebody else rents the number at the upstream meanwhile
    fake_sms_activate.rents[1] = {"status": "active", "sms": [], "number": finished.phone}

    with pytest.raises(RentDie):
        rental_reorder(rental=finished, hours=4)

    failed = Rental.objects.get(state=Rental.State.FAILED)
    assert rental_entries(failed) == [("charge", Decimal("-1.0000")), ("refund", Decimal("1.0000"))]
    assert balance(renter) == Decimal("99.00")


# --- seed 004 long-term rentals ---------------------------------------------------------------
def test_seed_004_rental_with_packages_inbox_and_extension(renter, uk, simple_get, fake_simple_get):
    rental = rental_purchase(user=renter, country=uk, package="1m")

    assert (rental.state, rental.provider) == (Rental.State.ACTIVE, simple_get)
    assert rental.phone == "447684563067"
    [(path, asked)] = _requests(fake_simple_get, package="1m")
    assert (path, asked["country"], asked["auto_renew"]) == ("/api/rental/new", "UK", False)

    contract = fake_simple_get.contracts[int(rental.upstream_id)]
    contract["sms"].extend(
        [
            {"id": 1, "sender": "Uber", "body": "Your Uber code is 0183.", "receive_date":
             "2030-08-02T14:30:23.000000Z"},
            {"id": 2, "sender": "SinchVerify", "body": "Your Tinder code is 417097",
             "receive_date": "2030-08-02T14:30:42.000000Z"},
        ]
    )  # fmt: skip
    assert rental_poll(rental=rental) == 2
    assert rental_poll(rental=rental) == 2
    assert [m.code for m in rental_messages(rental=rental)] == ["0183", "417097"]

    rental = rental_extend(rental=rental, package="3m")
    [(path, extended)] = _requests(fake_simple_get, package="3m")
    assert (path, extended["contract_id"]) == ("/api/rental/extend", int(rental.upstream_id))
    assert (rental.package, rental.renewal_package) == ("3m", "3m")


def test_seed_004_cannot_cancel_so_the_contract_is_finished_upstream(
    renter, uk, simple_get, fake_simple_get
):
    rental = rental_cancel(rental=rental_purchase(user=renter, country=uk, package="1m"))

    rental_upstream_release(rental=rental, how="cancel")

    assert fake_simple_get.contracts[int(rental.upstream_id)]["auto_renew"] is False
    assert _requests(fake_simple_get, contract_id=int(rental.upstream_id), auto_renew=False)


def test_seed_004_cannot_order_a_number_again_so_nothing_is_charged_or_asked(
    renter, uk, simple_get, fake_simple_get
):
    finished = rental_finish(rental=rental_purchase(user=renter, country=uk, package="1m"))
    asked = len(fake_simple_get.requests)

    with pytest.raises(RentDie):
        rental_reorder(rental=finished, package="1m")

    assert len(fake_simple_get.requests) == asked
    assert Rental.objects.count() == 1
    assert balance(renter) == Decimal("85.00")
