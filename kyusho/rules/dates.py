"""Dates as users type and read them: western and Japanese-era forms, fiscal years (SPEC 4.2).

Everything crosses this module's boundary as ``datetime.date`` (or ``datetime`` for contact
times, naive and in JST). Input is strict about what is ambiguous (two-digit years, dates
outside their era) because a wrong date silently moves a limitation deadline.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from kyusho.errors import InputError
from kyusho.rules.text import narrow

MIN_YEAR = 1900
MAX_YEAR = 2199
DATE_FORMS = "2025-04-01、2025/4/1、20250401、R7.4.1、令和7年4月1日"
DATETIME_FORMS = "2025-04-01 10:30、R7.4.1 10:30"
STYLES = ("wareki", "wareki_long", "iso")


@dataclass(frozen=True, slots=True)
class Era:
    name: str
    letter: str
    start: date
    end: date | None  # None: the current era

    def contains(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d <= self.end)

    def span(self) -> str:
        end = self.end.isoformat() if self.end else ""
        return f"{self.start.isoformat()}〜{end}"


ERAS = (
    Era("令和", "R", date(2019, 5, 1), None),
    Era("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
)
_ERA_BY_TOKEN = {token: era for era in ERAS for token in (era.name, era.letter)}

# Dashes people and IMEs produce between date parts; square era glyphs (㋿ ㍻ ㍼).
_DATE_CHARS = str.maketrans(
    {"−": "-", "‐": "-", "‑": "-", "–": "-", "—": "-", "―": "-", "：": ":"}
    | {"㋿": "令和", "㍻": "平成", "㍼": "昭和"}
)

_WESTERN = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})", re.ASCII)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_WESTERN_KANJI = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", re.ASCII)
_ERA = re.compile(
    r"(令和|平成|昭和|R|H|S)\s*(元|\d{1,3})"
    r"(?:\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|([-/.])(\d{1,2})\5(\d{1,2}))",
    re.ASCII,
)
_SHORT_YEAR = re.compile(r"\d{1,2}([-/.])\d{1,2}\1\d{1,2}|\d{6}", re.ASCII)
_DATETIME = re.compile(
    r"(?P<date>.+?)(?:\s+|\s*T\s*)"
    r"(?:(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?|(?P<hk>\d{1,2})時(?:(?P<mk>\d{1,2})分)?)",
    re.ASCII,
)


def _normalize(text: str) -> str:
    return narrow(text).translate(_DATE_CHARS).strip().upper()


def _make(field: str, year: int, month: int, day: int) -> date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InputError(field, f"{field}の年は{MIN_YEAR}年から{MAX_YEAR}年までで入力してください")
    try:
        return date(year, month, day)
    except ValueError:
        raise InputError(
            field,
            f"{field}の{year}年{month}月{day}日は存在しない日付です（例: {DATE_FORMS}）",
        ) from None


def _parse_normalized(s: str, field: str) -> date:
    if not s:
        raise InputError(field, f"{field}を入力してください（例: {DATE_FORMS}）")
    m = _WESTERN.fullmatch(s)
    if m is not None:
        return _make(field, int(m[1]), int(m[3]), int(m[4]))
    m = _COMPACT.fullmatch(s) or _WESTERN_KANJI.fullmatch(s)
    if m is not None:
        return _make(field, int(m[1]), int(m[2]), int(m[3]))
    m = _ERA.fullmatch(s)
    if m is not None:
        era = _ERA_BY_TOKEN[m[1]]
        n = 1 if m[2] == "元" else int(m[2])
        month, day = (m[3], m[4]) if m[3] is not None else (m[6], m[7])
        year_text = "元" if n == 1 else str(n)
        if n == 0:
            raise InputError(field, f"{field}の{era.name}の年は元年（1年）からです")
        d = _make(field, era.start.year + n - 1, int(month), int(day))
        if not era.contains(d):
            raise InputError(
                field,
                f"{field}の{era.name}{year_text}年{int(month)}月{int(day)}日は"
                f"{era.name}の期間（{era.span()}）にない日付です",
            )
        return d
    if _SHORT_YEAR.fullmatch(s):
        raise InputError(
            field, f"{field}の年は西暦4桁か元号付きで入力してください（例: {DATE_FORMS}）"
        )
    raise InputError(field, f"{field}は日付として読めません（例: {DATE_FORMS}）")


def parse_date(text: str, field: str = "日付") -> date:
    """A date typed in any accepted western or era form (full-width too)."""
    return _parse_normalized(_normalize(text), field)


def parse_datetime(text: str, field: str = "日時") -> datetime:
    """A date form, optionally followed by a space or T and ``HH:MM[:SS]``; else 00:00."""
    s = _normalize(text)
    m = _DATETIME.fullmatch(s)
    if m is None:
        try:
            return datetime.combine(_parse_normalized(s, field), time())
        except InputError:
            # Something after the date that is not a time: say what a date-time looks like.
            if any(c in s for c in ": T時"):
                raise InputError(
                    field, f"{field}は日時として読めません（例: {DATETIME_FORMS}）"
                ) from None
            raise
    d = _parse_normalized(m["date"], field)
    if m["h"] is not None:
        hour, minute, second = int(m["h"]), int(m["m"]), int(m["s"] or 0)
    else:
        hour, minute, second = int(m["hk"]), int(m["mk"] or 0), 0
    if hour > 23 or minute > 59 or second > 59:
        raise InputError(
            field, f"{field}の時刻は0:00から23:59の間で入力してください（例: {DATETIME_FORMS}）"
        )
    return datetime.combine(d, time(hour, minute, second))


def era_of(d: date) -> Era | None:
    """The era a date falls in; None before 昭和."""
    for era in ERAS:
        if era.contains(d):
            return era
    return None


def format_date(d: date | None, style: str = "wareki") -> str:
    """``R7.4.1`` (wareki), ``令和7年4月1日`` (wareki_long) or ``2025-04-01`` (iso); None → "".

    Dates before 昭和 fall back to ISO in the era styles.
    """
    if style not in STYLES:
        raise ValueError(f"unknown date style {style!r}")
    if d is None:
        return ""
    if isinstance(d, datetime):
        d = d.date()
    era = era_of(d) if style != "iso" else None
    if era is None:
        return d.isoformat()
    n = d.year - era.start.year + 1
    if style == "wareki":
        return f"{era.letter}{n}.{d.month}.{d.day}"
    return f"{era.name}{'元' if n == 1 else n}年{d.month}月{d.day}日"


def fiscal_year(d: date) -> int:
    """The 年度 of a date: FY N runs from April 1 of N to March 31 of N+1."""
    return d.year if d.month >= 4 else d.year - 1


def fiscal_half(d: date) -> str:
    """上期 (April–September) or 下期 (October–March)."""
    return "上期" if 4 <= d.month <= 9 else "下期"


def fiscal_year_range(fy: int) -> tuple[date, date]:
    """First and last day of FY ``fy``, both inclusive."""
    return date(fy, 4, 1), date(fy + 1, 3, 31)


def fiscal_year_label(fy: int) -> str:
    """``令和6年度`` for FY2024; FY2019 is 令和元年度 by convention, earlier years 平成/昭和."""
    if fy >= 2019:
        name, n = "令和", fy - 2018
    elif fy >= 1989:
        name, n = "平成", fy - 1988
    elif fy >= 1927:
        name, n = "昭和", fy - 1925
    else:
        return f"{fy}年度"
    return f"{name}{'元' if n == 1 else n}年度"


def add_months(d: date, n: int) -> date:
    """The same day ``n`` months later (or earlier), clamped to the month's last day."""
    index = d.year * 12 + d.month - 1 + n
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


