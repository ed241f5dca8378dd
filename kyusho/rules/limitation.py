"""Limitation (消滅時効) clocks under the 2020 民法, one per obligor of a claim (SPEC 4.6).

Pure computation: the claim's subrogation date and regime length, its obligors and their
events in, one :class:`Clock` per principal debtor and joint guarantor out. Nothing here
reads a database or a screen, so the worklist, ``claim show`` and ``rebuild`` all agree.

How a clock is computed. Each obligor's clock is a run over that obligor's events in order
(date; receipts first on a date; then the order recorded, ``seq``). A joint guarantor's run
also receives every principal-debtor event that took effect for the principal debtor
(457条1項), up to the principal debtor's discharge or extinction. The completion date is the
latest of: the end of the running period (start or last renewal), the end of a demand's
suspension, the end of an agreement's suspension, and 6 months after each proceeding that
ended without confirming the right; while a proceeding is pending there is none. An event
dated after the completion date changes nothing (nothing revives a completed period).

Where the law or the spec admits two readings the earlier completion date is chosen (SPEC
4.6). The choices made here:

1. "After completion" means strictly after the last day of the period: an event on the
   completion date itself still acts (the period has not yet run out on that day).
2. A demand's and an agreement's suspension windows include both ends: an agreement made on
   the 6-month end date of a demand has no effect, and so does a demand on an agreement's
   end date. A demand or agreement that has no effect opens no window of its own. Windows
   are judged on dates alone, also after a later renewal.
3. A repeated agreement made during an agreement's suspension replaces its end (a later
   agreement with a shorter agreed period shortens it; it never extends beyond the 5-year
   cap). The cap is 5 years after the completion date computed without any agreement
   (running period, demand, proceeding ends), evaluated when the agreement is made.
4. A written refusal during an agreement's suspension ends it at the earlier of its end and
   6 months after the refusal; a refusal outside any agreement's suspension has no effect.
5. A withdrawal or end of a proceeding (suit_withdrawn, enforcement_withdrawn,
   provisional_ended) with no recorded pending filing of that kind has no effect (its
   6-month suspension is not granted). judgment_final and enforcement_ended renew even
   without a recorded filing: they are renewal events in their own right (169条, 148条2項).
6. Only principal-debtor events that took effect for the principal debtor reach the
   guarantors: not an event dated after the principal debtor's completion (an
   acknowledgement then is a waiver of the benefit, personal to the principal debtor), not
   a second demand inside a demand's window, not an ending with nothing pending.
7. If the principal debtor's period had already completed before the discharge or
   extinction date, each guarantor's ``completes_on`` stays the earlier of their own and
   that completion date (the guarantor could already invoke it); otherwise it is their own.
8. Events of different obligors on the same date, in a guarantor's run, follow the same
   order as one obligor's: receipts first, then ``seq``.
9. A released guarantor's clock takes no events dated after ``released_on`` (events on that
   date, such as the release payment, still count); the dates are kept, state ``released``.
10. The first terminal event (invoked, discharge, extinguished, or the release) decides the
    state; later events of that obligor are ignored. A guarantor's own discharge or
    extinction makes that guarantor ``extinguished``.
11. Events dated before the subrogation date are ignored: the 求償権 did not exist yet.

One choice is not the earlier reading, because the spec words it as a rule: after a
judgment the length stays 10 years for later renewals (an acknowledgement renews for "the
same length", and 169条 keeps the right one confirmed by judgment).

``basis`` names what ``own_completes_on`` rests on; for ``invoked`` and ``released`` clocks
the dates are kept and ``basis`` keeps naming the event the date rests on. ``via_principal``
is True when the principal debtor's date is strictly earlier than the guarantor's own (or
the guarantor's own is pending). The state ``suspended`` means a pending proceeding; a
demand's or agreement's suspension shows as ``running`` with its date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from kyusho.rules.dates import format_date
from kyusho.rules.periods import period_end
from kyusho.vocab import EVENT_KINDS

Day = date

NEW_LAW_FROM = date(2020, 4, 1)
"""Guarantee contracts made on or after this date fall under the 2020 民法 (5 years)."""

JUDGMENT_YEARS = 10

KNOWN_ROLES = frozenset({"principal_debtor", "joint_guarantor", "collateral_provider"})
KNOWN_KINDS = frozenset(EVENT_KINDS) | {"receipt"}
TERMINAL_KINDS = frozenset({"invoked", "discharge", "extinguished"})

# Proceedings: filing kind -> track name; endings that confirm the right (renewal) and that
# do not (6 months after the end).
_FILINGS = {
    "suit_filed": "suit",
    "enforcement_filed": "enforcement",
    "provisional_filed": "provisional",
}
_CONFIRMING_ENDS = {"judgment_final": "suit", "enforcement_ended": "enforcement"}
_NON_CONFIRMING_ENDS = {
    "suit_withdrawn": "suit",
    "enforcement_withdrawn": "enforcement",
    "provisional_ended": "provisional",
}


def regime_years(contract_date: date, principal_is_merchant: bool) -> int:
    """Length of the limitation period for a claim, from its guarantee contract date.

    On or after 2020-04-01: 5 years (民法166条1項). Before: 5 years when the principal debtor
    is a merchant (旧商法522条; every corporation, or an individual flagged 商人), else 10
    years (旧民法167条).
    """
    if contract_date >= NEW_LAW_FROM or principal_is_merchant:
        return 5
    return 10


@dataclass(frozen=True)
class ObligorRef:
    """An obligor of the claim, as far as limitation is concerned."""

    id: int
    role: str
    released_on: date | None = None


@dataclass(frozen=True)
class Event:
    """A limitation event (or a receipt, which is an acknowledgement) of one obligor."""

    obligor_id: int
    date: date
    kind: str
    seq: int
    until: Day | None = None  # not ``date``: the field above shadows it in the class body


@dataclass(frozen=True)
class Clock:
    """One obligor's limitation clock as of a date (see the module docstring)."""

    obligor_id: int
    own_completes_on: date | None
    completes_on: date | None
    state: str
    basis: str
    basis_date: date | None
    basis_seq: int | None
    period_years: int
    via_principal: bool


