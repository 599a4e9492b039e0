"""The purchase path's hand-written statements on PostgreSQL, one test (or more) each: the
customer's lock, the spend totals under it, the charge that records the activation in the same
round trip, and step 3's conditional UPDATE."""

import threading
from decimal import Decimal

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from providers.adapters import NoNumbers
from providers.models import PurchaseAttempt
from rentals.errors import ChannelsLimit, DailyCapReached, MaxPriceLimit
from rentals.models import Activation, NumberBan, OpenActivations
from rentals.services import activation_cancel, activation_purchase
from rentals.services.activations import (
    _INSERT_ACTIVATION,
    _deliver,
    _give_number_sql,
    _insert_values,
    _lock_customer_sql,
    _open,
    _open_guarded,
)
from rentals.services.policy import (
    EffectivePolicy,
    spend_policy_check_locked,
    spend_policy_check_locked_sql,
    spend_policy_set,
)
from tests.database import dsn
from tests.factories import UserFactory
from tests.rentals.conftest import age, fund
from wallets.errors import InsufficientFunds
from wallets.models import LedgerEntry, Wallet
from wallets.services import Reference, wallet_charge_recording, wallet_get_or_create

State = Activation.State


def step_one(customer, telegram, usa, price="0.50") -> tuple[Activation, list[str]]:
    """Step 1 of a purchase: the activation and the customer's banned numbers."""
    return _open(
        user=customer,
        service=telegram,
        country=usa,
        operator="",
        price=Decimal(price),
        key="",
        webhook_url="",
        replaces=None,
    )


def open_one(customer, telegram, usa, price="0.50") -> Activation:
    return step_one(customer, telegram, usa, price)[0]


def balance(user) -> Decimal:
    return Wallet.objects.get(user=user).balance


# --- the customer's lock ----------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_customer_lock_answers_the_wallet_and_a_fresh_id_and_holds_the_row(customer):
    wallet = wallet_get_or_create(user=customer)
    with transaction.atomic():
        first = _lock_customer_sql(customer.pk)
        second = _lock_customer_sql(customer.pk)
        with psycopg.connect(dsn()) as other:
            # another connection cannot take the customer's row meanwhile (a purchase, a cancel)
            for mode in ("UPDATE", "NO KEY UPDATE"):
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    other.execute(_LOCK.format(mode=mode), [customer.pk])
                other.rollback()
            # but a foreign key's check of it does not wait
            assert other.execute(_LOCK.format(mode="KEY SHARE"), [customer.pk]).fetchone()
    assert first.wallet_id == second.wallet_id == wallet.pk
    assert second.activation_id > first.activation_id
    assert (first.own_policy, first.banned, first.open_count) == (None, [], 0)


@pytest.mark.django_db
def test_the_customer_lock_answers_no_wallet_for_a_customer_who_never_had_one():
    user = UserFactory()
    with transaction.atomic():
        locked = _lock_customer_sql(user.pk)
    assert locked.wallet_id is None and locked.activation_id > 0


@pytest.mark.django_db
def test_the_customer_lock_answers_their_own_limits_and_banned_numbers(customer):
    spend_policy_set(user=customer, max_price=Decimal("2"), max_concurrent=3)
    NumberBan.objects.create(user=customer, phone="15550001111")
    NumberBan.objects.create(user=UserFactory(), phone="15550002222")  # someone else's
    with transaction.atomic():
        locked = _lock_customer_sql(customer.pk)
    assert locked.own_policy == (Decimal("2"), None, 3)
    assert locked.banned == ["15550001111"]


# --- the spend totals under the lock ----------------------------------------------------------
@pytest.mark.django_db
def test_the_totals_count_open_activations_and_todays_spending_like_the_orm(
    customer, simulator, telegram, usa
):
    fund(customer, "20.00")
    bought = [activation_purchase(user=customer, service=telegram, country=usa) for _ in range(3)]
    activation_cancel(activation=age(bought[0], 3600))  # refunded: neither open nor spent
    yesterday = age(bought[1], 24 * 3600 + 60)  # open, but not spent today
    assert yesterday.state == State.WAITING
    spent_today = bought[2].price
    for policy, error in [
        (EffectivePolicy(None, None, 2), ChannelsLimit),  # two open: a third is refused
        (EffectivePolicy(None, spent_today + Decimal("0.49"), None), DailyCapReached),
        # both limits set: one statement counts both
        (EffectivePolicy(None, Decimal("100"), 2), ChannelsLimit),
        (EffectivePolicy(None, spent_today + Decimal("0.49"), 5), DailyCapReached),
    ]:
        for check in (_orm_check, _sql_check):
            with pytest.raises(error) as refused:
                check(customer, policy, Decimal("0.50"))
            assert refused.value.extra == _expected_extra(policy, spent_today)
    for check in (_orm_check, _sql_check):  # one more fits both limits
        check(customer, EffectivePolicy(None, spent_today + Decimal("0.50"), 3), Decimal("0.50"))


