"""The pure first stage of CSV import (SPEC 5.4): bytes → typed rows, or every error.

No database here: the import service takes ``ParseResult.rows`` only when ``errors`` is empty
(an import is all or nothing), and shows ``errors`` as the report of every bad row. Checks
that need stored data (does the claim exist, is the staff login registered, duplicates of
what is already imported) belong to the service.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from kyusho.errors import InputError
from kyusho.rules.dates import parse_date, parse_datetime
from kyusho.rules.money import parse_amount, parse_percent, parse_rate
from kyusho.rules.text import (
    ADDRESS_MAX,
    KANA_MAX,
    LINE_MAX,
    NAME_MAX,
    NOTE_MAX,
    claim_no_key,
    clean_text,
    is_kana,
    narrow,
    normalize_kana,
    reject_invisible,
)
from kyusho.vocab import (
    ALLOCATION_ORDERS,
    CONTACT_CHANNELS,
    EVENT_KIND_ALIASES,
    EVENT_KINDS,
    OBLIGOR_KINDS,
    OBLIGOR_STATES,
    RECEIPT_METHODS,
    ROLES,
    code_for,
)

FILE_FIELD = "ファイル"
CLAIM_NO_MAX = 20
KIND_LABELS = {
    "claims": "求償権",
    "obligors": "関係人",
    "receipts": "入金",
    "events": "時効事由",
    "contacts": "交渉記録",
    "municipalities": "損失補償",
}
KINDS = tuple(KIND_LABELS)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column of an import file: its Japanese name, English alias and whether required."""

    name: str
    alias: str
    required: bool


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """A good data row: ``line`` is its first physical line in the file (header is line 1)."""

    line: int
    values: dict[str, object]


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad cell (or header, or row): ``column`` is the header as written in the file, the
    Japanese name when the column is missing, or "" when the whole row is at fault."""

    line: int
    column: str
    reason: str


@dataclass(slots=True)
class ParseResult:
    """Good rows and every error; the file may be imported only when ``ok``."""

    kind: str
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- decoding ---------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """Text of an import file: UTF-8 (with or without BOM), else CP932 (Excel's Shift_JIS)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(
                FILE_FIELD, "UTF-8として読めない文字があります。UTF-8で保存し直してください"
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise InputError(
            FILE_FIELD,
            "文字コードを判別できません。UTF-8またはShift_JIS（CP932）で保存してください",
        ) from None


# --- cell parsers -------------------------------------------------------------------------
# Each takes the stripped, non-blank cell, the column's Japanese name and the context, and
# returns the value or raises InputError with a message for the user.


@dataclass(frozen=True, slots=True)
class _Context:
    default_damages_rate: Decimal
    municipalities: frozenset[str]


Parser = Callable[[str, str, _Context], object]

_LOGIN = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.@-]{0,63}")
_SMALL_INT = re.compile(r"[0-9]{1,6}")
_MUNICIPALITY_SEPARATORS = re.compile(r"[・､、･]")
_BOOLS = {"1": True, "0": False, "はい": True, "いいえ": False, "true": True, "false": False}


def _line(max_len: int) -> Parser:
    """One line of free text: no tab, line break or other control character, at most
    ``max_len`` characters."""

    def parse(s: str, f: str, ctx: _Context) -> str:
        return clean_text(s, f, max_len=max_len)

    return parse


def _long_text(s: str, f: str, ctx: _Context) -> str:
    return clean_text(s, f, max_len=NOTE_MAX, multiline=True)


def _claim_no(s: str, f: str, ctx: _Context) -> str:
    # Stored canonical (claim_no_key), the form every lookup and search compares with.
    s = claim_no_key(reject_invisible(s, f))
    if not s or len(s.split()) != 1:
        raise InputError(f, f"{f}に空白は使えません（例: R6-000123）")
    if len(s) > CLAIM_NO_MAX:
        raise InputError(f, f"{f}は{CLAIM_NO_MAX}文字以内で入力してください（例: R6-000123）")
    return s


