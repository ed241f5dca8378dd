"""The document machinery (SPEC 4.15) and the 決裁書 (SPEC 4.8): what a printed decision says,
escaped for its format, from templates a 協会 may override, and as PDF with a Japanese font."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
from conftest import make_session
from test_clocks import BOSS, STAFF, new_claim

from kyusho.documents import DocumentSettings, japanese_font, md_escape, pdf_unavailable, render
from kyusho.documents.decision import decision_document
from kyusho.errors import KyushoError
from kyusho.services import decisions
from kyusho.services.staff import add_staff

NOTE = "<script>alert(1)</script> | *至急* [link](x)"


@pytest.fixture
def overridden(db_path):
    """A 所在不明 suspension approved by another login with an override, one item attested."""
    s = make_session(db_path)
    add_staff(s, STAFF, "田中", "staff")
    add_staff(s, BOSS, "部長", "manager")
    new_claim(s, "R6-000001", date(2024, 6, 10), guarantors=1)
    d = decisions.propose(
        make_session(db_path, STAFF),
        "R6-000001",
        "suspension",
        reason="転居先不明 & 郵便返戻",
        data={
            "reasons": ["whereabouts_unknown"],
            "attested": {"last_whereabouts_check": {"answer": "2026-11-01", "note": NOTE}},
        },
    )
    d = decisions.approve(make_session(db_path, BOSS), d.id, override_reason="住民票で確認済み")
    return s, d


def test_the_decision_document_says_everything_frozen_and_who_decided(overridden):
    session, d = overridden
    record = decisions.decision_json(d)
    doc = decision_document(session, d)
    for text in (doc.html, doc.markdown):
        assert "決裁書" in text and "管理事務停止" in text and "決裁済" in text
        assert "R6-000001" in text and "株式会社テスト" in text  # the claim and its debtor
        assert "所在調査日" in text and "2026-11-01" in text  # the attested item and answer
        for check in record["checks"].values():  # every check with its figures
            assert check["label"] in text
            assert check["detail"].split("（")[0] in text
        assert "田中（tanaka）" in text and "部長（buchou）" in text
        assert record["proposed_at"][:16].replace("T", " ") in text
        assert record["decided_at"][:16].replace("T", " ") in text
        assert "住民票で確認済み" in text  # the override reason
        assert "オーバーライド" in text
    # user text is text: escaped for HTML and for Markdown
    assert "<script>" not in doc.html and "&lt;script&gt;" in doc.html
    assert "転居先不明 &amp; 郵便返戻" in doc.html
    assert "<script>" not in doc.markdown and "&lt;script&gt;" in doc.markdown
    assert r"\| \*至急\* \[link\](x)" in doc.markdown  # no table break, emphasis or link


def test_markdown_escaping_keeps_text_literal_and_on_its_line():
    assert md_escape("a|b") == r"a\|b"
    assert md_escape("# 見出し") == r"\# 見出し"
    assert md_escape("- 項目") == r"\- 項目"
    assert md_escape("1. 一") == r"1\. 一"
    assert md_escape("一行目\n二行目") == "一行目<br>二行目"
    assert md_escape("<b>&") == "&lt;b&gt;&amp;"
    assert md_escape("2026-11-22 1,000円") == "2026-11-22 1,000円"  # figures stay readable


def test_a_kyokai_template_folder_overrides_the_shipped_default(overridden, tmp_path):
    session, d = overridden
    (tmp_path / "decision.md.j2").write_text(
        "# 長崎県協会 決裁書 {{ claim.claim_no }} {{ decision.override_reason }}\n",
        encoding="utf-8",
    )
    doc = decision_document(session, d, DocumentSettings(templates=tmp_path))
    assert doc.markdown == "# 長崎県協会 決裁書 R6-000001 住民票で確認済み\n"
    assert "決裁書" in doc.html and "確認項目" in doc.html  # HTML still from the default


def test_a_mistyped_field_in_an_edited_template_is_reported_not_printed_blank(tmp_path):
    (tmp_path / "letter.md.j2").write_text("{{ claim.claim_number }}", encoding="utf-8")
    (tmp_path / "letter.html.j2").write_text("<p>{{ claim.claim_no }}</p>", encoding="utf-8")
    with pytest.raises(KyushoError, match="letter.md.j2"):
        render("letter", {"claim": {"claim_no": "R6-1"}}, DocumentSettings(templates=tmp_path))
    (tmp_path / "letter.md.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(KyushoError, match="letter.md.j2 の 1 行目"):
        render("letter", {"claim": {"claim_no": "R6-1"}}, DocumentSettings(templates=tmp_path))


def test_without_a_japanese_font_pdf_is_none_and_the_reason_names_the_setting(overridden, tmp_path):
    session, d = overridden
    missing = tmp_path / "no-such-font.ttf"
    doc = decision_document(session, d, DocumentSettings(font=missing))
    assert doc.pdf() is None
    assert "documents.font" in (pdf_unavailable(DocumentSettings(font=missing)) or "")
    assert doc.html and doc.markdown  # HTML and Markdown always


@pytest.mark.skipif(
    japanese_font() is None or pdf_unavailable() is not None,
    reason=f"no PDF here: {pdf_unavailable()}",
)
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_the_decision_prints_to_pdf_with_its_japanese_text(overridden, tmp_path):
    session, d = overridden
    pdf = decision_document(session, d).pdf()
    assert pdf is not None and pdf.startswith(b"%PDF")
    path = tmp_path / "d.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    for expected in ("決裁書", "管理事務停止", "R6-000001", "株式会社テスト", "住民票で確認済み"):
        assert expected in text
