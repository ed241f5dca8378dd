"""`kyusho worklist [--all] [--login L] [--as-of D] --json` (SPEC 5.2, 4.7): the home screen's
rows for scripts, each row leaving as the work is done."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from conftest import ADMIN, TODAY, make_session
from test_worklist_rules import _csv

from kyusho.cli import main
from kyusho.clock import JST, SystemClock
from kyusho.identity import acting_as
from kyusho.services.contacts import add_contact, mark_done
from kyusho.services.entries import post_receipt
from kyusho.services.imports import import_bytes
from kyusho.services.staff import add_staff

STAFF, OTHER = "tanaka", "suzuki"


@pytest.fixture(autouse=True)
def _pinned_wall_clock(monkeypatch):
    """The command reads the system clock: pin it to the tests' day."""
    monkeypatch.setattr(SystemClock, "now", lambda self: datetime(2026, 11, 22, 12, tzinfo=JST))


@pytest.fixture
def db(db_path):
    s = make_session(db_path)
    add_staff(s, STAFF, "田中", "staff")
    add_staff(s, OTHER, "鈴木", "staff")
    claims = [["求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "委託契約日", "金融機関", "担当者"]]  # fmt: skip
    obligors = [["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"]]
    for no, staff in (("R5-000001", STAFF), ("R5-000002", OTHER)):
        claims.append([no, "2023-06-01", "1000000", "0", "2021-05-01", "テスト銀行", staff])
        obligors.append([no, "1", "主債務者", "株式会社テスト", "テスト", "法人", "", "東京都"])
    import_bytes(s, "claims", _csv(claims))
    import_bytes(s, "obligors", _csv(obligors))
    # one contact on R5-000001 with a promise and a next action; a next action on R5-000002
    add_contact(
        s, "R5-000001", 1, "phone", "約束", at=datetime(2026, 11, 1, 9), next_action="再架電",
        next_on=date(2026, 11, 20), promised_amount=50_000, promised_on=date(2026, 11, 10),
    )  # fmt: skip
    add_contact(
        s, "R5-000002", 1, "phone", "架電", at=datetime(2026, 11, 1, 9), next_action="再架電",
        next_on=date(2026, 11, 20),
    )  # fmt: skip
    return db_path


def run(capsys, login: str, *args: str) -> tuple[int, str, str]:
    with acting_as(login):
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rows(capsys, db, login: str, *args: str) -> list[dict]:
    code, out, err = run(capsys, login, "--db", str(db), "worklist", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_a_staff_members_rows_as_json_in_the_screens_order(db, capsys) -> None:
    assert rows(capsys, db, STAFF) == [
        {
            "kind": "next_action",
            "claim_no": "R5-000001",
            "obligor_id": 1,
            "due": "2026-11-20",
            "reason": "次回行動: 再架電",
            "leaves": "次の交渉か d で完了",
        },
        {
            "kind": "promise",
            "claim_no": "R5-000001",
            "obligor_id": 1,
            "due": "2026-11-10",
            "reason": "入金約束 50,000円 未入金",
            "leaves": "入金 50,000円 または次の交渉で消えます",
        },
    ]
    # everyone's with --all; a manager's view of one user with --login
    assert [(r["kind"], r["claim_no"]) for r in rows(capsys, db, STAFF, "--all")] == [
        ("next_action", "R5-000001"),
        ("next_action", "R5-000002"),
        ("promise", "R5-000001"),
    ]
    assert [r["claim_no"] for r in rows(capsys, db, ADMIN, "--login", OTHER)] == ["R5-000002"]
    assert rows(capsys, db, STAFF, "--login", STAFF) == rows(capsys, db, STAFF)


def test_rows_leave_as_the_work_is_done(db, capsys) -> None:
    s = make_session(db, login=STAFF)
    post_receipt(s, "R5-000001", date(2026, 11, 21), 50_000, 1)  # paid late: the promise leaves
    assert [r["kind"] for r in rows(capsys, db, STAFF)] == ["next_action"]
    mark_done(s, 1)
    assert rows(capsys, db, STAFF) == []
    # as it stood on 11-20, both were there
    kinds = [r["kind"] for r in rows(capsys, db, STAFF, "--as-of", "2026-11-20")]
    assert kinds == ["next_action", "promise"]


def test_login_is_checked(db, capsys) -> None:
    code, _, err = run(capsys, STAFF, "--db", str(db), "worklist", "--login", OTHER, "--json")
    assert code == 1 and "権限" in err
    code, out, err = run(capsys, ADMIN, "--db", str(db), "worklist", "--login", "nobody")
    assert code == 2 and "--login" in err and "nobody" in err and out == ""


def test_without_json_a_readable_table(db, capsys) -> None:
    code, out, _ = run(capsys, STAFF, "--db", str(db), "worklist")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split("\t")[:3] == ["次回行動", "R8.11.20", "R5-000001"]
    assert "入金約束 50,000円 未入金" in lines[1]
    assert TODAY.isoformat() not in out
