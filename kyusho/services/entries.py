"""Posting to the ledger: receipts, costs, cancellations, with the live preview (SPEC 4.3–4.4).

One IMMEDIATE transaction per post: insert the fact, recompute the claim's allocations and
clocks from all its entries (a back-dated receipt re-allocates every later one), append the
audit event. If the engine refuses (overpayment), the transaction rolls back and nothing is
stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kyusho.errors import InputError, NotFound
from kyusho.rules import ledger
from kyusho.rules.ledger import Allocation, Balance
from kyusho.rules.text import LINE_MAX, NAME_MAX, NOTE_MAX, clean_text
from kyusho.services import projections
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from kyusho.vocab import RECEIPT_METHODS
from models import audit
from models.audit import canonical_json
from models.schema import Claim, Decision, LedgerEntry, Obligor

CLOSED = {"waived", "paid"}
# decisions whose guarantor release waits for the payment: the one-off payment (SPEC 4.10)
# or the GL payment (SPEC 4.11), both frozen as the decision's data["payment"]
RELEASE_ON_PAYMENT = ("partial_release", "gl_release")


def entry_dict(e: LedgerEntry) -> dict[str, Any]:
    return {
        "entry_id": e.id,
        "kind": e.kind,
        "date": e.date,
        "amount": e.amount,
        "payer_obligor_id": e.payer_id,
        "method": e.method,
        "cost_kind": e.cost_kind,
        "ref": e.ref,
        "post_write_off": e.post_write_off,
        "cancelled": e.cancelled,
        "alloc": [e.alloc_costs, e.alloc_damages, e.alloc_principal],
    }


def _check_date(session: Session, claim: Claim, on: date, field: str) -> None:
    if on < claim.subrogation_date:
        raise InputError(
            field, f"代位弁済日（{claim.subrogation_date.isoformat()}）より前の日付は入力できません"
        )
    if on > session.today():
        raise InputError(field, "未来の日付は入力できません")


def _payer(claim: Claim, obligor_no: int) -> Obligor:
    payer = Obligor.get_or_none((Obligor.claim == claim.id) & (Obligor.obligor_no == obligor_no))
    if payer is None:
        raise InputError("入金者", f"関係人番号 {obligor_no} はこの求償権にありません")
    return payer


@dataclass(frozen=True)
class Preview:
    """A receipt's effect, all on its own date: the balance then, the most it may be, how
    it would be split, and the balance right after it (not today's: the user is entering
    what happened on that day)."""

    on: date
    balance_before: Balance
    maximum: int
    allocation: Allocation
    balance_after: Balance


def preview_receipt(session: Session, claim_no: str, on: date, amount: int) -> Preview:
    """What a receipt would do, without storing anything (the entry screen's live preview)."""
    claim = find_claim(claim_no)
    _check_date(session, claim, on, "入金日")
    rows = projections.entries_of(claim.id)
    terms = projections.terms_of(claim)
    engine = [projections.as_engine_entry(r) for r in rows]
    before = ledger.balance(terms, engine, on)
    alloc = ledger.preview_receipt(terms, engine, on, amount)
    trial = [*engine, ledger.Entry(seq=10**12, date=on, kind="receipt", amount=amount)]
    after = ledger.balance(terms, trial, on)
    last = max([on, *[e.date for e in engine if not e.cancelled]])
    try:  # a back-dated receipt must not make a later one overpay
        ledger.compute(terms, trial, last)
    except ledger.OverpaymentError as exc:
        later = next((r for r in rows if r.id == exc.seq), None)
        amount_text = f"{later.amount:,}円" if later else ""
        raise InputError(
            "入金日",
            f"この入金を記録すると {exc.date.isoformat()} の入金 {amount_text} が残高を超えてしまいます",
        ) from None
    return Preview(
        on=on, balance_before=before, maximum=before.total, allocation=alloc, balance_after=after
    )


def post_receipt(
    session: Session,
    claim_no: str,
    on: date,
    amount: int,
    payer_no: int,
    method: str = "transfer",
    *,
    ref: str | None = None,
    servicer: bool = False,
    note: str = "",
) -> LedgerEntry:
    note = clean_text(note, "メモ", max_len=NOTE_MAX, multiline=True)
    ref = clean_text(ref, "番号", max_len=LINE_MAX) or None if ref is not None else None
    if amount <= 0:
        raise InputError("金額", "1円以上の金額を入力してください")
    if method not in RECEIPT_METHODS:
        raise InputError(
            "入金方法", f"{' / '.join(RECEIPT_METHODS.values())} のいずれかを選んでください"
        )
    with session.writing():
        claim = find_claim(claim_no)
        if claim.status in CLOSED:
            raise InputError("求償権", f"状態が「{claim.status}」の求償権には入金を記録できません")
        _check_date(session, claim, on, "入金日")
        payer = _payer(claim, payer_no)
        entry = LedgerEntry.create(
            claim=claim,
            kind="receipt",
            date=on,
            amount=amount,
            payer=payer,
            method=method,
            servicer=servicer,
            ref=ref,
            note=note,
            post_write_off=claim.status == "written_off"
            and claim.written_off_on is not None
            and on > claim.written_off_on,
            created_by=session.login,
            created_at=session.now(),
        )
        projections.recompute_ledger_for(
            claim, new_seq=entry.id, field="入金日", what="この入金を記録する"
        )
        projections.recompute_clocks(claim)
        entry = LedgerEntry.get_by_id(entry.id)
        audit.record(
            session.login,
            "receipt.post",
            "claim",
            claim.id,
            after=entry_dict(entry),
            at=session.now(),
        )
        if release_on_payment(session, claim, entry=entry):
            entry = LedgerEntry.get_by_id(entry.id)
        return entry


def _day(at: datetime | date | str | None) -> date | None:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.date() if isinstance(at, datetime) else at


def _payment_due(d: Decision) -> int | None:
    """The one-off payment an approved release still waits for (None once released)."""
    if "released_on" in json.loads(d.effect or "{}"):
        return None
    payment = json.loads(d.data or "{}").get("payment")
    return payment if isinstance(payment, int) and not isinstance(payment, bool) else None


def release_on_payment(
    session: Session,
    claim: Claim,
    *,
    entry: LedgerEntry | None = None,
    decision: Decision | None = None,
) -> int:
    """Release a guarantor whose partial release or GL settlement is approved once a receipt
    of at least the one-off (GL) payment from them, dated on or after the approval, is in
    (SPEC 4.10, 4.11).

    Called for a new receipt (``entry``) and at approval (``decision``: a receipt dated that
    day may already be in). The receipt is marked with the decision, so it cannot be
    cancelled under the release; the clock becomes ``released`` from the receipt's date, a
    fact ``rebuild`` recomputes the same way. Returns how many guarantors were released.
    """
    pairs: list[tuple[Decision, LedgerEntry]] = []
    if entry is not None:
        if entry.kind != "receipt" or entry.cancelled or entry.payer_id is None:
            return 0
        if entry.decision_id is not None:
            return 0
        for d in (
            Decision.select()
            .where(
                (Decision.obligor == entry.payer_id)
                & Decision.kind.in_(RELEASE_ON_PAYMENT)
                & (Decision.status == "approved")
            )
            .order_by(Decision.id)
        ):
            due, approved_on = _payment_due(d), _day(d.decided_at)
            if due is not None and approved_on is not None:
                if entry.amount >= due and entry.date >= approved_on:
                    pairs.append((d, entry))
                    break
    if decision is not None and decision.obligor_id is not None:
        due, approved_on = _payment_due(decision), _day(decision.decided_at)
        if due is not None and approved_on is not None:
            found = (
                LedgerEntry.select()
                .where(
                    (LedgerEntry.claim == claim.id)
                    & (LedgerEntry.payer == decision.obligor_id)
                    & (LedgerEntry.kind == "receipt")
                    & (LedgerEntry.cancelled == False)  # noqa: E712
                    & LedgerEntry.decision_id.is_null()
                    & (LedgerEntry.date >= approved_on)
                    & (LedgerEntry.amount >= due)
                )
                .order_by(LedgerEntry.date, LedgerEntry.id)
                .first()
            )
            if found is not None:
                pairs.append((decision, found))
    released = 0
    for d, receipt in pairs:
        ob = Obligor.get_by_id(d.obligor_id)
        if not ob.liable:
            continue
        Obligor.update(liable=False, released_on=receipt.date).where(Obligor.id == ob.id).execute()
        LedgerEntry.update(decision_id=d.id).where(LedgerEntry.id == receipt.id).execute()
        effect = {
            **json.loads(d.effect or "{}"),
            "released_obligor": ob.id,
            "released_on": receipt.date.isoformat(),
            "entry_id": receipt.id,
        }
        Decision.update(effect=canonical_json(effect)).where(Decision.id == d.id).execute()
        audit.record(
            session.login,
            "decision.release",
            "claim",
            claim.id,
            after={
                "decision_id": d.id,
                "obligor_no": ob.obligor_no,
                "entry_id": receipt.id,
                "amount": receipt.amount,
                "released_on": receipt.date.isoformat(),
            },
            at=session.now(),
        )
        released += 1
    if released:
        projections.recompute_clocks(claim)
    return released


def post_cost(
    session: Session, claim_no: str, on: date, amount: int, cost_kind: str, note: str = ""
) -> LedgerEntry:
    note = clean_text(note, "メモ", max_len=NOTE_MAX, multiline=True)
    cost_kind = clean_text(cost_kind, "費用の種類", max_len=NAME_MAX)
    if amount <= 0:
        raise InputError("金額", "1円以上の金額を入力してください")
    if not cost_kind:
        raise InputError("費用の種類", "費用の種類を入力してください（例: 訴訟費用）")
    with session.writing():
        claim = find_claim(claim_no)
        if claim.status in CLOSED:
            raise InputError("求償権", f"状態が「{claim.status}」の求償権には費用を記録できません")
        _check_date(session, claim, on, "日付")
        entry = LedgerEntry.create(
            claim=claim,
            kind="cost",
            date=on,
            amount=amount,
            cost_kind=cost_kind.strip(),
            note=note,
            created_by=session.login,
            created_at=session.now(),
        )
        projections.recompute_ledger(claim)
        audit.record(
            session.login,
            "cost.post",
            "claim",
            claim.id,
            after=entry_dict(LedgerEntry.get_by_id(entry.id)),
            at=session.now(),
        )
        return entry


def post_damages_waiver(
    session: Session, claim: Claim, on: date, amount: int, decision_id: int
) -> LedgerEntry:
    """The ledger effect of an approved 損害金減免 decision (called inside its transaction)."""
    entry = LedgerEntry.create(
        claim=claim,
        kind="damages_waiver",
        date=on,
        amount=amount,
        decision_id=decision_id,
        created_by=session.login,
        created_at=session.now(),
    )
    projections.recompute_ledger_for(claim, new_seq=entry.id, field="金額", what="この減免をする")
    audit.record(
        session.login,
        "damages_waiver.post",
        "claim",
        claim.id,
        after=entry_dict(LedgerEntry.get_by_id(entry.id)),
        at=session.now(),
    )
    return entry


def cancel_entry(session: Session, entry_id: int, reason: str) -> LedgerEntry:
    """取消: the entry stays, marked cancelled with the reason; everything after re-allocates."""
    reason = clean_text(reason, "取消理由", max_len=LINE_MAX)
    if not reason:
        raise InputError("取消理由", "取消の理由を入力してください")
    with session.writing():
        entry = LedgerEntry.get_or_none(LedgerEntry.id == entry_id)
        if entry is None:
            raise NotFound(f"明細 {entry_id} は見つかりません")
        if entry.cancelled:
            raise InputError("明細", "この明細はすでに取り消されています")
        if entry.decision_id is not None:
            raise InputError(
                "明細", "決裁による明細は取り消せません（新しい決裁で訂正してください）"
            )
        before = entry_dict(entry)
        entry.cancelled = True
        entry.cancel_reason = reason.strip()
        entry.cancelled_by = session.login
        entry.cancelled_at = session.now()
        entry.save()
        claim = Claim.get_by_id(entry.claim_id)
        projections.recompute_ledger_for(
            claim, new_seq=None, field="明細", what="この明細を取り消す"
        )
        if entry.kind == "receipt":
            projections.recompute_clocks(claim)
        audit.record(
            session.login,
            f"{entry.kind}.cancel",
            "claim",
            claim.id,
            before=before,
            after=entry_dict(LedgerEntry.get_by_id(entry.id)),
            reason=reason.strip(),
            at=session.now(),
        )
        return entry