def _name(s: str, f: str, ctx: _Context) -> str:
    """氏名: any visible text on one line; a zero-width or bidi character would hide from search."""
    return clean_text(s, f, max_len=NAME_MAX)


def _address(s: str, f: str, ctx: _Context) -> str:
    return clean_text(s, f, max_len=ADDRESS_MAX)


def _login(s: str, f: str, ctx: _Context) -> str:
    s = narrow(s).strip()
    if _LOGIN.fullmatch(s) is None:
        raise InputError(f, f"{f}はOSのログイン名（半角英数字）で入力してください（例: tanaka）")
    return s


def _positive_int(s: str, f: str, ctx: _Context) -> int:
    s = narrow(s).strip()
    if _SMALL_INT.fullmatch(s) is None or int(s) < 1:
        raise InputError(f, f"{f}は1以上の整数で入力してください（例: 1）")
    return int(s)


def _date(s: str, f: str, ctx: _Context) -> date:
    return parse_date(s, f)


def _amount(s: str, f: str, ctx: _Context) -> int:
    return parse_amount(s, f)


def _amount_or_zero(s: str, f: str, ctx: _Context) -> int:
    return parse_amount(s, f, allow_zero=True)


def _rate(s: str, f: str, ctx: _Context) -> Decimal:
    return parse_rate(s, f)


def _cover_ratio(s: str, f: str, ctx: _Context) -> Decimal:
    return parse_percent(s, f, maximum=Decimal(100), example="80")


def _vocab(vocab: Mapping[str, str], aliases: Mapping[str, str] | None = None) -> Parser:
    labels = "、".join(vocab.values())

    def parse(s: str, f: str, ctx: _Context) -> str:
        s = narrow(s).strip()
        code = code_for(vocab, s, aliases) or code_for(vocab, s.lower(), aliases)
        if code is None:
            raise InputError(f, f"{f}は{labels}のいずれかで入力してください")
        return code

    return parse


def _bool(s: str, f: str, ctx: _Context) -> bool:
    value = _BOOLS.get(narrow(s).strip().lower())
    if value is None:
        raise InputError(f, f"{f}は 1/0、はい/いいえ、true/false のいずれかで入力してください")
    return value


def _kana(s: str, f: str, ctx: _Context) -> str:
    clean_text(s, f, max_len=KANA_MAX)  # named as such, rather than "not kana"
    if not is_kana(s):
        raise InputError(f, f"{f}はカタカナ（またはひらがな）で入力してください")
    return normalize_kana(s)


def _municipalities(s: str, f: str, ctx: _Context) -> list[str]:
    names = [unicodedata.normalize("NFKC", p).strip() for p in _MUNICIPALITY_SEPARATORS.split(s)]
    if any(not n for n in names):
        raise InputError(
            f, f"{f}の団体名が空です。団体名は・で区切ってください（例: 東京都・横浜市）"
        )
    unknown = [n for n in names if n not in ctx.municipalities]
    if unknown:
        shown = "、".join(f"「{n}」" for n in unknown)
        raise InputError(f, f"{f}の{shown}は損失補償団体の一覧にありません")
    return list(dict.fromkeys(names))


def _municipality(s: str, f: str, ctx: _Context) -> str:
    """One known municipality (the reference list or one an admin added)."""
    name = unicodedata.normalize("NFKC", s).strip()
    if name not in ctx.municipalities:
        raise InputError(
            f, f"{f}の「{name}」は損失補償団体の一覧にありません（管理者が登録できます）"
        )
    return name


def _compensation_ratio(s: str, f: str, ctx: _Context) -> Decimal:
    return parse_percent(s, f, maximum=Decimal(100), example="80")


def _no_default(ctx: _Context) -> object:
    return None


@dataclass(frozen=True, slots=True)
class _Field:
    spec: ColumnSpec
    parse: Parser
    default: Callable[[_Context], object] = _no_default
    blank_ok: bool = False  # a required column whose cell may be empty ("" is stored)
    # Few distinct values in a file (dates, codes, logins): parse each distinct cell once.
    memo: bool = True


