"""Limitation events (時効事由): entering and cancelling them recomputes the claim's clocks."""

from __future__ import annotations

from datetime import date
from typing import Any

from kyusho.errors import InputError, NotFound
from kyusho.services import projections
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from kyusho.vocab import EVENT_KINDS
from models import audit
from models.schema import Claim, LimitationEvent, Obligor


def event_dict(e: LimitationEvent) -> dict[str, Any]:
    return {
        "event_id": e.id,
        "obligor_id": e.obligor_id,
        "kind": e.kind,
        "date": e.date,
        "until": e.until,
        "ref": e.ref,
        "cancelled": e.cancelled,
    }


def add_event(
    session: Session,
    claim_no: str,
    obligor_no: int,
    kind: str,
    on: date,
    *,
    until: date | None = None,
    ref: str | None = None,
    note: str = "",
) -> LimitationEvent:
    if kind not in EVENT_KINDS:
        raise InputError("事由", f"{' / '.join(EVENT_KINDS.values())} のいずれかを選んでください")
    if until is not None and until <= on:
        raise InputError("終了日", "終了日は事由の日付より後にしてください")
    with session.writing():
        claim = find_claim(claim_no)
        if on < claim.subrogation_date:
            raise InputError("日付", "代位弁済日より前の日付は入力できません")
        if on > session.today():
            raise InputError("日付", "未来の日付は入力できません")
        obligor = Obligor.get_or_none(
            (Obligor.claim == claim.id) & (Obligor.obligor_no == obligor_no)
        )
        if obligor is None:
            raise InputError("関係人番号", f"関係人番号 {obligor_no} はこの求償権にありません")
        if obligor.role == "collateral_provider":
            raise InputError("関係人番号", "物上保証人には時効の管理がありません")
        ev = LimitationEvent.create(
            claim=claim,
            obligor=obligor,
            kind=kind,
            date=on,
            until=until,
            ref=ref,
            note=note,
            prev_state=obligor.state if kind in STATE_OF_EVENT else None,
            created_by=session.login,
            created_at=session.now(),
        )
        apply_obligor_state(obligor, kind)
        projections.recompute_clocks(claim)
        audit.record(
            session.login, "event.add", "claim", claim.id, after=event_dict(ev), at=session.now()
        )
        return ev


STATE_OF_EVENT = {"discharge": "discharged", "extinguished": "extinguished"}


def apply_obligor_state(obligor: Obligor, kind: str) -> None:
    """Discharge and extinction are also the obligor's state."""
    state = STATE_OF_EVENT.get(kind)
    if state and obligor.state != state:
        Obligor.update(state=state).where(Obligor.id == obligor.id).execute()
        obligor.state = state


def cancel_event(session: Session, event_id: int, reason: str) -> LimitationEvent:
    if not reason.strip():
        raise InputError("取消理由", "取消の理由を入力してください")
    with session.writing():
        ev = LimitationEvent.get_or_none(LimitationEvent.id == event_id)
        if ev is None:
            raise NotFound(f"時効事由 {event_id} は見つかりません")
        if ev.cancelled:
            raise InputError("時効事由", "この事由はすでに取り消されています")
        before = event_dict(ev)
        ev.cancelled = True
        ev.cancel_reason = reason.strip()
        ev.save()
        claim = Claim.get_by_id(ev.claim_id)
        if ev.kind in STATE_OF_EVENT:
            _restore_state(ev)
        projections.recompute_clocks(claim)
        audit.record(
            session.login,
            "event.cancel",
            "claim",
            claim.id,
            before=before,
            after=event_dict(ev),
            reason=reason.strip(),
            at=session.now(),
        )
        return ev


def _restore_state(ev: LimitationEvent) -> None:
    """Undo the state a cancelled discharge/extinction set, unless another live one remains."""
    others = (
        LimitationEvent.select()
        .where(
            (LimitationEvent.obligor == ev.obligor_id)
            & (LimitationEvent.id != ev.id)
            & (LimitationEvent.cancelled == False)
            & LimitationEvent.kind.in_(tuple(STATE_OF_EVENT))
        )
        .order_by(LimitationEvent.date.desc(), LimitationEvent.id.desc())
        .first()
    )
    state = STATE_OF_EVENT[others.kind] if others else (ev.prev_state or "normal")
    Obligor.update(state=state).where(Obligor.id == ev.obligor_id).execute()
