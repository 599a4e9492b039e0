import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from tests.factories import StaffFactory, WalletFactory
from wallets.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidAmount,
    RefundExceedsCharge,
)
from wallets.models import LedgerEntry, Wallet
from wallets.selectors import wallet_summary
from wallets.services import (
    Reference,
    wallet_adjust,
    wallet_charge,
    wallet_deposit,
    wallet_forfeit,
    wallet_refund,
)

pytestmark = pytest.mark.django_db

ORDER = Reference("activation", 1)


def funded(amount: str = "10.00") -> Wallet:
    wallet = WalletFactory()
    wallet_deposit(wallet=wallet, amount=Decimal(amount), idempotency_key=f"tx-{wallet.pk}")
    wallet.refresh_from_db()
    return wallet


def balance(wallet: Wallet) -> Decimal:
    wallet.refresh_from_db()
    return wallet.balance


@pytest.mark.parametrize(
    ("move", "expected_balance", "kind"),
    [
        (
            lambda w: wallet_deposit(wallet=w, amount=Decimal("2.5"), idempotency_key="t"),
            "12.5",
            "deposit",
        ),
        (
            lambda w: wallet_charge(wallet=w, amount=Decimal("2.5"), reference=ORDER),
            "7.5",
            "charge",
        ),
        (
            lambda w: wallet_charge(wallet=w, amount=Decimal("2.5"), reference=ORDER, renewal=True),
            "7.5",
            "renewal",
        ),
        (
            lambda w: wallet_adjust(
                wallet=w, amount=Decimal("-1"), actor=StaffFactory(), reason="x"
            ),
            "9",
            "adjustment",
        ),
        (
            lambda w: wallet_forfeit(wallet=w, reference=Reference("account_deletion", 1)),
            "0",
            "forfeit",
        ),
    ],
)
def test_each_movement_changes_the_balance_and_writes_one_entry(move, expected_balance, kind):
    # given
    wallet = funded("10.00")
    entries_before = LedgerEntry.objects.count()
    # when
    entry = move(wallet)
    # then
    assert balance(wallet) == Decimal(expected_balance)
    assert LedgerEntry.objects.count() == entries_before + 1
    assert entry.kind == kind
    assert entry.balance_after == Decimal(expected_balance)


def test_a_refund_changes_the_balance_and_writes_one_entry():
    wallet = funded("10.00")
    wallet_charge(wallet=wallet, amount=Decimal("3.00"), reference=ORDER)
    entries_before = LedgerEntry.objects.count()

    entry = wallet_refund(wallet=wallet, amount=Decimal("1.25"), reference=ORDER)

    assert LedgerEntry.objects.count() == entries_before + 1
    assert (entry.kind, entry.amount, entry.balance_after) == (
        "refund",
        Decimal("1.25"),
        Decimal("8.25"),
    )
    assert balance(wallet) == Decimal("8.25")


@pytest.mark.parametrize(
    "move",
    [
        lambda w, actor: wallet_refund(wallet=w, amount=Decimal("1"), reference=ORDER),
        lambda w, actor: wallet_adjust(
            wallet=w, amount=Decimal("2"), actor=actor, reason="fix", idempotency_key="ticket-7"
        ),
        lambda w, actor: wallet_forfeit(wallet=w, reference=Reference("account_deletion", 3)),
    ],
    ids=["refund", "adjust", "forfeit"],
)
def test_replaying_refund_adjust_and_forfeit_is_a_no_op(move):
    wallet = funded("10.00")
    wallet_charge(wallet=wallet, amount=Decimal("4.00"), reference=ORDER)
    actor = StaffFactory()

    first = move(wallet, actor)
    after_first = balance(wallet)
    second = move(wallet, actor)

    assert second.pk == first.pk
    assert balance(wallet) == after_first
    assert wallet.entries.filter(kind=first.kind).count() == 1


def test_a_deposit_key_taken_by_another_wallet_is_refused():
    first, second = funded("1.00"), funded("1.00")
    wallet_deposit(wallet=first, amount=Decimal("5"), idempotency_key="processor-tx-9")

    with pytest.raises(IdempotencyKeyReused):
        wallet_deposit(wallet=second, amount=Decimal("5"), idempotency_key="processor-tx-9")
    assert balance(second) == Decimal("1.00")


def test_refund_gives_back_what_was_charged():
    wallet = funded("10.00")
    wallet_charge(wallet=wallet, amount=Decimal("3.00"), reference=ORDER)

    entry = wallet_refund(wallet=wallet, amount=Decimal("3.00"), reference=ORDER)

    assert entry.amount == Decimal("3.00")
    assert balance(wallet) == Decimal("10.00")


def test_a_refund_records_the_operator_who_decided_it():
    wallet = funded("10.00")
    wallet_charge(wallet=wallet, amount=Decimal("3.00"), reference=ORDER)
    operator = StaffFactory()

    entry = wallet_refund(wallet=wallet, amount=Decimal("3.00"), reference=ORDER, actor=operator)

    entry.refresh_from_db()
    assert entry.actor == operator


def test_a_charge_beyond_the_balance_raises_and_writes_nothing():
    wallet = funded("1.00")
    entries_before = LedgerEntry.objects.count()

    with pytest.raises(InsufficientFunds) as error:
        wallet_charge(wallet=wallet, amount=Decimal("1.01"), reference=ORDER)

    assert error.value.code == "NO_BALANCE"
    assert LedgerEntry.objects.count() == entries_before
    assert balance(wallet) == Decimal("1.00")


