"""Statements that write many rows in one round trip, with one typed array per column (``unnest``).

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression per field and row, which costs
milliseconds of Python per row (10 s for a 600-order sweep batch); these build the statement text once, whatever
the number of rows, and pass the values as arrays. PostgreSQL only; elsewhere they fall back to the ORM.

One row, or a few rows of a few columns (``_as_values``: a placement writes one order, one fill, two balances and
one position), go as a ``VALUES`` list instead: the driver's array adaptation costs a fixed ~6 us per column
whatever the rows (a 36-column order row: ~0.2 ms of Python in arrays, against ~40 us as scalars). Same rows,
same columns, same types (each value cast to its column's type as the arrays were). Larger sets keep the arrays,
which also keep a statement's parameter count low: psycopg re-parses the text of a statement with more than 50
parameters on every call instead of caching it.
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
    """The column's values of ``objs`` as the driver takes them (``_db_value``)."""
    attname = column.attname
    prep = column.get_db_prep_save
    cls = _class_of(kind or column.get_internal_type())
    return [_db_value(getattr(obj, attname), cls, prep) for obj in objs]


_KEY_FIELDS = {"UUIDField", "ForeignKey", "AutoField", "BigAutoField"}
_PLAIN_FIELDS = {"CharField", "TextField", "IntegerField", "BigIntegerField", "PositiveIntegerField",
                 "PositiveBigIntegerField", "SmallIntegerField", "PositiveSmallIntegerField", "BooleanField",
                 "DateTimeField"}
_DECIMAL, _KEY, _PLAIN, _OTHER = range(4)


def _class_of(kind: str) -> int:
    return (_DECIMAL if kind == "DecimalField" else _KEY if kind in _KEY_FIELDS
            else _PLAIN if kind in _PLAIN_FIELDS else _OTHER)


def _db_value(v, cls: int, prep):
    """``v`` as the driver takes it: as it is where the field's ``get_db_prep_save`` would be an identity on
    PostgreSQL, else through it. Decimals go as they are (Django hands them over unchanged, after a ``to_python``
    that costs more than the rest of a settlement's row: thousands of ledger rows per sweep); so do keys given as
    a native uuid or an int (a uuid given as a str still goes through the field: one array type per column), plain
    values of plain fields (``_PASS_THROUGH``, aware datetimes) and None; anything else (JSON, naive datetimes,
    ...) goes through the field, None included."""
    if v is None:
        return prep(v, connection) if cls == _OTHER else v
    if cls == _DECIMAL:
        as_is = type(v) is Decimal and v.is_finite()
    elif cls == _KEY:
        as_is = type(v) is UUID or type(v) is int
    elif cls == _PLAIN:
        as_is = type(v) in _PASS_THROUGH or (type(v) is datetime and v.tzinfo is not None)
    else:
        as_is = False
    return v if as_is else prep(v, connection)


@functools.cache
def _row_plan(cols: tuple) -> tuple:
    """(attname, class of column, its field's get_db_prep_save) per column of ``cols`` = ((field, kind), ...)."""
    return tuple((c.attname, _class_of(kind), c.get_db_prep_save) for c, kind in cols)


def _rows_values(cols: tuple, objs) -> list:
    """The values of ``objs`` row after row (a VALUES list's parameters), each as ``_db_value`` gives it."""
    plan = _row_plan(cols)
    return [_db_value(getattr(obj, attname), cls, prep) for obj in objs for attname, cls, prep in plan]


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


FEW_VALUES = 16  # more rows than one: a VALUES list only up to this many values; beyond, one array per column


def _as_values(rows: int, columns: int) -> bool:
    return rows == 1 or rows * columns <= FEW_VALUES


def _values_list(cols, nulls: tuple[bool, ...]) -> str:
    """``(%s::type, ...), ...``: rows of ``cols``, each value cast to its column's type; a value that is None
    (``nulls``, row after row) is written as ``NULL::type`` into the text instead of being a parameter. Fewer
    parameters: psycopg caches the parsing of a statement's text only up to 50 of them (a placed order's row and
    its fill, in one statement, have 51), and a None costs a parameter's adaptation for nothing."""
    types = [c.db_type(connection) for c in cols]
    rows = [nulls[i:i + len(cols)] for i in range(0, len(nulls), len(cols))]
    return ", ".join("(" + ", ".join(f"{'NULL' if null else '%s'}::{t}" for null, t in zip(row, types)) + ")"
                     for row in rows)


def _without_nulls(values: list) -> tuple[tuple[bool, ...], list]:
    """(which of ``values`` are None, the others): the NULL layout of a VALUES list and its parameters."""
    return tuple(v is None for v in values), [v for v in values if v is not None]


@functools.cache
def _update_values_plan(model, fields: tuple[str, ...], nulls: tuple[bool, ...]) -> str:
    meta = model._meta
    cols = [meta.pk] + [meta.get_field(f) for f in fields]
    names = [_qn(c.column) for c in cols]
    set_sql = ", ".join(f"{n} = v.{n}" for n in names[1:])
    return (f"UPDATE {_qn(meta.db_table)} AS t SET {set_sql} FROM (VALUES {_values_list(cols, nulls)}) "
            f"AS v({', '.join(names)}) WHERE t.{names[0]} = v.{names[0]}")


