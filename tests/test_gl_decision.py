"""The gl_release decision (SPEC 4.11 on 4.8): the GL figures frozen at proposal, approval
through the workflow, release on the GL payment, the 年度 report, the 決裁書 and the CLI."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime

import pytest
from conftest import TODAY, make_session
from test_clocks import BOSS, STAFF, new_claim, obligor

from kyusho.cli import main
from kyusho.clock import JST, SystemClock
from kyusho.documents import DocumentSettings
from kyusho.documents.decision import decision_document
from kyusho.errors import InputError
from kyusho.identity import acting_as
from kyusho.services import decisions, projections, reports
from kyusho.services.claims import find_claim
from kyusho.services.entries import post_receipt
from kyusho.services.staff import add_staff
from models.schema import AuditEvent, Decision, Obligor

CLAIM = "R6-000001"
# the issue's point 5, with the G1 case of examples/gl.toml
G1 = {
    "reference_date": "2025-05-20",
    "gl_type": "一体型",
    "assets": [
        {"kind": "現金", "description": "手元現金", "value": 1500000,
         "exempt": False, "home": False, "keep": False},
        {"kind": "預金", "description": "普通預金 ○○銀行", "value": 2400000,
         "exempt": False, "home": False, "keep": False},
        {"kind": "不動産", "description": "自宅土地建物", "value": 6000000,
         "exempt": False, "home": True, "keep": False},
        {"kind": "自動車", "description": "軽自動車", "value": 400000,
         "exempt": False, "home": False, "keep": False},
        {"kind": "動産", "description": "家財", "value": 200000,
         "exempt": True, "home": False, "keep": False},
    ],
    "living_requested": 2900000,
    "bankruptcy_dividend": 2100000,
    "recovery_increase": 4000000,
    "expert": {"name": "山本 弁護士", "qualification": "弁護士"},
    "attested": {
        "gl_sme_manager": {"answer": "充足", "note": "登記簿"},
        "representation_signed": {"answer": "充足", "note": "2025-06-01 署名"},
    },
}  # fmt: skip
G1_FIGURES = {
    "age": 52,
    "living_days": 330,
    "living_cap": 3630000,
    "assets_total": 10500000,
    "free_property": 1190000,
    "incentive": 2900000,
    "retained": 4090000,
    "payment": 6410000,
}
CHECK_NAMES = {
    "living_within_table",
    "living_within_cash_and_deposits",
    "incentive_within_recovery_increase",
    "economic_rationality",
}


@pytest.fixture(autouse=True)
def _pinned_wall_clock(monkeypatch, tmp_path):
    """The CLI reads the system clock: pin it to the tests' day; no ./kyusho.toml."""
    monkeypatch.setattr(SystemClock, "now", lambda self: datetime(2026, 11, 22, 12, tzinfo=JST))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def team(db_path):
    s = make_session(db_path)
    add_staff(s, STAFF, "田中", "staff")
    add_staff(s, BOSS, "部長", "manager")
    new_claim(s, CLAIM, date(2024, 6, 10), guarantors=1)
    Obligor.update(birth_date=date(1972, 8, 15)).where(Obligor.id == obligor(CLAIM, 2).id).execute()
    return {
        "admin": s,
        "staff": make_session(db_path, STAFF),
        "manager": make_session(db_path, BOSS),
        "path": db_path,
    }


def liability(session) -> int:
    return projections.balance_from_projection(find_claim(CLAIM), TODAY).total


def propose(team, data=None, obligor_no: int = 2) -> Decision:
    return decisions.propose(
        team["staff"],
        CLAIM,
        "gl_release",
        obligor_no=obligor_no,
        reason="経営者保証GLによる保証債務整理",
        data=copy.deepcopy(data or G1),
    )


def test_evaluate_gives_every_figure_of_the_example_and_the_four_checks(team):
    ev = decisions.evaluate(team["staff"], CLAIM, "gl_release", obligor_no=2, data=G1)
    owed = liability(team["staff"])
    assert {k: ev.computed[k] for k in G1_FIGURES} == G1_FIGURES
    assert ev.computed["liability"] == owed
    assert ev.computed["release"] == owed - 6410000
    assert (ev.computed["band"], ev.computed["policy_default_used"]) == ("45〜59歳", False)
    assert {c.name for c in ev.checks} == CHECK_NAMES and all(c.ok for c in ev.checks)
    keys = {k for k, _ in ev.items}
    assert {"representation_signed", "expert_confirmation", "clawback_agreement"} <= keys
    assert keys == {k for k, _ in decisions.ATTESTED_ITEMS["gl_release"]}


def test_a_failing_check_blocks_approval_until_an_override(team):
    data = {**G1, "recovery_increase": 2500000}  # the incentive exceeds it by 400,000
    ev = decisions.evaluate(team["staff"], CLAIM, "gl_release", obligor_no=2, data=data)
    failing = [c for c in ev.checks if not c.ok]
    assert [c.name for c in failing] == ["incentive_within_recovery_increase"]
    assert "400,000円 超過" in failing[0].detail
    d = propose(team, data)
    with pytest.raises(decisions.ApprovalRefused) as info:
        decisions.approve(team["manager"], d.id)
    assert "400,000円 超過" in str(info.value)
    d = decisions.approve(team["manager"], d.id, override_reason="専門家報告書を確認")
    assert d.status == "approved" and d.override_reason == "専門家報告書を確認"


