"""Exports and the 債権台帳 (SPEC 4.16): claims, ledger and register as CSV or XLSX.

Every export is a ``Table``: typed columns and an iterator of rows, read in keyset pages
(``id > last``, a page at a time) so the register of scale L (400,000 rows) never sits in
memory. The writers stream too: CSV row by row, XLSX through XlsxWriter's constant_memory
mode, which flushes each row to its temporary file as the next one starts. Both write to a
hidden temporary file in the destination's folder and rename it into place, so a reader sees
the old file or the whole new one.

Formula injection: a text cell starting with =, +, - or @ would run as a formula when the
file is opened. CSV cells get a leading ' (OWASP's advice); XLSX text is always written with
``write_string``, which Excel never evaluates.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kyusho.errors import InputError
from kyusho.files import atomic_output
from kyusho.rules import ledger
from kyusho.rules.report_table import Report, display_width
from kyusho.services import projections
from kyusho.services.session import Session
from kyusho.vocab import (
    CLAIM_STATUSES,
    ENTRY_KINDS,
    EVENT_KINDS,
    RECEIPT_METHODS,
    ROLES,
)
from models.schema import (
    Claim,
    ClaimMunicipality,
    LedgerEntry,
    LimitationEvent,
    Obligor,
    Plan,
    Staff,
)

KINDS = ("claims", "ledger", "register")
FORMATS = ("csv", "xlsx")
PAGE = 2000  # rows per keyset page: one query per page, a bounded page in memory
WIDTH_SAMPLE = 500  # rows looked at to size the XLSX columns before streaming the rest
MAX_WIDTH = 60
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Excel's own formats for the display setting (display.dates): [$-411] is the Japanese
# locale, whose g/ggg/e are the era initial, the era name and the era year.
XLSX_DATE_FORMATS = {
    "iso": "yyyy-mm-dd",
    "wareki": '[$-411]ge"."m"."d',
    "wareki_long": '[$-411]ggge"年"m"月"d"日"',
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | int | date | bool


@dataclass
class Table:
    name: str  # the sheet name
    columns: list[Column]
    rows: Iterable[Sequence[Any]]
    total: int | None = None  # rows to come, for the progress line


# ---------------------------------------------------------------- cells


def csv_text(value: str) -> str:
    """A text cell Excel will not run as a formula: a leading ' where it would (OWASP)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "1" if value else "0"
    if kind == "date" or isinstance(value, date):
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "int" and isinstance(value, int):
        return str(value)
    return csv_text(str(value))


def _temporary(dest: Path, field: str) -> AbstractContextManager[Path]:
    """A hidden file next to ``dest`` that becomes ``dest`` only when the block succeeds."""
    return atomic_output(dest, field=field)


def _counting(table: Table, progress: Progress | None) -> Iterator[Sequence[Any]]:
    total = table.total or 0
    n = 0
    for row in table.rows:
        yield row
        n += 1
        if progress is not None and n % 1000 == 0:
            progress(table.name, n, max(total, n))
    if progress is not None:
        progress(table.name, n, max(total, n))


def write_csv(dest: Path, table: Table, *, field: str, progress: Progress | None = None) -> int:
    """UTF-8 with a BOM (Excel reads UTF-8 only then), CRLF, one header row; returns rows."""
    n = 0
    with _temporary(dest, field) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow([csv_text(c.header) for c in table.columns])
        kinds = [c.kind for c in table.columns]
        for row in _counting(table, progress):
            w.writerow([_csv_cell(v, k) for v, k in zip(row, kinds, strict=True)])
            n += 1
    return n


def _shown_width(value: Any, kind: str, date_width: int) -> int:
    if value is None:
        return 0
    if kind == "date":
        return date_width
    if kind == "int" and isinstance(value, int):
        return len(f"{value:,}")
    return display_width(str(value))


