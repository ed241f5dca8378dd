"""The 年度 report's items, ratios and printed forms (SPEC 4.14); pure, no database.

The services add the figures up (kyusho.services.reports); this module knows what the items
are, how 前年度比 and 計画比 are taken, and how the table is laid out as the 協会's
business-plan tables are (項目, 件数, 前年度比, 金額, 前年度比, 計画, 計画比).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kyusho.rules.dates import fiscal_year_label, format_date, format_month
from kyusho.rules.money import millions_half_up, ratio_percent
from kyusho.vocab import DECISION_KINDS

# (key, label); the key is also the [plan.FYnnnn] key where a plan applies
ITEMS: tuple[tuple[str, str], ...] = (
    ("subrogation", "代位弁済"),
    ("recovery", "回収"),
    ("servicer_recovery", "うちサービサー回収"),
    ("recovery_after_write_off", "うち償却後回収"),
    ("suspension", "管理事務停止"),
    ("write_off", "求償権整理"),
    ("partial_release", "一部弁済免除"),
    ("gl_release", "経営者保証GL免除"),
    ("waiver", "求償権放棄"),
    ("outstanding", "期末求償権残高"),
)
NO_PLAN = {"recovery_after_write_off", "servicer_recovery"}
HALF_LABELS = {1: "上期", 2: "下期"}


@dataclass(frozen=True)
class Figure:
    count: int
    amount: int


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    now: Figure
    previous: Figure
    plan_millions: int | None = None

    @property
    def count_ratio(self) -> str | None:
        return ratio_percent(self.now.count, self.previous.count)

    @property
    def amount_ratio(self) -> str | None:
        return ratio_percent(self.now.amount, self.previous.amount)

    @property
    def plan_ratio(self) -> str | None:
        if self.plan_millions is None:
            return None
        return ratio_percent(self.now.amount, self.plan_millions * 1_000_000)


@dataclass(frozen=True)
class StaffLine:
    login: str
    name: str
    claims: int
    amount: int


@dataclass(frozen=True)
class Completion:
    claim_no: str
    obligor_no: int
    name: str
    completes_on: date


@dataclass(frozen=True)
class Override:
    """An approval given although a check failed or an item was unanswered (SPEC 4.8)."""

    decision_id: int
    claim_no: str
    kind: str
    approver: str  # the approver's name (login when the name is unknown)
    decided_on: date
    reason: str

    @property
    def kind_label(self) -> str:
        return DECISION_KINDS.get(self.kind, self.kind)


@dataclass
class Report:
    start: date
    end: date
    fy: int | None
    items: list[Item]
    # (first day of the month, amount, amount a year earlier), in order
    months: list[tuple[date, int, int]] = field(default_factory=list)
    staff: list[StaffLine] = field(default_factory=list)
    completions: int = 0
    completion_list: list[Completion] = field(default_factory=list)
    # approvals with an override in the period, in date order (all of them: there are few)
    overrides: list[Override] = field(default_factory=list)
    # the 公庫 remittances of the FY by half year (1 上期, 2 下期) → total; empty for a range
    remittances: dict[int, int] = field(default_factory=dict)

    @property
    def remittance_halves(self) -> list[tuple[str, int]]:
        """(上期/下期, total) in order, and 計 when there are any."""
        rows = [(HALF_LABELS.get(h, str(h)), t) for h, t in sorted(self.remittances.items())]
        return rows + ([("計", sum(self.remittances.values()))] if rows else [])

    @property
    def override_counts(self) -> list[tuple[str, str, int]]:
        """(kind, label, count) of the period's overrides, in the order of DECISION_KINDS."""
        counts: dict[str, int] = {}
        for o in self.overrides:
            counts[o.kind] = counts.get(o.kind, 0) + 1
        order = [k for k in DECISION_KINDS if k in counts] + sorted(
            k for k in counts if k not in DECISION_KINDS
        )
        return [(k, DECISION_KINDS.get(k, k), counts[k]) for k in order]

    @property
    def title(self) -> str:
        if self.fy is not None:
            return f"{fiscal_year_label(self.fy)}（FY{self.fy}）業務実績"
        return f"{self.start.isoformat()}〜{self.end.isoformat()} 業務実績"

    def item(self, key: str) -> Item:
        return next(i for i in self.items if i.key == key)


def build_items(
    now: dict[str, Figure], previous: dict[str, Figure], plan: dict[str, int] | None
) -> list[Item]:
    """The report's rows in SPEC order, with the plan (百万円) where one is configured."""
    plan = plan or {}
    return [
        Item(
            key,
            label,
            now.get(key, Figure(0, 0)),
            previous.get(key, Figure(0, 0)),
            None if key in NO_PLAN else plan.get(key),
        )
        for key, label in ITEMS
    ]


def display_width(text: str) -> int:
    """Terminal cells: full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _dash(value: str | None) -> str:
    return "—" if value is None else value


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, with … where it was cut (one line of the report)."""
    text = " ".join(text.split())
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int, right: bool = True) -> str:
    gap = max(0, width - display_width(text))
    return " " * gap + text if right else text + " " * gap


# (header, width in cells, right-aligned): 80 columns at most with the spaces between
TABLE_COLUMNS = (
    ("項目", 18, False),
    ("件数", 8, True),
    ("前年度比", 9, True),
    ("金額", 8, True),
    ("前年度比", 9, True),
    ("計画", 6, True),
    ("計画比", 8, True),
)


