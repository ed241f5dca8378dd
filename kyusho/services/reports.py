"""The 年度 report (SPEC 4.14): figures added up from the database.

``fy_report`` reads the per-claim 年度 rows (ClaimYear, a projection of the ledger kept with
the allocations), so a year is one contiguous range of a clustered table and the report
takes well under the two seconds of SPEC 6.3 at 200,000 claims. ``range_report`` serves any
other period straight from the ledger; it is slower at scale, and the tests hold the two to
the same figures for every fiscal year of the demo.

Readings of SPEC 4.14 taken here:
- 代位弁済 金額 is the claim principal at subrogation (代位弁済元金 + 利息).
- 回収 counts every live receipt in the period, all buckets; うち償却後回収 the receipts
  posted after the claim's write-off.
- 期末求償権残高 counts claims subrogated by the period's end, not written off or waived by
  then, with principal outstanding at the end (a claim whose principal is paid is not counted).
- 求償権整理 is every claim whose write-off date falls in the period (approved write-offs and
  imported ones alike), with the amount written off.
- うちサービサー回収 is the live receipts in the period recorded as through a servicer
  (LedgerEntry.servicer), whatever their method.
- 管理事務停止 is every claim that became suspended in the period: approved suspension
  decisions by their date, and claims suspended without one (imported, or set by the demo)
  by their status date (Claim.status_since), with the balance on that date.
- 一部弁済免除, 経営者保証GL免除 and 求償権放棄 come from approved decisions dated in the
  period.
- 公庫 remittances (FY reports only) are the totals per half year of the remittance ledger
  (kyusho.services.remittance, SPEC 4.13).
- Recovery by staff is by the claim's current 担当.
- Approvals with an override are every approved decision, of any kind, with an override
  reason and decided in the period, listed with the approver (by name) and the reason.
- Limitation completions are obligors still liable whose clock completed in the period (up to
  today) without a later renewal: the report lists them because there should be none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, cast

from kyusho.errors import InputError
from kyusho.rules import ledger
from kyusho.rules.dates import fiscal_year_range
from kyusho.rules.report_table import (
    Completion,
    Figure,
    Override,
    Report,
    StaffLine,
    build_items,
)
from kyusho.services import projections
from kyusho.services.session import Session
from models.schema import MONTH_COLUMNS, Claim, Decision, Obligor, Staff

COMPLETION_LIST_LIMIT = 100
DECISION_ITEMS = ("suspension", "partial_release", "gl_release", "waiver")
FIRST_FY, LAST_FY = 1950, 2200


def _check_fy(fy: Any) -> int:
    if isinstance(fy, bool) or not isinstance(fy, int) or not FIRST_FY <= fy <= LAST_FY:
        raise InputError("年度", f"{FIRST_FY}〜{LAST_FY} の西暦年度を指定してください（例: 2025）")
    return fy


def _year_back(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # February 29
        return d.replace(year=d.year - 1, day=28)


def _excluded_at(alias: str = "c") -> str:
    """SQL: the claim was written off or waived by :end (it is no longer a 求償権 then)."""
    return (
        f"(({alias}.written_off_on IS NOT NULL AND {alias}.written_off_on <= :end)"
        f" OR ({alias}.status = 'waived' AND"
        f" ({alias}.status_since IS NULL OR {alias}.status_since <= :end)))"
    )


def _sql(session: Session, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a report query; ``:name`` parameters (SQLite's style) become psycopg's on
    PostgreSQL."""
    if session.db_url is not None:
        sql = re.sub(r"(?<![:\w]):([a-z_]\w*)", r"%(\1)s", sql)
        sql = re.sub(r"(?<=[\s(])\+(?=[a-z_]+\.)", "", sql)  # SQLite's index hint
    cursor = session.db.cursor()
    cursor.execute(
        sql, {k: (v.isoformat() if isinstance(v, date) else v) for k, v in params.items()}
    )
    return cursor.fetchall()


def _one(session: Session, sql: str, params: dict[str, Any]) -> tuple[int, int]:
    count, amount = _sql(session, sql, params)[0]
    return int(count or 0), int(amount or 0)


# ---------------------------------------------------------------- shared items


def _subrogation(session: Session, start: date, end: date) -> Figure:
    return Figure(
        *_one(
            session,
            "SELECT COUNT(*), SUM(loan_principal + loan_interest) FROM claim"
            " WHERE subrogation_date BETWEEN :start AND :end",
            {"start": start, "end": end},
        )
    )