def write_xlsx(
    dest: Path,
    tables: Sequence[Table],
    *,
    field: str,
    date_style: str = "iso",
    progress: Progress | None = None,
) -> int:
    """One sheet per table: typed cells (int yen, real dates in ``date_style``), a header row,
    frozen panes and widths that fit Japanese text (full-width characters count two)."""
    import xlsxwriter

    date_format = XLSX_DATE_FORMATS.get(date_style, XLSX_DATE_FORMATS["iso"])
    date_width = {"iso": 10, "wareki": 9, "wareki_long": 16}.get(date_style, 10)
    n = 0
    with _temporary(dest, field) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "default_date_format": date_format,
            },
        )
        try:
            bold = book.add_format({"bold": True})
            yen = book.add_format({"num_format": "#,##0"})
            day = book.add_format({"num_format": date_format})
            for table in tables:
                sheet = book.add_worksheet(table.name[:31])
                kinds = [c.kind for c in table.columns]
                rows = _counting(table, progress)
                sample: list[Sequence[Any]] = []
                for row in rows:
                    sample.append(row)
                    if len(sample) >= WIDTH_SAMPLE:
                        break
                # constant_memory writes <cols> with the first row: size the columns first
                for i, col in enumerate(table.columns):
                    width = max(
                        [display_width(col.header)]
                        + [_shown_width(r[i], col.kind, date_width) for r in sample]
                    )
                    sheet.set_column(i, i, min(MAX_WIDTH, width + 2))
                sheet.freeze_panes(1, 0)
                for i, col in enumerate(table.columns):
                    sheet.write_string(0, i, col.header, bold)
                r = 0
                for row in _chain(sample, rows):
                    r += 1
                    for i, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                        if value is None:
                            continue
                        if kind == "int" and isinstance(value, int):
                            sheet.write_number(r, i, value, yen)
                        elif kind == "date" and isinstance(value, date):
                            when = (
                                value
                                if isinstance(value, datetime)
                                else datetime(value.year, value.month, value.day)
                            )
                            sheet.write_datetime(r, i, when, day)
                        elif kind == "bool":
                            sheet.write_boolean(r, i, bool(value))
                        else:
                            sheet.write_string(r, i, str(value))
                n += r
        finally:
            book.close()
    return n


