"""Configuration (SPEC 5.3): where kyusho.toml is found, its defaults, and strict validation.

A 協会's IT staff must be able to trust that the file they edited is the one in force, that
every documented key does what it says, and that a typo stops kyusho with the key's name
instead of silently falling back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyusho import config as config_mod
from kyusho.config import (
    PLAN_ITEMS,
    ApprovalPolicy,
    Config,
    PartialReleasePolicy,
    Policy,
    find_config,
    load_config,
    parse_config,
)
from kyusho.errors import InputError

REPO_TOML = Path(__file__).resolve().parent.parent / "kyusho.toml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def marked(path: Path, grace: int) -> Path:
    """A config file recognisable by its plan_grace_days."""
    return write(path, f"[policy]\nplan_grace_days = {grace}\n")


def nested(dotted: str, value: Any) -> dict[str, Any]:
    """{"a": {"b": value}} from "a.b" (what tomllib gives for a table)."""
    out: Any = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


def field_of(data: dict[str, Any]) -> str:
    with pytest.raises(InputError) as info:
        parse_config(data)
    return info.value.field


# --------------------------------------------------------------------------- lookup order


@pytest.fixture
def places(tmp_path, monkeypatch):
    """One candidate file per place in the lookup order, each with its own plan_grace_days."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    files = {
        "explicit": marked(tmp_path / "explicit" / "k.toml", 1),
        "env": marked(tmp_path / "env" / "k.toml", 2),
        "cwd": marked(cwd / "kyusho.toml", 3),
        "user": marked(tmp_path / "user" / "kyusho.toml", 4),
        "system": marked(tmp_path / "etc" / "kyusho.toml", 5),
    }
    monkeypatch.setenv("KYUSHO_CONFIG", str(files["env"]))
    monkeypatch.setattr(config_mod, "user_config_path", lambda: files["user"])
    monkeypatch.setattr(config_mod, "SYSTEM_CONFIG", files["system"])
    return cwd, files


def test_explicit_config_wins_over_everything(places):
    cwd, files = places
    cfg = load_config(str(files["explicit"]), cwd=cwd)
    assert cfg.source == files["explicit"]
    assert cfg.policy.plan_grace_days == 1


def test_environment_variable_comes_second(places):
    cwd, files = places
    cfg = load_config(None, cwd=cwd)
    assert cfg.source == files["env"]
    assert cfg.policy.plan_grace_days == 2


def test_current_directory_comes_third(places, monkeypatch):
    cwd, files = places
    monkeypatch.delenv("KYUSHO_CONFIG")
    cfg = load_config(None, cwd=cwd)
    assert cfg.source == files["cwd"]
    assert cfg.policy.plan_grace_days == 3


def test_user_config_dir_comes_fourth(places, monkeypatch):
    cwd, files = places
    monkeypatch.delenv("KYUSHO_CONFIG")
    files["cwd"].unlink()
    cfg = load_config(None, cwd=cwd)
    assert cfg.source == files["user"]
    assert cfg.policy.plan_grace_days == 4


def test_system_config_comes_last(places, monkeypatch):
    cwd, files = places
    monkeypatch.delenv("KYUSHO_CONFIG")
    files["cwd"].unlink()
    files["user"].unlink()
    cfg = load_config(None, cwd=cwd)
    assert cfg.source == files["system"]
    assert cfg.policy.plan_grace_days == 5


def test_no_file_anywhere_gives_the_defaults(places, monkeypatch):
    cwd, files = places
    monkeypatch.delenv("KYUSHO_CONFIG")
    for name in ("cwd", "user", "system"):
        files[name].unlink()
    assert find_config(None, cwd=cwd) is None
    assert load_config(None, cwd=cwd) == Config()


def test_files_are_not_merged(places):
    """The first file found is used whole: a key missing there is the default, not the next file's."""
    cwd, files = places
    write(files["user"], '[display]\ndates = "iso"\n')
    cfg = load_config(None, cwd=cwd)
    assert cfg.source == files["env"]
    assert cfg.dates == "wareki"