def _f(
    name: str,
    alias: str,
    required: bool,
    parse: Parser,
    default: Callable[[_Context], object] = _no_default,
    blank_ok: bool = False,
    memo: bool = True,
) -> _Field:
    return _Field(ColumnSpec(name, alias, required), parse, default, blank_ok, memo)


_CLAIM_NO = _f("求償権番号", "claim_no", True, _claim_no, memo=False)
_OBLIGOR_NO = _f("関係人番号", "obligor_no", True, _positive_int)
_REF = _f("番号", "ref", False, _line(LINE_MAX), memo=False)

_FIELDS: dict[str, tuple[_Field, ...]] = {
    "claims": (
        _CLAIM_NO,
        _f("代位弁済日", "subrogation_date", True, _date),
        _f("代位弁済元金", "loan_principal", True, _amount, memo=False),
        _f("代位弁済利息", "loan_interest", True, _amount_or_zero, memo=False),
        _f("損害金率", "damages_rate", False, _rate, lambda c: c.default_damages_rate),
        _f("充当順序", "allocation_order", False, _vocab(ALLOCATION_ORDERS), lambda c: "statutory"),
        _f("委託契約日", "contract_date", True, _date),
        _f("金融機関", "lender", True, _line(NAME_MAX)),
        _f("制度融資", "programme", False, _line(NAME_MAX)),
        _f("保険種類", "insurance_type", False, _line(NAME_MAX)),
        _f("てん補率", "cover_ratio", False, _cover_ratio),
        _f("保険金", "insurance_paid", False, _amount, memo=False),
        _f("保険金受領日", "insurance_paid_on", False, _date),
        _f("損失補償団体", "municipalities", False, _municipalities, lambda c: []),
        _f("担当者", "staff", True, _login),
    ),
    "obligors": (
        _CLAIM_NO,
        _OBLIGOR_NO,
        _f("区分", "role", True, _vocab(ROLES)),
        _f("氏名", "name", True, _name, memo=False),
        _f("カナ", "kana", True, _kana, memo=False),
        _f("法人個人", "kind", True, _vocab(OBLIGOR_KINDS)),
        _f("商人", "merchant", False, _bool),
        _f("生年月日", "birth_date", False, _date),
        _f("住所", "address", True, _address, blank_ok=True, memo=False),
        _f("状態", "state", False, _vocab(OBLIGOR_STATES), lambda c: "normal"),
    ),
    "receipts": (
        _CLAIM_NO,
        _f("入金日", "date", True, _date),
        _f("金額", "amount", True, _amount, memo=False),
        _f("入金者", "payer", True, _positive_int),
        _f("入金方法", "method", False, _vocab(RECEIPT_METHODS), lambda c: "transfer"),
        _REF,
    ),
    "events": (
        _CLAIM_NO,
        _OBLIGOR_NO,
        _f("事由", "kind", True, _vocab(EVENT_KINDS, EVENT_KIND_ALIASES)),
        _f("日付", "date", True, _date),
        _f("終了日", "until", False, _date),
        _REF,
    ),
    "contacts": (
        _CLAIM_NO,
        _OBLIGOR_NO,
        _f("日時", "at", True, lambda s, f, c: parse_datetime(s, f), memo=False),
        _f("担当者", "staff", True, _login),
        _f("方法", "channel", True, _vocab(CONTACT_CHANNELS)),
        _f("結果", "outcome", True, _line(LINE_MAX), memo=False),
        _f("内容", "note", True, _long_text, blank_ok=True, memo=False),
        _f("約束金額", "promised_amount", False, _amount, memo=False),
        _f("約束日", "promised_on", False, _date),
        _f("次回行動", "next_action", False, _line(LINE_MAX), memo=False),
        _f("次回日", "next_on", False, _date),
        _REF,
    ),
    "municipalities": (
        _CLAIM_NO,
        _f("損失補償団体", "municipality", True, _municipality),
        _f("損失補償割合", "ratio", False, _compensation_ratio),
        _f("損失補償金額", "compensated_amount", False, _amount_or_zero, memo=False),
        _f("回収納付金", "remittances_paid", False, _amount_or_zero, memo=False),
    ),
}

