"""日本政策金融公庫 recovery remittance (回収金納付, SPEC 4.13), pure and exact.

The 公庫 insured part of the claim; each recovery after the 保険金 was received is shared
with it in proportion: remittance = floor(allocated principal × loan principal / claim
principal × 保険金 / 回収後残額), one floor per receipt. The base 回収後残額 is kept as an
exact Fraction so that no rounding creeps in before that single floor.

Half years once reported are never rewritten: a receipt recorded after its half year ended,
or a cancellation made after it, shows as an adjustment in the half year in which it was
recorded. That falls out of comparing the ledger as it was known at the end of each half
year with the one before: the adjustments add up to the current figures exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from kyusho.errors import InputError
from kyusho.rules import ledger
from kyusho.rules.dates import fiscal_year
from kyusho.rules.ledger import ClaimTerms, Entry


@dataclass(frozen=True)
class Insurance:
    """The credit insurance on a claim once the 保険金 has been received."""

    cover_ratio: Decimal  # percent, e.g. Decimal("80")
    paid: int  # 保険金, yen
    paid_on: date  # 保険金受領日: the cut-off


@dataclass(frozen=True)
class Remittance:
    """One receipt's remittance under one state of the ledger."""

    seq: int
    date: date
    amount: int
    allocated_principal: int
    remittance: int


@dataclass(frozen=True)
class Recorded:
    """A ledger entry with the days it was recorded and (if so) cancelled on."""

    entry: Entry  # its ``cancelled`` flag is ignored: ``cancelled_on`` says when
    recorded_on: date
    cancelled_on: date | None = None


@dataclass(frozen=True)
class Row:
    """One line of the remittance ledger, booked in ``(fiscal_year, half)``.

    An adjustment is booked in a later half year than the receipt's date and carries the
    change only (negative for a cancellation)."""

    seq: int
    date: date  # the receipt's date
    amount: int
    allocated_principal: int
    remittance: int
    fiscal_year: int
    half: int  # 1 = 上期 (April–September), 2 = 下期 (October–March)
    adjustment: bool
    cancelled: bool = False  # the receipt is cancelled now


Half = tuple[int, int]  # (fiscal year, half)


def half_of(d: date) -> Half:
    """(FY, 1) for April–September, (FY, 2) for October–March."""
    return fiscal_year(d), 1 if 4 <= d.month <= 9 else 2


def half_range(fy: int, half: int) -> tuple[date, date]:
    """First and last day of a half year, both inclusive."""
    if half == 1:
        return date(fy, 4, 1), date(fy, 9, 30)
    return date(fy, 10, 1), date(fy + 1, 3, 31)


def next_half(h: Half) -> Half:
    return (h[0], 2) if h[1] == 1 else (h[0] + 1, 1)


def prev_half(h: Half) -> Half:
    return (h[0] - 1, 2) if h[1] == 1 else (h[0], 1)


def _allocations(terms: ClaimTerms, entries: Sequence[Entry]) -> dict[int, ledger.Allocation]:
    live = [e for e in entries if not e.cancelled]
    if not live:
        return {}
    as_of = max(terms.subrogation_date, *(e.date for e in live))
    return dict(ledger.compute(terms, entries, as_of).allocations)


def _base(terms: ClaimTerms, insurance: Insurance, entries, allocations) -> Fraction:
    before = sum(
        allocations[e.seq].principal
        for e in entries
        if e.seq in allocations and e.date <= insurance.paid_on
    )
    if terms.principal <= 0:
        return Fraction(0)
    return terms.loan_principal - Fraction(before * terms.loan_principal, terms.principal)


def base(terms: ClaimTerms, insurance: Insurance, entries: Iterable[Entry]) -> Fraction:
    """回収後残額: loan principal less the principal recovered by the cut-off (loan share)."""
    entries = tuple(entries)
    return _base(terms, insurance, entries, _allocations(terms, entries))


