"""Small shared widgets: the status line, the key bar, list tables and kinsoku-wrapped text."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Static

from kyusho.rules.dates import format_date
from kyusho.vocab import STAFF_ROLES
from screens.context import context, watch_as_of

# 行頭禁則: characters that must not start a line (closing brackets, stops, small kana...)
NO_LINE_START = set(
    "、。，．,.）)」』】〕］]｝}〉》・：:；;！!？?ー～ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ％%"
)
# 行末禁則: opening brackets must not end a line
NO_LINE_END = set("（(「『【〔［[｛{〈《")


def _units(paragraph: str) -> list[str]:
    """Break opportunities: an ASCII word stays whole, every other character stands alone."""
    units: list[str] = []
    word = ""
    for ch in paragraph:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            units.append(word)
            word = ""
        units.append(ch)
    if word:
        units.append(word)
    return units


def kinsoku_wrap(text: str, width: int) -> list[str]:
    """Wrap ``text`` to ``width`` cells so that no line starts with 「。」「、」「）」「」」 etc.
    and none ends with an opening bracket (a small 追い出し: the last character moves down).

    Rich wraps Japanese at any character, which leaves a lone 「。」 at the start of a line.
    """
    if width <= 0:
        return [text]
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        size = 0
        for unit in _units(paragraph):
            w = cell_len(unit)
            if line and size + w > width:
                carry: list[str] = []
                if unit in NO_LINE_START:
                    # move the character before it down too (twice for 「。」」)
                    while len(line) > 1 and (not carry or carry[0] in NO_LINE_START):
                        carry.insert(0, line.pop())
                while len(line) > 1 and line[-1] in NO_LINE_END:
                    carry.insert(0, line.pop())
                lines.append("".join(line).rstrip())
                line = [u for u in carry]
                while line and line[0].isspace():
                    line.pop(0)
                size = sum(cell_len(u) for u in line)
                if unit.isspace() and not line:
                    continue
            while w > width:  # a word longer than a line is cut where it must be
                head = unit
                while cell_len(head) > width - size and len(head) > 1:
                    head = head[:-1]
                line.append(head)
                lines.append("".join(line).rstrip())
                line, size = [], 0
                unit = unit[len(head) :]
                w = cell_len(unit)
            line.append(unit)
            size += w
        lines.append("".join(line).rstrip())
    return lines


class WrappedText(Static):
    """Plain text wrapped with Japanese line-breaking rules (no lone 「。」 starts a line).

    A Static, so ``update()`` and ``.content`` work as before; the text is re-wrapped to the
    widget's width whenever it is laid out.
    """

    def _plain(self) -> str:
        return str(self.content)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(kinsoku_wrap(self._plain(), width)) if self._plain() else 0

    def render(self) -> Text:
        width = self.content_region.width or self.size.width
        return Text("\n".join(kinsoku_wrap(self._plain(), width)), no_wrap=True, end="")


class ListTable(DataTable):
    """A row-cursor table where Home and End go to the first and the last row (as in the list).

    DataTable's own Home/End scroll sideways, which at 80 columns does nothing a user sees.
    """

    BINDINGS = [
        Binding("home", "first_row", "先頭", show=False, id="list.first"),
        Binding("end", "last_row", "末尾", show=False, id="list.last"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0, animate=False)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)


class StatusLine(Static):
    """Database, user and role, and the as-of date when the UI is viewed as of the past."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def on_mount(self) -> None:
        self._show()
        watch_as_of(self, lambda _: self._show())  # F4: the line says which date is shown

    def _show(self) -> None:
        session = context(self).session
        parts = [f"DB {session.db_label}", f"{session.login}（{STAFF_ROLES[session.role]}）"]
        if session.view_as_of:
            parts.append(f"時点 {format_date(session.view_as_of, session.config.dates)}")
        else:
            parts.append(f"本日 {format_date(session.today(), session.config.dates)}")
        self.update(" │ ".join(parts))


class KeyBar(Static):
    """The screen's keys on one line, like Textual's Footer, drawn as a single widget.

    Footer builds a widget per key and restyles each one whenever a screen is shown; at
    80x24 that was a third of the time to open a claim. This draws the same keys (dimmed
    when disabled, the command palette last) as one line of text.
    """

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .keybar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .keybar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyBar > .keybar--disabled {
        text-style: dim;
    }
    """
    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--disabled"}

    def __init__(self) -> None:
        super().__init__("", markup=False)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._show()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        if self.is_attached and screen is self.screen:
            self._show()

    def _show(self) -> None:
        from rich.text import Text

        app = self.app
        key_style = self.get_component_rich_style("keybar--key", partial=True)
        text_style = self.get_component_rich_style("keybar--description", partial=True)
        dim = self.get_component_rich_style("keybar--disabled", partial=True)
        line = Text(no_wrap=True, overflow="crop", end="")
        seen: set[str] = set()
        first: list = []  # help: always shown, whatever the width
        own: list = []  # the screen's and the focused widget's keys: what matters here
        shared: list = []  # the app's keys (F2, F3…), then quit and the command palette
        last: list = []
        for key, (node, binding, enabled, _tip) in self.screen.active_bindings.items():
            if key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                last.append((binding, enabled))
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            if binding.action == "help":
                first.append((binding, enabled))
            elif binding.action == "quit":
                last.insert(0, (binding, enabled))
            elif node is app:
                shared.append((binding, enabled))
            else:
                own.append((binding, enabled))
        for binding, enabled in first + own + shared + last:
            self._append(line, binding, enabled, key_style, text_style, dim)
        self.update(line)

    def _append(self, line, binding, enabled, key_style, text_style, dim) -> None:
        start = len(line)
        line.append(f" {self.app.get_key_display(binding)} ", key_style)
        line.append(f"{binding.description} ", text_style)
        if not enabled:
            line.stylize(dim, start)


class TabBar(Widget):
    """Numbered tabs on one line (``1 関係人  2 明細 …``); the active one highlighted.

    TabbedContent builds a Tabs widget, a tab and a pane per tab and an animated underline:
    about 35 ms of the 80 ms it took to show a claim. The number keys choose a tab (the
    screen's bindings); a click on a label does the same.
    """

    DEFAULT_CSS = """
    TabBar {
        height: 1;
        background: $panel;
    }
    TabBar > .tabbar--tab {
        color: $text-muted;
    }
    TabBar > .tabbar--active {
        color: $text;
        background: $primary 50%;
        text-style: bold;
    }
    """
    COMPONENT_CLASSES = {"tabbar--tab", "tabbar--active"}

    active: reactive[str] = reactive("")

    class Selected(Message):
        """A tab label was clicked."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, tabs: list[tuple[str, str]], active: str, *, id: str | None = None):
        super().__init__(id=id)
        self.tabs = tabs
        self.set_reactive(TabBar.active, active)
        self._spans: list[tuple[int, int, str]] = []

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="crop", end="")
        spans = []
        for number, (key, label) in enumerate(self.tabs, 1):
            part = "tabbar--active" if key == self.active else "tabbar--tab"
            start = line.cell_len
            line.append(f" {number} {label} ", self.get_component_rich_style(part))
            spans.append((start, line.cell_len, key))
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.post_message(self.Selected(key))
                return