COLUMNS: dict[str, list[ColumnSpec]] = {
    kind: [f.spec for f in fields] for kind, fields in _FIELDS.items()
}


def header(kind: str) -> list[str]:
    """The Japanese header of an import file in SPEC 5.4's column order.

    The demo and the scale-L generator write their rows positionally in this order.
    """
    return [c.name for c in COLUMNS[kind]]


# --- checks across the cells of one row -----------------------------------------------------
# ``v`` holds the cells that parsed (blank optional ones as their default); a cell that failed
# is absent, and checks involving it are skipped (its own error is already reported).

Report = Callable[[str, str], None]  # (alias of the column at fault, reason)


def _check_claim(v: dict[str, object], report: Report) -> None:
    sub = v.get("subrogation_date")
    contract = v.get("contract_date")
    if isinstance(sub, date) and isinstance(contract, date) and contract > sub:
        report("contract_date", "委託契約日は代位弁済日以前の日付にしてください")
    keys = ("insurance_type", "cover_ratio", "insurance_paid", "insurance_paid_on")
    if not all(k in v for k in keys):
        return
    kind, ratio, paid, paid_on = (v[k] for k in keys)
    if kind is not None and ratio is None:
        report("cover_ratio", "保険種類を入力した場合はてん補率も入力してください")
    if kind is None and (ratio is not None or paid is not None or paid_on is not None):
        report("insurance_type", "てん補率・保険金を入力した場合は保険種類も入力してください")
    if paid is not None and paid_on is None:
        report("insurance_paid_on", "保険金を入力した場合は保険金受領日も入力してください")
    if paid is None and paid_on is not None:
        report("insurance_paid", "保険金受領日を入力した場合は保険金も入力してください")
    if isinstance(sub, date) and isinstance(paid_on, date) and paid_on < sub:
        report("insurance_paid_on", "保険金受領日は代位弁済日以降の日付にしてください")


def _check_obligor(v: dict[str, object], report: Report) -> None:
    if v.get("kind") == "corporation" and v.get("merchant") is not None:
        report(
            "merchant", "商人は個人の場合だけ入力します（法人は常に商人です）。空欄にしてください"
        )
    no, role = v.get("obligor_no"), v.get("role")
    if no == 1 and role is not None and role != "principal_debtor":
        report("role", "関係人番号1は主債務者です。区分を主債務者にしてください")
    if role == "principal_debtor" and no is not None and no != 1:
        report("obligor_no", "主債務者の関係人番号は1にしてください")


def _check_event(v: dict[str, object], report: Report) -> None:
    start, until = v.get("date"), v.get("until")
    if isinstance(start, date) and isinstance(until, date) and until <= start:
        report("until", "終了日は日付より後の日付にしてください")


def _check_contact(v: dict[str, object], report: Report) -> None:
    if "promised_amount" in v and "promised_on" in v:
        amount, on = v["promised_amount"], v["promised_on"]
        if amount is not None and on is None:
            report("promised_on", "約束金額を入力した場合は約束日も入力してください")
        if amount is None and on is not None:
            report("promised_amount", "約束日を入力した場合は約束金額も入力してください")
        at = v.get("at")
        if isinstance(on, date) and isinstance(at, datetime) and on < at.date():
            report("promised_on", "約束日は交渉の日時より前にはできません")
    if v.get("channel") == "review":  # sets the review date: recorded on the claim, by hand
        report(
            "channel",
            "見直しは取込めません（管理事務停止中の求償権の画面で記録すると次回見直し日が決まります）",
        )


_ROW_CHECKS: dict[str, Callable[[dict[str, object], Report], None]] = {
    "claims": _check_claim,
    "obligors": _check_obligor,
    "events": _check_event,
    "contacts": _check_contact,
}

# Rows that must be unique within one file, by these values.
_UNIQUE: dict[str, tuple[str, ...]] = {
    "claims": ("claim_no",),
    "obligors": ("claim_no", "obligor_no"),
    "municipalities": ("claim_no", "municipality"),
}


