"""Two sweeps at once (real threads, real PostgreSQL): every account is handled exactly once."""

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from smsbox import lifecycle
from smsbox.models import User
from tests.factories import UserFactory, WalletFactory
from wallets.models import LedgerEntry
from wallets.selectors import wallets_out_of_balance
from wallets.services import wallet_deposit

pytestmark = pytest.mark.django_db(transaction=True)

N = 60


def run_twice_at_once(sweep) -> list[int]:
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(sweep(batch_size=7))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_two_deletion_sweeps_delete_and_forfeit_each_account_once(settings):
    settings.SMSBOX_UNVERIFIED_ACCOUNT_DAYS = 7
    old = timezone.now() - timedelta(days=8)
    users = UserFactory.create_batch(N, is_verified=False, verified_at=None, created_at=old)
    for user in users[::2]:
        wallet = WalletFactory(user=user)
        wallet_deposit(wallet=wallet, amount=Decimal("2.5"), idempotency_key=f"tx-{user.pk}")

    results = run_twice_at_once(lifecycle.accounts_delete_unverified)

    assert sum(results) == N
    assert not User.objects.filter(pk__in=[u.pk for u in users]).exists()
    forfeits = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.FORFEIT)
    assert forfeits.count() == N // 2
    assert not wallets_out_of_balance().exists()


def test_two_notice_sweeps_send_each_notice_once(settings):
    settings.SMSBOX_INACTIVE_ACCOUNT_DAYS = 365
    settings.SMSBOX_INACTIVITY_NOTICE_DAYS = [30, 7]
    seen = timezone.now() - timedelta(days=365 - 20)
    UserFactory.create_batch(N, last_activity_at=seen)

    results = run_twice_at_once(lifecycle.accounts_notify_inactive)

    assert sum(results) == N
    recipients = Counter(message.to[0] for message in mail.outbox)
    assert len(recipients) == N
    assert set(recipients.values()) == {1}
