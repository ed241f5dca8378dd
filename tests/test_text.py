"""Kana and name normalisation: what users type must find what was stored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyusho.rules.text import is_kana, kana_key, name_key, narrow, normalize_kana

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
