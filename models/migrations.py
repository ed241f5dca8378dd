"""Schema version and the path from any older version to this one.

A database records its schema version in ``meta``. Opening an older database applies each
step in MIGRATIONS in order, inside one IMMEDIATE transaction; a database made by a newer
kyusho is refused rather than damaged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import cast

from peewee import Database, SqliteDatabase

from kyusho.errors import KyushoError
from kyusho.rules.text import claim_no_key
from kyusho.rules.year_end import LedgerFact, claim_years
from models.bulk import insert_tuples
from models.db import database, is_postgres, write_transaction
from models.schema import (
    ALL_MODELS,
    CLAIM_YEAR_FIGURES,
    SERVICER_INDEX,
    ChecklistAnswer,
    ClaimYear,
    Meta_,
    Municipality,
    WaiverCase,
    WaiverStep,
)

SCHEMA_VERSION = 8


def _add_claim_year(db: SqliteDatabase) -> None:
    """2: the per-claim 年度 figures of the report (ClaimYear), filled from the stored ledger."""
    db.create_tables([ClaimYear])
    fill_claim_years(db)


def _search_indexes_cover_the_claim(db: SqliteDatabase) -> None:
    """3: name and kana search indexes carry the claim id, so a prefix search reads no rows."""
    db.execute_sql("DROP INDEX IF EXISTS obligor_name_key")
    db.execute_sql("DROP INDEX IF EXISTS obligor_kana_key")
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS obligor_name_key_claim_id ON obligor (name_key, claim_id)"
    )
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS obligor_kana_key_claim_id ON obligor (kana_key, claim_id)"
    )


def _canonical_claim_numbers(db: SqliteDatabase) -> None:
    """4: claim numbers stored in their canonical form (claim_no_key), as lookups expect.

    Older imports stored a number as typed (r5-000001, Ｒ５－０００００１), which lookups,
    upper-casing what is typed, could never find or found another claim for. Two stored
    numbers with one canonical form are refused, naming both: someone must decide which
    claim keeps the number, and the transaction leaves the database as it was.
    """
    by_key: dict[str, list[str]] = {}
    renames: list[tuple[str, int]] = []
    for cid, no in db.execute_sql("SELECT id, claim_no FROM claim ORDER BY claim_no"):
        key = claim_no_key(no)
        by_key.setdefault(key, []).append(no)
        if key != no:
            renames.append((key, cid))
    clashes = [nos for nos in by_key.values() if len(nos) > 1]
    if clashes:
        shown = "、".join("と".join(f"「{n}」" for n in nos) for nos in clashes[:10])
        more = f" ほか{len(clashes) - 10}組" if len(clashes) > 10 else ""
        raise SchemaError(
            "求償権番号を正規化（全角→半角、小文字→大文字）すると同じ番号になる求償権が"
            f"あります: {shown}{more}。データベースは変更していません。管理者がどちらかの"
            "番号を別の番号に変えてから（SQLite の claim 表の claim_no 列）開き直してください。"
        )
    # No clash: every new number differs from every stored one, so no UNIQUE conflict midway.
    cursor = db.cursor()
    cursor.executemany("UPDATE claim SET claim_no = ? WHERE id = ?", renames)


def _contacts_can_be_cancelled(db: SqliteDatabase) -> None:
    """5: contacts can be cancelled with a reason, and a next action marked done by hand."""
    have = {c.name for c in db.get_columns("contact")}
    for name, kind in (
        ("next_done_at", "DATETIME"),
        ("next_done_by", "VARCHAR(255)"),
        ("cancelled", "INTEGER NOT NULL DEFAULT 0"),
        ("cancelled_at", "DATETIME"),
        ("cancelled_by", "VARCHAR(255)"),
        ("cancel_reason", "TEXT"),
    ):
        if name not in have:
            db.execute_sql(f"ALTER TABLE contact ADD COLUMN {name} {kind}")


def _waivers(db: SqliteDatabase) -> None:
    """6: loss-compensation facts per claim and municipality, admin-added municipalities,
    waiver cases with each municipality's steps, and walk-through answers on a case.

    checklist_answer gains a ``case_id`` and its ``decision_id`` becomes nullable: SQLite
    cannot relax NOT NULL in place, so the table is rebuilt with its rows (ids kept).
    """
    have = {c.name for c in db.get_columns("claim_municipality")}
    for name, kind in (
        ("ratio", "VARCHAR(255)"),
        ("compensated_amount", "INTEGER"),
        ("remittances_paid", "INTEGER NOT NULL DEFAULT 0"),
    ):
        if name not in have:
            db.execute_sql(f"ALTER TABLE claim_municipality ADD COLUMN {name} {kind}")
    db.create_tables([Municipality, WaiverCase, WaiverStep])
    if "case_id" in {c.name for c in db.get_columns("checklist_answer")}:
        return
    for index in db.get_indexes("checklist_answer"):
        db.execute_sql(f'DROP INDEX IF EXISTS "{index.name}"')
    db.execute_sql("ALTER TABLE checklist_answer RENAME TO checklist_answer_v5")
    db.create_tables([ChecklistAnswer])
    cols = (
        "id, decision_id, municipality, template, item_key, status, finding, evidence,"
        " answered_by, answered_at"
    )
    db.execute_sql(f"INSERT INTO checklist_answer ({cols}) SELECT {cols} FROM checklist_answer_v5")
    db.execute_sql("DROP TABLE checklist_answer_v5")


def _servicer_index(db: SqliteDatabase) -> None:
    """7: a partial index on servicer receipts (the 年度 report read a year of receipts)."""
    db.execute_sql(SERVICER_INDEX)


# the foreign-key indexes that a composite index led by the same column makes redundant
REDUNDANT_INDEXES = (
    "claim_staff_id",
    "claim_municipality_claim_id",
    "obligor_claim_id",
    "ledger_entry_claim_id",
    "limitation_event_claim_id",
    "contact_claim_id",
)


def _drop_redundant_indexes(db: SqliteDatabase) -> None:
    """8: drop indexes whose column leads another index (each slowed every insert)."""
    for name in REDUNDANT_INDEXES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


# version N -> function that upgrades a database at N-1 to N (run inside the transaction).
MIGRATIONS: dict[int, Callable[[SqliteDatabase], None]] = {
    2: _add_claim_year,
    3: _search_indexes_cover_the_claim,
    4: _canonical_claim_numbers,
    5: _contacts_can_be_cancelled,
    6: _waivers,
    7: _servicer_index,
    8: _drop_redundant_indexes,
}


def fill_claim_years(db: SqliteDatabase, batch: int = 5000) -> int:
    """Compute every claim's ClaimYear rows from its entries' stored allocations.

    One ordered pass over the ledger, so it takes seconds at 2,000,000 entries; rows are
    written with one prepared statement. Returns the number of rows written.
    """
    terms = {
        cid: (date.fromisoformat(sub), principal)
        for cid, sub, principal in db.execute_sql(
            "SELECT id, subrogation_date, loan_principal + loan_interest FROM claim"
        )
    }
    columns = ("claim_id", *CLAIM_YEAR_FIGURES)
    pending: list[tuple[int, ...]] = []
    written = 0

    def flush(cid: int, facts: list[LedgerFact]) -> None:
        sub, principal = terms[cid]
        pending.extend((cid, *y.as_tuple()) for y in claim_years(sub, principal, facts))

    entries = db.execute_sql(
        "SELECT claim_id, date, kind, amount, cancelled, post_write_off, alloc_principal"
        " FROM ledger_entry ORDER BY claim_id, date, id"
    )
    current: int | None = None
    facts: list[LedgerFact] = []
    for cid, on, kind, amount, cancelled, pwo, alloc in entries:
        if cid != current:
            if current is not None:
                flush(current, facts)
            current, facts = cid, []
            if len(pending) >= batch:
                written += insert_tuples(ClaimYear, columns, pending)
                pending = []
        facts.append(
            LedgerFact(date.fromisoformat(on), kind, amount, bool(cancelled), bool(pwo), alloc)
        )
    if current is not None:
        flush(current, facts)
    return written + insert_tuples(ClaimYear, columns, pending)


def _bound(db: Database | None) -> SqliteDatabase:
    """``db``, or the database the models are bound to (the proxy stands in for it)."""
    return cast(SqliteDatabase, db if db is not None else database)


class SchemaError(KyushoError):
    """The database's schema cannot be used by this version of kyusho."""


