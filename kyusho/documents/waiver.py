"""The context of the 求償権放棄 record (waiver_record.*.j2): the walk-through of each
municipality (every item with its finding, evidence, status, who and when), its steps and the
application, as plain values a template prints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

STATUS_LABELS = {"enacted": "制定済", "not_required": "対応不要", "not_enacted": "未制定"}


def _value(v: Any) -> Any:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "あり" if v else "なし"
    if isinstance(v, int):
        return f"{v:,}円"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def record_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """``services.waiver.waiver_record_context`` as the template's plain values."""
    case, claim = ctx["case"], ctx["claim"]
    munis = []
    for m in ctx["municipalities"]:
        r = m["resolution"]
        answered, total = m["progress"]
        munis.append(
            {
                "name": m["name"],
                "status": STATUS_LABELS.get(r.status, r.status),
                "assembly": "必要" if r.assembly_resolution_needed else "不要",
                "notes": list(r.notes),
                "progress": f"{answered}/{total}",
                "steps": [
                    {
                        "label": s.label,
                        "on": _value(s.on),
                        "by": s.recorded_by,
                        "at": _value(s.recorded_at),
                    }
                    for s in m["history"]
                ],
                "checklist": [
                    {
                        "section": i.section,
                        "text": i.text,
                        "importance": i.importance,
                        "status": i.status or "未回答",
                        "finding": i.finding or "—",
                        "evidence": i.evidence or "—",
                        "by": i.answered_by or "—",
                        "at": _value(i.answered_at) if i.answered_at else "—",
                    }
                    for i in m["walkthrough"].items
                ],
                "fields": [
                    {"label": f["label"], "value": _value(f["value"])}
                    for f in m["application"]["fields"]
                ],
                "attachments": [
                    {
                        "label": a["label"],
                        "reference": a["reference"] or "—",
                        "ready": "済" if a["ready"] else "未",
                    }
                    for a in m["application"]["attachments"]
                ],
                "zero_zero": m["application"]["zero_zero"],
            }
        )
    return {
        "case_id": case.id,
        "claim_no": claim.claim_no,
        "debtor": claim.debtor_name or "—",
        "kind_label": ctx["kind_label"],
        "scheme_label": ctx["scheme_label"],
        "planned_date": _value(case.planned_date),
        "printed_at": _value(ctx["printed_at"]),
        "printed_by": ctx["printed_by"],
        "municipalities": munis,
    }
