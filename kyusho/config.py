"""Configuration (SPEC 5.3): discovery, defaults, and strict validation.

Lookup order: ``--config``, ``$KYUSHO_CONFIG``, ``./kyusho.toml``, the user config directory,
``/etc/kyusho/kyusho.toml``. The first file found is used whole (files are not merged), so
what is in force is always one file a person can read. Unknown keys and bad values are errors
that name the key: a typo must never silently fall back to a default.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from kyusho.errors import InputError
from kyusho.files import user_path
from kyusho.keymap import BINDING_IDS

SYSTEM_CONFIG = Path("/etc/kyusho/kyusho.toml")
ROLES = ("staff", "manager", "admin")
IMPORT_MAX_BYTES = 2 * 1024**3  # 2 GiB: far above a real export, far below a runaway input


@dataclass(frozen=True)
class ApprovalPolicy:
    min_role: str = "manager"
    min_role_high: str = "manager"


@dataclass(frozen=True)
class PartialReleasePolicy:
    min_paying_years: int = 3
    max_gap_days: int = 95


@dataclass(frozen=True)
class Policy:
    damages_rate: Decimal = Decimal("14.0")
    limitation_alert_days: int = 180
    plan_grace_days: int = 10
    small_balance_yen: int = 300_000
    small_balance_quiet_months: int = 24
    suspension_review_months: int = 12
    means_test_valid_months: int = 12
    approval: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    partial_release: PartialReleasePolicy = field(default_factory=PartialReleasePolicy)


@dataclass(frozen=True)
class DocumentsConfig:
    font: Path | None = None  # a Japanese font file for PDFs; None: the first one installed
    templates: Path | None = None  # the 協会's own templates, searched before the shipped ones


@dataclass(frozen=True)
class OrganizationConfig:
    # printed on every letter as the sender; a visible placeholder until the 協会 sets it
    name: str = "○○信用保証協会"


@dataclass(frozen=True)
class Config:
    db_path: Path = Path("kyusho.db")
    db_url: str | None = None
    dates: str = "wareki"
    theme: str = "textual-dark"
    refresh_seconds: int = 3
    policy: Policy = field(default_factory=Policy)
    plans: dict[int, dict[str, int]] = field(default_factory=dict)  # FY -> item -> 百万円
    keymap: dict[str, str] = field(default_factory=dict)
    import_max_bytes: int = IMPORT_MAX_BYTES
    documents: DocumentsConfig = field(default_factory=DocumentsConfig)
    organization: OrganizationConfig = field(default_factory=OrganizationConfig)
    source: Path | None = None


PLAN_ITEMS = (
    "subrogation",
    "recovery",
    "suspension",
    "write_off",
    "partial_release",
    "gl_release",
    "waiver",
    "outstanding",
)

_KEY_RE = re.compile(r"^[a-z0-9_+\-,.]+$")


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("kyusho")) / "kyusho.toml"


def find_config(
    explicit: str | os.PathLike[str] | None = None, *, cwd: Path | None = None
) -> Path | None:
    """The configuration file in force, or None when there is none (defaults apply)."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InputError("--config", f"設定ファイル {path} が見つかりません")
        return path
    env = os.environ.get("KYUSHO_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise InputError("KYUSHO_CONFIG", f"設定ファイル {path} が見つかりません")
        return path
    for candidate in ((cwd or Path.cwd()) / "kyusho.toml", user_config_path(), SYSTEM_CONFIG):
        if candidate.is_file():
            return candidate
    return None


def _take(table: dict[str, Any], prefix: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            name = f"{prefix}.{key}" if prefix else key
            raise InputError(
                name, f"不明な設定キーです（使えるキー: {', '.join(sorted(allowed))}）"
            )


def _int(value: Any, key: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(key, f"{lo}〜{hi} の整数で指定してください（値: {value!r}）")
    if not lo <= value <= hi:
        raise InputError(key, f"{lo}〜{hi} の整数で指定してください（値: {value}）")
    return value


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InputError(
            key, f"{' / '.join(choices)} のいずれかを指定してください（値: {value!r}）"
        )
    return value


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(key, f"空でない文字列で指定してください（値: {value!r}）")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InputError(key, f"制御文字（NUL など）は使えません（値: {value!r}）")
    return value


def _rate(value: Any, key: str) -> Decimal:
    if not isinstance(value, str):
        raise InputError(key, f'年率（%）を文字列で指定してください（例: "14.0"）（値: {value!r}）')
    try:
        rate = Decimal(value.strip())
    except InvalidOperation:
        raise InputError(
            key, f'年率（%）を文字列で指定してください（例: "14.0"）（値: {value!r}）'
        ) from None
    if not rate.is_finite() or not Decimal(0) < rate <= Decimal("29.2"):
        raise InputError(
            key, f"0 より大きく 29.2 以下の年率（%）を指定してください（値: {value!r}）"
        )
    return Decimal(value.strip())


def parse_config(data: dict[str, Any], source: Path | None = None) -> Config:
    """Validate a parsed TOML document into a Config; InputError names the first bad key."""
    _take(
        data,
        "",
        {"database", "display", "policy", "plan", "keymap", "import", "documents", "organization"},
    )
    org = data.get("organization", {})
    _table(org, "organization")
    _take(org, "organization", {"name"})
    docs = data.get("documents", {})
    _table(docs, "documents")
    _take(docs, "documents", {"font", "templates"})
    imports = data.get("import", {})
    _table(imports, "import")
    _take(imports, "import", {"max_bytes"})
    db = data.get("database", {})
    _table(db, "database")
    _take(db, "database", {"path", "url"})
    display = data.get("display", {})
    _table(display, "display")
    _take(display, "display", {"dates", "theme", "refresh_seconds"})
    pol = data.get("policy", {})
    _table(pol, "policy")
    _take(
        pol,
        "policy",
        {
            "damages_rate",
            "limitation_alert_days",
            "plan_grace_days",
            "small_balance_yen",
            "small_balance_quiet_months",
            "suspension_review_months",
            "means_test_valid_months",
            "approval",
            "partial_release",
        },
    )
    approval = pol.get("approval", {})
    _table(approval, "policy.approval")
    _take(approval, "policy.approval", {"min_role", "min_role_high"})
    partial = pol.get("partial_release", {})
    _table(partial, "policy.partial_release")
    _take(partial, "policy.partial_release", {"min_paying_years", "max_gap_days"})

    d = Policy()
    policy = Policy(
        damages_rate=_rate(pol["damages_rate"], "policy.damages_rate")
        if "damages_rate" in pol
        else d.damages_rate,
        limitation_alert_days=_int(
            pol.get("limitation_alert_days", d.limitation_alert_days),
            "policy.limitation_alert_days",
            1,
            3650,
        ),
        plan_grace_days=_int(
            pol.get("plan_grace_days", d.plan_grace_days), "policy.plan_grace_days", 0, 365
        ),
        small_balance_yen=_int(
            pol.get("small_balance_yen", d.small_balance_yen), "policy.small_balance_yen", 0, 10**12
        ),
        small_balance_quiet_months=_int(
            pol.get("small_balance_quiet_months", d.small_balance_quiet_months),
            "policy.small_balance_quiet_months",
            0,
            600,
        ),
        suspension_review_months=_int(
            pol.get("suspension_review_months", d.suspension_review_months),
            "policy.suspension_review_months",
            1,
            120,
        ),
        means_test_valid_months=_int(
            pol.get("means_test_valid_months", d.means_test_valid_months),
            "policy.means_test_valid_months",
            1,
            120,
        ),
        approval=ApprovalPolicy(
            min_role=_choice(
                approval.get("min_role", "manager"),
                "policy.approval.min_role",
                ("manager", "admin"),
            ),
            min_role_high=_choice(
                approval.get("min_role_high", "manager"),
                "policy.approval.min_role_high",
                ("manager", "admin"),
            ),
        ),
        partial_release=PartialReleasePolicy(
            min_paying_years=_int(
                partial.get("min_paying_years", 3), "policy.partial_release.min_paying_years", 0, 50
            ),
            max_gap_days=_int(
                partial.get("max_gap_days", 95), "policy.partial_release.max_gap_days", 1, 3650
            ),
        ),
    )

    plans: dict[int, dict[str, int]] = {}
    plan_table = data.get("plan", {})
    _table(plan_table, "plan")
    for fy_key, items in plan_table.items():
        m = re.fullmatch(r"FY(\d{4})", fy_key)
        if not m:
            raise InputError(f"plan.{fy_key}", "年度は FY2025 の形で指定してください")
        _table(items, f"plan.{fy_key}")
        _take(items, f"plan.{fy_key}", set(PLAN_ITEMS))
        plans[int(m.group(1))] = {
            k: _int(v, f"plan.{fy_key}.{k}", 0, 10**7) for k, v in items.items()
        }

    keymap_table = data.get("keymap", {})
    _table(keymap_table, "keymap")
    keymap: dict[str, str] = {}
    for binding_id, keys in _flatten(keymap_table).items():
        name = f"keymap.{binding_id}"
        if binding_id not in BINDING_IDS:
            raise InputError(
                name, "そのようなキー操作の ID はありません（F1 のヘルプに ID の一覧があります）"
            )
        keys = _str(keys, name)
        if not _KEY_RE.match(keys.replace(" ", "")):
            raise InputError(
                name, f'キー名をカンマ区切りで指定してください（例: "ctrl+r,f5"）（値: {keys!r}）'
            )
        keymap[binding_id] = keys.replace(" ", "")

    db_path = (
        user_path(_str(db["path"], "database.path"), "database.path")
        if "path" in db
        else Path("kyusho.db")
    )
    if source is not None and not db_path.is_absolute():
        db_path = source.parent / db_path
    db_url = _str(db["url"], "database.url") if "url" in db else None
    if db_url is not None:
        from models.pg import check_url

        db_url = check_url(db_url, "database.url")

    return Config(
        db_path=db_path,
        db_url=db_url,
        dates=_choice(display.get("dates", "wareki"), "display.dates", ("wareki", "iso")),
        theme=_str(display.get("theme", "textual-dark"), "display.theme"),
        refresh_seconds=_int(display.get("refresh_seconds", 3), "display.refresh_seconds", 1, 600),
        policy=policy,
        plans=plans,
        keymap=keymap,
        import_max_bytes=_int(
            imports.get("max_bytes", IMPORT_MAX_BYTES), "import.max_bytes", 1, 2**50
        ),
        documents=DocumentsConfig(
            font=_config_path(docs, "font", "documents", source),
            templates=_config_path(docs, "templates", "documents", source),
        ),
        organization=OrganizationConfig(
            name=_str(org["name"], "organization.name").strip()
            if "name" in org
            else OrganizationConfig.name
        ),
        source=source,
    )


def _config_path(table: dict[str, Any], key: str, prefix: str, source: Path | None) -> Path | None:
    """An optional path setting; a relative one is relative to the configuration file."""
    if key not in table:
        return None
    name = f"{prefix}.{key}"
    path = user_path(_str(table[key], name), name)
    if source is not None and not path.is_absolute():
        path = source.parent / path
    return path


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`app.help = "f1"` written unquoted in TOML is a nested table: read it as the id."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _table(value: Any, key: str) -> None:
    if not isinstance(value, dict):
        raise InputError(key, "テーブル（[" + key + "]）で指定してください")


def load_config(
    explicit: str | os.PathLike[str] | None = None, *, cwd: Path | None = None
) -> Config:
    """Find and load the configuration; defaults when no file is found."""
    path = find_config(explicit, cwd=cwd)
    if path is None:
        return Config()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"TOML として読めません: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(
            str(path), "UTF-8 で保存してください（Shift_JIS などは読めません）"
        ) from None
    except OSError as exc:
        raise InputError(str(path), f"読めません: {exc.strerror}") from None
    return parse_config(data, source=path)
