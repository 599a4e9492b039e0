from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from smsbox.models import User


def user_record_activity(*, user: User, now=None) -> bool:
    """Note that ``user`` is active, writing at most once per ``SMSBOX_ACTIVITY_WRITE_INTERVAL``.

    Answers whether a row was written. The conditional UPDATE keeps concurrent requests of one
    user to a single write per interval.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.SMSBOX_ACTIVITY_WRITE_INTERVAL)
    if user.last_activity_at is not None and user.last_activity_at >= stale_before:
        return False
    written = (
        User.objects.filter(pk=user.pk)
        .filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=stale_before))
        .update(last_activity_at=now)
    )
    user.last_activity_at = now
    return bool(written)