def test_proposal_freezes_the_inventory_and_the_figures(team):
    d = propose(team)
    owed = liability(team["staff"])
    post_receipt(team["admin"], CLAIM, TODAY, 10000, 1)  # the balance moves afterwards
    record = decisions.decision_json(Decision.get_by_id(d.id))
    assert record["data"]["assets"] == G1["assets"]
    assert (record["data"]["gl_type"], record["data"]["expert"]["qualification"]) == (
        "一体型",
        "弁護士",
    )
    assert record["computed"]["liability"] == owed
    assert record["computed"]["release"] == owed - 6410000
    assert set(record["checks"]) == CHECK_NAMES
    assert record["attested"]["gl_sme_manager"]["answer"] == "充足"


def test_released_on_the_gl_payment_and_the_report_counts_the_frozen_release(team):
    d = propose(team)
    release = decisions.decision_json(d)["computed"]["release"]
    d = decisions.approve(team["manager"], d.id, override_reason="未回答の確認事項は別紙")
    g = Obligor.get_by_id(obligor(CLAIM, 2).id)
    assert g.liable  # approval alone does not release: the GL payment does
    post_receipt(team["admin"], CLAIM, TODAY, 6409999, 2)  # one yen short
    assert Obligor.get_by_id(g.id).liable
    post_receipt(team["admin"], CLAIM, TODAY, 6410000, 2)
    g = Obligor.get_by_id(g.id)
    assert (g.liable, g.released_on, g.lim_state) == (False, TODAY, "released")
    item = next(i for i in reports.fy_report(team["admin"], 2026).items if i.key == "gl_release")
    assert (item.now.count, item.now.amount) == (1, release)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gl_type": "併用型"}, "GLの類型"),
        ({"reference_date": "2999-01-01"}, "基準時"),
        ({"living_requested": -1}, "生計費"),
        ({"bankruptcy_dividend": "多い"}, "破産配当見込額"),
        ({"assets": [{"kind": "宝石", "value": 1}]}, "財産目録 1行目"),
        ({"assets": [{"kind": "現金", "value": -5}]}, "財産目録 1行目"),
        ({"assets": [{"kind": "現金", "value": 5, "hidden": True}]}, "財産目録 1行目"),
        ({"assets": [{"kind": "現金", "value": 5, "keep": "yes"}]}, "財産目録 1行目"),
        ({"expert": {"name": "", "qualification": "弁護士"}}, "支援専門家の氏名"),
        ({"living_requested": 20000000}, "生計費"),  # keeps more than there is
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(team, change, field):
    count = AuditEvent.select().count()
    with pytest.raises(InputError) as info:
        propose(team, {**G1, **change})
    assert info.value.field == field
    assert AuditEvent.select().count() == count
    assert not Decision.select().exists()


def test_the_guarantor_must_be_a_joint_guarantor_with_a_birth_date(team):
    with pytest.raises(InputError) as info:
        propose(team, obligor_no=1)  # the principal debtor
    assert info.value.field == "関係人番号"
    Obligor.update(birth_date=None).where(Obligor.id == obligor(CLAIM, 2).id).execute()
    with pytest.raises(InputError) as info:
        propose(team)
    assert info.value.field == "生年月日"


def test_the_decision_document_carries_the_inventory_and_the_calculation(team):
    d = propose(team)
    doc = decision_document(team["staff"], d, DocumentSettings())
    for text in (doc.markdown, doc.html):
        for a in G1["assets"]:
            assert a["description"] in text
        for figure in ("10,500,000円", "1,190,000円", "2,900,000円", "4,090,000円", "6,410,000円"):
            assert figure in text
        assert "山本 弁護士" in text and "一体型" in text
        assert "45〜59歳" in text and "330日" in text


def run(capsys, login: str, *args: str) -> tuple[int, str, str]:
    with acting_as(login):
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_propose_with_the_issues_json(team, capsys, tmp_path):
    path = tmp_path / "gl.json"
    path.write_text(json.dumps(G1, ensure_ascii=False), encoding="utf-8")
    code, out, err = run(
        capsys, STAFF, "--db", str(team["path"]), "decision", "propose", CLAIM, "gl_release",
        "--obligor", "2", "--data", str(path), "--reason", "GLによる整理",
    )  # fmt: skip
    assert code == 0, err
    d = json.loads(out)
    owed = liability(team["staff"])
    assert (d["kind"], d["status"], d["obligor_id"]) == ("gl_release", "proposed", 2)
    assert {k: d["computed"][k] for k in G1_FIGURES} == G1_FIGURES
    assert (d["computed"]["liability"], d["computed"]["release"]) == (owed, owed - 6410000)
    assert set(d["checks"]) == CHECK_NAMES and all(c["ok"] for c in d["checks"].values())
