"""The contact log (交渉記録) with promises and next actions (SPEC 4.7)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kyusho.errors import InputError
from kyusho.rules.text import LINE_MAX, NOTE_MAX, clean_text
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from kyusho.vocab import CONTACT_CHANNELS
from models import audit
from models.schema import Contact, Obligor


def contact_dict(c: Contact) -> dict[str, Any]:
    return {
        "contact_id": c.id,
        "obligor_id": c.obligor_id,
        "at": c.at,
        "staff": c.staff,
        "channel": c.channel,
        "outcome": c.outcome,
        "promised_amount": c.promised_amount,
        "promised_on": c.promised_on,
        "next_action": c.next_action,
        "next_on": c.next_on,
    }


def add_contact(
    session: Session,
    claim_no: str,
    obligor_no: int | None,
    channel: str,
    outcome: str,
    note: str = "",
    *,
    at: datetime | None = None,
    promised_amount: int | None = None,
    promised_on: date | None = None,
    next_action: str | None = None,
    next_on: date | None = None,
) -> Contact:
    outcome = clean_text(outcome, "結果", max_len=LINE_MAX)
    note = clean_text(note, "内容", max_len=NOTE_MAX, multiline=True)
    next_action = clean_text(next_action or "", "次回行動", max_len=LINE_MAX)
    if channel not in CONTACT_CHANNELS:
        raise InputError(
            "方法", f"{' / '.join(CONTACT_CHANNELS.values())} のいずれかを選んでください"
        )
    if (promised_amount is None) != (promised_on is None):
        raise InputError("入金約束", "約束金額と約束日は両方入力してください")
    if promised_amount is not None and promised_amount <= 0:
        raise InputError("約束金額", "1円以上の金額を入力してください")
    if next_on is not None and not next_action:
        raise InputError("次回行動", "次回日を入れるときは次回行動も入力してください")
    with session.writing():
        claim = find_claim(claim_no)
        obligor = None
        if obligor_no is not None:
            obligor = Obligor.get_or_none(
                (Obligor.claim == claim.id) & (Obligor.obligor_no == obligor_no)
            )
            if obligor is None:
                raise InputError("関係人番号", f"関係人番号 {obligor_no} はこの求償権にありません")
        c = Contact.create(
            claim=claim,
            obligor=obligor,
            at=at or session.now().replace(tzinfo=None, microsecond=0),
            staff=session.login,
            channel=channel,
            outcome=outcome,
            note=note,
            promised_amount=promised_amount,
            promised_on=promised_on,
            next_action=next_action or None,
            next_on=next_on,
            created_by=session.login,
            created_at=session.now(),
        )
        # a new next action replaces the open ones for this claim
        if c.next_on is not None:
            Contact.update(next_done=True).where(
                (Contact.claim == claim.id) & (Contact.id != c.id) & (Contact.next_done == False)
            ).execute()  # noqa: E712
        audit.record(
            session.login, "contact.add", "claim", claim.id, after=contact_dict(c), at=session.now()
        )
        return c
