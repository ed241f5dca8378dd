"""Kana and name normalisation: what users type must find what was stored."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kyusho.errors import InputError
from kyusho.rules.text import (
    claim_no_key,
    invisible_char,
    is_kana,
    kana_key,
    name_key,
    narrow,
    normalize_kana,
    reject_invisible,
)

HIRAGANA = st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096), max_size=20)


def _katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) for c in text)


@pytest.mark.parametrize(
    "typed",
    [
        "ヤマダ タロウ",
        "やまだ たろう",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        "ヤマダ\u3000タロウ",
        "ヤマダタロウ",
        "やまだ・たろう",
        " ﾔﾏﾀﾞ･ﾀﾛｳ ",
    ],
)
def test_kana_key_matches_every_way_of_typing_a_reading(typed: str) -> None:
    assert kana_key(typed) == "ヤマダタロウ"


def test_kana_key_voiced_marks_and_latin() -> None:
    assert kana_key("ｶﾞｯｺｳ") == "ガッコウ"
    assert kana_key("カ゛") == "ガ"  # spacing dakuten typed separately
    assert kana_key("ｶ)abcｼｮｳｼﾞ") == "カ)ABCショウジ"
    assert kana_key("ＡＢＣ") == "ABC"


@given(HIRAGANA)
def test_kana_key_hiragana_equals_katakana(text: str) -> None:
    assert kana_key(text) == kana_key(_katakana(text))


@given(st.text(max_size=30))
def test_kana_key_is_idempotent(text: str) -> None:
    key = kana_key(text)
    assert kana_key(key) == key
    assert not any(c.isspace() for c in key)
    assert "・" not in key


@given(st.text(max_size=30))
def test_kana_key_ignores_spaces(text: str) -> None:
    assert kana_key(text.replace(" ", "")) == kana_key(text.replace(" ", "\u3000"))


def test_normalize_kana_for_storage() -> None:
    assert normalize_kana("ﾔﾏﾀﾞ  ﾀﾛｳ") == "ヤマダ タロウ"
    assert normalize_kana("  やまだ\u3000たろう ") == "ヤマダ タロウ"
    assert normalize_kana("カ)abcｼｮｳｼﾞ") == "カ)abcショウジ"  # case kept as written


@given(st.text(max_size=30))
def test_normalize_kana_is_idempotent_and_searchable(text: str) -> None:
    stored = normalize_kana(text)
    assert normalize_kana(stored) == stored
    assert stored == stored.strip()
    assert "  " not in stored
    assert kana_key(stored) == kana_key(text)


def test_name_key() -> None:
    assert name_key("山田 太郎") == "山田太郎"
    assert name_key("山田\u3000太郎") == "山田太郎"
    assert name_key("株式会社ＡＢＣ") == name_key("株式会社abc") == "株式会社ABC"
    assert name_key("ｻﾝﾌﾟﾙ商事") == "サンプル商事"


@given(st.text(max_size=30))
def test_name_key_is_idempotent(text: str) -> None:
    key = name_key(text)
    assert name_key(key) == key
    assert not any(c.isspace() for c in key)


@pytest.mark.parametrize(
    "text",
    [
        "ヤマダ タロウ",
        "やまだ たろう",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        "カ）ＡＢＣショウジ",
        "ジョン・スミス",
        "ヴァー",
        "カ)ABC123",
    ],
)
def test_is_kana_accepts_readings(text: str) -> None:
    assert is_kana(text)


@pytest.mark.parametrize("text", ["山田太郎", "ヤマダ太郎", "", "   ", "ヤマダ\n", "ヤマダ!"])
def test_is_kana_rejects_other_text(text: str) -> None:
    assert not is_kana(text)


@given(HIRAGANA.filter(lambda t: t.strip()))
def test_any_hiragana_or_katakana_is_kana(text: str) -> None:
    assert is_kana(text)
    assert is_kana(_katakana(text))


def test_narrow() -> None:
    assert narrow("１，２３４円") == "1,234円"
    assert narrow("Ｒ７．４．１\u3000") == "R7.4.1 "
    assert narrow("①") == "①"  # only full-width ASCII, not every compatibility form


# --- claim numbers ------------------------------------------------------------------------

# What claim numbers are made of, plus the characters whose upper case needs composing again.
CLAIM_NO_CHARS = st.text(
    alphabet=st.sampled_from(
        [*"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/.#", "İ", "\u0307"]
    ),
    max_size=20,
)


def _variant(text: str, flags: list[int]) -> str:
    """``text`` as someone might type it: chars swapped in case and/or full width, padded."""
    out = []
    for i, ch in enumerate(text):
        flag = flags[i % len(flags)] if flags else 0
        if flag & 1:
            ch = ch.swapcase()
        if flag & 2 and len(ch) == 1 and 0x21 <= ord(ch) <= 0x7E:
            ch = chr(ord(ch) + 0xFEE0)
        out.append(ch)
    pad = " \u3000"[(flags[0] if flags else 0) & 1]
    return pad + "".join(out) + pad


def test_claim_no_key_examples() -> None:
    assert claim_no_key("ｒ５－０００００１") == "R5-000001"
    assert claim_no_key("\u3000r5-000001 ") == "R5-000001"
    assert claim_no_key("abc-7") == "ABC-7"
    assert claim_no_key("ｶﾞ-1") == claim_no_key("ガ-1") == "ガ-1"
    assert claim_no_key("i\u0307") == claim_no_key("İ") == "İ"


@given(st.text(max_size=30))
@example("i\u0307")
@example("ΐ")
def test_claim_no_key_is_idempotent(text: str) -> None:
    key = claim_no_key(text)
    assert claim_no_key(key) == key
    assert key == key.strip()


@given(CLAIM_NO_CHARS, st.lists(st.integers(min_value=0, max_value=3), max_size=8))
@example("İ", [1])
@example("r5-000001", [3])
def test_claim_no_key_agrees_for_width_and_case_variants(text: str, flags: list[int]) -> None:
    assert claim_no_key(_variant(text, flags)) == claim_no_key(text)
    if text.isascii():
        assert claim_no_key(text) == text.upper()


# --- invisible characters -----------------------------------------------------------------


@pytest.mark.parametrize(
    "ch",
    [
        "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
        "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
        "\u2066", "\u2067", "\u2068", "\u2069", "\u00ad",
    ],
)  # fmt: skip
def test_invisible_characters_are_refused_by_name(ch: str) -> None:
    with pytest.raises(InputError) as info:
        reject_invisible(f"山田{ch}太郎", "氏名")
    assert info.value.field == "氏名"
    assert str(info.value) == f"氏名: 見えない文字（U+{ord(ch):04X}）が含まれています"


@pytest.mark.parametrize("ch", ["\t", "\n", "\x00", "\x7f", "\x85", "\u2028", "\u2029"])
def test_control_characters_are_refused_by_name(ch: str) -> None:
    with pytest.raises(InputError) as info:
        reject_invisible(f"R5{ch}1", "求償権番号")
    assert str(info.value) == f"求償権番号: 制御文字（U+{ord(ch):04X}）が含まれています"


@pytest.mark.parametrize(
    "text",
    [
        "山田 太郎",
        "山田\u3000太郎",  # ideographic space: visible as a gap
        "葛\U000e0100飾区",  # variation selector (異体字): part of the glyph
        "\ue000商事",  # private use (外字)
        "ｶ)ｻﾝﾌﾟﾙ",
        "",
    ],
)
def test_visible_text_is_kept_as_written(text: str) -> None:
    assert invisible_char(text) is None
    assert reject_invisible(text, "氏名") == text
