"""Letters from the keyboard (SPEC 4.15): 督促状, 催告書 and 分割弁済約定書.

``LetterScreen`` walks one step at a time so each fits 80x24: the kind (1–3), the letter's
date (today unless typed, any date form), a preview (the first letter's text, scrollable, and
how many letters), then the file (HTML, Markdown or PDF by the name's extension; an existing
file is replaced only after a second Enter). Nothing is stored by writing the file.

Recording the letters as sent is a separate screen, ``LetterRecordScreen``: before anything is
stored it shows, per obligor, the limitation clock before and after and flags every demand that
will have no effect (民法150条2項: a demand during a demand's suspension). Ctrl+S there logs a
contact (文書) per obligor and, for a 催告書, a demand event on the letter's date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static

from kyusho.errors import InputError, KyushoError
from kyusho.files import user_path
from kyusho.rules.dates import format_date, parse_date
from kyusho.services import letters, printing
from screens.context import context, deliver, failure
from screens.widgets import KeyBar, ListTable, StatusLine

Target = tuple[str, int]  # (claim_no, obligor_no): one letter each

# The kinds in the order of their keys (1…3), with their names when the service gives none.
KIND_NAMES = {"reminder": "督促状", "demand": "催告書", "plan_agreement": "分割弁済約定書"}
DEST_FIELD = "出力先"
DATE_FIELD = "日付"


def kind_names() -> dict[str, str]:
    """kind → its Japanese name, in the service's order (1 督促状, 2 催告書, 3 約定書)."""
    kinds = letters.LETTER_KINDS
    if isinstance(kinds, Mapping):
        return {str(k): str(v) for k, v in kinds.items()}
    return {str(k): KIND_NAMES.get(str(k), str(k)) for k in kinds}


def default_dest(kind_name: str, targets: Sequence[Target], on: date) -> str:
    """A file name that says what is in it: one letter by claim and obligor, a batch by date."""
    if len(targets) == 1:
        claim_no, obligor_no = targets[0]
        return f"~/{kind_name}-{claim_no}-{obligor_no}-{on.isoformat()}.html"
    return f"~/{kind_name}-{on.isoformat()}-{len(targets)}通.html"