def _write_offs(session: Session, start: date, end: date) -> Figure:
    return Figure(
        *_one(
            session,
            "SELECT COUNT(*), SUM(COALESCE(written_off_amount, 0)) FROM claim"
            " WHERE written_off_on BETWEEN :start AND :end",
            {"start": start, "end": end},
        )
    )


def _decided_on(d: Decision, effect: dict[str, Any]) -> date:
    for key in ("on", "released_on"):
        if isinstance(effect.get(key), str):
            return date.fromisoformat(effect[key])
    at = d.decided_at
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if isinstance(at, datetime):
        return at.date()
    if isinstance(at, date):
        return at
    raise ValueError(f"決裁 {d.id} に決裁日がありません")


def _balance_at(claim: Claim, on: date) -> int:
    rows = projections.entries_of(claim.id)
    engine = [projections.as_engine_entry(r) for r in rows]
    return ledger.compute(projections.terms_of(claim), engine, on).balance.total


def _decision_amount(d: Decision, effect: dict[str, Any], on: date) -> int:
    data = json.loads(d.data or "{}")
    if d.kind == "suspension":
        if isinstance(effect.get("balance"), int):
            return effect["balance"]
        return _balance_at(d.claim, on)  # decided before the effect recorded it
    if d.kind in ("partial_release", "gl_release"):
        return int(effect.get("release_amount", data.get("release_amount", 0)))
    return int(effect.get("amount", data.get("amount", 0)))  # waiver


def _servicer(session: Session, start: date, end: date) -> Figure:
    return Figure(
        *_one(
            session,
            "SELECT COUNT(DISTINCT claim_id), SUM(amount) FROM ledger_entry e"
            " WHERE e.kind = 'receipt' AND e.cancelled = FALSE AND e.servicer"
            " AND e.date BETWEEN :start AND :end",
            {"start": start, "end": end},
        )
    )


def _suspended_without_decision(start: date, end: date) -> tuple[int, int]:
    """Claims suspended in the period with no approved suspension decision (imported ones):
    counted on their status date, with the balance on that date."""
    decided = Decision.select(Decision.claim).where(
        (Decision.kind == "suspension") & (Decision.status == "approved")
    )
    count = amount = 0
    for claim in Claim.select().where(
        (Claim.status == "suspended")
        & Claim.status_since.between(start, end)
        & Claim.id.not_in(decided)
    ):
        on = cast(date, claim.status_since)  # the query asked for a date in the period
        count += 1
        if on >= claim.last_entry_on:
            amount += projections.balance_from_projection(
                claim, max(on, claim.subrogation_date)
            ).total
        else:
            amount += _balance_at(claim, on)
    return count, amount


def _decisions(session: Session, start: date, end: date) -> dict[str, Figure]:
    counts: dict[str, list[int]] = {k: [0, 0] for k in DECISION_ITEMS}
    counts["suspension"] = list(_suspended_without_decision(start, end))
    query = Decision.select().where(
        (Decision.status == "approved") & Decision.kind.in_(DECISION_ITEMS)
    )
    for d in query:
        effect = json.loads(d.effect or "{}")
        on = _decided_on(d, effect)
        if start <= on <= end:
            counts[d.kind][0] += 1
            counts[d.kind][1] += _decision_amount(d, effect, on)
    return {k: Figure(c, a) for k, (c, a) in counts.items()}


def _overrides(session: Session, start: date, end: date) -> list[Override]:
    names = {s.login: s.name for s in Staff.select(Staff.login, Staff.name)}
    query = (
        Decision.select(Decision, Claim.claim_no)
        .join(Claim)
        .where(
            (Decision.status == "approved")
            & Decision.override_reason.is_null(False)
            & (Decision.override_reason != "")
        )
    )
    found = []
    for d in query:
        on = _decided_on(d, json.loads(d.effect or "{}"))
        if start <= on <= end:
            approver = d.approver or ""
            found.append(
                Override(
                    d.id,
                    d.claim.claim_no,
                    d.kind,
                    names.get(approver) or approver,
                    on,
                    d.override_reason or "",
                )
            )
    return sorted(found, key=lambda o: (o.decided_on, o.decision_id))