def _order(event: Event) -> tuple[date, int, int]:
    """Same date: receipts first, then the order recorded."""
    return (event.date, 0 if event.kind == "receipt" else 1, event.seq)


@dataclass(frozen=True)
class _Mark:
    """A date the period cannot complete before, with the event it rests on."""

    end: date
    basis: str
    on: date
    seq: int | None


@dataclass
class _Run:
    """One obligor's clock while its events are applied in order."""

    years: int
    base: _Mark
    demand: _Mark | None = None
    agreement: _Mark | None = None
    agreement_start: date | None = None
    floors: list[_Mark] = field(default_factory=list)
    pending: dict[str, list[Event]] = field(
        default_factory=lambda: {"suit": [], "enforcement": [], "provisional": []}
    )
    completed: bool = False
    terminal: Event | None = None
    completion_before_terminal: _Mark | None = None
    accepted: list[Event] = field(default_factory=list)

    # -- reading the clock -------------------------------------------------------------------

    def is_pending(self) -> bool:
        return any(self.pending.values())

    def completion(self) -> _Mark | None:
        """The binding completion date, or None while a proceeding is pending."""
        if self.is_pending():
            return None
        best = self.base
        for mark in (self.demand, self.agreement, *self.floors):
            if mark is not None and mark.end > best.end:
                best = mark
        return best

    def completion_without_agreements(self) -> date:
        best = self.base.end
        for mark in (self.demand, *self.floors):
            if mark is not None and mark.end > best:
                best = mark.end
        return best

    def first_pending(self) -> Event:
        return min((e for events in self.pending.values() for e in events), key=_order)

    def _in_demand(self, day: date) -> bool:
        return self.demand is not None and self.demand.on <= day <= self.demand.end

    def _in_agreement(self, day: date) -> bool:
        return (
            self.agreement is not None
            and self.agreement_start is not None
            and self.agreement_start <= day <= self.agreement.end
        )

    # -- applying events ---------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        """Apply one event (in order); remember it in ``accepted`` when it took effect."""
        if self.terminal is not None:
            return
        if event.kind in TERMINAL_KINDS:
            self.terminal = event
            current = self.completion()
            if current is not None and event.date > current.end:
                self.completion_before_terminal = current
            return
        if self.completed:
            return
        current = self.completion()
        if current is not None and event.date > current.end:
            self.completed = True
            return
        if self._apply(event):
            self.accepted.append(event)

    def _renew(self, event: Event, basis: str) -> None:
        self.base = _Mark(period_end(event.date, years=self.years), basis, event.date, event.seq)

    def _apply(self, event: Event) -> bool:
        kind, day = event.kind, event.date
        if kind in ("receipt", "acknowledgement"):
            self._renew(event, "acknowledgement")
            return True
        if kind in _CONFIRMING_ENDS:
            track = self.pending[_CONFIRMING_ENDS[kind]]
            if track:
                track.pop(0)
            if kind == "judgment_final":
                self.years = JUDGMENT_YEARS
            self._renew(event, kind)
            return True
        if kind in _FILINGS:
            self.pending[_FILINGS[kind]].append(event)
            return True
        if kind in _NON_CONFIRMING_ENDS:
            track = self.pending[_NON_CONFIRMING_ENDS[kind]]
            if not track:
                return False
            track.pop(0)
            self.floors.append(_Mark(period_end(day, months=6), kind, day, event.seq))
            return True
        if kind == "demand":
            if self._in_demand(day) or self._in_agreement(day):
                return False
            self.demand = _Mark(period_end(day, months=6), "demand", day, event.seq)
            return True
        if kind == "agreement":
            if self._in_demand(day):
                return False
            end = period_end(day, years=1)
            if event.until is not None and event.until < end:
                end = event.until
            cap = period_end(self.completion_without_agreements(), years=5)
            if not self._in_agreement(day):
                self.agreement_start = day
            self.agreement = _Mark(min(end, cap), "agreement", day, event.seq)
            return True
        if kind == "agreement_refused":
            if self.agreement is None or not self._in_agreement(day):
                return False
            end = period_end(day, months=6)
            if end < self.agreement.end:
                self.agreement = _Mark(end, "agreement_refused", day, event.seq)
            return True
        raise ValueError(f"unknown limitation event kind: {kind!r}")


