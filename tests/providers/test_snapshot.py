"""The per-process copies of price rules and the catalog, kept current by a version in Redis.

Two processes are simulated in one: each has its own local copies (``providers.snapshot``'s
module dict, swapped in and out) and both share PostgreSQL and Redis."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from providers import snapshot
from providers.catalog import catalog_load
from providers.models import Country, Offer, PriceRule, Provider, Service
from providers.services import offer_mark_out_of_stock, offers_sync, price_rule_set
from tests.factories import OfferFactory, ProviderFactory, StaffFactory
from tests.rentals.conftest import make_simulator

pytestmark = pytest.mark.django_db(transaction=True)


class Process:
    """One process's local copies: ``with process:`` makes them the current ones."""

    def __init__(self) -> None:
        self.local: dict = {}

    def __enter__(self) -> "Process":
        self._saved = dict(snapshot._local)
        snapshot._local.clear()
        snapshot._local.update(self.local)
        return self

    def __exit__(self, *exc) -> None:
        self.local = dict(snapshot._local)
        snapshot._local.clear()
        snapshot._local.update(self._saved)


@pytest.fixture(autouse=True)
def catalog(db):
    catalog_load()  # transactional tests start without the catalog of the migrations


@pytest.fixture
def scope():
    return {
        "provider_id": ProviderFactory().pk,
        "service_id": Service.objects.get(code="tg").pk,
        "country_id": Country.objects.get(sms_activate_id=187).pk,
    }


def retail(scope) -> Decimal:
    return snapshot.price_book().retail(**scope, cost=Decimal("1"))


def reads(job) -> int:
    with CaptureQueriesContext(connection) as queries:
        job()
    return len(queries.captured_queries)


def test_a_process_reads_the_rules_once_while_nothing_changes(scope):
    price_rule_set(percent=Decimal("100"))
    assert retail(scope) == Decimal("2.00")
    assert reads(lambda: retail(scope)) == 0
    # a change that bypasses the signals and the services is not seen: the copy is used
    PriceRule.objects.update(percent=Decimal("10"))
    assert retail(scope) == Decimal("2.00")


def test_a_change_made_on_one_process_is_seen_by_the_other_at_once(scope):
    first, second = Process(), Process()
    price_rule_set(percent=Decimal("100"))
    with first:
        assert retail(scope) == Decimal("2.00")
    with second:
        assert retail(scope) == Decimal("2.00")
        price_rule_set(percent=Decimal("50"))
        assert retail(scope) == Decimal("1.50")
    with first:  # its copy is older than the version in Redis: read again
        assert retail(scope) == Decimal("1.50")
        assert reads(lambda: retail(scope)) == 0


def test_a_process_started_afresh_reads_the_current_rules(scope):
    price_rule_set(percent=Decimal("100"))
    assert retail(scope) == Decimal("2.00")
    snapshot.snapshot_clear_local()
    assert reads(lambda: retail(scope)) == 1


def test_an_admin_change_of_a_rule_invalidates_every_copy(client, scope):
    rule = price_rule_set(percent=Decimal("100"))
    other = Process()
    with other:
        assert retail(scope) == Decimal("2.00")
    client.force_login(StaffFactory(is_superuser=True))
    answer = client.post(
        reverse("admin:providers_pricerule_change", args=[rule.pk]),
        {"percent": "20", "fixed": "0", "floor": "0"},
    )
    assert answer.status_code == 302
    with other:
        assert retail(scope) == Decimal("1.20")


def test_an_admin_change_of_the_catalog_invalidates_the_lookups(client):
    other = Process()
    with other:
        assert snapshot.service_by_code("TG").name != "Telegram (renamed)"
    service = Service.objects.get(code="tg")
    client.force_login(StaffFactory(is_superuser=True))
    change = reverse("admin:providers_service_change", args=[service.pk])
    form = client.get(change).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["name"] = "Telegram (renamed)"
    assert client.post(change, data).status_code == 302
    with other:
        assert snapshot.service_by_code("tg").name == "Telegram (renamed)"


