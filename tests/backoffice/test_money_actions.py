"""Maker-checker adjustments and refunds under concurrency (real threads on PostgreSQL), and
the audit row committing or rolling back with its change."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from rentals.backoffice.actions import AlreadyRefunded, order_refund
from smsbox.errors import ApplicationError, PermissionDenied
from smsbox.models import OperatorAction
from tests.backoffice.conftest import bought
from wallets.adjustments import adjustment_approve, adjustment_reject, operator_adjust
from wallets.errors import AdjustmentAlreadyDecided, SelfApprovalRefused
from wallets.models import AdjustmentRequest, LedgerEntry
from wallets.services import wallet_get_or_create


def big_request(customer, maker, settings, amount="500"):
    settings.SMSBOX_FOUR_EYES_THRESHOLD = Decimal("100")
    outcome = operator_adjust(
        wallet=wallet_get_or_create(user=customer),
        amount=Decimal(amount),
        actor=maker,
        reason="wire transfer booked by hand",
        token="req-1",
    )
    assert outcome.entry is None
    return outcome.request


@pytest.mark.django_db
def test_above_the_threshold_nothing_moves_until_another_operator_approves(
    customer, operator_of, settings
):
    maker, checker = operator_of("Finance"), operator_of("Finance")
    request = big_request(customer, maker, settings)
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()
    with pytest.raises(SelfApprovalRefused):
        adjustment_approve(request_id=request.pk, checker=maker)
    adjustment_approve(request_id=request.pk, checker=checker)
    customer.wallet.refresh_from_db()
    assert customer.wallet.balance == Decimal("550.00")
    with pytest.raises(AdjustmentAlreadyDecided):
        adjustment_approve(request_id=request.pk, checker=checker)
    actions = list(OperatorAction.objects.order_by("id").values_list("action", "actor_email"))
    assert actions == [("adjustment.request", maker.email), ("balance.adjust", checker.email)]


@pytest.mark.django_db
def test_a_rejected_request_moves_nothing(customer, operator_of, settings):
    request = big_request(customer, operator_of("Finance"), settings)
    adjustment_reject(request_id=request.pk, checker=operator_of("Owner"), note="no proof")
    request.refresh_from_db()
    assert request.status == "rejected" and request.entry is None
    assert customer.wallet.balance == Decimal("50.00")


@pytest.mark.django_db
def test_support_cannot_approve(customer, operator_of, settings):
    request = big_request(customer, operator_of("Finance"), settings)
    with pytest.raises(PermissionDenied):
        adjustment_approve(request_id=request.pk, checker=operator_of("Support"))


def _race(calls) -> list[object]:
    """Run the calls at the same moment, each in its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except (ApplicationError, Exception) as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_move_the_money_once(customer, operator_of, settings):
    request = big_request(customer, operator_of("Finance"), settings)
    checkers = [operator_of("Finance"), operator_of("Owner")]
    results = _race(
        [lambda c=c: adjustment_approve(request_id=request.pk, checker=c) for c in checkers]
    )
    assert sum(isinstance(r, AdjustmentRequest) for r in results) == 1
    assert sum(isinstance(r, AdjustmentAlreadyDecided) for r in results) == 1
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 1
    customer.wallet.refresh_from_db()
    assert customer.wallet.balance == Decimal("550.00")


@pytest.mark.django_db(transaction=True)
def test_two_operators_refunding_at_once_refund_once(customer, operator_of):
    activation = bought(customer, price=Decimal("4.00"))
    operators = [operator_of("Support"), operator_of("Finance")]
    results = _race(
        [
            lambda o=o: order_refund(actor=o, order=activation, reason="customer complaint")
            for o in operators
        ]
    )
    assert sorted(type(r).__name__ for r in results) == ["AlreadyRefunded", "Decimal"]
    assert LedgerEntry.objects.filter(kind="refund").count() == 1
    assert OperatorAction.objects.filter(action="order.refund").count() == 1
    customer.wallet.refresh_from_db()
    assert customer.wallet.balance == Decimal("50.00")


@pytest.mark.django_db
def test_a_refused_refund_says_why(customer, operator_of, order):
    support = operator_of("Support")
    order_refund(actor=support, order=order, reason="no code")
    with pytest.raises(AlreadyRefunded, match="already refunded"):
        order_refund(actor=support, order=order, reason="no code")


@pytest.mark.django_db(transaction=True)
def test_the_change_and_its_audit_row_commit_together(customer, operator_of, monkeypatch):
    # given: the audit row's insert fails
    support = operator_of("Support")
    activation = bought(customer, price=Decimal("4.00"))

    def broken(**kwargs):
        OperatorAction.objects.create(action="x" * 65, target_kind="", target_id="")

    monkeypatch.setattr("rentals.backoffice.actions.audit_record", broken)
    # when
    with pytest.raises(Exception):  # noqa: B017 (PostgreSQL refuses the too-long value)
        order_refund(actor=support, order=activation, reason="no code")
    # then: no refund either
    activation.refresh_from_db()
    assert activation.state == "waiting"
    assert not LedgerEntry.objects.filter(kind="refund").exists()


@pytest.mark.django_db
def test_the_audit_log_is_append_only_in_postgresql(customer, operator_of, order):
    order_refund(actor=operator_of("Support"), order=order, reason="no code")
    for change in (
        lambda: OperatorAction.objects.update(reason="nothing happened"),
        lambda: OperatorAction.objects.all().delete(),
    ):
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            change()
    assert OperatorAction.objects.get().reason == "no code"


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction(customer):
    from smsbox.audit import audit_record

    with pytest.raises(RuntimeError):
        audit_record(actor=None, action="x", target=customer)