def _run(
    subrogation_date: date, period_years: int, events: Iterable[Event], released_on: date | None
) -> _Run:
    start = _Mark(
        period_end(subrogation_date, years=period_years), "subrogation", subrogation_date, None
    )
    run = _Run(years=period_years, base=start)
    for event in sorted(events, key=_order):
        if released_on is not None and event.date > released_on:
            break
        run.feed(event)
    return run


def _own(run: _Run) -> tuple[date | None, str, date | None, int | None]:
    """own_completes_on and what it rests on."""
    if run.terminal is not None and run.terminal.kind in ("discharge", "extinguished"):
        return None, run.terminal.kind, run.terminal.date, run.terminal.seq
    mark = run.completion()
    if mark is None:
        filing = run.first_pending()
        return None, filing.kind, filing.date, filing.seq
    return mark.end, mark.basis, mark.on, mark.seq


def _state(run: _Run, released: bool, completes_on: date | None, as_of: date) -> str:
    if run.terminal is not None:
        return "invoked" if run.terminal.kind == "invoked" else "extinguished"
    if released:
        return "released"
    if completes_on is None:
        return "suspended"
    return "running" if completes_on >= as_of else "completed"


def compute_clocks(
    subrogation_date: date,
    period_years: int,
    obligors: Sequence[ObligorRef],
    events: Iterable[Event],
    as_of: date,
) -> dict[int, Clock]:
    """Every principal debtor's and joint guarantor's clock as it stood at the end of ``as_of``.

    Collateral providers get no entry; their events are ignored. Events dated after
    ``as_of`` or before the subrogation date are ignored. Raises ValueError for an unknown
    role or event kind, an event of an unknown obligor, or not exactly one principal debtor.
    """
    if period_years <= 0:
        raise ValueError("period_years must be positive")
    by_id: dict[int, ObligorRef] = {}
    for ref in obligors:
        if ref.role not in KNOWN_ROLES:
            raise ValueError(f"unknown role: {ref.role!r}")
        if ref.id in by_id:
            raise ValueError(f"obligor {ref.id} given twice")
        by_id[ref.id] = ref
    principals = [r for r in by_id.values() if r.role == "principal_debtor"]
    if len(principals) != 1:
        raise ValueError("a claim has exactly one principal debtor")
    principal = principals[0]

    own_events: dict[int, list[Event]] = {ref.id: [] for ref in by_id.values()}
    for event in events:
        if event.kind not in KNOWN_KINDS:
            raise ValueError(f"unknown limitation event kind: {event.kind!r}")
        if event.obligor_id not in by_id:
            raise ValueError(f"event of unknown obligor {event.obligor_id}")
        if subrogation_date <= event.date <= as_of:
            own_events[event.obligor_id].append(event)

    def released_by(ref: ObligorRef) -> date | None:
        return ref.released_on if ref.released_on is not None and ref.released_on <= as_of else None

    p_released = released_by(principal)
    p_run = _run(subrogation_date, period_years, own_events[principal.id], p_released)
    p_own, p_basis, p_on, p_seq = _own(p_run)
    p_dead = p_run.terminal is not None and p_run.terminal.kind in ("discharge", "extinguished")
    if p_dead:
        before = p_run.completion_before_terminal
        p_for_guarantors = before.end if before is not None else None
    else:
        p_for_guarantors = p_own
    clocks = {
        principal.id: Clock(
            obligor_id=principal.id,
            own_completes_on=p_own,
            completes_on=p_own,
            state=_state(p_run, p_released is not None, p_own, as_of),
            basis=p_basis,
            basis_date=p_on,
            basis_seq=p_seq,
            period_years=p_run.years,
            via_principal=False,
        )
    }
    # Principal-debtor events that took effect reach every guarantor (457条1項); the run
    # stops at the principal debtor's terminal event, so propagation stops there too.
    propagated = p_run.accepted

    for ref in by_id.values():
        if ref.role != "joint_guarantor":
            continue
        released = released_by(ref)
        run = _run(subrogation_date, period_years, [*own_events[ref.id], *propagated], released)
        own, basis, on, seq = _own(run)
        dead = run.terminal is not None and run.terminal.kind in ("discharge", "extinguished")
        completes_on = own
        via_principal = False
        if not dead and p_for_guarantors is not None and (own is None or p_for_guarantors < own):
            completes_on = p_for_guarantors
            via_principal = True
        clocks[ref.id] = Clock(
            obligor_id=ref.id,
            own_completes_on=own,
            completes_on=completes_on,
            state=_state(run, released is not None, completes_on, as_of),
            basis=basis,
            basis_date=on,
            basis_seq=seq,
            period_years=run.years,
            via_principal=via_principal,
        )
    return clocks


