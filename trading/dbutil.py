"""Statements that write many rows in one round trip, with one typed array per column (``unnest``).

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression per field and row, which costs
milliseconds of Python per row (10 s for a 600-order sweep batch); these build the statement text once, whatever
the number of rows, and pass the values as arrays. PostgreSQL only; elsewhere they fall back to the ORM.
"""

import functools
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


# Values the driver takes as they are, whatever the field: the ORM's preparation of them is an identity on
# PostgreSQL (a str for a CharField, an int, a bool, a native uuid, an aware datetime), but costs microseconds a
# value, and a 1,000-order sweep writes ~60,000 of them.
_PASS_THROUGH = (str, int, bool)


def _column_values(column, objs, kind: str | None = None) -> list:
    """The column's values of ``objs`` as the driver takes them. Decimals go as they are (on PostgreSQL Django's
    ``get_db_prep_save`` hands them over unchanged, after a ``to_python`` that costs more than the rest of a
    settlement's row): thousands of ledger rows per sweep. So do plain values of plain fields (``_PASS_THROUGH``,
    aware datetimes); anything else (JSON, naive datetimes, ...) goes through the field."""
    attname = column.attname
    prep = column.get_db_prep_save
    values = [getattr(obj, attname) for obj in objs]
    kind = kind or column.get_internal_type()
    if kind == "DecimalField":
        return [v if v is None or (type(v) is Decimal and v.is_finite()) else prep(v, connection) for v in values]
    if kind in _KEY_FIELDS:  # a uuid given as a str still goes through the field (one array type per column)
        return [v if v is None or type(v) is UUID or type(v) is int else prep(v, connection) for v in values]
    if kind in _PLAIN_FIELDS:
        return [v if v is None or type(v) in _PASS_THROUGH or (type(v) is datetime and v.tzinfo is not None)
                else prep(v, connection) for v in values]
    return [prep(v, connection) for v in values]


_KEY_FIELDS = {"UUIDField", "ForeignKey", "AutoField", "BigAutoField"}
_PLAIN_FIELDS = {"CharField", "TextField", "IntegerField", "BigIntegerField", "PositiveIntegerField",
                 "PositiveBigIntegerField", "SmallIntegerField", "PositiveSmallIntegerField", "BooleanField",
                 "DateTimeField"}


# The statement texts depend only on the model and the columns: built once per process (the settlement of one
# market order writes through four of them, and composing them - quoting, each column's db_type - cost more Python
# than the rest of the persistence).
@functools.cache
def _update_plan(model, fields: tuple[str, ...]) -> tuple[str, tuple]:
    meta = model._meta
    cols = [meta.pk] + [meta.get_field(f) for f in fields]
    names = [_qn(c.column) for c in cols]
    arrays = ", ".join(f"%s::{c.db_type(connection)}[]" for c in cols)
    set_sql = ", ".join(f"{n} = v.{n}" for n in names[1:])
    sql = (f"UPDATE {_qn(meta.db_table)} AS t SET {set_sql} FROM unnest({arrays}) AS v({', '.join(names)}) "
           f"WHERE t.{names[0]} = v.{names[0]}")
    return sql, tuple((c, c.get_internal_type()) for c in cols)


def update_rows_sql(model, objs, fields: list[str]) -> tuple[str, list]:
    """``UPDATE t SET f = v.f, ... FROM unnest(arrays) v WHERE t.pk = v.pk`` for ``objs``."""
    sql, cols = _update_plan(model, tuple(fields))
    return sql, [_column_values(c, objs, kind) for c, kind in cols]


@functools.cache
def _insert_plan(model) -> tuple[str, str, tuple, tuple]:
    """(``INSERT ... SELECT * FROM unnest``, the same returning the pks in the order of the rows, the columns with
    their kinds, the columns ``pre_save`` fills in)."""
    meta = model._meta
    cols = [f for f in meta.concrete_fields
            if not (f.primary_key and f.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField"))]
    names = [_qn(c.column) for c in cols]
    arrays = ", ".join(f"%s::{c.db_type(connection)}[]" for c in cols)
    head = f"INSERT INTO {_qn(meta.db_table)} ({', '.join(names)})"
    plain = f"{head} SELECT * FROM unnest({arrays})"
    ordered = (f"{head} SELECT {', '.join('v.' + n for n in names)} FROM unnest({arrays}) WITH ORDINALITY "
               f"AS v({', '.join(names)}, ord_) ORDER BY v.ord_ RETURNING {_qn(meta.pk.column)}")
    auto = tuple(c for c in cols if getattr(c, "auto_now_add", False) or getattr(c, "auto_now", False))
    return plain, ordered, tuple((c, c.get_internal_type()) for c in cols), auto


def _insert_params(model, objs) -> tuple[tuple, list]:
    plain, ordered, cols, auto = _insert_plan(model)
    for obj in objs:
        for c in auto:
            c.pre_save(obj, add=True)
    return (plain, ordered), [_column_values(c, objs, kind) for c, kind in cols]


def insert_rows_sql(model, objs) -> tuple[str, list]:
    """``INSERT INTO t (...) SELECT * FROM unnest(arrays)`` for ``objs`` (auto primary keys left to the database,
    ``auto_now_add`` fields filled in)."""
    (plain, _), params = _insert_params(model, objs)
    return plain, params


def insert_rows(model, objs) -> list:
    """Insert ``objs`` in one ``INSERT ... SELECT FROM unnest(arrays) ... RETURNING pk`` and set their primary keys
    (Django's ``bulk_create`` does the same in one statement but prepares every field of every row through the
    ORM: most of a 250-fill sweep batch's Python time). Rows go in, and come back, in the order of ``objs``."""
    objs = list(objs)
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    (_, sql), params = _insert_params(model, objs)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        pks = [row[0] for row in cur.fetchall()]
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
    return objs


def bulk_update_rows(model, objs, fields: list[str]) -> int:
    """Write ``fields`` of ``objs`` (instances with their pk) in one statement. Returns the rows updated."""
    objs = list(objs)
    if not objs:
        return 0
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields)
    sql, params = update_rows_sql(model, objs, fields)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def update_then_insert(update_model, update_objs, fields: list[str], insert_model, insert_objs) -> None:
    """``bulk_update_rows`` and an insert of ``insert_objs`` in ONE statement (a data-modifying CTE): the balance
    updates and their ledger rows of a posting travel together."""
    update_objs, insert_objs = list(update_objs), list(insert_objs)
    if connection.vendor != "postgresql" or not update_objs or not insert_objs:
        bulk_update_rows(update_model, update_objs, fields)
        if insert_objs:
            insert_model.objects.bulk_create(insert_objs)
        return
    usql, uparams = update_rows_sql(update_model, update_objs, fields)
    isql, iparams = insert_rows_sql(insert_model, insert_objs)
    with connection.cursor() as cur:
        cur.execute(f"WITH updated AS ({usql} RETURNING 1) {isql}", uparams + iparams)
