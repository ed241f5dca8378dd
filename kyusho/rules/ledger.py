"""The claim ledger: balance, damages (損害金) and the allocation (充当) of receipts.

Pure and deterministic (SPEC 4.3, 4.4): a balance is a function of the claim's terms, its
ledger entries and an as-of date, recomputed from the subrogation date every time. That is
what lets back-dated entries and cancellations re-allocate every later receipt without any
stored running total going stale.

Damages accrue on the outstanding claim principal only (no compounding), day by day on a
365-day year (also in leap years), in sub-periods between consecutive ledger dates; each
sub-period is floored to the yen on its own. All arithmetic is exact (int and Fraction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from kyusho.errors import InputError
from kyusho.vocab import ALLOCATION_ORDERS, ENTRY_KINDS

RECEIPT = "receipt"
COST = "cost"
DAMAGES_WAIVER = "damages_waiver"
WAIVER = "waiver"  # 求償権放棄: the waived part of the balance (SPEC 4.12)
# the entry kinds the engine applies: vocab's, plus the waiver (labelled here until vocab has it)
KINDS = {**ENTRY_KINDS, WAIVER: "求償権放棄"}
STATUTORY = "statutory"
PRINCIPAL_FIRST = "principal_first"

DAYS_PER_YEAR = 365  # 一年三六五日の日割計算, leap years included


def _yen(amount: int) -> str:
    return f"{amount:,}円"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ClaimTerms:
    """What the ledger needs to know about a claim; validated so the engine can trust it."""

    subrogation_date: date
    loan_principal: int
    loan_interest: int
    damages_rate: Decimal  # percent per year, e.g. Decimal("14.0")
    allocation_order: str = STATUTORY

    def __post_init__(self) -> None:
        if not _is_int(self.loan_principal) or self.loan_principal < 0:
            raise InputError("代位弁済元金", "0円以上の金額を入力してください")
        if not _is_int(self.loan_interest) or self.loan_interest < 0:
            raise InputError("代位弁済利息", "0円以上の金額を入力してください")
        rate = self.damages_rate
        if isinstance(rate, str):
            try:
                rate = Decimal(rate.strip())
            except ArithmeticError:
                raise InputError(
                    "損害金率", "年率（%）を数値で入力してください（例: 14.0）"
                ) from None
            object.__setattr__(self, "damages_rate", rate)
        if not isinstance(rate, Decimal | Fraction | int) or isinstance(rate, bool):
            # A float rate is a programming error, not user input: refuse it loudly.
            raise TypeError(f"damages_rate must be Decimal, got {type(rate).__name__}")
        if (isinstance(rate, Decimal) and not rate.is_finite()) or rate < 0:
            raise InputError("損害金率", "0以上の年率（%）を入力してください（例: 14.0）")
        if self.allocation_order not in ALLOCATION_ORDERS:
            raise InputError(
                "充当順序", "法定（statutory）または元金（principal_first）を指定してください"
            )

    @property
    def principal(self) -> int:
        """Claim principal (求償元金) at subrogation: 代位弁済元金 + 代位弁済利息."""
        return self.loan_principal + self.loan_interest

    @property
    def rate(self) -> Fraction:
        """The damages rate as an exact fraction of one (14.0% → 7/50)."""
        return Fraction(self.damages_rate) / 100


@dataclass(frozen=True)
class Entry:
    """One ledger entry. ``seq`` is the recording order (the DB id); same-date entries apply
    in ascending ``seq``, which is how "in the order they were recorded" is kept."""

    seq: int
    date: date
    kind: str  # "receipt" | "cost" | "damages_waiver" | "waiver"
    amount: int
    cancelled: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(
                "種別", "入金・費用・損害金減免・求償権放棄のいずれかを指定してください"
            )
        if not _is_int(self.amount) or self.amount <= 0:
            raise InputError("金額", "1円以上の金額を入力してください")


@dataclass(frozen=True)
class Allocation:
    """How one receipt was split; ``costs + damages + principal == amount``."""

    costs: int
    damages: int
    principal: int

    @property
    def total(self) -> int:
        return self.costs + self.damages + self.principal


@dataclass(frozen=True)
class Balance:
    principal: int
    damages: int
    costs: int

    @property
    def total(self) -> int:
        return self.principal + self.damages + self.costs


@dataclass(frozen=True)
class LedgerRow:
    """One entry as applied. Cancelled entries appear with ``allocation`` None, ``accrued`` 0
    and the balance unchanged (their date is not a ledger date, so they change nothing)."""

    entry: Entry
    accrued: int  # damages accrued from the previous ledger date up to this entry's date
    allocation: Allocation | None  # receipts only
    balance_after: Balance


@dataclass(frozen=True)
class LedgerResult:
    as_of: date
    balance: Balance  # at the end of as_of, damages accrued through as_of
    rows: tuple[LedgerRow, ...]
    allocations: Mapping[int, Allocation]  # by Entry.seq, non-cancelled receipts only
    damages_accrued_total: int
    # by Entry.seq, non-cancelled 求償権放棄 entries: the part of each bucket waived (kept
    # apart from receipts: a waiver is not a recovery, e.g. for the 公庫 remittance)
    waived: Mapping[int, Allocation] = field(default_factory=lambda: MappingProxyType({}))


class OverpaymentError(InputError):
    """A receipt larger than the total balance on its date (SPEC 4.4): refused, maximum stated."""

    def __init__(self, seq: int, on: date, maximum: int) -> None:
        self.seq = seq
        self.date = on
        self.maximum = maximum
        super().__init__("金額", f"入金額が残高を超えています（最大 {_yen(maximum)}）")


class ClaimWaiverExceedsError(InputError):
    """A 求償権放棄 larger than the total balance on its date."""

    def __init__(self, seq: int, on: date, maximum: int) -> None:
        self.seq = seq
        self.date = on
        self.maximum = maximum
        super().__init__("金額", f"放棄額が求償権残高を超えています（最大 {_yen(maximum)}）")


class WaiverExceedsError(InputError):
    """A damages waiver larger than the damages unpaid on its date."""

    def __init__(self, seq: int, on: date, maximum: int) -> None:
        self.seq = seq
        self.date = on
        self.maximum = maximum
        super().__init__("金額", f"減免額が未払損害金を超えています（最大 {_yen(maximum)}）")


def accrue(principal: int, rate: Fraction, days: int) -> int:
    """Damages for one sub-period: floor(principal × rate × days / 365), exact."""
    if days <= 0 or principal <= 0:
        return 0
    # integer floor division of numerator by denominator: the same exact floor, without
    # building Fractions (a million receipts' worth in an import)
    return (principal * rate.numerator * days) // (rate.denominator * DAYS_PER_YEAR)


def _split(order: str, amount: int, bal: Balance) -> Allocation:
    """Split a receipt that does not exceed ``bal.total`` in the claim's order."""
    costs = min(amount, bal.costs)
    rest = amount - costs
    if order == STATUTORY:  # 民法489条: costs → damages → principal
        damages = min(rest, bal.damages)
        return Allocation(costs, damages, rest - damages)
    principal = min(rest, bal.principal)  # 元金充当: costs → principal → damages
    return Allocation(costs, rest - principal, principal)


