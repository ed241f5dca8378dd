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
from kyusho.rules.gl import CHECK_LABELS, living_cost_table
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
    if d.kind == "gl_release":  # in the order of the calculation, not alphabetical
        order = list(CHECK_LABELS)
        checks.sort(key=lambda c: order.index(c["name"]) if c["name"] in order else len(order))
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
    gl = gl_context(facts, computed) if d.kind == "gl_release" else None
    if gl is not None:  # printed as the inventory and the calculation instead
        facts = {k: v for k, v in facts.items() if k not in GL_FACT_KEYS}
        computed = {}
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
        "gl": gl,
        "attested": attested,
        "proposer": person(d.proposer),
        "approver": person(d.approver),
        "printed_at": session.now(),
    }


# the GL inputs the document shows in their own section, not among the plain facts
GL_FACT_KEYS = (decisions.GL_FIELDS - {"attested"}) | {"payment", "release_amount"}


def _yen(value: Any) -> str:
    return f"{value:,}円" if isinstance(value, int) and not isinstance(value, bool) else "—"


def gl_context(facts: dict[str, Any], computed: dict[str, Any]) -> dict[str, Any]:
    """The GL settlement as a manager checks it on paper (SPEC 4.11): the frozen inventory
    line by line, then each figure with how it was reached."""
    assets = [
        {
            "no": i,
            "kind": a.get("kind", ""),
            "description": a.get("description", ""),
            "value": _yen(a.get("value")),
            "exempt": "○" if a.get("exempt") else "",
            "home": "○" if a.get("home") else "",
            "keep": "○" if a.get("keep") else "",
        }
        for i, a in enumerate(facts.get("assets") or [], 1)
    ]
    c = computed
    table = living_cost_table()
    monthly = table.monthly_yen
    age = f"{c.get('age')}歳（基準時 {facts.get('reference_date', '—')}、{c.get('band', '—')}"
    age += f" {c.get('living_days')}日）"
    steps = [
        ("資産合計", "財産目録の評価額の合計", c.get("assets_total")),
        (
            "自由財産の現金",
            f"現金（預金を除く）のうち {_yen(table.free_property_cash_yen)} まで",
            c.get("free_cash"),
        ),
        ("差押禁止財産", "差押禁止の資産の合計", c.get("exempt_total")),
        ("自由財産", "自由財産の現金 ＋ 差押禁止財産", c.get("free_property")),
        (
            "生計費の上限",
            f"{monthly:,}円 × {c.get('living_days')}日 ÷ 30",
            c.get("living_cap"),
        ),
        ("生計費（申出）", "現金・預金から残す額", facts.get("living_requested")),
        (
            "現金・預金（自由財産の現金を除く）",
            "残したい・差押禁止以外の現金・預金 − 自由財産の現金",
            c.get("liquid_available"),
        ),
        ("残したい資産", "「残したい」資産の合計（自宅を含む）", c.get("kept_total")),
        ("インセンティブ資産", "生計費 ＋ 残したい資産", c.get("incentive")),
        ("回収見込額の増加額", "支援専門家の報告による（協会分）", facts.get("recovery_increase")),
        ("残存資産", "自由財産 ＋ インセンティブ資産", c.get("retained")),
        ("弁済額", "資産合計 − 残存資産", c.get("payment")),
        ("破産配当見込額", "協会分", facts.get("bankruptcy_dividend")),
        ("保証債務の残高", "起案日にこの保証人が負う残高", c.get("liability")),
        ("免除額", "保証債務の残高 − 弁済額", c.get("release")),
    ]
    expert = facts.get("expert") or {}
    return {
        "gl_type": facts.get("gl_type", "—"),
        "reference_date": facts.get("reference_date", "—"),
        "expert": f"{expert.get('name', '—')}（{expert.get('qualification', '—')}）",
        "age": age,
        "policy_default_used": bool(c.get("policy_default_used")),
        "assets": assets,
        "assets_total": _yen(c.get("assets_total")),
        "steps": [{"label": a, "how": b, "amount": _yen(v)} for a, b, v in steps],
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