# -- which events can be recorded, and which would change nothing ------------------------------

CLOCK_ROLES = frozenset({"principal_debtor", "joint_guarantor"})


def event_refusal(
    kind: str, role: str, obligor_kind: str, clock: Clock | None, *, style: str = "iso"
) -> str | None:
    """Why an event of ``kind`` cannot be recorded on this obligor at all, or None.

    ``clock`` is the obligor's clock at the end of the event's date, before the event. A
    collateral provider has no clock; discharge is an individual's and extinction a
    corporation's; 時効援用 needs a completed period (援用 of a running period is void, and
    recording it would take the obligor off every alert).
    """
    if role not in CLOCK_ROLES:
        return "物上保証人には時効の管理がないため、時効事由は記録できません"
    if kind == "discharge" and obligor_kind == "corporation":
        return "免責確定は個人の事由です（法人には法人格消滅を記録してください）"
    if kind == "extinguished" and obligor_kind == "person":
        return "法人格消滅は法人の事由です（個人には免責確定を記録してください）"
    if kind == "invoked":
        state = clock.state if clock is not None else "running"
        if state == "completed":
            return None
        if state == "running" and clock is not None and clock.completes_on is not None:
            ends = format_date(clock.completes_on, style)
            return f"時効は {ends} まで完成しません（完成前の時効援用は記録できません）"
        return {
            "suspended": "手続が係属中で時効は完成していません（時効援用は記録できません）",
            "invoked": "時効援用はすでに記録されています",
            "extinguished": "免責確定または法人格消滅が記録されているため、時効援用は記録できません",
            "released": "この保証人は保証債務を免除されているため、時効援用は記録できません",
        }.get(state, "時効が完成していないため、時効援用は記録できません")
    return None