def test_missing_explicit_config_is_an_error_naming_the_option(tmp_path):
    with pytest.raises(InputError) as info:
        load_config(str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert info.value.field == "--config"
    assert "nope.toml" in info.value.message


def test_missing_env_config_is_an_error_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("KYUSHO_CONFIG", str(tmp_path / "gone.toml"))
    write(tmp_path / "kyusho.toml", "")  # would be next in line: must not be used instead
    with pytest.raises(InputError) as info:
        load_config(None, cwd=tmp_path)
    assert info.value.field == "KYUSHO_CONFIG"
    assert "gone.toml" in info.value.message


# --------------------------------------------------------------------------- defaults and keys


def test_defaults_are_those_of_spec_5_3():
    cfg = parse_config({})
    assert cfg.db_path == Path("kyusho.db")
    assert cfg.db_url is None
    assert cfg.dates == "wareki"
    p = cfg.policy
    assert p.damages_rate == Decimal("14.0")
    assert isinstance(p.damages_rate, Decimal)
    assert p.limitation_alert_days == 180
    assert p.plan_grace_days == 10
    assert p.small_balance_yen == 300000
    assert p.small_balance_quiet_months == 24
    assert p.suspension_review_months == 12
    assert p.means_test_valid_months == 12
    assert p.approval == ApprovalPolicy(min_role="manager", min_role_high="manager")
    assert p.partial_release == PartialReleasePolicy(min_paying_years=3, max_gap_days=95)
    assert cfg.plans == {}
    assert cfg.keymap == {}


def test_every_key_is_parsed(tmp_path):
    text = """
[database]
path = "/srv/kyusho/shared.db"
[display]
dates = "iso"
theme = "nord"
refresh_seconds = 7
[policy]
damages_rate = "14.6"
limitation_alert_days = 90
plan_grace_days = 5
small_balance_yen = 150000
small_balance_quiet_months = 36
suspension_review_months = 6
means_test_valid_months = 18
[policy.approval]
min_role = "admin"
min_role_high = "admin"
[policy.partial_release]
min_paying_years = 5
max_gap_days = 60
[plan.FY2025]
subrogation = 3300
recovery = 400
suspension = 1
write_off = 2
partial_release = 3
gl_release = 4
waiver = 5
outstanding = 9000
[plan.FY2026]
recovery = 420
[keymap]
"app.help" = "f1,question_mark"
"claims.search" = "slash, ctrl+f"
"""
    path = write(tmp_path / "kyusho.toml", text)
    cfg = load_config(str(path))
    assert cfg == Config(
        db_path=Path("/srv/kyusho/shared.db"),
        db_url=None,
        dates="iso",
        theme="nord",
        refresh_seconds=7,
        policy=Policy(
            damages_rate=Decimal("14.6"),
            limitation_alert_days=90,
            plan_grace_days=5,
            small_balance_yen=150000,
            small_balance_quiet_months=36,
            suspension_review_months=6,
            means_test_valid_months=18,
            approval=ApprovalPolicy(min_role="admin", min_role_high="admin"),
            partial_release=PartialReleasePolicy(min_paying_years=5, max_gap_days=60),
        ),
        plans={
            2025: {
                "subrogation": 3300,
                "recovery": 400,
                "suspension": 1,
                "write_off": 2,
                "partial_release": 3,
                "gl_release": 4,
                "waiver": 5,
                "outstanding": 9000,
            },
            2026: {"recovery": 420},
        },
        keymap={"app.help": "f1,question_mark", "claims.search": "slash,ctrl+f"},
        source=path,
    )


def test_relative_database_path_is_relative_to_the_config_file(tmp_path):
    path = write(tmp_path / "etc" / "kyusho.toml", '[database]\npath = "data/kyusho.db"\n')
    cfg = load_config(str(path), cwd=tmp_path / "elsewhere")
    assert cfg.db_path == tmp_path / "etc" / "data" / "kyusho.db"


def test_default_database_path_sits_next_to_the_config_file(tmp_path):
    path = write(tmp_path / "conf" / "kyusho.toml", "")
    assert load_config(str(path)).db_path == tmp_path / "conf" / "kyusho.db"


def test_absolute_database_path_is_kept(tmp_path):
    target = tmp_path / "abs" / "k.db"
    path = write(tmp_path / "kyusho.toml", f'[database]\npath = "{target}"\n')
    assert load_config(str(path)).db_path == target


def test_home_in_database_path_is_expanded(tmp_path):
    path = write(tmp_path / "kyusho.toml", '[database]\npath = "~/k.db"\n')
    assert load_config(str(path)).db_path == Path("~/k.db").expanduser()


def test_postgresql_url_is_taken_and_a_bad_one_names_database_url(tmp_path):
    """database.url selects PostgreSQL; what is not a PostgreSQL URL (or carries a password)
    is refused naming the key, never silently replaced by the SQLite file."""
    path = tmp_path / "kyusho.toml"
    path.write_text('[database]\nurl = "postgresql:///kyusho"\n', encoding="utf-8")
    assert load_config(str(path)).db_url == "postgresql:///kyusho"
    assert field_of({"database": {"url": "mysql://db/kyusho"}}) == "database.url"
    assert field_of({"database": {"url": "postgresql://u:secret@db/kyusho"}}) == "database.url"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"databse": {}}, "databse"),
        ({"database": {"file": "x.db"}}, "database.file"),
        ({"display": {"colour": "red"}}, "display.colour"),
        ({"policy": {"damage_rate": "14.0"}}, "policy.damage_rate"),
        ({"policy": {"approval": {"min_rol": "admin"}}}, "policy.approval.min_rol"),
        ({"policy": {"partial_release": {"years": 3}}}, "policy.partial_release.years"),
        ({"plan": {"FY2025": {"revenue": 10}}}, "plan.FY2025.revenue"),
    ],
)
def test_unknown_keys_are_rejected_by_name(data, key):
    assert field_of(data) == key


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"policy": {"damages_rate": 14}}, "policy.damages_rate"),  # a number, not a string
        ({"policy": {"damages_rate": "fourteen"}}, "policy.damages_rate"),
        ({"policy": {"damages_rate": "0"}}, "policy.damages_rate"),
        ({"policy": {"damages_rate": "-14.0"}}, "policy.damages_rate"),
        ({"policy": {"damages_rate": "NaN"}}, "policy.damages_rate"),
        ({"policy": {"damages_rate": "Infinity"}}, "policy.damages_rate"),
        ({"policy": {"damages_rate": "100"}}, "policy.damages_rate"),
        ({"policy": {"damages_rate": ""}}, "policy.damages_rate"),
        ({"policy": {"limitation_alert_days": "180"}}, "policy.limitation_alert_days"),
        ({"policy": {"limitation_alert_days": 0}}, "policy.limitation_alert_days"),
        ({"policy": {"plan_grace_days": -1}}, "policy.plan_grace_days"),
        ({"policy": {"plan_grace_days": True}}, "policy.plan_grace_days"),
        ({"policy": {"small_balance_yen": -300000}}, "policy.small_balance_yen"),
        ({"policy": {"small_balance_yen": "300,000"}}, "policy.small_balance_yen"),
        ({"policy": {"suspension_review_months": 0}}, "policy.suspension_review_months"),
        ({"policy": {"approval": {"min_role": "staff"}}}, "policy.approval.min_role"),
        ({"policy": {"approval": {"min_role": "boss"}}}, "policy.approval.min_role"),
        ({"policy": {"approval": {"min_role_high": "staff"}}}, "policy.approval.min_role_high"),
        ({"policy": {"approval": "manager"}}, "policy.approval"),
        (
            {"policy": {"partial_release": {"max_gap_days": 0}}},
            "policy.partial_release.max_gap_days",
        ),
        (
            {"policy": {"partial_release": {"min_paying_years": -3}}},
            "policy.partial_release.min_paying_years",
        ),
        ({"policy": 5}, "policy"),
        ({"display": {"dates": "western"}}, "display.dates"),
        ({"display": {"refresh_seconds": 0}}, "display.refresh_seconds"),
        ({"display": {"theme": ""}}, "display.theme"),
        ({"database": {"path": ""}}, "database.path"),
        ({"database": {"path": 5}}, "database.path"),
        ({"plan": {"FY25": {"recovery": 400}}}, "plan.FY25"),
        ({"plan": {"2025": {"recovery": 400}}}, "plan.2025"),
        ({"plan": {"FY2025": 400}}, "plan.FY2025"),
        ({"plan": {"FY2025": {"recovery": -1}}}, "plan.FY2025.recovery"),
        ({"plan": {"FY2025": {"recovery": "400"}}}, "plan.FY2025.recovery"),
        ({"keymap": {"app.help": 5}}, "keymap.app.help"),
        ({"keymap": {"app.help": ""}}, "keymap.app.help"),
        ({"keymap": {"app.help": "F1!"}}, "keymap.app.help"),
        ({"keymap": "f1"}, "keymap"),
    ],
)
def test_bad_values_are_rejected_by_key(data, key):
    assert field_of(data) == key


