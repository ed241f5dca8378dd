"""The 公庫 remittance rule (SPEC 4.13): worked cases, adjustments, invariants under hypothesis."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyusho.rules.ledger import ClaimTerms, Entry
from kyusho.rules.remittance import (
    Insurance,
    Recorded,
    base,
    booked,
    half_of,
    half_totals,
    remittances,
)

CASES = tomllib.loads(
    (Path(__file__).resolve().parent / "examples" / "remittance.toml").read_text(encoding="utf-8")
)["case"]


def _inputs(case: dict) -> tuple[ClaimTerms, Insurance, list[Entry]]:
    terms = ClaimTerms(
        subrogation_date=case["subrogation_date"],
        loan_principal=case["loan_principal"],
        loan_interest=case["loan_interest"],
        damages_rate=Decimal(case["damages_rate"]),
        allocation_order=case["allocation_order"],
    )
    insurance = Insurance(
        Decimal(case["cover_ratio"]), case["insurance_paid"], case["insurance_paid_on"]
    )
    entries = [
        Entry(i, e["date"], e["kind"], e["amount"]) for i, e in enumerate(case["entry"], start=1)
    ]
    return terms, insurance, entries


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_worked_example(case: dict) -> None:
    terms, insurance, entries = _inputs(case)
    expected = case["expected"]
    b = base(terms, insurance, entries)
    assert isinstance(b, Fraction)
    assert (b.numerator, b.denominator) == (
        expected["base_numerator"],
        expected["base_denominator"],
    )
    got = remittances(terms, insurance, entries)
    assert [(r.date, r.amount, r.allocated_principal, r.remittance) for r in got] == [
        (x["date"], x["amount"], x["allocated_principal"], x["remittance"])
        for x in expected["remittance"]
    ]
    assert half_totals(got) == {
        (x["fiscal_year"], x["half"]): x["total"] for x in expected["half_year"]
    }


R1 = CASES[0]
FY = 2024
HALVES = [(2024, 1), (2024, 2), (2025, 1)]


def _recorded(entries: list[Entry], recorded: dict[int, date], cancelled: dict[int, date]):
    return [Recorded(e, recorded.get(e.seq, e.date), cancelled.get(e.seq)) for e in entries]


def test_receipts_recorded_in_their_half_year_are_plain_rows() -> None:
    terms, insurance, entries = _inputs(R1)
    rows = booked(terms, insurance, _recorded(entries, {}, {}), HALVES, date(2025, 6, 1))
    assert [(r.date, r.remittance, (r.fiscal_year, r.half), r.adjustment) for r in rows] == [
        (date(2024, 9, 30), 240000, (2024, 1), False),
        (date(2024, 12, 25), 240000, (2024, 2), False),
        (date(2025, 3, 31), 200000, (2024, 2), False),
    ]


def test_a_back_dated_receipt_is_an_adjustment_in_the_half_year_it_was_recorded() -> None:
    terms, insurance, entries = _inputs(R1)
    # the 2024-09-30 receipt only reached the ledger on 2024-10-20, after 上期 was reported
    rec = _recorded(entries, {1: date(2024, 10, 20)}, {})
    rows = booked(terms, insurance, rec, HALVES, date(2025, 6, 1))
    first = [r for r in rows if r.seq == 1]
    assert [(r.fiscal_year, r.half, r.remittance, r.adjustment) for r in first] == [
        (2024, 2, 240000, True)
    ]
    assert sum(r.remittance for r in rows if (r.fiscal_year, r.half) == (2024, 1)) == 0
    assert sum(r.remittance for r in rows if (r.fiscal_year, r.half) == (2024, 2)) == 680000


def test_a_cancellation_after_the_half_year_is_a_negative_adjustment_where_recorded() -> None:
    terms, insurance, entries = _inputs(R1)
    rec = _recorded(entries, {}, {2: date(2025, 5, 12)})  # the 12/25 receipt cancelled in May
    rows = booked(terms, insurance, rec, HALVES, date(2025, 6, 1))
    second = [
        (r.fiscal_year, r.half, r.amount, r.remittance, r.adjustment) for r in rows if r.seq == 2
    ]
    assert second == [(2024, 2, 300000, 240000, False), (2025, 1, -300000, -240000, True)]


def test_a_cancellation_within_the_half_year_leaves_no_row() -> None:
    terms, insurance, entries = _inputs(R1)
    rec = _recorded(entries, {}, {2: date(2025, 1, 5)})
    rows = booked(terms, insurance, rec, HALVES, date(2025, 6, 1))
    assert [r.seq for r in rows] == [1, 3]


def test_half_years_not_yet_reached_book_nothing() -> None:
    terms, insurance, entries = _inputs(R1)
    rows = booked(terms, insurance, _recorded(entries, {}, {}), HALVES, date(2024, 12, 31))
    # as known at the end of 2024-12-31: the March receipt is not there yet
    assert [(r.date, r.half) for r in rows] == [(date(2024, 9, 30), 1), (date(2024, 12, 25), 2)]


# --------------------------------------------------------------------------- invariants

SUB = date(2022, 4, 1)


@st.composite
def claims(draw):
    loan_principal = draw(st.integers(1, 20_000_000))
    loan_interest = draw(st.integers(0, 500_000))
    terms = ClaimTerms(
        subrogation_date=SUB,
        loan_principal=loan_principal,
        loan_interest=loan_interest,
        damages_rate=Decimal(draw(st.sampled_from(["14.0", "14.6", "0"]))),
        allocation_order=draw(st.sampled_from(["statutory", "principal_first"])),
    )
    ratio = draw(st.sampled_from(["70", "80", "90"]))
    paid_on = SUB + timedelta(days=draw(st.integers(0, 400)))
    insurance = Insurance(
        Decimal(ratio), loan_principal * int(ratio) // 100 + draw(st.integers(0, 1000)), paid_on
    )
    n = draw(st.integers(0, 8))
    days = sorted(draw(st.lists(st.integers(0, 1400), min_size=n, max_size=n)))
    total = terms.principal
    recorded = []
    for seq, day in enumerate(days, start=1):
        on = SUB + timedelta(days=day)
        if draw(st.booleans()):
            amount = draw(st.integers(1, max(1, total // 3)))
            entry = Entry(seq, on, "receipt", amount)
        else:
            entry = Entry(seq, on, "cost", draw(st.integers(1, 50_000)))
        late = draw(st.sampled_from([0, 0, 30, 200]))
        cancel = draw(st.sampled_from([None, None, 10, 250]))
        recorded.append(
            Recorded(
                entry,
                on + timedelta(days=late),
                None if cancel is None else on + timedelta(days=late + cancel),
            )
        )
    return terms, insurance, recorded


def _valid(terms, recorded) -> bool:
    """Only ledgers the engine accepts (no receipt larger than the balance)."""
    from kyusho.errors import InputError

    insurance = Insurance(Decimal(80), 1, SUB)
    now = [
        Entry(r.entry.seq, r.entry.date, r.entry.kind, r.entry.amount, r.cancelled_on is not None)
        for r in recorded
    ]
    try:
        remittances(terms, insurance, [r.entry for r in recorded])
        remittances(terms, insurance, now)
    except InputError:
        return False
    return True


ALL_HALVES = [(fy, h) for fy in range(2022, 2028) for h in (1, 2)]
LATER = date(2028, 1, 1)


@settings(max_examples=150, deadline=None)
@given(claims())
def test_remittances_never_exceed_the_insurance_paid(claim) -> None:
    terms, insurance, recorded = claim
    if not _valid(terms, recorded):
        return
    rows = remittances(terms, insurance, [r.entry for r in recorded])
    assert all(r.remittance >= 0 for r in rows)
    assert sum(r.remittance for r in rows) <= insurance.paid
    # at the end of every half year, what had been booked so far stays within 保険金 too
    book = booked(terms, insurance, recorded, ALL_HALVES, LATER)
    for h in ALL_HALVES:
        assert sum(r.remittance for r in book if (r.fiscal_year, r.half) <= h) <= insurance.paid


@settings(max_examples=150, deadline=None)
@given(claims())
def test_recomputation_is_idempotent_and_adjustments_add_up(claim) -> None:
    terms, insurance, recorded = claim
    if not _valid(terms, recorded):
        return
    first = booked(terms, insurance, recorded, ALL_HALVES, LATER)
    assert booked(terms, insurance, list(recorded), ALL_HALVES, LATER) == first
    # one half year at a time gives the same rows as all at once
    assert [r for h in ALL_HALVES for r in booked(terms, insurance, recorded, [h], LATER)] == first
    # booked rows and adjustments add up to today's figures, receipt by receipt
    now = [
        Entry(r.entry.seq, r.entry.date, r.entry.kind, r.entry.amount, r.cancelled_on is not None)
        for r in recorded
    ]
    today = {r.seq: r.remittance for r in remittances(terms, insurance, now)}
    summed: dict[int, int] = {}
    for r in first:
        summed[r.seq] = summed.get(r.seq, 0) + r.remittance
    assert {k: v for k, v in summed.items() if v} == {k: v for k, v in today.items() if v}
    for r in first:
        assert r.adjustment == ((r.fiscal_year, r.half) != half_of(r.date))
