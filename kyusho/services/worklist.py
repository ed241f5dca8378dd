"""The collector's day (SPEC 4.5 promises, 4.6 alerts, 4.7 worklist, 4.9 suspended claims).

Every item is found by an indexed query over stored projections (clocks, next actions,
promises, review dates), so the worklist is a handful of queries however many claims exist.
Every row says what makes it leave (``WorkItem.leaves``): the worklist empties by doing the
work. Suspended claims show only their review, a receipt since the last review and
limitation alerts; next actions, promises and plans are worked on active claims only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from peewee import JOIN, Expression, fn

from kyusho.rules import plans as plan_rules
from kyusho.services.claims import cutoff
from kyusho.services.projections import effective_state
from kyusho.services.session import Session
from kyusho.vocab import ROLE_RANK
from models.db import is_postgres
from models.schema import Claim, Contact, Decision, LedgerEntry, Obligor, Plan, Staff

ROLE_SHORT = {"principal_debtor": "主", "joint_guarantor": "保", "collateral_provider": "物"}

OPEN_STATUSES = ("active", "suspended")
# the decisions that take up a completed clock (SPEC 4.6 Alerts): closing or stopping the claim
CLOSING_KINDS = ("suspension", "write_off", "waiver")
# the kinds, in the worklist's order (the same identifiers as `kyusho worklist --json`)
RANK = {
    "limitation": 0,
    "next_action": 1,
    "promise": 2,
    "plan_arrears": 3,
    "review": 4,
    "suspended_receipt": 5,
    "approval": 6,
    "waiver_step": 7,
}
REVIEW_CHANNEL = "review"  # a contact of kind 見直し (SPEC 4.9)


@dataclass(frozen=True)
class WorkItem:
    rank: int  # the kind of item: limitation alerts first (SPEC 4.7 order)
    due: date | None
    kind: str  # a key of RANK
    claim_no: str
    obligor: str
    reason: str
    obligor_no: int | None = None
    contact_id: int | None = None  # the contact a next_action or promise row comes from
    leaves: str = ""  # what makes the row leave the worklist (SPEC 4.7)


def _unindexed(field: Any) -> Any:
    """``field`` as a condition the planner should not drive a query by.

    SQLite would walk the (unselective) claim status index; ``status || ''`` keeps it on the
    date index the query is ordered by. PostgreSQL's planner weighs the status by its
    statistics, and the same expression would hide them (it then scanned every claim)."""
    return field if is_postgres() else field.concat("")


def _mine(session: Session, query, all_staff: bool):
    if all_staff:
        return query
    return query.where(Claim.staff == Staff.select(Staff.id).where(Staff.login == session.login))


def default_scope_is_all(session: Session) -> bool:
    """Staff see their own claims; managers and admins everyone's (SPEC 4.7), with a toggle."""
    return session.role in ("manager", "admin")


