"""Stored projections and how they are recomputed from the facts.

The facts are ledger entries and limitation events; allocations, the claim's outstanding
amounts and each obligor's clock are projections. Every write that can change one recomputes
it inside the same transaction, and ``kyusho rebuild`` recomputes them all: both go through
the functions here, so rebuild and the write paths can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kyusho.errors import InputError
from kyusho.rules import ledger, limitation, year_end
from kyusho.rules.ledger import Balance, ClaimTerms, Entry
from models.bulk import bulk_update, in_values, insert_tuples, records
from models.schema import (
    CLAIM_YEAR_FIGURES,
    Claim,
    ClaimYear,
    LedgerEntry,
    LimitationEvent,
    Obligor,
)

FAR_FUTURE = date(9999, 12, 31)


def terms_of(claim: Claim, *, allocation_order: str | None = None) -> ClaimTerms:
    return ClaimTerms(
        subrogation_date=claim.subrogation_date,
        loan_principal=claim.loan_principal,
        loan_interest=claim.loan_interest,
        damages_rate=Decimal(claim.damages_rate),
        allocation_order=allocation_order or claim.allocation_order,
    )


def entries_of(claim_id: int) -> list[LedgerEntry]:
    return list(
        LedgerEntry.select()
        .where(LedgerEntry.claim == claim_id)
        .order_by(LedgerEntry.date, LedgerEntry.id)
    )


def as_engine_entry(row: LedgerEntry) -> Entry:
    return Entry(
        seq=row.id, date=row.date, kind=row.kind, amount=row.amount, cancelled=row.cancelled
    )


@dataclass(slots=True)
class LedgerRow:
    """What recomputing reads of a ledger entry and may change (its allocation): built from
    a plain tuple, several times cheaper than a model object for the millions an import
    recomputes. The names are the model's, so the engine code takes either."""

    id: int
    claim_id: int
    date: date
    kind: str
    amount: int
    payer_id: int | None
    cancelled: bool
    post_write_off: bool
    alloc_costs: int
    alloc_damages: int
    alloc_principal: int


LEDGER_ROW_FIELDS = (
    "id",
    "claim",
    "date",
    "kind",
    "amount",
    "payer",
    "cancelled",
    "post_write_off",
    "alloc_costs",
    "alloc_damages",
    "alloc_principal",
)


def ledger_rows(claim_ids: Sequence[int]) -> list[LedgerRow]:
    """The entries of ``claim_ids``, each claim's in ledger order (date, id), as LedgerRow."""
    return records(
        LedgerEntry, LEDGER_ROW_FIELDS, "claim", claim_ids, order=("date", "id"), into=LedgerRow
    )


CLAIM_LEDGER_FIELDS = (
    "principal_outstanding",
    "costs_outstanding",
    "damages_at_last",
    "last_entry_on",
    "last_receipt_on",
)
ALLOC_FIELDS = ("alloc_costs", "alloc_damages", "alloc_principal")


@dataclass
class PendingWrites:
    """Writes of many claims' recomputations, kept to be sent together (an import).

    Per claim, the allocations, the claim's figures and its year rows were each a statement
    or more; an import of 2,000,000 receipts sent a million of them. ``years`` holds the
    stored year rows of the claims about to be recomputed, read in one query."""

    years: dict[int, list[tuple[int, ...]]] = field(default_factory=dict)
    allocs: list[tuple[int, int, int, int]] = field(default_factory=list)
    claims: list[tuple[Any, ...]] = field(default_factory=list)
    stale_years: list[int] = field(default_factory=list)
    year_rows: list[tuple[int, ...]] = field(default_factory=list)

    def read_years(self, claim_ids: Sequence[int]) -> None:
        """The stored year rows of ``claim_ids`` (replacing what was read before)."""
        self.years = {cid: [] for cid in claim_ids}
        row: Any
        for row in records(
            ClaimYear,
            ("claim", *CLAIM_YEAR_FIGURES),
            "claim",
            claim_ids,
            order=("claim", "fy"),
            into=tuple,
        ):  # (claim_id, *figures)
            self.years[row[0]].append(tuple(row[1:]))

    def flush(self) -> None:
        bulk_update(LedgerEntry, ALLOC_FIELDS, self.allocs)
        bulk_update(Claim, CLAIM_LEDGER_FIELDS, self.claims)
        if self.stale_years:
            ClaimYear.delete().where(in_values(ClaimYear.claim, self.stale_years)).execute()
        insert_tuples(ClaimYear, ("claim_id", *CLAIM_YEAR_FIGURES), self.year_rows)
        self.allocs, self.claims, self.stale_years, self.year_rows = [], [], [], []


