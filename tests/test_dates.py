"""Dates in western and era forms, fiscal years (SPEC 4.2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyusho.errors import InputError
from kyusho.rules.dates import (
    ERAS,
    STYLES,
    add_months,
    era_of,
    fiscal_half,
    fiscal_year,
    fiscal_year_label,
    fiscal_year_range,
    format_date,
    parse_date,
    parse_datetime,
)

APRIL_1 = date(2025, 4, 1)


@pytest.mark.parametrize(
    "text",
    [
        "2025-04-01",
        "2025-4-1",
        "2025/4/1",
        "2025/04/01",
        "20250401",
        "2025.4.1",
        "2025年4月1日",
        "R7.4.1",
        "R07.04.01",
        "r7.4.1",
        "R7/4/1",
        "令和7年4月1日",
        "令和 7年 4月 1日",
        "２０２５－０４－０１",
        "２０２５／４／１",
        "Ｒ７．４．１",
        "ｒ７．４．１",
        "令和７年４月１日",
        "  2025-04-01\u3000",
        "2025−04−01",  # minus sign typed through an IME
        "㋿7.4.1",
    ],
)
def test_parse_date_accepts_every_documented_form(text: str) -> None:
    assert parse_date(text) == APRIL_1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R元.5.1", date(2019, 5, 1)),
        ("R1.5.1", date(2019, 5, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("H1.1.8", date(1989, 1, 8)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("S64.1.7", date(1989, 1, 7)),
        ("S1.12.25", date(1926, 12, 25)),
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("s40.2.3", date(1965, 2, 3)),
        ("2024-02-29", date(2024, 2, 29)),
        ("1900-01-01", date(1900, 1, 1)),
        ("2199-12-31", date(2199, 12, 31)),
    ],
)
def test_parse_date_eras_and_edges(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("H31.5.1", "平成の期間"),
        ("平成31年5月1日", "平成の期間"),
        ("R1.4.30", "令和の期間"),
        ("S64.1.8", "昭和の期間"),
        ("H1.1.7", "平成の期間"),
        ("S1.12.24", "昭和の期間"),
        ("H32.1.1", "平成の期間"),
        ("R0.5.1", "元年"),
        ("2025-02-29", "存在しない日付"),
        ("2025-13-01", "存在しない日付"),
        ("2025-04-31", "存在しない日付"),
        ("R7.2.29", "存在しない日付"),
        ("25/4/1", "西暦4桁"),
        ("25-04-01", "西暦4桁"),
        ("250401", "西暦4桁"),
        ("1899-12-31", "1900年から2199年"),
        ("2200-01-01", "1900年から2199年"),
        ("4/1/2025", "例: "),
        ("2025/4-1", "例: "),
        ("2025-04-01 10:00", "例: "),
        ("7.4.1", "西暦4桁"),
        ("令和7年4月", "例: "),
        ("T14.1.1", "例: "),
        ("明日", "例: "),
        ("", "入力してください"),
        ("   ", "入力してください"),
    ],
)
def test_parse_date_rejects_with_field_and_forms(text: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_date(text, "代位弁済日")
    assert info.value.field == "代位弁済日"
    assert info.value.message.startswith("代位弁済日")
    assert says in info.value.message


def test_parse_date_message_lists_accepted_forms() -> None:
    with pytest.raises(InputError) as info:
        parse_date("someday")
    assert "R7.4.1" in info.value.message and "2025-04-01" in info.value.message


@given(st.text(max_size=25))
def test_parse_date_only_ever_raises_input_error(text: str) -> None:
    try:
        d = parse_date(text, "日付")
    except InputError as err:
        assert err.field == "日付"
    else:
        assert 1900 <= d.year <= 2199


@given(st.from_regex(r"[RHS令平昭和元年月日0-9./\- ]{0,14}", fullmatch=True))
def test_parse_date_on_near_miss_text_only_raises_input_error(text: str) -> None:
    try:
        parse_date(text)
    except InputError:
        pass


@given(st.dates(min_value=date(1927, 1, 1), max_value=date(2100, 12, 31)), st.sampled_from(STYLES))
def test_format_then_parse_round_trip(d: date, style: str) -> None:
    assert parse_date(format_date(d, style)) == d


ERA_BOUNDARIES = [
    (date(1926, 12, 24), None),
    (date(1926, 12, 25), "昭和"),
    (date(1989, 1, 7), "昭和"),
    (date(1989, 1, 8), "平成"),
    (date(2019, 4, 30), "平成"),
    (date(2019, 5, 1), "令和"),
]


@pytest.mark.parametrize(("d", "era"), ERA_BOUNDARIES)
def test_era_of_boundaries(d: date, era: str | None) -> None:
    found = era_of(d)
    assert (found.name if found else None) == era


def _era_forms(era, d: date) -> list[str]:
    """Short and long era forms of ``d`` written in ``era``, whether or not it belongs there."""
    n = d.year - era.start.year + 1
    year = "元" if n == 1 else str(n)
    return [f"{era.letter}{n}.{d.month}.{d.day}", f"{era.name}{year}年{d.month}月{d.day}日"]


@pytest.mark.parametrize("era", ERAS, ids=lambda e: e.name)
def test_each_era_boundary_both_sides(era) -> None:
    inside = [era.start] + ([era.end] if era.end else [])
    outside = [era.start - timedelta(days=1)] + ([era.end + timedelta(days=1)] if era.end else [])
    for d in inside:
        for text in _era_forms(era, d):
            assert parse_date(text) == d
    for d in outside:
        for text in _era_forms(era, d):
            with pytest.raises(InputError, match=f"{era.name}の期間"):
                parse_date(text)


@given(st.sampled_from(ERAS), st.integers(min_value=1, max_value=99), st.dates())
def test_era_date_is_accepted_exactly_when_inside_its_era(era, n: int, d: date) -> None:
    year = era.start.year + n - 1
    try:
        candidate = d.replace(year=year)
    except ValueError:  # 2/29 in a common year
        return
    text = f"{era.letter}{n}.{candidate.month}.{candidate.day}"
    if era.contains(candidate) and 1900 <= year <= 2199:
        assert parse_date(text) == candidate
    else:
        with pytest.raises(InputError):
            parse_date(text)


@pytest.mark.parametrize(
    ("d", "short", "long"),
    [
        (date(2025, 4, 1), "R7.4.1", "令和7年4月1日"),
        (date(2019, 5, 1), "R1.5.1", "令和元年5月1日"),
        (date(2019, 4, 30), "H31.4.30", "平成31年4月30日"),
        (date(1989, 1, 8), "H1.1.8", "平成元年1月8日"),
        (date(1989, 1, 7), "S64.1.7", "昭和64年1月7日"),
        (date(1926, 12, 25), "S1.12.25", "昭和元年12月25日"),
        (date(1926, 12, 24), "1926-12-24", "1926-12-24"),
    ],
)
def test_format_date(d: date, short: str, long: str) -> None:
    assert format_date(d) == short
    assert format_date(d, "wareki") == short
    assert format_date(d, "wareki_long") == long
    assert format_date(d, "iso") == d.isoformat()


def test_format_date_none_and_datetime() -> None:
    assert format_date(None) == ""
    assert format_date(None, "iso") == ""
    assert format_date(datetime(2025, 4, 1, 10, 30)) == "R7.4.1"


def test_format_date_unknown_style_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        format_date(APRIL_1, "western")


@pytest.mark.parametrize(
    ("d", "fy", "half"),
    [
        (date(2024, 4, 1), 2024, "上期"),
        (date(2024, 9, 30), 2024, "上期"),
        (date(2024, 10, 1), 2024, "下期"),
        (date(2024, 12, 31), 2024, "下期"),
        (date(2025, 1, 1), 2024, "下期"),
        (date(2025, 3, 31), 2024, "下期"),
        (date(2025, 4, 1), 2025, "上期"),
    ],
)
def test_fiscal_year_and_half(d: date, fy: int, half: str) -> None:
    assert fiscal_year(d) == fy
    assert fiscal_half(d) == half


def test_fiscal_year_range() -> None:
    assert fiscal_year_range(2024) == (date(2024, 4, 1), date(2025, 3, 31))
    assert fiscal_year_range(2023) == (date(2023, 4, 1), date(2024, 3, 31))


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2198, 12, 31)))
def test_every_date_lies_in_its_fiscal_year_range(d: date) -> None:
    first, last = fiscal_year_range(fiscal_year(d))
    assert first <= d <= last


@pytest.mark.parametrize(
    ("fy", "label"),
    [
        (2024, "令和6年度"),
        (2020, "令和2年度"),
        (2019, "令和元年度"),
        (2018, "平成30年度"),
        (1989, "平成元年度"),
        (1988, "昭和63年度"),
    ],
)
def test_fiscal_year_label(fy: int, label: str) -> None:
    assert fiscal_year_label(fy) == label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-01 10:30", datetime(2025, 4, 1, 10, 30)),
        ("2025-04-01T10:30", datetime(2025, 4, 1, 10, 30)),
        ("2025-04-01T10:30:15", datetime(2025, 4, 1, 10, 30, 15)),
        ("R7.4.1 9:05", datetime(2025, 4, 1, 9, 5)),
        ("令和7年4月1日 10:30", datetime(2025, 4, 1, 10, 30)),
        ("令和7年4月1日 10時30分", datetime(2025, 4, 1, 10, 30)),
        ("２０２５／４／１　１０：３０", datetime(2025, 4, 1, 10, 30)),
        ("2025-04-01", datetime(2025, 4, 1, 0, 0)),
        ("R7.4.1", datetime(2025, 4, 1, 0, 0)),
        ("2025-04-01 23:59", datetime(2025, 4, 1, 23, 59)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2025-04-01 24:00", "0:00から23:59"),
        ("2025-04-01 10:60", "0:00から23:59"),
        ("2025-04-01 10", "日時として読めません"),
        ("2025-04-01 10:3", "日時として読めません"),
        ("10:30", "日時として読めません"),
        ("H31.5.1 10:00", "平成の期間"),
        ("2025-02-29 10:00", "存在しない日付"),
        ("", "入力してください"),
    ],
)
def test_parse_datetime_rejects(text: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_datetime(text, "交渉日時")
    assert info.value.field == "交渉日時"
    assert says in info.value.message


@given(st.text(max_size=25))
def test_parse_datetime_only_ever_raises_input_error(text: str) -> None:
    try:
        parse_datetime(text)
    except InputError as err:
        assert err.field == "日時"


@given(
    st.datetimes(min_value=datetime(1927, 1, 1), max_value=datetime(2100, 12, 31)),
    st.sampled_from(STYLES),
)
def test_datetime_round_trip(dt: datetime, style: str) -> None:
    dt = dt.replace(microsecond=0)
    text = f"{format_date(dt, style)} {dt:%H:%M:%S}"
    assert parse_datetime(text) == dt


@pytest.mark.parametrize(
    ("d", "n", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 1, 15), 12, date(2026, 1, 15)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 12, 10), 1, date(2026, 1, 10)),
        (date(2025, 5, 31), 0, date(2025, 5, 31)),
    ],
)
def test_add_months(d: date, n: int, expected: date) -> None:
    assert add_months(d, n) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2190, 12, 31)), st.integers(0, 96))
def test_add_months_keeps_the_day_or_clamps_to_month_end(d: date, n: int) -> None:
    result = add_months(d, n)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == n
    assert result.day == d.day or (result.day < d.day and (result + timedelta(days=1)).day == 1)


# ------------------------------------------------------------------ months (plan 開始月/最終月)

from kyusho.rules.dates import format_month, parse_month  # noqa: E402


@given(st.dates(min_value=date(1927, 1, 1), max_value=date(2199, 12, 31)))
def test_a_month_round_trips_in_every_style_and_typed_form(d):
    first = d.replace(day=1)
    for style in ("wareki", "wareki_long", "iso"):
        assert parse_month(format_month(first, style)) == first
    assert parse_month(f"{d.year}-{d.month}") == first
    assert parse_month(f"{d.year}/{d.month:02d}") == first
    assert parse_month(format_date(d)) == first  # a full date stands for its month


def test_month_forms_a_collector_types():
    for text in ("R8.12", "2026-12", "2026/12", "令和8年12月", "Ｒ８．１２", "202612"):
        assert parse_month(text, "開始月") == date(2026, 12, 1)


def test_a_month_that_is_not_one_is_refused_naming_the_field():
    for text in ("2026-13", "R1.4", "R8", "十二月"):
        try:
            parse_month(text, "最終月")
        except InputError as exc:
            assert exc.field == "最終月" and "最終月" in exc.message
        else:
            raise AssertionError(text)


def test_contact_times_follow_the_date_style():
    from kyusho.rules.dates import format_datetime

    at = datetime(2026, 11, 22, 9, 5)
    assert format_datetime(at, "wareki") == "R8.11.22 09:05"
    assert format_datetime(at, "iso") == "2026-11-22 09:05"
