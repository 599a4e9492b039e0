"""Model instances built from cached values on the paths clients poll, and the values of an
unsaved one as the hand-written inserts of the purchase path send them.

``instance_of`` builds what ``Model.from_db`` would (the fields given, the others deferred and
read from the database if ever asked for) without running ``Model.__init__`` for every field and
its ``pre_init``/``post_init`` signals: for values that a cache kept of a row, where that work
cost more than the rest of the request.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models

M = TypeVar("M", bound=models.Model)


def instance_of(model: type[M], fields: dict[str, Any], *, db: str = DEFAULT_DB_ALIAS) -> M:
    """An instance of ``model`` holding ``fields`` (attribute names: ``user_id``, not
    ``user``), as loaded from database ``db``."""
    instance = model.__new__(model)
    instance.__dict__.update(fields)
    instance._state = models.base.ModelState()
    instance._state.adding = False
    instance._state.db = db
    return instance


def instance_fields(instance: models.Model) -> dict[str, Any]:
    """The loaded field values of ``instance`` (deferred ones left out), for ``instance_of``."""
    return {
        f.attname: instance.__dict__[f.attname]
        for f in instance._meta.concrete_fields
        if f.attname in instance.__dict__
    }


def insert_values(
    instance: models.Model, fields: Iterable[models.Field], *, db: str = DEFAULT_DB_ALIAS
) -> list[Any]:
    """What ``save()`` would send for ``fields`` of the unsaved ``instance`` (defaults, auto
    dates and each field's adaptation), for an INSERT written by hand. The connection itself,
    not the ``django.db.connection`` proxy: each field asks it several times."""
    connection = connections[db]
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