def _completions(session: Session, start: date, end: date) -> tuple[int, list[Completion]]:
    upto = min(end, session.today())
    if upto < start:
        return 0, []
    cond = (
        (Obligor.completes_on >= start)
        & (Obligor.completes_on <= upto)
        & (Obligor.lim_state == "running")
        & (Obligor.liable == True)  # noqa: E712
    )
    count = Obligor.select().where(cond).count()
    rows = (
        Obligor.select(Obligor.obligor_no, Obligor.name, Obligor.completes_on, Claim.claim_no)
        .join(Claim)
        .where(cond)
        .order_by(Obligor.completes_on, Claim.claim_no, Obligor.obligor_no)
        .limit(COMPLETION_LIST_LIMIT)
        .tuples()
    )
    found = cast(Iterable[tuple[int, str, date, str]], rows)  # .tuples() rows, not models
    return count, [Completion(no, n, name, on) for n, name, on, no in found]


def _staff_lines(session: Session, rows: list[tuple[Any, int, int]]) -> list[StaffLine]:
    names = {s.id: (s.login, s.name) for s in Staff.select(Staff.id, Staff.login, Staff.name)}
    lines = [
        StaffLine(*(names.get(sid, ("", "")) if sid is not None else ("", "")), int(n), int(a))
        for sid, n, a in rows
    ]
    return sorted(lines, key=lambda s: (-s.amount, s.login))


# ---------------------------------------------------------------- fiscal year (ClaimYear)


def _fy_figures(
    session: Session, fy: int
) -> tuple[dict[str, Figure], list[int], list[tuple[Any, int, int]]]:
    start, end = fiscal_year_range(fy)
    p = {"fy": fy, "start": start, "end": end}
    months = ", ".join(f"SUM({m})" for m in MONTH_COLUMNS)
    row = _sql(
        session,
        "SELECT COUNT(*), SUM(received),"
        " SUM(CASE WHEN received_after_write_off > 0 THEN 1 ELSE 0 END), SUM(received_after_write_off),"
        f" {months} FROM claim_year WHERE fy = :fy AND receipts > 0",
        p,
    )[0]
    got = [int(v or 0) for v in row]
    figures = {
        "recovery": Figure(got[0], got[1]),
        "recovery_after_write_off": Figure(got[2], got[3]),
    }
    # year-end principal: from the claim where nothing is dated after the year's end, else
    # from the claim's row for the year (it exists: the claim has entries in a later year)
    a = _one(
        session,
        "SELECT COUNT(*), SUM(c.principal_outstanding) FROM claim c"
        # unary + keeps SQLite off the date and principal indexes: most claims pass, and
        # one pass over the table is faster than an index walk with a lookup per row
        " WHERE +c.subrogation_date <= :end AND c.last_entry_on <= :end"
        f" AND +c.principal_outstanding > 0 AND NOT {_excluded_at()}",
        p,
    )
    b = _one(
        session,
        "SELECT COUNT(*), SUM(y.principal_end) FROM claim_year y"
        " JOIN claim c ON c.id = y.claim_id"
        " WHERE y.fy = :fy AND y.principal_end > 0 AND c.last_entry_on > :end"
        f" AND NOT {_excluded_at()}",
        p,
    )
    figures["outstanding"] = Figure(a[0] + b[0], a[1] + b[1])
    staff = _sql(
        session,
        "SELECT c.staff_id, COUNT(*), SUM(y.received) FROM claim_year y"
        " JOIN claim c ON c.id = y.claim_id WHERE y.fy = :fy AND y.receipts > 0"
        " GROUP BY c.staff_id",
        p,
    )
    figures |= _common(session, start, end)
    return figures, got[4:], staff


def _common(session: Session, start: date, end: date) -> dict[str, Figure]:
    return {
        "subrogation": _subrogation(session, start, end),
        "write_off": _write_offs(session, start, end),
        "servicer_recovery": _servicer(session, start, end),
        **_decisions(session, start, end),
    }