# --- the file ------------------------------------------------------------------------------


def _header_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


Column = tuple[str, "_Field | None"]  # (header as written, its field; None: ignored column)


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the header says, worked out once per file."""

    kind: str
    columns: tuple[Column, ...]
    label_of: dict[str, str]  # alias → the column's name for error reports
    absent: tuple[_Field, ...]  # optional fields without a column: they take their default


def _read_header(kind: str, cells: list[str], line: int, errors: list[RowError]) -> _Layout:
    """The layout of the file's columns; header errors are appended."""
    fields = _FIELDS[kind]
    lookup: dict[str, _Field] = {}
    for known in fields:
        lookup[_header_key(known.spec.name)] = known
        lookup[known.spec.alias.lower()] = known
    names = "、".join(f.spec.name for f in fields)
    seen: dict[str, str] = {}
    columns: list[Column] = []
    for raw in cells:
        written = raw.strip()
        key = _header_key(raw)
        f: _Field | None
        f = (lookup.get(key) or lookup.get(key.lower())) if key else None
        if key and f is None:
            reason = (
                f"「{written}」は{KIND_LABELS[kind]}ファイルの列ではありません（使える列: {names}）"
            )
            errors.append(RowError(line, written, reason))
        elif f is not None and f.spec.alias in seen:
            reason = f"列「{written}」が重複しています（「{seen[f.spec.alias]}」と同じ列です）"
            errors.append(RowError(line, written, reason))
            f = None
        elif f is not None:
            seen[f.spec.alias] = written
        columns.append((written, f))
    for f in fields:
        if f.spec.required and f.spec.alias not in seen:
            reason = f"必須の列「{f.spec.name}」（{f.spec.alias}）がありません"
            errors.append(RowError(line, f.spec.name, reason))
    label_of = {f.spec.alias: seen.get(f.spec.alias, f.spec.name) for f in fields}
    absent = tuple(f for f in fields if f.spec.alias not in seen and not f.spec.required)
    return _Layout(kind, tuple(columns), label_of, absent)


Memo = dict[tuple[str, str], tuple[bool, object]]  # (alias, cell) → (parsed?, value or reason)


def _parse_row(
    layout: _Layout,
    cells: list[str],
    line: int,
    ctx: _Context,
    errors: list[RowError],
    memo: Memo,
    rejected: set[str] | None = None,
) -> ParsedRow | None:
    """The row's values, or None after appending every error found in it."""
    n = len(layout.columns)
    if len(cells) < n or (len(cells) > n and any(c.strip() for c in cells[n:])):
        reason = f"列の数が見出し行と違います（見出し {n} 列、この行 {len(cells)} 列）"
        errors.append(RowError(line, "", reason))
        return None
    before = len(errors)
    values: dict[str, object] = {}
    for i, ((written, f), cell) in enumerate(zip(layout.columns, cells, strict=False), start=1):
        s = cell.strip()
        if f is None:
            if not written and s:
                errors.append(RowError(line, f"{i}列目", "列名のない列に値があります"))
            continue
        spec = f.spec
        if not s:
            if f.blank_ok:
                values[spec.alias] = ""
            elif spec.required:
                errors.append(RowError(line, written, f"{spec.name}を入力してください"))
            else:
                values[spec.alias] = f.default(ctx)
            continue
        known = memo.get((spec.alias, s)) if f.memo else None
        if known is None:
            try:
                known = (True, f.parse(s, spec.name, ctx))
            except InputError as err:
                known = (False, err.message)
            if f.memo:
                memo[(spec.alias, s)] = known
        ok, value = known
        if ok:
            values[spec.alias] = list(value) if isinstance(value, list) else value
        else:
            errors.append(RowError(line, written, str(value)))
    for f in layout.absent:
        values[f.spec.alias] = f.default(ctx)

    def report(alias: str, reason: str) -> None:
        errors.append(RowError(line, layout.label_of[alias], reason))

    check = _ROW_CHECKS.get(layout.kind)
    if check is not None:
        check(values, report)
    if len(errors) > before:
        claim_no = values.get("claim_no")
        if rejected is not None and isinstance(claim_no, str):
            rejected.add(claim_no)
        return None
    return ParsedRow(line, {alias: values.get(alias) for alias in layout.label_of})


