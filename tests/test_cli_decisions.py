"""`kyusho decision …` (SPEC 5.2, 4.8): propose, show, list, approve, reject, withdraw, print,
as a script runs them (in-process, acting as a chosen login)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from conftest import ADMIN, make_session
from test_clocks import BOSS, STAFF, new_claim

from kyusho.cli import main
from kyusho.clock import JST, SystemClock
from kyusho.identity import acting_as
from kyusho.services.staff import add_staff
from models.schema import Claim, Decision

KEYS = {
    "decision_id", "claim_no", "kind", "obligor_id", "status", "proposer", "approver", "data",
    "computed", "checks", "attested", "override_reason",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _pinned_wall_clock(monkeypatch, tmp_path):
    """The command reads the system clock: pin it to the tests' day; no ./kyusho.toml."""
    monkeypatch.setattr(SystemClock, "now", lambda self: datetime(2026, 11, 22, 12, tzinfo=JST))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db(db_path):
    s = make_session(db_path)
    add_staff(s, STAFF, "田中", "staff")
    add_staff(s, BOSS, "部長", "manager")
    new_claim(s, "R6-000001", date(2024, 6, 10), guarantors=1)
    return db_path


def run(capsys, login: str, *args: str) -> tuple[int, str, str]:
    with acting_as(login):
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def propose_whereabouts(capsys, db, tmp_path) -> dict:
    """A 所在不明 suspension on a claim whose obligors are all 通常: its check fails."""
    data = tmp_path / "data.json"
    data.write_text(
        json.dumps({"reasons": ["whereabouts_unknown"], "attested": {}}), encoding="utf-8"
    )
    code, out, err = run(
        capsys, STAFF, "--db", str(db), "decision", "propose", "R6-000001", "suspension",
        "--data", str(data), "--reason", "所在不明のため",
    )  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def test_propose_prints_the_decision_as_json_with_its_checks_and_items(db, capsys, tmp_path):
    d = propose_whereabouts(capsys, db, tmp_path)
    assert KEYS <= d.keys()
    assert (d["claim_no"], d["kind"], d["status"], d["proposer"]) == (
        "R6-000001", "suspension", "proposed", STAFF,
    )  # fmt: skip
    failing = [c for c in d["checks"].values() if not c["ok"]]
    assert failing and all(c["detail"] for c in failing)  # each check says why, in figures
    assert d["attested"]["last_whereabouts_check"]["answer"] is None
    code, out, err = run(capsys, STAFF, "--db", str(db), "decision", "show", str(d["decision_id"]), "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == d


def test_approve_names_each_failing_check_and_unanswered_item_then_an_override(
    db, capsys, tmp_path
):
    d = propose_whereabouts(capsys, db, tmp_path)
    no = str(d["decision_id"])
    code, out, err = run(capsys, BOSS, "--db", str(db), "decision", "approve", no)
    assert code == 1
    for c in d["checks"].values():
        if not c["ok"]:
            assert c["label"] in err
    assert "所在調査日: 未回答" in err
    assert Decision.get_by_id(d["decision_id"]).status == "proposed"
    assert Claim.get(Claim.claim_no == "R6-000001").status == "active"

    code, out, err = run(
        capsys, BOSS, "--db", str(db), "decision", "approve", no, "--override", "現地確認済み"
    )
    assert code == 0, err
    code, out, err = run(capsys, BOSS, "--db", str(db), "decision", "show", no, "--json")
    shown = json.loads(out)
    assert (shown["status"], shown["approver"], shown["override_reason"]) == (
        "approved", BOSS, "現地確認済み",
    )  # fmt: skip
    assert Claim.get(Claim.claim_no == "R6-000001").status == "suspended"


def test_the_proposer_and_a_staff_member_may_not_approve(db, capsys, tmp_path):
    no = str(propose_whereabouts(capsys, db, tmp_path)["decision_id"])
    code, _out, err = run(capsys, STAFF, "--db", str(db), "decision", "approve", no, "--override", "x")  # fmt: skip
    assert code == 1
    assert "manager 以上の権限" in err
    code, out, err = run(
        capsys, ADMIN, "--db", str(db), "decision", "propose", "R6-000001", "write_off",
        "--reason", "回収不能",
    )  # fmt: skip
    assert code == 0, err
    mine = str(json.loads(out)["decision_id"])
    code, _out, err = run(capsys, ADMIN, "--db", str(db), "decision", "approve", mine, "--override", "x")  # fmt: skip
    assert code == 1
    assert "四つの目" in err
    assert Decision.get_by_id(int(mine)).status == "proposed"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["propose", "R6-000001", "bogus", "--reason", "r"], "KIND"),
        (["propose", "R9-999999", "suspension", "--reason", "r"], "NO"),
        (["propose", "R6-000001", "suspension", "--data", "{bad}", "--reason", "r"], "--data"),
        (
            ["propose", "R6-000001", "suspension", "--data", "missing.json", "--reason", "r"],
            "--data",
        ),  # fmt: skip
        (["propose", "R6-000001", "suspension", "--data", "list", "--reason", "r"], "--data"),
        (["propose", "R6-000001", "suspension"], "--reason"),
        (
            ["propose", "R6-000001", "partial_release", "--obligor", "x", "--reason", "r"],
            "--obligor",
        ),  # fmt: skip
        (["show", "99"], "ID"),
        (["approve", "abc"], "ID"),
        (["list", "--claim", "R9-999999"], "NO"),
    ],
)
def test_bad_input_exits_2_naming_the_argument_and_stores_nothing(
    db, capsys, tmp_path, args, named
):
    (tmp_path / "{bad}").write_text('{"reasons": [', encoding="utf-8")
    (tmp_path / "list").write_text("[1, 2]", encoding="utf-8")
    code, out, err = run(capsys, STAFF, "--db", str(db), "decision", *args)
    assert code == 2, (out, err)
    assert f"{named}:" in err
    assert Decision.select().count() == 0


