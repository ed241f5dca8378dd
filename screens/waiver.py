"""The 求償権放棄 case screen (SPEC 4.12): the case, each municipality, the walk-through.

Three views on one screen, each fitting 80x24:

- the case: scheme, kind and planned date, then one row per municipality with its
  loss-compensation facts, the resolver's answer and the current step (the row under the
  cursor in full below the table: notes and the dated steps with who recorded them);
- the walk-through of one municipality's checklist, for a municipal reviewer sitting beside
  a 協会 staff member: one item at a time (section, text, importance, guidance), the finding
  (所見), the evidence reference and the status, one key each. Every answer is saved as it is
  given (``waiver.answer`` in a thread worker), so leaving and coming back resumes at the
  first unanswered item with every earlier answer in place;
- the application (申請): the fields filled from the claim and the attachments as a checklist.

All database work goes through kyusho.services.waiver in thread workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static

from kyusho.errors import InputError, KyushoError
from kyusho.rules import waiver as waiver_rules
from kyusho.rules.dates import format_date
from kyusho.rules.money import format_yen
from kyusho.rules.text import LINE_MAX, clean_text
from kyusho.services import waiver
from screens.context import context, deliver, failure
from screens.form import Field, FormScreen, FormSpec
from screens.widgets import KeyBar, ListTable, StatusLine, kinsoku_wrap

STATUSES = ("充足", "不充足", "該当なし")
NEEDS_FINDING = ("◎", "○")
IMPORTANCE_NAMES = {"◎": "最も重要", "○": "重要", "△": "通常は問題にならない"}
RESOLUTION_LABELS = waiver_rules.STATUSES
KIND_LABELS = {"waiver": "放棄", "transfer": "不等価譲渡"}
# (key, label, width): fits 80 columns with the table's separators
COLUMNS = (
    ("name", "団体", 10),
    ("compensation", "損失補償", 12),
    ("remitted", "回収納付金", 11),
    ("net", "差引", 11),
    ("resolution", "条例", 12),
    ("step", "手続", 8),
)


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """The first of ``names`` that ``obj`` has (an attribute or a key)."""
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if not isinstance(obj, dict) and hasattr(obj, name):
            return getattr(obj, name)
    return default


def _yen(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return format_yen(value)
    return "—" if value in (None, "") else str(value)


def step_label(step: str | None) -> str:
    if not step:
        return "未着手"
    return str(waiver.STEP_LABELS.get(step, step))


def scheme_names() -> dict[str, str]:
    return {key: label for key, label, _kind in waiver_rules.schemes()}


def resolution_text(resolution: Any) -> str:
    if resolution is None:
        return "—"
    status = str(_get(resolution, "status", default=""))
    text = RESOLUTION_LABELS.get(status, status)
    if _get(resolution, "assembly_resolution_needed", default=False):
        text += "・議決要"
    return text


class WaiverScreen(Screen[Any]):
    """求償権放棄"""

    AUTO_FOCUS = None

    BINDINGS = [
        Binding("escape", "back", "戻る", id="waiver.back"),
        Binding("n", "open_case", "案件開始", id="waiver.open_case"),
        Binding("w", "walk", "審査", id="waiver.walk"),
        Binding("a", "application", "申請", id="waiver.application"),
        Binding("s", "record_step", "手続記録", id="waiver.step"),
        Binding("u", "edit_facts", "損失補償", id="waiver.facts"),
        Binding("p", "write_record", "記録出力", id="waiver.record"),
        Binding("r,f5", "reload", "再読込", show=False, id="waiver.reload"),
        Binding("1", "status(0)", "充足", id="waiver.status_met"),
        Binding("2", "status(1)", "不充足", id="waiver.status_unmet"),
        Binding("3", "status(2)", "該当なし", id="waiver.status_na"),
        Binding("f", "edit('finding')", "所見", id="waiver.finding"),
        Binding("e", "edit('evidence')", "根拠", id="waiver.evidence"),
        Binding("pagedown", "item(1)", "次の項目", id="waiver.next", priority=True),
        Binding("pageup", "item(-1)", "前の項目", id="waiver.previous", priority=True),
    ]
    # the keys each view offers (the others are hidden from the key bar and do nothing)
    VIEW_ACTIONS: dict[str, frozenset[str]] = {
        "case": frozenset(
            {"back", "open_case", "walk", "application", "record_step", "write_record", "reload"}
        ),
        "walk": frozenset({"back", "status", "edit", "item", "write_record"}),
        "application": frozenset({"back", "write_record", "item"}),
    }
    DEFAULT_CSS = """
    WaiverScreen #waiver-head { height: auto; padding: 0 1; }
    WaiverScreen #waiver-case { height: 1fr; }
    WaiverScreen #waiver-munis { height: 1fr; }
    WaiverScreen #waiver-detail { height: 4; padding: 0 1; background: $boost; }
    WaiverScreen #waiver-walk { height: 1fr; display: none; }
    WaiverScreen #waiver-item { height: auto; max-height: 14; padding: 0 1; }
    WaiverScreen .waiver-row { height: 1; padding: 0 1; }
    WaiverScreen .waiver-row Label { width: 10; }
    WaiverScreen .waiver-row Input {
        width: 1fr; height: 1; border: none; padding: 0 1; background: $boost;
    }
    WaiverScreen #waiver-app { height: 1fr; padding: 0 1; display: none; }
    WaiverScreen #waiver-error { height: auto; padding: 0 1; color: $error; text-style: bold; }
    WaiverScreen #waiver-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, claim_no: str) -> None:
        super().__init__()
        self.claim_no = claim_no
        self.view = "case"
        self.case: Any = None
        self.facts: list[Any] = []
        self.municipality: str | None = None
        self.walk: Any = None
        self.index = 0
        self.drafts: dict[tuple[str, str], tuple[str, str]] = {}  # typed, not yet answered
        self._busy = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(Text(f"求償権放棄 — {self.claim_no}"), classes="title", id="waiver-title")
        with Vertical(id="waiver-case"):
            yield Static("", id="waiver-head")
            yield ListTable(id="waiver-munis")
            yield Static("", id="waiver-detail")
        with Vertical(id="waiver-walk"):
            with VerticalScroll(id="waiver-item", can_focus=False):
                yield Static("", id="waiver-item-text")
            with Horizontal(classes="waiver-row"):
                yield Label("所見", id="waiver-finding-label")
                yield Input(id="waiver-finding", compact=True, placeholder="協会の所見")
            with Horizontal(classes="waiver-row"):
                yield Label("根拠資料", id="waiver-evidence-label")
                yield Input(id="waiver-evidence", compact=True, placeholder="例 調査報告書 p.12")
        with VerticalScroll(id="waiver-app", can_focus=False):
            yield Static("", id="waiver-app-text")
        yield Static("", id="waiver-error")
        yield Static("", id="waiver-keys")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#waiver-munis", DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, width=width, key=key)
        table.focus()
        self._keys("読込中…")
        self.reload()

    # ------------------------------------------------------------------ helpers

    def _keys(self, text: str) -> None:
        self.query_one("#waiver-keys", Static).update(Text(text))

    def _error(self, message: str) -> None:
        self.query_one("#waiver-error", Static).update(Text(message))

    def _input(self, name: str) -> Input:
        return self.query_one(f"#waiver-{name}", Input)

    def _style(self) -> str:
        return context(self).date_style()

    def _date(self, value: Any) -> str:
        if isinstance(value, date):
            return format_date(value, self._style())
        if value in (None, ""):
            return ""
        try:
            return format_date(date.fromisoformat(str(value)[:10]), self._style())
        except ValueError:
            return str(value)

    def _show_view(self, view: str) -> None:
        self.view = view
        self.query_one("#waiver-case").display = view == "case"
        self.query_one("#waiver-walk").display = view == "walk"
        self.query_one("#waiver-app").display = view == "application"
        for name in ("finding", "evidence"):
            self._input(name).disabled = view != "walk"
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = self.VIEW_ACTIONS.get(self.view)
        if allowed is None or action not in _SCREEN_ACTIONS:
            return True  # the App's keys
        if action not in allowed:
            return False
        if self.view == "case" and action == "open_case" and self.case is not None:
            return False  # one case per claim at a time
        if self.view == "case" and self.case is None and action in _CASE_ONLY:
            return False
        if action in ("status", "edit") and isinstance(self.focused, Input):
            return None  # typed into the field; shown dimmed
        if action == "walk" and isinstance(self.focused, Input):
            return False
        return True

    def _case_id(self) -> int | None:
        return None if self.case is None else _get(self.case, "id", "case_id")

    def _current_facts(self) -> Any:
        table = self.query_one("#waiver-munis", DataTable)
        if not self.facts or not 0 <= table.cursor_row < len(self.facts):
            return None
        return self.facts[table.cursor_row]

    def _refuse(self, exc: BaseException, what: str) -> None:
        self._busy = False
        self._error(failure(what, exc))

    def _run(self, what: str, call: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Run ``call`` (a service call) in a thread worker; ``then(result)`` on the UI thread,
        or the refusal shown under the view (nothing stored)."""
        if self._busy:
            return
        self._busy = True
        self._error("")
        self._call(what, call, then)

    @work(thread=True, group="waiver-call", exit_on_error=False)
    def _call(self, what: str, call: Callable[[], Any], then: Callable[[Any], None]) -> None:
        try:
            result = call()
        except Exception as exc:  # shown; nothing stored
            deliver(self, self._refuse, exc, what)
            return
        deliver(self, self._done, then, result)

    def _done(self, then: Callable[[Any], None], result: Any) -> None:
        self._busy = False
        then(result)

    # ------------------------------------------------------------------ the case

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        session = context(self).session
        claim_no = self.claim_no

        def read() -> tuple[Any, list[Any]]:
            return waiver.case_for(session, claim_no), waiver.municipality_facts(session, claim_no)

        self._busy = False
        self._run("放棄の案件を読めませんでした", read, self._loaded)

    def _loaded(self, result: tuple[Any, list[Any]]) -> None:
        self.case, self.facts = result[0], list(result[1])
        if self.view == "case":
            self.show_case()

    def show_case(self) -> None:
        self._show_view("case")
        head = Text()
        if self.case is None:
            head.append("放棄の案件はまだありません。", style="bold")
            head.append("n で案件を始めます（スキーム・予定日）\n")
        else:
            scheme = str(_get(self.case, "scheme_key", "scheme", default=""))
            kind = str(_get(self.case, "kind", default="waiver"))
            head.append(f"{KIND_LABELS.get(kind, kind)} ", style="bold")
            head.append(f"{scheme_names().get(scheme, scheme)}\n")
            head.append(f"予定日 {self._date(_get(self.case, 'planned_date'))}")
            price = _get(self.case, "transfer_price")
            if kind == "transfer" and price is not None:
                head.append(f"  譲渡対価 {_yen(price)}")
            head.append("\n")
        if not self.facts:
            head.append("損失補償団体がありません（求償権に登録すると表示されます）\n", style="dim")
        self.query_one("#waiver-head", Static).update(head)
        table = self.query_one("#waiver-munis", DataTable)
        row = max(table.cursor_row, 0)
        table.clear()
        for f in self.facts:
            ratio = _get(f, "ratio")
            amount = _get(f, "compensated_amount")
            compensation = f"{ratio}" if ratio not in (None, "") else _yen(amount)
            table.add_row(
                Text(str(_get(f, "name", "municipality", default=""))),
                compensation,
                _yen(_get(f, "remittances_paid")),
                _yen(_get(f, "net")),
                resolution_text(_get(f, "resolution")),
                step_label(_get(f, "step", "current_step")),
            )
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)
        table.focus()
        self._show_detail()
        if self.case is None:
            self._keys("n 案件開始  Esc 戻る")
        else:
            self._keys("Enter 審査  a 申請  s 手続記録  p 記録出力  Esc 戻る")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_walk()

    def _show_detail(self) -> None:
        """The municipality under the cursor in full: the resolver's notes and the steps."""
        detail = self.query_one("#waiver-detail", Static)
        f = self._current_facts()
        if f is None:
            detail.update("")
            return
        text = Text(str(_get(f, "name", default="")), style="bold")
        text.append(f"  {resolution_text(_get(f, 'resolution'))}")
        for note in _get(_get(f, "resolution"), "notes", default=()) or ():
            text.append(f"\n・{note}")
        history = _get(f, "history", "steps", "step_history", default=()) or ()
        steps = []
        for h in history:
            step = _get(h, "step", default=h[0] if isinstance(h, (tuple, list)) else "")
            on = _get(h, "on", "date", default=h[1] if isinstance(h, (tuple, list)) else "")
            by = _get(h, "by", "recorded_by", default="")
            steps.append(f"{step_label(step)} {self._date(on)} {by}".strip())
        if steps:
            text.append("\n手続 " + " → ".join(steps))
        detail.update(text)

    def _require_case(self) -> bool:
        if self.case is None:
            self._error("放棄の案件がまだありません。n で始めてください")
            return False
        if self._current_facts() is None:
            self._error("損失補償団体がありません")
            return False
        return True

    def _require_present(self, what: str) -> bool:
        try:
            context(self).session.require_present(what)
        except KyushoError as exc:
            self.notify(escape(str(exc)), severity="warning")
            return False
        return True

    def action_open_case(self) -> None:
        if self.case is not None:
            self._error("この求償権には進行中の放棄の案件があります（一件ずつ）")
            return
        if not self._require_present("放棄の案件の開始"):
            return
        session = context(self).session
        claim_no = self.claim_no
        schemes = [(label, key) for key, label, _kind in waiver_rules.schemes()]

        def save(v: dict[str, Any]) -> Any:
            kind = v["kind"]
            price = v.get("transfer_price")
            if kind == "transfer" and price is None:
                raise InputError("譲渡対価", "不等価譲渡では譲渡対価を入力してください")
            return waiver.open_case(
                session,
                claim_no,
                v["scheme"],
                planned_date=v["planned_date"],
                kind=kind,
                transfer_price=price if kind == "transfer" else None,
            )

        spec = FormSpec(
            title=f"求償権放棄の案件を始める — {claim_no}",
            fields=[
                Field("scheme", "スキーム", "select", options=schemes),
                Field(
                    "kind",
                    "種類",
                    "select",
                    options=[(v, k) for k, v in KIND_LABELS.items()],
                    default="waiver",
                ),
                Field("planned_date", "放棄予定日", "date", placeholder="例 R9.1.31"),
                Field("transfer_price", "譲渡対価", "amount", required=False, optional_hint=""),
            ],
            save=save,
            save_label="開始",
            note="譲渡対価は不等価譲渡のときだけ入力します",
        )
        self.app.push_screen(FormScreen(spec), lambda r: self.reload() if r else None)

    def action_edit_facts(self) -> None:
        """u: the loss-compensation facts of the municipality under the cursor (audited)."""
        if not self._require_present("損失補償の登録"):
            return
        facts = self._current_facts()
        if facts is None:
            self._error("損失補償団体がありません")
            return
        session = context(self).session
        name = str(_get(facts, "name", default=""))

        def text(value: Any) -> str:
            return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)

        def save(v: dict[str, Any]) -> Any:
            waiver.set_facts(
                session,
                self.claim_no,
                name,
                ratio=v["ratio"] or None,
                compensated_amount=v["compensated_amount"],
                remittances_paid=v["remittances_paid"],
            )
            return True

        spec = FormSpec(
            title=f"損失補償 — {name}",
            note="空欄は登録済みの値のまま。差引（損失補償金額 − 回収納付金）は申請書に使います",
            fields=[
                Field(
                    "ratio", "損失補償割合（%）", required=False, default=text(_get(facts, "ratio"))
                ),
                Field(
                    "compensated_amount",
                    "損失補償金額",
                    "amount",
                    required=False,
                    default=text(_get(facts, "compensated_amount")),
                ),
                Field(
                    "remittances_paid",
                    "回収納付金",
                    "amount",
                    required=False,
                    default=text(_get(facts, "remittances_paid")),
                ),
            ],
            save=save,
        )
        self.app.push_screen(FormScreen(spec), lambda r: self.reload() if r else None)

    def action_record_step(self) -> None:
        if not self._require_case() or not self._require_present("手続の記録"):
            return
        session = context(self).session
        case_id = self._case_id()
        name = str(_get(self._current_facts(), "name", default=""))

        def save(v: dict[str, Any]) -> Any:
            waiver.record_step(session, case_id, name, v["step"], v["on"])
            return True

        spec = FormSpec(
            title=f"手続を記録 — {name}",
            fields=[
                Field(
                    "step",
                    "手続",
                    "select",
                    options=[(step_label(s), s) for s in waiver.STEPS],
                ),
                Field("on", "日付", "date", default=format_date(session.today(), self._style())),
            ],
            save=save,
            save_label="記録",
            note="事前協議 → 申請 → 承認／不承認 → 実施／中止 → 報告済 の順に記録します",
        )
        self.app.push_screen(FormScreen(spec), lambda r: self.reload() if r else None)

    def action_write_record(self) -> None:
        """p: the walk-through and the application as one printable file."""
        case_id = self._case_id()
        if case_id is None:
            self._error("放棄の案件がまだありません。n で始めてください")
            return
        session = context(self).session

        def save(v: dict[str, Any]) -> Any:
            return waiver.write_waiver_record(session, case_id, v["dest"])

        spec = FormSpec(
            title="審査記録と申請を書き出す",
            note="拡張子で形式が決まります: .html / .md / .pdf（PDF は日本語フォントがある場合）。"
            "同じ名前のファイルがあるときは書き出しません。",
            fields=[Field("dest", "出力先", default=f"~/放棄審査記録-{self.claim_no}.html")],
            save=save,
            save_label="書き出す",
        )
        self.app.push_screen(
            FormScreen(spec),
            lambda path: self.notify(escape(f"{path} に書き出しました")) if path else None,
        )

    # ------------------------------------------------------------------ the application

    def action_application(self) -> None:
        if not self._require_case():
            return
        session = context(self).session
        case_id = self._case_id()
        name = str(_get(self._current_facts(), "name", default=""))
        self.municipality = name
        self._run(
            "申請の内容を読めませんでした",
            lambda: waiver.application(session, case_id, name),
            self.show_application,
        )

    def show_application(self, app: dict[str, Any]) -> None:
        self._show_view("application")
        body = Text(f"申請 — {self.municipality}\n", style="bold")
        fields = app.get("fields", {})
        pairs: Iterable[Any] = fields.items() if isinstance(fields, dict) else fields
        width = max(20, self.app.size.width - 4)
        for pair in pairs:
            label, value = _pair(pair)
            shown = _value_text(value, self._date)
            if cell_len(f"{label}  {shown}") <= width:  # one line where it fits
                body.append(label, style="bold")
                body.append(f"  {shown}\n")
                continue
            body.append(f"{label}\n", style="bold")
            for line in kinsoku_wrap(shown, width - 2):
                body.append(f"  {line}\n")
        resolution = app.get("resolution")
        if resolution is not None:
            body.append(f"条例 {resolution_text(resolution)}\n", style="bold")
            for note in _get(resolution, "notes", default=()) or ():
                body.append(f"※ {note}\n", style="yellow")
        body.append("添付書類\n", style="bold")
        for a in app.get("attachments", ()) or ():
            if isinstance(a, str):
                a = {"text": a}
            done = bool(_get(a, "done", "attached", "ready", default=False))
            body.append(" [x] " if done else " [ ] ", style="bold green" if done else "bold")
            body.append(str(_get(a, "text", "name", "label", default="")))
            ref = _get(a, "reference", "ref", default="")
            if ref:
                body.append(f"  {ref}", style="dim")
            body.append("\n")
        self.query_one("#waiver-app-text", Static).update(body)
        self.query_one("#waiver-app", VerticalScroll).scroll_home(animate=False)
        self._keys("PgUp/PgDn スクロール  p 記録出力  Esc 戻る")

    # ------------------------------------------------------------------ the walk-through

    def action_walk(self) -> None:
        if self.view != "case" or not self._require_case():
            return
        name = str(_get(self._current_facts(), "name", default=""))
        self.municipality = name
        self._read_walk(resume=True)

    def _read_walk(self, *, resume: bool, advance: bool = False) -> None:
        session = context(self).session
        case_id = self._case_id()
        name = self.municipality or ""

        def shown(walk: Any) -> None:
            self.walk = walk
            if resume:
                self.index = self._first_open()
            elif advance and self.index + 1 < len(walk.items):
                self.index += 1
            self.show_item()

        self._run(
            "審査項目を読めませんでした",
            lambda: waiver.walkthrough(session, case_id, name),
            shown,
        )

    def _first_open(self) -> int:
        """Where to resume: the first applicable item without a status."""
        for i, item in enumerate(self.walk.items):
            if _get(item, "applicable", default=True) and not _get(item, "status"):
                return i
        return 0

    def _item(self) -> Any:
        return self.walk.items[self.index]

    def show_item(self) -> None:
        self._show_view("walk")
        item = self._item()
        key = str(_get(item, "key"))
        total = len(self.walk.items)
        answered, of = self.walk.progress
        width = max(20, self.app.size.width - 6)
        template = _get(self.walk, "template", default="")
        body = Text()
        body.append(f"{self.municipality}", style="bold")
        body.append(f"  進捗 {answered}/{of}", style="bold")
        if template:
            body.append(f"  {template}", style="dim")
        body.append("\n")
        body.append(f"{_get(item, 'section_title', 'section', default='')}\n", style="underline")
        importance = str(_get(item, "importance", default=""))
        body.append(f"項目 {self.index + 1}/{total}  ", style="bold")
        body.append(f"重要度 {importance} {IMPORTANCE_NAMES.get(importance, '')}\n")
        for line in kinsoku_wrap(str(_get(item, "text", default="")), width):
            body.append(f"  {line}\n", style="bold")
        guidance = str(_get(item, "guidance", default="") or "")
        if guidance:
            for n, line in enumerate(kinsoku_wrap(f"着眼点: {guidance}", width)):
                body.append(f"  {line}\n" if n == 0 else f"    {line}\n", style="dim")
        body.append("\n状態 ")
        applicable = bool(_get(item, "applicable", default=True))
        status = _get(item, "status") or (None if applicable else "該当なし")
        if not applicable:
            body.append("該当なし", style="bold")
            body.append("（このスキームの対象外の項目）", style="dim")
        elif status:
            body.append(str(status), style="bold green" if status == "充足" else "bold")
        else:
            body.append("未回答", style="bold yellow")
        by = _get(item, "answered_by")
        if by:
            at = _get(item, "answered_at")
            body.append(f"  記録 {by} {self._date(at)}", style="dim")
        body.append("\n")
        self.query_one("#waiver-item-text", Static).update(body)
        self.query_one("#waiver-item", VerticalScroll).scroll_home(animate=False)
        finding, evidence = self.drafts.get(
            (self.municipality or "", key),
            (str(_get(item, "finding", default="") or ""), str(_get(item, "evidence") or "")),
        )
        self._input("finding").value = finding
        self._input("evidence").value = evidence
        self._input("finding").disabled = not applicable
        self._input("evidence").disabled = not applicable
        if applicable and not _get(item, "status"):
            self._input("finding").focus()
            self._keys("所見・根拠を入力 → Enter  1 充足 2 不充足 3 該当なし  PgDn 次  Esc 戻る")
        else:
            self.set_focus(None)
            self._keys("1 充足 2 不充足 3 該当なし  f 所見 e 根拠  PgUp/PgDn 前後  Esc 戻る")
        self.refresh_bindings()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: from the finding to the evidence; from the evidence, on to the status keys."""
        event.stop()
        if event.input.id == "waiver-finding":
            self._input("evidence").focus()
        else:
            self.set_focus(None)
            self._keys("1 充足 2 不充足 3 該当なし  f 所見 e 根拠  PgUp/PgDn 前後  Esc 戻る")
        self.refresh_bindings()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.refresh_bindings()

    def action_edit(self, name: str) -> None:
        if self.view == "walk" and not self._input(name).disabled:
            self._input(name).focus()
            self.refresh_bindings()

    def _typed(self) -> tuple[str, str]:
        return self._input("finding").value.strip(), self._input("evidence").value.strip()

    def _keep_draft(self) -> None:
        """What was typed on this item and not yet answered stays while the screen is open."""
        if self.walk is None or self.view != "walk":
            return
        item = self._item()
        typed = self._typed()
        stored = (str(_get(item, "finding") or ""), str(_get(item, "evidence") or ""))
        key = (self.municipality or "", str(_get(item, "key")))
        if typed != stored:
            self.drafts[key] = typed
        else:
            self.drafts.pop(key, None)

    def action_status(self, n: int) -> None:
        """1/2/3: the status of this item, saved at once with the finding and evidence."""
        if self.view != "walk" or self._busy:
            return
        item = self._item()
        if not _get(item, "applicable", default=True):
            self._error("この項目はスキームの対象外のため該当なしです（回答は不要）")
            return
        if not self._require_present("審査の回答"):
            return
        status = STATUSES[n]
        importance = str(_get(item, "importance", default=""))
        try:
            finding = clean_text(self._typed()[0], "所見", max_len=2000).strip()
            evidence = clean_text(self._typed()[1], "根拠資料", max_len=LINE_MAX).strip()
            if importance in NEEDS_FINDING and not finding:
                raise InputError(
                    "所見", f"重要度{importance}の項目は所見を入力してから状態を選んでください"
                )
        except InputError as exc:
            self._error(str(exc))
            self._input("finding").focus()
            return
        session = context(self).session
        case_id = self._case_id()
        name = self.municipality or ""
        key = str(_get(item, "key"))

        def saved(_: Any) -> None:
            self.drafts.pop((name, key), None)
            self._read_walk(resume=False, advance=True)

        self._run(
            "回答を保存できませんでした",
            lambda: waiver.answer(
                session, case_id, name, key, status=status, finding=finding, evidence=evidence
            ),
            saved,
        )

    def action_item(self, step: int) -> None:
        if self.view != "walk" or self._busy or self.walk is None:
            if self.view == "application":
                scroll = self.query_one("#waiver-app", VerticalScroll)
                (scroll.scroll_page_down if step > 0 else scroll.scroll_page_up)(animate=False)
            return
        target = self.index + step
        if not 0 <= target < len(self.walk.items):
            return
        self._keep_draft()
        self._error("")
        self.index = target
        self.show_item()

    # ------------------------------------------------------------------ back

    def action_back(self) -> None:
        """Esc: from the walk-through or the application back to the case; from the case, leave.
        Answers were saved as they were given; typed text not yet answered is kept here."""
        if self._busy:
            return
        self._error("")
        if self.view == "walk":
            self._keep_draft()
            self.view = "case"
            self.reload()
            self.show_case()
        elif self.view == "application":
            self.show_case()
        else:
            self.dismiss(None)


_CASE_ONLY = frozenset({"walk", "application", "record_step", "write_record"})
_SCREEN_ACTIONS = frozenset(a for acts in WaiverScreen.VIEW_ACTIONS.values() for a in acts)


def _pair(pair: Any) -> tuple[str, Any]:
    if isinstance(pair, (tuple, list)) and len(pair) == 2:
        return str(pair[0]), pair[1]
    return str(_get(pair, "label", "name", default="")), _get(pair, "value")


def _value_text(value: Any, show_date: Callable[[Any], str]) -> str:
    if value is None or value == "":
        return "（未入力）"
    if isinstance(value, bool):
        return "あり" if value else "なし"
    if isinstance(value, int):
        return format_yen(value)
    if isinstance(value, date):
        return show_date(value)
    return str(value)