def recompute_ledger(
    claim: Claim,
    rows: list[LedgerEntry] | None = None,
    *,
    save: bool = True,
    pending: PendingWrites | None = None,
) -> int:
    """Recompute allocations and the claim's outstanding amounts; returns how many rows changed.

    Raises the engine's InputError (overpayment, waiver too large) when the entries are not
    consistent, so a write that would make them so is rolled back by its transaction.
    With ``pending`` the writes are added to it (sent by its ``flush``) instead of now.
    """
    rows = entries_of(claim.id) if rows is None else rows
    engine_entries = [as_engine_entry(r) for r in rows]
    live_dates = [r.date for r in rows if not r.cancelled]
    last = max(live_dates, default=claim.subrogation_date)
    result = ledger.compute(terms_of(claim), engine_entries, last, rows=False)
    changed = 0
    updates: list[tuple[int, int, int, int]] = []
    for row in rows:
        # a receipt's allocation, or the buckets a 求償権放棄 waived (the year-end principal)
        alloc = result.allocations.get(row.id) or result.waived.get(row.id)
        want = (alloc.costs, alloc.damages, alloc.principal) if alloc else (0, 0, 0)
        have = (row.alloc_costs, row.alloc_damages, row.alloc_principal)
        if want != have:
            changed += 1
            updates.append((*want, row.id))
            row.alloc_costs, row.alloc_damages, row.alloc_principal = want
    if save and updates:
        if pending is not None:
            pending.allocs += updates
        else:
            # one prepared statement for the claim's changed rows
            bulk_update(LedgerEntry, ALLOC_FIELDS, updates)
    changed += _sync_years(claim, rows, save=save, pending=pending)
    receipts = [r.date for r in rows if r.kind == "receipt" and not r.cancelled]
    want_claim = {
        "principal_outstanding": result.balance.principal,
        "costs_outstanding": result.balance.costs,
        "damages_at_last": result.balance.damages,
        "last_entry_on": last,
        "last_receipt_on": max(receipts) if receipts else None,
    }
    diff = {k: v for k, v in want_claim.items() if getattr(claim, k) != v}
    if diff:
        changed += 1
        if save:
            if pending is not None:
                pending.claims.append((*(want_claim[f] for f in CLAIM_LEDGER_FIELDS), claim.id))
            else:
                Claim.update(**diff).where(Claim.id == claim.id).execute()
            for key, value in diff.items():
                setattr(claim, key, value)
    return changed


def year_rows(claim: Claim, rows: list[LedgerEntry]) -> list[tuple[int, ...]]:
    """The claim's ClaimYear rows as computed from its entries' (current) allocations."""
    facts = [
        year_end.LedgerFact(
            date=r.date,
            kind=r.kind,
            amount=r.amount,
            cancelled=r.cancelled,
            post_write_off=bool(r.post_write_off),
            alloc_principal=r.alloc_principal,
        )
        for r in rows
    ]
    principal = claim.loan_principal + claim.loan_interest
    return [y.as_tuple() for y in year_end.claim_years(claim.subrogation_date, principal, facts)]


