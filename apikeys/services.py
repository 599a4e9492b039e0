"""Writes of API keys. Every change and its audit row are one transaction; the raw key is
returned to the caller to show once and is never stored."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys.errors import ApiKeyInvalidName, ApiKeyRevoked, ApiKeyTaken
from apikeys.keys import generate_key, key_digest, key_prefix, validate_key
from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.selectors import api_key_forget
from smsbox.audit import audit_record
from smsbox.models import User

Action = ApiKeyEvent.Action
NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length


def api_key_create(
    *, user: User, name: str, raw_key: str | None = None, actor: User | None = None
) -> tuple[ApiKey, str]:
    """Create a key for ``user``: a generated one, or ``raw_key`` as given by an operator.

    Answers the key and the raw key string, which the caller shows once.
    """
    name = _clean_name(name)
    raw_key = generate_key() if raw_key is None else validate_key(raw_key)
    with transaction.atomic():
        api_key = ApiKey(user=user, name=name)
        _set_secret(api_key, raw_key)
        _save_unique(api_key, save=api_key.save)
        _record(api_key, action=Action.CREATE, actor=actor)
    return api_key, raw_key


def api_key_ensure(
    *, user: User, name: str, raw_key: str, actor: User | None = None
) -> tuple[ApiKey, bool]:
    """Install ``raw_key`` for ``user`` unless it already is their live key (for seed_demo).

    Answers the key and whether it was created; ``ApiKeyTaken`` when another account has it.
    """
    validate_key(raw_key)
    with transaction.atomic():
        existing = _live_key(raw_key)
        if existing is None:
            try:
                api_key, _ = api_key_create(user=user, name=name, raw_key=raw_key, actor=actor)
                return api_key, True
            except ApiKeyTaken:
                existing = _live_key(raw_key)  # installed concurrently: see by whom
        if existing is None or existing.user_id != user.pk:
            raise ApiKeyTaken()
    return existing, False


def api_key_regenerate(*, api_key: ApiKey, actor: User | None = None) -> tuple[ApiKey, str]:
    """Give the key a new secret in place (same row, same name); the old key stops working."""
    raw_key = generate_key()
    with transaction.atomic():
        locked = _lock(api_key)
        if locked.revoked_at is not None:
            raise ApiKeyRevoked()
        _forget(locked.digest)
        _set_secret(locked, raw_key)
        locked.last_used_at = None
        _save_unique(
            locked,
            save=lambda: locked.save(update_fields=["prefix", "digest", "last_used_at"]),
        )
        _record(locked, action=Action.REGENERATE, actor=actor)
    _copy_state(locked, into=api_key)
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey, actor: User | None = None) -> ApiKey:
    """Revoke the key for good. Revoking a revoked key changes nothing and writes no event."""
    with transaction.atomic():
        locked = _lock(api_key)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            _forget(locked.digest)
            _record(locked, action=Action.REVOKE, actor=actor)
            if actor is not None and actor.pk != locked.user_id:  # an operator's revocation
                audit_record(
                    actor=actor,
                    action="apikey.revoke",
                    target=locked,
                    before={"revoked_at": None},
                    after={"revoked_at": locked.revoked_at},
                    customer=locked.user,
                )
    _copy_state(locked, into=api_key)
    return api_key


def _forget(digest: str) -> None:
    """Drop the cached check of the old key now and again once the change is committed (so a
    request racing the change cannot leave the old key cached)."""
    api_key_forget(digest)
    transaction.on_commit(lambda: api_key_forget(digest))


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ApiKeyInvalidName(extra={"max_length": NAME_MAX_LENGTH})
    return name


def _set_secret(api_key: ApiKey, raw_key: str) -> None:
    api_key.prefix = key_prefix(raw_key)
    api_key.digest = key_digest(raw_key)


def _save_unique(api_key: ApiKey, *, save) -> None:
    """Save in a savepoint so that a key string already live elsewhere is a typed error."""
    try:
        with transaction.atomic():
            save()
    except IntegrityError as exc:
        raise ApiKeyTaken() from exc


def _live_key(raw_key: str) -> ApiKey | None:
    return ApiKey.objects.filter(digest=key_digest(raw_key), revoked_at__isnull=True).first()


def _lock(api_key: ApiKey) -> ApiKey:
    return ApiKey.objects.select_for_update().get(pk=api_key.pk)


def _copy_state(source: ApiKey, *, into: ApiKey) -> None:
    for field in ("prefix", "digest", "last_used_at", "revoked_at"):
        setattr(into, field, getattr(source, field))


def _record(api_key: ApiKey, *, action: str, actor: User | None) -> ApiKeyEvent:
    return ApiKeyEvent.objects.create(
        api_key=api_key, user_id=api_key.user_id, action=action, actor=actor
    )
