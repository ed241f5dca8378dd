"""One contact in full: its note, promise, next action, who and when, cancelled or not.

The claim's 交渉 tab has room for a few words of each contact at 80 columns; this modal
shows everything recorded (the note can be long), and scrolls. User text is plain text.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kyusho.rules.dates import format_date, format_datetime
from kyusho.rules.money import format_yen
from kyusho.vocab import CONTACT_CHANNELS


def contact_lines(
    contact: Any, obligor: str, staff: dict[str, str], style: str
) -> list[tuple[str, str]]:
    """(label, value) of every recorded part of a contact, in the order a collector reads them."""

    def who(login: str | None) -> str:
        return staff.get(login or "", login or "")

    lines = [
        ("日時", format_datetime(contact.at, style)),
        ("関係人", obligor or "（指定なし）"),
        ("担当", who(contact.staff)),
        ("方法", CONTACT_CHANNELS.get(contact.channel, contact.channel)),
        ("結果", contact.outcome or ""),
    ]
    if contact.promised_amount:
        lines.append(
            (
                "入金約束",
                f"{format_yen(contact.promised_amount)}（{format_date(contact.promised_on, style)}まで）",
            )
        )
    if contact.next_action or contact.next_on:
        done = "（完了）" if getattr(contact, "next_done", False) else ""
        when = format_date(contact.next_on, style) if contact.next_on else ""
        lines.append(("次回行動", f"{contact.next_action or ''} {when}{done}".strip()))
    if getattr(contact, "cancelled", False):
        at = getattr(contact, "cancelled_at", None)
        parts = [
            "取消",
            format_datetime(at, style) if at else "",
            who(getattr(contact, "cancelled_by", None)),
        ]
        reason = getattr(contact, "cancel_reason", "") or ""
        lines.append(
            ("状態", " ".join(p for p in parts if p) + (f"　理由: {reason}" if reason else ""))
        )
    created = getattr(contact, "created_by", None)
    if created and created != contact.staff:
        lines.append(("入力者", who(created)))
    return lines


class ContactViewScreen(ModalScreen[None]):
    """交渉記録の内容"""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "閉じる", id="contact.close")]
    DEFAULT_CSS = """
    ContactViewScreen { align: center middle; }
    ContactViewScreen > #contact-box {
        width: 76; height: auto; max-height: 22;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ContactViewScreen #contact-title { text-style: bold; height: 1; }
    ContactViewScreen #contact-body { height: auto; max-height: 18; }
    ContactViewScreen .contact-label { color: $text-muted; }
    ContactViewScreen #contact-keys { height: 1; color: $text-muted; }
    """

    def __init__(self, title: str, lines: list[tuple[str, str]], note: str) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="contact-box"):
            yield Static(Text(self.title_text), id="contact-title")
            with VerticalScroll(id="contact-body"):
                body = Text()
                for label, value in self.lines:
                    body.append(f"{label:　<4} ", style="dim")
                    body.append(value + "\n")
                body.append("内容\n", style="dim")
                body.append(self.note or "（なし）")
                yield Static(body, id="contact-text")
            yield Static("↑↓ PgUp PgDn スクロール  Esc 閉じる", id="contact-keys")

    def on_mount(self) -> None:
        self.query_one("#contact-body").focus()