def _sync_years(
    claim: Claim, rows: list[LedgerEntry], *, save: bool, pending: PendingWrites | None = None
) -> int:
    """Bring the claim's ClaimYear rows in line with its entries; returns rows that differed."""
    want = year_rows(claim, rows)
    if pending is not None and claim.id in pending.years:
        have = pending.years[claim.id]
    else:
        cursor = ClaimYear._meta.database.execute_sql(
            f"SELECT {', '.join(CLAIM_YEAR_FIGURES)} FROM claim_year "
            f"WHERE claim_id = {ClaimYear._meta.database.param} ORDER BY fy",
            (claim.id,),
        )
        have = [tuple(r) for r in cursor.fetchall()]
    if have == want:
        return 0
    differ = len(set(have) ^ set(want))
    if save and pending is not None:
        if have:
            pending.stale_years.append(claim.id)
        pending.year_rows += [(claim.id, *w) for w in want]
    elif save:
        ClaimYear.delete().where(ClaimYear.claim == claim.id).execute()
        insert_tuples(ClaimYear, ("claim_id", *CLAIM_YEAR_FIGURES), [(claim.id, *w) for w in want])
    return differ


def recompute_ledger_for(claim: Claim, *, new_seq: int | None, field: str, what: str) -> int:
    """recompute_ledger, but a refusal caused by a LATER receipt says so.

    When a back-dated receipt, a cancellation or a changed order makes some other, later
    receipt exceed the balance, the engine's message (that receipt's maximum) would mislead
    the user about the amount they entered; name the receipt that no longer fits instead.
    """
    try:
        return recompute_ledger(claim)
    except ledger.OverpaymentError as exc:
        if exc.seq == new_seq:
            raise
        later = LedgerEntry.get_or_none(LedgerEntry.id == exc.seq)
        amount = f"{later.amount:,}円" if later else ""
        raise InputError(
            field,
            f"{what}と {exc.date.isoformat()} の入金 {amount} が残高を超えてしまいます"
            "（その入金を先に取り消すか、内容を見直してください）",
        ) from None


def balance_from_projection(claim: Claim, as_of: date) -> Balance:
    """Today's balance without reading the entries: valid when as_of >= the last entry date.

    Damages from the last entry to ``as_of`` are one more sub-period on the (constant)
    outstanding principal, exactly as the engine would compute it.
    """
    if as_of < claim.last_entry_on:
        raise ValueError("as_of before the last entry: compute from the entries instead")
    days = (as_of - claim.last_entry_on).days
    rate = Fraction(Decimal(claim.damages_rate)) / 100
    accrued = (claim.principal_outstanding * rate.numerator * days) // (rate.denominator * 365)
    return Balance(
        principal=claim.principal_outstanding,
        damages=claim.damages_at_last + accrued,
        costs=claim.costs_outstanding,
    )


def principal_is_merchant(claim: Claim, obligors: list[Obligor]) -> bool:
    debtor = next((o for o in obligors if o.role == "principal_debtor"), None)
    if debtor is None:
        return True  # 4.6: take the reading that gives the earlier completion
    if debtor.kind == "corporation":
        return True
    return debtor.merchant is not False


def engine_inputs(
    claim: Claim,
    obligors: list[Obligor],
    *,
    entries: list[LedgerEntry] | None = None,
    events: list[LimitationEvent] | None = None,
) -> tuple[int, list[limitation.ObligorRef], list[limitation.Event]]:
    """The limitation engine's inputs: regime, obligors, events (receipts as acknowledgements)."""
    by_id = {o.id: o for o in obligors}
    years = limitation.regime_years(claim.contract_date, principal_is_merchant(claim, obligors))
    refs = [
        limitation.ObligorRef(id=o.obligor_no, role=o.role, released_on=o.released_on)
        for o in obligors
    ]
    if entries is None:
        entries = list(
            LedgerEntry.select(
                LedgerEntry.id,
                LedgerEntry.date,
                LedgerEntry.payer,
                LedgerEntry.kind,
                LedgerEntry.cancelled,
            ).where(
                (LedgerEntry.claim == claim.id)
                & (LedgerEntry.kind == "receipt")
                & (LedgerEntry.cancelled == False)
            )  # noqa: E712
        )
    if events is None:
        events = list(
            LimitationEvent.select().where(
                (LimitationEvent.claim == claim.id) & (LimitationEvent.cancelled == False)
            )  # noqa: E712
        )
    engine_events: list[limitation.Event] = []
    for e in entries:
        if e.kind != "receipt" or e.cancelled or e.payer_id is None or e.payer_id not in by_id:
            continue
        engine_events.append(
            limitation.Event(
                obligor_id=by_id[e.payer_id].obligor_no, date=e.date, kind="receipt", seq=e.id
            )
        )
    for ev in events:
        if ev.cancelled or ev.obligor_id not in by_id:
            continue
        engine_events.append(
            limitation.Event(
                obligor_id=by_id[ev.obligor_id].obligor_no,
                date=ev.date,
                kind=ev.kind,
                seq=ev.id,
                until=ev.until,
            )
        )
    return years, refs, engine_events


