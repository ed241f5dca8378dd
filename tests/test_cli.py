"""The `kyusho` command line (SPEC 5.2), as IT staff script it.

Run both as a real process (exit status, stdout/stderr, the OS login as the acting user) and
in-process through ``kyusho.cli.main`` (acting as a chosen login with ``acting_as``). The
worked claim is the SPEC 5.2 example R5-000001 (examples/ledger.toml case L1), built only
through `kyusho import`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import ADMIN, make_session

from kyusho.cli import main
from kyusho.identity import acting_as, os_login
from kyusho.services.contacts import add_contact

KYUSHO = Path(sys.executable).with_name("kyusho")

CLAIMS_CSV = """求償権番号,代位弁済日,代位弁済元金,代位弁済利息,損害金率,充当順序,委託契約日,金融機関,担当者
R5-000001,2023-04-10,"9,800,000",200000,14.0,法定,2021-01-15,サンプル銀行,{staff}
R5-000002,R5.6.1,3000000,0,14.0,法定,2021-02-01,サンプル銀行,{staff}
"""
OBLIGORS_CSV = """求償権番号,関係人番号,区分,氏名,カナ,法人個人,住所
R5-000001,1,主債務者,株式会社サンプル,サンプル,法人,東京都千代田区1-1
R5-000002,1,主債務者,有限会社テスト,テスト,法人,東京都港区2-2
R5-000002,2,連帯保証人,山田太郎,ヤマダタロウ,個人,東京都港区3-3
"""
RECEIPTS_CSV = """求償権番号,入金日,金額,入金者
R5-000001,2023-07-31,500000,1
R5-000002,2023-09-01,30000,2
"""

# SPEC 5.2: `claim show --json` gives at least these keys.
TOP_KEYS = {
    "claim_no",
    "status",
    "subrogation_date",
    "subrogated",
    "damages_rate",
    "allocation_order",
    "as_of",
    "balance",
    "obligors",
    "receipts",
}
SUBROGATED_KEYS = {"loan_principal", "loan_interest", "principal"}
BALANCE_KEYS = {"principal", "damages", "costs", "total"}
OBLIGOR_KEYS = {"id", "role", "name", "liable", "limitation"}
LIMITATION_KEYS = {"own_completes_on", "completes_on", "state", "basis"}
RECEIPT_KEYS = {"date", "amount", "payer", "cancelled", "allocated"}
ALLOCATED_KEYS = {"costs", "damages", "principal"}
DUE_KEYS = {"claim_no", "obligor_id", "name", "role", "completes_on", "days_left", "state"}


def write_csvs(folder: Path, staff: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, text in (
        ("claims", CLAIMS_CSV.format(staff=staff)),
        ("obligors", OBLIGORS_CSV),
        ("receipts", RECEIPTS_CSV),
    ):
        files[kind] = folder / f"{kind}.csv"
        files[kind].write_text(text, encoding="utf-8")
    return files


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------- running it


def cli_env(folder: Path) -> dict[str, str]:
    empty = folder / "empty-config.toml"
    if not empty.exists():
        empty.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KYUSHO"))}
    env["KYUSHO_CONFIG"] = str(empty)
    return env


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`kyusho ARGS` as a real process, as the OS login, with no configuration file."""
    cmd = [str(KYUSHO)] if KYUSHO.exists() else [sys.executable, "-m", "kyusho"]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, cwd=folder, env=cli_env(folder), timeout=120
    )


