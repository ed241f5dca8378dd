"""Issue 12's attacks, played end to end through the `kyusho` command.

Each test is one thing an attacker or a careless user did to a database shared by a group,
run as the command is run (a real process where the terminal or the OS matters, otherwise
``kyusho.cli.main`` in-process), with what must hold afterwards.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADMIN, make_session

from kyusho.cli import main
from kyusho.errors import PermissionDenied
from kyusho.identity import acting_as
from kyusho.services.staff import add_staff, deactivate_staff

KYUSHO = Path(sys.executable).with_name("kyusho")
UNEXPECTED = "予期しないエラー"


def run(folder: Path, *args: object) -> subprocess.CompletedProcess[bytes]:
    """`kyusho ARGS` as a real process (bytes: escape sequences must be seen as sent)."""
    empty = folder / "empty-config.toml"
    empty.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KYUSHO"))}
    env["KYUSHO_CONFIG"] = str(empty)
    cmd = [str(KYUSHO)] if KYUSHO.exists() else [sys.executable, "-m", "kyusho"]
    return subprocess.run(
        [*cmd, *map(str, args)], capture_output=True, cwd=folder, env=env, timeout=120
    )


@pytest.fixture(autouse=True)
def _away_from_repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def call(capsys):
    def _call(*argv: object, login: str = ADMIN) -> tuple[int, str, str]:
        capsys.readouterr()
        with acting_as(login):
            code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _call


@pytest.fixture
def proc_db(tmp_path) -> Path:
    """A database made by `kyusho init` as the OS login, as IT staff would."""
    db = tmp_path / "kyusho.db"
    result = run(tmp_path, "init", "--db", db)
    assert result.returncode == 0, result.stderr.decode()
    return db


def fingerprint(db: Path) -> tuple[int, list[tuple]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = list(conn.execute("SELECT seq, hash FROM audit_event ORDER BY seq"))
        return conn.execute("PRAGMA schema_version").fetchone()[0], rows
    finally:
        conn.close()


# --------------------------------------------------------------------------- 1: no file destroyed


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
@pytest.mark.parametrize("force", [False, True])
def test_report_csv_onto_the_live_database_is_refused(demo_path, call, suffix, force):
    before = fingerprint(demo_path)
    size = demo_path.stat().st_size
    argv = ["--db", demo_path, "report", "fy", "2023", "--csv", f"{demo_path}{suffix}"]
    code, out, err = call(*argv, *(["--force"] if force else []))
    assert code == 2, err
    assert "--csv" in err and UNEXPECTED not in err
    assert demo_path.stat().st_size == size
    assert fingerprint(demo_path) == before
    assert call("--db", demo_path, "audit", "verify")[0] == 0  # every later command still works


def test_report_csv_onto_the_database_as_a_process(proc_db, tmp_path):
    before = proc_db.read_bytes()
    result = run(tmp_path, "--db", proc_db, "report", "fy", "2023", "--csv", proc_db)
    assert result.returncode == 2
    assert b"--csv" in result.stderr
    assert proc_db.read_bytes() == before
    assert run(tmp_path, "--db", proc_db, "staff", "list").returncode == 0


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_report_csv_onto_the_configured_database_through_a_symlink(demo_path, tmp_path, call):
    link = tmp_path / "report.csv"
    link.symlink_to(demo_path)
    before = demo_path.read_bytes()
    code, _, err = call("--db", demo_path, "report", "fy", "2023", "--csv", link, "--force")
    assert code == 2 and "--csv" in err
    assert demo_path.read_bytes() == before


def test_backup_into_a_dangling_symlink_creates_nothing(demo_path, tmp_path, call):
    planted = tmp_path / "elsewhere" / "loot.db"
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "backup.db"
    link.symlink_to(planted)
    code, _, err = call("--db", demo_path, "backup", link, "--force")
    assert code == 2 and "DEST" in err
    assert not planted.exists()


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_backup_and_restore_onto_the_live_database_are_refused_even_with_force(
    demo_path, tmp_path, call
):
    copy = tmp_path / "copy.db"
    assert call("--db", demo_path, "backup", copy)[0] == 0
    before = fingerprint(demo_path)
    code, _, err = call("--db", demo_path, "backup", demo_path, "--force")
    assert code == 2 and "DEST" in err
    code, _, err = call("--db", demo_path, "restore", copy, "--to", demo_path, "--force")
    assert code == 2 and "--to" in err
    assert fingerprint(demo_path) == before


# --------------------------------------------------------------------------- 5: roles at write


def test_a_deactivated_admin_session_opened_before_cannot_write(demo_path, call):
    root = make_session(demo_path)
    add_staff(root, "kanri2", "管理二", "admin")
    old = make_session(demo_path, "kanri2")  # opened while still admin
    deactivate_staff(root, "kanri2", "退職")
    with pytest.raises(PermissionDenied):
        add_staff(old, "mallory", "マロリー", "admin")
    code, out, _ = call("--db", demo_path, "staff", "list", "--json")
    assert "mallory" not in out


# --------------------------------------------------------------------------- 6: bad paths


@pytest.mark.parametrize("kind", ["folder", "text", "missing-folder", "empty"])
def test_bad_db_paths_as_a_process_exit_2_naming_db(tmp_path, kind):
    notes = tmp_path / "notes.txt"
    notes.write_text("memo\n")
    target = {
        "folder": str(tmp_path),
        "text": str(notes),
        "missing-folder": str(tmp_path / "nosuch" / "k.db"),
        "empty": "",
    }[kind]
    for argv in (["--db", target, "staff", "list"], ["staff", "list", "--db", target]):
        result = run(tmp_path, *argv)
        err = result.stderr.decode()
        assert result.returncode == 2, err
        assert "--db" in err and UNEXPECTED not in err
    assert notes.read_text() == "memo\n"


def test_backup_and_restore_into_a_folder_the_user_cannot_write(
    demo_path, tmp_path, call, monkeypatch
):
    """Tests run as root, who may write anywhere: os.access answers as for a normal user."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m, **kw: False if Path(p) == locked else real_access(p, m, **kw)
    )
    code, _, err = call("--db", demo_path, "backup", locked / "b.db")
    assert code == 2 and "DEST" in err and str(locked) in err
    code, _, err = call("restore", demo_path, "--to", locked / "r.db")
    assert code == 2 and "--to" in err and str(locked) in err
    code, _, err = call("init", "--db", locked / "k.db")
    assert code == 2 and "--db" in err
    assert list(locked.iterdir()) == []


