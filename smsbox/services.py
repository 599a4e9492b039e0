import contextlib
import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from smsbox.account_errors import (
    EmailNotSent,
    EmailTaken,
    EmailUnchanged,
    VerificationLinkExpired,
    VerificationLinkInvalid,
)
from smsbox.auth_backends import user_copy_drop
from smsbox.emails import email_send
from smsbox.models import User

logger = logging.getLogger(__name__)

_VERIFICATION_SALT = "smsbox.email-verification"
# A sign-up with a taken address notifies its owner at most once per this many seconds.
SIGN_UP_NOTICE_SECONDS = 15 * 60


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
        .update(last_activity_at=now, inactivity_notice_days=None, inactivity_notice_sent_at=None)
    )
    user.last_activity_at = now
    if written:
        user.inactivity_notice_days = user.inactivity_notice_sent_at = None
        user_copy_drop([user.pk])
    return bool(written)


# --- Sign-up and e-mail verification ----------------------------------------------------------


def user_sign_up(*, email: str, password: str, base_url: str | None = None) -> User | None:
    """Create an unverified account and send it the verification link.

    The answer to the person signing up must not tell whether the address already has an
    account: when it has, nothing is created, its owner is e-mailed a notice instead (see
    ``user_sign_up_notify_owner``) and this answers None. The password is hashed either way, so
    the two cases also take about as long. The password must have passed the validators already
    (the sign-up form runs them).
    """
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        make_password(password)  # the time a new account's hash would have taken
        user_sign_up_notify_owner(email=email, base_url=base_url)
        return None
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
    except IntegrityError:  # the same address signed up a moment ago
        user_sign_up_notify_owner(email=email, base_url=base_url)
        return None
    with contextlib.suppress(EmailNotSent):  # logged; the customer can ask for a new link
        user_verification_send(user=user, base_url=base_url)
    return user


def user_sign_up_notify_owner(*, email: str, base_url: str | None = None) -> bool:
    """Tell the owner of ``email`` that someone tried to sign up with it, at most once per
    ``SIGN_UP_NOTICE_SECONDS``; answers whether a notice was sent.

    Anonymised and deactivated accounts get nothing. A mail server that is down is logged and
    otherwise ignored: the person signing up sees the same page whatever happens here.
    """
    owner = User.objects.filter(email__iexact=email, is_active=True, deleted_at__isnull=True)
    owner = owner.first()
    if owner is None:
        return False
    key = f"sign-up-notice-sent:{owner.pk}"
    if not cache.add(key, 1, timeout=SIGN_UP_NOTICE_SECONDS):
        return False
    site = (base_url or settings.SMSBOX_SITE_URL).rstrip("/")
    try:
        email_send(
            template="account_exists",
            to=owner.email,
            context={
                "user": owner,
                "login_link": f"{site}{reverse('login')}",
                "reset_link": f"{site}{reverse('password_reset')}",
                "resend_link": f"{site}{reverse('verify-email-resend')}",
            },
        )
    except (OSError, smtplib.SMTPException):
        cache.delete(key)
        logger.exception("sign-up notice to user %s not sent", owner.pk)
        return False
    return True


def user_verification_token(*, user: User) -> str:
    """A signed token naming the account and the address it verifies; it expires."""
    return signing.dumps({"u": user.pk, "e": user.email}, salt=_VERIFICATION_SALT)


def user_verification_send(*, user: User, base_url: str | None = None) -> bool:
    """E-mail ``user`` a verification link, at most once a minute; answers whether it was sent."""
    if user.is_verified or not cache.add(f"verification-sent:{user.pk}", 1, timeout=60):
        return False
    path = reverse("verify-email", kwargs={"token": user_verification_token(user=user)})
    try:
        email_send(
            template="verify_email",
            to=user.email,
            context={
                "user": user,
                "link": f"{(base_url or settings.SMSBOX_SITE_URL).rstrip('/')}{path}",
                "hours": settings.SMSBOX_VERIFICATION_LINK_HOURS,
            },
        )
    except (OSError, smtplib.SMTPException) as exc:  # the mail server is down or refused
        cache.delete(f"verification-sent:{user.pk}")
        logger.exception("verification e-mail to user %s not sent", user.pk)
        raise EmailNotSent() from exc
    return True


def user_verify_email(*, token: str) -> User:
    """Mark the account named by ``token`` verified (again: a no-op)."""
    max_age = timedelta(hours=settings.SMSBOX_VERIFICATION_LINK_HOURS)
    try:
        data = signing.loads(token, salt=_VERIFICATION_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise VerificationLinkExpired() from exc
    except signing.BadSignature as exc:
        raise VerificationLinkInvalid() from exc
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("e"))
        user = user.filter(is_active=True).first()
        if user is None:
            raise VerificationLinkInvalid()
        if not user.is_verified:
            user.is_verified = True
            user.verified_at = timezone.now()
            user.save(update_fields=["is_verified", "verified_at"])
    return user


# --- Account: e-mail change and sessions ------------------------------------------------------
_EMAIL_CHANGE_SALT = "smsbox.email-change"


def user_email_change_request(*, user: User, new_email: str, base_url: str | None = None) -> bool:
    """E-mail a confirmation link to ``new_email``; the address changes only once it is opened
    (``user_email_change_confirm``). Answers whether a link was sent: an address that another
    account uses gets nothing (and the answer to the customer does not tell)."""
    new_email = User.objects.normalize_email(new_email).strip().lower()
    if new_email == user.email.lower():
        raise EmailUnchanged()
    if User.objects.filter(email__iexact=new_email).exists():
        return False
    token = signing.dumps({"u": user.pk, "o": user.email, "e": new_email}, salt=_EMAIL_CHANGE_SALT)
    path = reverse("email-change-confirm", kwargs={"token": token})
    try:
        email_send(
            template="email_change",
            to=new_email,
            context={
                "old_email": user.email,
                "link": f"{(base_url or settings.SMSBOX_SITE_URL).rstrip('/')}{path}",
                "hours": settings.SMSBOX_EMAIL_CHANGE_LINK_HOURS,
            },
        )
    except (OSError, smtplib.SMTPException) as exc:
        logger.exception("e-mail change link for user %s not sent", user.pk)
        raise EmailNotSent() from exc
    return True


def user_email_change_confirm(*, token: str) -> User:
    """Give the account of ``token`` its new address, verified; a link for an address the
    account no longer has, or that another account took meanwhile, is refused."""
    max_age = timedelta(hours=settings.SMSBOX_EMAIL_CHANGE_LINK_HOURS)
    try:
        data = signing.loads(token, salt=_EMAIL_CHANGE_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise VerificationLinkExpired() from exc
    except signing.BadSignature as exc:
        raise VerificationLinkInvalid() from exc
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("o"))
            user = user.filter(is_active=True).first()
            if user is None:
                raise VerificationLinkInvalid()
            user.email = data["e"]
            user.is_verified, user.verified_at = True, timezone.now()
            user.save(update_fields=["email", "is_verified", "verified_at"])
    except IntegrityError as exc:  # the address was taken since the link was sent
        raise EmailTaken() from exc
    return user


def user_sessions_end_others(*, user: User) -> User:
    """End every session of ``user``: the caller hands the current one the new auth hash
    (``update_session_auth_hash``) so that it alone goes on."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.session_epoch += 1
        locked.save(update_fields=["session_epoch"])
    user.session_epoch = locked.session_epoch
    return user
