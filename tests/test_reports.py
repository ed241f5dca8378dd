"""The 年度 report (SPEC 4.14): items, previous year, plan, and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from kyusho.errors import InputError
from kyusho.rules.dates import fiscal_year
from kyusho.rules.report_table import display_width, report_json, table_lines, text_lines
from kyusho.services import decisions
from kyusho.services.entries import cancel_entry, post_receipt
from kyusho.services.reports import fy_report, range_as_fy, range_report
from kyusho.services.staff import add_staff
from models.schema import Claim, LedgerEntry
from tests.conftest import ADMIN, TODAY, make_session
from tests.test_clocks import BOSS, OTHER, STAFF, new_claim


def principal_end(no: str, end: date) -> int:
    """The claim's principal at ``end`` straight from the ledger's allocations."""
    c = Claim.get(Claim.claim_no == no)
    paid = sum(
        e.alloc_principal
        for e in LedgerEntry.select().where(
            (LedgerEntry.claim == c.id) & (LedgerEntry.cancelled == False)  # noqa: E712
        )
        if e.date <= end
    )
    return c.loan_principal + c.loan_interest - paid


@pytest.fixture
def book(session, db_path):
    """Three claims with receipts across FY2024–FY2026, a release, a suspension, a write-off."""
    add_staff(session, STAFF, "田中", "staff")
    add_staff(session, OTHER, "鈴木", "staff")
    add_staff(session, BOSS, "部長", "manager")
    new_claim(session, "R6-000001", date(2024, 6, 10), guarantors=1)
    new_claim(session, "R7-000002", date(2025, 7, 1), staff=OTHER)
    new_claim(session, "R5-000003", date(2023, 4, 3))
    post_receipt(session, "R6-000001", date(2024, 8, 31), 1_000_000, 1)
    post_receipt(session, "R6-000001", date(2025, 5, 15), 2_000_000, 1)
    wrong = post_receipt(session, "R6-000001", date(2025, 12, 1), 500_000, 1)
    cancel_entry(session, wrong.id, "誤入力")
    post_receipt(session, "R6-000001", date(2026, 5, 1), 300_000, 2)
    post_receipt(session, "R7-000002", date(2026, 2, 10), 400_000, 1)
    staff, boss = make_session(db_path, STAFF), make_session(db_path, BOSS)
    rel = decisions.propose(
        staff,
        "R6-000001",
        "partial_release",
        obligor_no=2,
        reason="一部弁済",
        data={"payment": 300_000},
    )
    # the guarantor paid once and nothing is attested: approved only with an override
    decisions.approve(boss, rel.id, override_reason=OVERRIDE)
    sus = decisions.propose(
        staff,
        "R5-000003",
        "suspension",
        reason="無資力",
        data={
            "reasons": ["insolvent"],
            "attested": {"means_test": {"answer": "2026-10-01", "note": "資産なし"}},
        },
    )
    decisions.approve(boss, sus.id)
    wo = decisions.propose(staff, "R5-000003", "write_off", reason="回収不能")
    decisions.approve(session, wo.id)
    return session


OVERRIDE = "保証人は高齢で入院中、面談に代えて家族から聴取した"


def figures(report, key):
    it = report.item(key)
    return (it.now.count, it.now.amount, it.previous.count, it.previous.amount)


def test_fy2025_items_with_the_previous_year(book):
    r = fy_report(book, 2025)
    assert r.title == "令和7年度（FY2025）業務実績"
    assert figures(r, "subrogation") == (1, 10_000_000, 1, 10_000_000)
    # the cancelled 500,000 is not a receipt; FY2024 had the one receipt of August 2024
    assert figures(r, "recovery") == (2, 2_400_000, 1, 1_000_000)
    assert r.item("recovery").count_ratio == "200.0%"
    assert r.item("recovery").amount_ratio == "240.0%"
    end, prev_end = date(2026, 3, 31), date(2025, 3, 31)
    outstanding = sum(principal_end(n, end) for n in ("R6-000001", "R7-000002", "R5-000003"))
    prev = sum(principal_end(n, prev_end) for n in ("R6-000001", "R5-000003"))
    assert figures(r, "outstanding") == (3, outstanding, 2, prev)
    months = {d.month: a for d, a, _ in r.months}
    assert [d for d, _, _ in r.months][0] == date(2025, 4, 1)
    assert (months[5], months[2], sum(months.values())) == (2_000_000, 400_000, 2_400_000)
    assert {(s.login, s.claims, s.amount) for s in r.staff} == {
        (STAFF, 1, 2_000_000),
        (OTHER, 1, 400_000),
    }
    # decisions were all approved today (FY2026)
    for key in ("suspension", "write_off", "partial_release", "gl_release", "waiver"):
        assert figures(r, key)[:2] == (0, 0), key


def test_decisions_of_the_year_and_the_written_off_claim_leaves_the_balance(book):
    assert fiscal_year(TODAY) == 2026
    r = fy_report(book, 2026)
    c3 = Claim.get(Claim.claim_no == "R5-000003")
    release = decisions.Decision.get(decisions.Decision.kind == "partial_release")
    assert figures(r, "partial_release")[:2] == (1, json.loads(release.effect)["release_amount"])
    assert figures(r, "write_off")[:2] == (1, c3.written_off_amount)
    suspension = json.loads(
        decisions.Decision.get(
            (decisions.Decision.kind == "suspension") & (decisions.Decision.claim == c3.id)
        ).effect
    )
    assert figures(r, "suspension")[:2] == (1, suspension["balance"])
    assert suspension["balance"] == c3.written_off_amount  # same day, nothing posted between
    end = date(2027, 3, 31)
    assert figures(r, "outstanding")[:2] == (
        2,
        principal_end("R6-000001", end) + principal_end("R7-000002", end),
    )
    assert figures(r, "recovery")[:2] == (1, 300_000)
    # a receipt on the written-off claim after its write-off is 償却後回収, and part of 回収
    book.pin(date(2026, 12, 1))
    post_receipt(book, "R5-000003", date(2026, 11, 30), 50_000, 1)
    r = fy_report(book, 2026)
    assert figures(r, "recovery_after_write_off")[:2] == (1, 50_000)
    assert figures(r, "recovery")[:2] == (2, 350_000)


def test_plan_ratios_come_from_the_configured_plan(book):
    book.config = replace(book.config, plans={2025: {"recovery": 2, "subrogation": 8}})
    r = fy_report(book, 2025)
    assert r.item("recovery").plan_ratio == "120.0%"
    assert r.item("subrogation").plan_ratio == "125.0%"
    assert r.item("outstanding").plan_ratio is None  # no plan configured for it
    assert r.item("recovery_after_write_off").plan_millions is None
    assert fy_report(book, 2024).item("recovery").plan_ratio is None


def test_fiscal_year_report_equals_the_ledger_for_every_year_of_the_demo(demo_session):
    first = min(fiscal_year(c.subrogation_date) for c in Claim.select())
    for fy in range(first, fiscal_year(TODAY) + 1):
        assert report_json(fy_report(demo_session, fy)) == report_json(
            range_as_fy(demo_session, fy)
        ), fy


def test_range_report_compares_with_the_same_period_a_year_earlier(book):
    r = range_report(book, date(2025, 5, 1), date(2026, 2, 28))
    assert figures(r, "recovery") == (2, 2_400_000, 1, 1_000_000)
    assert [d.month for d, _, _ in r.months] == [5, 6, 7, 8, 9, 10, 11, 12, 1, 2]
    assert r.months[-1][1:] == (400_000, 0)
    with pytest.raises(InputError) as e:
        range_report(book, date(2026, 1, 1), date(2025, 1, 1))
    assert e.value.field == "期間"


@pytest.mark.parametrize("fy", [1800, "2025", True, 3000])
def test_a_bad_year_names_the_field(session, fy):
    with pytest.raises(InputError) as e:
        fy_report(session, fy)
    assert e.value.field == "年度"


def test_the_printed_table_fits_80_columns_and_shows_dashes_without_a_base(book):
    r = fy_report(book, 2025)
    lines = table_lines(r)
    assert all(display_width(line) <= 80 for line in text_lines(r))
    row = next(line for line in lines if line.startswith("求償権放棄"))
    assert row.split()[1:] == ["0", "—", "0", "—", "—", "—"]
    rec = next(line for line in lines if line.startswith("回収"))
    assert rec.split()[1:3] == ["2", "200.0%"]


def test_cli_report_json_csv_and_bad_year(book, db_path, tmp_path, capsys, monkeypatch):
    from kyusho import cli
    from kyusho.identity import acting_as

    monkeypatch.chdir(tmp_path)  # no ./kyusho.toml of the repository

    def main(argv: list[str]) -> int:
        with acting_as(ADMIN):
            return cli.main(argv)

    assert main(["--db", str(db_path), "report", "fy", "2025", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == report_json(fy_report(book, 2025))
    out = tmp_path / "fy.csv"
    assert main(["--db", str(db_path), "report", "fy", "2025", "--csv", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("項目,件数")
    assert lines[2].split(",")[:5] == ["回収", "2", "1", "200.0%", "2400000"]
    capsys.readouterr()
    assert main(["--db", str(db_path), "report", "fy", "R7"]) == 2
    assert "YEAR" in capsys.readouterr().err
    assert main(["--db", str(db_path), "report", "range", "2025-13-01", "2026-01-01"]) == 2
    assert "START" in capsys.readouterr().err


def test_a_suspension_recorded_without_its_balance_is_summed_from_the_ledger(book):
    """Suspensions approved before the effect kept the balance: recomputed at their date."""
    from models.schema import Decision

    d = Decision.get(Decision.kind == "suspension")
    effect = json.loads(d.effect)
    recorded = effect.pop("balance")
    effect.pop("on")
    Decision.update(effect=json.dumps(effect)).where(Decision.id == d.id).execute()
    assert figures(fy_report(book, 2026), "suspension")[:2] == (1, recorded)


def test_approvals_given_with_an_override_are_reported_per_kind_with_approver_and_reason(book):
    """SPEC 4.14: every approval given with an override (decision, approver, reason)."""
    r = fy_report(book, 2026)
    release = decisions.Decision.get(decisions.Decision.kind == "partial_release")
    # the suspension and the write-off passed their checks: only the release was overridden
    assert report_json(r)["overrides"] == {
        "count": 1,
        "by_kind": {"partial_release": 1},
        "decisions": [
            {
                "decision_id": release.id,
                "claim_no": "R6-000001",
                "kind": "partial_release",
                "kind_label": "一部弁済免除",
                "approver": "部長",
                "decided_on": TODAY.isoformat(),
                "reason": OVERRIDE,
            }
        ],
    }
    text = text_lines(r, "iso")
    at = text.index("オーバーライドによる承認: 1 件")
    assert text[at + 1 : at + 4] == [
        "  一部弁済免除 1件",
        f"  2026-11-22 決裁{release.id} R6-000001 一部弁済免除 承認 部長",
        f"    理由: {OVERRIDE}",
    ]
    assert all(display_width(line) <= 80 for line in text)
    # not in the year before, and the same answer from the ledger's range report
    assert report_json(fy_report(book, 2025))["overrides"]["count"] == 0
    assert "オーバーライドによる承認: 0 件" in text_lines(fy_report(book, 2025))
    assert report_json(range_as_fy(book, 2026))["overrides"] == report_json(r)["overrides"]


def test_servicer_receipts_are_their_own_item(demo_session):
    from kyusho.services.entries import post_receipt
    from models.schema import Claim as _Claim

    claim = _Claim.select().where(_Claim.status == "active").order_by(_Claim.id).first()
    before = fy_report(demo_session, 2026).item("servicer_recovery").now
    with demo_session.writing():
        post_receipt(demo_session, claim.claim_no, date(2026, 11, 20), 30_000, 1, servicer=True)
    for report in (fy_report(demo_session, 2026), range_as_fy(demo_session, 2026)):
        item = report.item("servicer_recovery")
        assert (item.now.count, item.now.amount) == (before.count + 1, before.amount + 30_000)
        assert item.label == "うちサービサー回収"


def test_claims_suspended_without_a_decision_count_by_their_status_date(demo_session):
    from kyusho.rules.dates import fiscal_year_range
    from models.schema import Claim as _Claim

    start, end = fiscal_year_range(2025)
    suspended = _Claim.select().where(
        (_Claim.status == "suspended") & _Claim.status_since.between(start, end)
    )
    assert suspended.count() > 0
    item = fy_report(demo_session, 2025).item("suspension")
    assert item.now.count == suspended.count()
    assert item.now.amount > 0


def test_the_fy_report_shows_the_years_remittances(demo_session, monkeypatch):
    from types import SimpleNamespace

    from kyusho.rules.report_table import report_json, text_lines
    from kyusho.services import remittance

    def ledger(session, fiscal_year, half=None):
        return SimpleNamespace(
            json=lambda: {
                "fiscal_year": fiscal_year,
                "rows": [],
                "halves": [{"half": 1, "total": 12_345}, {"half": 2, "total": 0}],
            }
        )

    monkeypatch.setattr(remittance, "ledger", ledger)
    report = fy_report(demo_session, 2025)
    assert report.remittances == {1: 12_345, 2: 0}
    text = "\n".join(text_lines(report))
    assert "公庫納付" in text and "12,345円" in text
    assert report_json(report)["remittances"]["total"] == 12_345