def _orm_check(customer, policy, price):
    spend_policy_check_locked(user=customer, policy=policy, price=price)


def _sql_check(customer, policy, price):
    spend_policy_check_locked_sql(user_id=customer.pk, policy=policy, price=price)


def _expected_extra(policy, spent):
    if policy.max_concurrent is not None and policy.max_concurrent <= 2:
        return {"limit": policy.max_concurrent}
    return {"spent": f"{spent:.2f}", "cap": f"{policy.daily_cap:.2f}"}


# --- the charge that records in the same round trip -------------------------------------------
@pytest.mark.django_db
def test_the_charge_takes_the_money_writes_the_entry_and_the_record_in_one_statement(customer):
    wallet = wallet_get_or_create(user=customer)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        after = wallet_charge_recording(
            wallet_id=wallet.pk,
            amount=Decimal("2.50"),
            reference=Reference("test", 1),
            memo="a test charge",
            now=timezone.now(),
            record_sql="INSERT INTO wallets_ledgerentry (wallet_id, kind, amount, balance_after,"
            " reference_kind, reference_id, idempotency_key, memo, created_at)"
            " SELECT id, 'adjustment', 1, balance + 1, '', '', %s, '', now() FROM charged",
            record_params=["recorded-with-the-charge"],
        )
    assert after == Decimal("7.50") == balance(customer)
    assert len(_statements(queries)) == 1
    entry = LedgerEntry.objects.get(idempotency_key="charge:test:1")
    assert (entry.kind, entry.amount, entry.balance_after) == ("charge", Decimal("-2.50"), after)
    assert (entry.reference_kind, entry.reference_id, entry.memo) == ("test", "1", "a test charge")
    assert LedgerEntry.objects.filter(idempotency_key="recorded-with-the-charge").exists()


@pytest.mark.django_db
def test_a_charge_above_the_balance_writes_nothing_not_even_the_record(customer):
    wallet = wallet_get_or_create(user=customer)
    entries = LedgerEntry.objects.count()
    activation = Activation(pk=10**9)
    with pytest.raises(InsufficientFunds) as refused, transaction.atomic():
        wallet_charge_recording(
            wallet_id=wallet.pk,
            amount=Decimal("10.01"),
            reference=Reference("test", 2),
            memo="",
            now=timezone.now(),
            record_sql=_INSERT_ACTIVATION,
            record_params=_insert_values(activation),  # would fail if it ran: no user
        )
    assert refused.value.extra == {"balance": str(balance(customer)), "amount": "10.01"}
    assert balance(customer) == Decimal("10.00") and LedgerEntry.objects.count() == entries


@pytest.mark.django_db(transaction=True)
def test_charges_at_once_on_a_wallet_that_pays_for_three_take_three(customer):
    wallet = wallet_get_or_create(user=customer)
    outcomes, barrier, lock = [], threading.Barrier(8), threading.Lock()

    def charge(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                wallet_charge_recording(
                    wallet_id=wallet.pk,
                    amount=Decimal("3.00"),
                    reference=Reference("race", n),
                    memo="",
                    now=timezone.now(),
                    record_sql="SELECT 1",
                    record_params=[],
                )
            result = "charged"
        except InsufficientFunds:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=charge, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["charged"] * 3 + ["refused"] * 5
    assert balance(customer) == Decimal("1.00")
    assert LedgerEntry.objects.filter(reference_kind="race").count() == 3


# --- step 1 as a whole ------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_step_one_with_a_daily_cap_is_one_transaction_of_at_most_four_statements(
    customer, telegram, usa
):
    spend_policy_set(user=customer, daily_cap=Decimal("100"), max_concurrent=100)
    OpenActivations.objects.create(user=customer)
    with CaptureQueriesContext(connection) as queries:
        activation = open_one(customer, telegram, usa)
    sent = [q["sql"] for q in queries.captured_queries]
    assert sent[0].lstrip().startswith("WITH guard AS"), sent  # refused: it wrote nothing
    sent = sent[1:]
    assert sent[0] == "BEGIN" and sent[-1] == "COMMIT" and sent.count("BEGIN") == 1, sent
    assert len(sent[1:-1]) <= 4, sent
    assert not any(s.startswith("SAVEPOINT") for s in sent)
    stored = Activation.objects.get(pk=activation.pk)
    assert (stored.state, stored.price, stored.display_number) == (
        State.PROCESSING,
        Decimal("0.50"),
        activation.display_number,
    )
    assert stored.expires_at == activation.expires_at and stored.binding_key
    entry = LedgerEntry.objects.get(idempotency_key=f"charge:activation:{activation.pk}")
    assert entry.memo == f"Activation {activation.display_number} (tg)"
    assert entry.balance_after == balance(customer) == Decimal("9.50")


