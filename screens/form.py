"""A keyboard form in a modal: validated fields, a live preview, and a save run off the UI thread.

Every field is parsed by the product's own parsers (amounts, dates), so the TUI refuses exactly
what the CLI and CSV import refuse, with a message that names the field. Saving calls a service
in a thread worker; a refusal from the service (overpayment, permissions, a conflict) is shown
in the form and nothing is stored, until a field changes. A refusal that only asks for
confirmation (an error with ``needs_confirmation``, e.g. an event that changes nothing) is
shown as a warning; the same values saved again are passed with ``CONFIRMED`` set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from kyusho.errors import ConflictError, InputError, KyushoError
from kyusho.rules.dates import parse_date, parse_datetime, parse_month
from kyusho.rules.money import parse_amount
from kyusho.rules.text import narrow
from screens.context import deliver
from screens.widgets import WrappedText

Kind = Literal["text", "amount", "date", "datetime", "month", "select", "int"]

CONFIRMED = "_confirmed"
"""Key set to True in the values of a save the user confirmed after a warning."""


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: Kind = "text"
    required: bool = True
    options: Sequence[tuple[str, Any]] = ()
    default: Any = None
    placeholder: str = ""
    optional_hint: str = "（任意）"
    """Shown after the label of a field that may be left empty; "" where leaving it empty is
    only allowed sometimes (the service says when), so the label never says 任意 wrongly."""


@dataclass
class FormSpec:
    title: str
    fields: Sequence[Field]
    save: Callable[[dict[str, Any]], Any]  # blocking; runs in a thread worker
    preview: Callable[[dict[str, Any]], str] | None = None  # blocking; runs in a thread worker
    save_label: str = "保存"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# Text that reads as a date: an era letter or name, 年月日, or digits with two separators.
_DATE_LIKE = re.compile(r"^[RHS令平昭]|[年月日]|\d[-/.]\d{1,2}[-/.]\d", re.IGNORECASE)


class FormSelect(Select[Any], inherit_bindings=False):
    """A drop-down of a form: Enter and ↓ move on like every other field; Space or F4 opens it.

    Select opens its list on Enter, ↓, ↑ and Space, which trapped the cursor on it.
    """

    BINDINGS = [
        Binding("enter", "submit", "次へ", show=False, id="form.select_next"),
        Binding("space,f4", "show_overlay", "選択肢を開く", show=False, id="form.select_open"),
    ]

    class Submitted(Message):
        """Enter on the drop-down: the form moves on (or saves on its last field)."""

    def action_submit(self) -> None:
        self.post_message(self.Submitted())

    DEFAULT_CSS = """
    FormSelect.-textual-compact > SelectCurrent { padding: 0 1; }
    FormSelect > SelectOverlay { overlay: none; max-height: 6; }
    """


def parse_field(f: Field, raw: Any) -> Any:
    """The field's value, or InputError naming the field."""
    if f.kind == "select":
        if raw is Select.NULL or raw is None:
            if f.required:
                raise InputError(f.label, "選んでください")
            return None
        return raw
    text = (raw or "").strip()
    if not text:
        if f.required:
            raise InputError(f.label, "入力してください")
        return None
    if f.kind == "amount":
        if _DATE_LIKE.search(narrow(text)):  # a date typed into the wrong field
            raise InputError(f.label, f"{f.label}は数字で入力してください（例: 1,234,567）")
        return parse_amount(text, f.label)
    if f.kind == "month":
        return parse_month(text, f.label)
    if f.kind == "date":
        return parse_date(text, f.label)
    if f.kind == "datetime":
        return parse_datetime(text, f.label)
    if f.kind == "int":
        digits = narrow(text)  # full-width digits are fine; ² or ① are not digits here
        if not (digits.isascii() and digits.isdecimal()):
            raise InputError(f.label, "数字で入力してください")
        return int(digits)
    return text


