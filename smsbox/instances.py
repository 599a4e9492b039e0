"""Model instances built from cached values on the paths clients poll, and, for the purchase
path's hand-written statements, the values of an unsaved instance as an insert sends them, a
model's constants written into their text (``sql_constants``) and the cursor that sends them
(``bound_cursor``).

``instance_of`` builds what ``Model.from_db`` would (the fields given, the others deferred and
read from the database if ever asked for) without running ``Model.__init__`` for every field and
its ``pre_init``/``post_init`` signals: for values that a cache kept of a row, where that work
cost more than the rest of the request.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

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


def instance_copy(instance: M) -> M:
    """A shallow copy of ``instance`` with a state of its own (its cache of related objects
    included), as ``copy.copy`` makes it, without the pickling protocol that ``copy.copy`` goes
    through (``__reduce_ex__``, ``__getstate__``, ``__setstate__``): a quarter of the time, for
    the copies a per-process cache hands out on the purchase path."""
    copied = instance.__class__.__new__(instance.__class__)
    copied.__dict__.update(instance.__dict__)
    state = copied._state = models.base.ModelState.__new__(models.base.ModelState)
    state.__dict__.update(instance._state.__dict__)
    state.fields_cache = dict(instance._state.fields_cache)
    return copied


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


def sql_constants(values: Iterable[str]) -> str:
    """``values`` written into a hand-written statement as a list of SQL string literals
    (``'waiting', 'received'``): for a model's constants (states, statuses), so that a prepared
    statement's generic plan can use a partial index on them. Never for input."""
    return ", ".join(f"'{value}'" for value in values)


def bound_cursor(db: str = DEFAULT_DB_ALIAS) -> Any:
    """A cursor of PostgreSQL connection ``db`` that sends its parameters apart from the
    statement and has the statement prepared, for the purchase path's hand-written single
    statements (logged and wrapped as Django's own).

    Django's cursors bind on the client: every value is quoted into the statement's text,
    which PostgreSQL then parses, analyzes and plans anew each time; for the purchase's
    statements (dozens of values, a CTE of several writes) that is a good part of PostgreSQL's
    time. A statement of this cursor is prepared the first time a connection runs it;
    PostgreSQL then skips the parsing and, once it has settled on a generic plan, the planning.
    A query string of several statements cannot be prepared and stays on
    ``connection.cursor()``. ``SMSBOX_PREPARED_STATEMENTS`` false: bound, not prepared."""
    connection = connections[db]
    connection.ensure_connection()
    prepared = settings.SMSBOX_PREPARED_STATEMENTS
    raw = (_PreparedCursor if prepared else psycopg.Cursor)(connection.connection)
    if connection.queries_logged:
        return _BoundDebugCursor(raw, connection)
    return connection.make_cursor(raw)


class _PreparedCursor(psycopg.Cursor):
    """A psycopg cursor that prepares what it runs on a connection that prepares nothing else.

    Django leaves psycopg's ``prepare_threshold`` at None (nothing prepared, not even when
    asked). Any other value would have psycopg count every statement of the connection, keyed
    by its text (Django's with their values quoted in: each one new), to decide when to prepare
    it: memory and time for nothing. So the threshold is lifted only while this cursor runs."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        connection = self.connection
        connection.prepare_threshold = 0
        try:
            return super().execute(query, params, prepare=True, binary=binary)
        finally:
            connection.prepare_threshold = None


class _BoundDebugCursor(CursorDebugWrapper):
    """Django's query log (``DEBUG``, ``CaptureQueriesContext``) for ``bound_cursor``: the
    statement with its values quoted in, as Django's own cursors log theirs. Django would read
    it from the cursor, which holds the placeholders for a statement bound on the server, and
    nothing at all once it is prepared."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)