def test_error_message_says_what_is_expected():
    with pytest.raises(InputError) as info:
        parse_config({"display": {"dates": "western"}})
    assert "wareki" in info.value.message and "iso" in info.value.message
    assert str(info.value).startswith("display.dates: ")


def test_fractional_number_for_an_integer_key_is_refused(tmp_path):
    """`small_balance_yen = 300000.5` in TOML must not become a non-integer amount."""
    path = write(tmp_path / "kyusho.toml", "[policy]\nsmall_balance_yen = 300000.5\n")
    with pytest.raises(InputError) as info:
        load_config(str(path))
    assert info.value.field == "policy.small_balance_yen"


def test_broken_toml_is_reported_with_the_file_name(tmp_path):
    path = write(tmp_path / "broken-kyusho.toml", "[policy\ndamages_rate = 14.0\n")
    with pytest.raises(InputError) as info:
        load_config(str(path))
    assert "broken-kyusho.toml" in str(info.value)
    assert "TOML" in info.value.message


def test_unreadable_config_is_an_input_error(tmp_path):
    path = write(tmp_path / "kyusho.toml", "")
    path.unlink()
    path.mkdir()  # a directory where the file should be
    with pytest.raises(InputError):
        load_config(str(path))


def test_keymap_ids_with_dots_need_quotes_in_toml(tmp_path):
    """The documented form `"app.help" = "f1"` maps the binding id as written."""
    path = write(tmp_path / "kyusho.toml", '[keymap]\n"app.help" = "f1"\n')
    assert load_config(str(path)).keymap == {"app.help": "f1"}