# --------------------------------------------------------------------------- 7: text is text


@pytest.mark.parametrize(
    "argv",
    [
        ["import", "claims", "\x1b[31mRED.csv"],
        ["staff", "list", "\x1b[31mRED"],
        ["report", "fy", "2023", "--csv", "\x1b[2J/x.csv"],
    ],
)
def test_an_escape_sequence_in_an_argument_is_never_echoed(proc_db, tmp_path, argv):
    result = run(tmp_path, "--db", proc_db, *argv)
    assert result.returncode == 2
    assert b"\x1b" not in result.stderr + result.stdout
    assert b"\\x1b" in result.stderr or b"U+001B" in result.stderr


def test_a_forged_staff_line_is_refused_and_old_rows_are_listed_safely(proc_db, tmp_path):
    forged = "ボブ\tstaff\t有効\nmallory\t経理\tadmin"
    result = run(
        tmp_path, "--db", proc_db, "staff", "add", "bob", "--name", forged, "--role", "staff"
    )
    assert result.returncode == 2
    assert "氏名".encode() in result.stderr
    # a row stored before names were checked still prints as one line
    conn = sqlite3.connect(proc_db)
    conn.execute(
        "INSERT INTO staff (login, name, role, active, created_at) VALUES (?, ?, ?, 1, ?)",
        ("bob", forged + "\x1b[2J", "staff", "2026-01-01T00:00:00"),
    )
    conn.commit()
    conn.close()
    listed = run(tmp_path, "--db", proc_db, "staff", "list")
    assert listed.returncode == 0, listed.stderr.decode()
    lines = listed.stdout.decode().splitlines()
    assert len(lines) == 2
    assert not any(line.startswith("mallory") for line in lines)
    assert b"\x1b" not in listed.stdout


# --------------------------------------------------------------------------- 9: init is safe


def test_init_on_another_applications_database_leaves_it_alone(tmp_path):
    other = tmp_path / "crm.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customer (name) VALUES ('山田')")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    result = run(tmp_path, "init", "--db", other)
    assert result.returncode == 2
    assert b"--db" in result.stderr
    assert other.read_bytes() == before


def test_a_database_folder_open_to_everyone_is_refused_with_the_chmod(tmp_path):
    shared = tmp_path / "srv"
    shared.mkdir()
    os.chmod(shared, 0o777)
    result = run(tmp_path, "init", "--db", shared / "kyusho.db")
    assert result.returncode == 1
    assert f"chmod 2770 {shared}".encode() in result.stderr
    assert not (shared / "kyusho.db").exists()
    os.chmod(shared, 0o770)
    assert run(tmp_path, "init", "--db", shared / "kyusho.db").returncode == 0
    os.chmod(shared, 0o777)  # opened up later: every command refuses it
    result = run(tmp_path, "--db", shared / "kyusho.db", "staff", "list")
    assert result.returncode == 1 and b"chmod" in result.stderr


# --------------------------------------------------------------------------- 4: checkpoints


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_a_cut_tail_is_caught_against_a_checkpoint(demo_path, tmp_path, call):
    heads = tmp_path / "audit-heads"
    code, _, err = call("--db", demo_path, "audit", "checkpoint", heads)
    assert code == 0, err
    line = json.loads(heads.read_text().splitlines()[-1])
    assert line["seq"] > 1
    assert (os.stat(heads).st_mode & 0o777) == 0o640
    # the attacker removes the newest event and moves meta's head back to match
    conn = sqlite3.connect(demo_path)
    seq, prev = conn.execute(
        "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1 OFFSET 1"
    ).fetchone()
    conn.execute("DELETE FROM audit_event WHERE seq > ?", (seq,))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{seq}:{prev}",))
    conn.commit()
    conn.close()
    assert call("--db", demo_path, "audit", "verify")[0] == 0  # the chain alone looks intact
    code, _, err = call("--db", demo_path, "audit", "verify", "--against", heads)
    assert code == 1, err
    code, out, err = call("audit", "checkpoint", "--db", demo_path)
    assert code == 0 and json.loads(out)["seq"] == seq


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_a_checkpoint_file_cannot_be_the_database(demo_path, call):
    before = demo_path.read_bytes()
    code, _, err = call("--db", demo_path, "audit", "checkpoint", demo_path)
    assert code == 2 and "FILE" in err
    assert demo_path.read_bytes() == before
