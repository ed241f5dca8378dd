"""Exports and the 債権台帳 (SPEC 4.16): typed XLSX, CSV for Excel, no formulas, streaming."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date

import openpyxl
import pytest

from kyusho.rules.report_table import display_width
from kyusho.services import exports
from kyusho.services.claims import claim_json, claim_view
from models.schema import Claim, LedgerEntry, Obligor
from tests.conftest import ADMIN, TODAY


def _csv_rows(path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _poison(session) -> Obligor:
    o = Obligor.select().order_by(Obligor.id).first()
    Obligor.update(name='=HYPERLINK("http://x")', address="@SUM(A1)").where(
        Obligor.id == o.id
    ).execute()
    Claim.update(lender="+81 銀行", programme="-1").where(Claim.id == o.claim_id).execute()
    return o


def test_register_has_one_row_per_claim_and_obligor_and_csv_text_never_runs(demo_session, tmp_path):
    _poison(demo_session)
    dest = tmp_path / "register.csv"
    n = exports.export(demo_session, "register", "csv", dest)
    rows = _csv_rows(dest)
    assert n == len(rows) - 1 == Obligor.select().count()
    assert rows[0][:4] == ["求償権番号", "関係人番号", "関係人", "区分"]
    cells = {c for r in rows for c in r}
    assert '\'=HYPERLINK("http://x")' in cells and "'@SUM(A1)" in cells
    assert not any(c and c[0] in "=+-@" for c in cells)  # every formula-like cell is quoted


def test_claims_xlsx_is_typed_frozen_and_sized_and_matches_the_claim(demo_session, tmp_path):
    o = _poison(demo_session)
    dest = tmp_path / "claims.xlsx"
    exports.export(demo_session, "claims", "xlsx", dest)
    sheet = openpyxl.load_workbook(dest).active
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    claim = Claim.get_by_id(o.claim_id)
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == claim.claim_no)
    by = dict(zip(header, row, strict=True))
    shown = claim_json(claim_view(demo_session, claim.claim_no))
    assert by["残高計"].value == shown["balance"]["total"]
    assert by["元金残高"].value == shown["balance"]["principal"]
    assert isinstance(by["代位弁済元金"].value, int) and by["代位弁済元金"].data_type == "n"
    assert by["代位弁済日"].is_date and by["代位弁済日"].value.date() == claim.subrogation_date
    assert "[$-411]" in by["代位弁済日"].number_format  # display.dates is wareki
    assert by["金融機関"].value == "+81 銀行" and by["金融機関"].data_type == "s"
    assert by["制度"].value == "-1" and by["制度"].data_type == "s"  # text, not a number
    for i, name in enumerate(header):
        letter = sheet.cell(1, i + 1).column_letter
        assert sheet.column_dimensions[letter].width >= display_width(name)


def test_the_register_formula_cells_are_strings_in_xlsx(demo_session, tmp_path):
    _poison(demo_session)
    dest = tmp_path / "r.xlsx"
    exports.export(demo_session, "register", "xlsx", dest)
    sheet = openpyxl.load_workbook(dest).active
    cells = [c for r in sheet.iter_rows(min_row=2, max_col=5) for c in r]
    hit = next(c for c in cells if c.value == '=HYPERLINK("http://x")')
    assert hit.data_type == "s"  # a string, never a formula
    assert sheet.title == "債権台帳"


def test_ledger_as_of_a_past_date_leaves_later_entries_out(demo_session, tmp_path):
    cut = date(2024, 3, 31)
    dest = tmp_path / "ledger.csv"
    n = exports.export(demo_session, "ledger", "csv", dest, on=cut)
    rows = _csv_rows(dest)[1:]
    assert n == LedgerEntry.select().where(LedgerEntry.date <= cut).count() == len(rows)
    assert max(r[1] for r in rows) <= cut.isoformat()


def test_claims_as_of_a_past_date_show_the_balance_of_that_date(demo_session, tmp_path):
    cut = date(2024, 3, 31)
    claim = Claim.select().where(Claim.subrogation_date < date(2023, 1, 1)).first()
    dest = tmp_path / "claims.csv"
    exports.export(demo_session, "claims", "csv", dest, on=cut)
    rows = _csv_rows(dest)
    by = dict(zip(rows[0], next(r for r in rows if r[0] == claim.claim_no), strict=True))
    then = claim_json(claim_view(demo_session, claim.claim_no, cut))
    assert int(by["残高計"]) == then["balance"]["total"]


def test_a_failed_export_leaves_no_file(demo_session, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk went away")

    monkeypatch.setattr(exports, "_as_of", boom)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError):
        exports.export(demo_session, "claims", "xlsx", out / "claims.xlsx")
    assert list(out.iterdir()) == []  # neither the file nor its temporary


COPIES = 200  # the 120-claim demo (~300 obligors) ×200: about 60,000 register rows

SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from datetime import date
    from pathlib import Path
    from kyusho.config import Config
    from kyusho.services import exports
    from kyusho.services.session import open_session
    path = Path(sys.argv[1])
    s = open_session(Config(db_path=path), path, login=sys.argv[3])
    s.pin(date.fromisoformat(sys.argv[4]))
    n = exports.export(s, "register", "xlsx", Path(sys.argv[2]))
    print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def _grow(path, copies: int) -> None:
    """Copies of every claim and obligor (no entries: the balance comes from the claim)."""
    db = sqlite3.connect(path)
    ccols = [r[1] for r in db.execute("PRAGMA table_info(claim)") if r[1] != "id"]
    ocols = [r[1] for r in db.execute("PRAGMA table_info(obligor)") if r[1] not in ("id",)]
    top_c = db.execute("SELECT MAX(id) FROM claim").fetchone()[0] + 1
    top_o = db.execute("SELECT MAX(id) FROM obligor").fetchone()[0] + 1
    for k in range(1, copies):
        sel_c = ", ".join(f"claim_no || '-{k}'" if c == "claim_no" else c for c in ccols)
        db.execute(
            f"INSERT INTO claim (id, {', '.join(ccols)}) SELECT id + {k * top_c}, {sel_c}"
            f" FROM claim WHERE id < {top_c}"
        )
        sel_o = ", ".join(f"claim_id + {k * top_c}" if c == "claim_id" else c for c in ocols)
        db.execute(
            f"INSERT INTO obligor (id, {', '.join(ocols)}) SELECT id + {k * top_o}, {sel_o}"
            f" FROM obligor WHERE id < {top_o}"
        )
    db.commit()
    db.close()


def _run(demo_path, dest) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(demo_path), str(dest), ADMIN, TODAY.isoformat()],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    return int(out[0]), int(out[1]) // 1024  # rows, MB (ru_maxrss is in KiB on Linux)


@pytest.mark.sqlite_only(reason="子プロセスが SQLite のファイルを開く")
def test_the_register_streams_in_bounded_memory(demo_path, tmp_path):
    small_rows, small_mb = _run(demo_path, tmp_path / "small.xlsx")
    _grow(demo_path, COPIES)
    rows, mb = _run(demo_path, tmp_path / "big.xlsx")
    assert rows == small_rows * COPIES
    # the whole sheet held in memory would take hundreds of MB more; streamed, a few
    assert mb - small_mb < 60, (small_mb, mb)
    sheet = openpyxl.load_workbook(tmp_path / "big.xlsx", read_only=True).active
    assert sheet.max_row == rows + 1
