"""Imports within bounded memory (issue 12 point 8): streaming, a size limit, every error."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import make_session
from test_imports import CLAIMS, OBLIGORS, RECEIPTS, csv_bytes

from kyusho.config import Config
from kyusho.errors import InputError
from kyusho.services.imports import ImportFailed, import_bytes, import_file
from kyusho.services.staff import add_staff
from models.schema import Claim, LedgerEntry

# Runs in a fresh interpreter so ru_maxrss is the import's own peak, not the test runner's.
MEASURE = textwrap.dedent(
    """
    import resource, sys
    from datetime import date
    from pathlib import Path
    from kyusho.config import Config
    from kyusho.rules.csvparse import header
    from kyusho.services.imports import import_file
    from kyusho.services.session import open_session
    from kyusho.services.staff import add_staff, init_database

    n, folder = int(sys.argv[1]), Path(sys.argv[2])
    src = folder / "claims.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header("claims")) + "\\r\\n")
        for i in range(n):
            fh.write(
                f"R6-{i:07d},2024-04-{i % 28 + 1:02d},{1_000_000 + i},{i % 5000},14.0,法定,"
                f"2020-04-01,サンプル銀行{i % 50}支店,創業支援資金,普通保険,80,,,,tanaka\\r\\n"
            )
    db = folder / "kyusho.db"
    init_database(db, "kadmin", "管理者")
    s = open_session(Config(db_path=db), db, login="kadmin")
    s.pin(date(2026, 11, 22))
    add_staff(s, "tanaka", "田中", "staff")
    report = import_file(s, "claims", src)
    print(report.added, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """
)


def test_importing_500000_claims_stays_under_400_mb(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, "500000", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    added, peak_mb = map(int, out.stdout.split())
    assert added == 500_000
    assert peak_mb < 400, f"peak RSS {peak_mb} MB"


@pytest.mark.sqlite_only(reason="子プロセスが SQLite のファイルを開く")
def test_dev_zero_is_refused_quickly_not_by_growing(session):
    # with a 1 GiB address-space cap a reader that grows fails with MemoryError instead
    code = textwrap.dedent(
        """
        import resource, sys
        from datetime import date
        from pathlib import Path
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from kyusho.config import Config
        from kyusho.services.imports import ImportFailed, import_file
        from kyusho.services.session import open_session
        db = Path(sys.argv[1])
        s = open_session(Config(db_path=db), db, login="kadmin")
        try:
            import_file(s, "claims", Path("/dev/zero"))
        except ImportFailed as exc:
            print(exc.errors[0].line, exc.errors[0].reason)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(session.location)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "NUL" in out.stdout and "CSVファイルではありません" in out.stdout


def _limited(session, max_bytes: int):
    return make_session(
        session.location, config=Config(db_path=session.location, import_max_bytes=max_bytes)
    )


def test_a_file_past_import_max_bytes_is_refused_naming_file_and_setting(session, tmp_path):
    add_staff(session, "tanaka", "田中", "staff")
    data = csv_bytes(CLAIMS)
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    small = _limited(session, len(data) - 1)
    for run in (
        lambda: import_file(small, "claims", path),
        lambda: import_bytes(small, "claims", data, name=str(path)),
    ):
        with pytest.raises(InputError) as info:
            run()
        assert str(path) in info.value.message and "import.max_bytes" in info.value.message
        assert Claim.select().count() == 0
    assert import_file(_limited(session, len(data)), "claims", path).added == 3


def test_import_max_bytes_is_validated_naming_the_key():
    from kyusho.config import parse_config

    assert parse_config({}).import_max_bytes == 2 * 1024**3
    assert parse_config({"import": {"max_bytes": 1000}}).import_max_bytes == 1000
    for bad in (0, "1GB", True, {"import": 1}):
        data = bad if isinstance(bad, dict) else {"import": {"max_bytes": bad}}
        with pytest.raises(InputError) as info:
            parse_config(data)
        assert info.value.field.startswith("import")
    with pytest.raises(InputError) as info:
        parse_config({"import": {"max_rows": 1}})
    assert info.value.field == "import.max_rows"


def _load(session) -> None:
    add_staff(session, "tanaka", "田中", "staff")
    import_bytes(session, "claims", csv_bytes(CLAIMS))
    import_bytes(session, "obligors", csv_bytes(OBLIGORS))


def _where(err: ImportFailed) -> set[tuple[int, str]]:
    return {(e.line, e.column) for e in err.errors}


def test_a_header_problem_and_a_missing_claim_are_both_reported(session):
    _load(session)
    rows = [
        [*RECEIPTS[0], "備考"],  # not a column of a receipts file
        ["R5-000001", "2023-02-30", "1000", "1", "", "A", ""],  # impossible date
        ["R9-999999", "2023-09-01", "1000", "1", "", "B", ""],  # claim not registered
    ]
    before = LedgerEntry.select().count()
    with pytest.raises(ImportFailed) as info:
        import_bytes(session, "receipts", csv_bytes(rows))
    assert _where(info.value) == {(1, "備考"), (2, "入金日"), (3, "求償権番号")}
    assert LedgerEntry.select().count() == before


def test_an_overpayment_and_a_missing_claim_are_both_reported(session):
    _load(session)
    rows = [
        RECEIPTS[0],
        ["R5-000001", "2023-09-01", "99,999,999", "1", "", "A"],  # more than the balance
        ["R9-999999", "2023-09-01", "1000", "1", "", "B"],
    ]
    before = LedgerEntry.select().count()
    with pytest.raises(ImportFailed) as info:
        import_bytes(session, "receipts", csv_bytes(rows))
    assert _where(info.value) == {(2, "金額"), (3, "求償権番号")}
    assert LedgerEntry.select().count() == before


def test_a_file_that_is_not_valid_past_its_first_chunk_names_the_line(session):
    _load(session)
    rows = [RECEIPTS[0]] + [
        ["R5-000001", "2023-07-31", "1", "1", "振込", f"R{i}"] for i in range(3000)
    ]
    data = csv_bytes(rows) + b"R5-000001,2023-07-31,1,1,\xff\xfe,X\r\n"
    with pytest.raises(ImportFailed) as info:
        import_bytes(session, "receipts", data)
    assert [e.line for e in info.value.errors] == [3002]
    assert "UTF-8" in info.value.errors[0].reason
