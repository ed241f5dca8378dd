"""Per-claim 年度 figures (kyusho.year_end) and their stored projection (ClaimYear)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyusho.rules.year_end import MONTHS, LedgerFact, claim_years, fy_month_index
from kyusho.services.maintenance import rebuild
from models.db import write_transaction
from models.migrations import SCHEMA_VERSION, ensure_current, schema_version
from models.schema import ClaimYear, LedgerEntry, Meta_


def fact(on: str, amount: int, principal: int, *, kind="receipt", cancelled=False, pwo=False):
    return LedgerFact(date.fromisoformat(on), kind, amount, cancelled, pwo, principal)


def test_rows_run_from_the_subrogation_year_to_the_last_entry_with_year_end_principal():
    rows = claim_years(
        date(2023, 5, 10),
        1_000_000,
        [
            fact("2023-06-30", 100_000, 80_000),
            fact("2024-03-31", 50_000, 50_000),  # March 31 still belongs to FY2023
            fact("2024-04-01", 5_000, 0, kind="cost"),
            fact("2025-01-10", 70_000, 0, cancelled=True),
            fact("2026-02-01", 30_000, 30_000, pwo=True),
        ],
    )
    assert [r.fy for r in rows] == [2023, 2024, 2025]
    assert [r.principal_end for r in rows] == [870_000, 870_000, 840_000]
    assert [(r.receipts, r.received) for r in rows] == [(2, 150_000), (0, 0), (1, 30_000)]
    assert rows[2].received_after_write_off == 30_000
    assert rows[0].months[2] == 100_000 and rows[0].months[11] == 50_000  # June, March
    assert rows[2].months[10] == 30_000  # February


def test_a_claim_without_live_entries_has_no_rows():
    assert claim_years(date(2020, 1, 1), 500, []) == []
    assert claim_years(date(2020, 1, 1), 500, [fact("2021-01-01", 100, 100, cancelled=True)]) == []


def test_month_index_counts_from_april():
    assert [fy_month_index(date(2025, m, 1)) for m in (4, 12, 1, 3)] == [0, 8, 9, 11]


facts_st = st.lists(
    st.builds(
        fact,
        st.dates(date(2015, 1, 1), date(2026, 11, 22)).map(date.isoformat),
        st.integers(1, 10**7),
        st.integers(0, 10**6),
        kind=st.sampled_from(["receipt", "cost", "damages_waiver"]),
        cancelled=st.booleans(),
        pwo=st.booleans(),
    ),
    max_size=30,
)


@given(facts_st)
def test_rows_add_up_to_the_ledger(facts):
    sub = date(2015, 1, 1)
    rows = claim_years(sub, 10**9, facts)
    live = [f for f in facts if not f.cancelled]
    assert [r.fy for r in rows] == list(range(rows[0].fy, rows[-1].fy + 1)) if rows else not live
    receipts = [f for f in live if f.kind == "receipt"]
    assert sum(r.received for r in rows) == sum(f.amount for f in receipts)
    assert sum(r.receipts for r in rows) == len(receipts)
    for r in rows:
        assert sum(r.months) == r.received and len(r.months) == MONTHS
        end = date(r.fy + 1, 3, 31)
        assert r.principal_end == 10**9 - sum(f.alloc_principal for f in live if f.date <= end)


def stored_years() -> list[tuple]:
    return sorted(ClaimYear.select().tuples())


@pytest.mark.sqlite_only(
    reason="古い版の SQLite ファイルからの移行（PostgreSQL は現在の版で作られる）"
)
def test_demo_years_survive_rebuild_and_a_migration_from_schema_1(demo_session):
    before = stored_years()
    assert len(before) > 100
    assert rebuild(demo_session, write=False).changed == 0
    # an edited row is found by rebuild --check and put back by rebuild
    row = ClaimYear.select().first()
    ClaimYear.update(received=ClaimYear.received + 1).where(
        (ClaimYear.fy == row.fy) & (ClaimYear.claim == row.claim_id)
    ).execute()
    assert rebuild(demo_session, write=False).changed > 0
    rebuild(demo_session)
    assert stored_years() == before
    # a database made before ClaimYear existed gets the same rows when it is opened
    db = demo_session.db
    with write_transaction(db):
        db.execute_sql("DROP TABLE claim_year")
        Meta_.update(value="1").where(Meta_.key == "schema_version").execute()
    assert ensure_current(db) == 1
    assert schema_version(db) == SCHEMA_VERSION
    assert stored_years() == before


def test_posting_and_cancelling_a_receipt_updates_its_year(demo_session):
    from kyusho.services.entries import cancel_entry, post_receipt
    from models.schema import Claim

    claim = Claim.select().where(Claim.status == "active").order_by(Claim.id).first()
    payer = claim.obligors.order_by("obligor_no").first()
    on = date(2026, 11, 20)
    before = {r.fy: r for r in claim.years}
    entry = post_receipt(demo_session, claim.claim_no, on, 12_345, payer.obligor_no)
    after = {r.fy: r for r in ClaimYear.select().where(ClaimYear.claim == claim.id)}
    got = after[2026]
    had = before.get(2026)
    assert got.received == (had.received if had else 0) + 12_345
    assert got.m08 == (had.m08 if had else 0) + 12_345  # November is the 8th month of the 年度
    alloc = LedgerEntry.get_by_id(entry.id).alloc_principal
    assert got.principal_end == Claim.get_by_id(claim.id).principal_outstanding
    assert alloc >= 0
    cancel_entry(demo_session, entry.id, "誤入力")
    again = {r.fy: r for r in ClaimYear.select().where(ClaimYear.claim == claim.id)}
    assert {fy: r.received for fy, r in again.items()} == {
        fy: r.received for fy, r in before.items()
    }