def _date_field(entry: Entry) -> str:
    return "入金日" if entry.kind == RECEIPT else "日付"


def compute(
    terms: ClaimTerms, entries: Iterable[Entry], as_of: date, *, rows: bool = True
) -> LedgerResult:
    """Replay the ledger from the subrogation date to the end of ``as_of``.

    Entries dated after ``as_of`` are ignored; cancelled entries are listed but change
    nothing. Raises OverpaymentError / WaiverExceedsError for the first entry that the
    balance on its date cannot take, and InputError for an entry dated before subrogation.
    ``rows=False``: the result's ``rows`` (each entry's line as shown) are left empty, for
    a caller that stores only the allocations and the balance (an import recomputes
    millions of entries).
    """
    entries = tuple(entries)
    seen: set[int] = set()
    for entry in entries:
        if entry.seq in seen:
            raise ValueError(f"duplicate ledger entry seq {entry.seq}")
        seen.add(entry.seq)
    if as_of < terms.subrogation_date:
        raise InputError(
            "基準日",
            f"代位弁済日（{terms.subrogation_date.isoformat()}）以降の日付を指定してください",
        )

    rate = terms.rate
    principal, damages, costs = terms.principal, 0, 0
    last = terms.subrogation_date
    accrued_total = 0
    lines: list[LedgerRow] = []
    allocations: dict[int, Allocation] = {}
    waived: dict[int, Allocation] = {}

    for entry in sorted((e for e in entries if e.date <= as_of), key=lambda e: (e.date, e.seq)):
        if entry.cancelled:
            if rows:
                lines.append(LedgerRow(entry, 0, None, Balance(principal, damages, costs)))
            continue
        if entry.date < terms.subrogation_date:
            raise InputError(
                _date_field(entry),
                f"代位弁済日（{terms.subrogation_date.isoformat()}）以降の日付を入力してください",
            )
        accrued = accrue(principal, rate, (entry.date - last).days)
        damages += accrued
        accrued_total += accrued
        last = entry.date
        allocation: Allocation | None = None
        if entry.kind == RECEIPT:
            current = Balance(principal, damages, costs)
            if entry.amount > current.total:
                raise OverpaymentError(entry.seq, entry.date, current.total)
            allocation = _split(terms.allocation_order, entry.amount, current)
            costs -= allocation.costs
            damages -= allocation.damages
            principal -= allocation.principal
            allocations[entry.seq] = allocation
        elif entry.kind == COST:
            costs += entry.amount
        elif entry.kind == WAIVER:
            # waived like a receipt is allocated (the claim's order), so a waiver of the
            # whole balance leaves nothing and a partial one takes the same buckets first
            current = Balance(principal, damages, costs)
            if entry.amount > current.total:
                raise ClaimWaiverExceedsError(entry.seq, entry.date, current.total)
            part = _split(terms.allocation_order, entry.amount, current)
            costs -= part.costs
            damages -= part.damages
            principal -= part.principal
            waived[entry.seq] = part
        else:  # damages_waiver
            if entry.amount > damages:
                raise WaiverExceedsError(entry.seq, entry.date, damages)
            damages -= entry.amount
        if rows:
            lines.append(LedgerRow(entry, accrued, allocation, Balance(principal, damages, costs)))

    tail = accrue(principal, rate, (as_of - last).days)
    return LedgerResult(
        as_of=as_of,
        balance=Balance(principal, damages + tail, costs),
        rows=tuple(lines),
        allocations=MappingProxyType(allocations),
        damages_accrued_total=accrued_total + tail,
        waived=MappingProxyType(waived),
    )