def _chain(first: list[Sequence[Any]], rest: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield from first
    first.clear()  # the sample is not kept while the rest streams
    yield from rest


def write_table(
    dest: Path,
    fmt: str,
    tables: Sequence[Table],
    *,
    field: str,
    date_style: str = "iso",
    progress: Progress | None = None,
) -> int:
    if fmt == "csv":
        if len(tables) != 1:
            raise ValueError("CSV holds one table")
        return write_csv(dest, tables[0], field=field, progress=progress)
    if fmt == "xlsx":
        return write_xlsx(dest, tables, field=field, date_style=date_style, progress=progress)
    raise InputError("--format", "csv か xlsx を指定してください")


# ---------------------------------------------------------------- keyset pages


def _pages(query_for: Callable[[int], Any]) -> Iterator[list[Any]]:
    """Pages of rows with ids above the previous page's last id (no OFFSET: each page is one
    index range, however deep into the table)."""
    last = 0
    while True:
        page = list(query_for(last))
        if not page:
            return
        yield page
        last = page[-1].id


def _claim_pages() -> Iterator[list[Claim]]:
    return _pages(lambda last: Claim.select().where(Claim.id > last).order_by(Claim.id).limit(PAGE))


def _staff_names() -> dict[int, str]:
    return {s.id: s.name for s in Staff.select(Staff.id, Staff.name)}


def _obligors_of(ids: list[int]) -> dict[int, list[Obligor]]:
    out: dict[int, list[Obligor]] = {i: [] for i in ids}
    for o in (
        Obligor.select().where(Obligor.claim.in_(ids)).order_by(Obligor.claim, Obligor.obligor_no)
    ):
        out[o.claim_id].append(o)
    return out


def _munis_of(ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    for m in (
        ClaimMunicipality.select()
        .where(ClaimMunicipality.claim.in_(ids))
        .order_by(ClaimMunicipality.id)
    ):
        out[m.claim_id].append(m.name)
    return out


def _plans_of(ids: list[int]) -> dict[int, list[Plan]]:
    out: dict[int, list[Plan]] = {i: [] for i in ids}
    for p in Plan.select().where(Plan.claim.in_(ids) & (Plan.status == "active")):
        out[p.claim_id].append(p)
    return out


@dataclass
class _AsOf:
    """One claim as it stood at the end of the export date."""

    balance: ledger.Balance
    last_receipt_on: date | None
    clocks: dict[int, tuple[date | None, str | None, str | None]]  # obligor_no → on, state, basis


def _as_of(session: Session, claim: Claim, obligors: list[Obligor], on: date) -> _AsOf:
    """The stored projections when they hold for ``on`` (nothing dated later, not a past day);
    else the claim recomputed from its entries and events up to ``on``."""
    if on >= session.today() and on >= claim.last_entry_on:
        return _AsOf(
            projections.balance_from_projection(claim, max(on, claim.subrogation_date)),
            claim.last_receipt_on,
            {
                o.obligor_no: (
                    o.completes_on,
                    projections.effective_state(o.lim_state, o.completes_on, on),
                    o.lim_basis,
                )
                for o in obligors
            },
        )
    entries = [e for e in projections.entries_of(claim.id) if e.date <= on]
    events = [
        e for e in LimitationEvent.select().where(LimitationEvent.claim == claim.id) if e.date <= on
    ]
    result = ledger.compute(
        projections.terms_of(claim),
        [projections.as_engine_entry(e) for e in entries],
        max(on, claim.subrogation_date),
    )
    receipts = [e for e in entries if e.kind == "receipt" and not e.cancelled]
    clocks = projections.clocks_for(
        claim, obligors, on, entries=[e for e in entries if e.kind == "receipt"], events=events
    )
    return _AsOf(
        result.balance,
        max((e.date for e in receipts), default=None),
        {no: (c.completes_on, c.state, c.basis) for no, c in clocks.items()},
    )


def _nearest(obligors: list[Obligor], at: _AsOf) -> date | None:
    days = [
        at.clocks[o.obligor_no][0]
        for o in obligors
        if o.liable and o.obligor_no in at.clocks and at.clocks[o.obligor_no][0] is not None
    ]
    return min(days) if days else None  # type: ignore[type-var]


def _percent(text: str | None) -> str | None:
    return None if text is None else str(text)


CLAIM_COLUMNS = [
    Column("求償権番号"),
    Column("状態"),
    Column("代位弁済日", "date"),
    Column("代位弁済元金", "int"),
    Column("代位弁済利息", "int"),
    Column("求償元金", "int"),
    Column("損害金率（%）"),
    Column("充当順序"),
    Column("委託契約日", "date"),
    Column("金融機関"),
    Column("制度"),
    Column("担当"),
    Column("主債務者"),
    Column("元金残高", "int"),
    Column("損害金", "int"),
    Column("費用", "int"),
    Column("残高計", "int"),
    Column("最終入金日", "date"),
    Column("直近の時効完成日", "date"),
    Column("保険種類"),
    Column("てん補率（%）"),
    Column("保険金", "int"),
    Column("保険金受領日", "date"),
]


def claims_table(session: Session, on: date | None = None) -> Table:
    """One row per claim: its fields, status, balance and nearest completion on ``on``."""
    on = on or session.view_date()
    names = _staff_names()

    def rows() -> Iterator[list[Any]]:
        for page in _claim_pages():
            obligors = _obligors_of([c.id for c in page])
            for c in page:
                obs = obligors[c.id]
                at = _as_of(session, c, obs, on)
                b = at.balance
                debtor = next((o.name for o in obs if o.obligor_no == 1), c.debtor_name)
                yield [
                    c.claim_no,
                    CLAIM_STATUSES.get(c.status, c.status),
                    c.subrogation_date,
                    c.loan_principal,
                    c.loan_interest,
                    c.loan_principal + c.loan_interest,
                    c.damages_rate,
                    c.allocation_order,
                    c.contract_date,
                    c.lender,
                    c.programme,
                    names.get(c.staff_id, "") if c.staff_id else "",
                    debtor,
                    b.principal,
                    b.damages,
                    b.costs,
                    b.total,
                    at.last_receipt_on,
                    _nearest(obs, at),
                    c.insurance_type,
                    _percent(c.cover_ratio),
                    c.insurance_paid,
                    c.insurance_paid_on,
                ]

    return Table("求償権", CLAIM_COLUMNS, rows(), Claim.select().count())


LEDGER_COLUMNS = [
    Column("求償権番号"),
    Column("日付", "date"),
    Column("種類"),
    Column("金額", "int"),
    Column("支払者番号", "int"),
    Column("支払者"),
    Column("入金方法"),
    Column("サービサー", "bool"),
    Column("費用充当", "int"),
    Column("損害金充当", "int"),
    Column("元金充当", "int"),
    Column("取消", "bool"),
    Column("元金残高", "int"),
]


def ledger_table(session: Session, on: date | None = None) -> Table:
    """One row per entry dated by ``on``, claim by claim in the ledger's order, with the
    principal left after each (cancelled entries are listed and change nothing)."""
    on = on or session.view_date()

    def rows() -> Iterator[list[Any]]:
        for page in _claim_pages():
            ids = [c.id for c in page]
            payers: dict[int, tuple[int | None, str]] = {
                o.id: (o.obligor_no, o.name) for obs in _obligors_of(ids).values() for o in obs
            }
            by_claim: dict[int, list[LedgerEntry]] = {i: [] for i in ids}
            for e in (
                LedgerEntry.select()
                .where(LedgerEntry.claim.in_(ids) & (LedgerEntry.date <= on))
                .order_by(LedgerEntry.claim, LedgerEntry.date, LedgerEntry.id)
            ):
                by_claim[e.claim_id].append(e)
            for c in page:
                principal = c.loan_principal + c.loan_interest
                for e in by_claim[c.id]:
                    if not e.cancelled:
                        principal -= e.alloc_principal
                    no, name = payers.get(e.payer_id, (None, "")) if e.payer_id else (None, "")
                    yield [
                        c.claim_no,
                        e.date,
                        ENTRY_KINDS.get(e.kind, e.kind),
                        e.amount,
                        no,
                        name,
                        RECEIPT_METHODS.get(e.method, e.method) if e.method else None,
                        e.servicer,
                        e.alloc_costs,
                        e.alloc_damages,
                        e.alloc_principal,
                        e.cancelled,
                        principal,
                    ]

    total = LedgerEntry.select().where(LedgerEntry.date <= on).count()
    return Table("入金・費用", LEDGER_COLUMNS, rows(), total)


REGISTER_COLUMNS = [
    Column("求償権番号"),
    Column("関係人番号", "int"),
    Column("関係人"),
    Column("区分"),
    Column("住所"),
    Column("代位弁済日", "date"),
    Column("求償元金", "int"),
    Column("元金残高", "int"),
    Column("残高計", "int"),
    Column("最終入金日", "date"),
    Column("時効完成日", "date"),
    Column("時効の根拠"),
    Column("分割弁済（月額）", "int"),
    Column("状態"),
    Column("担当"),
    Column("市町村"),
    Column("保険種類"),
    Column("てん補率（%）"),
    Column("保険金", "int"),
    Column("保険金受領日", "date"),
]


def register_table(session: Session, on: date | None = None) -> Table:
    """債権台帳: one row per claim and obligor, as of ``on``."""
    on = on or session.view_date()
    names = _staff_names()

    def rows() -> Iterator[list[Any]]:
        for page in _claim_pages():
            ids = [c.id for c in page]
            obligors, munis, plans = _obligors_of(ids), _munis_of(ids), _plans_of(ids)
            for c in page:
                obs = obligors[c.id]
                at = _as_of(session, c, obs, on)
                staff = names.get(c.staff_id, "") if c.staff_id else ""
                towns = "、".join(munis[c.id])
                for o in obs:
                    completes, _state, basis = at.clocks.get(o.obligor_no, (None, None, None))
                    monthly = sum(p.monthly_amount for p in plans[c.id] if p.obligor_id == o.id)
                    yield [
                        c.claim_no,
                        o.obligor_no,
                        o.name,
                        ROLES.get(o.role, o.role),
                        o.address,
                        c.subrogation_date,
                        c.loan_principal + c.loan_interest,
                        at.balance.principal,
                        at.balance.total,
                        at.last_receipt_on,
                        completes,
                        EVENT_KINDS.get(basis, basis) if basis else None,
                        monthly or None,
                        CLAIM_STATUSES.get(c.status, c.status),
                        staff,
                        towns,
                        c.insurance_type,
                        _percent(c.cover_ratio),
                        c.insurance_paid,
                        c.insurance_paid_on,
                    ]

    return Table("債権台帳", REGISTER_COLUMNS, rows(), Obligor.select().count())


TABLES: dict[str, Callable[[Session, date | None], Table]] = {
    "claims": claims_table,
    "ledger": ledger_table,
    "register": register_table,
}


def export(
    session: Session,
    kind: str,
    fmt: str,
    dest: Path,
    *,
    on: date | None = None,
    field: str = "F",
    progress: Progress | None = None,
) -> int:
    """Write one export to ``dest`` (already checked by kyusho.files.output_path); returns
    the number of rows written."""
    if kind not in TABLES:
        raise InputError("種類", "claims, ledger, register のいずれかを指定してください")
    if fmt not in FORMATS:
        raise InputError("--format", "csv か xlsx を指定してください")
    table = TABLES[kind](session, on)
    return write_table(
        dest, fmt, [table], field=field, date_style=session.config.dates, progress=progress
    )


# ---------------------------------------------------------------- the 年度 report


def report_tables(report: Report) -> list[Table]:
    """The 年度 report as sheets: the business-plan table, months, staff, remittances,
    overrides (amounts in yen, the plan in 百万円 as configured)."""
    items = Table(
        "業務実績",
        [
            Column("項目"),
            Column("件数", "int"),
            Column("前年度件数", "int"),
            Column("件数前年度比（%）"),
            Column("金額", "int"),
            Column("前年度金額", "int"),
            Column("金額前年度比（%）"),
            Column("計画（百万円）", "int"),
            Column("計画比（%）"),
        ],
        [
            [
                it.label,
                it.now.count,
                it.previous.count,
                it.count_ratio,
                it.now.amount,
                it.previous.amount,
                it.amount_ratio,
                it.plan_millions,
                it.plan_ratio,
            ]
            for it in report.items
        ],
    )
    months = Table(
        "月別回収",
        [Column("月", "date"), Column("回収額", "int"), Column("前年同月", "int")],
        [[d, a, p] for d, a, p in report.months],
    )
    staff = Table(
        "担当者別回収",
        [Column("担当"), Column("件数", "int"), Column("回収額", "int")],
        [[s.name or "（担当なし）", s.claims, s.amount] for s in report.staff],
    )
    remit = Table(
        "公庫納付",
        [Column("半期"), Column("納付額", "int")],
        [[label, total] for label, total in report.remittance_halves],
    )
    overrides = Table(
        "オーバーライド承認",
        [
            Column("決裁日", "date"),
            Column("決裁番号", "int"),
            Column("求償権番号"),
            Column("種類"),
            Column("承認者"),
            Column("理由"),
        ],
        [
            [o.decided_on, o.decision_id, o.claim_no, o.kind_label, o.approver, o.reason]
            for o in report.overrides
        ],
    )
    return [items, months, staff, remit, overrides]


def write_report_xlsx(report: Report, dest: Path, *, field: str, date_style: str) -> int:
    return write_xlsx(dest, report_tables(report), field=field, date_style=date_style)


def typed_table(name: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A small table (header, rows) with each column typed by its values: int yen, dates,
    text (bool is not an int here)."""

    def kind(i: int) -> str:
        seen = [r[i] for r in rows if r[i] is not None and r[i] != ""]
        if seen and all(isinstance(v, int) and not isinstance(v, bool) for v in seen):
            return "int"
        if seen and all(isinstance(v, date) for v in seen):
            return "date"
        return "text"

    return Table(name, [Column(h, kind(i)) for i, h in enumerate(header)], rows)


def write_remittance(
    session: Session,
    fiscal_year: int,
    half: int | None,
    fmt: str,
    dest: Path,
    *,
    field: str,
) -> int:
    """The 公庫 remittance ledger (SPEC 4.13) as CSV or XLSX; returns the rows written."""
    from kyusho.services import remittance

    header, rows = remittance.ledger(session, fiscal_year, half).table()
    table = typed_table(f"公庫納付 FY{fiscal_year}", header, rows)
    return write_table(dest, fmt, [table], field=field, date_style=session.config.dates)