@pytest.mark.django_db(transaction=True)
def test_step_one_within_the_customers_limits_is_one_statement(customer, telegram, usa):
    """No transaction around it: the customer's lock, their limits, the charge, its entry and
    the activation in one statement, committed on its own."""
    spend_policy_set(user=customer, max_price=Decimal("1"), max_concurrent=2)
    OpenActivations.objects.create(user=customer, open_count=1)
    NumberBan.objects.create(user=customer, phone="15550001111")
    with CaptureQueriesContext(connection) as queries:
        activation, banned = step_one(customer, telegram, usa)
    sent = [q["sql"] for q in queries.captured_queries]
    assert len(sent) == 1 and sent[0].lstrip().startswith("WITH guard AS"), sent
    assert banned == ["15550001111"]
    stored = Activation.objects.get(pk=activation.pk)
    assert (stored.state, stored.price, stored.display_number, stored.binding_key) == (
        State.PROCESSING,
        Decimal("0.50"),
        activation.display_number,
        activation.binding_key,
    )
    assert stored.expires_at == activation.expires_at and stored.created_at == activation.created_at
    entry = LedgerEntry.objects.get(wallet__user=customer, kind="charge")
    assert entry.idempotency_key == Reference("activation", activation.pk).key("charge")
    assert (entry.reference_kind, entry.reference_id) == ("activation", str(activation.pk))
    assert entry.memo == f"Activation {activation.display_number} (tg)"
    assert (entry.amount, entry.created_at) == (Decimal("-0.50"), activation.created_at)
    assert entry.balance_after == balance(customer) == Decimal("9.50")
    assert OpenActivations.objects.get(user=customer).open_count == 2


def _no_count_row(customer):
    OpenActivations.objects.filter(user=customer).delete()


def _own_max_price(customer):
    spend_policy_set(user=customer, max_price=Decimal("0.49"))


def _own_concurrency_limit(customer):
    spend_policy_set(user=customer, max_concurrent=3)
    OpenActivations.objects.filter(user=customer).update(open_count=3)


def _own_daily_cap(customer):
    spend_policy_set(user=customer, daily_cap=Decimal("1000"))  # far from reached


def _money_short(customer):
    Wallet.objects.filter(user=customer).update(balance=Decimal("0.49"))


def _no_wallet(customer):
    user = UserFactory()  # never deposited
    OpenActivations.objects.create(user=user, open_count=2)
    return user


@pytest.mark.parametrize(
    "refusal",
    [
        _no_count_row,
        _own_max_price,
        _own_concurrency_limit,
        _own_daily_cap,
        _money_short,
        _no_wallet,
        None,
    ],
)
@pytest.mark.django_db
def test_the_one_statement_writes_nothing_unless_every_rule_lets_it(
    refusal, customer, telegram, usa
):
    OpenActivations.objects.create(user=customer, open_count=2)
    if refusal is not None:
        customer = refusal(customer) or customer
    wallet = Wallet.objects.filter(user=customer).first()
    before = (wallet.balance if wallet else None, LedgerEntry.objects.count())
    activation = _new_activation(customer, telegram, usa, price="0.50")
    banned = _open_guarded(activation)
    if refusal is None:  # the same customer and purchase, nothing in the way: charged
        assert banned == [] and Activation.objects.filter(pk=activation.pk).exists()
        assert balance(customer) == before[0] - Decimal("0.50")
        return
    assert banned is None and activation.pk is None
    assert not Activation.objects.filter(user=customer).exists()
    after = Wallet.objects.filter(user=customer).first()
    assert (after.balance if after else None, LedgerEntry.objects.count()) == before


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [
        ("SMSBOX_MAX_PRICE_STANDARD", Decimal("0.49"), MaxPriceLimit),
        ("SMSBOX_MAX_CONCURRENT_STANDARD", 2, ChannelsLimit),
    ],
)
@pytest.mark.django_db
def test_the_one_statement_keeps_the_tiers_limits(setting, value, error, customer, telegram, usa):
    OpenActivations.objects.create(user=customer, open_count=2)
    with override_settings(**{setting: value}):
        assert _open_guarded(_new_activation(customer, telegram, usa, price="0.50")) is None
        with pytest.raises(error):  # the long way says why
            open_one(customer, telegram, usa)
    assert LedgerEntry.objects.filter(kind="charge").count() == 0
    assert _open_guarded(_new_activation(customer, telegram, usa, price="0.50")) is not None


