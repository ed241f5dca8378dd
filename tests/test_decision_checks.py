"""The figures and checks of a decision as pure rules (SPEC 4.9, 4.10)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kyusho.rules import decision_checks as rules
from kyusho.rules.dates import add_months
from kyusho.rules.decision_checks import Party

TODAY = date(2026, 11, 22)


def monthly_with_a_gap() -> list[tuple[date, int]]:
    """Four years of monthly 10,000円 on the 10th, with one gap of 120 days in 2024."""
    out = []
    d = date(2022, 11, 10)
    while d <= date(2026, 11, 10):
        if not date(2024, 3, 10) < d < date(2024, 7, 10):
            out.append((date(2024, 7, 8) if d == date(2024, 7, 10) else d, 10_000))
        d = add_months(d, 1)
    return out


def test_worked_figures_of_four_years_with_one_120_day_gap():
    receipts = monthly_with_a_gap()
    computed, checks = rules.partial_release_checks(
        receipts, date(1960, 5, 1), TODAY, min_paying_years=3, max_gap_days=95
    )
    assert computed["paying_years"] == 4
    assert computed["longest_gap_days"] == 120
    assert computed["total_paid"] == 10_000 * len(receipts)
    assert computed["average_monthly_12m"] == 10_000
    assert computed["age"] == 66
    by = {c.name: c for c in checks}
    assert by["paying_years"].ok and "支払年数 4年" in by["paying_years"].detail
    assert not by["longest_gap"].ok
    assert by["longest_gap"].detail == "最長の入金間隔 120日（基準 95日以内）"
    assert by["age"].ok


def test_short_record_and_unknown_age_fail_with_a_reason():
    receipts = [(date(2025, 1, 10), 5_000), (date(2026, 1, 9), 5_000)]
    computed, checks = rules.partial_release_checks(
        receipts, None, TODAY, min_paying_years=3, max_gap_days=400
    )
    by = {c.name: c for c in checks}
    assert computed["paying_years"] == 0 and not by["paying_years"].ok
    assert by["longest_gap"].ok  # 364 days against 400
    assert computed["age"] is None and not by["age"].ok
    assert "生年月日" in by["age"].detail


def test_no_receipts_fails_every_payment_check():
    computed, checks = rules.partial_release_checks(
        [], date(1970, 1, 1), TODAY, min_paying_years=0, max_gap_days=95
    )
    by = {c.name: c for c in checks}
    assert not by["paying_years"].ok and not by["longest_gap"].ok
    assert computed["total_paid"] == 0


def test_average_over_the_last_twelve_months_is_floored():
    receipts = [(date(2025, 11, 22), 1_000_000), (date(2025, 11, 23), 100), (TODAY, 1)]
    assert rules.average_monthly_12m(receipts, TODAY) == 101 // 12


def test_means_test_counts_for_the_valid_months_only():
    assert rules.insolvent(date(2025, 11, 22), TODAY, 12).ok
    old = rules.insolvent(date(2025, 11, 21), TODAY, 12)
    assert not old.ok and "2025-11-21" in old.detail
    assert not rules.insolvent(None, TODAY, 12).ok


def party(no, role="joint_guarantor", state="normal", liable=True, lim="running"):
    return Party(no, f"関係人{no}", role, state, liable, lim)


def test_whereabouts_needs_every_liable_obligor_unknown():
    p1 = party(1, "principal_debtor", "whereabouts_unknown")
    assert not rules.whereabouts_unknown([p1, party(2)]).ok
    assert rules.whereabouts_unknown([p1, party(2, liable=False)]).ok
    assert rules.whereabouts_unknown([p1, party(3, "collateral_provider", lim=None)]).ok


def test_discharge_without_a_recoverable_guarantor():
    p1 = party(1, "principal_debtor", "extinguished")
    assert not rules.discharged_no_recourse([p1, party(2)]).ok
    assert rules.discharged_no_recourse([p1, party(2, lim="invoked")]).ok
    assert not rules.discharged_no_recourse([party(1, "principal_debtor")]).ok


def test_small_balance_needs_both_the_amount_and_the_quiet_months():
    quiet = date(2024, 11, 21)
    assert rules.small_balance(300_000, quiet, TODAY, limit_yen=300_000, quiet_months=24).ok
    assert not rules.small_balance(300_001, quiet, TODAY, limit_yen=300_000, quiet_months=24).ok
    recent = rules.small_balance(1, date(2024, 11, 22), TODAY, limit_yen=300_000, quiet_months=24)
    assert not recent.ok and "最終入金 2024-11-22" in recent.detail


@given(
    st.lists(st.dates(date(2000, 1, 1), date(2026, 11, 22)), min_size=2, max_size=30, unique=True),
)
def test_gap_and_years_are_bounded_by_the_span(dates):
    span = (max(dates) - min(dates)).days
    gap = rules.longest_gap_days(dates)
    assert gap is not None and 0 <= gap <= span
    years = rules.paying_years(dates)
    assert min(dates) + timedelta(days=365 * years) <= max(dates) + timedelta(days=years // 4 + 1)


@given(st.integers(1, 10**9), st.integers(0, 10**9))
def test_release_amount_is_the_balance_less_the_payment(payment, extra):
    balance = payment + extra
    assert rules.release_amount(balance, payment) == extra
