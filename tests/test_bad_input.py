"""Bad input is refused with a message naming the field, stores nothing, crashes nothing (SPEC 6.4).

The parsers themselves (amounts, rates, dates, CSV cells, configuration integers and rates)
are fuzzed in test_money, test_dates, test_csvparse, test_imports and test_config. This file
adds the other input paths: command-line arguments, configuration strings and whole files,
the TUI's form fields and its search box. Random text goes in; what comes out is either a
normal result or a refusal that names the argument or field, with exit status 2 on the
command line, nothing stored, and never a traceback or the "unexpected error" message.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, TODAY
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from procs.worker import setup_database

from kyusho.cli import main
from kyusho.config import parse_config
from kyusho.errors import InputError
from kyusho.files import show_text
from kyusho.identity import acting_as
from kyusho.services.claims import ClaimQuery, count_claims, search_claims
from screens.form import Field, parse_field

CLAIMS = ["R5-000001", "R5-000002"]
UNEXPECTED = "予期しないエラー"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written into the test's working folder
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# What a shell can hand over as one argument: any text without NUL. (Bytes that are not
# UTF-8 arrive as surrogates; they are a known bug, tested separately below.)
ARG = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
# a file name component the OS accepts (NAME_MAX is 255 bytes; a kanji is 3 bytes in UTF-8);
# a leading "~" (another user's home) is a known bug, tested separately below
NAME = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"),
    min_size=1,
    max_size=60,
).filter(lambda name: not name.startswith("~"))


@pytest.fixture(autouse=True)
def _away_from_repo(tmp_path, monkeypatch):
    """In-process runs must not pick up the repository's ./kyusho.toml."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli_db(tmp_path) -> Path:
    path = tmp_path / "k.db"
    setup_database(path, CLAIMS, login=ADMIN, today=TODAY, subrogated=date(2023, 4, 10))
    return path


