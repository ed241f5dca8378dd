"""Bulk reads and writes for imports and rebuilds, inside the caller's transaction.

peewee's insert_many and update build the SQL text for every batch or row value by value,
which dominated a 200,000-claim import. Here the statement is built once and each value is
converted by its field's own db_value, exactly as peewee would bind it. Reads (``records``)
likewise skip building a query and a model object per row: an import of 2,000,000 receipts
reads back every claim, obligor and entry it touched, and peewee's per-row and per-parameter
work was a fifth of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import make_dataclass
from datetime import date, datetime
from functools import cache
from operator import itemgetter
from typing import Any

from peewee import (
    SQL,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Expression,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from models.db import database, is_postgres


def _mark() -> str:
    return "%s" if is_postgres() else "?"


# PostgreSQL: rows this connection copied into each table since its statistics were taken
_copied: dict[tuple[int, str], int] = {}


def _copy(table: str, columns: Sequence[str], params: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: rows in with COPY (one stream, no statement per row).

    An import is one transaction, so autovacuum never sees the rows it adds, and the planner
    would go on believing a table is as small as it was at the start (then scanning it
    whole for every batch's key lookups). Each time a table has grown by as many rows as it
    had, ANALYZE it in the transaction (it samples the transaction's own rows): about
    twenty times for a 2,000,000-row import.
    """
    names = ", ".join(f'"{c}"' for c in columns)
    conn = database.connection()
    n = 0
    with conn.cursor() as cur:
        with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in params:
                copy.write_row(row)
                n += 1
    key = (id(conn), table)
    copied = _copied.get(key, 0) + n
    if copied >= 1000:
        estimate = database.execute_sql(
            "SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", (table,)
        ).fetchone()[0]
        if copied >= estimate:
            database.execute_sql(f'ANALYZE "{table}"')
            copied = 0
    _copied[key] = copied


# values every driver binds as they are (sqlite3 and psycopg adapt date and datetime, and
# kyusho's PostgreSQL connection dumps datetime as SQLite's text): db_value would return them
# unchanged, through several calls per value
_NONE = type(None)
_AS_IS: tuple[tuple[type, set[type]], ...] = (
    (IntegerField, {int, _NONE}),
    (ForeignKeyField, {int, _NONE}),
    (CharField, {str, _NONE}),
    (TextField, {str, _NONE}),
    (BooleanField, {bool, _NONE}),
    (DateTimeField, {datetime, _NONE}),
    (DateField, {date, _NONE}),
)


def _as_is(field: Any, rows: list[Sequence[Any]], i: int) -> bool:
    """Whether every value of column ``i`` binds unchanged for ``field``."""
    for kind, types in _AS_IS:
        if isinstance(field, kind):
            return {type(r[i]) for r in rows} <= types
    return False


