"""Letters (SPEC 4.15): 督促状, 催告書 and 分割弁済約定書 filled from the claim and the obligor.

One template per kind (``letter_reminder``, ``letter_demand``, ``letter_plan_agreement``, each
as ``.html.j2`` and ``.md.j2``), overridable from the 協会's template folder like every
document. The context is plain values: the claim, the obligor the letter goes to (name,
address, role), the principal debtor and the guarantors, the balance on the letter's date
(元金, 損害金, 費用, 計: the same ledger as the claim screen), the obligor's active plan, the
協会's name (``organization.name``) and the staff member in charge. Dates are ``date``
objects: templates print them with the ``wareki`` filter (令和7年4月1日).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from types import MappingProxyType
from typing import Any

from kyusho.documents import Document, DocumentSettings, render_batch
from kyusho.errors import InputError
from kyusho.rules.dates import format_date
from kyusho.services.claims import ClaimView, claim_view
from kyusho.services.lookup import find_claim
from kyusho.vocab import OBLIGOR_KINDS, ROLES
from models.schema import Staff

LETTER_KINDS = MappingProxyType(
    {"reminder": "督促状", "demand": "催告書", "plan_agreement": "分割弁済約定書"}
)


def template_name(kind: str) -> str:
    """``letter_demand`` for ``demand``; InputError naming the kinds for anything else."""
    if kind not in LETTER_KINDS:
        choices = " / ".join(f"{k}（{v}）" for k, v in LETTER_KINDS.items())
        raise InputError("文書の種類", f"{choices} のいずれかを指定してください（値: {kind!r}）")
    return f"letter_{kind}"


def unique_targets(targets: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The targets in order, each (claim, obligor) once, the claim number as stored."""
    seen: set[tuple[str, int]] = set()
    out: list[tuple[str, int]] = []
    for claim_no, obligor_no in targets:
        key = (find_claim(claim_no).claim_no, int(obligor_no))
        if key not in seen:
            seen.add(key)
            out.append(key)
    if not out:
        raise InputError("対象", "宛先がありません（求償権と関係人を 1 件以上選んでください）")
    return out


def _obligor(row: Any) -> dict[str, Any]:
    corporation = row.kind == "corporation"
    return {
        "no": row.obligor_no,
        "name": row.name,
        "kana": row.kana,
        "address": row.address or "",
        "role": ROLES.get(row.role, row.role),
        "role_code": row.role,
        "kind": OBLIGOR_KINDS.get(row.kind, row.kind),
        "is_corporation": corporation,
        # a company is addressed 御中, a person 様
        "honorific": "御中" if corporation else "様",
    }


def letter_context(
    session: Any, kind: str, view: ClaimView, obligor_no: int, on: date
) -> dict[str, Any]:
    """Everything one letter prints, for the obligor numbered ``obligor_no`` of ``view``."""
    rows = {ov.row.obligor_no: ov.row for ov in view.obligors}
    row = rows.get(obligor_no)
    if row is None:
        raise InputError(
            "関係人番号", f"関係人番号 {obligor_no} は {view.claim.claim_no} にありません"
        )
    principal = next((r for r in rows.values() if r.role == "principal_debtor"), None)
    guarantors = [_obligor(r) for r in rows.values() if r.role == "joint_guarantor" and r.liable]
    balance = view.balance
    plan = next(
        (p for p in view.plans if p.status == "active" and p.obligor_id == row.id),
        None,
    )
    staff_name = ""
    if view.claim.staff_id is not None:
        staff = Staff.get_or_none(Staff.id == view.claim.staff_id)
        staff_name = staff.name if staff is not None else ""
    claim = view.claim
    return {
        "kind": kind,
        "title": LETTER_KINDS[kind],
        "date": on,
        "date_text": format_date(on, "wareki_long"),
        "claim": {
            "claim_no": claim.claim_no,
            "subrogation_date": claim.subrogation_date,
            "subrogated": claim.loan_principal + claim.loan_interest,
            "lender": claim.lender,
            "damages_rate": claim.damages_rate,
            "contract_date": claim.contract_date,
        },
        "obligor": _obligor(row),
        "principal_debtor": _obligor(principal) if principal is not None else None,
        "guarantors": guarantors,
        "balance": {
            "principal": balance.principal,
            "damages": balance.damages,
            "costs": balance.costs,
            "total": balance.total,
        },
        "plan": None
        if plan is None
        else {
            "monthly_amount": plan.monthly_amount,
            "due_day": "末" if plan.due_day == 31 else str(plan.due_day),
            "first_month": plan.first_month,
            "last_month": plan.last_month,
        },
        "organization": {"name": session.config.organization.name},
        "staff": {"name": staff_name or session.name, "login": session.login},
    }


def letters_document(
    session: Any,
    kind: str,
    targets: Sequence[tuple[str, int]],
    on: date,
    settings: DocumentSettings | None = None,
) -> Document:
    """One letter of ``kind`` per (claim_no, obligor_no), one per page, dated ``on``.

    A target given twice gets one letter.
    """
    name = template_name(kind)
    targets = unique_targets(targets)
    views: dict[str, ClaimView] = {}
    contexts = []
    for claim_no, obligor_no in targets:
        view = views.get(claim_no)
        if view is None:
            view = claim_view(session, claim_no, as_of=on, history=False)
            if on < view.claim.subrogation_date:
                shown = format_date(view.claim.subrogation_date, session.config.dates)
                raise InputError("日付", f"文書の日付は代位弁済日（{shown}）以降にしてください")
            views[claim_no] = view
        contexts.append(letter_context(session, kind, view, obligor_no, on))
    return render_batch(name, contexts, settings or DocumentSettings.from_config(session.config))