def update_rows_sql(model, objs, fields: list[str]) -> tuple[str, list]:
    """``UPDATE t SET f = v.f, ... FROM unnest(arrays) v WHERE t.pk = v.pk`` for ``objs`` (``FROM (VALUES ...)``
    for a few rows)."""
    sql, cols = _update_plan(model, tuple(fields))
    if _as_values(len(objs), len(cols)):
        nulls, params = _without_nulls(_rows_values(cols, objs))
        return _update_values_plan(model, tuple(fields), nulls), params
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


def _insert_params(model, objs, *, rows: bool = False) -> tuple[tuple, list]:
    """((plain, ordered) statements, one list per column); ``rows``: the values row after row instead."""
    plain, ordered, cols, auto = _insert_plan(model)
    for obj in objs:
        for c in auto:
            c.pre_save(obj, add=True)
    if rows:
        return (plain, ordered), _rows_values(cols, objs)
    return (plain, ordered), [_column_values(c, objs, kind) for c, kind in cols]


def _insert_as_values(model, objs) -> bool:
    return _as_values(len(objs), len(_insert_plan(model)[2]))


@functools.cache
def _insert_values_plan(model, nulls: tuple[bool, ...]) -> str:
    """``INSERT INTO t (...) VALUES (...), ...``: the columns of ``_insert_plan``, NULLs where ``nulls`` says."""
    _, _, cols, _ = _insert_plan(model)
    cols = [c for c, _ in cols]
    return (f"INSERT INTO {_qn(model._meta.db_table)} ({', '.join(_qn(c.column) for c in cols)}) "
            f"VALUES {_values_list(cols, nulls)}")


def insert_rows_sql(model, objs) -> tuple[str, list]:
    """``INSERT INTO t (...) SELECT * FROM unnest(arrays)`` for ``objs`` (auto primary keys left to the database,
    ``auto_now_add`` fields filled in); ``INSERT ... VALUES`` for a few rows."""
    if _insert_as_values(model, objs):
        nulls, params = _without_nulls(_insert_params(model, objs, rows=True)[1])
        return _insert_values_plan(model, nulls), params
    (plain, _), params = _insert_params(model, objs)
    return plain, params


def insert_rows(model, objs, *, after: tuple | None = None) -> list:
    """Insert ``objs`` in one ``INSERT ... SELECT FROM unnest(arrays) ... RETURNING pk`` and set their primary keys
    (Django's ``bulk_create`` does the same in one statement but prepares every field of every row through the
    ORM: most of a 250-fill sweep batch's Python time). Rows go in, and come back, in the order of ``objs``.

    ``after``: ``(model, rows)`` to insert first, in the same statement (a data-modifying ``WITH``), rows whose
    primary keys are set already: a placed order's row and its fills in one round trip (the fills' foreign key to
    it is checked at commit, as Django declares it ``DEFERRABLE INITIALLY DEFERRED``)."""
    objs = list(objs)
    if after is not None and (not objs or connection.vendor != "postgresql"):
        insert_rows(*after)
        after = None
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    if after is not None:  # prepared first: its auto_now_add stamps come before those of objs, as if inserted first
        first_sql, first_params = insert_rows_sql(after[0], after[1])
    if len(objs) == 1:  # one row (a VALUES list, see _as_values): its pk comes back with it, no order to keep
        sql, params = insert_rows_sql(model, objs)
        sql = f"{sql} RETURNING {_qn(model._meta.pk.column)}"
    else:
        (_, sql), params = _insert_params(model, objs)
    if after is not None:
        sql, params = f"WITH first_ AS ({first_sql}) {sql}", first_params + params
    with connection.cursor() as cur:
        cur.execute(sql, params)
        pks = [row[0] for row in cur.fetchall()]
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
    if after is not None:
        for obj in after[1]:
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


def update_then_insert(update_model, update_objs, fields: list[str], insert_model, insert_objs,
                       also: tuple = ()) -> None:
    """``bulk_update_rows`` and an insert of ``insert_objs`` in ONE statement (a data-modifying CTE): the balance
    updates and their ledger rows of a posting travel together. ``also``: more ``(model, objs, fields)`` updates
    for the same statement (a settlement's orders and positions: its whole write in one round trip)."""
    update_objs, insert_objs = list(update_objs), list(insert_objs)
    also = [(m, list(objs), f) for m, objs, f in also if objs]
    if connection.vendor != "postgresql" or not update_objs or not insert_objs:
        bulk_update_rows(update_model, update_objs, fields)
        if insert_objs:
            insert_model.objects.bulk_create(insert_objs)
        for model, objs, more_fields in also:
            bulk_update_rows(model, objs, more_fields)
        return
    usql, params = update_rows_sql(update_model, update_objs, fields)
    ctes = [f"updated AS ({usql} RETURNING 1)"]
    for n, (model, objs, more_fields) in enumerate(also):
        sql, more = update_rows_sql(model, objs, more_fields)
        ctes.append(f"also_{n} AS ({sql})")
        params += more
    isql, iparams = insert_rows_sql(insert_model, insert_objs)
    with connection.cursor() as cur:
        cur.execute(f"WITH {', '.join(ctes)} {isql}", params + iparams)
