"""Yen amounts and percentage rates: parsing what users type, and display (SPEC 4.1).

Amounts are ``int`` yen and rates are ``Decimal`` built from the typed string, so nothing
here ever passes through binary floating point.
"""

from __future__ import annotations

import re
from decimal import Decimal

from kyusho.errors import InputError
from kyusho.rules.text import narrow

AMOUNT_EXAMPLE = "1,234,567"
# Under 1,000兆円: far above any claim, and well inside SQLite's 64-bit integers.
MAX_AMOUNT = 999_999_999_999_999
# 日歩8銭 (29.2%/年) is the highest rate any 協会 contract has carried.
MAX_DAMAGES_RATE = Decimal("29.2")
RATE_PLACES = 4

_PLAIN = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+")
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_NEGATIVE_MARKS = ("-", "−", "‐", "–", "—", "▲", "△", "マイナス")


def parse_amount(text: str, field: str = "金額", *, allow_zero: bool = False) -> int:
    """Yen as typed (``1234567``, ``1,234,567``, ``1,234,567円``, full-width) as an int.

    Zero is refused unless ``allow_zero``: most amounts (receipts, principal) must be paid.
    """
    if len(text) <= 15 and text.isascii() and text.isdigit():  # plain digits: most files
        amount = int(text)
        if (amount or allow_zero) and amount <= MAX_AMOUNT:
            return amount
    lowest = 0 if allow_zero else 1
    expected = f"{field}は{lowest}以上の整数の円で入力してください（例: {AMOUNT_EXAMPLE}）"
    s = narrow(text).strip()
    if s.endswith("円"):
        s = s[:-1].rstrip()
    if not s:
        raise InputError(field, f"{field}を入力してください（例: {AMOUNT_EXAMPLE}）")
    if s.startswith(_NEGATIVE_MARKS):
        raise InputError(field, f"{field}にマイナスの金額は入力できません。{expected}")
    if "." in s:
        raise InputError(field, f"{field}に小数は入力できません。{expected}")
    if "," in s:
        if _GROUPED.fullmatch(s) is None:
            raise InputError(
                field,
                f"{field}の桁区切りのカンマは3桁ごとに入れてください（例: {AMOUNT_EXAMPLE}）",
            )
    elif _PLAIN.fullmatch(s) is None:
        raise InputError(field, expected)
    digits = s.replace(",", "").lstrip("0") or "0"
    if len(digits) > len(str(MAX_AMOUNT)) or int(digits) > MAX_AMOUNT:
        raise InputError(field, f"{field}が大きすぎます（上限 {format_yen(MAX_AMOUNT)}）")
    amount = int(digits)
    if amount == 0 and not allow_zero:
        raise InputError(field, f"{field}は1円以上で入力してください")
    return amount


def format_yen(amount: int, unit: bool = True) -> str:
    """``1,234,567円`` (or without 円 in tables headed with the unit); differences keep "-"."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be int yen, not {type(amount).__name__}")
    shown = f"{amount:,}"
    return f"{shown}円" if unit else shown


def parse_percent(
    text: str, field: str, *, maximum: Decimal, example: str, places: int = RATE_PLACES
) -> Decimal:
    """A percentage such as ``14.6`` or ``80%`` (full-width too) with 0 < value <= maximum."""
    expected = f"{field}は0より大きく{maximum}以下の%の数値で入力してください（例: {example}）"
    s = narrow(text).strip()
    if s.endswith("%"):
        s = s[:-1].rstrip()
    if not s:
        raise InputError(field, f"{field}を入力してください（例: {example}）")
    if s.startswith(_NEGATIVE_MARKS):
        raise InputError(field, f"{field}にマイナスは入力できません。{expected}")
    match = _DECIMAL.fullmatch(s)
    if match is None:
        raise InputError(field, expected)
    whole, fraction = match.groups()
    if fraction is not None and len(fraction) > places:
        raise InputError(field, f"{field}の小数点以下は{places}桁までにしてください。{expected}")
    if len(whole.lstrip("0")) > len(str(int(maximum))):
        raise InputError(field, expected)
    value = Decimal(s)
    if not Decimal(0) < value <= maximum:
        raise InputError(field, expected)
    return value


def parse_rate(text: str, field: str = "損害金率") -> Decimal:
    """A damages rate in percent per year (``14.0``, ``14.6``, ``18.25``), exactly as typed."""
    return parse_percent(text, field, maximum=MAX_DAMAGES_RATE, example="14.6")


def _div_half_up(num: int, den: int) -> int:
    """num / den rounded half away from zero (四捨五入), so -x shows as -(x); den > 0."""
    quotient, remainder = divmod(abs(num), den)
    if 2 * remainder >= den:
        quotient += 1
    return -quotient if num < 0 else quotient


def millions_half_up(yen: int) -> int:
    """Yen in 百万円, rounded half up to a whole number, as the report tables show it."""
    return _div_half_up(yen, 1_000_000)


def ratio_percent(num: int, den: int) -> str | None:
    """``num / den`` as a percentage rounded half up to one decimal (655, 400 → "163.8%").

    None when there is nothing to compare with (den == 0): the report shows a dash.
    """
    if den == 0:
        return None
    tenths = _div_half_up(num * 1000 * (1 if den > 0 else -1), abs(den))
    sign = "-" if tenths < 0 else ""
    tenths = abs(tenths)
    return f"{sign}{tenths // 10}.{tenths % 10}%"
