"""The contact log (交渉記録) with promises and next actions (SPEC 4.5, 4.7, 4.9).

A contact is never deleted: 取消 marks it with a reason, and a cancelled contact counts for
nothing (its promise, its next action, as "a later contact", as a review). ``next_done`` is
a projection kept here: an action is done once a later live contact with the same obligor on
the same claim exists, or once a user marked it done (``next_done_at``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kyusho.errors import InputError, NotFound
from kyusho.rules.dates import format_date
from kyusho.rules.periods import period_end
from kyusho.rules.text import LINE_MAX, NOTE_MAX, clean_text
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from kyusho.vocab import CONTACT_CHANNELS
from models import audit
from models.schema import Claim, Contact, Obligor

REVIEW = "review"  # the channel that records the review of a suspended claim (SPEC 4.9)


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
        "next_done": bool(c.next_done),
        "next_done_at": c.next_done_at,
        "next_done_by": c.next_done_by,
        "cancelled": bool(c.cancelled),
        "cancelled_at": c.cancelled_at,
        "cancelled_by": c.cancelled_by,
        "cancel_reason": c.cancel_reason,
    }


def refresh_next_done(claim_id: int, obligor_id: int | None) -> None:
    """Recompute ``next_done`` for the contacts with one obligor on one claim (SPEC 4.7).

    An action is done when marked done, or when a later (date-time, then entry order) live
    contact with the same obligor exists. Runs inside the caller's write transaction.
    """
    same = Contact.obligor.is_null() if obligor_id is None else Contact.obligor == obligor_id
    rows = list(
        Contact.select(
            Contact.id,
            Contact.at,
            Contact.next_on,
            Contact.next_action,
            Contact.next_done,
            Contact.next_done_at,
            Contact.cancelled,
        )
        .where((Contact.claim == claim_id) & same)
        .order_by(Contact.at.desc(), Contact.id.desc())
    )
    later_live = False
    for c in rows:
        if c.next_action or c.next_on is not None:
            done = later_live or c.next_done_at is not None
            if bool(c.next_done) != done:
                Contact.update(next_done=done).where(Contact.id == c.id).execute()
        if not c.cancelled:
            later_live = True


def _review_interval(session: Session) -> int:
    return session.config.policy.suspension_review_months


def _reviewed_on(claim: Claim) -> date | None:
    """The day of the latest live review recorded since the claim was suspended."""
    q = Contact.select(Contact.at).where(
        (Contact.claim == claim.id) & (Contact.channel == REVIEW) & (Contact.cancelled == False)  # noqa: E712
    )
    days = [c.at.date() for c in q]
    if claim.status_since is not None:
        days = [d for d in days if d >= claim.status_since]
    return max(days, default=None)


def _next_review(session: Session, claim: Claim) -> date | None:
    """The next review date: the interval after the latest review, else after the suspension."""
    base = _reviewed_on(claim) or claim.status_since
    if base is None:
        return claim.review_on
    return period_end(base, months=_review_interval(session))


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
    when = at or session.now().replace(tzinfo=None, microsecond=0)
    if promised_on is not None and promised_on < when.date():
        shown = format_date(when.date(), session.config.dates)
        raise InputError("約束日", f"交渉日（{shown}）以降の日付を入力してください")
    with session.writing():
        claim = find_claim(claim_no)
        if channel == REVIEW and claim.status != "suspended":
            raise InputError(
                "方法",
                "見直しは管理事務停止中の求償権にだけ記録できます（この求償権は停止中ではありません）",
            )
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
            at=when,
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
        # this contact closes the earlier next actions of the same obligor on this claim
        # (and is itself born done if a later contact with that obligor already exists)
        refresh_next_done(claim.id, c.obligor_id)
        after = contact_dict(Contact.get_by_id(c.id))
        if channel == REVIEW:
            review_on = _next_review(session, claim)
            Claim.update(review_on=review_on).where(Claim.id == claim.id).execute()
            after["review_on"] = review_on
        audit.record(session.login, "contact.add", "claim", claim.id, after=after, at=session.now())
        return Contact.get_by_id(c.id)


def _get(contact_id: int) -> Contact:
    c = Contact.get_or_none(Contact.id == contact_id)
    if c is None:
        raise NotFound(f"交渉記録 {contact_id} は見つかりません")
    return c


def cancel_contact(session: Session, contact_id: int, reason: str) -> Contact:
    """取消: the contact stays, marked cancelled with the reason, and no longer counts."""
    reason = clean_text(reason, "取消理由", max_len=LINE_MAX).strip()
    if not reason:
        raise InputError("取消理由", "取消の理由を入力してください")
    with session.writing():
        c = _get(contact_id)
        if c.cancelled:
            raise InputError("交渉記録", "この交渉記録はすでに取り消されています")
        before = contact_dict(c)
        Contact.update(
            cancelled=True,
            cancelled_at=session.now(),
            cancelled_by=session.login,
            cancel_reason=reason,
        ).where(Contact.id == c.id).execute()
        # the earlier next actions it had closed open again (unless marked done by hand)
        refresh_next_done(c.claim_id, c.obligor_id)
        after = contact_dict(Contact.get_by_id(c.id))
        claim = Claim.get_by_id(c.claim_id)
        if c.channel == REVIEW and claim.status == "suspended":
            review_on = _next_review(session, claim)
            Claim.update(review_on=review_on).where(Claim.id == claim.id).execute()
            after["review_on"] = review_on
        audit.record(
            session.login,
            "contact.cancel",
            "claim",
            c.claim_id,
            before=before,
            after=after,
            reason=reason,
            at=session.now(),
        )
        return Contact.get_by_id(c.id)


def mark_done(session: Session, contact_id: int) -> Contact:
    """The contact's next action is done (the user says so; SPEC 4.7)."""
    with session.writing():
        c = _get(contact_id)
        if c.cancelled:
            raise InputError("交渉記録", "取り消された交渉記録の次回行動は完了にできません")
        if not c.next_action and c.next_on is None:
            raise InputError("次回行動", "この交渉記録には次回行動がありません")
        if c.next_done:
            raise InputError("次回行動", "この次回行動はすでに完了しています")
        before = contact_dict(c)
        Contact.update(
            next_done=True, next_done_at=session.now(), next_done_by=session.login
        ).where(Contact.id == c.id).execute()
        done = Contact.get_by_id(c.id)
        audit.record(
            session.login,
            "contact.done",
            "claim",
            c.claim_id,
            before=before,
            after=contact_dict(done),
            at=session.now(),
        )
        return done