def schema_version(db: Database | None = None) -> int | None:
    """The version recorded in the database, or None for an empty database."""
    db = _bound(db)
    if not db.table_exists("meta"):
        return None
    row = Meta_.get_or_none(Meta_.key == "schema_version")
    return int(row.value) if row else None


def create_schema(db: SqliteDatabase | None = None, *, created_at: datetime) -> None:
    """Create every table of a new database at the current version."""
    db = _bound(db)
    with write_transaction(db):
        db.create_tables(ALL_MODELS)
        Meta_.insert(
            key="schema_version", value=str(SCHEMA_VERSION)
        ).on_conflict_replace().execute()
        Meta_.insert(key="created_at", value=created_at.isoformat()).on_conflict_ignore().execute()


def ensure_current(
    db: Database | None = None,
    *,
    target: int | None = None,
    migrations: dict[int, Callable[[SqliteDatabase], None]] | None = None,
) -> int:
    """Bring the database to the current schema version; returns the version found."""
    db = _bound(db)
    target = SCHEMA_VERSION if target is None else target
    migrations = MIGRATIONS if migrations is None else migrations
    found = schema_version(db)
    if found is None:
        raise SchemaError(
            "これは kyusho のデータベースではありません（`kyusho init` で作成します）。"
        )
    if found > target:
        raise SchemaError(
            f"このデータベースは新しい kyusho（スキーマ {found}）で作られています。"
            f"この kyusho はスキーマ {target} までです。kyusho を更新してください。"
        )
    if found < target and is_postgres(db):
        owner = db.execute_sql("SELECT kyusho_is_owner()").fetchone()[0]
        if not owner:  # only the owner may change tables; staff roles cannot
            raise SchemaError(
                f"このデータベースはスキーマ {found} です（この kyusho は {target}）。"
                "更新はデータベースの所有者が行います: 所有者が `kyusho --db URL audit verify` を"
                "一度実行すると更新されます。"
            )
    if found < target:
        with write_transaction(db):
            for version in range(found + 1, target + 1):
                step = migrations.get(version)
                if step is None:
                    raise SchemaError(
                        f"スキーマ {version - 1} から {version} への移行手順がありません。"
                    )
                step(db)
                Meta_.update(value=str(version)).where(Meta_.key == "schema_version").execute()
    return found
