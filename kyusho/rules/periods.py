"""Periods counted in months or years under 民法140条・143条.

The first day is not counted: a period of n months from an event on day D starts on D+1 and
ends at the end of the day before the day corresponding to D+1 in the last month; if that
month has no such day, it ends on that month's last day. 民法142条 is deliberately not applied.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache


def _month_shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@lru_cache(maxsize=1 << 16)  # the same dates recur across claims: a receipt renews a clock
def period_end(event: date, *, months: int = 0, years: int = 0) -> date:
    """Last day of a period of ``years`` years plus ``months`` months from ``event``.

    >>> period_end(date(2020, 7, 25), years=5)
    datetime.date(2025, 7, 25)
    >>> period_end(date(2026, 8, 30), months=6)
    datetime.date(2027, 2, 28)
    """
    total = years * 12 + months
    if total < 0:
        raise ValueError("period must not be negative")
    start = event + timedelta(days=1)
    y, m = _month_shift(start.year, start.month, total)
    last = calendar.monthrange(y, m)[1]
    if start.day > last:
        return date(y, m, last)
    return date(y, m, start.day) - timedelta(days=1)
