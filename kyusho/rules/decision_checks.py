"""The computed checks of a decision (SPEC 4.9, 4.10) as pure functions of plain data.

Each check carries the figures behind it in Japanese, so the proposal screen, the frozen
decision and the 決裁書 say why it passed or failed, not only whether.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from kyusho.rules.dates import add_months
from kyusho.rules.periods import period_end
from kyusho.vocab import OBLIGOR_STATES, SUSPENSION_REASONS


@dataclass(frozen=True)
class Check:
    name: str
    label: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Party:
    """What the checks need of an obligor (collateral providers are not personally liable)."""

    obligor_no: int
    name: str
    role: str  # principal_debtor | joint_guarantor | collateral_provider
    state: str  # OBLIGOR_STATES code
    liable: bool
    lim_state: str | None  # the clock's effective state, None without a clock


STATE_LABELS = OBLIGOR_STATES
NO_RECOURSE_STATES = frozenset({"discharged", "extinguished", "inheritance_renounced"})
ENDED_CLOCKS = frozenset({"invoked", "extinguished", "released"})


def _yen(n: int) -> str:
    return f"{n:,}円"


# --------------------------------------------------------------------------- figures


def full_years(start: date, end: date) -> int:
    """Whole years from ``start`` to ``end`` (an anniversary completes a year)."""
    if end < start:
        return 0
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def paying_years(dates: Sequence[date]) -> int:
    """Full years from the first to the last receipt; 0 without receipts."""
    return full_years(min(dates), max(dates)) if dates else 0


def longest_gap_days(dates: Sequence[date]) -> int | None:
    """The longest gap between consecutive receipts in days; None with fewer than two."""
    ordered = sorted(set(dates))
    if len(ordered) < 2:
        return None
    return max((b - a).days for a, b in zip(ordered, ordered[1:], strict=False))


def average_monthly_12m(receipts: Iterable[tuple[date, int]], today: date) -> int:
    """Receipts of the 12 months up to ``today`` (after the same day a year before), / 12,
    floored to the yen."""
    start = add_months(today, -12)
    return sum(a for d, a in receipts if start < d <= today) // 12


def age_on(birth: date | None, on: date) -> int | None:
    return full_years(birth, on) if birth is not None else None


def release_amount(balance: int, payment: int) -> int:
    """免除額: what the guarantor remains liable for less the one-off payment."""
    return balance - payment


def means_test_recent(tested_on: date | None, today: date, valid_months: int) -> bool:
    """A 資力調査 counts for ``valid_months`` months from its date (and never from the future)."""
    return tested_on is not None and tested_on <= today <= add_months(tested_on, valid_months)


# --------------------------------------------------------------------------- checks


def partial_release_checks(
    receipts: Sequence[tuple[date, int]],
    birth: date | None,
    today: date,
    *,
    min_paying_years: int,
    max_gap_days: int,
) -> tuple[dict[str, object], list[Check]]:
    """The guarantor's payment record against [policy.partial_release] (SPEC 4.10)."""
    dates = [d for d, _ in receipts]
    years = paying_years(dates)
    gap = longest_gap_days(dates)
    age = age_on(birth, today)
    computed: dict[str, object] = {
        "receipts": len(receipts),
        "first_receipt_on": min(dates).isoformat() if dates else None,
        "last_receipt_on": max(dates).isoformat() if dates else None,
        "paying_years": years,
        "longest_gap_days": gap,
        "total_paid": sum(a for _, a in receipts),
        "average_monthly_12m": average_monthly_12m(receipts, today),
        "age": age,
    }
    if dates:
        span = f"{min(dates).isoformat()}〜{max(dates).isoformat()}"
        years_detail = f"支払年数 {years}年（{span}、基準 {min_paying_years}年以上）"
    else:
        years_detail = f"この保証人からの入金がありません（基準 {min_paying_years}年以上）"
    if gap is None:
        gap_ok = False
        gap_detail = f"入金が2回未満のため間隔を確認できません（基準 {max_gap_days}日以内）"
    else:
        gap_ok = gap <= max_gap_days
        gap_detail = f"最長の入金間隔 {gap}日（基準 {max_gap_days}日以内）"
    checks = [
        Check("paying_years", "支払年数", bool(dates) and years >= min_paying_years, years_detail),
        Check("longest_gap", "入金間隔", gap_ok, gap_detail),
        Check(
            "age",
            "年齢",
            age is not None,
            f"{age}歳（生年月日 {birth.isoformat()}）"
            if age is not None and birth is not None
            else "生年月日が登録されていないため年齢を確認できません",
        ),
    ]
    return computed, checks


def _names(parties: Iterable[Party]) -> str:
    return "、".join(
        f"{p.obligor_no} {p.name}（{STATE_LABELS.get(p.state, p.state)}）" for p in parties
    )


def _liable(parties: Iterable[Party]) -> list[Party]:
    return [p for p in parties if p.liable and p.role != "collateral_provider"]


