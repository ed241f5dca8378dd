"""The session's clock: the one place in kyusho that reads the wall clock.

Every date and timestamp a session writes or compares (the working day, audit events, entries,
contacts, decisions, staff records) comes from one ``Clock`` so that a session never mixes two
notions of "now", and tests pin time in one place. Japan has no daylight saving time, so the
協会's working day is the date at UTC+9 whatever zone the server runs in.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

JST = timezone(timedelta(hours=9), "JST")


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware timestamp in JST."""
        ...

    def today(self) -> date:
        """The working day: the date of ``now()``."""
        ...


class SystemClock:
    """The real wall clock, in JST."""

    def now(self) -> datetime:
        return datetime.now(JST)

    def today(self) -> date:
        return self.now().date()

    def __repr__(self) -> str:
        return "SystemClock()"


class PinnedClock:
    """A clock whose day is fixed (tests, the demo, reproducible runs).

    The time of day starts at 09:00 and advances with the monotonic clock, so timestamps stay in
    order and distinct, but never leaves the pinned day.
    """

    def __init__(self, day: date, start_hour: int = 9) -> None:
        self.day = day
        self._start = datetime(day.year, day.month, day.day, start_hour, tzinfo=JST)
        self._last = self._start.replace(hour=23, minute=59, second=59, microsecond=999_999)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return min(self._start + timedelta(seconds=time.monotonic() - self._t0), self._last)

    def today(self) -> date:
        return self.day

    def __repr__(self) -> str:
        return f"PinnedClock({self.day.isoformat()})"


SYSTEM_CLOCK: Clock = SystemClock()