def test_keymap_unquoted_dotted_id_is_accepted(tmp_path):
    path = write(tmp_path / "kyusho.toml", '[keymap]\napp.help = "f1"\n')
    assert load_config(str(path)).keymap == {"app.help": "f1"}


# --------------------------------------------------------------------------- repository file


def test_repository_kyusho_toml_documents_exactly_the_defaults():
    """The shipped kyusho.toml and the code's defaults can never drift apart."""
    assert REPO_TOML.is_file(), "the repository must ship kyusho.toml (SPEC 5.3)"
    with REPO_TOML.open("rb") as fh:
        cfg = parse_config(tomllib.load(fh), source=REPO_TOML)
    assert cfg.source == REPO_TOML
    assert cfg.db_path == REPO_TOML.parent / "kyusho.db"
    default = Config()
    assert dataclasses.replace(cfg, source=None, db_path=default.db_path) == default


def test_repository_kyusho_toml_mentions_every_key():
    text = REPO_TOML.read_text(encoding="utf-8")
    keys = [
        "[database]",
        "path",
        "url",
        "[display]",
        "dates",
        "theme",
        "refresh_seconds",
        "[policy]",
        *(
            f.name
            for f in dataclasses.fields(Policy)
            if f.name not in ("approval", "partial_release")
        ),
        "[policy.approval]",
        *(f.name for f in dataclasses.fields(ApprovalPolicy)),
        "[policy.partial_release]",
        *(f.name for f in dataclasses.fields(PartialReleasePolicy)),
        "[plan.FY",
        *PLAN_ITEMS,
        "[keymap]",
    ]
    missing = [k for k in keys if k not in text]
    assert missing == []


