"""The one document machinery (SPEC 4.15): templates rendered to HTML, Markdown and PDF.

決裁書 now; letters (督促状・催告書・約定書) and the waiver walk-through record later use the
same ``render``: a template name without its extension (``decision``) finds
``decision.html.j2`` and ``decision.md.j2``, first in the 協会's own template folder (the
``documents.templates`` setting) and then among the shipped defaults in
``kyusho/documents/templates``. A 協会 edits its letters by copying a default there.

Every value a template prints is escaped for its format (HTML by Jinja2's autoescape,
Markdown by ``md_escape``), so a name or a note can never become markup. Templates run in
Jinja2's sandbox with undefined names as errors: a mistyped field in an edited template is
reported, never printed as an empty string.

PDF comes from the HTML through WeasyPrint, only with a Japanese font (the ``documents.font``
setting, else the first one fontconfig lists for Japanese): without one it would print empty
boxes, so ``Document.pdf()`` returns None and ``pdf_unavailable`` says why.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from kyusho.errors import InputError, KyushoError
from kyusho.rules.dates import format_date

TEMPLATES = Path(__file__).with_name("templates")
FORMATS = ("html", "md", "pdf")

# where distributions install a Japanese font when fontconfig's fc-list is not at hand
KNOWN_FONTS = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)


@dataclass(frozen=True)
class DocumentSettings:
    """Where templates and the PDF font come from.

    ``from_config`` reads ``config.documents`` (``font``, ``templates``) when the
    configuration has that section; until then the defaults apply.
    """

    font: Path | None = None
    templates: Path | None = None

    @classmethod
    def from_config(cls, config: Any) -> DocumentSettings:
        section = getattr(config, "documents", None)
        if section is None:
            return cls()
        font, templates = getattr(section, "font", None), getattr(section, "templates", None)
        return cls(
            font=None if font is None else Path(font),
            templates=None if templates is None else Path(templates),
        )


@dataclass(frozen=True)
class Document:
    """One rendered document: HTML and Markdown always, PDF where a Japanese font exists."""

    name: str
    html: str
    markdown: str
    settings: DocumentSettings = field(default_factory=DocumentSettings)

    def pdf(self) -> bytes | None:
        """The HTML printed to PDF, or None when it cannot be done (``pdf_unavailable``)."""
        font = japanese_font(self.settings.font)
        if font is None or _weasyprint_problem() is not None:
            return None
        return _write_pdf(self.html, font)

    def pdf_unavailable(self) -> str | None:
        """Why ``pdf()`` gives None (in Japanese), or None when PDF can be made."""
        return pdf_unavailable(self.settings)

    def content(self, fmt: str) -> bytes | None:
        """The document in ``fmt`` (html, md or pdf) as bytes; None for an impossible PDF."""
        if fmt == "html":
            return self.html.encode("utf-8")
        if fmt == "md":
            return self.markdown.encode("utf-8")
        if fmt == "pdf":
            return self.pdf()
        raise InputError("形式", f"{' / '.join(FORMATS)} のいずれかを指定してください")


# ---------------------------------------------------------------- escaping and filters

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|#~])")
_MD_LINE_START = re.compile(r"^(\s*)([-+=>])")
_MD_NUMBERED = re.compile(r"^(\s*\d+)([.)])")


def md_escape(value: Any) -> str:
    """A value made literal in Markdown: no emphasis, link, table cell break, heading or HTML.

    ``&``, ``<`` and ``>`` become entities (a Markdown renderer passes raw HTML through);
    line breaks become ``<br>`` so a note stays inside its paragraph or table cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    text = str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(r"\1\\\2", text)
    text = _MD_NUMBERED.sub(r"\1\\\2", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "<br>".join(text.split("\n"))


def yen(value: Any) -> str:
    """1234567 → 1,234,567円 (money is int yen; anything else is shown as it is)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "—" if value is None else str(value)
    return f"{value:,}円"


def when(value: Any) -> str:
    """A date or timestamp for a document: 2026-11-22 09:30 (JST as stored), — for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def wareki(value: Any) -> str:
    """A date as a letter prints it: 令和7年4月1日 (— for none)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, date):
        return format_date(value, "wareki_long")
    return str(value)


def _environment(templates: Path | None, *, html: bool) -> SandboxedEnvironment:
    folders: list[jinja2.BaseLoader] = []
    if templates is not None:
        folders.append(jinja2.FileSystemLoader(str(templates)))
    folders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(folders),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        finalize=None if html else md_escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["yen"] = yen
    env.filters["when"] = when
    env.filters["wareki"] = wareki
    return env


def render(
    template_name: str, context: Mapping[str, Any], settings: DocumentSettings | None = None
) -> Document:
    """Render ``template_name`` (``decision``: decision.html.j2 and decision.md.j2)."""
    settings = settings or DocumentSettings()
    if not re.fullmatch(r"[a-z][a-z0-9_]*", template_name):
        raise InputError("テンプレート", f"テンプレート名 {template_name!r} は使えません")
    if settings.templates is not None and not settings.templates.is_dir():
        raise InputError(
            "documents.templates", f"テンプレートのフォルダ {settings.templates} がありません"
        )
    out: dict[str, str] = {}
    for ext, html in (("html", True), ("md", False)):
        name = f"{template_name}.{ext}.j2"
        try:
            template = _environment(settings.templates, html=html).get_template(name)
            out[ext] = template.render(**context)
        except jinja2.TemplateNotFound:
            raise KyushoError(f"テンプレート {name} が見つかりません") from None
        except jinja2.TemplateSyntaxError as exc:
            raise KyushoError(
                f"テンプレート {name} の {exc.lineno} 行目に誤りがあります（{exc.message}）"
            ) from None
        except (jinja2.UndefinedError, jinja2.sandbox.SecurityError) as exc:
            line = _template_line(exc, name)
            where = f" の {line} 行目" if line is not None else ""
            raise KyushoError(f"テンプレート {name}{where}を差し込めません（{exc}）") from None
    return Document(template_name, out["html"], out["md"], settings)


def _template_line(exc: BaseException, name: str) -> int | None:
    """The template line an error was raised on (Jinja2 maps its frames to template lines)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).name == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)
