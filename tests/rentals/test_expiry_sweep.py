"""The expiry sweep in batches on PostgreSQL: set-based statements per batch, disjoint claims
when two sweeps run at once, the row-by-row path when the ledger's checks refuse a batch."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.models import Country, Service
from rentals.models import Activation
from rentals.services import activation_purchase, activations_expire_due
from tests.factories import UserFactory
from tests.rentals.conftest import fund, make_simulator, sms_arrives
from tests.rentals.test_activation_concurrency import check_ledger, run_at_once
from wallets.errors import RefundExceedsCharge
from wallets.models import LedgerEntry
from wallets.selectors import wallet_for_user

State = Activation.State


@pytest.fixture
def market(catalog):
    make_simulator(stock=500)
    return Service.objects.get(code="tg"), Country.objects.get(sms_activate_id=187)


def buy_due(users, per_user: int, market) -> list[Activation]:
    service, country = market
    bought = [
        activation_purchase(user=user, service=service, country=country)
        for user in users
        for _ in range(per_user)
    ]
    Activation.objects.filter(pk__in=[a.pk for a in bought]).update(
        expires_at=bought[0].created_at - timedelta(seconds=1)
    )
    return bought


def statements(job) -> int:
    with CaptureQueriesContext(connection) as queries:
        job()
    return len(queries.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_in_small_batches_refund_every_activation_exactly_once(market):
    # given: 48 due activations of four customers
    users = [UserFactory() for _ in range(4)]
    for user in users:
        fund(user, "6.00")  # 12 times 0.50
    bought = buy_due(users, 12, market)

    # when: two sweeps at once, 5 rows per transaction
    def sweep() -> int:
        return activations_expire_due(batch_size=5)

    results, errors = run_at_once(sweep, sweep)

    # then
    assert not errors
    assert sum(results) == 48
    assert Activation.objects.filter(state=State.EXPIRED).count() == 48
    refunds = LedgerEntry.objects.filter(kind="refund", reference_kind="activation")
    assert refunds.count() == 48
    assert sorted(int(r) for r in refunds.values_list("reference_id", flat=True)) == sorted(
        a.pk for a in bought
    )
    for user in users:
        assert wallet_for_user(user=user).balance == Decimal("6.00")
    check_ledger()


@pytest.mark.django_db
def test_a_batch_is_a_constant_number_of_statements_whatever_its_rows(market, customer):
    # given: 2 due activations, then 12
    fund(customer, "10.00")
    buy_due([customer], 2, market)
    few = statements(lambda: activations_expire_due(batch_size=100))
    buy_due([customer], 12, market)
    many = statements(lambda: activations_expire_due(batch_size=100))
    # then: the same statements for 12 rows as for 2 (claim + settle, wallets, keys, refunds)
    assert Activation.objects.filter(state=State.EXPIRED).count() == 14
    assert many == few


@pytest.mark.django_db
def test_the_batch_settles_like_the_row_by_row_path(market, customer):
    # given: three due activations, one of which got its SMS
    bought = buy_due([customer], 3, market)
    sms_arrives(bought[0], "code 123456")
    # when
    assert activations_expire_due(batch_size=2) == 3
    # then
    rows = {a.pk: a for a in Activation.objects.all()}
    assert rows[bought[0].pk].state == State.COMPLETED
    assert rows[bought[0].pk].memo == "Expired after an SMS"
    assert [rows[a.pk].state for a in bought[1:]] == [State.EXPIRED, State.EXPIRED]
    assert all(rows[a.pk].settled_at is not None for a in bought)
    entries = LedgerEntry.objects.filter(kind="refund").order_by("id")
    assert [e.reference_id for e in entries] == [str(a.pk) for a in bought[1:]]
    assert [e.balance_after for e in entries] == [Decimal("9.00"), Decimal("9.50")]
    assert (
        entries[0].memo == f"Activation {rows[bought[1].pk].display_number}: Expired without an SMS"
    )
    assert wallet_for_user(user=customer).balance == Decimal("9.50")
    check_ledger()


@pytest.mark.django_db
def test_a_refund_the_ledger_refuses_sends_the_batch_row_by_row(market, customer):
    # given: a due activation whose price no longer matches its charge (0.50 charged)
    bought = buy_due([customer], 2, market)
    Activation.objects.filter(pk=bought[0].pk).update(price=Decimal("0.30"))
    # when
    assert activations_expire_due() == 2
    # then: the row-by-row path refunded what the price says, within the charge
    refunds = dict(LedgerEntry.objects.filter(kind="refund").values_list("reference_id", "amount"))
    assert refunds == {str(bought[0].pk): Decimal("0.30"), str(bought[1].pk): Decimal("0.50")}
    assert wallet_for_user(user=customer).balance == Decimal("9.80")
    check_ledger()


@pytest.mark.django_db
def test_the_sweep_stops_at_its_limit(market, customer):
    buy_due([customer], 5, market)
    assert activations_expire_due(limit=3, batch_size=2) == 3
    assert Activation.objects.filter(state=State.EXPIRED).count() == 3
    assert activations_expire_due(batch_size=2) == 2


@pytest.mark.django_db
def test_the_batch_never_refunds_more_than_was_charged(market, customer):
    # given: a due activation whose price was raised above its charge of 0.50
    bought = buy_due([customer], 2, market)
    Activation.objects.filter(pk=bought[0].pk).update(price=Decimal("0.80"))
    # when / then: refused as the row-by-row refund refuses it; nothing written
    with pytest.raises(RefundExceedsCharge):
        activations_expire_due()
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    assert wallet_for_user(user=customer).balance == Decimal("9.00")
    assert Activation.objects.filter(state=State.WAITING).count() == 2


@pytest.mark.django_db
def test_after_the_batch_commits_the_upstream_closes_each_number(
    market, customer, eager_celery, django_capture_on_commit_callbacks
):
    from providers.models import SimulatedNumber

    # given: two due activations, one of which got its SMS
    bought = buy_due([customer], 2, market)
    sms_arrives(bought[0], "code 123456")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert activations_expire_due() == 2
    # then: one task per action told the simulator
    numbers = SimulatedNumber.objects.in_bulk([a.upstream_id for a in bought])
    assert numbers[int(bought[0].upstream_id)].status == "finished"
    assert numbers[int(bought[1].upstream_id)].status == "cancelled"