# --------------------------------------------------------------------------- properties

INT_KEYS = {
    "policy.limitation_alert_days": lambda c: c.policy.limitation_alert_days,
    "policy.plan_grace_days": lambda c: c.policy.plan_grace_days,
    "policy.small_balance_yen": lambda c: c.policy.small_balance_yen,
    "policy.small_balance_quiet_months": lambda c: c.policy.small_balance_quiet_months,
    "policy.suspension_review_months": lambda c: c.policy.suspension_review_months,
    "policy.means_test_valid_months": lambda c: c.policy.means_test_valid_months,
    "policy.partial_release.min_paying_years": lambda c: c.policy.partial_release.min_paying_years,
    "policy.partial_release.max_gap_days": lambda c: c.policy.partial_release.max_gap_days,
    "display.refresh_seconds": lambda c: c.refresh_seconds,
    **{f"plan.FY2025.{item}": (lambda c, i=item: c.plans[2025][i]) for item in PLAN_ITEMS},
}

TOML_VALUES = st.one_of(
    st.integers(),
    st.integers(min_value=-5, max_value=4000),
    st.booleans(),
    st.text(max_size=6),
    st.dates(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(INT_KEYS)), value=TOML_VALUES)
def test_integer_keys_parse_or_name_the_key(key, value):
    try:
        cfg = parse_config(nested(key, value))
    except InputError as exc:
        assert exc.field == key
        return
    assert type(value) is int
    assert value >= 0  # days, months, years and yen are never negative
    got = INT_KEYS[key](cfg)
    assert type(got) is int and got == value


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet="0123456789.-+eE _", max_size=7),
        st.text(max_size=6),
        st.sampled_from(["14.0", "14.6", "18.25", "29.2", "29.3", "0.01", " 14.0 "]),
    )
)
def test_damages_rate_parses_or_names_the_key(text):
    try:
        cfg = parse_config({"policy": {"damages_rate": text}})
    except InputError as exc:
        assert exc.field == "policy.damages_rate"
        return
    rate = cfg.policy.damages_rate
    assert isinstance(rate, Decimal)
    assert rate == Decimal(text.strip())
    assert Decimal(0) < rate <= Decimal("29.2")


def test_a_date_is_not_an_integer():
    assert field_of({"policy": {"plan_grace_days": date(2025, 1, 1)}}) == "policy.plan_grace_days"


def test_keymap_unknown_binding_id_is_rejected():
    assert field_of({"keymap": {"app.hlep": "f1"}}) == "keymap.app.hlep"


def test_documents_settings_are_read_and_relative_to_the_file(tmp_path):
    """[documents] font and templates: a relative path is the configuration file's folder."""
    from kyusho.config import load_config

    cfg = tmp_path / "kyusho.toml"
    cfg.write_text('[documents]\nfont = "/fonts/ja.ttf"\ntemplates = "tpl"\n', encoding="utf-8")
    config = load_config(cfg)
    assert config.documents.font == Path("/fonts/ja.ttf")
    assert config.documents.templates == tmp_path / "tpl"
    cfg.write_text('[documents]\nfonts = "x"\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_config(cfg)
    assert "documents.fonts" in str(info.value)
