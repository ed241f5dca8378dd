"""The 決裁書: a decision printed from what was frozen at its proposal (SPEC 4.8, 4.15).

The context is the decision's JSON (``decisions.decision_json``: facts, checks with their
figures, attested items with notes, who proposed and approved and when, any override) plus
the claim and the obligor it concerns, named as the 協会 reads them.
"""

from __future__ import annotations

import json
from typing import Any

from kyusho.documents import Document, DocumentSettings, render
from kyusho.errors import InputError, NotFound
from kyusho.services import decisions
from kyusho.services.session import Session
from kyusho.vocab import CLAIM_STATUSES, DECISION_KINDS, DECISION_STATUSES, ROLES
from models.schema import Claim, Decision, Obligor, Staff

TEMPLATE = "decision"


def decision_id(text: str | int, field: str = "ID") -> int:
    """A decision number as typed (ASCII digits), or InputError naming ``field``."""
    raw = str(text).strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or len(raw) > 12:
        raise InputError(field, f"決裁番号は 1 以上の整数で指定してください（値: {raw!r}）")
    return int(raw)


def find_decision(session: Session, number: int, field: str = "ID") -> Decision:
    """The decision numbered ``number``, or InputError naming ``field``."""
    getter = getattr(decisions, "get_decision", None)
    found: Decision | None
    if getter is not None:
        try:
            found = getter(session, number)
        except (LookupError, NotFound):
            found = None
    else:
        found = Decision.get_or_none(Decision.id == number)
    if found is None:
        raise InputError(field, f"決裁 {number} は見つかりません")
    return found


def decision_context(session: Session, d: Decision) -> dict[str, Any]:
    """Everything the 決裁書 template prints, as plain values."""
    record = dict(decisions.decision_json(d))
    # the row's own columns where the JSON leaves one out
    for key, value in (
        ("decision_id", d.id),
        ("kind", d.kind),
        ("status", d.status),
        ("reason", d.reason),
        ("proposed_at", d.proposed_at),
        ("decided_at", d.decided_at),
        ("override_reason", d.override_reason),
    ):
        record.setdefault(key, value)
    claim = Claim.get_by_id(d.claim_id)
    principal = Obligor.get_or_none((Obligor.claim == claim.id) & (Obligor.obligor_no == 1))
    names = {s.login: s.name for s in Staff.select(Staff.login, Staff.name)}
    obligor = None
    if d.obligor_id is not None:
        ob = Obligor.get_by_id(d.obligor_id)
        obligor = {
            "no": ob.obligor_no,
            "name": ob.name,
            "role": ROLES.get(ob.role, ob.role),
            "birth_date": ob.birth_date,
            "address": ob.address,
        }
    staff = None
    if claim.staff_id is not None:
        staff = names.get(Staff.get_by_id(claim.staff_id).login)

    def person(login: str | None) -> str | None:
        if not login:
            return None
        name = names.get(login)
        return f"{name}（{login}）" if name and name != login else login

    checks = [
        {
            "name": k,
            "label": v.get("label") or k,
            "ok": bool(v.get("ok")),
            "detail": v.get("detail", ""),
        }
        for k, v in (record.get("checks") or {}).items()
    ]
    attested = [
        {
            "key": k,
            "label": v.get("label") or k,
            "answer": v.get("answer") or "",
            "note": v.get("note") or "",
        }
        for k, v in (record.get("attested") or {}).items()
    ]
    facts = {k: v for k, v in (record.get("data") or {}).items() if k != "attested"}
    computed = record.get("computed") or {}
    return {
        "decision": record,
        "kind_label": record.get("kind_label") or DECISION_KINDS.get(d.kind, d.kind),
        "status_label": record.get("status_label") or DECISION_STATUSES.get(d.status, d.status),
        "claim": {
            "claim_no": claim.claim_no,
            "status": CLAIM_STATUSES.get(claim.status, claim.status),
            "subrogation_date": claim.subrogation_date,
            "principal": claim.loan_principal + claim.loan_interest,
            "lender": claim.lender,
            "debtor": principal.name if principal is not None else "",
            "staff": staff,
        },
        "obligor": obligor,
        "facts": [figure(k, v) for k, v in facts.items()],
        "computed": [figure(k, v) for k, v in computed.items() if k not in facts],
        "checks": checks,
        "failing": [c for c in checks if not c["ok"]],
        "attested": attested,
        "proposer": person(d.proposer),
        "approver": person(d.approver),
        "printed_at": session.now(),
    }


# the computed figures as the 決裁書 names them (any other key prints as it is)
FIGURE_LABELS = {
    "paying_years": "支払年数",
    "longest_gap_days": "最長の入金間隔（日）",
    "total_paid": "支払総額",
    "average_monthly_12m": "直近12か月の月平均",
    "age": "年齢",
    "release_amount": "免除額",
    "balance": "残高",
    "payment": "一部弁済額",
    "liable_balance": "保証債務の残高",
    "amount": "金額",
    "date": "日付",
    "reasons": "理由",
}


YEN_KEYS = {
    "release_amount",
    "balance",
    "payment",
    "total_paid",
    "average_monthly_12m",
    "liable_balance",
    "amount",
    "maximum",
}


def figure(key: str, value: Any) -> dict[str, str]:
    """One fact or computed figure as a labelled line: yen with commas, reasons by name."""
    label = FIGURE_LABELS.get(key, key)
    if key in YEN_KEYS and isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}円"
    elif key == "age" and isinstance(value, int):
        text = f"{value}歳"
    elif key == "paying_years" and isinstance(value, int):
        text = f"{value}年"
    elif key == "reasons" and isinstance(value, list):
        names = getattr(decisions, "SUSPENSION_REASONS", {})
        text = "、".join(str(names.get(r, r)) for r in value)
    elif isinstance(value, bool):
        text = "はい" if value else "いいえ"
    elif value is None:
        text = "—"
    elif isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return {"key": key, "label": label, "value": text}


def decision_document(
    session: Session, d: Decision, settings: DocumentSettings | None = None
) -> Document:
    """The 決裁書 of ``d`` (HTML, Markdown, and PDF where a Japanese font is installed)."""
    return render(
        TEMPLATE,
        decision_context(session, d),
        settings or DocumentSettings.from_config(session.config),
    )