def table_lines(report: Report) -> list[str]:
    """The business-plan table, fitting 80 columns; 金額 and 計画 in 百万円 (half up)."""
    header = " ".join(_pad(n, w, r) for n, w, r in TABLE_COLUMNS)
    lines = [report.title + "（金額: 百万円）", header]
    for it in report.items:
        cells = (
            it.label,
            f"{it.now.count:,}",
            _dash(it.count_ratio),
            f"{millions_half_up(it.now.amount):,}",
            _dash(it.amount_ratio),
            "—" if it.plan_millions is None else f"{it.plan_millions:,}",
            _dash(it.plan_ratio),
        )
        lines.append(
            " ".join(_pad(c, w, r) for c, (_, w, r) in zip(cells, TABLE_COLUMNS, strict=True))
        )
    return lines


def month_bars(report: Report, width: int = 40, style: str = "iso") -> list[str]:
    """Receipts by month as a bar chart in characters (the widest month fills ``width``).

    Months are labelled in the date ``style`` (display.dates), padded so the bars line up.
    """
    top = max((m[1] for m in report.months), default=0)
    labels = [format_month(first, style) for first, _a, _p in report.months]
    label_w = max((display_width(label) for label in labels), default=0)
    lines = []
    for label, (_first, amount, _previous) in zip(labels, report.months, strict=True):
        n = 0 if top == 0 else (amount * width + top - 1) // top
        amount_text = _pad(f"{millions_half_up(amount):,}", 6)
        lines.append(f"{_pad(label, label_w, False)} {amount_text} {'█' * n}")
    return lines


def text_lines(report: Report, style: str = "iso") -> list[str]:
    """The whole report as plain text; dates in ``style`` (the CLI prints ISO, the TUI follows
    display.dates)."""
    lines = table_lines(report)
    lines += ["", "月別回収（百万円）"] + month_bars(report, style=style)
    lines += ["", "担当者別回収"]
    for s in report.staff:
        name = s.name or "（担当なし）"
        lines.append(
            f"{_pad(name, 16, False)} {_pad(f'{s.claims:,}件', 10)} {_pad(f'{s.amount:,}円', 20)}"
        )
    lines += ["", f"年度内の時効完成: {report.completions:,} 件"]
    for c in report.completion_list:
        on = format_date(c.completes_on, style)
        lines.append(f"  {on} {c.claim_no} 関係人{c.obligor_no} {c.name}")
    if report.fy is not None:
        lines += ["", "公庫納付（回収金納付）"]
        if not report.remittances:
            lines.append("  なし")
        for label, total in report.remittance_halves:
            lines.append(f"  {_pad(label, 4, False)} {_pad(f'{total:,}円', 16)}")
    lines += ["", f"オーバーライドによる承認: {len(report.overrides):,} 件"]
    if report.overrides:
        lines.append(
            "  " + "、".join(f"{label} {n:,}件" for _k, label, n in report.override_counts)
        )
    for o in report.overrides:
        head = (
            f"{format_date(o.decided_on, style)} 決裁{o.decision_id} {o.claim_no}"
            f" {o.kind_label} 承認 {o.approver}"
        )
        lines.append("  " + _clip(head, 78))
        lines.append("    " + _clip(f"理由: {o.reason}", 76))
    return lines


def report_json(report: Report) -> dict[str, Any]:
    return {
        "fy": report.fy,
        "title": report.title,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "items": [
            {
                "key": it.key,
                "label": it.label,
                "count": it.now.count,
                "amount": it.now.amount,
                "amount_millions": millions_half_up(it.now.amount),
                "previous": {"count": it.previous.count, "amount": it.previous.amount},
                "count_ratio": it.count_ratio,
                "amount_ratio": it.amount_ratio,
                "plan_millions": it.plan_millions,
                "plan_ratio": it.plan_ratio,
            }
            for it in report.items
        ],
        "by_month": [
            {"month": f"{d.year}-{d.month:02d}", "amount": a, "previous": p}
            for d, a, p in report.months
        ],
        "by_staff": [
            {"login": s.login, "name": s.name, "claims": s.claims, "amount": s.amount}
            for s in report.staff
        ],
        "limitation_completions": {
            "count": report.completions,
            "obligors": [
                {
                    "claim_no": c.claim_no,
                    "obligor_id": c.obligor_no,
                    "name": c.name,
                    "completes_on": c.completes_on.isoformat(),
                }
                for c in report.completion_list
            ],
        },
        "remittances": {
            "halves": [{"half": h, "total": t} for h, t in sorted(report.remittances.items())],
            "total": sum(report.remittances.values()),
        },
        "overrides": {
            "count": len(report.overrides),
            "by_kind": {k: n for k, _label, n in report.override_counts},
            "decisions": [
                {
                    "decision_id": o.decision_id,
                    "claim_no": o.claim_no,
                    "kind": o.kind,
                    "kind_label": o.kind_label,
                    "approver": o.approver,
                    "decided_on": o.decided_on.isoformat(),
                    "reason": o.reason,
                }
                for o in report.overrides
            ],
        },
    }


def report_csv(report: Report) -> str:
    """The business-plan table as CSV (UTF-8; amounts in yen, plan in 百万円)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(
        [
            "項目",
            "件数",
            "前年度件数",
            "件数前年度比",
            "金額",
            "前年度金額",
            "金額前年度比",
            "計画（百万円）",
            "計画比",
        ]
    )
    for it in report.items:
        w.writerow(
            [
                it.label,
                it.now.count,
                it.previous.count,
                it.count_ratio or "",
                it.now.amount,
                it.previous.amount,
                it.amount_ratio or "",
                "" if it.plan_millions is None else it.plan_millions,
                it.plan_ratio or "",
            ]
        )
    return out.getvalue()