@pytest.mark.django_db(transaction=True)
def test_with_a_daily_cap_for_the_tier_the_one_statement_is_not_sent(customer, telegram, usa):
    OpenActivations.objects.create(user=customer)
    cap = override_settings(SMSBOX_DAILY_CAP_STANDARD=Decimal("5"))
    with cap, CaptureQueriesContext(connection) as queries:
        open_one(customer, telegram, usa)
    sent = [q["sql"] for q in queries.captured_queries]
    assert sent[0] == "BEGIN" and not any("WITH guard" in sql for sql in sent), sent


@pytest.mark.django_db(transaction=True)
def test_the_one_statement_reads_the_count_as_committed_by_the_lock_it_waited_for(
    customer, telegram, usa
):
    """A purchase of the customer holds their lock and opens their last allowed activation;
    the statement waits for it, then reads the count it committed: refused, not charged."""
    spend_policy_set(user=customer, max_concurrent=1)
    OpenActivations.objects.create(user=customer, open_count=0)
    with psycopg.connect(dsn()) as other:
        other.execute(_LOCK.replace(" NOWAIT", "").format(mode="NO KEY UPDATE"), [customer.pk])
        other.execute(
            "UPDATE rentals_openactivations SET open_count = 1 WHERE user_id = %s", [customer.pk]
        )
        committing = threading.Timer(0.5, other.commit)
        committing.start()
        try:
            assert _open_guarded(_new_activation(customer, telegram, usa)) is None
        finally:
            committing.join()
    assert balance(customer) == Decimal("10.00")
    OpenActivations.objects.filter(user=customer).update(open_count=0)  # the control
    assert _open_guarded(_new_activation(customer, telegram, usa)) is not None


@pytest.mark.django_db(transaction=True)
def test_purchases_at_once_of_a_customer_who_bought_before_record_as_many_as_the_limit(
    customer, simulator, telegram, usa
):
    """The one statement's path (their count row exists) under concurrency: a limit of three
    with one open lets two more through, whatever the timing; the ledger agrees."""
    spend_policy_set(user=customer, max_concurrent=3)
    activation_purchase(user=customer, service=telegram, country=usa)
    outcomes, barrier, lock = [], threading.Barrier(8), threading.Lock()

    def buy() -> None:
        try:
            barrier.wait(timeout=30)
            activation_purchase(user=customer, service=telegram, country=usa)
            result = "ok"
        except ChannelsLimit:
            result = "limit"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["limit"] * 6 + ["ok"] * 2
    assert OpenActivations.objects.get(user=customer).open_count == 3
    assert LedgerEntry.objects.filter(wallet__user=customer, kind="charge").count() == 3
    call_command("check_ledger")


def _new_activation(customer, telegram, usa, price="0.50") -> Activation:
    now = timezone.now()
    return Activation(
        user=customer,
        service=telegram,
        country=usa,
        price=Decimal(price),
        state=State.PROCESSING,
        created_at=now,
        expires_at=now,
        display_number=f"A{now:%y%m%d}{threading.get_ident() % 10**8:08d}",
        binding_key="k",
    )


@pytest.mark.django_db
def test_step_one_draws_another_display_number_when_one_is_taken(
    customer, telegram, usa, monkeypatch
):
    taken = open_one(customer, telegram, usa)
    draws = iter([int(taken.display_number[-8:]), 12345678])
    monkeypatch.setattr("rentals.services.activations._random_digits", lambda: next(draws))
    fresh = open_one(customer, telegram, usa)
    assert fresh.display_number.endswith("12345678")
    assert balance(customer) == Decimal("9.00")  # the failed draw charged nothing


