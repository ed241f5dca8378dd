"""Bulk writes for imports: one prepared statement, executemany, inside the caller's transaction.

peewee's insert_many and update build the SQL text for every batch or row value by value,
which dominated a 200,000-claim import. Here the statement is built once and each value is
converted by its field's own db_value, exactly as peewee would bind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from peewee import SQL, Expression

from models.db import database


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


def insert_tuples(model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Insert positional rows (values already as SQLite stores them) into ``columns`` of
    ``model``'s table with one prepared statement; returns the rows given."""
    if rows:
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
    assignments = ", ".join(f'"{f.column_name}" = ?' for f in cols)
    sql = f'UPDATE "{model._meta.table_name}" SET {assignments} WHERE "{pk.column_name}" = ?'
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
    return field.in_(SQL(f"({', '.join('?' * len(values))})", list(values)))