MONTH_FORMS = "R8.12、2026-12、2026/12、令和8年12月"
_MONTH_WESTERN = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?", re.ASCII)
_MONTH_COMPACT = re.compile(r"(\d{4})(\d{2})", re.ASCII)
_MONTH_ERA = re.compile(
    r"(令和|平成|昭和|R|H|S)\s*(元|\d{1,3})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?", re.ASCII
)


def parse_month(text: str, field: str = "月") -> date:
    """A month (its first day) typed as ``R8.12``, ``2026-12``, ``2026/12``, ``令和8年12月``
    or ``202612``; a full date is accepted too and stands for its month."""
    s = _normalize(text)
    if not s:
        raise InputError(field, f"{field}を入力してください（例: {MONTH_FORMS}）")
    m = _MONTH_WESTERN.fullmatch(s) or _MONTH_COMPACT.fullmatch(s)
    if m is not None:
        return _first_of(field, int(m[1]), int(m[2]))
    m = _MONTH_ERA.fullmatch(s)
    if m is not None:
        era = _ERA_BY_TOKEN[m[1]]
        n = 1 if m[2] == "元" else int(m[2])
        if n == 0:
            raise InputError(field, f"{field}の{era.name}の年は元年（1年）からです")
        first = _first_of(field, era.start.year + n - 1, int(m[3]))
        last = add_months(first, 1).replace(day=1)
        if not (era.start < last and (era.end is None or first <= era.end)):
            raise InputError(
                field,
                f"{field}の{era.name}{'元' if n == 1 else n}年{int(m[3])}月は"
                f"{era.name}の期間（{era.span()}）にない月です",
            )
        return first
    try:
        return _parse_normalized(s, field).replace(day=1)
    except InputError:
        raise InputError(field, f"{field}は年月として読めません（例: {MONTH_FORMS}）") from None


def _first_of(field: str, year: int, month: int) -> date:
    if not 1 <= month <= 12:
        raise InputError(field, f"{field}の月は1から12で入力してください（例: {MONTH_FORMS}）")
    return _make(field, year, month, 1)


def format_month(d: date | None, style: str = "wareki") -> str:
    """``R8.12`` (wareki), ``令和8年12月`` (wareki_long) or ``2026-12`` (iso); None → ""."""
    if style not in STYLES:
        raise ValueError(f"unknown date style {style!r}")
    if d is None:
        return ""
    era = era_of(d.replace(day=1)) if style != "iso" else None
    if era is None:
        return f"{d.year:04d}-{d.month:02d}"
    n = d.year - era.start.year + 1
    if style == "wareki":
        return f"{era.letter}{n}.{d.month}"
    return f"{era.name}{'元' if n == 1 else n}年{d.month}月"


def format_datetime(dt: datetime | None, style: str = "wareki") -> str:
    """The date in ``style`` and the time as ``HH:MM`` (``R8.11.22 10:30``); None → ""."""
    if dt is None:
        return ""
    return f"{format_date(dt.date(), style)} {dt:%H:%M}"