def remittances(
    terms: ClaimTerms, insurance: Insurance, entries: Iterable[Entry]
) -> list[Remittance]:
    """Every live receipt dated after the cut-off with its remittance, in ledger order."""
    entries = tuple(entries)
    allocations = _allocations(terms, entries)
    b = _base(terms, insurance, entries, allocations)
    out: list[Remittance] = []
    for e in sorted(entries, key=lambda e: (e.date, e.seq)):
        if e.seq not in allocations or e.date <= insurance.paid_on:
            continue
        principal = allocations[e.seq].principal
        if b > 0 and terms.principal > 0:
            share = Fraction(principal * terms.loan_principal, terms.principal)
            amount = math.floor(share * insurance.paid / b)
        else:  # nothing left to recover on the loan: nothing to share
            amount = 0
        out.append(Remittance(e.seq, e.date, e.amount, principal, amount))
    return out


def half_totals(rows: Iterable[Remittance]) -> dict[Half, int]:
    """Remittances added up by the half year of the receipt's date."""
    totals: dict[Half, int] = {}
    for r in rows:
        h = half_of(r.date)
        totals[h] = totals.get(h, 0) + r.remittance
    return totals


def _known(recorded: Sequence[Recorded], through: date | None) -> list[Entry]:
    """The ledger as it was known at the end of ``through`` (None: as it is now)."""
    known = []
    for r in recorded:
        if through is not None and r.recorded_on > through:
            continue
        cancelled = r.cancelled_on is not None and (through is None or r.cancelled_on <= through)
        known.append(replace(r.entry, cancelled=cancelled))
    return known


def _state(
    terms: ClaimTerms, insurance: Insurance, recorded: Sequence[Recorded], through: date | None
) -> dict[int, Remittance]:
    try:
        return {r.seq: r for r in remittances(terms, insurance, _known(recorded, through))}
    except InputError:
        # a state the ledger never accepted (entries since re-ordered): judge by today's
        return {r.seq: r for r in remittances(terms, insurance, _known(recorded, None))}


def booked(
    terms: ClaimTerms,
    insurance: Insurance,
    recorded: Iterable[Recorded],
    halves: Iterable[Half],
    today: date,
) -> list[Row]:
    """The rows booked in each of ``halves`` (half years starting after ``today`` book none).

    A half year's rows are the change from the ledger as known at the end of the half year
    before to the ledger as known at the end of this one (or ``today``): a receipt dated in
    the half year is a plain row, a change to an earlier receipt is an adjustment.
    """
    recorded = tuple(recorded)
    if not recorded:
        return []
    entries_by_seq = {r.entry.seq: r for r in recorded}
    states: dict[Half, dict[int, Remittance]] = {}

    def state(h: Half) -> dict[int, Remittance]:
        if h not in states:
            start, end = half_range(*h)
            if start > today:
                states[h] = state(prev_half(h))
            else:
                states[h] = _state(terms, insurance, recorded, min(end, today))
        return states[h]

    out: list[Row] = []
    for h in sorted(set(halves)):
        start, _ = half_range(*h)
        if start > today or half_range(*h)[1] < insurance.paid_on:
            continue
        now, before = state(h), state(prev_half(h))
        for seq in sorted(set(now) | set(before), key=lambda s: (entries_by_seq[s].entry.date, s)):
            e = entries_by_seq[seq].entry
            if half_of(e.date) > h:
                continue
            zero = Remittance(seq, e.date, 0, 0, 0)
            a, b = now.get(seq, zero), before.get(seq, zero)
            own = half_of(e.date) == h
            if own:
                b = zero  # a receipt dated in this half year is booked here in full
            delta = (
                a.amount - b.amount,
                a.allocated_principal - b.allocated_principal,
                a.remittance - b.remittance,
            )
            if delta == (0, 0, 0) and not (own and seq in now):
                continue
            out.append(
                Row(
                    seq,
                    e.date,
                    *delta,
                    fiscal_year=h[0],
                    half=h[1],
                    adjustment=not own,
                    cancelled=entries_by_seq[seq].cancelled_on is not None,
                )
            )
    return out
