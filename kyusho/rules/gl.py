"""経営者保証に関するガイドライン: the retained-asset calculation of a guarantor settlement
(SPEC 4.11), as a pure function of plain data, to the yen.

The guarantor keeps 自由財産 (cash up to the table's free cash, plus 差押禁止財産) and the
インセンティブ資産 (a living-cost allowance taken from cash and deposits, a modest home, other
assets they ask to keep); the rest is the GL payment and the remainder of the liability is
released. The limits are checks, not caps: the screen and the 決裁書 say by how much one
fails, and the approver may override it with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kyusho.errors import InputError
from kyusho.rules.decision_checks import Check, full_years
from kyusho.rules.reference import LivingCostTable, gl_living_costs

# 現金 is the only kind that counts as free cash; deposits are not cash (SPEC 4.11)
CASH_KIND = "現金"
LIQUID_KINDS = frozenset({"現金", "預金"})
ASSET_KINDS = (
    "現金",
    "預金",
    "不動産",
    "自動車",
    "動産",
    "有価証券",
    "保険解約返戻金",
    "年金受給権",
    "売掛金・貸付金",
    "その他",
)
GL_TYPES = ("一体型", "単独型")
CHECK_LABELS = {
    "living_within_table": "生計費が年齢別の上限以内",
    "living_within_cash_and_deposits": "生計費が現金・預金（自由財産の現金を除く）以内",
    "incentive_within_recovery_increase": "インセンティブ資産が回収見込額の増加額以内",
    "economic_rationality": "経済合理性（弁済額が破産配当見込額以上）",
}


@dataclass(frozen=True)
class Asset:
    kind: str
    description: str
    value: int
    exempt: bool = False  # 差押禁止財産
    home: bool = False  # 自宅
    keep: bool = False  # the guarantor asks to keep it (インセンティブ資産)


@dataclass(frozen=True)
class GLInput:
    reference_date: date  # 基準時 (一時停止の効力発生日)
    birth_date: date | None
    assets: tuple[Asset, ...]
    living_requested: int
    bankruptcy_dividend: int  # 破産配当見込額 (the 協会's share)
    recovery_increase: int  # 回収見込額の増加額 (the 協会's share)
    liability: int  # what this guarantor is liable for on the proposal date


@dataclass(frozen=True)
class GLResult:
    age: int
    living_days: int
    living_cap: int
    band: str
    policy_default_used: bool
    assets_total: int
    free_property: int
    incentive: int
    retained: int
    payment: int
    release: int
    checks: tuple[Check, ...]
    # the parts behind the figures, for the 決裁書's calculation
    free_cash: int = 0
    exempt_total: int = 0
    kept_total: int = 0
    liquid_available: int = 0


def living_cost_table() -> LivingCostTable:
    """The shipped table (reference/gl_living_costs.toml)."""
    return gl_living_costs()


def _yen(n: int) -> str:
    return f"{n:,}円"


def _validate(inp: GLInput) -> None:
    if inp.birth_date is None:
        raise InputError("生年月日", "保証人の生年月日が登録されていないため年齢を計算できません")
    if inp.birth_date > inp.reference_date:
        raise InputError("基準時", "基準時は保証人の生年月日より後の日付にしてください")
    for field, value in (
        ("生計費", inp.living_requested),
        ("破産配当見込額", inp.bankruptcy_dividend),
        ("回収見込額の増加額", inp.recovery_increase),
        ("保証債務の残高", inp.liability),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(field, f"{field}を0円以上の整数で入力してください（値: {value!r}）")
    for i, a in enumerate(inp.assets, 1):
        field = f"財産目録 {i}行目"
        if isinstance(a.value, bool) or not isinstance(a.value, int) or a.value < 0:
            raise InputError(field, f"評価額を0円以上の整数で入力してください（値: {a.value!r}）")
        if not a.kind.strip():
            raise InputError(field, f"種類を {' / '.join(ASSET_KINDS)} から選んでください")


def calculate(inp: GLInput, table: LivingCostTable | None = None) -> GLResult:
    """Every figure of examples/gl.toml and the four named checks.

    A payment below zero (the request keeps more than the guarantor has) and a payment above
    the liability (nothing to release) are refused with InputError.
    """
    table = table or living_cost_table()
    _validate(inp)
    assert inp.birth_date is not None
    age = full_years(inp.birth_date, inp.reference_date)
    band = table.band(age)
    living_days = band.max_days
    living_cap = table.monthly_yen * living_days // 30

    assets_total = sum(a.value for a in inp.assets)
    exempt_total = sum(a.value for a in inp.assets if a.exempt)
    # an exempt asset is kept as free property already; a kept one is not free cash too
    open_ = [a for a in inp.assets if not a.exempt and not a.keep]
    cash = sum(a.value for a in open_ if a.kind == CASH_KIND)
    free_cash = min(cash, table.free_property_cash_yen)
    free_property = free_cash + exempt_total
    kept_total = sum(a.value for a in inp.assets if a.keep and not a.exempt)
    liquid_available = sum(a.value for a in open_ if a.kind in LIQUID_KINDS) - free_cash
    incentive = inp.living_requested + kept_total
    retained = free_property + incentive
    payment = assets_total - retained
    if payment < 0:
        raise InputError(
            "生計費",
            f"残存資産 {_yen(retained)} が資産合計 {_yen(assets_total)} を"
            f" {_yen(-payment)} 上回っています（弁済額がマイナスになる申出は受け付けられません）",
        )
    release = inp.liability - payment
    if release < 0:
        raise InputError(
            "保証債務の残高",
            f"弁済額 {_yen(payment)} が保証債務の残高 {_yen(inp.liability)} を"
            f" {_yen(-release)} 上回っています（GLによる免除の対象になりません）",
        )

    age_note = f"{age}歳: {band.label} {living_days}日"
    if band.policy_default:
        age_note += "、表にない年齢のため協会の既定値"
    checks = (
        _limit(
            "living_within_table",
            "生計費",
            inp.living_requested,
            "上限",
            living_cap,
            f"{table.monthly_yen:,}円×{living_days}日÷30、{age_note}",
        ),
        _limit(
            "living_within_cash_and_deposits",
            "生計費",
            inp.living_requested,
            "自由財産の現金を除く現金・預金",
            liquid_available,
        ),
        _limit(
            "incentive_within_recovery_increase",
            "インセンティブ資産",
            incentive,
            "回収見込額の増加額",
            inp.recovery_increase,
        ),
        _at_least(
            "economic_rationality", "弁済額", payment, "破産配当見込額", inp.bankruptcy_dividend
        ),
    )
    return GLResult(
        age=age,
        living_days=living_days,
        living_cap=living_cap,
        band=band.label,
        policy_default_used=band.policy_default,
        assets_total=assets_total,
        free_property=free_property,
        incentive=incentive,
        retained=retained,
        payment=payment,
        release=release,
        checks=checks,
        free_cash=free_cash,
        exempt_total=exempt_total,
        kept_total=kept_total,
        liquid_available=liquid_available,
    )


def _limit(name: str, what: str, value: int, bound_name: str, bound: int, note: str = "") -> Check:
    """``value`` must not exceed ``bound``; the detail says by how much it does."""
    ok = value <= bound
    detail = f"{what} {_yen(value)}、{bound_name} {_yen(bound)}"
    if note:
        detail += f"（{note}）"
    if not ok:
        detail += f" — {_yen(value - bound)} 超過"
    return Check(name, CHECK_LABELS[name], ok, detail)


def _at_least(name: str, what: str, value: int, bound_name: str, bound: int) -> Check:
    ok = value >= bound
    detail = f"{what} {_yen(value)}、{bound_name} {_yen(bound)}"
    if not ok:
        detail += f" — {_yen(bound - value)} 不足"
    return Check(name, CHECK_LABELS[name], ok, detail)