def test_a_repeated_idempotency_key_is_a_no_op():
    wallet = funded("10.00")

    first = wallet_charge(wallet=wallet, amount=Decimal("4.00"), reference=ORDER)
    second = wallet_charge(wallet=wallet, amount=Decimal("4.00"), reference=ORDER)
    deposit = wallet_deposit(wallet=wallet, amount=Decimal("5"), idempotency_key="processor-1")
    deposit_again = wallet_deposit(
        wallet=wallet, amount=Decimal("5"), idempotency_key="processor-1"
    )

    assert first.pk == second.pk
    assert deposit.pk == deposit_again.pk
    assert balance(wallet) == Decimal("11.00")
    assert wallet.entries.count() == 3


def test_a_key_reused_for_another_movement_is_refused():
    wallet = funded("10.00")
    wallet_charge(wallet=wallet, amount=Decimal("4.00"), reference=ORDER)

    with pytest.raises(IdempotencyKeyReused):
        wallet_charge(wallet=wallet, amount=Decimal("5.00"), reference=ORDER)
    assert balance(wallet) == Decimal("6.00")


def test_refunds_never_exceed_the_charge():
    wallet = funded("10.00")
    wallet_charge(wallet=wallet, amount=Decimal("4.00"), reference=ORDER)
    wallet_refund(wallet=wallet, amount=Decimal("4.00"), reference=ORDER)

    with pytest.raises(RefundExceedsCharge):
        wallet_refund(
            wallet=wallet, amount=Decimal("0.01"), reference=ORDER, idempotency_key="second"
        )
    with pytest.raises(RefundExceedsCharge):
        wallet_refund(wallet=wallet, amount=Decimal("1"), reference=Reference("activation", 2))
    assert balance(wallet) == Decimal("10.00")


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("-1"), Decimal("0.00001"), Decimal("NaN"), 1.5]
)
def test_bad_amounts_are_refused(amount):
    wallet = funded("10.00")

    with pytest.raises(InvalidAmount):
        wallet_charge(wallet=wallet, amount=amount, reference=ORDER)
    assert balance(wallet) == Decimal("10.00")


def test_an_adjustment_needs_a_reason():
    wallet = funded("10.00")

    with pytest.raises(InvalidAmount):
        wallet_adjust(wallet=wallet, amount=Decimal("1"), actor=StaffFactory(), reason="  ")


def test_forfeit_of_an_empty_wallet_writes_nothing():
    wallet = WalletFactory()

    assert wallet_forfeit(wallet=wallet, reference=Reference("account_deletion", 9)) is None
    assert wallet.entries.count() == 0


def test_postgresql_refuses_a_negative_balance():
    wallet = funded("1.00")

    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("-0.01"))


def test_postgresql_refuses_a_zero_amount_entry():
    wallet = funded("1.00")

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            wallet=wallet, kind="charge", amount=0, balance_after=1, idempotency_key="zero"
        )


def test_postgresql_refuses_to_change_or_delete_a_ledger_entry():
    wallet = funded("1.00")
    entry = wallet.entries.get()

    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1000"))
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.amount == Decimal("1.00")


def test_summary_adds_up_recharges_and_consumption():
    wallet = funded("10.00")
    wallet_charge(wallet=wallet, amount=Decimal("3.00"), reference=ORDER)
    other = Reference("activation", 2)
    wallet_charge(wallet=wallet, amount=Decimal("2.00"), reference=other)
    wallet_refund(wallet=wallet, amount=Decimal("2.00"), reference=other)

    summary = wallet_summary(wallet=wallet)

    assert summary.balance == Decimal("7.00")
    assert summary.total_recharge == Decimal("10.00")
    assert summary.total_consume == Decimal("3.00")
    assert summary.frozen_amount == Decimal("0")


def test_check_ledger_passes_on_whole_books_and_names_a_broken_wallet(capsys):
    healthy = funded("5.00")
    call_command("check_ledger")
    broken = funded("5.00")
    with connection.cursor() as cursor:  # simulate a bug that bypassed the services
        cursor.execute("UPDATE wallets_wallet SET balance = 7 WHERE id = %s", [broken.pk])

    with pytest.raises(CommandError) as error:
        call_command("check_ledger")

    assert error.value.returncode == 1
    err = capsys.readouterr().err
    assert f"wallet {broken.pk} " in err
    assert f"wallet {healthy.pk} " not in err


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_charging_one_wallet_never_take_it_below_zero():
    # given: money for exactly 7 charges of 1.00
    wallet = funded("7.00")
    results: list[str] = []
    barrier = threading.Barrier(20)

    def charge(n: int) -> None:
        barrier.wait()
        try:
            wallet_charge(
                wallet=wallet, amount=Decimal("1.00"), reference=Reference("activation", n)
            )
            results.append("ok")
        except InsufficientFunds:
            results.append("no balance")
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=charge, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert results.count("ok") == 7
    assert results.count("no balance") == 13
    assert balance(wallet) == Decimal("0")
    assert wallet.entries.filter(kind="charge").count() == 7
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_movement_charge_once():
    wallet = funded("7.00")
    barrier = threading.Barrier(10)
    entries: list[int] = []

    def retry() -> None:
        barrier.wait()
        try:
            entries.append(wallet_charge(wallet=wallet, amount=Decimal("2"), reference=ORDER).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(entries)) == 1
    assert len(entries) == 10
    assert balance(wallet) == Decimal("5.00")
    call_command("check_ledger")