def kyusho(*argv: Any) -> tuple[int, str, str]:
    """`kyusho ARGV` in-process as ADMIN: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), acting_as(ADMIN):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def fingerprint(db: Path, folder: Path) -> tuple[Any, ...]:
    """Everything a refused command must leave as it was: the data, the audit head, the files."""
    conn = sqlite3.connect(str(db))
    try:
        counts = tuple(
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("claim", "obligor", "ledger_entry", "limitation_event", "staff")
        )
        head = conn.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    finally:
        conn.close()
    files = tuple(sorted(p.name for p in folder.iterdir() if not p.name.startswith("k.db")))
    return counts, head, files


def assert_refused(code: int, out: str, err: str, *names: str) -> None:
    """Exit 2, a message naming the argument, no output, no traceback."""
    assert code == 2, (code, err)
    assert any(name in err for name in names), err
    assert out == ""
    assert "Traceback" not in err and UNEXPECTED not in err, err


# --------------------------------------------------------------------------- CLI arguments


@FUZZ
@given(text=ARG)
@example(text="2023-02-30")
@example(text="-1")
@example(text="R99.1.1")
def test_claim_show_as_of_garbage_is_refused_naming_the_option(cli_db, tmp_path, text):
    before = fingerprint(cli_db, tmp_path)
    code, out, err = kyusho("--db", cli_db, "claim", "show", CLAIMS[0], f"--as-of={text}", "--json")
    if code == 0:  # it was a date after all
        assert '"as_of"' in out
    else:
        assert_refused(code, out, err, "--as-of")
    assert fingerprint(cli_db, tmp_path) == before


def small_or_not_a_number(text: str) -> bool:
    """Leave out huge day counts: they hit a known bug, tested by itself below."""
    try:
        return abs(int(text)) < 1_000_000
    except ValueError:
        return True


@FUZZ
@given(within=ARG.filter(small_or_not_a_number), as_of=st.one_of(st.none(), ARG))
@example(within="-5", as_of=None)
@example(within="1e3", as_of=None)
@example(within="30", as_of="令和8年13月1日")
def test_limitation_due_garbage_is_refused_naming_the_option(cli_db, tmp_path, within, as_of):
    before = fingerprint(cli_db, tmp_path)
    argv = ["--db", cli_db, "limitation", "due", f"--within={within}", "--json"]
    if as_of is not None:
        argv.append(f"--as-of={as_of}")
    code, out, err = kyusho(*argv)
    if code == 0:
        assert out.lstrip().startswith("[")
    else:
        assert_refused(code, out, err, "--within", "--as-of")
    assert fingerprint(cli_db, tmp_path) == before


@FUZZ
@given(claim_no=ARG)
@example(claim_no="")
@example(claim_no=" ")
@example(claim_no="-R5-000001")
def test_unknown_claim_numbers_are_named_in_the_refusal(cli_db, tmp_path, claim_no):
    before = fingerprint(cli_db, tmp_path)
    code, out, err = kyusho("--db", cli_db, "claim", "show", "--json", "--", claim_no)
    if code == 0:  # the text normalises to an existing claim number
        assert any(no in out for no in CLAIMS)
    else:
        assert code in (1, 2), err  # 1: not found (SPEC 5.2 "other failures")
        shown = show_text(claim_no.strip())  # control characters and backslashes escaped
        assert "求償権番号" in err and (shown in err or "（U+" in err), err
        assert out == "" and "Traceback" not in err and UNEXPECTED not in err
    assert fingerprint(cli_db, tmp_path) == before


@FUZZ
@given(kind=st.sampled_from(["claims", "obligors", "receipts", "events", "contacts"]), name=NAME)
@example(kind="claims", name=".")
@example(kind="receipts", name="..")
def test_import_of_a_file_that_cannot_be_read_is_refused(cli_db, tmp_path, kind, name):
    assume(not (tmp_path / name).is_file())
    before = fingerprint(cli_db, tmp_path)
    code, out, err = kyusho("--db", cli_db, "import", kind, "--", name)
    assert_refused(code, out, err, "ファイル")
    assert fingerprint(cli_db, tmp_path) == before


@FUZZ
@given(name=NAME)
@example(name=".")  # "no-such-folder/." once became a file named no-such-folder
@example(name="..")
def test_backup_into_a_missing_folder_is_refused(cli_db, tmp_path, name):
    before = fingerprint(cli_db, tmp_path)
    code, out, err = kyusho("--db", cli_db, "backup", "--", f"no-such-folder/{name}")
    assert_refused(code, out, err, "DEST")
    assert fingerprint(cli_db, tmp_path) == before


def test_backup_over_an_existing_file_is_refused(cli_db, tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("大事なファイル", encoding="utf-8")
    code, out, err = kyusho("--db", cli_db, "backup", keep)
    assert_refused(code, out, err, "DEST")
    assert keep.read_text(encoding="utf-8") == "大事なファイル"


@FUZZ
@given(name=NAME)
def test_restore_from_a_missing_file_is_refused(cli_db, tmp_path, name):
    assume(not (tmp_path / name).exists())
    before = fingerprint(cli_db, tmp_path)
    code, out, err = kyusho("restore", "--to", tmp_path / "new.db", "--", name)
    assert_refused(code, out, err, "SRC")
    assert fingerprint(cli_db, tmp_path) == before


@FUZZ
@given(count=ARG)
@example(count="0")
@example(count="50001")
@example(count="十")
def test_demo_claim_count_garbage_is_refused(cli_db, tmp_path, count):
    # --db names an existing file, so even a good count builds nothing
    before = fingerprint(cli_db, tmp_path)
    code, out, err = kyusho("demo", f"--claims={count}", "--no-tui", "--db", cli_db)
    assert_refused(code, out, err, "--claims", "--db")
    try:
        good = 1 <= int(count) <= 50_000
    except ValueError:
        good = False
    if not good:
        assert "--claims" in err
    assert fingerprint(cli_db, tmp_path) == before


# --------------------------------------------------------------------------- configuration


@FUZZ
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=80))
@example(text="[database]\npath = 5\n")
@example(text="[display]\ndates = 'western'\n")
@example(text="[keymap]\n'app.help' = 'F1!'\n")
@example(text="policy = [1, 2]\n")
@example(text="[policy]\ndamages_rate = '14.0'\ndamages_rate = '14.6'\n")
def test_a_config_file_of_random_text_is_refused_or_read(cli_db, tmp_path, text):
    cfg = tmp_path / "random.toml"
    cfg.write_text(text, encoding="utf-8")
    before = fingerprint(cli_db, tmp_path)
    code, out, err = kyusho("--config", cfg, "--db", cli_db, "staff", "list")
    if code != 0:
        assert code == 2, err
        assert out == "" and "Traceback" not in err and UNEXPECTED not in err, err
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            assert err.startswith(f"kyusho: {cfg}: "), err  # not TOML: the file is named
        else:  # TOML with a bad key or value: that key is named
            assert any(err.startswith(f"kyusho: {key}") for key in document), err
    assert fingerprint(cli_db, tmp_path) == before


STRING_KEYS = {
    "display.dates": lambda c: c.dates,
    "display.theme": lambda c: c.theme,
    "database.path": lambda c: c.db_path,
    "policy.approval.min_role": lambda c: c.policy.approval.min_role,
    "policy.approval.min_role_high": lambda c: c.policy.approval.min_role_high,
    "keymap.app.help": lambda c: c.keymap["app.help"],
}


def nested(key: str, value: Any) -> dict[str, Any]:
    """{"a.b.c": v} as TOML tables; a keymap id keeps its dots (it is one quoted key)."""
    parts = key.split(".")
    if parts[0] == "keymap":
        parts = ["keymap", ".".join(parts[1:])]
    out: Any = value
    for part in reversed(parts):
        out = {part: out}
    return out


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from(sorted(STRING_KEYS)),
    value=st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
        st.sampled_from(["wareki", "iso", "manager", "admin", "staff", "f1", "ctrl+r,f5"]),
        st.integers(),
        st.booleans(),
        st.lists(st.text(max_size=3), max_size=2),
    ),
)
def test_string_config_values_are_read_or_refused_naming_the_key(key, value):
    try:
        config = parse_config(nested(key, value))
    except InputError as exc:
        assert exc.field == key
        assert exc.message
        return
    assert isinstance(value, str) and value.strip()
    got = STRING_KEYS[key](config)
    if key == "database.path":
        assert isinstance(got, Path)
    elif key.startswith("keymap."):
        assert got == value.replace(" ", "")
    else:
        assert got == value


# --------------------------------------------------------------------------- TUI input


FIELDS = [
    Field("amount", "金額", "amount"),
    Field("on", "入金日", "date"),
    Field("at", "日時", "datetime"),
    Field("note", "内容", "text"),
    Field("last", "最終月", "date", required=False),
    Field("payer", "入金者", "select", options=[("株式会社テスト", 1)]),
]
KIND_TYPES = {"amount": int, "date": date, "text": str}


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(FIELDS), raw=st.one_of(st.text(), st.none()))
@example(field=FIELDS[0], raw="１２，３４５円")
@example(field=FIELDS[0], raw="1.5")
@example(field=FIELDS[1], raw="令和8年2月30日")
@example(field=FIELDS[2], raw="2026-11-22 25:00")
def test_form_fields_give_a_value_or_an_error_naming_the_field(field, raw):
    try:
        value = parse_field(field, raw)
    except InputError as exc:
        assert exc.field == field.label
        assert exc.message
        return
    if value is None:
        assert not field.required or field.kind == "select"
    elif field.kind in KIND_TYPES:
        assert isinstance(value, KIND_TYPES[field.kind])
        if field.kind == "amount":
            assert type(value) is int and value >= 1


DAY = Field("due_day", "支払日", "int", default="27")


def no_odd_digits(text: str) -> bool:
    """Leave out digits that are not decimal digits (², ①): a known bug, tested below."""
    return not any(c.isdigit() and not c.isdecimal() for c in text)


@settings(max_examples=200, deadline=None)
@given(raw=st.text().filter(no_odd_digits))
@example(raw="３１")
@example(raw="-1")
@example(raw="27日")
def test_an_integer_form_field_gives_an_int_or_an_error_naming_it(raw):
    try:
        value = parse_field(DAY, raw)
    except InputError as exc:
        assert exc.field == "支払日"
        return
    assert type(value) is int and value >= 0


@pytest.mark.parametrize("raw", ["²", "①", "1²"])
def test_superscript_digits_in_an_integer_field_are_refused_naming_it(raw):
    with pytest.raises(InputError) as info:
        parse_field(DAY, raw)
    assert info.value.field == "支払日"


@FUZZ
@given(text=st.text(max_size=20))
@example(text="%")
@example(text="_")
@example(text="R5-")
@example(text="\U0010ffff")
def test_any_text_in_the_claim_search_box_just_finds_claims(cli_db, text):
    from kyusho.services.session import open_session

    with acting_as(ADMIN):
        from kyusho.config import Config

        session = open_session(Config(db_path=cli_db), cli_db)
    try:
        query = ClaimQuery(text=text)
        count = count_claims(query)
        rows = search_claims(query, 0, 10)
        assert 0 <= count <= len(CLAIMS)
        assert len(rows) == count
    finally:
        session.db.close()


# --------------------------------------------------------------------------- known bugs


@pytest.mark.parametrize("within", ["99999999999", "3000000"])
def test_a_huge_limitation_window_is_refused_naming_the_option(cli_db, within):
    code, out, err = kyusho("--db", cli_db, "limitation", "due", "--within", within)
    assert_refused(code, out, err, "--within")


def test_a_claim_number_that_is_not_utf8_is_refused_naming_it(cli_db):
    code, out, err = kyusho("--db", cli_db, "claim", "show", "\udcff")
    assert code in (1, 2)
    assert "求償権番号" in err and UNEXPECTED not in err, err


def test_restoring_a_file_that_is_not_a_backup_is_refused_naming_it(tmp_path):
    src = tmp_path / "notes.db"
    src.write_bytes(b"this is not a database\n" * 100)
    code, out, err = kyusho("restore", src, "--to", tmp_path / "new.db")
    assert_refused(code, out, err, "SRC")
    assert not (tmp_path / "new.db").exists()


@pytest.mark.parametrize("where", ["DEST", "--db"])
def test_a_path_too_long_for_the_os_is_refused_naming_the_argument(cli_db, tmp_path, where):
    long = "長" * 100  # 300 bytes in UTF-8
    if where == "DEST":
        code, out, err = kyusho("--db", cli_db, "backup", long)
    else:
        code, out, err = kyusho("--db", long, "staff", "list")
    assert code in (1, 2)
    assert where in err and UNEXPECTED not in err, err


def test_a_config_file_that_is_not_utf8_is_refused_naming_it(cli_db, tmp_path):
    cfg = tmp_path / "sjis.toml"
    cfg.write_bytes('[display]\n# 和暦で表示\ndates = "wareki"\n'.encode("cp932"))
    code, out, err = kyusho("--config", cfg, "--db", cli_db, "staff", "list")
    assert_refused(code, out, err, str(cfg))


def test_a_database_path_with_a_nul_is_refused_naming_the_key(tmp_path):
    cfg = tmp_path / "nul.toml"
    cfg.write_text('[database]\npath = "a\\u0000b.db"\n', encoding="utf-8")
    code, out, err = kyusho("--config", cfg, "staff", "list")
    assert_refused(code, out, err, "database.path")


@pytest.mark.parametrize("where", ["SRC", "DEST", "--db"])
def test_a_home_folder_of_no_such_user_is_refused_naming_the_argument(cli_db, tmp_path, where):
    missing = "~no-such-user-kyusho/k.db"
    if where == "SRC":
        code, out, err = kyusho("restore", missing, "--to", tmp_path / "new.db")
    elif where == "DEST":
        code, out, err = kyusho("--db", cli_db, "backup", missing)
    else:
        code, out, err = kyusho("--db", missing, "staff", "list")
    assert code in (1, 2)
    assert where in err and UNEXPECTED not in err, err
