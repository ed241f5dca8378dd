"""Instalment plans (分割弁済約定): entering them and keeping their arrears projection current."""

from __future__ import annotations

from datetime import date

from kyusho.errors import InputError
from kyusho.rules import plans as rules
from kyusho.rules.text import NOTE_MAX, clean_text
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from models import audit
from models.schema import LedgerEntry, Obligor, Plan


def as_rule(p: Plan) -> rules.Plan:
    return rules.Plan(
        first_month=p.first_month,
        last_month=p.last_month,
        monthly_amount=p.monthly_amount,
        due_day=p.due_day,
    )


def receipts_of(p: Plan, until: date) -> list[tuple[date, int]]:
    q = LedgerEntry.select(LedgerEntry.date, LedgerEntry.amount).where(
        (LedgerEntry.claim == p.claim_id)
        & (LedgerEntry.payer == p.obligor_id)
        & (LedgerEntry.kind == "receipt")
        & (LedgerEntry.cancelled == False)  # noqa: E712
        & (LedgerEntry.date >= p.first_month)
        & (LedgerEntry.date <= until)
    )
    return [(r.date, r.amount) for r in q]


def plan_status(session: Session, p: Plan, as_of: date) -> tuple[int, bool]:
    rule = as_rule(p)
    got = receipts_of(p, as_of)
    return rules.arrears(rule, got, as_of), rules.in_arrears(
        rule, got, as_of, session.config.policy.plan_grace_days
    )


def add_plan(
    session: Session,
    claim_no: str,
    obligor_no: int,
    first_month: date,
    monthly_amount: int,
    due_day: int,
    last_month: date | None = None,
    note: str = "",
) -> Plan:
    """Enter a plan; the obligor's active plan, if any, is superseded (and kept)."""
    note = clean_text(note, "メモ", max_len=NOTE_MAX, multiline=True)
    rules.validate_plan(first_month, last_month, monthly_amount, due_day)
    with session.writing():
        claim = find_claim(claim_no)
        ob = Obligor.get_or_none((Obligor.claim == claim.id) & (Obligor.obligor_no == obligor_no))
        if ob is None:
            raise InputError("関係人番号", f"関係人番号 {obligor_no} はこの求償権にありません")
        plan = Plan.create(
            claim=claim,
            obligor=ob,
            first_month=first_month.replace(day=1),
            last_month=last_month.replace(day=1) if last_month else None,
            monthly_amount=monthly_amount,
            due_day=due_day,
            status="active",
            note=note,
            created_by=session.login,
            created_at=session.now(),
        )
        old = list(
            Plan.select().where(
                (Plan.obligor == ob.id) & (Plan.status == "active") & (Plan.id != plan.id)
            )
        )
        for o in old:
            Plan.update(status="superseded", superseded_by=plan.id).where(Plan.id == o.id).execute()
        audit.record(
            session.login,
            "plan.add",
            "claim",
            claim.id,
            after={
                "plan_id": plan.id,
                "obligor_no": obligor_no,
                "first_month": first_month,
                "monthly_amount": monthly_amount,
                "due_day": due_day,
                "superseded": [o.id for o in old],
            },
            at=session.now(),
        )
        return plan