def _csv_reason(err: csv.Error) -> str:
    text = str(err)
    if "end of data" in text:
        what = '引用符（"）で始まるセルが閉じられないままファイルが終わっています'
    elif "expected after" in text:
        what = '引用符（"）で囲んだセルの後に区切りのカンマ以外の文字があります'
    elif "field limit" in text:
        what = "長すぎるセルがあります（引用符の閉じ忘れの可能性があります）"
    else:
        what = "CSVとして読めない行があります"
    return f"CSVの形式が正しくありません: {what}。この行以降は読めませんでした"


CHUNK = 1 << 16  # bytes read at a time; the first chunk decides the encoding
LINE_MAX_CHARS = 1 << 20  # a longer physical line is not a CSV file (e.g. /dev/zero)
_BREAK = re.compile(r"\r\n|\r|\n")


def too_large(name: str, max_bytes: int) -> InputError:
    """The refusal of a file larger than the setting import.max_bytes."""
    return InputError(
        FILE_FIELD,
        f"{name} は import.max_bytes（{max_bytes:,} バイト）を超えるため取り込みませんでした。"
        "ファイルを分けるか、設定 import.max_bytes を大きくしてください",
    )


class _Unreadable(Exception):
    """The rest of the file cannot be read: the reason is reported on the current line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class CsvReader:
    """An import file read as a stream, so memory stays bounded whatever its size.

    ``rows()`` yields the good rows one at a time and appends every error to ``errors``.
    Nothing of a row is kept once it is yielded except what the checks across rows need
    (the keys that must be unique in the file). Reading past ``max_bytes`` raises
    InputError naming the file and the setting.
    """

    def __init__(
        self,
        kind: str,
        stream: BinaryIO,
        *,
        default_damages_rate: Decimal,
        municipalities: Collection[str],
        max_bytes: int | None = None,
        name: str = "<stdin>",
    ) -> None:
        if kind not in _FIELDS:
            raise InputError("種類", f"種類は {'、'.join(KINDS)} のいずれかを指定してください")
        self.kind = kind
        self.stream = stream
        self.ctx = _Context(default_damages_rate, frozenset(municipalities))
        self.max_bytes = max_bytes
        self.name = name
        self.errors: list[RowError] = []
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0
        self.rows_read = 0  # good rows yielded
        self.layout: _Layout | None = None
        self.header_ok = False
        # claim numbers of rows refused here, so later checks do not report them again
        self.rejected_claims: set[str] = set()

    @property
    def checkable(self) -> bool:
        """Every required column is there: the rows can be checked against the database."""
        layout = self.layout
        if layout is None:
            return False
        present = {f.spec.alias for _, f in layout.columns if f is not None}
        return all(f.spec.alias in present for f in _FIELDS[self.kind] if f.spec.required)

    def _read(self) -> bytes:
        data = self.stream.read(CHUNK)
        self.bytes_read += len(data)
        if self.max_bytes is not None and self.bytes_read > self.max_bytes:
            raise too_large(self.name, self.max_bytes)
        if b"\0" in data:
            raise _Unreadable("NUL文字（0x00）が含まれています。CSVファイルではありません")
        self.sha256.update(data)
        return data

    def _text(self) -> Iterator[str]:
        """The file decoded chunk by chunk: UTF-8 (BOM or not) or CP932, as ``decode``.

        Plain ASCII is both; the first non-ASCII chunk decides, so a CP932 file whose first
        lines are ASCII is still read as CP932.
        """
        data = self._read()
        decoder: codecs.IncrementalDecoder | None = None
        if data.startswith(codecs.BOM_UTF8):
            decoder = codecs.getincrementaldecoder("utf-8-sig")()
        while True:
            final = not data
            if decoder is None and data.isascii():
                text = data.decode("ascii")
            elif decoder is None:
                try:
                    decoder = codecs.getincrementaldecoder("utf-8")()
                    text = decoder.decode(data, final)
                except UnicodeDecodeError:
                    decoder = codecs.getincrementaldecoder("cp932")()
                    try:
                        text = decoder.decode(data, final)
                    except UnicodeDecodeError:
                        raise _Unreadable(
                            "文字コードを判別できません。UTF-8またはShift_JIS（CP932）で保存してください"
                        ) from None
            else:
                try:
                    text = decoder.decode(data, final)
                except UnicodeDecodeError as err:
                    # the lines before the bad byte are still read, so the error names its line
                    decoder.reset()
                    try:
                        yield decoder.decode(data[: err.start])
                    except UnicodeDecodeError:
                        pass
                    enc = "UTF-8" if "utf" in err.encoding.lower() else "Shift_JIS（CP932）"
                    raise _Unreadable(
                        f"{enc}として読めない文字があります。UTF-8で保存し直してください"
                    ) from None
            if text:
                yield text
            if final:
                return
            data = self._read()

    def _lines(self) -> Iterator[str]:
        """Physical lines with their endings (\r\n, \r or \n), as csv.reader wants them."""
        pending = ""
        for text in self._text():
            pending += text
            start = 0
            for m in _BREAK.finditer(pending):
                if m.group() == "\r" and m.end() == len(pending):
                    break  # maybe the first half of \r\n
                yield pending[start : m.end()]
                start = m.end()
            pending = pending[start:]
            if len(pending) > LINE_MAX_CHARS:
                raise _Unreadable(
                    f"改行のない行が{LINE_MAX_CHARS:,}文字を超えています。CSVファイルではありません"
                )
        if pending:
            yield pending

    def rows(self) -> Iterator[ParsedRow]:
        """Every good row in file order; errors go to ``errors``."""
        kind, ctx, errors = self.kind, self.ctx, self.errors
        unique = _UNIQUE.get(kind)
        first_line_of: dict[object, int] = {}
        memo: Memo = {}
        reader = csv.reader(self._lines(), strict=True)
        end = 0  # physical lines read so far: a quoted cell may span lines
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                errors.append(RowError(end + 1, "", _csv_reason(err)))
                break
            except _Unreadable as err:
                errors.append(RowError(reader.line_num + 1, "", err.reason))
                break
            line, end = end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if self.layout is None:
                self.layout = _read_header(kind, cells, line, errors)
                self.header_ok = not errors
                continue
            row = _parse_row(self.layout, cells, line, ctx, errors, memo, self.rejected_claims)
            if row is None:
                continue
            if unique is not None:
                values = row.values
                key = values[unique[0]] if len(unique) == 1 else tuple(values[k] for k in unique)
                if key in first_line_of:
                    label = "・".join(f.spec.name for f in _FIELDS[kind] if f.spec.alias in unique)
                    reason = f"{first_line_of[key]}行目と同じ{label}です"
                    errors.append(RowError(line, self.layout.label_of[unique[-1]], reason))
                    continue
                first_line_of[key] = line
            self.rows_read += 1
            yield row
        if self.layout is None and not errors:
            errors.append(RowError(1, "", "見出し行がありません。1行目に列名を書いてください"))


def parse_csv(
    kind: str,
    data: bytes,
    *,
    default_damages_rate: Decimal,
    municipalities: Collection[str],
) -> ParseResult:
    """Every row of an import file of ``kind`` parsed, or every error found in it.

    ``rows`` holds only rows without errors, and is empty when the header is wrong; the
    caller imports nothing unless ``errors`` is empty.
    """
    reader = CsvReader(
        kind,
        io.BytesIO(data),
        default_damages_rate=default_damages_rate,
        municipalities=municipalities,
    )
    result = ParseResult(kind)
    result.rows = list(reader.rows())
    result.errors = reader.errors
    if not reader.header_ok:
        result.rows.clear()
    return result