@dataclass(frozen=True)
class NoEffect:
    """Why a new event would change nothing on its obligor's clock.

    ``reason``: ``demand`` / ``agreement`` (inside that suspension, which ends on ``on``),
    ``completed`` (the period completed on ``on``; nothing revives it), ``ended`` (``kind``
    recorded on ``on`` ended the clock), ``released`` (released on ``on``),
    ``nothing_pending`` (an ending with no filing of that kind pending), ``no_agreement``
    (a refusal outside an agreement's suspension).
    """

    reason: str
    on: date | None = None
    kind: str | None = None


def no_effect(
    subrogation_date: date,
    period_years: int,
    obligors: Sequence[ObligorRef],
    events: Iterable[Event],
    new: Event,
) -> NoEffect | None:
    """Why ``new`` would change nothing (SPEC 4.6), or None when it takes effect.

    ``new`` is placed after every event in ``events`` (give it the highest ``seq``). It is
    judged on its obligor's own clock, which for a guarantor includes the principal debtor's
    events that reach them. Terminal events (援用, 免責確定, 法人格消滅) act unless the clock
    has already ended.
    """
    by_id = {ref.id: ref for ref in obligors}
    ref = by_id[new.obligor_id]
    if ref.role not in CLOCK_ROLES:
        raise ValueError(f"obligor {ref.id} has no clock")
    if ref.released_on is not None and new.date > ref.released_on:
        return NoEffect("released", ref.released_on)
    key = _order(new)
    live = [e for e in events if e.date >= subrogation_date]
    principal = next(r for r in by_id.values() if r.role == "principal_debtor")
    prior = [e for e in live if e.obligor_id == ref.id and _order(e) < key]
    if ref.role == "joint_guarantor":
        p_events = [e for e in live if e.obligor_id == principal.id]
        p_run = _run(subrogation_date, period_years, p_events, principal.released_on)
        prior += [e for e in p_run.accepted if _order(e) < key]
    run = _run(subrogation_date, period_years, prior, None)

    if run.terminal is not None:
        return NoEffect("ended", run.terminal.date, run.terminal.kind)
    if new.kind in TERMINAL_KINDS:
        return None
    current = run.completion()
    if run.completed or (current is not None and new.date > current.end):
        return NoEffect("completed", current.end if current is not None else None)

    day = new.date
    reason = NoEffect("other")
    if new.kind in ("demand", "agreement") and run.demand is not None and run._in_demand(day):
        reason = NoEffect("demand", run.demand.end)
    elif new.kind == "demand" and run.agreement is not None and run._in_agreement(day):
        reason = NoEffect("agreement", run.agreement.end)
    elif new.kind == "agreement_refused":
        reason = NoEffect("no_agreement")
    elif new.kind in _NON_CONFIRMING_ENDS:
        reason = NoEffect("nothing_pending")
    before = len(run.accepted)
    run.feed(new)
    return None if len(run.accepted) > before else reason
