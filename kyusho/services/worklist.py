"""The collector's day (SPEC 4.6 alerts, 4.7 worklist).

Every item is found by an indexed query over stored projections (clocks, next actions,
promises, review dates), so the worklist is a handful of queries however many claims exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from peewee import JOIN

from kyusho.services.projections import effective_state
from kyusho.services.session import Session
from kyusho.vocab import LIMITATION_STATES
from models.schema import Claim, Contact, Decision, LedgerEntry, Obligor, Plan, Staff

ROLE_SHORT = {"principal_debtor": "主", "joint_guarantor": "保", "collateral_provider": "物"}

OPEN_STATUSES = ("active", "suspended")


@dataclass(frozen=True)
class WorkItem:
    urgency: int  # lower is more urgent
    due: date | None
    kind: str  # limitation | next_action | broken_promise | plan_arrears | review
    claim_no: str
    obligor: str
    reason: str
    obligor_no: int | None = None


def _mine(session: Session, query, all_staff: bool):
    if all_staff or session.role in ("manager", "admin"):
        return query
    return query.where(Claim.staff == Staff.select(Staff.id).where(Staff.login == session.login))


def limitation_due(
    session: Session, *, within: int, as_of: date, staff: str | None = None
) -> list[dict[str, Any]]:
    """Obligors whose completes_on falls within ``within`` days (or has passed), nearest first.

    Reads the stored clocks through the completes_on index; completed clocks stay listed
    until a decision closes the claim (SPEC 4.6 Alerts).
    """
    horizon = as_of + timedelta(days=within)
    q = (
        Obligor.select(Obligor, Claim.claim_no, Claim.status)
        .join(Claim)
        .where(
            (Obligor.completes_on <= horizon)
            & (Obligor.lim_state == "running")
            & (Obligor.liable == True)  # noqa: E712
            & (Claim.status.in_(OPEN_STATUSES))
        )
        .order_by(Obligor.completes_on, Claim.claim_no, Obligor.obligor_no)
    )
    if staff:
        q = q.where(Claim.staff == Staff.select(Staff.id).where(Staff.login == staff))
    out = []
    for o in q:
        out.append(
            {
                "claim_no": o.claim.claim_no,
                "obligor_id": o.obligor_no,
                "name": o.name,
                "role": o.role,
                "completes_on": o.completes_on.isoformat(),
                "days_left": (o.completes_on - as_of).days,
                "state": effective_state(o.lim_state, o.completes_on, as_of),
                "via_principal": bool(o.lim_via_principal),
            }
        )
    return out


def worklist(
    session: Session, *, as_of: date | None = None, all_staff: bool = False, limit: int = 500
) -> list[WorkItem]:
    """Today's work for the acting user (managers and admins: everyone's)."""
    as_of = as_of or session.today()
    policy = session.config.policy
    items: list[WorkItem] = []
    mine_login = None if (all_staff or session.role in ("manager", "admin")) else session.login

    for r in limitation_due(
        session, within=policy.limitation_alert_days, as_of=as_of, staff=mine_login
    )[:limit]:
        days = r["days_left"]
        via = "・主債務者の時効" if r["via_principal"] else ""
        why = f"完成済み{via}" if days < 0 else f"あと{days}日{via}"
        who = f"{ROLE_SHORT[r['role']]} {r['name']}"
        items.append(
            WorkItem(
                days, _d(r["completes_on"]), "limitation", r["claim_no"], who, why, r["obligor_id"]
            )
        )

    q = (
        Contact.select(Contact, Claim.claim_no, Obligor.name)
        .join(Claim)
        .switch(Contact)
        .join(Obligor, JOIN.LEFT_OUTER)
        .where(
            (Contact.next_on <= as_of)
            & (Contact.next_done == False)
            & Claim.status.in_(OPEN_STATUSES)
        )  # noqa: E712
        .order_by(Contact.next_on)
        .limit(limit)
    )
    for c in _mine(session, q, all_staff):
        items.append(
            WorkItem(
                1000 + (c.next_on - as_of).days,
                c.next_on,
                "next_action",
                c.claim.claim_no,
                c.obligor.name if c.obligor_id else "",
                f"次回行動: {c.next_action}",
            )
        )

    # broken promises: date passed, no receipt of at least the amount from that obligor since the contact
    q = (
        Contact.select(Contact, Claim.claim_no, Obligor.name)
        .join(Claim)
        .switch(Contact)
        .join(Obligor, JOIN.LEFT_OUTER)
        .where(
            (Contact.promised_on < as_of)
            & (Contact.promised_on >= as_of - timedelta(days=90))
            & Claim.status.in_(OPEN_STATUSES)
        )
        .order_by(Contact.promised_on)
        .limit(limit)
    )
    for c in _mine(session, q, all_staff):
        paid = (
            LedgerEntry.select(LedgerEntry.amount)
            .where(
                (LedgerEntry.claim == c.claim_id)
                & (LedgerEntry.payer == c.obligor_id)
                & (LedgerEntry.kind == "receipt")
                & (LedgerEntry.cancelled == False)  # noqa: E712
                & (LedgerEntry.date >= c.at.date())
                & (LedgerEntry.date <= c.promised_on)
                & (LedgerEntry.amount >= c.promised_amount)
            )
            .exists()
        )
        if not paid:
            items.append(
                WorkItem(
                    2000 + (c.promised_on - as_of).days,
                    c.promised_on,
                    "broken_promise",
                    c.claim.claim_no,
                    c.obligor.name if c.obligor_id else "",
                    f"入金約束 {c.promised_amount:,}円 未入金",
                )
            )

    from kyusho.services.plans import plan_status

    q = (
        Plan.select(Plan, Claim.claim_no, Obligor.name)
        .join(Claim)
        .switch(Plan)
        .join(Obligor)
        .where((Plan.status == "active") & Claim.status.in_(OPEN_STATUSES))
        .limit(limit * 4)
    )
    for p in _mine(session, q, all_staff):
        arrears, late = plan_status(session, p, as_of)
        if late:
            items.append(
                WorkItem(
                    3000,
                    None,
                    "plan_arrears",
                    p.claim.claim_no,
                    p.obligor.name,
                    f"分割弁済の延滞 {arrears:,}円",
                )
            )

    q = (
        Claim.select(Claim.claim_no, Claim.review_on, Claim.debtor_name)
        .where((Claim.status == "suspended") & (Claim.review_on <= as_of))
        .order_by(Claim.review_on)
        .limit(limit)
    )
    for c in _mine(session, q, all_staff):
        items.append(
            WorkItem(
                4000,
                c.review_on,
                "review",
                c.claim_no,
                c.debtor_name,
                "管理事務停止の見直し",
            )
        )

    q = (
        Decision.select(Decision, Claim.claim_no)
        .join(Claim)
        .where((Decision.status == "proposed") & (Decision.proposer != session.login))
    )
    if session.role != "staff":
        for d in q.limit(limit):
            items.append(
                WorkItem(
                    500,
                    None,
                    "approval",
                    d.claim.claim_no,
                    "",
                    f"決裁待ち: {d.kind}（起案 {d.proposer}）",
                )
            )

    items.sort(key=lambda i: (i.urgency, i.claim_no))
    return items


def _d(text: str) -> date:
    return date.fromisoformat(text)


def state_label(state: str | None) -> str:
    return LIMITATION_STATES.get(state or "", "—")
