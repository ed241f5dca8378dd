"""The ledger engine: worked cases from the spec, edge rules, and invariants under hypothesis."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyusho.errors import InputError
from kyusho.rules.ledger import (
    Allocation,
    Balance,
    ClaimTerms,
    Entry,
    OverpaymentError,
    WaiverExceedsError,
    balance,
    compute,
    max_receipt,
    max_waiver,
    preview_receipt,
)


def _examples_file(name: str) -> Path:
    """The repository copy of a worked-example file first, then ../shared next to the repo."""
    here = Path(__file__).resolve().parent
    candidates = (here / "examples" / name, here.parent.parent / "shared" / "examples" / name)
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} not found in any of: {', '.join(map(str, candidates))}")


CASES = tomllib.loads(_examples_file("ledger.toml").read_text(encoding="utf-8"))["case"]


def _case_inputs(case: dict) -> tuple[ClaimTerms, list[Entry]]:
    terms = ClaimTerms(
        subrogation_date=case["subrogation_date"],
        loan_principal=case["loan_principal"],
        loan_interest=case["loan_interest"],
        damages_rate=Decimal(case["damages_rate"]),
        allocation_order=case["allocation_order"],
    )
    entries = [
        Entry(seq=i, date=e["date"], kind=e["kind"], amount=e["amount"])
        for i, e in enumerate(case.get("entry", []), start=1)
    ]
    return terms, entries


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_worked_example(case: dict) -> None:
    terms, entries = _case_inputs(case)
    result = compute(terms, entries, case["as_of"])
    want = case["expected"]["balance"]
    got = result.balance
    assert (got.principal, got.damages, got.costs, got.total) == (
        want["principal"],
        want["damages"],
        want["costs"],
        want["total"],
    )
    receipts = [e for e in entries if e.kind == "receipt"]
    expected = case["expected"]["allocation"]
    assert len(receipts) == len(expected)
    for receipt, exp in zip(receipts, expected, strict=True):
        assert (receipt.date, receipt.amount) == (exp["date"], exp["amount"])
        assert result.allocations[receipt.seq] == Allocation(
            costs=exp["costs"], damages=exp["damages"], principal=exp["principal"]
        )
    assert balance(terms, entries, case["as_of"]) == got


# --- concrete rules -------------------------------------------------------------------------

SUB = date(2023, 4, 10)
TERMS = ClaimTerms(SUB, 9_800_000, 200_000, Decimal("14.0"), "statutory")


def test_claim_principal_is_loan_principal_plus_interest() -> None:
    assert TERMS.principal == 10_000_000
    assert balance(TERMS, [], SUB) == Balance(10_000_000, 0, 0)


def test_365_day_year_also_in_leap_year() -> None:
    terms = ClaimTerms(date(2024, 1, 1), 1_000_000, 0, Decimal("14.6"), "statutory")
    # 2024-01-02 .. 2024-12-31 is 365 days: exactly one year's damages.
    assert balance(terms, [], date(2024, 12, 31)).damages == 146_000
    # One more day (366 days in leap-year 2024 counted on a 365-day year) is 366/365 of it.
    assert balance(terms, [], date(2025, 1, 1)).damages == 146_400


def test_each_sub_period_is_floored_on_its_own() -> None:
    terms = ClaimTerms(date(2023, 1, 1), 1_000_000, 0, Decimal("14.0"), "statutory")
    # One day is 383.56...円; two days in one period 767.12 → 767.
    assert balance(terms, [], date(2023, 1, 3)).damages == 767
    # A cost on day 1 makes it two sub-periods, floored separately: 383 + 383.
    cost = Entry(1, date(2023, 1, 2), "cost", 5_000)
    result = compute(terms, [cost], date(2023, 1, 3))
    assert result.balance == Balance(1_000_000, 766, 5_000)
    assert result.rows[0].accrued == 383
    assert result.damages_accrued_total == 766


def test_damages_do_not_compound_on_damages_or_costs() -> None:
    terms = ClaimTerms(date(2020, 1, 1), 1_000_000, 0, Decimal("14.0"), "statutory")
    costs = [Entry(1, date(2020, 1, 1), "cost", 500_000)]
    # 2020-01-02 .. 2021-12-31 is 730 days: twice one year's damages on principal alone.
    assert balance(terms, costs, date(2021, 12, 31)) == Balance(1_000_000, 280_000, 500_000)


def test_entries_after_as_of_are_ignored_and_not_listed() -> None:
    later = Entry(1, date(2024, 1, 15), "receipt", 100_000)
    result = compute(TERMS, [later], date(2023, 12, 31))
    assert result.rows == ()
    assert result.allocations == {}
    assert result.balance == Balance(10_000_000, 1_016_438, 0)  # 265 days


def test_entry_on_subrogation_date_accrues_nothing_first() -> None:
    cost = Entry(1, SUB, "cost", 30_000)
    receipt = Entry(2, SUB, "receipt", 40_000)
    result = compute(TERMS, [receipt, cost], SUB)
    assert [row.accrued for row in result.rows] == [0, 0]
    assert result.allocations[2] == Allocation(costs=30_000, damages=0, principal=10_000)
    assert result.balance == Balance(9_990_000, 0, 0)


def test_same_day_entries_share_one_accrual_and_apply_in_seq_order() -> None:
    day = date(2023, 7, 31)  # 112 days: 429,589円 of damages
    entries = [
        Entry(7, day, "receipt", 500_000),
        Entry(3, day, "cost", 20_000),
        Entry(5, day, "receipt", 30_000),
    ]
    result = compute(TERMS, entries, day)
    assert [row.entry.seq for row in result.rows] == [3, 5, 7]
    assert [row.accrued for row in result.rows] == [429_589, 0, 0]
    assert result.allocations[5] == Allocation(costs=20_000, damages=10_000, principal=0)
    assert result.allocations[7] == Allocation(costs=0, damages=419_589, principal=80_411)


def test_principal_first_pays_costs_then_principal_then_damages() -> None:
    terms = replace(TERMS, allocation_order="principal_first")
    day = date(2023, 7, 31)
    entries = [Entry(1, date(2023, 5, 1), "cost", 10_000), Entry(2, day, "receipt", 10_100_000)]
    result = compute(terms, entries, day)
    # Damages accrued on the full principal up to the receipt; the rest goes to damages last.
    assert result.allocations[2] == Allocation(costs=10_000, damages=90_000, principal=10_000_000)
    assert result.balance.principal == 0
    assert result.balance.damages == result.damages_accrued_total - 90_000


def test_cancelled_entries_are_listed_but_change_nothing() -> None:
    entries = [
        Entry(1, date(2023, 5, 1), "receipt", 100_000, cancelled=True),
        Entry(2, date(2023, 7, 31), "receipt", 500_000),
        Entry(3, date(2022, 1, 1), "cost", 1, cancelled=True),  # a wrong date, since cancelled
    ]
    result = compute(TERMS, entries, date(2023, 12, 31))
    assert [row.entry.seq for row in result.rows] == [3, 1, 2]
    cancelled_row = result.rows[1]
    assert cancelled_row.allocation is None
    assert cancelled_row.accrued == 0
    assert cancelled_row.balance_after == Balance(10_000_000, 0, 0)
    assert 1 not in result.allocations
    # Same result as case L1, which has only the second receipt.
    assert result.balance == Balance(9_929_589, 582_717, 0)
    assert result.rows[2].accrued == 429_589


def test_receipt_larger_than_balance_is_refused_with_maximum() -> None:
    day = date(2023, 7, 31)
    total = 10_000_000 + 429_589
    assert max_receipt(TERMS, [], day) == total
    with pytest.raises(OverpaymentError) as caught:
        compute(TERMS, [Entry(9, day, "receipt", total + 1)], day)
    err = caught.value
    assert (err.seq, err.date, err.maximum, err.field) == (9, day, total, "金額")
    assert err.message == "入金額が残高を超えています（最大 10,429,589円）"
    assert isinstance(err, InputError)


def test_full_payment_clears_the_claim_and_stops_accrual() -> None:
    day = date(2023, 7, 31)
    entries = [Entry(1, day, "receipt", max_receipt(TERMS, [], day))]
    result = compute(TERMS, entries, date(2030, 1, 1))
    assert result.balance == Balance(0, 0, 0)
    assert result.allocations[1] == Allocation(0, 429_589, 10_000_000)
    assert max_receipt(TERMS, entries, date(2024, 1, 1)) == 0


def test_overpayment_counts_same_day_earlier_receipts() -> None:
    day = date(2023, 7, 31)
    first = Entry(1, day, "receipt", 10_000_000)
    assert max_receipt(TERMS, [first], day) == 429_589
    with pytest.raises(OverpaymentError) as caught:
        compute(TERMS, [first, Entry(2, day, "receipt", 429_590)], day)
    assert caught.value.seq == 2
    assert caught.value.maximum == 429_589


def test_waiver_reduces_damages_and_cannot_exceed_them() -> None:
    day = date(2023, 7, 31)
    assert max_waiver(TERMS, [], day) == 429_589
    result = compute(TERMS, [Entry(1, day, "damages_waiver", 429_589)], day)
    assert result.balance == Balance(10_000_000, 0, 0)
    assert result.rows[0].allocation is None
    with pytest.raises(WaiverExceedsError) as caught:
        compute(TERMS, [Entry(1, day, "damages_waiver", 429_590)], day)
    assert (caught.value.field, caught.value.maximum, caught.value.seq) == ("金額", 429_589, 1)
    assert "429,589円" in caught.value.message


@pytest.mark.parametrize(("kind", "field"), [("receipt", "入金日"), ("cost", "日付")])
def test_entry_before_subrogation_is_refused(kind: str, field: str) -> None:
    with pytest.raises(InputError) as caught:
        compute(TERMS, [Entry(1, SUB - timedelta(days=1), kind, 1_000)], date(2024, 1, 1))
    assert caught.value.field == field
    assert "2023-04-10" in caught.value.message


def test_as_of_before_subrogation_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        balance(TERMS, [], SUB - timedelta(days=1))
    assert caught.value.field == "基準日"
    with pytest.raises(InputError) as caught:
        max_receipt(TERMS, [], SUB - timedelta(days=1))
    assert caught.value.field == "入金日"


def test_back_dated_receipt_reallocates_later_receipts() -> None:
    later = Entry(1, date(2023, 7, 31), "receipt", 500_000)
    before = compute(TERMS, [later], date(2023, 12, 31))
    back_dated = Entry(2, date(2023, 5, 10), "receipt", 200_000)  # recorded later, dated earlier
    after = compute(TERMS, [later, back_dated], date(2023, 12, 31))
    assert [row.entry.seq for row in after.rows] == [2, 1]
    # The earlier receipt took the damages accrued to its date, so the later one pays more
    # principal than it did before.
    assert after.allocations[1].principal > before.allocations[1].principal
    assert sum(a.total for a in after.allocations.values()) == 700_000


def test_back_dated_receipt_that_makes_a_later_one_overpay_is_caught() -> None:
    day = date(2023, 7, 31)
    payoff = Entry(1, day, "receipt", max_receipt(TERMS, [], day))
    with pytest.raises(OverpaymentError) as caught:
        preview_receipt(TERMS, [payoff], date(2023, 5, 1), 1_000, as_of=day)
    assert caught.value.seq == 1
    # Without as_of the preview looks at the receipt's own date only.
    assert preview_receipt(TERMS, [payoff], date(2023, 5, 1), 1_000) == Allocation(0, 1_000, 0)


def test_preview_receipt_matches_what_recording_it_gives() -> None:
    entries = [Entry(4, date(2023, 7, 31), "receipt", 500_000)]
    preview = preview_receipt(TERMS, entries, date(2023, 7, 31), 100_000)
    recorded = compute(
        TERMS, [*entries, Entry(5, date(2023, 7, 31), "receipt", 100_000)], date(2023, 7, 31)
    )
    assert preview == recorded.allocations[5] == Allocation(0, 0, 100_000)
    with pytest.raises(OverpaymentError):
        preview_receipt(TERMS, entries, date(2023, 7, 31), 10_000_000)
    with pytest.raises(InputError) as caught:
        preview_receipt(TERMS, entries, date(2023, 7, 31), 0)
    assert caught.value.field == "金額"


def test_terms_validation() -> None:
    assert ClaimTerms(SUB, 1, 0, "14.6").damages_rate == Decimal("14.6")  # type: ignore[arg-type]
    with pytest.raises(InputError) as caught:
        ClaimTerms(SUB, 1, 0, Decimal("-1"))
    assert caught.value.field == "損害金率"
    with pytest.raises(InputError) as caught:
        ClaimTerms(SUB, 1, 0, "abc")  # type: ignore[arg-type]
    assert caught.value.field == "損害金率"
    with pytest.raises(InputError) as caught:
        ClaimTerms(SUB, -1, 0, Decimal("14"))
    assert caught.value.field == "代位弁済元金"
    with pytest.raises(InputError) as caught:
        ClaimTerms(SUB, 1, 0, Decimal("14"), "interest_first")
    assert caught.value.field == "充当順序"
    with pytest.raises(TypeError):
        ClaimTerms(SUB, 1, 0, 14.0)  # type: ignore[arg-type]


def test_entry_validation() -> None:
    for amount in (0, -5, True):
        with pytest.raises(InputError) as caught:
            Entry(1, SUB, "receipt", amount)
        assert caught.value.field == "金額"
    with pytest.raises(InputError) as caught:
        Entry(1, SUB, "refund", 10)
    assert caught.value.field == "種別"


def test_duplicate_seq_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        compute(TERMS, [Entry(1, SUB, "cost", 1), Entry(1, SUB, "cost", 2)], SUB)


# --- invariants -----------------------------------------------------------------------------

KINDS = ("receipt", "receipt", "receipt", "cost", "damages_waiver")


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[ClaimTerms, list[Entry], date]:
    """A valid ledger: amounts clamped to what the balance takes, seq in date order."""
    sub = draw(st.dates(date(2016, 1, 1), date(2030, 12, 31)))
    terms = ClaimTerms(
        sub,
        draw(st.integers(0, 30_000_000)),
        draw(st.integers(0, 1_000_000)),
        Decimal(draw(st.sampled_from(["0", "5", "14.0", "14.6", "18.25", "21.9"]))),
        draw(st.sampled_from(["statutory", "principal_first"])),
    )
    specs = draw(
        st.lists(
            st.tuples(
                st.integers(0, 1500),
                st.sampled_from(KINDS),
                st.one_of(st.integers(1, 300_000), st.integers(1, 40_000_000)),
                st.booleans(),
            ),
            max_size=10,
        )
    )
    specs.sort(key=lambda spec: spec[0])  # stable: same-day entries keep their drawn order
    entries: list[Entry] = []
    for offset, kind, amount, cancel in specs:
        on = sub + timedelta(days=offset)
        if kind == "receipt":
            amount = min(amount, max_receipt(terms, entries, on))
        elif kind == "damages_waiver":
            amount = min(amount, max_waiver(terms, entries, on))
        if amount <= 0:
            continue
        # Only receipts and waivers get cancelled: removing them can never overpay later ones.
        cancelled = cancel and kind != "cost" and draw(st.booleans())
        entries.append(Entry(len(entries) + 1, on, kind, amount, cancelled))
    as_of = sub + timedelta(days=draw(st.one_of(st.integers(0, 1600), st.integers(1500, 2000))))
    return terms, entries, as_of


def _live(entries: list[Entry], as_of: date, kind: str) -> list[Entry]:
    return [e for e in entries if e.kind == kind and not e.cancelled and e.date <= as_of]


@settings(max_examples=60, deadline=None)
@given(ledgers())
def test_buckets_never_negative_and_everything_reconciles(ledger) -> None:
    terms, entries, as_of = ledger
    result = compute(terms, entries, as_of)
    for bal in [row.balance_after for row in result.rows] + [result.balance]:
        assert min(bal.principal, bal.damages, bal.costs) >= 0
    receipts = _live(entries, as_of, "receipt")
    assert set(result.allocations) == {e.seq for e in receipts}
    for entry in receipts:
        alloc = result.allocations[entry.seq]
        assert min(alloc.costs, alloc.damages, alloc.principal) >= 0
        assert alloc.total == entry.amount
    allocs = list(result.allocations.values())
    costs = sum(e.amount for e in _live(entries, as_of, "cost"))
    waived = sum(e.amount for e in _live(entries, as_of, "damages_waiver"))
    paid = sum(e.amount for e in receipts)
    assert sum(a.total for a in allocs) == paid
    bal = result.balance
    assert bal.principal == terms.principal - sum(a.principal for a in allocs)
    assert bal.damages == result.damages_accrued_total - waived - sum(a.damages for a in allocs)
    assert bal.costs == costs - sum(a.costs for a in allocs)
    assert bal.total == terms.principal + result.damages_accrued_total + costs - waived - paid
    assert sum(row.accrued for row in result.rows) <= result.damages_accrued_total


@settings(max_examples=60, deadline=None)
@given(ledgers(), st.data())
def test_recording_order_across_dates_does_not_matter(ledger, data) -> None:
    terms, entries, as_of = ledger
    perm = data.draw(st.permutations(range(1, len(entries) + 1)))
    new_seq = dict(zip((e.seq for e in entries), perm, strict=True))
    # Keep the relative order of same-day entries: give each day's entries its seqs sorted.
    by_day: dict[date, list[Entry]] = {}
    for entry in entries:
        by_day.setdefault(entry.date, []).append(entry)
    for day_entries in by_day.values():
        for entry, seq in zip(
            day_entries, sorted(new_seq[e.seq] for e in day_entries), strict=True
        ):
            new_seq[entry.seq] = seq
    shuffled = [replace(e, seq=new_seq[e.seq]) for e in entries]
    data.draw(st.randoms()).shuffle(shuffled)

    original = compute(terms, entries, as_of)
    reordered = compute(terms, shuffled, as_of)
    assert reordered.balance == original.balance
    assert reordered.damages_accrued_total == original.damages_accrued_total
    assert {seq: reordered.allocations[new_seq[seq]] for seq in original.allocations} == dict(
        original.allocations
    )
    assert [
        (new_seq[r.entry.seq], r.accrued, r.allocation, r.balance_after) for r in original.rows
    ] == [(r.entry.seq, r.accrued, r.allocation, r.balance_after) for r in reordered.rows]


@settings(max_examples=40, deadline=None)
@given(ledgers())
def test_compute_is_deterministic(ledger) -> None:
    terms, entries, as_of = ledger
    first = compute(terms, entries, as_of)
    assert compute(terms, list(reversed(entries)), as_of) == first
    assert compute(terms, iter(entries), as_of) == first


@settings(max_examples=60, deadline=None)
@given(ledgers())
def test_without_rows_the_allocations_and_balance_are_the_same(ledger) -> None:
    """rows=False (what an import's recompute asks for) leaves out only the shown lines."""
    terms, entries, as_of = ledger
    full = compute(terms, entries, as_of)
    lean = compute(terms, entries, as_of, rows=False)
    assert lean.rows == ()
    assert replace(lean, rows=full.rows) == full


@settings(max_examples=60, deadline=None)
@given(ledgers(), st.data())
def test_cancelling_a_receipt_or_waiver_equals_it_never_existing(ledger, data) -> None:
    terms, entries, as_of = ledger
    candidates = [e for e in entries if e.kind != "cost" and not e.cancelled]
    if not candidates:
        return
    target = data.draw(st.sampled_from(candidates))
    cancelled = compute(
        terms, [replace(e, cancelled=e is target or e.cancelled) for e in entries], as_of
    )
    without = compute(terms, [e for e in entries if e is not target], as_of)
    assert cancelled.balance == without.balance
    assert cancelled.allocations == without.allocations
    assert cancelled.damages_accrued_total == without.damages_accrued_total
    kept = [r for r in cancelled.rows if r.entry.seq != target.seq]
    assert [(r.entry.seq, r.accrued, r.allocation, r.balance_after) for r in kept] == [
        (r.entry.seq, r.accrued, r.allocation, r.balance_after) for r in without.rows
    ]


@settings(max_examples=40, deadline=None)
@given(ledgers(), st.data())
def test_max_receipt_is_exactly_the_limit(ledger, data) -> None:
    terms, entries, as_of = ledger
    on = data.draw(st.dates(terms.subrogation_date, as_of))
    maximum = max_receipt(terms, entries, on)
    assert maximum == balance(terms, entries, on).total
    if maximum > 0:
        alloc = preview_receipt(terms, entries, on, maximum)
        assert alloc.total == maximum
        seq = max((e.seq for e in entries), default=0) + 1
        paid_off = [*entries, Entry(seq, on, "receipt", maximum)]
        assert balance(terms, paid_off, on) == Balance(0, 0, 0)
    with pytest.raises(OverpaymentError) as caught:
        preview_receipt(terms, entries, on, maximum + 1)
    assert caught.value.maximum == maximum