def clocks_for(
    claim: Claim, obligors: list[Obligor], as_of: date, **kwargs: object
) -> dict[int, limitation.Clock]:
    years, refs, events = engine_inputs(claim, obligors, **kwargs)  # type: ignore[arg-type]
    return limitation.compute_clocks(claim.subrogation_date, years, refs, events, as_of)


CLOCK_FIELDS = (
    "own_completes_on",
    "completes_on",
    "lim_state",
    "lim_basis",
    "lim_basis_date",
    "lim_basis_event",
    "lim_period_years",
    "lim_via_principal",
)


def stored_state(state: str) -> str:
    """The stored state does not depend on today: running and completed are both 'running'."""
    return "running" if state == "completed" else state


def stored_clock(clock: limitation.Clock | None) -> tuple[Any, ...]:
    """The Obligor columns (CLOCK_FIELDS order) that store ``clock``; None: no clock kept
    (物上保証人). The one place the engine's clock becomes stored columns."""
    if clock is None:
        return (None, None, None, None, None, None, None, False)
    return (
        clock.own_completes_on,
        clock.completes_on,
        stored_state(clock.state),
        clock.basis,
        clock.basis_date,
        clock.basis_seq,
        clock.period_years,
        clock.via_principal,
    )


def clock_updates(
    claim: Claim,
    obligors: list[Obligor],
    *,
    entries: list[LedgerEntry] | None = None,
    events: list[LimitationEvent] | None = None,
) -> list[tuple[Any, ...]]:
    """The stored clocks that differ from the facts: rows of CLOCK_FIELDS values followed by
    the obligor's id (bulk_update's shape). Facts not given are read from the database.

    Stored clocks are computed with no as-of cut-off (entries are never future-dated), so the
    projection does not age; whether a running clock has completed is judged when it is read.
    """
    if not obligors:
        return []
    clocks = clocks_for(claim, obligors, FAR_FUTURE, entries=entries, events=events)
    out: list[tuple[Any, ...]] = []
    for o in obligors:
        want = stored_clock(clocks.get(o.obligor_no))
        if want != tuple(getattr(o, f) for f in CLOCK_FIELDS):
            out.append((*want, o.id))
    return out


def save_clocks(updates: list[tuple[Any, ...]], obligors: Sequence[Obligor] = ()) -> None:
    """Store clock_updates' rows one UPDATE each (a write path changes a few obligors), and
    keep the given Obligor objects in step."""
    by_id = {o.id: o for o in obligors}
    for *want, obligor_id in updates:
        values = dict(zip(CLOCK_FIELDS, want, strict=True))
        Obligor.update(**values).where(Obligor.id == obligor_id).execute()
        if obligor_id in by_id:
            for k, v in values.items():
                setattr(by_id[obligor_id], k, v)


def recompute_clocks(
    claim: Claim, obligors: list[Obligor] | None = None, *, save: bool = True
) -> int:
    """Recompute and store every obligor's clock; returns how many obligors changed."""
    obligors = (
        list(Obligor.select().where(Obligor.claim == claim.id)) if obligors is None else obligors
    )
    updates = clock_updates(claim, obligors)
    if save:
        save_clocks(updates, obligors)
    return len(updates)


def effective_state(stored: str | None, completes_on: date | None, as_of: date) -> str | None:
    """The state to show on ``as_of`` for a stored clock."""
    if stored == "running" and completes_on is not None and completes_on < as_of:
        return "completed"
    return stored