def test_list_pending_by_claim_then_reject_and_withdraw(db, capsys, tmp_path):
    first = propose_whereabouts(capsys, db, tmp_path)["decision_id"]
    second = propose_whereabouts(capsys, db, tmp_path)["decision_id"]
    code, out, err = run(capsys, BOSS, "--db", str(db), "decision", "list", "--pending", "--claim", "r6-000001", "--json")  # fmt: skip
    assert code == 0, err
    assert [d["decision_id"] for d in json.loads(out)] == [first, second]
    assert run(capsys, BOSS, "--db", str(db), "decision", "reject", str(first), "--reason", "根拠不足")[0] == 0  # fmt: skip
    # only the proposer withdraws
    assert run(capsys, BOSS, "--db", str(db), "decision", "withdraw", str(second), "--reason", "x")[0] == 1  # fmt: skip
    assert run(capsys, STAFF, "--db", str(db), "decision", "withdraw", str(second), "--reason", "再調査")[0] == 0  # fmt: skip
    code, out, _ = run(capsys, STAFF, "--db", str(db), "decision", "list", "--pending", "--json")
    assert json.loads(out) == []
    code, out, _ = run(capsys, STAFF, "--db", str(db), "decision", "list")
    assert "差戻し" in out
    assert "取下げ" in out


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_print_writes_the_document_never_over_a_file_or_the_database(db, capsys, tmp_path):
    no = str(propose_whereabouts(capsys, db, tmp_path)["decision_id"])
    html, md = tmp_path / "d.html", tmp_path / "d.md"
    assert run(capsys, STAFF, "--db", str(db), "decision", "print", no, "--out", str(html))[0] == 0  # fmt: skip
    assert run(capsys, STAFF, "--db", str(db), "decision", "print", no, "--out", str(md))[0] == 0  # fmt: skip
    assert "決裁書" in html.read_text(encoding="utf-8") and "R6-000001" in md.read_text("utf-8")
    code, _out, err = run(capsys, STAFF, "--db", str(db), "decision", "print", no, "--out", str(md))  # fmt: skip
    assert code == 2 and "--force" in err
    before = db.read_bytes()
    code, _out, err = run(
        capsys, STAFF, "--db", str(db), "decision", "print", no, "--out", str(db),
        "--format", "html", "--force",
    )  # fmt: skip
    assert code == 2 and "データベース" in err
    assert db.read_bytes() == before
    code, _out, err = run(capsys, STAFF, "--db", str(db), "decision", "print", no, "--out", str(tmp_path / "d.txt"))  # fmt: skip
    assert code == 2 and "--format" in err


def test_print_pdf_without_a_japanese_font_says_it_was_skipped_and_why(
    db, capsys, tmp_path, monkeypatch
):
    import kyusho.documents as documents

    monkeypatch.setattr(documents, "_installed_japanese_font", lambda: None)
    no = str(propose_whereabouts(capsys, db, tmp_path)["decision_id"])
    out_pdf = tmp_path / "d.pdf"
    code, _out, err = run(capsys, STAFF, "--db", str(db), "decision", "print", no, "--out", str(out_pdf))  # fmt: skip
    assert code == 1
    assert "PDF は作成しませんでした" in err and "日本語フォント" in err
    assert not out_pdf.exists()
