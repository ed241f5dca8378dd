"""The 公庫 回収金納付 ledger (SPEC 4.13): remittances of a fiscal year by half year.

The figures come from kyusho.rules.remittance; this module reads the insured claims whose
ledger can book something in the year, and shapes the result for the screen, JSON and
CSV/XLSX. The ledger is as known at the end of the date being viewed (``--as-of``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from kyusho.clock import JST
from kyusho.errors import InputError
from kyusho.rules import remittance as rule
from kyusho.services import projections
from kyusho.services.claims import day_of
from kyusho.services.session import Session
from models.bulk import in_values
from models.schema import Claim, LedgerEntry

HALF_LABELS = {1: "上期", 2: "下期"}
MIN_FY, MAX_FY = 1900, 2199

TABLE_HEADER = ["求償権番号", "入金日", "入金額", "元金充当額", "納付額", "期", "調整", "備考"]


@dataclass(frozen=True)
class RemittanceRow:
    claim_no: str
    date: date  # the receipt's date
    amount: int
    allocated_principal: int
    remittance: int
    half: int  # the half year it is booked in: 1 = 上期, 2 = 下期
    adjustment: bool
    note: str = ""


@dataclass
class RemittanceLedger:
    fiscal_year: int
    rows: list[RemittanceRow] = field(default_factory=list)
    halves: list[tuple[int, int]] = field(default_factory=list)  # (half, total)

    @property
    def total(self) -> int:
        return sum(t for _, t in self.halves)

    def by_claim(self) -> list[tuple[str, int]]:
        """(claim_no, total remittance) in claim order, for the per-claim totals."""
        totals: dict[str, int] = {}
        for r in self.rows:
            totals[r.claim_no] = totals.get(r.claim_no, 0) + r.remittance
        return sorted(totals.items())

    def json(self) -> dict[str, Any]:
        return {
            "fiscal_year": self.fiscal_year,
            "rows": [
                {
                    "claim_no": r.claim_no,
                    "date": r.date.isoformat(),
                    "amount": r.amount,
                    "allocated_principal": r.allocated_principal,
                    "remittance": r.remittance,
                    "half": r.half,
                }
                for r in self.rows
            ],
            "halves": [{"half": h, "total": t} for h, t in self.halves],
        }

    def table(self) -> tuple[list[str], list[list[object]]]:
        """Header and typed rows (int yen, dates) for CSV and XLSX."""
        rows: list[list[object]] = [
            [
                r.claim_no,
                r.date,
                r.amount,
                r.allocated_principal,
                r.remittance,
                HALF_LABELS[r.half],
                "調整" if r.adjustment else "",
                r.note,
            ]
            for r in self.rows
        ]
        return list(TABLE_HEADER), rows


def insurance_of(claim: Claim) -> rule.Insurance | None:
    """The claim's insurance once the 保険金 was received (None: nothing to remit)."""
    if claim.insurance_paid is None or claim.insurance_paid_on is None or not claim.cover_ratio:
        return None
    return rule.Insurance(Decimal(claim.cover_ratio), claim.insurance_paid, claim.insurance_paid_on)


def recorded_of(rows: Iterable[Any]) -> list[rule.Recorded]:
    """Ledger rows (models, or tuples with the same names) with the days (JST) they were
    recorded and cancelled."""
    out = []
    for e in rows:
        recorded_on = day_of(e.created_at) or e.date
        cancelled_on = (day_of(e.cancelled_at) or recorded_on) if e.cancelled else None
        out.append(rule.Recorded(projections.as_engine_entry(e), recorded_on, cancelled_on))
    return out


def _note(row: rule.Row, rec: rule.Recorded) -> str:
    if not row.adjustment:
        return ""
    if row.amount < 0 and rec.cancelled_on is not None:
        return f"取消（{rec.cancelled_on.isoformat()} 記録）"
    if row.amount > 0:
        return f"遡及計上（{rec.recorded_on.isoformat()} 記録）"
    return "再充当による調整"


