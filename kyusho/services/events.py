"""Limitation events (時効事由): entering and cancelling them recomputes the claim's clocks."""

from __future__ import annotations

from datetime import date
from typing import Any

from kyusho.errors import InputError, NotFound
from kyusho.rules import limitation
from kyusho.rules.dates import format_date
from kyusho.rules.text import LINE_MAX, NOTE_MAX, clean_text
from kyusho.services import projections
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from kyusho.vocab import EVENT_KINDS
from models import audit
from models.schema import Claim, LimitationEvent, Obligor


class NoEffectError(InputError):
    """The event would change nothing: recorded only when the caller confirms it.

    ``needs_confirmation`` tells a form to say so and save on the next request.
    """

    needs_confirmation = True


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
    confirm_no_effect: bool = False,
) -> LimitationEvent:
    """Record a limitation event and recompute the claim's clocks.

    Refused (InputError): an event on a collateral provider, 免責確定 on a corporation,
    法人格消滅 on an individual, 時効援用 before the period has completed on that date. An
    event that would change nothing (SPEC 4.6: a demand inside a demand's or an agreement's
    suspension, an agreement inside a demand's, anything after completion) raises
    NoEffectError unless ``confirm_no_effect``: it is kept only when the user said so.
    """
    note = clean_text(note, "メモ", max_len=NOTE_MAX, multiline=True)
    ref = clean_text(ref, "番号", max_len=LINE_MAX) or None if ref is not None else None
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
        _check_effect(session, claim, obligor, kind, on, until, confirm_no_effect)
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


def _check_effect(
    session: Session,
    claim: Claim,
    obligor: Obligor,
    kind: str,
    on: date,
    until: date | None,
    confirmed: bool,
) -> None:
    """Refuse what cannot be recorded on this obligor; ask to confirm what would do nothing."""
    obligors = list(Obligor.select().where(Obligor.claim == claim.id))
    years, refs, engine_events = projections.engine_inputs(claim, obligors)
    style = session.config.dates
    label = EVENT_KINDS[kind]
    clock = limitation.compute_clocks(claim.subrogation_date, years, refs, engine_events, on).get(
        obligor.obligor_no
    )
    refusal = limitation.event_refusal(kind, obligor.role, obligor.kind, clock, style=style)
    if refusal is not None:
        raise InputError("事由", refusal)
    seq = max((e.seq for e in engine_events), default=0) + 1
    new = limitation.Event(obligor.obligor_no, on, kind, seq, until)
    why = limitation.no_effect(claim.subrogation_date, years, refs, engine_events, new)
    if why is None or confirmed:
        return
    raise NoEffectError(
        "事由", f"この{label}は時効に影響しません: {_no_effect_text(why, kind, style)}"
    )


def _no_effect_text(why: limitation.NoEffect, kind: str, style: str) -> str:
    """Why an event changes nothing, in the words of SPEC 4.6 (and the article)."""
    until = format_date(why.on, style)
    return {
        "demand": (
            f"催告による完成猶予中（{until}まで）の再度の催告は効力がありません（民法150条2項）"
            if kind == "demand"
            else f"催告による完成猶予中（{until}まで）の協議合意は効力がありません（民法151条3項）"
        ),
        "agreement": f"協議合意による完成猶予中（{until}まで）の催告は効力がありません（民法151条3項）",
        "completed": f"時効は {until} に完成しています（完成後の事由で時効は更新・猶予されません）",
        "ended": f"{until} の{EVENT_KINDS.get(why.kind or '', why.kind or '')}で時効の管理は終わっています",
        "released": f"この保証人は {until} に保証債務を免除されています",
        "nothing_pending": "係属中の手続（申立て）が記録されていないため、6か月の完成猶予はありません",
        "no_agreement": "協議合意による完成猶予中ではないため、協議拒絶は効力がありません",
    }.get(why.reason, "この事由で時効の完成日は変わりません")


def apply_obligor_state(obligor: Obligor, kind: str) -> None:
    """Discharge and extinction are also the obligor's state."""
    state = STATE_OF_EVENT.get(kind)
    if state and obligor.state != state:
        Obligor.update(state=state).where(Obligor.id == obligor.id).execute()
        obligor.state = state


def cancel_event(session: Session, event_id: int, reason: str) -> LimitationEvent:
    reason = clean_text(reason, "取消理由", max_len=LINE_MAX)
    if not reason:
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