PAGE_BREAK = '<div class="page-break" style="break-after: page; page-break-after: always"></div>'
MD_SEPARATOR = "\n\n---\n\n"


def render_batch(
    template_name: str,
    contexts: Sequence[Mapping[str, Any]],
    settings: DocumentSettings | None = None,
) -> Document:
    """One document of several (one letter per context): a page each in HTML and PDF.

    The HTML keeps the first rendering's head (title, styles) and puts every rendering's
    body after it, a page break between them; Markdown separates them with a rule.
    """
    if not contexts:
        raise InputError("対象", "対象がありません（1 件以上選んでください）")
    docs = [render(template_name, c, settings) for c in contexts]
    if len(docs) == 1:
        return docs[0]
    first = docs[0].html
    bodies = []
    for doc in docs:
        found = _BODY.search(doc.html)
        bodies.append(found.group(1) if found else doc.html)
    joined = f"\n{PAGE_BREAK}\n".join(bodies)
    head = _BODY.search(first)
    if head is None:
        html = joined
    else:
        opening = first[: head.start(1)]
        closing = first[head.end(1) :]
        html = opening + joined + closing
    markdown = MD_SEPARATOR.join(d.markdown.strip("\n") for d in docs) + "\n"
    return Document(template_name, html, markdown, docs[0].settings)


# ---------------------------------------------------------------- PDF


def japanese_font(configured: Path | None = None) -> Path | None:
    """The font file for PDF: the configured one if it exists, else an installed Japanese font."""
    if configured is not None:
        return configured if configured.is_file() else None
    return _installed_japanese_font()


@cache
def _installed_japanese_font() -> Path | None:
    fc_list = shutil.which("fc-list")
    if fc_list is not None:
        try:
            listed = subprocess.run(
                [fc_list, ":lang=ja", "file"], capture_output=True, text=True, timeout=20
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        files = sorted(line.strip().rstrip(":") for line in listed.splitlines() if line.strip())
        # a Gothic (sans) face reads best in a form; otherwise the first, for a stable choice
        for path in sorted(files, key=lambda f: ("goth" not in f.lower(), f)):
            if Path(path).is_file():
                return Path(path)
    for known in KNOWN_FONTS:
        if Path(known).is_file():
            return Path(known)
    return None


@cache
def _weasyprint_problem() -> str | None:
    try:
        import weasyprint  # noqa: F401
    except ImportError:
        return "WeasyPrint がインストールされていません（pip install weasyprint）"
    except OSError as exc:  # Pango missing: WeasyPrint loads it when imported
        return f"WeasyPrint が Pango を読み込めません（{exc}）。Debian では libpango-1.0-0 と libpangoft2-1.0-0 を入れてください"
    return None


def pdf_unavailable(settings: DocumentSettings | None = None) -> str | None:
    """Why no PDF can be made here (in Japanese), or None when it can."""
    settings = settings or DocumentSettings()
    problem = _weasyprint_problem()
    if problem is not None:
        return problem
    if settings.font is not None and not settings.font.is_file():
        return f"documents.font に指定したフォント {settings.font} がありません"
    if japanese_font(settings.font) is None:
        return (
            "日本語フォントが見つかりません（Debian では fonts-ipaexfont-gothic を入れるか、"
            "設定 documents.font にフォントファイルを指定してください）"
        )
    return None


def _write_pdf(html: str, font: Path) -> bytes:
    import weasyprint

    font_url = font.resolve().as_uri()

    def allowed(url: str) -> None:
        # a template may name no outside resource: only the chosen font and inline data
        if url != font_url and not url.startswith("data:"):
            raise ValueError(f"外部の資源は読み込みません: {url}")

    fetcher: Any
    if hasattr(weasyprint, "URLFetcher"):  # WeasyPrint 68 and later

        class _Fetcher(weasyprint.URLFetcher):
            def fetch(self, url: str, headers: Any = None) -> Any:
                allowed(url)
                return super().fetch(url, headers)

        fetcher = _Fetcher()
    else:  # earlier versions take a function

        def fetcher(url: str, *args: Any, **kwargs: Any) -> Any:
            allowed(url)
            return weasyprint.default_url_fetcher(url, *args, **kwargs)

    face = weasyprint.CSS(
        string=(
            f'@font-face {{ font-family: "kyusho-ja"; src: url("{font_url}"); }}'
            ' html, body, table, th, td { font-family: "kyusho-ja", sans-serif !important; }'
        ),
        url_fetcher=fetcher,
    )
    pdf = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=[face])
    if pdf is None:  # write_pdf without a target returns the bytes
        raise KyushoError("PDF を作成できませんでした")
    return bytes(pdf)