def whereabouts_unknown(parties: Sequence[Party]) -> Check:
    liable = _liable(parties)
    others = [p for p in liable if p.state != "whereabouts_unknown"]
    n = len(liable) - len(others)
    detail = f"所在不明 {n}/{len(liable)}人"
    if others:
        detail += f"（所在不明でない: {_names(others)}）"
    return Check(
        "whereabouts_unknown",
        SUSPENSION_REASONS["whereabouts_unknown"],
        bool(liable) and not others,
        detail,
    )


def _recoverable_guarantors(parties: Sequence[Party]) -> list[Party]:
    return [
        p
        for p in _liable(parties)
        if p.role == "joint_guarantor"
        and p.state not in NO_RECOURSE_STATES
        and p.lim_state not in ENDED_CLOCKS
    ]


def discharged_no_recourse(parties: Sequence[Party]) -> Check:
    principal = next((p for p in parties if p.role == "principal_debtor"), None)
    ended = principal is not None and principal.state in ("discharged", "extinguished")
    left = _recoverable_guarantors(parties)
    state = STATE_LABELS.get(principal.state, principal.state) if principal else "未登録"
    detail = f"主債務者 {state}、回収可能な保証人 {len(left)}人"
    if left:
        detail += f"（{_names(left)}）"
    return Check(
        "discharged_no_recourse",
        SUSPENSION_REASONS["discharged_no_recourse"],
        ended and not left,
        detail,
    )


def inheritance_renounced(parties: Sequence[Party]) -> Check:
    """At least one obligor's heirs renounced, and every other liable obligor is beyond
    recourse too (renounced, discharged or extinguished)."""
    liable = _liable(parties)
    renounced = [p for p in liable if p.state == "inheritance_renounced"]
    others = [p for p in liable if p.state not in NO_RECOURSE_STATES]
    detail = f"相続放棄 {len(renounced)}人"
    if others:
        detail += f"、回収可能な関係人 {_names(others)}"
    return Check(
        "inheritance_renounced",
        SUSPENSION_REASONS["inheritance_renounced"],
        bool(renounced) and not others,
        detail,
    )


def limitation_invoked(parties: Sequence[Party]) -> Check:
    liable = [p for p in _liable(parties) if p.lim_state is not None]
    others = [p for p in liable if p.lim_state != "invoked"]
    detail = f"時効援用 {len(liable) - len(others)}/{len(liable)}人"
    if others:
        detail += "（未援用: " + "、".join(f"{p.obligor_no} {p.name}" for p in others) + "）"
    return Check(
        "limitation_invoked",
        SUSPENSION_REASONS["limitation_invoked"],
        bool(liable) and not others,
        detail,
    )


def small_balance(
    total: int, last_receipt_on: date | None, today: date, *, limit_yen: int, quiet_months: int
) -> Check:
    small = total <= limit_yen
    quiet = last_receipt_on is None or period_end(last_receipt_on, months=quiet_months) < today
    last = last_receipt_on.isoformat() if last_receipt_on else "なし"
    detail = (
        f"残高 {_yen(total)}（基準 {_yen(limit_yen)}以下）、最終入金 {last}"
        f"（基準 {quiet_months}か月以上入金なし）"
    )
    return Check("small_balance", SUSPENSION_REASONS["small_balance"], small and quiet, detail)


def insolvent(tested_on: date | None, today: date, valid_months: int) -> Check:
    return Check(
        "insolvent", SUSPENSION_REASONS["insolvent"], *_means_test(tested_on, today, valid_months)
    )


def means_test_check(tested_on: date | None, today: date, valid_months: int) -> Check:
    return Check(
        "means_test_recent", "資力調査の有効期間", *_means_test(tested_on, today, valid_months)
    )


def _means_test(tested_on: date | None, today: date, valid_months: int) -> tuple[bool, str]:
    if tested_on is None:
        return False, f"資力調査日が未回答です（基準 {valid_months}か月以内）"
    ok = means_test_recent(tested_on, today, valid_months)
    return ok, f"資力調査日 {tested_on.isoformat()}（基準 {valid_months}か月以内）"


COMPUTED_REASONS = (
    "whereabouts_unknown",
    "discharged_no_recourse",
    "inheritance_renounced",
    "limitation_invoked",
    "small_balance",
)


def suspended_or_reason(status: str, status_since: date | None, reasons: Sequence[Check]) -> Check:
    """Write-off: the claim is suspended, or a suspension reason holds (SPEC 4.9)."""
    if status == "suspended":
        since = f"（{status_since.isoformat()} から）" if status_since else ""
        return Check(
            "suspended_or_reason", "管理事務停止中または停止理由", True, f"管理事務停止中{since}"
        )
    holding = [c.label for c in reasons if c.ok]
    if holding:
        return Check(
            "suspended_or_reason",
            "管理事務停止中または停止理由",
            True,
            f"停止理由に該当: {'、'.join(holding)}",
        )
    return Check(
        "suspended_or_reason",
        "管理事務停止中または停止理由",
        False,
        "管理事務停止中でなく、停止理由のいずれにも該当しません",
    )
