"""Writing documents to files: one path for the command line and the screens.

A document goes to a file only through ``files.output_path`` (never over an existing file
without ``force``, never over the database or its companions) and ``write_atomically``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from kyusho.documents import Document
from kyusho.documents.decision import decision_document, find_decision
from kyusho.documents.letters import letters_document
from kyusho.errors import InputError, KyushoError
from kyusho.files import output_path, write_atomically
from kyusho.services.session import Session

FORMAT_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".pdf": "pdf"}


def document_format(dest: str | Path, fmt: str | None, field: str) -> str:
    """``fmt``, or the format the file name's extension says."""
    found = fmt or FORMAT_SUFFIXES.get(Path(dest).suffix.lower())
    if found is None:
        raise InputError(
            field, "拡張子を .html / .md / .pdf にするか、形式（html / md / pdf）を指定してください"
        )
    return found


def write_document(
    session: Session,
    make: Callable[[], Document],
    dest: str | Path,
    *,
    fmt: str | None = None,
    force: bool = False,
    field: str = "出力先",
) -> Path:
    """The document ``make()`` builds, written to ``dest`` in ``fmt``; the path written.

    The path is checked before the document is built, so a refused path costs nothing.
    """
    fmt = document_format(dest, fmt, field)
    path = output_path(dest, field, force=force, protect=session.protected_files())
    document = make()
    content = document.content(fmt)
    if content is None:
        why = document.pdf_unavailable() or "不明な理由"
        raise KyushoError(f"PDF は作成しませんでした: {why}。html か md なら出力できます")
    write_atomically(path, content, field=field)
    return path


def write_decision(session: Session, decision_id: int, dest: str | Path, **out: Any) -> Path:
    """The 決裁書 of ``decision_id`` written to ``dest`` (``out``: as for write_document)."""

    def make() -> Document:
        return decision_document(session, find_decision(session, decision_id, "決裁番号"))

    return write_document(session, make, dest, **out)


def write_letters(
    session: Session,
    kind: str,
    targets: Sequence[tuple[str, int]],
    on: date,
    dest: str | Path,
    **out: Any,
) -> Path:
    """One letter of ``kind`` per target (one per page) written to ``dest``."""
    return write_document(
        session, lambda: letters_document(session, kind, targets, on), dest, **out
    )
