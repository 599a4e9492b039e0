"""The part of apikeys in an account's deletion (``smsbox.lifecycle``): the keys go for good."""

from django.db import transaction
from django.utils import timezone

from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.selectors import api_key_forget
from smsbox.models import User


def api_keys_erase_for_user(user: User) -> None:
    """Revoke and delete every key of ``user`` with its audit rows, and drop the cached checks.

    A deletion handler: it runs inside the deletion transaction with the user row locked. The
    keys are revoked first so that no request treats them as live while the transaction runs;
    the cached checks are dropped now and again on commit, so a request racing the deletion
    cannot leave a key cached.
    """
    keys = ApiKey.objects.select_for_update().filter(user=user).order_by("pk")
    digests = [key.digest for key in keys]
    if not digests:
        return
    ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    ApiKeyEvent.objects.filter(user=user).delete()
    ApiKey.objects.filter(user=user).delete()
    _forget(digests)


def _forget(digests: list[str]) -> None:
    def forget() -> None:
        for digest in digests:
            api_key_forget(digest)

    forget()
    transaction.on_commit(forget)
