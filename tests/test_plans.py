"""Instalment plans: due dates, expected amounts, arrears and the grace period."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyusho.errors import InputError
from kyusho.rules.plans import Plan, arrears, due_dates, expected_to_date, in_arrears, validate_plan


def test_due_day_31_is_always_month_end() -> None:
    plan = Plan(date(2024, 1, 1), date(2024, 6, 1), 30_000, 31)
    assert due_dates(plan, date(2030, 1, 1)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
    ]


def test_due_day_past_february_end_clamps_to_its_last_day() -> None:
    plan = Plan(date(2025, 1, 1), None, 10_000, 30)
    assert due_dates(plan, date(2025, 3, 31)) == [
        date(2025, 1, 30),
        date(2025, 2, 28),
        date(2025, 3, 30),
    ]
    leap = Plan(date(2028, 2, 1), None, 10_000, 29)
    assert due_dates(leap, date(2028, 2, 29)) == [date(2028, 2, 29)]


def test_due_dates_stop_at_until_and_cross_the_year() -> None:
    plan = Plan(date(2024, 11, 1), None, 10_000, 25)
    assert due_dates(plan, date(2025, 1, 24)) == [date(2024, 11, 25), date(2024, 12, 25)]
    assert due_dates(plan, date(2025, 1, 25))[-1] == date(2025, 1, 25)
    assert due_dates(plan, date(2024, 10, 31)) == []


def test_a_month_is_due_only_after_its_due_date() -> None:
    plan = Plan(date(2025, 4, 1), None, 50_000, 10)
    assert expected_to_date(plan, date(2025, 4, 10)) == 0  # paying on the due date is on time
    assert expected_to_date(plan, date(2025, 4, 11)) == 50_000
    assert expected_to_date(plan, date(2025, 6, 10)) == 100_000
    assert expected_to_date(plan, date(2025, 6, 11)) == 150_000


def test_month_end_due_date_is_due_from_the_1st_of_next_month() -> None:
    plan = Plan(date(2025, 2, 1), None, 20_000, 31)
    assert expected_to_date(plan, date(2025, 2, 28)) == 0
    assert expected_to_date(plan, date(2025, 3, 1)) == 20_000


def test_expected_stops_after_the_last_month() -> None:
    plan = Plan(date(2025, 4, 1), date(2025, 6, 1), 50_000, 10)
    assert expected_to_date(plan, date(2026, 1, 1)) == 150_000


def test_arrears_counts_receipts_from_the_first_month_to_as_of() -> None:
    plan = Plan(date(2025, 4, 1), None, 50_000, 10)
    receipts = [
        (date(2025, 3, 31), 50_000),  # before the plan started: not counted
        (date(2025, 4, 1), 30_000),
        (date(2025, 5, 9), 50_000),
        (date(2025, 6, 12), 50_000),  # after as_of: not counted
    ]
    assert arrears(plan, receipts, date(2025, 6, 11)) == 150_000 - 80_000
    assert arrears(plan, receipts, date(2025, 6, 12)) == 20_000


def test_arrears_is_zero_when_ahead() -> None:
    plan = Plan(date(2025, 4, 1), None, 50_000, 10)
    assert arrears(plan, [(date(2025, 4, 5), 500_000)], date(2025, 8, 1)) == 0
    assert not in_arrears(plan, [(date(2025, 4, 5), 500_000)], date(2025, 8, 1), 10)


def test_grace_period_after_the_due_date() -> None:
    plan = Plan(date(2025, 5, 1), None, 50_000, 10)
    assert not in_arrears(plan, [], date(2025, 5, 20), 10)  # 10 days after 5/10
    assert in_arrears(plan, [], date(2025, 5, 21), 10)  # more than 10 days
    assert not in_arrears(plan, [(date(2025, 5, 15), 50_000)], date(2025, 5, 21), 10)
    assert in_arrears(plan, [(date(2025, 5, 15), 49_999)], date(2025, 5, 21), 10)
    assert in_arrears(plan, [], date(2025, 5, 11), 0)
    # June is within its grace on 6/15; May is paid, so not in arrears.
    assert not in_arrears(plan, [(date(2025, 5, 15), 50_000)], date(2025, 6, 15), 10)
    assert arrears(plan, [(date(2025, 5, 15), 50_000)], date(2025, 6, 15)) == 50_000


def test_first_month_is_normalised_to_its_first_day() -> None:
    plan = Plan(date(2025, 4, 17), date(2025, 9, 30), 10_000, 5)
    assert (plan.first_month, plan.last_month) == (date(2025, 4, 1), date(2025, 9, 1))
    assert due_dates(plan, date(2025, 4, 30)) == [date(2025, 4, 5)]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((date(2025, 4, 1), None, 10_000, 0), "支払日"),
        ((date(2025, 4, 1), None, 10_000, 32), "支払日"),
        ((date(2025, 4, 1), None, 0, 10), "月額"),
        ((date(2025, 4, 1), None, -1, 10), "月額"),
        ((date(2025, 4, 1), date(2025, 3, 1), 10_000, 10), "最終月"),
    ],
)
def test_invalid_plan_is_refused_with_the_field(args: tuple, field: str) -> None:
    with pytest.raises(InputError) as caught:
        validate_plan(*args)
    assert caught.value.field == field
    with pytest.raises(InputError):
        Plan(*args)


def test_single_month_plan_is_valid() -> None:
    validate_plan(date(2025, 4, 1), date(2025, 4, 30), 10_000, 31)


def test_negative_grace_is_refused() -> None:
    plan = Plan(date(2025, 4, 1), None, 10_000, 10)
    with pytest.raises(InputError) as caught:
        in_arrears(plan, [], date(2025, 5, 1), -1)
    assert caught.value.field == "policy.plan_grace_days"


# --- invariants -----------------------------------------------------------------------------


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    first = draw(st.dates(date(2019, 1, 1), date(2030, 12, 1))).replace(day=1)
    months = draw(st.one_of(st.none(), st.integers(0, 40)))
    last = None
    if months is not None:
        index = first.year * 12 + first.month - 1 + months
        last = date(index // 12, index % 12 + 1, 1)
    return Plan(first, last, draw(st.integers(1, 500_000)), draw(st.integers(1, 31)))


def _as_of(plan: Plan, days: int) -> date:
    return plan.first_month + timedelta(days=days)


receipt_lists = st.lists(
    st.tuples(st.dates(date(2018, 6, 1), date(2035, 1, 1)), st.integers(1, 1_000_000)), max_size=20
)


@settings(max_examples=80, deadline=None)
@given(plans(), st.integers(-40, 1500))
def test_due_dates_are_one_per_plan_month_clamped(plan: Plan, days: int) -> None:
    until = _as_of(plan, days)
    dues = due_dates(plan, until)
    for i, due in enumerate(dues):
        index = plan.first_month.year * 12 + plan.first_month.month - 1 + i
        assert (due.year, due.month) == (index // 12, index % 12 + 1)
        assert due.day == min(plan.due_day, calendar.monthrange(due.year, due.month)[1])
        assert due <= until
        if plan.last_month is not None:
            assert due.replace(day=1) <= plan.last_month
    assert expected_to_date(plan, until) == sum(1 for d in dues if d < until) * plan.monthly_amount


@settings(max_examples=80, deadline=None)
@given(plans(), receipt_lists, st.integers(-40, 1500), st.integers(0, 60))
def test_arrears_never_negative_and_grace_only_delays(
    plan: Plan, receipts, days: int, grace: int
) -> None:
    as_of = _as_of(plan, days)
    owed = arrears(plan, receipts, as_of)
    assert owed >= 0
    if in_arrears(plan, receipts, as_of, grace):
        assert owed > 0
    assert in_arrears(plan, receipts, as_of, 0) == (owed > 0)


@settings(max_examples=80, deadline=None)
@given(plans(), st.integers(-40, 1500), st.integers(0, 60))
def test_paying_each_instalment_on_its_due_date_is_never_in_arrears(
    plan: Plan, days: int, grace: int
) -> None:
    as_of = _as_of(plan, days)
    receipts = [(due, plan.monthly_amount) for due in due_dates(plan, as_of)]
    assert arrears(plan, receipts, as_of) == 0
    assert not in_arrears(plan, receipts, as_of, grace)


@settings(max_examples=80, deadline=None)
@given(plans(), st.integers(0, 24), st.integers(0, 1500), st.integers(0, 60))
def test_one_missed_instalment_is_arrears_after_its_grace(
    plan: Plan, missed: int, days: int, grace: int
) -> None:
    """Receipts pay the oldest instalment first: after a missed month, each later payment
    covers the month before it, so the oldest unpaid one is the latest month due."""
    as_of = _as_of(plan, days)
    dues = [d for d in due_dates(plan, as_of) if d < as_of]
    if missed >= len(dues):
        return
    receipts = [(due, plan.monthly_amount) for i, due in enumerate(dues) if i != missed]
    assert arrears(plan, receipts, as_of) == plan.monthly_amount
    oldest_unpaid = dues[len(receipts)]
    assert in_arrears(plan, receipts, as_of, grace) == (
        oldest_unpaid + timedelta(days=grace) < as_of
    )


@given(
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 1)),
    span=st.one_of(st.none(), st.integers(min_value=0, max_value=150)),
    due_day=st.integers(min_value=1, max_value=31),
    until=st.dates(min_value=date(1999, 1, 1), max_value=date(2045, 12, 31)),
)
def test_months_due_counts_exactly_the_listed_due_dates(first, span, due_day, until):
    from kyusho.rules.plans import months_due

    last = (
        None
        if span is None
        else date(first.year + (first.month - 1 + span) // 12, (first.month - 1 + span) % 12 + 1, 1)
    )
    plan = Plan(first_month=first, last_month=last, monthly_amount=1000, due_day=due_day)
    assert months_due(plan, until) == len(due_dates(plan, until))