def limitation_due(
    session: Session,
    *,
    within: int,
    as_of: date,
    staff: str | None = None,
    undecided_only: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Obligors whose completes_on falls within ``within`` days (or has passed), nearest first.

    Reads the stored clocks through the completes_on index; completed clocks stay listed
    until a decision closes the claim (SPEC 4.6 Alerts).
    """
    horizon = as_of + timedelta(days=within)
    q = (
        Obligor.select(
            Claim.claim_no,
            Obligor.obligor_no,
            Obligor.name,
            Obligor.role,
            Obligor.completes_on,
            Obligor.lim_state,
            Obligor.lim_via_principal,
        )
        .join(Claim)
        .where(
            (Obligor.completes_on <= horizon)
            & (Obligor.lim_state == "running")
            & (Obligor.liable == True)  # noqa: E712
            # unindexed status: the completes_on index drives the query, nearest first
            & (_unindexed(Claim.status).in_(OPEN_STATUSES))
        )
        .order_by(Obligor.completes_on, Claim.claim_no, Obligor.obligor_no)
        .tuples()
    )
    if staff:
        q = q.where(Claim.staff == Staff.select(Staff.id).where(Staff.login == staff))
    if limit is not None:
        q = q.limit(limit)
    if undecided_only:
        # a completed clock stays on the worklist until a suspension, write-off or waiver of
        # the claim is proposed or approved (as it stood at the end of as_of)
        decided = Decision.select(Decision.claim).where(
            Decision.kind.in_(CLOSING_KINDS) & _pending_or_approved_at(as_of)
        )
        q = q.where(~((Obligor.completes_on < as_of) & Claim.id.in_(decided)))
    return [
        {
            "claim_no": claim_no,
            "obligor_id": obligor_no,
            "name": name,
            "role": role,
            "completes_on": completes_on.isoformat(),
            "days_left": (completes_on - as_of).days,
            "state": effective_state(state, completes_on, as_of),
            "via_principal": bool(via),
        }
        for claim_no, obligor_no, name, role, completes_on, state, via in cast(
            Iterable[tuple[str, int, str, str, date, str, bool]], q
        )
    ]


def _proposed_at() -> Any:
    """When a decision was proposed (rows made without the timestamp: when created)."""
    return fn.COALESCE(Decision.proposed_at, Decision.created_at)


def _pending_or_approved_at(as_of: date) -> Any:
    """Decisions proposed by the end of ``as_of`` and then still pending or approved."""
    end = cutoff(as_of)
    return (_proposed_at() < end) & (
        Decision.status.in_(("proposed", "approved"))
        | (Decision.status.in_(("rejected", "withdrawn")) & (Decision.decided_at >= end))
    )


def _recorded_by(as_of: date, model: Any = Contact) -> Any:
    """Contacts recorded (their own date and time) by the end of ``as_of``."""
    return model.at < datetime.combine(as_of + timedelta(days=1), datetime.min.time())


def _live(session: Session, as_of: date, model: Any = Contact) -> Any:
    """Contacts not cancelled by the end of ``as_of`` (a cancelled one counts for nothing)."""
    live = model.cancelled == False  # noqa: E712
    if as_of >= session.today():
        return live
    return live | (model.cancelled_at >= cutoff(as_of))


def _followed_up(session: Session, as_of: date) -> Any:
    """A later live contact with the same obligor on the same claim, recorded by ``as_of``.

    It closes a next action and retires a broken promise (SPEC 4.5, 4.7). "Later" is the
    contact's own date and time, then the entry order.
    """
    later = Contact.alias("later")
    q = later.select(later.id).where(
        (later.claim == Contact.claim)
        & Expression(later.obligor, "IS NOT DISTINCT FROM", Contact.obligor)
        & ((later.at > Contact.at) | ((later.at == Contact.at) & (later.id > Contact.id)))
        & _recorded_by(as_of, later)
        & _live(session, as_of, later)
    )
    return fn.EXISTS(q)


def _next_open(session: Session, as_of: date) -> Any:
    """Next actions still open at the end of ``as_of``.

    Today: the stored flag (kept by the contact services), checked against a later contact
    too. For a past date the flag says nothing about then: an action was open unless marked
    done by then or followed up by a contact recorded by then.
    """
    if as_of >= session.today():
        return (Contact.next_done == False) & ~_followed_up(session, as_of)  # noqa: E712
    marked_then = Contact.next_done_at.is_null(False) & (Contact.next_done_at < cutoff(as_of))
    return ~marked_then & ~_followed_up(session, as_of)


def _received_since_contact(as_of: date) -> Any:
    """Receipts from the contact's obligor dated from the contact's day to ``as_of`` (yen)."""
    return LedgerEntry.select(fn.COALESCE(fn.SUM(LedgerEntry.amount), 0)).where(
        (LedgerEntry.claim == Contact.claim)
        & Expression(LedgerEntry.payer, "IS NOT DISTINCT FROM", Contact.obligor)
        & (LedgerEntry.kind == "receipt")
        & (LedgerEntry.cancelled == False)  # noqa: E712
        & (LedgerEntry.date >= fn.DATE(Contact.at))
        & (LedgerEntry.date <= as_of)
    )


def _contacts_due(day: Any, due: Any, limit: int, *extra: Any) -> Any:
    """Contacts on active claims whose ``day`` (next_on or promised_on) satisfies ``due``,
    earliest first, at most ``limit`` (``extra``: more columns to select).

    Rows of one day come in entry order (claim, then contact), so which ones fill ``limit``
    does not depend on the query plan. ``status || ''`` keeps SQLite from driving the query
    by the unselective claim status index and sorting every open contact: it walks the index
    on ``day`` and sorts within a day only, without needing ANALYZE statistics.
    """
    return (
        Contact.select(
            Contact,
            Claim.id,
            Claim.claim_no,
            Obligor.id,
            Obligor.name,
            Obligor.obligor_no,
            *extra,
        )
        .join(Claim)
        .switch(Contact)
        .join(Obligor, JOIN.LEFT_OUTER)
        .where(due & (_unindexed(Claim.status) == "active"))
        .order_by(day, Contact.claim, Contact.id)
        .limit(limit)
    )


def worklist(
    session: Session, *, as_of: date | None = None, all_staff: bool | None = None, limit: int = 500
) -> list[WorkItem]:
    """Today's work for the acting user (managers and admins: everyone's)."""
    as_of = as_of or session.view_date()
    policy = session.config.policy
    items: list[WorkItem] = []
    if all_staff is None:
        all_staff = default_scope_is_all(session)
    mine_login = None if all_staff else session.login

    # limitation alerts, suspended claims' included (a suspended claim can still be lost)
    for r in limitation_due(
        session,
        within=policy.limitation_alert_days,
        as_of=as_of,
        staff=mine_login,
        undecided_only=True,
        limit=limit,
    ):
        days = r["days_left"]
        via = "・主債務者の時効" if r["via_principal"] else ""
        why = f"完成済み{via}" if days < 0 else f"あと{days}日{via}"
        who = f"{ROLE_SHORT[r['role']]} {r['name']}"
        leaves = (
            "停止・整理・放棄の起案で消えます"
            if days < 0
            else "承認・催告・訴え提起など時効事由の記録で消えます"
        )
        items.append(
            WorkItem(
                RANK["limitation"],
                _d(r["completes_on"]),
                "limitation",
                r["claim_no"],
                who,
                why,
                r["obligor_id"],
                leaves=leaves,
            )
        )

    # next actions due: open until a later contact with that obligor or marked done (4.7)
    q = _contacts_due(
        Contact.next_on,
        (Contact.next_on <= as_of)
        & _next_open(session, as_of)
        & _recorded_by(as_of)
        & _live(session, as_of),
        limit,
    )
    for c in _mine(session, q, all_staff):
        items.append(
            WorkItem(
                RANK["next_action"],
                c.next_on,
                "next_action",
                c.claim.claim_no,
                c.obligor.name if c.obligor else "",
                f"次回行動: {c.next_action}",
                c.obligor.obligor_no if c.obligor else None,
                contact_id=c.id,
                leaves="次の交渉か d で完了",
            )
        )

    # broken promises (SPEC 4.5): the date has passed, and the receipts from that obligor
    # since the contact (by the date: kept; after it: paid late) are short of the amount;
    # a later contact with that obligor retires it, so does the claim leaving `active`
    received = _received_since_contact(as_of)
    q = _contacts_due(
        Contact.promised_on,
        (Contact.promised_on < as_of)
        & (received < Contact.promised_amount)
        & ~_followed_up(session, as_of)
        & _recorded_by(as_of)
        & _live(session, as_of),
        limit,
        received.alias("received"),
    )
    for c in _mine(session, q, all_staff):
        paid = int(getattr(c, "received", 0) or 0)
        short = c.promised_amount - paid
        why = f"入金約束 {c.promised_amount:,}円 " + (f"残 {short:,}円" if paid else "未入金")
        items.append(
            WorkItem(
                RANK["promise"],
                c.promised_on,
                "promise",
                c.claim.claim_no,
                c.obligor.name if c.obligor else "",
                why,
                c.obligor.obligor_no if c.obligor else None,
                contact_id=c.id,
                leaves=f"入金 {short:,}円 または次の交渉で消えます",
            )
        )

    # plans in arrears: the receipts that count are summed per plan in the same query; a plan
    # entered after as_of is not shown, one superseded after it was still active then
    paid_sum = fn.COALESCE(fn.SUM(LedgerEntry.amount), 0)
    end = cutoff(as_of)
    active_then = Plan.status == "active"
    if as_of < session.today():
        Later = Plan.alias("later")
        active_then = active_then | (
            (Plan.status == "superseded")
            & Plan.superseded_by.in_(Later.select(Later.id).where(Later.created_at >= end))
        )
    q = (
        Plan.select(Plan, Claim.claim_no, Obligor.name, Obligor.obligor_no, paid_sum.alias("paid"))
        .join(Claim)
        .switch(Plan)
        .join(Obligor)
        .switch(Plan)
        .join(
            LedgerEntry,
            JOIN.LEFT_OUTER,
            on=(
                (LedgerEntry.claim == Plan.claim)
                & (LedgerEntry.payer == Plan.obligor)
                & (LedgerEntry.kind == "receipt")
                & (LedgerEntry.cancelled == False)
                & (LedgerEntry.date >= Plan.first_month)
                & (LedgerEntry.date <= as_of)
            ),
        )
        .where(active_then & (Plan.created_at < end) & (Claim.status == "active"))
        .group_by(Plan.id, Claim.id, Obligor.id)
    )
    grace = policy.plan_grace_days
    late_plans = 0
    for p in _mine(session, q, all_staff):
        if late_plans >= limit:
            break
        rule = plan_rules.Plan(p.first_month, p.last_month, p.monthly_amount, p.due_day)
        received_plan = [(as_of, p.paid)] if p.first_month <= as_of else []
        if plan_rules.in_arrears(rule, received_plan, as_of, grace):
            late_plans += 1
            arrears = plan_rules.arrears(rule, received_plan, as_of)
            items.append(
                WorkItem(
                    RANK["plan_arrears"],
                    None,
                    "plan_arrears",
                    p.claim.claim_no,
                    p.obligor.name,
                    f"分割弁済の延滞 {arrears:,}円",
                    p.obligor.obligor_no,
                    leaves=f"延滞分 {arrears:,}円の入金で消えます",
                )
            )

    # suspended claims due for review (4.9): recording a review moves review_on on
    q = (
        Claim.select(Claim.claim_no, Claim.review_on, Claim.debtor_name)
        .where((Claim.status == "suspended") & (Claim.review_on <= as_of))
        .order_by(Claim.review_on)
        .limit(limit)
    )
    for c in _mine(session, q, all_staff):
        items.append(
            WorkItem(
                RANK["review"],
                c.review_on,
                "review",
                c.claim_no,
                c.debtor_name,
                "管理事務停止の見直し",
                leaves="見直しを記録すると消えます",
            )
        )

    # receipts on suspended claims since the suspension and not yet seen by a review (4.9):
    # one row per claim, suggesting reactivation; a review or the reactivation takes it off
    reviewed = Contact.select(Contact.id).where(
        (Contact.claim == LedgerEntry.claim)
        & (Contact.channel == REVIEW_CHANNEL)
        & (fn.DATE(Contact.at) >= LedgerEntry.date)
        & _recorded_by(as_of)
        & _live(session, as_of)
    )
    first = fn.MIN(LedgerEntry.date)
    q = (
        LedgerEntry.select(
            Claim.claim_no,
            Claim.debtor_name,
            first.alias("first"),
            fn.SUM(LedgerEntry.amount).alias("total"),
            fn.COUNT(LedgerEntry.id).alias("n"),
        )
        .join(Claim)
        .where(
            (Claim.status == "suspended")
            & (LedgerEntry.kind == "receipt")
            & (LedgerEntry.cancelled == False)  # noqa: E712
            & (LedgerEntry.date <= as_of)
            & (Claim.status_since.is_null() | (LedgerEntry.date >= Claim.status_since))
            & ~fn.EXISTS(reviewed)
        )
        .group_by(Claim.id)
        .order_by(first, Claim.claim_no)
        .limit(limit)
    )
    for r in _mine(session, q, all_staff):
        count = f"（{r.n}件）" if r.n > 1 else ""
        items.append(
            WorkItem(
                RANK["suspended_receipt"],
                _as_date(r.first),
                "suspended_receipt",
                r.claim.claim_no,
                r.claim.debtor_name,
                f"停止中の入金 {r.total:,}円{count}・管理再開を検討",
                leaves="見直しか管理再開の記録で消えます",
            )
        )

    # decisions awaiting this user's approval (never their own proposal: four-eyes)
    if session.role != "staff":
        from kyusho.services.decisions import HIGH_KINDS

        q = (
            Decision.select(Decision, Claim.claim_no)
            .join(Claim)
            .where(
                (Decision.proposer != session.login)
                & (_proposed_at() < cutoff(as_of))
                & (
                    (Decision.status == "proposed")
                    | ((Decision.status != "draft") & (Decision.decided_at >= cutoff(as_of)))
                )
            )
            .limit(limit)
        )
        if ROLE_RANK[session.role] < ROLE_RANK[policy.approval.min_role_high]:
            q = q.where(Decision.kind.not_in(tuple(HIGH_KINDS)))  # only what this user may approve
        for d in q:
            items.append(
                WorkItem(
                    RANK["approval"],
                    None,
                    "approval",
                    d.claim.claim_no,
                    "",
                    f"決裁待ち: {d.kind}（起案 {d.proposer}）",
                    leaves="承認か否決で消えます",
                )
            )

    items.extend(_waiver_steps(session, as_of, all_staff, limit))
    items.sort(key=lambda i: (i.rank, i.due or date.max, i.claim_no, i.obligor))
    return items


def _waiver_steps(session: Session, as_of: date, all_staff: bool, limit: int) -> list[WorkItem]:
    """Waivers waiting on a municipality's next step (SPEC 4.12): one row per municipality
    that must agree and has not reported, as recorded by the end of ``as_of``."""
    from kyusho.rules import reference
    from kyusho.rules import waiver as waiver_rules
    from kyusho.services import waiver as waivers
    from models.schema import ClaimMunicipality, WaiverCase, WaiverStep

    end = cutoff(as_of)
    q = (
        WaiverCase.select(WaiverCase, Claim)
        .join(Claim)
        .where((WaiverCase.created_at < end) & Claim.status.in_(OPEN_STATUSES + ("waived",)))
        .order_by(WaiverCase.id.desc())
        .limit(limit)
    )
    latest: dict[int, WaiverCase] = {}
    for case in _mine(session, q, all_staff):
        latest.setdefault(case.claim_id, case)
    if not latest:
        return []
    govs = waivers._governments()
    checklist = reference.load("waiver_checklist")
    out = []
    for case in latest.values():
        for cm in ClaimMunicipality.select().where(ClaimMunicipality.claim == case.claim_id):
            if waiver_rules.resolve(cm.name, case.scheme, govs, checklist).status == "not_required":
                continue
            last = (
                WaiverStep.select()
                .where(
                    (WaiverStep.case == case.id)
                    & (WaiverStep.municipality == cm.name)
                    & (WaiverStep.recorded_at < end)
                )
                .order_by(WaiverStep.id.desc())
                .first()
            )
            step = last.step if last else None
            nexts = waivers.NEXT_STEPS[step]
            if not nexts:
                continue
            now = waivers.STEP_LABELS[step] if step else "未着手"
            out.append(
                WorkItem(
                    RANK["waiver_step"],
                    last.on if last else case.planned_date,
                    "waiver_step",
                    case.claim.claim_no,
                    case.claim.debtor_name,
                    f"放棄手続 {cm.name}: {now} → 次は"
                    + "・".join(waivers.STEP_LABELS[n] for n in nexts),
                    leaves="報告済の記録で消えます",
                )
            )
    return out


def item_json(item: WorkItem) -> dict[str, Any]:
    """One worklist row for scripts (`kyusho worklist --json`, SPEC 5.2); dates are ISO."""
    return {
        "kind": item.kind,
        "claim_no": item.claim_no,
        "obligor_id": item.obligor_no,
        "due": item.due.isoformat() if item.due else None,
        "reason": item.reason,
        "leaves": item.leaves,
    }


def _as_date(value: Any) -> date | None:
    """An aggregate of a date column comes back as text from SQLite."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _d(text: str) -> date:
    return date.fromisoformat(text)
