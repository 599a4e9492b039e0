"""Admin pieces of the audit log: a mixin that audits every add, change and delete an operator
makes through a ModelAdmin, and the read-only, searchable log itself."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from smsbox.admin_mixins import ReadOnlyAdminMixin
from smsbox.audit import audit_record, audit_snapshot
from smsbox.models import OperatorAction


class AuditedAdminMixin:
    """Records who changed what, before → after, in the transaction Django's admin opens around
    the change form, the editable change list and the delete view."""

    def save_model(self, request: HttpRequest, obj: models.Model, form, change: bool) -> None:
        changed = [name for name in form.changed_data if name in form.cleaned_data]
        before = {name: _initial(form, name) for name in changed} if change else {}
        with transaction.atomic():
            self.save_audited(request, obj, form, change)
            after = {name: form.cleaned_data[name] for name in changed}
            audit_record(
                actor=request.user,
                action=f"{obj._meta.model_name}.{'change' if change else 'add'}",
                target=obj,
                before=_masked(before),
                after=_masked(after),
            )

    def save_audited(self, request: HttpRequest, obj: models.Model, form, change: bool) -> None:
        """The save itself (a ModelAdmin that saves through a service overrides this)."""
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with transaction.atomic():
            audit_record(
                actor=request.user,
                action=f"{obj._meta.model_name}.delete",
                target=obj,
                before={"object": str(obj)},
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        # The "delete selected" action runs outside the transaction of the admin's views.
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


def audited_action(request: HttpRequest, obj: models.Model, action: str, call, **extra) -> Any:
    """Run an admin action's service call on ``obj`` and record it, in one transaction: the
    object's state before and after (``state``, ``expires_at``… where it has them), ``extra``
    besides."""
    fields = [
        name for name in ("state", "status", "expires_at", "auto_renew") if hasattr(obj, name)
    ]
    with transaction.atomic():
        before = {name: getattr(obj, name) for name in fields}
        result = call()
        obj.refresh_from_db()
        audit_record(
            actor=request.user,
            action=action,
            target=obj,
            before=before,
            after={**{name: getattr(obj, name) for name in fields}, **extra},
            customer=getattr(obj, "user", None),
        )
    return result


def _initial(form, name: str) -> Any:
    value = form.initial.get(name)
    field = form.fields.get(name)
    if isinstance(value, list | tuple):  # a many-to-many field: objects or their keys
        if isinstance(field, forms.ModelMultipleChoiceField):
            keys = [getattr(item, "pk", item) for item in value]
            return sorted(str(item) for item in field.queryset.filter(pk__in=keys))
        return sorted(str(item) for item in value)
    if isinstance(field, forms.ModelChoiceField) and value is not None:
        found = field.queryset.filter(pk=getattr(value, "pk", value)).first()
        return str(found) if found is not None else value
    return value


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    return audit_snapshot(_Values(values), list(values))


class _Values:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


@admin.register(OperatorAction)
class OperatorActionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only and read-only, searchable by operator and object."""

    list_display = ["created_at", "actor_email", "action", "target", "customer", "reason"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = [
        "actor_email",
        "=target_id",
        "target_label",
        "target_kind",
        "customer__email",
        "reason",
    ]
    list_select_related = ["customer"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OperatorAction._meta.fields]

    @admin.display(description="object")
    def target(self, row: OperatorAction) -> str:
        return f"{row.target_kind}:{row.target_id} {row.target_label}"