def fy_report(session: Session, fy: int) -> Report:
    """The 年度 report for FY ``fy`` with the previous year and the configured plan."""
    fy = _check_fy(fy)
    start, end = fiscal_year_range(fy)
    now, months, staff = _fy_figures(session, fy)
    previous, prev_months, _ = _fy_figures(session, fy - 1)
    plan = session.config.plans.get(fy)
    firsts = [date(fy + (i + 3) // 12, (i + 3) % 12 + 1, 1) for i in range(12)]
    count, listed = _completions(session, start, end)
    return Report(
        start=start,
        end=end,
        fy=fy,
        items=build_items(now, previous, plan),
        months=list(zip(firsts, months, prev_months, strict=True)),
        staff=_staff_lines(session, staff),
        completions=count,
        completion_list=listed,
        overrides=_overrides(session, start, end),
        remittances=_remittances(session, fy),
    )


def _remittances(session: Session, fy: int) -> dict[int, int]:
    """The FY's 公庫 remittance totals per half year, from the remittance ledger."""
    from kyusho.services import remittance

    data = remittance.ledger(session, fy).json()
    return {int(h["half"]): int(h["total"]) for h in data.get("halves", [])}


# ---------------------------------------------------------------- any period (the ledger)


def _range_figures(
    session: Session, start: date, end: date
) -> tuple[dict[str, Figure], dict[str, int], list[tuple[Any, int, int]]]:
    p = {"start": start, "end": end}
    live = "e.kind = 'receipt' AND e.cancelled = FALSE AND e.date BETWEEN :start AND :end"
    figures = {
        "recovery": Figure(
            *_one(
                session,
                f"SELECT COUNT(DISTINCT claim_id), SUM(amount) FROM ledger_entry e WHERE {live}",
                p,
            )
        ),
        "recovery_after_write_off": Figure(
            *_one(
                session,
                "SELECT COUNT(DISTINCT claim_id), SUM(amount) FROM ledger_entry e"
                f" WHERE {live} AND e.post_write_off = TRUE",
                p,
            )
        ),
    }
    paid = (
        "SELECT SUM(e.alloc_principal) FROM ledger_entry e WHERE e.claim_id = c.id"
        " AND e.cancelled = FALSE AND e.date <= :end"
    )
    figures["outstanding"] = Figure(
        *_one(
            session,
            "SELECT COUNT(*), SUM(p) FROM (SELECT c.loan_principal + c.loan_interest"
            f" - COALESCE(({paid}), 0) AS p FROM claim c WHERE c.subrogation_date <= :end"
            f" AND NOT {_excluded_at()}) AS owed WHERE p > 0",
            p,
        )
    )
    months = {
        m: int(a)
        for m, a in _sql(
            session,
            f"SELECT substr(CAST(e.date AS TEXT), 1, 7), SUM(e.amount) FROM ledger_entry e WHERE {live}"
            " GROUP BY 1",
            p,
        )
    }
    staff = _sql(
        session,
        "SELECT c.staff_id, COUNT(DISTINCT e.claim_id), SUM(e.amount) FROM ledger_entry e"
        f" JOIN claim c ON c.id = e.claim_id WHERE {live} GROUP BY c.staff_id",
        p,
    )
    figures |= _common(session, start, end)
    return figures, months, staff


def _month_firsts(start: date, end: date) -> list[date]:
    out, d = [], date(start.year, start.month, 1)
    while d <= end:
        out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def range_report(session: Session, start: date, end: date) -> Report:
    """The same report for any period, compared with the same period a year earlier."""
    if end < start:
        raise InputError("期間", "終了日は開始日以降の日付を指定してください")
    if (end - start).days > 366 * 20:
        raise InputError("期間", "期間は20年以内で指定してください")
    now, months, staff = _range_figures(session, start, end)
    p_start, p_end = _year_back(start), _year_back(end)
    previous, prev_months, _ = _range_figures(session, p_start, p_end)
    count, listed = _completions(session, start, end)
    firsts = _month_firsts(start, end)
    return Report(
        start=start,
        end=end,
        fy=None,
        items=build_items(now, previous, None),
        months=[
            (
                d,
                months.get(f"{d.year}-{d.month:02d}", 0),
                prev_months.get(f"{d.year - 1}-{d.month:02d}", 0),
            )
            for d in firsts
        ],
        staff=_staff_lines(session, staff),
        completions=count,
        completion_list=listed,
        overrides=_overrides(session, start, end),
    )


def range_as_fy(session: Session, fy: int) -> Report:
    """``range_report`` over FY ``fy`` with that year's plan: the ledger's own answer."""
    start, end = fiscal_year_range(_check_fy(fy))
    report = range_report(session, start, end)
    report.fy = fy
    report.remittances = _remittances(session, fy)
    report.items = build_items(
        {i.key: i.now for i in report.items},
        {i.key: i.previous for i in report.items},
        session.config.plans.get(fy),
    )
    return report
