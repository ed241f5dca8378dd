"""Letters (SPEC 4.15): whom to write to, the letters, what sending them does, recording it.

A letter is printed first and recorded as sent in a separate, explicit step. Recording logs a
contact (文書) with each obligor and, for a 催告書, a ``demand`` limitation event on the send
date. Before that the caller shows ``effects``: each obligor's clock before and after, and
every demand that would change nothing (a second demand inside a demand's six months, 民法
150条2項), which is recorded only when the user confirmed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from kyusho.documents import Document, DocumentSettings
from kyusho.documents.letters import (
    LETTER_KINDS,
    letters_document,
    template_name,
    unique_targets,
)
from kyusho.errors import InputError
from kyusho.rules import limitation
from kyusho.rules.dates import format_date
from kyusho.services import projections
from kyusho.services.contacts import add_contact
from kyusho.services.events import NoEffectError, _no_effect_text, add_event
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from kyusho.services.worklist import limitation_due, worklist
from models.schema import Obligor

__all__ = [
    "LETTER_KINDS",
    "Effect",
    "effects",
    "record_sent",
    "render",
    "targets_from_worklist",
]

CONTACT_CHANNEL = "letter"  # 文書 (vocab.CONTACT_CHANNELS)
NO_CLOCK = "物上保証人には時効の管理がないため、催告は記録されません（交渉記録だけ残ります）"


@dataclass(frozen=True)
class Effect:
    """What recording one letter does to its obligor's clock (``completes_on``).

    ``completes_before``: the clock before the batch is recorded; ``completes_after``: after
    the whole batch (a demand on the principal debtor also moves the guarantors'). Both None
    for an obligor without a clock. ``no_effect``: why this demand changes nothing, or None.
    """

    claim_no: str
    obligor_no: int
    name: str
    completes_before: date | None
    completes_after: date | None
    no_effect: str | None


def _unique(targets: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return unique_targets(targets)


def targets_from_worklist(session: Session, within_days: int | None) -> list[tuple[str, int]]:
    """(claim_no, obligor_no) of the acting user's worklist, limitation alerts first.

    ``within_days`` None: every worklist row that names an obligor. Given: only the obligors
    whose limitation completes within that many days of the viewed date (or has completed
    without a decision), nearest first, like ``limitation due --within``.
    """
    as_of = session.view_date()
    out: list[tuple[str, int]] = []
    if within_days is not None:
        if within_days < 0:
            raise InputError("--within", "0 以上の日数を指定してください")
        mine = None if session.role in ("manager", "admin") else session.login
        rows = limitation_due(
            session, within=within_days, as_of=as_of, staff=mine, undecided_only=True
        )
        out = [(r["claim_no"], int(r["obligor_id"])) for r in rows]
    else:
        out = [
            (item.claim_no, item.obligor_no)
            for item in worklist(session, as_of=as_of)
            if item.obligor_no is not None
        ]
    return list(dict.fromkeys(out))  # each (claim, obligor) once, in order


def render(
    session: Session,
    kind: str,
    targets: Sequence[tuple[str, int]],
    on: date,
    settings: DocumentSettings | None = None,
) -> Document:
    """One letter of ``kind`` per target, one per page, dated ``on``."""
    return letters_document(session, kind, targets, on, settings)


def effects(
    session: Session, kind: str, targets: Sequence[tuple[str, int]], on: date
) -> list[Effect]:
    """What recording these letters as sent on ``on`` would do to each obligor's clock.

    Demands are judged in the order given, each after the ones before it (a guarantor's
    demand the same day as the principal debtor's does nothing: the principal debtor's
    already suspends the guarantor's clock). Other letters leave the clocks as they are.
    """
    template_name(kind)
    style = session.config.dates
    as_of = max(on, session.today())
    out: list[Effect] = []
    by_claim: dict[str, tuple[list[Obligor], list[limitation.Event]]] = {}
    added: dict[str, list[limitation.Event]] = {}
    for claim_no, obligor_no in _unique(targets):
        claim = find_claim(claim_no)
        if claim_no not in by_claim:
            obligors = list(Obligor.select().where(Obligor.claim == claim.id))
            by_claim[claim_no] = (obligors, [])
            added[claim_no] = []
        obligors, _ = by_claim[claim_no]
        row = next((o for o in obligors if o.obligor_no == obligor_no), None)
        if row is None:
            raise InputError("関係人番号", f"関係人番号 {obligor_no} は {claim_no} にありません")
        why: str | None = None
        if kind == "demand":
            if row.role not in limitation.CLOCK_ROLES:
                why = NO_CLOCK
            else:
                years, refs, events = projections.engine_inputs(claim, obligors)
                events = events + added[claim_no]
                seq = max((e.seq for e in events), default=0) + 1
                new = limitation.Event(obligor_no, on, "demand", seq)
                found = limitation.no_effect(claim.subrogation_date, years, refs, events, new)
                if found is not None:
                    why = _no_effect_text(found, "demand", style)
                added[claim_no].append(new)
        out.append(Effect(claim_no, obligor_no, row.name, None, None, why))
    # before and after the whole batch, per claim
    result: list[Effect] = []
    clocks: dict[str, tuple[dict[int, limitation.Clock], dict[int, limitation.Clock]]] = {}
    for e in out:
        if e.claim_no not in clocks:
            claim = find_claim(e.claim_no)
            obligors = by_claim[e.claim_no][0]
            years, refs, events = projections.engine_inputs(claim, obligors)
            sub = claim.subrogation_date
            before = limitation.compute_clocks(sub, years, refs, events, as_of)
            after = limitation.compute_clocks(sub, years, refs, events + added[e.claim_no], as_of)
            clocks[e.claim_no] = (before, after)
        before, after = clocks[e.claim_no]
        b, a = before.get(e.obligor_no), after.get(e.obligor_no)
        result.append(
            Effect(
                e.claim_no,
                e.obligor_no,
                e.name,
                b.completes_on if b is not None else None,
                a.completes_on if a is not None else None,
                e.no_effect,
            )
        )
    return result


def record_sent(
    session: Session,
    kind: str,
    targets: Sequence[tuple[str, int]],
    on: date,
    *,
    confirm_no_effect: bool = False,
) -> int:
    """Record the letters as sent on ``on``; the number of letters recorded.

    One write transaction: a contact (文書) per obligor and, for a 催告書, a ``demand`` event
    on ``on``. A demand that would change nothing raises NoEffectError naming each such
    obligor, and nothing is stored, unless ``confirm_no_effect`` (the screen showed it).
    """
    label = LETTER_KINDS.get(kind)
    template_name(kind)
    if on > session.today():
        raise InputError("送付日", "未来の日付は送付日として記録できません")
    with session.writing():
        unique = _unique(targets)
        found = effects(session, kind, unique, on)
        blocked = [e for e in found if e.no_effect]
        if blocked and not confirm_no_effect:
            lines = "；".join(
                f"{e.claim_no} 関係人{e.obligor_no} {e.name}: {e.no_effect}" for e in blocked
            )
            raise NoEffectError(
                "催告", f"効力のない催告があります（何も記録していません）: {lines}"
            )
        shown = format_date(on, session.config.dates)
        at = (
            session.now().replace(tzinfo=None, microsecond=0)
            if on == session.today()
            else datetime.combine(on, time(0, 0))
        )
        for e in found:
            note = f"{label}（{shown}付）を送付"
            obligor = Obligor.get(
                (Obligor.claim == find_claim(e.claim_no).id) & (Obligor.obligor_no == e.obligor_no)
            )
            records_demand = kind == "demand" and obligor.role in limitation.CLOCK_ROLES
            if records_demand:
                note += "。催告（時効の完成猶予）として記録"
                if e.no_effect:
                    note += f"（効力なし: {e.no_effect}）"
            add_contact(
                session, e.claim_no, e.obligor_no, CONTACT_CHANNEL, f"{label}送付", note, at=at
            )
            if records_demand:
                add_event(
                    session,
                    e.claim_no,
                    e.obligor_no,
                    "demand",
                    on,
                    note=f"{label}送付",
                    confirm_no_effect=bool(e.no_effect),
                )
        return len(found)
