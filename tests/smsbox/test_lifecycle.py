"""Account lifecycle rules, with the clock moved by time-machine."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from smsbox import lifecycle
from smsbox.models import JobRun, User
from smsbox.services import user_record_activity
from tests.factories import StaffFactory, UserFactory, WalletFactory
from wallets.models import LedgerEntry, Wallet
from wallets.selectors import wallets_out_of_balance
from wallets.services import wallet_deposit

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.SMSBOX_UNVERIFIED_ACCOUNT_DAYS = 7
    settings.SMSBOX_INACTIVE_ACCOUNT_DAYS = 365
    settings.SMSBOX_INACTIVITY_NOTICE_DAYS = [30, 7]


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def exists(user: User) -> bool:
    return User.objects.filter(pk=user.pk).exists()


def funded(user: User, amount: str) -> Wallet:
    wallet = WalletFactory(user=user)
    wallet_deposit(wallet=wallet, amount=Decimal(amount), idempotency_key=f"tx-{user.pk}")
    return wallet


def active_customer(moment: datetime) -> User:
    with at(moment):
        user = UserFactory()
        user_record_activity(user=user)
    return user


# --- Unverified accounts ----------------------------------------------------------------------


def test_unverified_account_is_kept_within_the_window_and_deleted_after_it():
    with at(T0):
        user = UserFactory(is_verified=False, verified_at=None)

    with at(T0 + days(7) - timedelta(minutes=1)):
        assert lifecycle.accounts_delete_unverified() == 0
    assert exists(user)

    with at(T0 + days(7) + timedelta(minutes=1)):
        assert lifecycle.accounts_delete_unverified() == 1
    assert not exists(user)


def test_verified_and_staff_accounts_are_not_deleted_as_unverified():
    with at(T0):
        verified = UserFactory()
        operator = StaffFactory(is_verified=False)

    with at(T0 + days(30)):
        assert lifecycle.accounts_delete_unverified() == 0
    assert exists(verified) and exists(operator)


def test_the_verification_window_is_a_setting(settings):
    settings.SMSBOX_UNVERIFIED_ACCOUNT_DAYS = 2
    with at(T0):
        user = UserFactory(is_verified=False, verified_at=None)

    with at(T0 + days(3)):
        lifecycle.accounts_delete_unverified()
    assert not exists(user)


# --- Inactivity notices -----------------------------------------------------------------------


def test_each_inactivity_notice_is_sent_once():
    user = active_customer(T0)
    deletion = T0 + days(365)

    with at(deletion - days(31)):
        assert lifecycle.accounts_notify_inactive() == 0
    assert mail.outbox == []

    with at(deletion - days(30)):
        assert lifecycle.accounts_notify_inactive() == 1
    with at(deletion - days(29)):
        assert lifecycle.accounts_notify_inactive() == 0
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert "2027-01-01" in mail.outbox[0].subject

    with at(deletion - days(7)):
        assert lifecycle.accounts_notify_inactive() == 1
    with at(deletion - days(1)):
        assert lifecycle.accounts_notify_inactive() == 0
    assert len(mail.outbox) == 2
    user.refresh_from_db()
    assert user.inactivity_notice_days == 7


def test_a_late_first_run_sends_only_the_shortest_notice_that_is_due():
    user = active_customer(T0)

    with at(T0 + days(365 - 5)):
        assert lifecycle.accounts_notify_inactive() == 1
    user.refresh_from_db()
    assert user.inactivity_notice_days == 7
    assert len(mail.outbox) == 1


def test_activity_resets_the_notices():
    user = active_customer(T0)
    with at(T0 + days(365 - 30)):
        lifecycle.accounts_notify_inactive()
        user_record_activity(user=User.objects.get(pk=user.pk))
    user.refresh_from_db()
    assert user.inactivity_notice_days is None

    with at(T0 + days(365 - 30) + days(365 - 30)):
        assert lifecycle.accounts_notify_inactive() == 1
    assert len(mail.outbox) == 2


def test_unverified_accounts_get_no_inactivity_notice():
    with at(T0):
        UserFactory(is_verified=False, verified_at=None)
    with at(T0 + days(365 - 7)):
        assert lifecycle.accounts_notify_inactive() == 0


# --- Inactive accounts ------------------------------------------------------------------------


def notified(user_start: datetime) -> User:
    """A customer last active at ``user_start`` who got both notices on time."""
    user = active_customer(user_start)
    for lead in (30, 7):
        with at(user_start + days(365 - lead)):
            lifecycle.accounts_notify_inactive()
    return user


def test_inactive_account_is_deleted_after_the_limit_and_active_ones_are_kept():
    inactive = notified(T0)
    active = notified(T0)
    with at(T0 + days(364)):
        user_record_activity(user=User.objects.get(pk=active.pk))

    with at(T0 + days(365) - timedelta(minutes=1)):
        assert lifecycle.accounts_delete_inactive() == 0
    assert exists(inactive)

    with at(T0 + days(365) + timedelta(minutes=1)):
        assert lifecycle.accounts_delete_inactive() == 1
    assert not exists(inactive)
    assert exists(active)


def test_no_deletion_before_the_last_notice_had_its_full_lead_time():
    user = active_customer(T0)
    # The notice job was down: the 7-day notice goes out only after the limit has passed.
    with at(T0 + days(370)):
        lifecycle.accounts_notify_inactive()
        assert lifecycle.accounts_delete_inactive() == 0
    with at(T0 + days(376)):
        assert lifecycle.accounts_delete_inactive() == 0
    with at(T0 + days(377) + timedelta(minutes=1)):
        assert lifecycle.accounts_delete_inactive() == 1
    assert not exists(user)


def test_deletion_forfeits_the_balance_and_keeps_the_books_balanced(capsys):
    user = notified(T0)
    wallet = funded(user, "12.3400")

    with at(T0 + days(366)):
        lifecycle.accounts_delete_inactive()

    wallet.refresh_from_db()
    assert wallet.user_id is None
    assert wallet.balance == Decimal("0")
    forfeit = LedgerEntry.objects.get(wallet=wallet, kind=LedgerEntry.Kind.FORFEIT)
    assert forfeit.amount == Decimal("-12.3400")
    assert (forfeit.reference_kind, forfeit.reference_id) == ("account_deletion", str(user.pk))
    assert not wallets_out_of_balance().exists()
    call_command("check_ledger")
    assert "ledger ok" in capsys.readouterr().out


def test_deletion_removes_the_personal_data():
    with at(T0):
        user = UserFactory(
            is_verified=False, verified_at=None, webhook_url="https://hooks.example.com/x"
        )
    with at(T0 + days(8)):
        lifecycle.accounts_delete_unverified()
    assert not User.objects.filter(email=user.email).exists()
    assert not User.objects.filter(webhook_url="https://hooks.example.com/x").exists()


def test_a_guard_keeps_the_account_with_its_balance():
    user = notified(T0)
    wallet = funded(user, "5")

    def active_rental(candidate: User) -> str | None:
        return "active rental" if candidate.pk == user.pk else None

    lifecycle.register_deletion_guard(active_rental)
    try:
        with at(T0 + days(366)):
            assert lifecycle.accounts_delete_inactive() == 0
    finally:
        lifecycle.unregister_deletion_guard(active_rental)
    assert exists(user)
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("5")


def test_a_failing_handler_rolls_the_deletion_back_and_the_run_records_it():
    with at(T0):
        user = UserFactory(is_verified=False, verified_at=None)

    def broken(candidate: User) -> None:
        raise RuntimeError("upstream of the handler is down")

    lifecycle.register_deletion_handler(broken)
    try:
        with at(T0 + days(8)):
            assert lifecycle.accounts_delete_unverified() == 0
    finally:
        lifecycle.unregister_deletion_handler(broken)
    assert exists(user)
    run = JobRun.objects.get(name="accounts.delete_unverified")
    assert run.status == JobRun.Status.OK
    assert run.errors == 1
    assert "upstream of the handler is down" in run.error


def test_a_protected_row_is_anonymised_in_place(monkeypatch):
    from django.db.models import ProtectedError

    with at(T0):
        user = UserFactory(
            is_verified=False, verified_at=None, webhook_url="https://hooks.example.com/y"
        )

    def refuse(self, *args, **kwargs):
        raise ProtectedError("history refers to it", set())

    monkeypatch.setattr(User, "delete", refuse)
    with at(T0 + days(8)):
        assert lifecycle.accounts_delete_unverified() == 1
        # Anonymised rows are not candidates any more.
        assert lifecycle.accounts_delete_unverified() == 0
    user.refresh_from_db()
    assert user.email == f"deleted-{user.pk}@deleted.invalid"
    assert not user.has_usable_password()
    assert user.webhook_url == ""
    assert not user.is_active
    assert user.deleted_at is not None


def test_each_run_is_recorded_with_the_rows_it_touched():
    with at(T0):
        UserFactory.create_batch(3, is_verified=False, verified_at=None)
    with at(T0 + days(8)):
        lifecycle.accounts_delete_unverified(batch_size=2)
    run = JobRun.objects.get(name="accounts.delete_unverified")
    assert (run.status, run.rows, run.errors) == (JobRun.Status.OK, 3, 0)
    assert run.finished_at is not None and run.hostname


# --- Dry run ----------------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_changes_nothing(capsys):
    with at(T0):
        unverified = UserFactory(is_verified=False, verified_at=None)
    to_notify = active_customer(T0 + days(10))
    to_delete = notified(T0 - days(30))
    funded(to_delete, "3")
    users_before = User.objects.count()
    entries_before = LedgerEntry.objects.count()

    with at(T0 + days(10) + days(365 - 30)):
        call_command("accounts_lifecycle", "--dry-run")

    out = capsys.readouterr().out
    assert f"would delete unverified user {unverified.pk}" in out
    assert f"would send the 30-day inactivity notice to user {to_notify.pk}" in out
    assert f"would delete inactive user {to_delete.pk}" in out
    assert "nothing changed" in out
    assert User.objects.count() == users_before
    assert LedgerEntry.objects.count() == entries_before
    assert User.objects.get(pk=to_notify.pk).inactivity_notice_days is None
    assert len(mail.outbox) == 2  # the notices of ``to_delete``, sent before the dry run


def test_the_command_without_dry_run_does_the_work(capsys):
    with at(T0):
        unverified = UserFactory(is_verified=False, verified_at=None)
    with at(T0 + days(8)):
        call_command("accounts_lifecycle")
    assert "deleted 1 unverified account(s)" in capsys.readouterr().out
    assert not exists(unverified)


def test_the_dry_run_of_one_job_prints_only_that_job(capsys):
    with at(T0):
        unverified = UserFactory(is_verified=False, verified_at=None)
    to_notify = active_customer(T0 + days(10))

    with at(T0 + days(10) + days(365 - 30)):
        call_command("accounts_lifecycle", "--dry-run", "--job", "notify-inactive")

    out = capsys.readouterr().out
    assert f"user {to_notify.pk}" in out
    assert f"user {unverified.pk}" not in out
    assert exists(unverified)


def test_a_deactivated_account_gets_no_notice():
    user = active_customer(T0)
    User.objects.filter(pk=user.pk).update(is_active=False)
    with at(T0 + days(365 - 7)):
        assert lifecycle.accounts_notify_inactive() == 0


def test_a_late_notice_announces_the_real_earliest_deletion_date():
    user = active_customer(T0)
    # The 30-day notice goes out only 25 days before the limit; the 7-day one follows.
    with at(T0 + days(340)):
        lifecycle.accounts_notify_inactive()
    assert "2027-01-01" in mail.outbox[0].subject
    with at(T0 + days(358)):
        lifecycle.accounts_notify_inactive()
    with at(T0 + days(365) + timedelta(minutes=1)):
        assert lifecycle.accounts_delete_inactive() == 1
    assert not exists(user)


def test_a_notice_the_mail_server_refused_is_sent_on_the_next_run(settings):
    user = active_customer(T0)
    settings.EMAIL_BACKEND = "tests.smsbox.test_signup.RefusingBackend"
    with at(T0 + days(365 - 30)):
        assert lifecycle.accounts_notify_inactive() == 0
    assert User.objects.get(pk=user.pk).inactivity_notice_days is None
    assert JobRun.objects.get(name="accounts.notify_inactive").errors == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with at(T0 + days(365 - 29)):
        assert lifecycle.accounts_notify_inactive() == 1
    assert [m.to for m in mail.outbox] == [[user.email]]
