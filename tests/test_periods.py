"""Periods in months and years under 民法140条・143条 (SPEC 4.2), as limitation dates use them.

Fiscal-year boundaries (3/31, 4/1, 9/30, 10/1) are covered in test_dates.py.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyusho.rules.dates import add_months
from kyusho.rules.periods import period_end

DAY = timedelta(days=1)
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2150, 12, 31))
MONTHS = st.integers(min_value=0, max_value=240)


def _month_end(year: int, month: int) -> date:
    """The last day of a month, found without the calendar module: the 1st of the next, minus 1."""
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - DAY


def spec_period_end(event: date, months: int) -> date:
    """SPEC 4.2 written out independently: start on D+1; in the month ``months`` later, end
    the day before the day corresponding to D+1; if that month has no such day, its last day."""
    start = event + DAY
    index = start.year * 12 + (start.month - 1) + months
    year, month = index // 12, index % 12 + 1
    try:
        corresponding = date(year, month, start.day)
    except ValueError:
        return _month_end(year, month)
    return corresponding - DAY


# --------------------------------------------------------------------------- worked examples


@pytest.mark.parametrize(
    ("event", "kwargs", "end"),
    [
        # The four examples of SPEC 4.2.
        (date(2020, 7, 25), {"years": 5}, date(2025, 7, 25)),
        (date(2026, 5, 1), {"months": 6}, date(2026, 11, 1)),
        (date(2026, 8, 30), {"months": 6}, date(2027, 2, 28)),
        (date(2024, 2, 29), {"years": 5}, date(2029, 2, 28)),
        # Month ends: D+1 = 1/31 has no February counterpart → the last day of February.
        (date(2023, 1, 30), {"months": 1}, date(2023, 2, 28)),
        (date(2024, 1, 30), {"months": 1}, date(2024, 2, 29)),
        # D+1 = 3/1, its counterpart 4/1, the day before is 3/31 (not 3/28 as naive addition).
        (date(2023, 2, 28), {"months": 1}, date(2023, 3, 31)),
        (date(2024, 2, 28), {"months": 1}, date(2024, 3, 28)),  # leap year: D+1 = 2/29
        (date(2024, 2, 29), {"months": 1}, date(2024, 3, 31)),
        # D+1 = 1/31 → 3/31 exists → 3/30.
        (date(2023, 1, 30), {"months": 2}, date(2023, 3, 30)),
        # D = 12/31: D+1 = 1/1 of the next year, so the period ends on the 12/31 it reaches.
        (date(2023, 12, 31), {"years": 1}, date(2024, 12, 31)),
        (date(2023, 12, 31), {"months": 2}, date(2024, 2, 29)),
        # Year counts cross a leap day without moving the end.
        (date(2023, 3, 1), {"years": 1}, date(2024, 3, 1)),
        (date(2020, 4, 1), {"years": 10}, date(2030, 4, 1)),
        (date(2023, 2, 28), {"years": 1}, date(2024, 2, 29)),
        # Years and months together count as their total of months.
        (date(2020, 7, 25), {"years": 1, "months": 6}, date(2022, 1, 25)),
        # A zero period ends on the event day itself (nothing is counted).
        (date(2025, 6, 15), {}, date(2025, 6, 15)),
    ],
)
def test_period_end_worked_examples(event: date, kwargs: dict[str, int], end: date) -> None:
    assert period_end(event, **kwargs) == end


def test_a_period_ending_on_a_holiday_is_not_extended() -> None:
    """民法142条 is not applied: the earlier date is the safe one to alert on."""
    assert period_end(date(2024, 12, 31), years=1) == date(2025, 12, 31)  # 年末休業
    assert period_end(date(2025, 1, 1), years=1) == date(2026, 1, 1)  # 元日
    assert period_end(date(2025, 5, 2), years=1) == date(2026, 5, 2)  # a Saturday


@pytest.mark.parametrize(
    "kwargs", [{"months": -1}, {"years": -1}, {"years": -1, "months": 6}, {"years": -5}]
)
def test_negative_periods_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        period_end(date(2025, 4, 1), **kwargs)


# --------------------------------------------------------------------------- properties


@given(DATES, MONTHS)
def test_period_end_follows_the_spec_definition(event: date, months: int) -> None:
    assert period_end(event, months=months) == spec_period_end(event, months)


@given(DATES, MONTHS)
def test_within_one_day_of_the_day_before_the_clamped_corresponding_day(
    event: date, months: int
) -> None:
    """Against 'the day before the corresponding day of D+1' with the day clamped to the
    month's end: equal, except one day later when the month lacks the day (then month end)."""
    start = event + DAY
    clamped = add_months(start, months) - DAY
    end = period_end(event, months=months)
    assert end - clamped in (timedelta(0), DAY)
    if end != clamped:
        assert add_months(start, months).day < start.day  # the day did not exist
        assert (end + DAY).day == 1  # and the period ends on a month's last day


@given(DATES, st.integers(min_value=1, max_value=240))
def test_the_end_is_always_after_the_event(event: date, months: int) -> None:
    assert period_end(event, months=months) > event


@given(DATES, st.integers(min_value=0, max_value=20))
def test_years_are_twelve_months(event: date, years: int) -> None:
    assert period_end(event, years=years) == period_end(event, months=12 * years)


@given(DATES, st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=11))
def test_years_and_months_add_up(event: date, years: int, months: int) -> None:
    assert period_end(event, years=years, months=months) == period_end(
        event, months=12 * years + months
    )


@given(DATES, DATES, MONTHS)
def test_a_later_event_never_ends_earlier(a: date, b: date, months: int) -> None:
    a, b = min(a, b), max(a, b)
    assert period_end(a, months=months) <= period_end(b, months=months)


@given(DATES, MONTHS, MONTHS)
def test_a_longer_period_ends_later(event: date, m: int, n: int) -> None:
    if m == n:
        assert period_end(event, months=m) == period_end(event, months=n)
    else:
        shorter, longer = min(m, n), max(m, n)
        assert period_end(event, months=shorter) < period_end(event, months=longer)