def test_lookups_answer_fresh_instances():
    first = snapshot.country_by_sms_activate_id(187)
    first.name_en = "changed in memory only"
    assert snapshot.country_by_sms_activate_id(187).name_en != "changed in memory only"
    assert snapshot.country_by_sms_activate_id(999_999) is None
    assert snapshot.service_by_code("no-such-code") is None


def test_inside_a_transaction_nothing_is_kept(scope):
    from django.db import transaction

    price_rule_set(percent=Decimal("100"))
    with transaction.atomic():
        price_rule_set(percent=Decimal("50"))
        assert retail(scope) == Decimal("1.50")
        transaction.set_rollback(True)
    assert retail(scope) == Decimal("2.00")  # the rolled-back rule was never kept


# --- offers -----------------------------------------------------------------------------------
@pytest.fixture
def simulator_provider():
    return make_simulator()


def disable_provider(offer) -> None:
    provider = Provider.objects.get(pk=offer.provider_id)
    provider.enabled = False
    provider.save()


def in_stock(offer) -> list:
    return snapshot.offers_in_stock(service_id=offer.service_id, country_id=offer.country_id)


def test_offers_are_read_once_while_nothing_changes():
    offer = OfferFactory(stock=5)
    assert [o.pk for o in in_stock(offer)] == [offer.pk]
    assert reads(lambda: in_stock(offer)) == 0


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda offer: offer_mark_out_of_stock(offer=offer), id="a buy found none"),
        pytest.param(lambda offer: Offer.objects.get(pk=offer.pk).delete(), id="deleted"),
        pytest.param(disable_provider, id="provider disabled"),
    ],
)
def test_an_offer_gone_from_stock_is_never_routed_by_another_process(change):
    offer = OfferFactory(stock=5)
    other = Process()
    with other:
        assert len(in_stock(offer)) == 1
    change(offer)
    with other:
        assert in_stock(offer) == []


def test_a_sync_is_seen_by_every_process(simulator_provider):
    offers_sync(provider=simulator_provider)
    offer = Offer.objects.filter(provider=simulator_provider, stock__gt=0).first()
    other = Process()
    with other:
        assert offer.pk in [o.pk for o in in_stock(offer)]
    Offer.objects.filter(pk=offer.pk).update(stock=0, cost=Decimal("9"))  # as if upstream did
    offers_sync(provider=simulator_provider)  # the sync puts the upstream's figures back
    with other:
        [again] = [o for o in in_stock(offer) if o.pk == offer.pk]
        assert again.cost == offer.cost


def test_offers_are_fresh_instances_with_fresh_providers():
    offer = OfferFactory(stock=5)
    first = in_stock(offer)[0]
    first.cost, first.provider.name = Decimal("99"), "changed in memory only"
    again = in_stock(offer)[0]
    assert (again.cost, again.provider.name) == (offer.cost, offer.provider.name)


def test_a_request_reads_the_version_once():
    offer = OfferFactory(stock=5)
    snapshot.snapshot_request_started()
    try:
        assert len(in_stock(offer)) == 1
        # Another process marks it out of stock: this request goes on with what it saw ...
        Offer.objects.filter(pk=offer.pk).update(stock=0)
        cache.set(snapshot.VERSION_KEY, "changed elsewhere", timeout=None)
        assert len(in_stock(offer)) == 1
    finally:
        snapshot.snapshot_request_finished()
    snapshot.snapshot_request_started()
    try:
        assert in_stock(offer) == []  # ... the next request reads the new version
    finally:
        snapshot.snapshot_request_finished()


def test_a_request_sees_its_own_change():
    offer = OfferFactory(stock=5)
    snapshot.snapshot_request_started()
    try:
        assert len(in_stock(offer)) == 1
        offer_mark_out_of_stock(offer=offer)
        assert in_stock(offer) == []
    finally:
        snapshot.snapshot_request_finished()
