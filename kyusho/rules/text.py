"""Normalisation of Japanese text typed by users or exported by other systems.

Users type names and kana through an IME (hiragana or katakana, full- or half-width), and
core-system exports use half-width katakana. Search keys must treat all of these as equal,
while storage keeps what was written in one tidy form.
"""

from __future__ import annotations

import re
import unicodedata

from kyusho.errors import InputError

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
    """The one canonical form of a claim number: NFKC, upper case, trimmed.

    Stored numbers are in this form and every lookup and search applies it to what was
    typed, so ｒ５－０００００１, r5-000001 and R5-000001 are one claim. Upper-casing can
    undo NFKC (i + U+0307 becomes I + U+0307, which composes to İ), so the result is
    normalised again: applying the key twice gives the same key.
    """
    if text.isascii():  # NFKC leaves ASCII as it is
        return text.strip().upper()
    upper = unicodedata.normalize("NFKC", text).upper()
    return unicodedata.normalize("NFKC", upper).strip()


# Format characters users cannot see, named in messages as invisible; other Cc, Cf, Zl and Zp
# characters are refused as control characters. Variation selectors (Mn: 異体字) and private
# use (Co: 外字) are visible glyphs of names and stay allowed.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def invisible_char(text: str) -> str | None:
    """The first zero-width, bidi-control or other control/format character in ``text``."""
    if text.isprintable():  # fast path: no Cc/Cf/Zl/Zp (nor Zs other than the ASCII space)
        return None
    for ch in text:
        if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
            return ch
    return None


def reject_invisible(text: str, field: str) -> str:
    """``text`` unchanged, or InputError naming ``field`` and the character.

    A zero-width space or a bidi control pasted into a claim number or a name makes two
    values that look the same differ, so searches and duplicate checks silently miss.
    """
    ch = invisible_char(text)
    if ch is None:
        return text
    what = "制御文字" if unicodedata.category(ch) in _CONTROL_CATEGORIES else "見えない文字"
    raise InputError(field, f"{what}（U+{ord(ch):04X}）が含まれています")


# Maximum lengths of free text, in characters. A field shown in one table cell or one line of
# a letter is a line; notes are read on their own and may run to several lines.
NAME_MAX = 100  # 氏名, 担当者名, 金融機関, 制度融資 and other names
KANA_MAX = 100
ADDRESS_MAX = 200
LINE_MAX = 200  # one-line reasons, outcomes, next actions, references
NOTE_MAX = 2000  # multi-line notes

_LINE_BREAKS = "\r\n\u0085\u2028\u2029\t\v\f"


def clean_text(value: str, field: str, *, max_len: int, multiline: bool = False) -> str:
    """Free text as stored, or InputError naming ``field``.

    A tab or line break in a one-line field forges columns and lines wherever the value is
    printed (tables, CSV, the terminal), and an escape sequence would drive the terminal: both
    are refused, as are invisible characters (``reject_invisible``). A multi-line note keeps its
    line breaks, as ``\\n``. One-line text is stored without outer spaces.
    """
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        reject_invisible(value.replace("\n", ""), field)
    else:
        ch = next((ch for ch in value if ch in _LINE_BREAKS), None)
        if ch is not None:
            what = "タブ" if ch == "\t" else "改行"
            raise InputError(
                field, f"{field}に{what}（U+{ord(ch):04X}）は使えません。1行で入力してください"
            )
        value = reject_invisible(value, field).strip()
    if len(value) > max_len:
        raise InputError(
            field, f"{field}は{max_len}文字以内で入力してください（{len(value):,}文字）"
        )
    return value
