"""Yen amounts and rates as users type and read them (SPEC 4.1)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyusho.errors import InputError
from kyusho.rules.money import (
    MAX_AMOUNT,
    format_yen,
    millions_half_up,
    parse_amount,
    parse_rate,
    ratio_percent,
)


@pytest.mark.parametrize(
    "text",
    [
        "1234567",
        "1,234,567",
        "1,234,567円",
        "１２３４５６７",
        "１，２３４，５６７",
        "１，２３４，５６７円",
        "  1,234,567 ",
        "\u30001234567\u3000",
        "1,234,567 円",
    ],
)
def test_parse_amount_accepts_the_documented_forms(text: str) -> None:
    assert parse_amount(text) == 1234567


def test_parse_amount_small_and_grouped_values() -> None:
    assert parse_amount("１，２３４") == 1234
    assert parse_amount("999") == 999
    assert parse_amount("1,000") == 1000
    assert parse_amount("0", allow_zero=True) == 0
    assert parse_amount("0円", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "入力してください"),
        ("   ", "入力してください"),
        ("円", "入力してください"),
        ("-100", "マイナス"),
        ("－１００", "マイナス"),
        ("▲100", "マイナス"),
        ("100.5", "小数"),
        ("1,234.00", "小数"),
        ("12,34", "3桁ごと"),
        ("1,2345", "3桁ごと"),
        (",123", "3桁ごと"),
        ("0,123", "3桁ごと"),
        ("1,,234", "3桁ごと"),
        ("abc", "整数の円"),
        ("12a", "整数の円"),
        ("1 234", "整数の円"),
        ("¥100", "整数の円"),
        ("+100", "整数の円"),
        ("0", "1円以上"),
        ("1" + "0" * 20, "大きすぎ"),
    ],
)
def test_parse_amount_rejects_with_field_and_expectation(text: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_amount(text, "入金額")
    assert info.value.field == "入金額"
    assert says in info.value.message
    assert info.value.message.startswith("入金額")


def test_parse_amount_message_shows_an_example() -> None:
    with pytest.raises(InputError) as info:
        parse_amount("abc")
    assert "1,234,567" in info.value.message


def test_parse_amount_upper_limit_is_accepted() -> None:
    assert parse_amount(format_yen(MAX_AMOUNT)) == MAX_AMOUNT


@given(st.integers(min_value=0, max_value=MAX_AMOUNT), st.booleans(), st.booleans())
def test_format_then_parse_round_trip(amount: int, unit: bool, grouped: bool) -> None:
    text = format_yen(amount, unit=unit) if grouped else str(amount)
    assert parse_amount(text, allow_zero=True) == amount


@given(st.text(max_size=30))
def test_parse_amount_only_ever_raises_input_error(text: str) -> None:
    try:
        value = parse_amount(text, allow_zero=True)
    except InputError as err:
        assert err.field == "金額"
    else:
        assert isinstance(value, int) and 0 <= value <= MAX_AMOUNT


def test_format_yen() -> None:
    assert format_yen(1234567) == "1,234,567円"
    assert format_yen(1234567, unit=False) == "1,234,567"
    assert format_yen(0) == "0円"
    assert format_yen(-1500) == "-1,500円"
    assert format_yen(-1500, unit=False) == "-1,500"


def test_format_yen_refuses_non_integers() -> None:
    with pytest.raises(TypeError):
        format_yen(Decimal("1.5"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_yen(True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14.0", "14.0"),
        ("14.6", "14.6"),
        ("18.25", "18.25"),
        ("１４．６", "14.6"),
        ("14.6%", "14.6"),
        ("14.6 ％", "14.6"),
        ("29.2", "29.2"),
        ("0.0001", "0.0001"),
        ("5", "5"),
    ],
)
def test_parse_rate_accepts(text: str, expected: str) -> None:
    rate = parse_rate(text)
    assert isinstance(rate, Decimal)
    assert rate == Decimal(expected)
    assert str(rate) == expected  # built from the string, not through binary floating point


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "入力してください"),
        ("0", "0より大きく"),
        ("0.0", "0より大きく"),
        ("-14", "マイナス"),
        ("29.21", "29.2以下"),
        ("100", "29.2以下"),
        ("14.00001", "4桁まで"),
        ("abc", "例: 14.6"),
        ("14,6", "例: 14.6"),
        (".5", "例: 14.6"),
        ("14.", "例: 14.6"),
        ("1e1", "例: 14.6"),
        ("NaN", "例: 14.6"),
    ],
)
def test_parse_rate_rejects(text: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_rate(text)
    assert info.value.field == "損害金率"
    assert says in info.value.message


@given(st.text(max_size=20))
def test_parse_rate_only_ever_raises_input_error(text: str) -> None:
    try:
        rate = parse_rate(text, "policy.damages_rate")
    except InputError as err:
        assert err.field == "policy.damages_rate"
    else:
        assert Decimal(0) < rate <= Decimal("29.2")


@pytest.mark.parametrize(
    ("yen", "millions"),
    [
        (0, 0),
        (499_999, 0),
        (500_000, 1),
        (1_499_999, 1),
        (1_500_000, 2),
        (655_400_000, 655),
        (-500_000, -1),
        (-499_999, 0),
    ],
)
def test_millions_half_up(yen: int, millions: int) -> None:
    assert millions_half_up(yen) == millions


@pytest.mark.parametrize(
    ("num", "den", "shown"),
    [
        (655, 400, "163.8%"),
        (655_000_000, 400_000_000, "163.8%"),
        (1, 3, "33.3%"),
        (2, 3, "66.7%"),
        (1, 8, "12.5%"),  # 12.5 exactly: no rounding
        (1, 16, "6.3%"),  # 6.25 rounds half up
        (0, 5, "0.0%"),
        (5, 5, "100.0%"),
        (-1, 16, "-6.3%"),
    ],
)
def test_ratio_percent(num: int, den: int, shown: str) -> None:
    assert ratio_percent(num, den) == shown


def test_ratio_percent_without_a_base_is_none() -> None:
    assert ratio_percent(10, 0) is None
    assert ratio_percent(0, 0) is None


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=10**12))
def test_ratio_percent_is_exact_half_up(num: int, den: int) -> None:
    shown = ratio_percent(num, den)
    assert shown is not None and shown.endswith("%")
    tenths = int(shown[:-1].replace(".", ""))
    # |num/den*1000 - tenths| <= 1/2, and exactly 1/2 only when rounded up.
    diff = num * 1000 - tenths * den
    assert -den <= 2 * diff < den