@pytest.fixture(autouse=True)
def _away_from_repo(tmp_path, monkeypatch):
    """In-process runs must not pick up the repository's ./kyusho.toml."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def call(capsys):
    """kyusho.cli.main in-process, acting as ADMIN unless told otherwise: (code, out, err)."""

    def _call(*argv: str, login: str = ADMIN) -> tuple[int, str, str]:
        capsys.readouterr()
        with acting_as(login):
            code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _call


@pytest.fixture
def l1_db(db_path, tmp_path, call) -> Path:
    """The SPEC example claims, imported in-process (ADMIN is the staff on the claims)."""
    for kind, path in write_csvs(tmp_path / "csv", ADMIN).items():
        code, _, err = call("--db", db_path, "import", kind, path)
        assert code == 0, err
    return db_path


@pytest.fixture(scope="module")
def proc_db(tmp_path_factory) -> tuple[Path, Path]:
    """A database made by `kyusho init` and filled by `kyusho import`, all as real processes."""
    folder = tmp_path_factory.mktemp("cli")
    db = folder / "k.db"
    result = run(folder, "init", "--db", str(db), "--name", "情報 担当")
    assert result.returncode == 0, result.stderr
    for kind, path in write_csvs(folder / "csv", os_login()).items():
        result = run(folder, "--db", str(db), "import", kind, str(path))
        assert result.returncode == 0, result.stderr
    return folder, db


# --------------------------------------------------------------------------- init and staff


def test_init_creates_a_group_database_and_refuses_a_second_time(tmp_path):
    db = tmp_path / "new.db"
    first = run(tmp_path, "init", "--db", str(db))
    assert first.returncode == 0, first.stderr
    assert os_login() in first.stdout
    assert mode(db) == 0o660

    listed = run(tmp_path, "--db", str(db), "staff", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [
        {"login": os_login(), "name": os_login(), "role": "admin", "active": True}
    ]

    size = db.stat().st_size
    second = run(tmp_path, "init", "--db", str(db))
    assert second.returncode == 1
    assert str(db) in second.stderr
    assert second.stdout == ""
    assert db.stat().st_size == size


def test_init_without_db_uses_the_configured_default(tmp_path):
    result = run(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "kyusho.db").is_file()  # next to the (empty) config file


def test_init_in_process_makes_the_acting_login_admin(tmp_path, call):
    db = tmp_path / "x.db"
    code, out, _ = call("init", "--db", db, "--name", "管理 太郎", login="ito")
    assert code == 0
    code, out, _ = call("--db", db, "staff", "list", "--json", login="ito")
    assert code == 0
    assert json.loads(out) == [
        {"login": "ito", "name": "管理 太郎", "role": "admin", "active": True}
    ]


def test_staff_add_and_list_by_admin(db_path, call):
    code, out, err = call(
        "--db", db_path, "staff", "add", "tanaka", "--name", "田中 一郎", "--role", "staff"
    )
    assert code == 0, err
    assert "tanaka" in out
    code, out, _ = call("--db", db_path, "staff", "list", "--json")
    assert code == 0
    rows = {r["login"]: r for r in json.loads(out)}
    assert rows["tanaka"] == {
        "login": "tanaka",
        "name": "田中 一郎",
        "role": "staff",
        "active": True,
    }
    assert rows[ADMIN]["role"] == "admin"
    # the plain listing is tab separated, one line each
    code, out, _ = call("--db", db_path, "staff", "list")
    assert sorted(line.split("\t")[0] for line in out.splitlines()) == [ADMIN, "tanaka"]


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_staff_add_by_non_admin_is_refused(db_path, call, role):
    assert call("--db", db_path, "staff", "add", "sato", "--name", "佐藤", "--role", role)[0] == 0
    code, out, err = call(
        "--db", db_path, "staff", "add", "evil", "--name", "悪", "--role", "admin", login="sato"
    )
    assert code == 1
    assert "admin" in err and out == ""
    _, listed, _ = call("--db", db_path, "staff", "list", "--json")
    assert "evil" not in {r["login"] for r in json.loads(listed)}


def test_unregistered_login_is_refused_with_the_remedy(db_path, call):
    code, out, err = call("--db", db_path, "staff", "list", login="stranger")
    assert code == 1
    assert "stranger" in err and "staff add" in err
    assert out == ""


def test_staff_add_bad_role_or_login_is_bad_input(db_path, call):
    assert call("--db", db_path, "staff", "add", "x1", "--name", "X", "--role", "boss")[0] == 2
    code, _, err = call(
        "--db", db_path, "staff", "add", "Bad Login", "--name", "X", "--role", "staff"
    )
    assert code == 2
    assert "ログイン" in err


# --------------------------------------------------------------------------- claim show


def test_claim_show_json_as_a_process_matches_spec_example(proc_db):
    folder, db = proc_db
    result = run(
        folder, "--db", str(db), "claim", "show", "R5-000001", "--as-of", "2023-12-31", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)

    assert TOP_KEYS <= data.keys()
    assert SUBROGATED_KEYS <= data["subrogated"].keys()
    assert BALANCE_KEYS <= data["balance"].keys()
    for o in data["obligors"]:
        assert OBLIGOR_KEYS <= o.keys()
        assert LIMITATION_KEYS <= o["limitation"].keys()
    for r in data["receipts"]:
        assert RECEIPT_KEYS <= r.keys()
        assert ALLOCATED_KEYS <= r["allocated"].keys()

    assert data["claim_no"] == "R5-000001"
    assert data["status"] == "active"
    assert data["subrogation_date"] == "2023-04-10"
    assert data["subrogated"] == {
        "loan_principal": 9800000,
        "loan_interest": 200000,
        "principal": 10000000,
    }
    assert data["damages_rate"] == "14.0"
    assert data["allocation_order"] == "statutory"
    assert data["as_of"] == "2023-12-31"
    assert data["balance"] == {
        "principal": 9929589,
        "damages": 582717,
        "costs": 0,
        "total": 10512306,
    }
    [debtor] = data["obligors"]
    assert {k: debtor[k] for k in OBLIGOR_KEYS - {"limitation"}} == {
        "id": 1,
        "role": "principal_debtor",
        "name": "株式会社サンプル",
        "liable": True,
    }
    assert {k: debtor["limitation"][k] for k in LIMITATION_KEYS} == {
        "own_completes_on": "2028-07-31",
        "completes_on": "2028-07-31",
        "state": "running",
        "basis": "acknowledgement",
    }
    [receipt] = data["receipts"]
    assert {k: receipt[k] for k in RECEIPT_KEYS} == {
        "date": "2023-07-31",
        "amount": 500000,
        "payer": 1,
        "cancelled": False,
        "allocated": {"costs": 0, "damages": 429589, "principal": 70411},
    }
    # money is exact integer yen in JSON, never a float
    assert all(type(v) is int for v in data["balance"].values())
    assert "." not in json.dumps(data["balance"])


def test_claim_show_json_in_process_has_the_spec_structure(l1_db, call):
    """Amount objects are exactly the SPEC keys; the top level may add more (SPEC: "at least")."""
    code, out, _ = call(
        "--db", l1_db, "claim", "show", "R5-000001", "--as-of", "2023-12-31", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert TOP_KEYS <= set(data)
    assert set(data["balance"]) == BALANCE_KEYS
    assert set(data["subrogated"]) == SUBROGATED_KEYS
    assert set(data["receipts"][0]["allocated"]) == ALLOCATED_KEYS


def test_claim_show_before_the_receipt_ignores_it(l1_db, call):
    code, out, err = call(
        "--db", l1_db, "claim", "show", "R5-000001", "--as-of", "2023-07-30", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["as_of"] == "2023-07-30"
    assert data["receipts"] == []
    # 111 days (2023-04-11 .. 2023-07-30) on 10,000,000 at 14.0%: floor(425,753.42)
    assert data["balance"] == {
        "principal": 10000000,
        "damages": 425753,
        "costs": 0,
        "total": 10425753,
    }
    lim = data["obligors"][0]["limitation"]
    assert lim["completes_on"] == "2028-04-10"  # 5 years from subrogation: no acknowledgement yet
    assert lim["basis"] != "acknowledgement"


def test_claim_show_as_of_accepts_wareki(l1_db, call):
    iso = json.loads(
        call("--db", l1_db, "claim", "show", "R5-000001", "--as-of", "2023-12-31", "--json")[1]
    )
    era = json.loads(
        call("--db", l1_db, "claim", "show", "R5-000001", "--as-of", "R5.12.31", "--json")[1]
    )
    assert era == iso


def test_claim_show_text_output(l1_db, call):
    code, out, _ = call("--db", l1_db, "claim", "show", "R5-000001", "--as-of", "2023-12-31")
    assert code == 0
    assert "R5-000001" in out and "10,512,306円" in out


def test_unknown_claim_is_a_failure_with_a_message(l1_db, call):
    code, out, err = call("--db", l1_db, "claim", "show", "R9-999999", "--json")
    assert code == 1
    assert "R9-999999" in err
    assert out == ""


@pytest.mark.parametrize("bad", ["2023-02-30", "tomorrow", "H31.5.1", ""])
def test_bad_as_of_is_bad_input_naming_the_option(l1_db, call, bad):
    code, out, err = call("--db", l1_db, "claim", "show", "R5-000001", "--as-of", bad, "--json")
    assert code == 2
    assert "--as-of" in err
    assert out == ""


def test_bad_as_of_as_a_process(proc_db):
    folder, db = proc_db
    result = run(
        folder, "--db", str(db), "claim", "show", "R5-000001", "--as-of", "2023-13-01", "--json"
    )
    assert result.returncode == 2
    assert "--as-of" in result.stderr
    assert result.stdout == ""


def test_global_as_of_before_the_subcommand_shows_that_date(l1_db, call):
    """`kyusho --as-of D claim show X --json` is the same as giving --as-of after the command."""
    code, out, err = call(
        "--as-of", "2024-01-01", "--db", l1_db, "claim", "show", "R5-000001", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["as_of"] == "2024-01-01"
    after = json.loads(
        call("--db", l1_db, "claim", "show", "R5-000001", "--as-of", "2024-01-01", "--json")[1]
    )
    assert data == after
    year_end = json.loads(
        call("--db", l1_db, "claim", "show", "R5-000001", "--as-of", "2023-12-31", "--json")[1]
    )
    assert year_end["balance"]["total"] == 10512306  # SPEC 5.2
    # one more day of damages on the principal left after the July receipt
    assert data["balance"]["principal"] == year_end["balance"]["principal"]
    assert data["balance"]["damages"] > year_end["balance"]["damages"]


def test_global_bad_as_of_is_bad_input_naming_the_option(l1_db, call):
    code, out, err = call(
        "--as-of", "2024-13-01", "--db", l1_db, "claim", "show", "R5-000001", "--json"
    )
    assert code == 2
    assert "--as-of" in err
    assert out == ""


def test_claim_show_as_of_leaves_out_contacts_recorded_later(l1_db, call):
    s = make_session(l1_db)
    add_contact(s, "R5-000001", 1, "phone", "在宅", at=datetime(2023, 12, 20, 10))
    add_contact(s, "R5-000001", 1, "visit", "入金を約束", at=datetime(2024, 1, 5, 10))
    code, out, err = call(
        "--as-of", "2024-01-01", "--db", l1_db, "claim", "show", "R5-000001", "--json"
    )
    assert code == 0, err
    assert [c["outcome"] for c in json.loads(out)["contacts"]] == ["在宅"]


# --------------------------------------------------------------------------- limitation due


def test_limitation_due_json_nearest_first(proc_db):
    folder, db = proc_db
    result = run(
        folder,
        "--db",
        str(db),
        "limitation",
        "due",
        "--within",
        "90",
        "--as-of",
        "2028-05-15",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    for row in rows:
        assert DUE_KEYS <= row.keys()
    got = [
        (r["claim_no"], r["obligor_id"], r["role"], r["completes_on"], r["days_left"], r["state"])
        for r in rows
    ]
    assert got == [
        # R5-000002: principal debtor 5 years from 2023-06-01
        ("R5-000002", 1, "principal_debtor", "2028-06-01", 17, "running"),
        # the guarantor paid on 2023-09-01 (own clock 2028-09-01), but can invoke the
        # principal debtor's limitation: the earlier date is the one that matters
        ("R5-000002", 2, "joint_guarantor", "2028-06-01", 17, "running"),
        ("R5-000001", 1, "principal_debtor", "2028-07-31", 77, "running"),
    ]
    assert [r["name"] for r in rows] == ["有限会社テスト", "山田太郎", "株式会社サンプル"]
    days = [r["days_left"] for r in rows]
    assert days == sorted(days)
    assert all(date.fromisoformat(r["completes_on"]) for r in rows)


def test_limitation_due_window_limits_the_list(l1_db, call):
    code, out, _ = call(
        "--db", l1_db, "limitation", "due", "--within", "30", "--as-of", "2028-05-15", "--json"
    )
    assert code == 0
    assert [(r["claim_no"], r["obligor_id"]) for r in json.loads(out)] == [
        ("R5-000002", 1),
        ("R5-000002", 2),
    ]
    code, out, _ = call(
        "--db", l1_db, "limitation", "due", "--within", "90", "--as-of", "2024-01-01", "--json"
    )
    assert code == 0 and json.loads(out) == []


def test_limitation_due_negative_window_is_bad_input(l1_db, call):
    code, _, err = call("--db", l1_db, "limitation", "due", "--within", "-1", "--json")
    assert code == 2
    assert "--within" in err
    assert call("--db", l1_db, "limitation", "due", "--within", "ninety")[0] == 2


# --------------------------------------------------------------------------- import


def test_import_twice_adds_nothing(l1_db, tmp_path, call):
    """SPEC 5.4: claims and obligors by their keys; receipts by 番号, else refused as duplicates."""
    files = write_csvs(tmp_path / "again", ADMIN)
    for kind in ("claims", "obligors"):
        code, out, err = call("--db", l1_db, "import", kind, files[kind])
        assert code == 0, err
        assert "追加 0 件" in out
    code, _, err = call("--db", l1_db, "import", "receipts", files["receipts"])
    assert code == 2
    assert "receipts.csv:2:" in err and "receipts.csv:3:" in err

    numbered = tmp_path / "numbered.csv"
    numbered.write_text(
        "求償権番号,入金日,金額,入金者,番号\nR5-000001,2023-08-31,100000,1,N-1\n", encoding="utf-8"
    )
    assert "追加 1 件" in call("--db", l1_db, "import", "receipts", numbered)[1]
    code, out, _ = call("--db", l1_db, "import", "receipts", numbered)
    assert code == 0 and "追加 0 件" in out
    data = json.loads(call("--db", l1_db, "claim", "show", "R5-000001", "--json")[1])
    assert [r["date"] for r in data["receipts"]] == ["2023-07-31", "2023-08-31"]


def test_bad_import_reports_every_row_and_stores_nothing(l1_db, tmp_path, call):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "求償権番号,入金日,金額,入金者\n"
        "R5-000001,2023-08-31,100000,1\n"
        "R5-000001,2023-02-30,100000,1\n"
        "R5-000001,2023-09-30,-5,1\n",
        encoding="utf-8",
    )
    code, out, err = call("--db", l1_db, "import", "receipts", bad)
    assert code == 2
    assert f"{bad}:3:" in err and f"{bad}:4:" in err
    assert out == ""
    data = json.loads(call("--db", l1_db, "claim", "show", "R5-000001", "--json")[1])
    assert [r["date"] for r in data["receipts"]] == ["2023-07-31"]


def test_import_dry_run_stores_nothing(l1_db, tmp_path, call):
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "求償権番号,入金日,金額,入金者\nR5-000001,2023-08-31,100000,1\n", encoding="utf-8"
    )
    code, out, _ = call("--db", l1_db, "import", "receipts", extra, "--dry-run")
    assert code == 0
    assert "保存していません" in out
    data = json.loads(call("--db", l1_db, "claim", "show", "R5-000001", "--json")[1])
    assert len(data["receipts"]) == 1


# --------------------------------------------------------------------------- maintenance


def test_rebuild_check_on_the_demo_finds_nothing_to_change(demo_path, call):
    code, out, err = call("--db", demo_path, "rebuild", "--check")
    assert code == 0, err
    assert "変更 0 件" in out


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_rebuild_check_reports_a_stale_projection(l1_db, call):
    conn = sqlite3.connect(str(l1_db))
    with conn:
        conn.execute("UPDATE ledger_entry SET alloc_principal = alloc_principal + 1")
    conn.close()
    code, out, _ = call("--db", l1_db, "rebuild", "--check")
    assert code == 1
    assert "変更 0 件" not in out
    assert call("--db", l1_db, "rebuild")[0] == 0
    assert call("--db", l1_db, "rebuild", "--check")[0] == 0


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_backup_restore_verify(demo_path, tmp_path, call):
    dest = tmp_path / "backup.db"
    code, _, err = call("--db", demo_path, "backup", dest)
    assert code == 0, err
    assert mode(dest) & 0o007 == 0

    restored = tmp_path / "restored" / "kyusho.db"
    restored.parent.mkdir()
    code, out, err = call("restore", dest, "--to", restored)
    assert code == 0, err
    assert mode(restored) & 0o007 == 0

    code, out, err = call("--db", restored, "audit", "verify")
    assert code == 0, err
    assert "正常" in out
    # the restored copy holds the same claims
    a = json.loads(call("--db", demo_path, "limitation", "due", "--within", "3650", "--json")[1])
    b = json.loads(call("--db", restored, "limitation", "due", "--within", "3650", "--json")[1])
    assert a == b and a


def test_backup_and_restore_never_overwrite(demo_path, tmp_path, call):
    dest = tmp_path / "b.db"
    dest.write_bytes(b"keep me")
    assert call("--db", demo_path, "backup", dest)[0] == 2
    assert call("restore", demo_path, "--to", dest)[0] == 2
    assert dest.read_bytes() == b"keep me"
    code, _, err = call("restore", tmp_path / "missing.db", "--to", tmp_path / "n.db")
    assert code == 2 and "missing.db" in err


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_restored_database_is_group_writable(demo_path, tmp_path, call):
    dest = tmp_path / "backup.db"
    assert call("--db", demo_path, "backup", dest)[0] == 0
    restored = tmp_path / "restored.db"
    assert call("restore", dest, "--to", restored)[0] == 0
    assert mode(restored) == 0o660


# --------------------------------------------------------------------------- bad usage


def test_bad_subcommand_is_bad_input_as_a_process(tmp_path):
    result = run(tmp_path, "frobnicate")
    assert result.returncode == 2
    assert "frobnicate" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["claim"],
        ["claim", "drop", "R5-000001"],
        ["staff", "add", "x"],
        ["audit"],
        ["restore", "a.db"],
        ["--no-such-option"],
    ],
)
def test_bad_usage_is_bad_input(call, argv):
    code, out, err = call(*argv)
    assert code == 2
    assert err


def test_missing_database_is_a_failure_naming_init(tmp_path, call):
    code, _, err = call("--db", tmp_path / "nowhere.db", "claim", "show", "R5-000001")
    assert code == 1
    assert "kyusho init" in err
    assert not (tmp_path / "nowhere.db").exists()


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_world_readable_database_is_refused_by_the_command(db_path, call):
    os.chmod(db_path, 0o664)
    code, _, err = call("--db", db_path, "staff", "list")
    assert code == 1
    assert "chmod" in err


def test_bad_config_file_is_bad_input(tmp_path, db_path, call):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[policy]\nplan_grace_days = -1\n", encoding="utf-8")
    code, _, err = call("--config", cfg, "--db", db_path, "staff", "list")
    assert code == 2
    assert "policy.plan_grace_days" in err
