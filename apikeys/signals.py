"""Keep the cached key checks (``apikeys.selectors.api_key_remember``) true to the database.

A cached check carries its user, so a change to the user (deactivation, a ban, the anonymising
deletion of the account) drops the cached checks of all their keys at once, and so does the
deletion of a key row (e.g. by the cascade of a deleted account). Revoke and regenerate drop
theirs in ``apikeys.services``. This is cache upkeep only: no rule of the business lives here.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from apikeys.models import ApiKey
from apikeys.selectors import api_key_forget
from smsbox.models import User


def _forget_now_and_on_commit(digests: list[str]) -> None:
    def forget() -> None:
        for digest in digests:
            api_key_forget(digest)

    forget()
    transaction.on_commit(forget)


def forget_keys_of_changed_user(sender: type, instance: User, created: bool, **kwargs) -> None:
    if created:
        return
    digests = list(ApiKey.objects.filter(user_id=instance.pk).values_list("digest", flat=True))
    if digests:
        _forget_now_and_on_commit(digests)


def forget_deleted_key(sender: type, instance: ApiKey, **kwargs) -> None:
    _forget_now_and_on_commit([instance.digest])


def connect() -> None:
    post_save.connect(forget_keys_of_changed_user, sender=User, dispatch_uid="apikeys.user")
    post_delete.connect(forget_deleted_key, sender=ApiKey, dispatch_uid="apikeys.key")
