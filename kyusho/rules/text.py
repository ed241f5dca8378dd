"""Normalisation of Japanese text typed by users or exported by other systems.

Users type names and kana through an IME (hiragana or katakana, full- or half-width), and
core-system exports use half-width katakana. Search keys must treat all of these as equal,
while storage keeps what was written in one tidy form.
"""

from __future__ import annotations

import re
import unicodedata

# Full-width ASCII (！..～) and the ideographic space, mapped to plain ASCII. Used by the
# number and date parsers instead of NFKC, which would also accept ①, ² and the like.
_NARROW = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_NARROW[0x3000] = 0x20

# Spacing (non-combining) voiced sound marks ゛゜ become the combining ones, so that
# "カ゛" composes to "ガ" under NFKC instead of turning into "カ ゙".
_PRE = {0x309B: 0x3099, 0x309C: 0x309A}

_HIRA_TO_KATA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
_HIRA_TO_KATA[0x309D] = 0x30FD  # ゝ → ヽ
_HIRA_TO_KATA[0x309E] = 0x30FE  # ゞ → ヾ

_UPPER = {code: code - 0x20 for code in range(ord("a"), ord("z") + 1)}

# Middle dots separate given and family names in foreign names; searches ignore them.
_DOTS = {0x30FB: None, 0x00B7: None}

_KEY_TABLE = {**_HIRA_TO_KATA, **_UPPER, **_DOTS}

_KANA_RE = re.compile(
    r"[\u3041-\u3096\u3099\u309A\u309D\u309E\u30A1-\u30FA\u30FB\u30FC-\u30FEA-Za-z0-9() ]+"
)


def narrow(text: str) -> str:
    """Full-width ASCII letters, digits and symbols and the ideographic space as plain ASCII."""
    if text.isascii():
        return text
    return text.translate(_NARROW)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text.translate(_PRE))


def kana_key(text: str) -> str:
    """The search key for kana: ｶﾅ, かな and カナ match, spaces and ・ are ignored.

    Applying it twice gives the same key, so keys can be stored and compared with keys of
    search input.
    """
    s = "".join(_nfkc(text).translate(_KEY_TABLE).split())
    # Removing spaces can bring a combining mark next to its base letter: compose again.
    return unicodedata.normalize("NFKC", s)


def normalize_kana(text: str) -> str:
    """Kana as stored: full-width katakana, one ASCII space between words, no outer spaces."""
    s = unicodedata.normalize("NFKC", _nfkc(text).translate(_HIRA_TO_KATA))
    return " ".join(s.split())


def name_key(text: str) -> str:
    """The search key for names: width-insensitive (NFKC), latin upper-cased, no spaces."""
    s = "".join(_nfkc(text).translate(_UPPER).split())
    return unicodedata.normalize("NFKC", s)


def is_kana(text: str) -> bool:
    """Whether ``text`` is acceptable as a kana reading.

    Katakana, hiragana, ー, ・ and spaces; corporate readings also carry latin letters,
    digits and brackets (e.g. "カ)ABCショウジ"). Blank text is not a reading.
    """
    s = _nfkc(text)
    if not s.strip():
        return False
    return _KANA_RE.fullmatch(s) is not None


def claim_no_key(text: str) -> str:
    """The canonical form of a claim number: NFKC, trimmed, upper case."""
    return unicodedata.normalize("NFKC", text).strip().upper()
