"""Output paths, database paths and empty arguments (issue 12 points 1, 6 and 9).

Every path the product writes to is refused when it would destroy data (the live database
or its companions, by real path, even with --force; an existing file without --force; a
folder; a dangling symlink) and is written through a temporary file renamed into place.
Every bad path or empty argument exits 2 naming the argument, never 「予期しないエラー」.
Tests run as root, so a folder the user cannot write is played by patching ``os.access``.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from conftest import ADMIN

from kyusho.cli import main
from kyusho.config import Config
from kyusho.errors import InputError, KyushoError, PermissionDenied
from kyusho.files import output_path, show_text, write_atomically
from kyusho.identity import acting_as
from kyusho.services.session import open_session
from kyusho.services.staff import init_database

UNEXPECTED = "予期しないエラー"


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


def refused(result: tuple[int, str, str], field: str) -> None:
    code, out, err = result
    assert code == 2, err
    assert field in err
    assert UNEXPECTED not in err


# --------------------------------------------------------------------------- output_path


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal", "-lock"])
def test_the_database_and_its_companions_are_never_an_output_even_with_force(db_path, suffix):
    target = Path(f"{db_path}{suffix}")
    with pytest.raises(InputError, match="--csv"):
        output_path(target, "--csv", force=True, protect=[db_path])
    link = db_path.parent / "innocent.csv"
    link.symlink_to(target)  # a symlink to it, even to a companion that does not exist yet
    with pytest.raises(InputError, match="データベース"):
        output_path(link, "--csv", force=True, protect=[db_path])


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_the_database_reached_through_another_folder_name_is_refused(db_path, tmp_path):
    alias = tmp_path / "alias"
    alias.symlink_to(db_path.parent)
    with pytest.raises(InputError, match="データベース"):
        output_path(alias / db_path.name, "DEST", force=True, protect=[db_path])


def test_an_existing_file_needs_force(tmp_path):
    f = tmp_path / "report.csv"
    f.write_text("keep")
    with pytest.raises(InputError, match="--force"):
        output_path(f, "--csv")
    assert output_path(f, "--csv", force=True) == f


def test_folders_dangling_symlinks_and_missing_folders_are_refused(tmp_path):
    with pytest.raises(InputError, match="フォルダです"):
        output_path(tmp_path, "--csv", force=True)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere" / "x.csv")
    with pytest.raises(InputError, match="リンク先のない"):
        output_path(dangling, "--csv", force=True)
    with pytest.raises(InputError, match="がありません"):
        output_path(tmp_path / "nosuch" / "x.csv", "--csv")


def test_a_symlink_to_a_file_needs_force_and_then_replaces_the_target(tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    with pytest.raises(InputError, match="シンボリックリンク"):
        output_path(link, "--csv")
    dest = output_path(link, "--csv", force=True)
    write_atomically(dest, b"new", field="--csv")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_a_folder_the_user_cannot_write_is_named(tmp_path, monkeypatch):
    real_access = os.access
    folder = tmp_path / "ro"
    folder.mkdir()
    monkeypatch.setattr(
        os, "access", lambda p, m, **kw: False if Path(p) == folder else real_access(p, m, **kw)
    )
    with pytest.raises(InputError, match=f"フォルダ {folder} に書き込む権限"):
        output_path(folder / "x.csv", "--csv")


def test_write_atomically_leaves_the_whole_file_group_only_and_no_temporary(tmp_path):
    dest = tmp_path / "out.csv"
    dest.write_bytes(b"old contents")
    write_atomically(dest, b"a,b\n1,2\n", field="--csv")
    assert dest.read_bytes() == b"a,b\n1,2\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o660
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_an_interrupted_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    dest = tmp_path / "out.csv"
    dest.write_bytes(b"old")

    def fail(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(KyushoError, match="--csv"):
        write_atomically(dest, b"new", field="--csv")
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_show_text_makes_control_characters_visible():
    assert show_text("\x1b[31mRED\tx\ny\x7f") == "\\x1b[31mRED\\tx\\ny\\x7f"
    assert show_text("株式会社サンプル") == "株式会社サンプル"


# --------------------------------------------------------------------------- CLI paths


def test_report_csv_over_an_existing_file_needs_force(db_path, tmp_path, call):
    out = tmp_path / "fy.csv"
    out.write_text("keep me")
    refused(call("--db", db_path, "report", "fy", "2023", "--csv", out), "--csv")
    assert out.read_text() == "keep me"
    code, _, err = call("--db", db_path, "report", "fy", "2023", "--csv", out, "--force")
    assert code == 0, err
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(out.stat().st_mode) == 0o660


@pytest.mark.parametrize("kind", ["folder", "text", "missing-folder"])
def test_a_bad_db_path_exits_2_naming_db(tmp_path, call, kind):
    target = {
        "folder": tmp_path,
        "text": tmp_path / "notes.txt",
        "missing-folder": tmp_path / "nosuch" / "k.db",
    }[kind]
    if kind == "text":
        target.write_text("これはメモです\n")
    refused(call("--db", target, "staff", "list"), "--db")
    refused(call("claim", "show", "R5-000001", "--db", target), "--db")
    if kind == "text":
        assert target.read_text() == "これはメモです\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["--db", "", "staff", "list"],
        ["staff", "list", "--db", ""],
        ["--config", "", "staff", "list"],
        ["report", "fy", "2023", "--csv", ""],
    ],
)
def test_empty_arguments_are_refused_not_ignored(db_path, call, argv):
    field = next(a for a in argv if a.startswith("--") and argv[argv.index(a) + 1] == "")
    if "--db" not in argv:
        argv = ["--db", str(db_path), *argv]
    refused(call(*argv), field)


def test_a_home_folder_of_nobody_in_the_configuration_exits_2(tmp_path, call):
    cfg = tmp_path / "k.toml"
    cfg.write_text('[database]\npath = "~nosuch-user-kyusho/x.db"\n', encoding="utf-8")
    refused(call("--config", cfg, "staff", "list"), "database.path")


def test_global_options_work_after_the_audit_subcommands(db_path, tmp_path, call):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    os.chdir(elsewhere)  # no kyusho.db here: only --db can find the database
    heads = tmp_path / "heads"
    code, _, err = call("audit", "checkpoint", heads, "--db", db_path)
    assert code == 0, err
    code, out, err = call("audit", "verify", "--against", heads, "--db", db_path)
    assert code == 0, err
    code, out, err = call("audit", "--db", db_path, "checkpoint")
    assert code == 0 and out.startswith("{"), err


# --------------------------------------------------------------------------- init and folders


def test_init_into_a_folder_the_user_cannot_write_exits_2(tmp_path, call, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m, **kw: False if Path(p) == tmp_path else real_access(p, m, **kw)
    )
    refused(call("init", "--db", tmp_path / "k.db"), "--db")
    assert not (tmp_path / "k.db").exists()


def test_init_refuses_a_folder_others_can_read_and_gives_the_chmod(tmp_path, call):
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o755)
    code, _, err = call("init", "--db", folder / "k.db")
    assert code == 1 and "chmod 2770" in err and str(folder) in err
    assert not (folder / "k.db").exists()


@pytest.mark.sqlite_only(reason="SQLite のデータベースファイル（WAL・権限・フォルダ）について")
def test_opening_refuses_a_folder_others_can_write(db_path, call):
    os.chmod(db_path.parent, 0o777)
    try:
        with pytest.raises(PermissionDenied, match="chmod"):
            open_session(Config(db_path=db_path), db_path, login=ADMIN)
        code, _, err = call("--db", db_path, "staff", "list")
        assert code == 1 and "chmod" in err
    finally:
        os.chmod(db_path.parent, 0o700)


def test_init_refuses_a_text_file_and_leaves_it(tmp_path, call):
    notes = tmp_path / "notes.txt"
    notes.write_text("大事なメモ\n")
    refused(call("init", "--db", notes), "--db")
    assert notes.read_text() == "大事なメモ\n"


def test_init_refuses_another_applications_sqlite_database_untouched(tmp_path, call):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    refused(call("init", "--db", other), "--db")
    assert other.read_bytes() == before
    conn = sqlite3.connect(other)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["customers"]
    conn.close()


def test_init_is_one_transaction(tmp_path, monkeypatch):
    """A failure while recording the first admin leaves no half-made database behind."""
    path = tmp_path / "k.db"

    def boom(*a, **kw):
        raise RuntimeError("killed here")

    monkeypatch.setattr("kyusho.services.staff.audit.record", boom)
    with pytest.raises(RuntimeError):
        init_database(path, ADMIN, "管理者")
    conn = sqlite3.connect(path)
    assert list(conn.execute("SELECT name FROM sqlite_master")) == []
    conn.close()
    monkeypatch.undo()
    init_database(path, ADMIN, "管理者")  # and init can simply be run again
    session = open_session(Config(db_path=path), path, login=ADMIN)
    assert session.role == "admin"
