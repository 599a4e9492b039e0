"""The authentication backend of smsbox: Django's ``ModelBackend`` whose ``get_user`` (run on
every request of a signed-in user, the dashboard's polls included) reads the user from a Redis
copy of their row (``smsbox.copies``) and the row only when there is no copy.

Every save or delete of a user drops their copy (``user_copy_drop``, connected in
``smsbox.apps``), at once and again after the commit; so do the services that change users with
``QuerySet.update()`` (``user_record_activity``). A block, a password change or "log out other
sessions" therefore takes effect on the next request, as before; a lost drop (a process killed
between its commit and its callback) is bounded by ``SMSBOX_USER_CACHE_SECONDS``. Without Redis
every request reads the row.
"""

import hashlib
import pickle
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import router

from smsbox.copies import copies_drop, copy_fill, copy_read
from smsbox.models import User

# The row's fields in the model's order (as ``Model.from_db`` wants them); their names are part
# of the copy's key, so that a process of another release never reads a copy of another shape.
_COLUMNS = [field.attname for field in User._meta.concrete_fields]
_LAYOUT = hashlib.blake2b(" ".join(_COLUMNS).encode(), digest_size=4).hexdigest()


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            pk = User._meta.pk.to_python(user_id)
        except ValidationError:  # a tampered session: nobody is signed in
            return None
        alias = router.db_for_read(User)
        copy, token = copy_read(*_keys(pk))
        if copy is not None:
            user = User.from_db(alias, _COLUMNS, pickle.loads(copy))  # noqa: S301 (our own Redis)
        else:
            user = User._base_manager.using(alias).filter(pk=pk).first()
            if user is None:
                return None
            values = pickle.dumps([getattr(user, column) for column in _COLUMNS])
            copy_fill(*_keys(pk), seen=token, value=values, seconds=_seconds())
        return user if self.user_can_authenticate(user) else None


def user_copy_drop(user_ids: Iterable[int]) -> None:
    """Drop the cached copies of these users' rows, now and again after the commit."""
    copies_drop([_keys(user_id) for user_id in user_ids])


def on_user_written(sender, instance: User, created: bool = False, **kwargs) -> None:
    """``post_save`` / ``post_delete`` of User: a new row has no copy yet."""
    if not created:
        user_copy_drop([instance.pk])


def _keys(user_id: int) -> tuple[str, str]:
    return f"user:{_LAYOUT}:{user_id}", f"user:gen:{user_id}"


def _seconds() -> int:
    return settings.SMSBOX_USER_CACHE_SECONDS