def balance(terms: ClaimTerms, entries: Iterable[Entry], as_of: date) -> Balance:
    """The claim's balance at the end of ``as_of`` (SPEC 4.3)."""
    return compute(terms, entries, as_of).balance


def _balance_for_new(terms: ClaimTerms, entries: Iterable[Entry], on: date, field: str) -> Balance:
    if on < terms.subrogation_date:
        raise InputError(
            field, f"代位弁済日（{terms.subrogation_date.isoformat()}）以降の日付を入力してください"
        )
    return balance(terms, entries, on)


def max_receipt(terms: ClaimTerms, entries: Iterable[Entry], on: date) -> int:
    """Largest receipt a new entry dated ``on`` (recorded after all existing ones) may have:
    the total balance at that date after every existing entry of that date.

    For a back-dated receipt this does not look at later receipts; ``compute`` over the whole
    ledger with the new entry still refuses one that would make a later receipt overpay.
    """
    return _balance_for_new(terms, entries, on, "入金日").total


def max_claim_waiver(terms: ClaimTerms, entries: Iterable[Entry], on: date) -> int:
    """Largest 求償権放棄 a new entry dated ``on`` may have: the whole balance then."""
    return _balance_for_new(terms, entries, on, "日付").total


def max_waiver(terms: ClaimTerms, entries: Iterable[Entry], on: date) -> int:
    """Largest damages waiver a new entry dated ``on`` may have: the damages unpaid then."""
    return _balance_for_new(terms, entries, on, "日付").damages


def preview_receipt(
    terms: ClaimTerms,
    entries: Iterable[Entry],
    on: date,
    amount: int,
    *,
    as_of: date | None = None,
) -> Allocation:
    """The allocation a new receipt of ``amount`` dated ``on`` would get (live preview).

    The receipt is placed after every existing entry (same-day ones included). With ``as_of``
    later than ``on`` the replay runs to ``as_of``, so a back-dated receipt that would make a
    later receipt overpay raises that receipt's OverpaymentError (its ``seq`` tells which).
    """
    entries = tuple(entries)
    if on < terms.subrogation_date:
        raise InputError(
            "入金日",
            f"代位弁済日（{terms.subrogation_date.isoformat()}）以降の日付を入力してください",
        )
    seq = max((e.seq for e in entries), default=0) + 1
    new = Entry(seq, on, RECEIPT, amount)
    horizon = on if as_of is None else max(on, as_of)
    return compute(terms, (*entries, new), horizon).allocations[seq]