class LetterScreen(Screen[int | None]):
    """文書の作成; dismisses with how many letters were recorded as sent (None: none)."""

    AUTO_FOCUS = None  # the step decides: the input, or none (number keys choose the kind)

    BINDINGS = [
        Binding("escape", "back", "戻る", id="letter.back"),
        Binding("s", "record", "送付記録", id="letter.record"),
        Binding("pageup", "scroll_body(-1)", "上へ", show=False, id="letter.page_up"),
        Binding("pagedown", "scroll_body(1)", "下へ", show=False, id="letter.page_down"),
    ]
    DEFAULT_CSS = """
    LetterScreen #letter-body { height: 1fr; padding: 0 1; }
    LetterScreen #letter-row { height: 1; padding: 0 1; }
    LetterScreen #letter-row Label { width: 10; }
    LetterScreen #letter-row Input {
        width: 1fr; height: 1; border: none; padding: 0 1; background: $boost;
    }
    LetterScreen #letter-error { height: auto; padding: 0 1; color: $error; text-style: bold; }
    LetterScreen #letter-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, targets: Sequence[Target], about: str = "") -> None:
        """``targets``: one letter per (claim, obligor), in this order; ``about``: who they go
        to, in words (「R3-000001 1 山田太郎」), for the title."""
        super().__init__()
        self.targets: list[Target] = list(targets)
        self.about = about
        self.step = "kind"
        self.kind: str | None = None
        self.on: date | None = None
        self.written: Path | None = None
        self._overwrite: str | None = None  # the path the user was warned already exists
        self._busy = False

    @property
    def kind_name(self) -> str:
        return kind_names().get(self.kind or "", self.kind or "")

    def compose(self) -> ComposeResult:
        title = f"文書の作成 — {len(self.targets)}通"
        if self.about:
            title += f"  {self.about}"
        yield Static(Text(title), classes="title", id="letter-title")
        with VerticalScroll(id="letter-body", can_focus=False):
            yield Static("", id="letter-text")
        with Horizontal(id="letter-row"):
            yield Label("", id="letter-label")
            yield Input(id="letter-input", compact=True)
        yield Static("", id="letter-error")
        yield Static("", id="letter-keys")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        self.show_kinds()

    # ------------------------------------------------------------------ drawing helpers

    def _input(self, label: str | None, value: str = "") -> None:
        """Show the input row with ``label`` and focus it; None hides it (keys choose)."""
        row = self.query_one("#letter-row")
        field = self.query_one("#letter-input", Input)
        row.display = label is not None
        field.disabled = label is None
        field.value = value
        if label is not None:
            self.query_one("#letter-label", Label).update(label)
            field.focus()
            field.cursor_position = len(value)

    def _body(self, text: Text) -> None:
        self.query_one("#letter-text", Static).update(text)
        self.query_one("#letter-body", VerticalScroll).scroll_home(animate=False)

    def _error(self, message: str) -> None:
        self.query_one("#letter-error", Static).update(Text(message))

    def _keys(self, text: str) -> None:
        self.query_one("#letter-keys", Static).update(Text(text))

    def _set_step(self, step: str) -> None:
        self.step = step
        self.refresh_bindings()  # s (record) only once the file is written

    def _head(self) -> Text:
        head = Text()
        head.append(f"種類 {self.kind_name}", style="bold")
        if self.on is not None:
            head.append(f"  日付 {format_date(self.on, context(self).date_style())}")
        head.append(f"  {len(self.targets)}通\n")
        return head

    def action_scroll_body(self, direction: int) -> None:
        body = self.query_one("#letter-body", VerticalScroll)
        if direction < 0:
            body.scroll_page_up(animate=False)
        else:
            body.scroll_page_down(animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "record":
            return self.step == "written"
        return True

    # ------------------------------------------------------------------ step 1: the kind

    def show_kinds(self) -> None:
        self._set_step("kind")
        self.kind = None
        body = Text("文書の種類を選んでください\n\n")
        names = kind_names()
        for n, name in enumerate(names.values(), 1):
            body.append(f" {n} ", style="bold reverse")
            body.append(f" {name}\n")
        body.append(f"\n宛先 {len(self.targets)}通（関係人ごとに1通）\n", style="dim")
        self._body(body)
        self._input(None)
        self._error("")
        self._keys(f"1〜{len(names)} 種類を選ぶ  Esc やめる")

    def on_key(self, event: events.Key) -> None:
        """Number keys choose the kind; Enter on a step without an input goes on."""
        if self._busy or self.step != "kind":
            return
        if event.character and event.character.isdigit():
            kinds = list(kind_names())
            n = int(event.character)
            if 1 <= n <= len(kinds):
                event.stop()
                self.kind = kinds[n - 1]
                self.show_date()

    # ------------------------------------------------------------------ step 2: the date

    def show_date(self, value: str | None = None) -> None:
        self._set_step("date")
        style = context(self).date_style()
        if value is None:
            value = format_date(self.on or context(self).session.today(), style)
        body = self._head()
        body.append(
            "\n文書の日付を入力してください（今日なら、そのまま Enter）。\n"
            "残高はこの日の額です。催告書の送付を記録すると、この日の催告になります。\n",
        )
        self._body(body)
        self._input(DATE_FIELD, value)
        self._error("")
        self._keys("Enter 次へ（プレビュー）  Esc 戻る")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._busy:
            return
        self._error("")
        try:
            if self.step == "date":
                self.on = parse_date(event.value.strip(), DATE_FIELD)
                self._busy = True
                self._keys("作成中…")
                self._preview(self.kind, self.targets, self.on)
            elif self.step == "preview":
                self.write(event.value.strip())
        except InputError as exc:
            self._error(str(exc))

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._overwrite is not None and event.value.strip() != self._overwrite:
            self._overwrite = None  # another name: the warning was about the old one
            self._error("")

    # ------------------------------------------------------------------ step 3: the preview

    @work(thread=True, exclusive=True, group="letter-preview", exit_on_error=False)
    def _preview(self, kind: str, targets: list[Target], on: date) -> None:
        """The first letter only: what the user reads before the whole batch is written."""
        try:
            document = letters.render(context(self).session, kind, targets[:1], on)
        except Exception as exc:  # shown on the screen; nothing written
            deliver(self, self._failed, failure("文書を作成できませんでした", exc))
            return
        deliver(self, self.show_preview, document.markdown)

    def _failed(self, message: str) -> None:
        self._busy = False
        self._error(message)
        self._keys("Enter もう一度  Esc 戻る")

    def show_preview(self, text: str) -> None:
        self._busy = False
        self._set_step("preview")
        assert self.kind is not None and self.on is not None
        body = self._head()
        more = f"（1通目を表示。ほか{len(self.targets) - 1}通）" if len(self.targets) > 1 else ""
        body.append(f"プレビュー{more}\n", style="dim")
        body.append("─" * 40 + "\n", style="dim")
        body.append(re.sub(r"<br\s*/?>", "", text))  # Markdown's line breaks, read as text
        self._body(body)
        self._input(DEST_FIELD, default_dest(self.kind_name, self.targets, self.on))
        self._error("")
        self._keys("Enter 書き出す（.html / .md / .pdf）  PgUp/PgDn 読む  Esc 戻る")

    # ------------------------------------------------------------------ step 4: the file

    def write(self, dest: str) -> None:
        force = self._overwrite is not None and dest == self._overwrite
        self._busy = True
        self._keys("書き出し中…")
        self._write(self.kind, self.targets, self.on, dest, force)

    @work(thread=True, exclusive=True, group="letter-write", exit_on_error=False)
    def _write(self, kind: str, targets: list[Target], on: date, dest: str, force: bool) -> None:
        session = context(self).session
        try:
            if not force and user_path(dest, DEST_FIELD).exists():
                deliver(self, self._exists, dest)
                return
            path = printing.write_letters(session, kind, targets, on, dest, force=force)
        except Exception as exc:  # shown on the screen; nothing written
            deliver(self, self._write_failed, failure("書き出せませんでした", exc))
            return
        deliver(self, self.show_written, path)

    def _exists(self, dest: str) -> None:
        self._busy = False
        self._overwrite = dest
        self._error(
            f"{dest} はすでにあります。上書きするにはもう一度 Enter、"
            "やめるには別の名前を入力してください"
        )
        self._keys("Enter 上書きする  Esc 戻る")

    def _write_failed(self, message: str) -> None:
        self._busy = False
        self._overwrite = None
        self._error(f"書き出していません: {message}")
        self._keys("Enter 書き出す（.html / .md / .pdf）  Esc 戻る")

    def show_written(self, path: Path) -> None:
        self._busy = False
        self._overwrite = None
        self.written = path
        self._set_step("written")
        body = self._head()
        body.append(f"\n{path} に書き出しました（{len(self.targets)}通）。\n\n")
        records = "交渉記録「文書」" + ("と催告（時効事由）" if self.kind == "demand" else "")
        body.append(
            f"送付したら s で記録します（{records}）。\n"
            "記録する前に、時効への影響を関係人ごとに確認できます。\n"
        )
        self._body(body)
        self._input(None)
        self._error("")
        self._keys("s 送付済みとして記録  Esc 閉じる（記録しない）")

    # ------------------------------------------------------------------ step 5: record

    def action_record(self) -> None:
        if self.step != "written" or self.kind is None or self.on is None:
            return
        try:  # say why at once, not on the confirmation screen
            context(self).session.require_present("送付の記録")
        except KyushoError as exc:
            self._error(str(exc))
            return
        self.app.push_screen(
            LetterRecordScreen(self.kind, self.targets, self.on), self._after_record
        )

    def _after_record(self, count: int | None) -> None:
        if count is not None:
            self.dismiss(count)

    def action_back(self) -> None:
        """Esc: one step back; from the first step (or once written) the screen closes."""
        if self._busy:
            return
        if self.step == "preview":
            self.show_date()
        elif self.step == "date":
            self.show_kinds()
        else:
            self.dismiss(None)


class LetterRecordScreen(Screen[int | None]):
    """送付の記録: each obligor's clock before and after; dismisses with the letters recorded."""

    BINDINGS = [
        Binding("ctrl+s", "save", "記録する", id="letter_record.save", priority=True),
        Binding("escape", "back", "やめる", id="letter_record.back"),
    ]
    DEFAULT_CSS = """
    LetterRecordScreen #record-table { height: 1fr; }
    LetterRecordScreen #record-detail { height: 2; padding: 0 1; background: $boost; }
    LetterRecordScreen #record-summary { height: auto; padding: 0 1; }
    LetterRecordScreen #record-error { height: auto; padding: 0 1; color: $error; text-style: bold; }
    """
    COLUMNS = (("求償権番号", 11), ("関係人", 14), ("時効完成 前", 11), ("後", 9), ("判定", 20))
    NO_EFFECT = "！効果なし"

    def __init__(self, kind: str, targets: Sequence[Target], on: date) -> None:
        super().__init__()
        self.kind = kind
        self.targets: list[Target] = list(targets)
        self.on = on
        self.effects: list[Any] = []
        self._saving = False

    def compose(self) -> ComposeResult:
        name = kind_names().get(self.kind, self.kind)
        yield Static(Text(f"送付の記録 — {name}"), classes="title", id="record-title")
        yield ListTable(id="record-table")
        yield Static("", id="record-detail")
        yield Static("読込中…", id="record-summary")
        yield Static("", id="record-error")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in self.COLUMNS:
            table.add_column(label, width=width)
        table.loading = True
        table.focus()
        self._read()

    def _d(self, value: date | None) -> str:
        return format_date(value, context(self).date_style()) if value else "なし"

    @work(thread=True, exclusive=True, group="letter-effects", exit_on_error=False)
    def _read(self) -> None:
        try:
            found = letters.effects(context(self).session, self.kind, self.targets, self.on)
        except Exception as exc:
            deliver(self, self._failed, failure("時効への影響を計算できませんでした", exc))
            return
        deliver(self, self.show, found)

    def _failed(self, message: str) -> None:
        self.query_one(DataTable).loading = False
        self.query_one("#record-summary", Static).update(Text(""))
        self.query_one("#record-error", Static).update(Text(message))

    def judgement(self, effect: Any) -> Text:
        """What recording does to this obligor's clock, in words."""
        if effect.no_effect and effect.completes_before is None:
            return Text("時効管理なし", style="dim")
        if effect.no_effect:
            return Text(f"{self.NO_EFFECT}（再催告）", style="bold red")
        if self.kind != "demand":
            return Text("時効は動きません", style="dim")
        if effect.completes_before != effect.completes_after:
            return Text("完成猶予で延びる", style="bold")
        return Text("変わらず（完成が先）")

    def show(self, found: list[Any]) -> None:
        self.effects = list(found)
        table = self.query_one(DataTable)
        table.clear()
        for i, e in enumerate(self.effects):
            table.add_row(
                e.claim_no,
                Text(f"{e.obligor_no} {e.name}"),
                self._d(e.completes_before),
                self._d(e.completes_after),
                self.judgement(e),
                key=str(i),
            )
        table.loading = False
        summary = Text()
        summary.append(f"日付 {self._d(self.on)}  {len(self.effects)}名に記録します: 交渉（文書）")
        if self.kind == "demand":
            summary.append("と催告（時効事由）")
            moved = sum(1 for e in self.effects if e.completes_before != e.completes_after)
            summary.append(f"\n時効完成日が延びる {moved}名")
            futile = sum(1 for e in self.effects if e.no_effect and e.completes_before)
            if futile:
                summary.append(
                    f"  効果なし {futile}名\n（民法150条2項: 催告による完成猶予中の再度の催告は"
                    "完成猶予の効力を有しません）",
                    style="bold red",
                )
        summary.append("\nCtrl+S 記録する  Esc やめる（何も記録しません）")
        self.query_one("#record-summary", Static).update(summary)
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The row under the cursor, uncut (the name column cuts a long name)."""
        table = self.query_one(DataTable)
        line = self.query_one("#record-detail", Static)
        if not self.effects or not 0 <= table.cursor_row < len(self.effects):
            line.update("")
            return
        e = self.effects[table.cursor_row]
        text = Text(f"{e.claim_no} {e.obligor_no} {e.name}：時効完成 ")
        text.append(f"{self._d(e.completes_before)} → {self._d(e.completes_after)}  ")
        text.append_text(self.judgement(e))
        if e.no_effect:
            text.append(f"\n{e.no_effect}", style="bold red")
        line.update(text)

    def action_save(self) -> None:
        if self._saving or not self.effects:
            return
        self._saving = True
        self.query_one("#record-error", Static).update(Text("記録中…"))
        # the demands without effect were shown above: recording them is what the user confirms
        self._save(any(e.no_effect for e in self.effects))

    @work(thread=True, exclusive=True, group="letter-record", exit_on_error=False)
    def _save(self, confirmed: bool) -> None:
        session = context(self).session
        try:
            count = letters.record_sent(
                session, self.kind, self.targets, self.on, confirm_no_effect=confirmed
            )
        except Exception as exc:  # shown on the screen; nothing stored
            deliver(self, self._save_failed, failure("記録できませんでした", exc))
            return
        deliver(self, self._saved, count)

    def _saved(self, count: int) -> None:
        self.notify(escape(f"{count}通を送付済みとして記録しました"))
        self.dismiss(count)

    def _save_failed(self, message: str) -> None:
        self._saving = False
        self.query_one("#record-error", Static).update(Text(f"記録していません: {message}"))

    def action_back(self) -> None:
        if not self._saving:
            self.dismiss(None)
