"""`kyusho letter …` (SPEC 5.2, 4.15): one letter or a worklist batch to a file, and --record."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from conftest import make_session
from test_clocks import STAFF, new_claim

from kyusho.cli import main
from kyusho.clock import JST, SystemClock
from kyusho.identity import acting_as
from kyusho.services.staff import add_staff
from models.schema import Claim, Contact, LimitationEvent, Obligor


@pytest.fixture(autouse=True)
def _pinned_wall_clock(monkeypatch, tmp_path):
    """The command reads the system clock: pin it to the tests' day; no ./kyusho.toml."""
    monkeypatch.setattr(SystemClock, "now", lambda self: datetime(2026, 11, 22, 12, tzinfo=JST))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db(db_path):
    s = make_session(db_path)
    add_staff(s, STAFF, "田中", "staff")
    new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=1)  # completes 2027-01-10
    new_claim(s, "R4-000002", date(2022, 3, 1), debtor="person")  # completes 2027-03-01
    new_claim(s, "R6-000003", date(2024, 6, 10))  # no alert
    return db_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    with acting_as(STAFF):
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def completes_on(no: str, obligor_no: int) -> date:
    c = Claim.get(Claim.claim_no == no)
    return Obligor.get((Obligor.claim == c.id) & (Obligor.obligor_no == obligor_no)).completes_on


def test_one_letter_to_a_file_records_nothing_without_record(capsys, db, tmp_path):
    out = tmp_path / "r.md"
    code, stdout, err = run(
        capsys, "--db", str(db), "letter", "reminder", "R4-000001", "--obligor", "2",
        "--date", "R8.11.20", "--format", "md", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "督促状" in text and "山田 太郎 様" in text and "令和8年11月20日" in text
    assert "督促状を 1 通" in stdout
    assert Contact.select().count() == 0 and LimitationEvent.select().count() == 0
    # never over an existing file without --force
    code, _, err = run(
        capsys, "--db", str(db), "letter", "reminder", "R4-000001", "--obligor", "2",
        "--out", str(out),
    )  # fmt: skip
    assert code == 2 and "--force" in err


def test_a_worklist_batch_of_demands_is_recorded_and_a_second_is_refused(capsys, db, tmp_path):
    out = tmp_path / "batch.html"
    batch = ["--db", str(db), "letter", "demand", "--worklist", "--within", "120",
             "--format", "html", "--out", str(out), "--record"]  # fmt: skip
    # the guarantor's demand the same day as the principal debtor's does nothing: said first
    code, _, err = run(capsys, *batch)
    assert code == 2 and "R4-000001 関係人2 山田 太郎" in err and "民法150条2項" in err
    assert not out.exists() and Contact.select().count() == 0
    code, stdout, err = run(capsys, *batch, "--confirm-no-effect")
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert html.count('<section class="letter">') == 3  # R4-000001 ×2, R4-000002
    assert "R6-000003" not in html
    assert "R8.11.22" in stdout and "R9.1.10 → R9.5.22" in stdout
    assert "効力なし" in stdout  # the guarantor's demand the same day as the principal's
    assert completes_on("R4-000001", 1) == completes_on("R4-000002", 1) == date(2027, 5, 22)
    assert Contact.select().where(Contact.channel == "letter").count() == 3
    assert LimitationEvent.select().where(LimitationEvent.kind == "demand").count() == 3

    # again inside the six months: refused before any file is written or anything stored
    again = tmp_path / "again.md"
    code, _, err = run(
        capsys, "--db", str(db), "letter", "demand", "R4-000002", "--obligor", "1",
        "--out", str(again), "--record",
    )  # fmt: skip
    assert code == 2 and "民法150条2項" in err and "--confirm-no-effect" in err
    assert not again.exists()
    assert LimitationEvent.select().count() == 3 and Contact.select().count() == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["letter", "warning", "R4-000001", "--obligor", "1", "--out", "x.md"], "invalid choice"),
        (["letter", "demand", "R4-000001", "--out", "x.md"], "--obligor"),
        (["letter", "demand", "R4-000001", "--obligor", "x", "--out", "x.md"], "関係人番号"),
        (["letter", "demand", "R4-000001", "--obligor", "1", "--out", "x.txt"], "拡張子"),
        (["letter", "demand", "R4-000001", "--obligor", "1"], "--out"),
        (
            [
                "letter",
                "demand",
                "R4-000001",
                "--obligor",
                "1",
                "--date",
                "R8.13.1",
                "--out",
                "x.md",
            ],
            "--date",
        ),  # fmt: skip
    ],
)
def test_bad_arguments_are_refused_naming_what_is_wrong(capsys, db, args, message):
    code, _, err = run(capsys, "--db", str(db), *args)
    assert code == 2 and message in err
    assert Contact.select().count() == 0
