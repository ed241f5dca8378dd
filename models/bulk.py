"""Bulk writes for imports: one prepared statement, executemany, inside the caller's transaction.

peewee's insert_many and update build the SQL text for every batch or row value by value,
which dominated a 200,000-claim import. Here the statement is built once and each value is
converted by its field's own db_value, exactly as peewee would bind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from peewee import SQL, Expression

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
    converters = [f.db_value for f in fields]
    params = [
        tuple(conv(row[name]) for conv, name in zip(converters, names, strict=True)) for row in rows
    ]
    database.cursor().executemany(sql, params)
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
    converters = [f.db_value for f in fields]
    _copy(
        table,
        [pk.column_name, *(f.column_name for f in fields)],
        (
            (i, *(conv(row[name]) for conv, name in zip(converters, names, strict=True)))
            for i, row in zip(ids, rows, strict=True)
        ),
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
    converters = [f.db_value for f in cols] + [pk.db_value]
    params = [tuple(conv(v) for conv, v in zip(converters, row, strict=True)) for row in rows]
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