class FormScreen(ModalScreen[Any]):
    """A modal form; dismisses with the save result, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "保存", id="form.save", priority=True),
        Binding("escape", "cancel", "やめる", id="form.cancel"),
        Binding("down", "next_field", "次へ", show=False, id="form.next"),
        Binding("up", "app.focus_previous", "前へ", show=False, id="form.previous"),
    ]
    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > #form-box {
        width: 76; height: auto; max-height: 22;
        border: round $accent; background: $surface; padding: 0 1;
    }
    FormScreen .form-row { height: auto; }
    FormScreen #form-fields { height: auto; max-height: 14; }
    FormScreen .form-label { width: 18; height: 1; }
    FormScreen .form-row Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    FormScreen .form-row Select { width: 1fr; height: auto; }
    FormScreen .form-row Input.-invalid { text-style: underline; }
    FormScreen #form-title { text-style: bold; height: 1; }
    FormScreen #form-note, FormScreen #form-preview { height: auto; color: $text-muted; }
    FormScreen #form-error { height: auto; color: $error; text-style: bold; }
    FormScreen #form-keys { height: 1; color: $text-muted; }
    """

    PREVIEW_DELAY = 0.15

    def __init__(self, spec: FormSpec) -> None:
        super().__init__()
        self.spec = spec
        self._preview_timer = None
        self._saving = False
        self._refused: dict[str, Any] | None = None  # the raw values a shown refusal is about
        self._warned: dict[str, Any] | None = None  # the raw values a shown warning is about
        self._initial: dict[str, Any] | None = None  # the values the form opened with
        self._leave_asked = False  # Esc with typed values asked once; a second Esc leaves

    def compose(self) -> ComposeResult:
        with Vertical(id="form-box"):
            yield Static(Text(self.spec.title), id="form-title")
            if self.spec.note:
                yield WrappedText(Text(self.spec.note), id="form-note")
            with VerticalScroll(id="form-fields", can_focus=False):
                yield from self._field_rows()
            yield Static("", id="form-preview")
            yield WrappedText("", id="form-error")
            yield Static(
                Text(f"Enter/↓ 次へ ↑ 前へ Space 選択肢 Ctrl+S {self.spec.save_label} Esc やめる"),
                id="form-keys",
            )

    def _field_rows(self) -> ComposeResult:
        for f in self.spec.fields:
            with Horizontal(classes="form-row"):
                yield Label(f.label + ("" if f.required else f.optional_hint), classes="form-label")
                if f.kind == "select":
                    yield FormSelect(
                        [(label, value) for label, value in f.options],
                        prompt=f.placeholder or "選択",
                        value=f.default if f.default is not None else Select.NULL,
                        id=f"f-{f.key}",
                        compact=True,
                    )
                else:
                    yield Input(
                        value="" if f.default is None else str(f.default),
                        placeholder=f.placeholder,
                        id=f"f-{f.key}",
                        compact=True,
                    )

    def on_mount(self) -> None:
        first = self.query(f"#f-{self.spec.fields[0].key}").first() if self.spec.fields else None
        if first is not None:
            first.focus()
        self._initial = self.raw_values()
        self._schedule_preview()

    # ------------------------------------------------------------------ values

    def raw_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.spec.fields:
            widget = self.query_one(f"#f-{f.key}", Input | Select)
            out[f.key] = widget.value
        return out

    def parse_all(self) -> tuple[dict[str, Any], list[InputError]]:
        values: dict[str, Any] = dict(self.spec.extra)
        errors: list[InputError] = []
        raw = self.raw_values()
        for f in self.spec.fields:
            widget = self.query_one(f"#f-{f.key}")
            try:
                values[f.key] = parse_field(f, raw[f.key])
                widget.remove_class("-invalid")
            except InputError as exc:
                errors.append(exc)
                widget.add_class("-invalid")
        return values, errors

    def show_error(self, message: str) -> None:
        self.query_one("#form-error", Static).update(Text(message))

    def _refuse(self, message: str, *, warning: bool = False) -> None:
        """Show why the save did not happen; it stays until a field changes."""
        raw = self.raw_values()
        self._refused = raw
        self._warned = raw if warning else None
        self.show_error(message)
        # the preview may already say the same (a field's error while typing): say it once
        preview = self.query_one("#form-preview", Static)
        said = [line for line in str(preview.content).splitlines() if line.strip()]
        if said and all(line in message for line in said):
            preview.update("")

    def _on_field_changed(self) -> None:
        if self._leave_asked:
            self._leave_asked = False
            if self._refused is None:
                self.show_error("")
        if self._refused is not None and self.raw_values() != self._refused:
            self._refused = self._warned = None
            self.show_error("")
        self._schedule_preview()

    # ------------------------------------------------------------------ preview

    def on_input_changed(self, event: Input.Changed) -> None:
        self._on_field_changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._on_field_changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_next_field(submit=True)

    def on_form_select_submitted(self, event: FormSelect.Submitted) -> None:
        event.stop()
        self.action_next_field(submit=True)

    def action_next_field(self, submit: bool = False) -> None:
        """Enter and ↓: the next field; Enter on the last field saves."""
        fields = [self.query_one(f"#f-{f.key}") for f in self.spec.fields]
        focused = self.focused
        if focused is None or focused not in fields:
            self.focus_next()
            return
        index = fields.index(focused)
        if index + 1 < len(fields):
            fields[index + 1].focus()
        elif submit:  # Enter on the last field saves; ↓ stays
            self.action_save()

    def _schedule_preview(self) -> None:
        if self.spec.preview is None:
            return
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(self.PREVIEW_DELAY, self._run_preview)

    def _run_preview(self) -> None:
        values, errors = self.parse_all()
        preview = self.query_one("#form-preview", Static)
        if errors:
            # while typing, only say what is missing or wrong once something was entered; after
            # a refused save the error line already says it (never the same message twice)
            shown = [
                e
                for e in errors
                if e.message != "入力してください"
                and e.message != "選んでください"
                and self._refused is None
            ]
            preview.update(Text("\n".join(str(e) for e in shown)))
            return
        self._preview(values)

    @work(thread=True, exclusive=True, group="form-preview", exit_on_error=False)
    def _preview(self, values: dict[str, Any]) -> None:
        fn = self.spec.preview
        assert fn is not None
        try:
            text = fn(values)
        except KyushoError as exc:
            text = f"！ {exc}"
        deliver(self, self._show_preview, text)

    def _show_preview(self, text: str | None) -> None:
        self.query_one("#form-preview", Static).update(Text(text or ""))

    # ------------------------------------------------------------------ save

    def action_save(self) -> None:
        if self._saving:
            return
        values, errors = self.parse_all()
        if errors:
            self._refuse("\n".join(str(e) for e in errors))
            bad = self.query_one(f"#f-{self._key_for(errors[0])}")
            bad.focus()
            bad.scroll_visible(animate=False)
            return
        if self._warned is not None and self.raw_values() == self._warned:
            values[CONFIRMED] = True  # the warning was shown for exactly these values
        self._saving = True
        self.show_error("")
        self._save(values)

    @work(thread=True, exclusive=True, group="form-save", exit_on_error=False)
    def _save(self, values: dict[str, Any]) -> None:
        try:
            result = self.spec.save(values)
        except Exception as exc:  # shown on the form; nothing was stored
            deliver(self, self._save_failed, exc)
            return
        deliver(self, self.dismiss, result if result is not None else True)

    def _key_for(self, error: InputError) -> str:
        for f in self.spec.fields:
            if f.label == error.field:
                return f.key
        return self.spec.fields[0].key

    def action_cancel(self) -> None:
        """Esc: leave at once when nothing was typed; else ask, and a second Esc leaves."""
        if self._leave_asked or self._initial is None or self.raw_values() == self._initial:
            self.dismiss(None)
            return
        self._leave_asked = True
        self.show_error("入力した内容を破棄して閉じますか？ もう一度 Esc で閉じます")

    def _save_failed(self, error: BaseException) -> None:
        self._saving = False
        if getattr(error, "needs_confirmation", False):
            self._refuse(
                f"！ {error}\n"
                f"このまま{self.spec.save_label}するにはもう一度 Ctrl+S、やめるには Esc",
                warning=True,
            )
        elif isinstance(error, ConflictError):
            self._refuse(f"保存していません: {error}\nEsc で閉じると最新の内容を読み込みます。")
        elif isinstance(error, KyushoError):
            self._refuse(f"保存していません: {error}")
        else:
            self._refuse(f"保存できませんでした（{type(error).__name__}: {error}）")
