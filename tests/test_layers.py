"""Layering: Textual only for the TUI, peewee never in the domain engines.

Scripts (`kyusho limitation due` from cron, `kyusho --help`) must start fast and run on a
server without a terminal, so nothing but opening the TUI may import Textual. The domain
engines (money, dates, ledger, limitation, ...) stay pure so they can be checked alone and
reused against PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kyusho.identity import os_login
from kyusho.services.staff import init_database

ROOT = Path(__file__).resolve().parent.parent
KYUSHO = Path(sys.executable).with_name("kyusho")

RULES = sorted(p.stem for p in (ROOT / "kyusho" / "rules").glob("*.py") if p.stem != "__init__")
CORE = ["clock", "config", "vocab", "errors", "identity", "files", "keymap", "cli", "demo"]
SERVICES = sorted(
    p.stem for p in (ROOT / "kyusho" / "services").glob("*.py") if p.stem != "__init__"
)
MODELS = ["db", "schema", "audit", "migrations", "bulk"]
NON_TUI_MODULES = [
    *(f"kyusho.rules.{m}" for m in RULES),
    *(f"kyusho.{m}" for m in CORE),
    "kyusho.services",
    *(f"kyusho.services.{m}" for m in SERVICES),
    "models",
    *(f"models.{m}" for m in MODELS),
]


def env_for(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "empty-config.toml"
    empty.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KYUSHO"))}
    env["KYUSHO_CONFIG"] = str(empty)
    return env


def python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env_for(tmp_path),
        timeout=120,
    )


def imported_modules(stderr: str) -> set[str]:
    """Module names from `-X importtime` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_every_services_module_is_checked():
    assert {"claims", "entries", "imports", "session", "staff", "worklist"} <= set(SERVICES)


def test_no_module_but_the_tui_imports_textual(tmp_path):
    code = (
        "import importlib, sys\n"
        f"for name in {NON_TUI_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = python(code, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_domain_modules_load_without_peewee_or_textual(tmp_path):
    code = (
        "import importlib, sys\n"
        f"for name in {[f'kyusho.rules.{m}' for m in RULES]!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('peewee', 'textual', 'models'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = python(code, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_help_does_not_import_textual(tmp_path):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kyusho", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env_for(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "limitation" in result.stdout
    modules = imported_modules(result.stderr)
    assert "kyusho.cli" in modules  # the import log works
    assert not any(m == "textual" or m.startswith("textual.") for m in modules)


def test_limitation_due_does_not_import_textual(tmp_path):
    db = tmp_path / "k.db"
    init_database(db, os_login())
    cmd = [str(KYUSHO)] if KYUSHO.exists() else [sys.executable, "-m", "kyusho"]
    env = env_for(tmp_path) | {"PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run(
        [*cmd, "--db", str(db), "limitation", "due", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    modules = imported_modules(result.stderr)
    assert "kyusho.services.worklist" in modules
    assert "peewee" in modules
    assert not any(m == "textual" or m.startswith("textual.") for m in modules)


def test_the_import_contracts_hold(tmp_path):
    """The layers of pyproject.toml's [tool.importlinter] contracts (rules pure, screens
    through services, no cycles among services) hold for the whole tree."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint)], capture_output=True, text=True, cwd=ROOT, env=env_for(tmp_path), timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_every_rule_module_is_in_the_rules_package():
    assert {"money", "dates", "ledger", "limitation", "plans", "csvparse"} <= set(RULES)
    assert not (ROOT / "kyusho" / "ledger.py").exists()


def test_the_benchmark_is_not_part_of_the_product():
    """bench/ is a developer tool: not in the wheel's packages and not a kyusho subcommand."""
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    assert not any(pattern.startswith("bench") for pattern in include)
    from kyusho.cli import build_parser

    assert "bench" not in build_parser().format_help()


def test_importing_the_benchmark_module_does_not_load_textual():
    code = "import sys, bench.benchmark, bench.scale; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
