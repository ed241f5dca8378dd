"""Free text is text (issue 12 point 7): no control characters, a stated maximum length."""

from __future__ import annotations

import csv
import io

import pytest

from kyusho.errors import InputError
from kyusho.rules.text import NOTE_MAX, clean_text
from kyusho.services.contacts import add_contact
from kyusho.services.imports import ImportFailed, import_bytes
from models.schema import Contact, Obligor


def test_clean_text_refuses_line_breaks_in_one_line_and_keeps_them_in_notes():
    with pytest.raises(InputError) as e:
        clean_text("ボブ\tstaff", "氏名", max_len=100)
    assert e.value.field == "氏名" and "タブ" in e.value.message
    assert clean_text("一行目\r\n二行目", "内容", max_len=100, multiline=True) == "一行目\n二行目"
    with pytest.raises(InputError) as e:
        clean_text("赤\x1b[31m", "内容", max_len=100, multiline=True)
    assert "U+001B" in e.value.message
    with pytest.raises(InputError) as e:
        clean_text("あ" * 2345, "内容", max_len=NOTE_MAX, multiline=True)
    assert str(e.value) == "内容: 内容は2000文字以内で入力してください（2,345文字）"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"outcome": "不在\n次回"},
        {"outcome": "x" * 201},
        {"note": "電話\x1b[2J"},
        {"note": "x" * 2001},
        {"next_action": "再架電\t至急"},
    ],
)
def test_a_contact_with_control_characters_or_too_long_is_refused(demo_session, kwargs):
    s = demo_session
    claim_no = Obligor.select().first().claim.claim_no
    before = Contact.select().count()
    args = {"outcome": "不在", "note": ""} | kwargs
    with pytest.raises(InputError):
        add_contact(s, claim_no, None, "phone", args.pop("outcome"), args.pop("note"), **args)
    assert Contact.select().count() == before


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


OBLIGOR_HEADER = ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "住所"]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("氏名", "ボブ\t連帯保証人", "タブ"),
        ("氏名", "山田\n太郎", "改行"),
        ("住所", "東京都" + "あ" * 200, "200文字以内"),
        ("カナ", "ア" * 101, "100文字以内"),
    ],
)
def test_a_csv_text_cell_with_control_characters_or_too_long_is_refused(
    demo_session, column, value, expected
):
    s = demo_session
    claim = Obligor.select().first().claim
    row = [claim.claim_no, "9", "連帯保証人", "山田太郎", "ヤマダ", "個人", "東京都"]
    row[OBLIGOR_HEADER.index(column)] = value
    before = Obligor.select().count()
    with pytest.raises(ImportFailed) as info:
        import_bytes(s, "obligors", _csv([OBLIGOR_HEADER, row]))
    assert [(e.column, expected in e.reason) for e in info.value.errors] == [(column, True)]
    assert Obligor.select().count() == before