def _candidate_claims(start: date, end: date) -> Any:
    """Insured claims that may book a row in [start, end]: a receipt dated in it and known
    by its end, or an entry recorded or cancelled in it (that may adjust an earlier receipt).
    What was recorded or cancelled after ``end`` is booked in a later half year, never here
    (a half year books the change between the ledger as known at its end and before it)."""
    since = datetime.combine(start, datetime.min.time(), tzinfo=JST)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=JST)
    touched = LedgerEntry.select(LedgerEntry.claim).where(
        (
            (LedgerEntry.date >= start)
            & (LedgerEntry.date <= end)
            & (LedgerEntry.kind == "receipt")
            & (LedgerEntry.created_at < until)
        )
        | ((LedgerEntry.created_at >= since) & (LedgerEntry.created_at < until))
        | ((LedgerEntry.cancelled_at >= since) & (LedgerEntry.cancelled_at < until))
    )
    return (
        Claim.select()
        .where(
            Claim.insurance_paid.is_null(False)
            & Claim.insurance_paid_on.is_null(False)
            & (Claim.insurance_paid_on <= end)
            & Claim.id.in_(touched)
        )
        .order_by(Claim.claim_no)
    )


ENTRY_BATCH = 500  # claims whose entries are read in one query


# what the remittance rule reads of a ledger row (read as plain tuples: at scale L a year
# touches a million rows, and building a model object for each took most of the time)
_ENTRY_COLUMNS = (
    LedgerEntry.id,
    LedgerEntry.claim,
    LedgerEntry.date,
    LedgerEntry.kind,
    LedgerEntry.amount,
    LedgerEntry.cancelled,
    LedgerEntry.created_at,
    LedgerEntry.cancelled_at,
)


def _with_entries(claims: Any) -> Iterator[tuple[Claim, list[Any]]]:
    """Each claim with its entries (date, id order), read for a batch of claims at a time:
    one query per claim took minutes when a year touched every insured claim."""
    batch: list[Claim] = []

    def flush() -> Iterator[tuple[Claim, list[Any]]]:
        by_claim: dict[int, list[Any]] = {c.id: [] for c in batch}
        query = (
            LedgerEntry.select(*_ENTRY_COLUMNS)
            .where(in_values(LedgerEntry.claim, list(by_claim)))
            .order_by(LedgerEntry.claim, LedgerEntry.date, LedgerEntry.id)
            .namedtuples()
        )
        row: Any
        for row in query:
            by_claim[row.claim].append(row)  # the claim's id (a tuple holds no model)
        for c in batch:
            yield c, by_claim[c.id]

    for claim in claims.iterator():
        batch.append(claim)
        if len(batch) == ENTRY_BATCH:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def ledger(session: Session, fiscal_year: int, half: int | None = None) -> RemittanceLedger:
    """The remittances booked in FY ``fiscal_year`` (or one half of it), per receipt."""
    if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, int):
        raise InputError("年度", "年度は西暦の数値で入力してください（例: 2024）")
    if not MIN_FY <= fiscal_year <= MAX_FY:
        raise InputError("年度", f"年度は{MIN_FY}〜{MAX_FY}の範囲で入力してください")
    if half not in (None, 1, 2):
        raise InputError("期", "期は 1（上期）または 2（下期）を指定してください")
    halves = [(fiscal_year, h) for h in ((1, 2) if half is None else (half,))]
    start = rule.half_range(*halves[0])[0]
    end = rule.half_range(*halves[-1])[1]
    as_of = session.view_date()
    rows: list[RemittanceRow] = []
    for claim, claim_entries in _with_entries(_candidate_claims(start, end)):
        insurance = insurance_of(claim)
        if insurance is None:
            continue
        entries = [
            e
            for e in claim_entries
            if e.date <= as_of and (day_of(e.created_at) or e.date) <= as_of
        ]
        recorded = {r.entry.seq: r for r in recorded_of(entries)}
        booked = rule.booked(
            projections.terms_of(claim), insurance, recorded.values(), halves, as_of
        )
        for b in booked:
            rows.append(
                RemittanceRow(
                    claim_no=claim.claim_no,
                    date=b.date,
                    amount=b.amount,
                    allocated_principal=b.allocated_principal,
                    remittance=b.remittance,
                    half=b.half,
                    adjustment=b.adjustment,
                    note=_note(b, recorded[b.seq]),
                )
            )
    rows.sort(key=lambda r: (r.half, r.claim_no, r.date))
    totals = [(h, sum(r.remittance for r in rows if r.half == h)) for _, h in halves]
    return RemittanceLedger(fiscal_year, rows, totals)