# --- step 3 -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_step_three_gives_the_number_only_to_a_purchase_still_processing(
    customer, simulator, telegram, usa
):
    from providers.router import purchase_route

    activation = open_one(customer, telegram, usa)
    routed = purchase_route(service=telegram, country=usa, record_bought=False)
    with CaptureQueriesContext(connection) as queries:
        given = _give_number_sql(activation, routed)
    assert len(_statements(queries)) == 1  # the purchase attempt recorded in the same one
    attempt = PurchaseAttempt.objects.get(pk=routed.attempts[-1].pk)
    assert (attempt.outcome, attempt.upstream_id, attempt.phone) == (
        "bought",
        routed.upstream_id,
        routed.phone,
    )
    stored = Activation.objects.get(pk=activation.pk)
    assert given is activation and stored.state == given.state == State.WAITING
    assert (stored.phone, stored.upstream_id, stored.provider_id) == (
        routed.phone,
        routed.upstream_id,
        simulator.pk,
    )
    assert stored.number_at == given.number_at and stored.cost == routed.cost
    # a second delivery of another number finds it no longer processing; its attempt stays
    again = purchase_route(service=telegram, country=usa, record_bought=False)
    assert _give_number_sql(activation, again) is None
    assert Activation.objects.get(pk=activation.pk).phone == routed.phone
    assert PurchaseAttempt.objects.filter(upstream_id=again.upstream_id).count() == 1


@pytest.mark.django_db
def test_step_three_records_the_attempt_of_a_number_another_order_took(
    customer, simulator, telegram, usa
):
    from providers.router import purchase_route

    activation = open_one(customer, telegram, usa)
    routed = purchase_route(service=telegram, country=usa, record_bought=False)
    taken = open_one(customer, telegram, usa)
    Activation.objects.filter(pk=taken.pk).update(  # reconciliation gave it to a crashed one
        provider=simulator, upstream_id=routed.upstream_id, phone=routed.phone, state="waiting"
    )
    with pytest.raises(NoNumbers):
        _deliver(activation, routed)
    assert Activation.objects.get(pk=activation.pk).state == State.FAILED  # refunded
    attempt = PurchaseAttempt.objects.get(upstream_id=routed.upstream_id)
    assert attempt.outcome == "bought" and attempt.pk == routed.attempts[-1].pk


@pytest.mark.django_db
def test_step_three_drops_the_copy_a_poll_cached_while_processing(
    customer, simulator, telegram, usa
):
    from providers.router import purchase_route
    from rentals.activation_cache import activation_cache_enabled
    from rentals.selectors import activation_detail_for_user as detail

    assert activation_cache_enabled()
    activation = open_one(customer, telegram, usa)
    for _ in range(2):  # the first poll stores the copy, the second reads it
        assert detail(user=customer, ident=activation.pk).state == State.PROCESSING
    delivered = _deliver(activation, purchase_route(service=telegram, country=usa))
    assert delivered.state == State.WAITING
    assert detail(user=customer, ident=activation.pk).phone == delivered.phone


# --- prepared once per connection -------------------------------------------------------------
@pytest.mark.django_db
def test_the_charge_and_step_three_are_prepared_once_per_connection(
    customer, simulator, telegram, usa
):
    """Django's own queries are never prepared; the purchase's single statements are, the first
    time the connection runs them, and later purchases reuse them."""
    for _ in range(2):  # the first one the long way (no count row yet), then in one statement
        activation_purchase(user=customer, service=telegram, country=usa)
    prepared = _prepared()
    assert any(sql.lstrip().startswith("WITH charged AS") for sql in prepared), prepared
    assert any(sql.lstrip().startswith("WITH guard AS") for sql in prepared), prepared
    assert any(sql.startswith("WITH attempt AS") for sql in prepared), prepared
    assert any(sql.startswith("INSERT INTO providers_simulatednumber") for sql in prepared)
    # query strings of several statements (the customer's lock, the simulator's) cannot be
    assert not any(
        "FOR NO KEY UPDATE OF u;" in sql or "synchronous_commit" in sql for sql in prepared
    )
    for _ in range(2):
        activation_purchase(user=customer, service=telegram, country=usa)
    assert _prepared() == prepared
    # psycopg counts no other statement to decide when to prepare it (Django's default)
    assert connection.connection.prepare_threshold is None


@pytest.mark.django_db(transaction=True)
def test_with_prepared_statements_off_nothing_is_prepared(customer, simulator, telegram, usa):
    connection.close()  # a connection of its own: nothing prepared on it yet
    with override_settings(SMSBOX_PREPARED_STATEMENTS=False):
        activation_purchase(user=customer, service=telegram, country=usa)
    assert _prepared() == []
    assert Activation.objects.get(user=customer).state == State.WAITING


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY name")
        return [row[0] for row in cursor.fetchall()]


_NOWAIT = "SELECT 1 FROM smsbox_user WHERE id = %s FOR UPDATE NOWAIT"
_LOCK = "SELECT 1 FROM smsbox_user WHERE id = %s FOR {mode} NOWAIT"


def _statements(queries) -> list[str]:
    """The statements sent, without the savepoints of the test's own transaction."""
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