def _bound_tuples(fields: Sequence[Any], rows: list[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """``rows`` (values in ``fields`` order) as the driver is to bind them: each value through
    its field's db_value, as peewee binds it, except where that changes nothing."""
    convert = [(i, f.db_value) for i, f in enumerate(fields) if not _as_is(f, rows, i)]
    if not convert:
        return [tuple(r) for r in rows]
    out = []
    for r in rows:
        values = list(r)
        for i, conv in convert:
            values[i] = conv(values[i])
        out.append(tuple(values))
    return out


def _bound(
    fields: Sequence[Any], names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """Dict rows (by field name) as bound tuples in ``names`` order."""
    get = itemgetter(*names)
    values = [get(r) for r in rows] if len(names) > 1 else [(get(r),) for r in rows]
    return _bound_tuples(fields, values)


def bulk_insert(model: Any, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (dicts keyed by field name; a foreign key by its field name, holding the
    id) and return the rowid of the last one. Rowids of one call are consecutive in SQLite."""
    if not rows:
        return 0
    names = list(rows[0].keys())
    # fields the rows leave out get their declared default, as peewee's own inserts do
    defaults = {
        name: f.default
        for name, f in model._meta.fields.items()
        if name not in names and f.default is not None and not f.primary_key
    }
    if defaults:
        rows = [
            {**{k: (v() if callable(v) else v) for k, v in defaults.items()}, **row} for row in rows
        ]
        names = list(rows[0].keys())
    fields = [model._meta.fields[name] for name in names]
    if is_postgres():
        return _copy_new_rows(model, names, fields, rows)
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    marks = ", ".join("?" for _ in fields)
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    database.cursor().executemany(sql, _bound(fields, names, rows))
    # same (thread-local) connection: the rowid of the last row just inserted
    return database.execute_sql("SELECT last_insert_rowid()").fetchone()[0]


def _copy_new_rows(model: Any, names: list[str], fields: list[Any], rows: Sequence[Any]) -> int:
    """COPY with ids drawn from the table's sequence first, so that the caller gets the
    consecutive ids it expects (writers take turns: no other nextval comes in between)."""
    pk = model._meta.primary_key
    table = model._meta.table_name
    ids = [
        r[0]
        for r in database.execute_sql(
            f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', '{pk.column_name}')) "
            "FROM generate_series(1, %s)",
            (len(rows),),
        ).fetchall()
    ]
    if ids != list(range(ids[0], ids[0] + len(ids))):
        raise RuntimeError(f"{table}: ids drawn for a bulk insert are not consecutive")
    _copy(
        table,
        [pk.column_name, *(f.column_name for f in fields)],
        ((i, *values) for i, values in zip(ids, _bound(fields, names, rows), strict=True)),
    )
    return ids[-1]


def insert_tuples(model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Insert positional rows (values already as SQLite stores them) into ``columns`` of
    ``model``'s table with one prepared statement; returns the rows given."""
    if rows and is_postgres():
        _copy(model._meta.table_name, columns, rows)
    elif rows:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{model._meta.table_name}" ({names}) VALUES ({marks})'
        database.cursor().executemany(sql, rows)
    return len(rows)


def bulk_update(model: Any, fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Set ``fields`` (names) on many rows of ``model`` with one prepared UPDATE. Each row is
    the new values in ``fields`` order followed by the primary key; returns the rows given."""
    cols = [model._meta.fields[name] for name in fields]
    pk = model._meta.primary_key
    mark = _mark()
    assignments = ", ".join(f'"{f.column_name}" = {mark}' for f in cols)
    sql = f'UPDATE "{model._meta.table_name}" SET {assignments} WHERE "{pk.column_name}" = {mark}'
    params = _bound_tuples([*cols, pk], list(rows))
    if params:
        database.cursor().executemany(sql, params)
    return len(params)


def in_values(field: Any, values: Sequence[Any]) -> Expression:
    """``field IN (?, ?, …)`` with the values bound as parameters of one SQL fragment.

    ``field.in_(values)`` makes one peewee node per value and renders them one by one, which
    took a fifth of a large import. The values go to SQLite as they are (ids, claim numbers),
    not through the field's db_value.
    """
    return field.in_(SQL(f"({', '.join([_mark()] * len(values))})", list(values)))


CHUNK = 500  # values bound in one IN (...): well under SQLite's and PostgreSQL's limits


def _to_date(value: Any) -> Any:
    return value if isinstance(value, date) else date.fromisoformat(value)


@cache
def record_type(model: Any, names: tuple[str, ...]) -> type:
    """A slotted class with ``names`` as attributes, named as on ``model``'s objects (a
    foreign key ``claim`` is ``claim_id``), so that code reading a model object reads it too."""
    attrs = [f"{n}_id" if isinstance(model._meta.fields[n], ForeignKeyField) else n for n in names]
    return make_dataclass(f"{model.__name__}Record", attrs, slots=True)


def _converters(model: Any, names: Sequence[str]) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, function) for the columns whose stored value is not already the Python one:
    SQLite keeps dates as ISO text and booleans as 0/1 (psycopg gives date and bool); whole
    numbers and text come back as they are; anything else goes through the field."""
    out: list[tuple[int, Callable[[Any], Any]]] = []
    postgres = is_postgres()
    for i, name in enumerate(names):
        f = model._meta.fields[name]
        if isinstance(f, IntegerField | ForeignKeyField | CharField | TextField):
            continue
        if isinstance(f, DateField):
            if not postgres:
                out.append((i, _to_date))
        elif isinstance(f, BooleanField):
            if not postgres:
                out.append((i, bool))
        else:
            out.append((i, f.python_value))
    return out


def records(
    model: Any,
    names: Sequence[str],
    key: str,
    values: Sequence[Any],
    *,
    where: str = "",
    params: Sequence[Any] = (),
    order: Sequence[str] = (),
    into: Callable[..., Any] | None = None,
) -> list[Any]:
    """Rows of ``model`` whose ``key`` field is one of ``values`` (and ``where``: SQL on the
    table's columns, with ``params`` for its marks, written as ``{}``), ordered by the
    ``order`` fields within each chunk of ``values``: ``record_type`` objects, or what
    ``into`` makes of each row's values (``tuple``: the row itself)."""
    meta = model._meta
    column = {n: meta.fields[n].column_name for n in names}
    cols = ", ".join(f'"{column[n]}"' for n in names)
    mark = _mark()
    extra = f" AND ({where.format(*[mark] * len(params))})" if where else ""
    order_by = (
        " ORDER BY " + ", ".join(f'"{meta.fields[n].column_name}"' for n in order) if order else ""
    )
    key_column = meta.fields[key].column_name
    make = into or record_type(model, tuple(names))
    convert = _converters(model, names)
    out: list[Any] = []
    values = list(values)
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        sql = (
            f'SELECT {cols} FROM "{meta.table_name}" WHERE "{key_column}" IN '
            f"({', '.join([mark] * len(chunk))}){extra}{order_by}"
        )
        rows = database.execute_sql(sql, [*chunk, *params]).fetchall()
        if convert:
            for row in rows:
                row = list(row)
                for i, fn in convert:
                    if row[i] is not None:
                        row[i] = fn(row[i])
                out.append(tuple(row) if make is tuple else make(*row))
        elif make is tuple:
            out.extend(rows)
        else:
            out.extend(make(*row) for row in rows)
    return out
