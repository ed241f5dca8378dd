"""`kyusho waiver` for scripts: the resolver's answers, the printed record, adding a city."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from kyusho.cli import main
from kyusho.clock import JST, SystemClock
from kyusho.identity import acting_as
from kyusho.services import waiver
from tests.conftest import ADMIN, make_session
from tests.test_waiver_service import CLAIM_NO, make_claim


@pytest.fixture(autouse=True)
def _pinned_wall_clock(monkeypatch, tmp_path):
    monkeypatch.setattr(SystemClock, "now", lambda self: datetime(2026, 11, 22, 12, tzinfo=JST))
    monkeypatch.chdir(tmp_path)


def run(capsys, db, *args: str) -> tuple[int, str, str]:
    with acting_as(ADMIN):
        code = main([*args, "--db", str(db)])
    out, err = capsys.readouterr()
    return code, out, err


def test_resolve_json_gives_one_answer_per_municipality(capsys, db_path):
    make_claim(make_session(db_path), "福岡県・山梨県・青森県")
    code, out, err = run(
        capsys, db_path, "waiver", "resolve", CLAIM_NO, "--scheme", "sme_gl_closure", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert [d["municipality"] for d in data] == ["福岡県", "山梨県", "青森県"]
    assert data[0] == {
        "municipality": "福岡県",
        "status": "enacted",
        "assembly_resolution_needed": True,
        "notes": data[0]["notes"],
    }
    assert data[2]["status"] == "not_required"
    assert set(data[1]) == {"municipality", "status", "assembly_resolution_needed", "notes"}


def test_resolve_with_an_unknown_scheme_is_bad_input(capsys, db_path):
    make_claim(make_session(db_path))
    code, _out, err = run(capsys, db_path, "waiver", "resolve", CLAIM_NO, "--scheme", "nope")
    assert code == 2 and "スキーム" in err


def test_record_writes_every_item_with_finding_evidence_and_who(capsys, db_path, tmp_path):
    s = make_session(db_path)
    make_claim(s, "福岡県")
    case = waiver.open_case(s, CLAIM_NO, "adr", planned_date=date(2026, 11, 22), kind="waiver")
    waiver.answer(
        s,
        case.id,
        "福岡県",
        "regional_impact",
        status="充足",
        finding="従業員30名",
        evidence="計画書 p.12",
    )
    waiver.record_step(s, case.id, "福岡県", "consultation", date(2026, 11, 1))
    dest = tmp_path / "rec.md"
    code, out, err = run(
        capsys, db_path, "waiver", "record", str(case.id), "--format", "md", "--out", str(dest)
    )
    assert code == 0, err
    text = dest.read_text(encoding="utf-8")
    assert "従業員30名" in text and "計画書 p.12" in text and ADMIN in text
    assert "事前協議 2026-11-01" in text
    assert "地域経済・地方創生への影響の程度" in text and "現在の求償権残高" in text
    html = tmp_path / "rec.html"
    assert run(capsys, db_path, "waiver", "record", str(case.id), str(html))[0] == 0
    assert "<table>" in html.read_text(encoding="utf-8")
    # never over an existing file without --force
    code, _out, err = run(capsys, db_path, "waiver", "record", str(case.id), "--out", str(dest))
    assert code == 2 and "--force" in err


def test_municipality_add_lets_a_claim_name_the_city(capsys, db_path):
    code, out, err = run(
        capsys, db_path, "waiver", "municipality", "add", "久留米市", "--status", "enacted"
    )
    assert code == 0, err
    make_claim(make_session(db_path), "福岡県・久留米市")
    code, out, _err = run(
        capsys, db_path, "waiver", "resolve", CLAIM_NO, "--scheme", "adr", "--json"
    )
    assert {d["municipality"]: d["status"] for d in json.loads(out)}["久留米市"] == "enacted"
