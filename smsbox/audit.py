"""The audit log of operator actions (``OperatorAction``), and the permission check they share.

``audit_record`` must run inside the transaction of the change it records, so that the change
and its row commit (or roll back) together: it refuses to run outside one.
"""

from typing import Any

from django.db import models, transaction

from smsbox.errors import PermissionDenied
from smsbox.models import OperatorAction, User

SECRET_FIELDS = frozenset({"api_key", "password", "password1", "password2", "secret"})
MASK = "••••••"


def operator_require(actor: User, *permissions: str) -> None:
    """``PermissionDenied`` unless ``actor`` is an active staff user holding every permission
    (``smsbox.refund_order``, …); superusers hold them all."""
    if not (actor.is_active and actor.is_staff and actor.has_perms(permissions)):
        raise PermissionDenied("Your role does not allow this action.")


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    customer: User | None = None,
) -> OperatorAction:
    """Append one row: who (None for the system), what, on which object, before → after."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record runs inside the transaction of the change it records")
    return OperatorAction.objects.create(
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        target_kind=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=str(target)[:255],
        customer=customer,
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        reason=reason,
    )


def audit_snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The values of ``fields`` of ``obj``, secrets masked."""
    return {name: MASK if name in SECRET_FIELDS else getattr(obj, name) for name in fields}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return _jsonable(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, models.QuerySet):
        return sorted(str(item) for item in value)
    return str(value)
