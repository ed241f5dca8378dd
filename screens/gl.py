"""The 経営者保証GL settlement screen (SPEC 4.11): inventory, live figures, attested items, proposal.

The proposer types the inputs and the asset inventory (line by line, or from a CSV file) and
sees every figure and check of the pure calculator (``rules.gl.calculate``) change as they type:
the calculator is pure, so it runs on the UI thread. The guarantor's birth date and liability
are read once by a service in a thread worker; the proposal (Ctrl+S on the summary) goes
through ``decisions.propose``, which computes and freezes the same figures again.
Nothing is stored before Ctrl+S; Esc goes back one step.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from kyusho.errors import InputError, KyushoError
from kyusho.files import user_path
from kyusho.rules import gl as glrules
from kyusho.rules.csvparse import decode
from kyusho.rules.dates import format_date, parse_date
from kyusho.rules.decision_checks import full_years
from kyusho.rules.money import format_yen, parse_amount
from kyusho.rules.text import LINE_MAX, clean_text, narrow
from kyusho.services import claims, decisions
from screens.context import context, deliver, failure
from screens.decision import (
    ANSWERS,
    DATE_ITEMS,
    ProposalSender,
    attest_heading,
    attested_summary,
    parse_answer,
)
from screens.form import Field, FormScreen, FormSpec
from screens.widgets import KeyBar, StatusLine

GL_KIND = "gl_release"
CSV_COLUMNS = ("種類", "内容", "評価額", "差押禁止", "自宅", "残したい")
CSV_MAX_BYTES = 1_000_000
_TRUE = {"1", "true", "yes", "y", "はい", "○", "◯", "x", "有", "あり"}
_FALSE = {"", "0", "false", "no", "n", "いいえ", "×", "無", "なし", "-"}
FLAGS = (("exempt", "差押禁止"), ("home", "自宅"), ("keep", "残したい"))
FLAG_SHORT = {"exempt": "差押", "home": "自宅", "keep": "残す"}

# The inputs of the first step: (key, label, kind); amounts and the date are parsed by the
# product's own parsers, so the screen refuses what the CLI refuses.
INPUTS: tuple[tuple[str, str, str], ...] = (
    ("reference_date", "基準時", "date"),
    ("gl_type", "GLの類型", "gl_type"),
    ("expert_name", "支援専門家 氏名", "text"),
    ("expert_qualification", "支援専門家 資格", "text"),
    ("bankruptcy_dividend", "破産配当見込額", "amount"),
    ("recovery_increase", "回収見込額の増加額", "amount"),
    ("living_requested", "生計費（希望額）", "amount"),
)
# The figures in the words of the guideline, in the order of examples/gl.toml.
FIGURES: tuple[tuple[str, str], ...] = (
    ("living_cap", "生計費の上限"),
    ("assets_total", "資産合計"),
    ("free_property", "自由財産"),
    ("incentive", "インセンティブ資産"),
    ("retained", "残存資産"),
    ("payment", "弁済額"),
    ("release", "免除額"),
)


@dataclass(frozen=True)
class Guarantor:
    """What the calculation needs from the database, read once."""

    name: str
    birth_date: date | None
    liability: int


def _flag(cell: str, column: str) -> bool:
    text = narrow(cell).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(column, f"{column}は 1/0、はい/いいえ のいずれかで入力してください")


def parse_inventory_csv(data: bytes) -> list[glrules.Asset]:
    """The asset lines of an inventory CSV (種類,内容,評価額,差押禁止,自宅,残したい), or
    InputError listing every bad row with its line and column: all or nothing."""
    text = decode(data)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [narrow(c).strip() for c in rows[0]][: len(CSV_COLUMNS)] != list(CSV_COLUMNS):
        raise InputError("ファイル", f"1行目は見出し {','.join(CSV_COLUMNS)} にしてください")
    assets: list[glrules.Asset] = []
    errors: list[str] = []
    for line, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        cells = [c.strip() for c in row] + [""] * (len(CSV_COLUMNS) - len(row))
        if len(row) > len(CSV_COLUMNS):
            errors.append(f"{line}行目: 列が多すぎます（{len(CSV_COLUMNS)}列）")
            continue
        values: dict[str, Any] = {}
        for column, cell in zip(CSV_COLUMNS, cells, strict=False):
            try:
                if column == "種類":
                    kind = narrow(cell).strip()
                    if kind not in glrules.ASSET_KINDS:
                        raise InputError(column, f"{' / '.join(glrules.ASSET_KINDS)} のいずれか")
                    values["kind"] = kind
                elif column == "内容":
                    values["description"] = clean_text(cell, column, max_len=LINE_MAX).strip()
                elif column == "評価額":
                    values["value"] = parse_amount(cell, column, allow_zero=True)
                else:
                    values[column] = _flag(cell, column)
            except InputError as exc:
                errors.append(f"{line}行目 {column}列: {exc.message}")
        if len(values) == len(CSV_COLUMNS):
            assets.append(
                glrules.Asset(
                    values["kind"],
                    values["description"],
                    values["value"],
                    exempt=values["差押禁止"],
                    home=values["自宅"],
                    keep=values["残したい"],
                )
            )
    if errors:
        shown = errors[:5] + ([f"ほか {len(errors) - 5} 件"] if len(errors) > 5 else [])
        raise InputError("ファイル", "取り込んでいません: " + " / ".join(shown))
    if not assets:
        raise InputError("ファイル", "財産の行がありません")
    return assets


def read_inventory(path_text: str) -> list[glrules.Asset]:
    """Blocking (a thread worker): the file the user typed, parsed."""
    path = user_path(path_text, "ファイル")
    try:
        if path.stat().st_size > CSV_MAX_BYTES:
            raise InputError("ファイル", f"{CSV_MAX_BYTES:,}バイトを超えるファイルは読めません")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("ファイル", f"{escape(str(path))} が見つかりません") from None
    except IsADirectoryError:
        raise InputError("ファイル", "フォルダではなくCSVファイルを指定してください") from None
    except OSError as exc:
        raise InputError("ファイル", f"読めません（{exc.strerror}）") from None
    return parse_inventory_csv(data)


def asset_dict(a: glrules.Asset) -> dict[str, Any]:
    return dataclasses.asdict(a)


def figures_text(result: glrules.GLResult, liability: int) -> Text:
    """The figures and the four checks, each ✓/✗ with by how much it fails."""
    body = Text()
    body.append(f"年齢 {result.age}歳（基準時）\n")
    body.append(f"表の区分 {result.band} {result.living_days}日\n")
    if result.policy_default_used:
        body.append("65歳以上は表にないため協会の既定値を使用\n", style="bold yellow")
    body.append(f"保証債務の残高 {format_yen(liability)}\n")
    for key, label in FIGURES:
        body.append(f"{label} ", style="bold" if key in ("payment", "release") else "")
        body.append(f"{format_yen(getattr(result, key))}\n")
    body.append("確認\n", style="bold")
    for c in result.checks:  # the detail on its own line: it says by how much one fails
        body.append("✓" if c.ok else "✗", style="bold green" if c.ok else "bold red")
        body.append(f"{c.label}\n")  # no space after the mark: a wrap never parts them
        body.append(f"{c.detail}\n", style="dim" if c.ok else "red")
    return body


class GLScreen(ProposalSender):
    """経営者保証GLによる保証債務免除の起案"""

    AUTO_FOCUS = None

    BINDINGS = [
        Binding("escape", "back", "戻る", id="gl.back"),
        Binding("ctrl+s", "propose", "起案", id="gl.propose", priority=True),
        Binding("ctrl+n", "next", "次へ", id="gl.next"),
        Binding("a", "add_line", "追加", id="gl.add"),
        Binding("e", "edit_line", "編集", id="gl.edit"),
        Binding("x", "delete_line", "削除", id="gl.delete"),
        Binding("1", "toggle('exempt')", "差押禁止", id="gl.flag_exempt"),
        Binding("2", "toggle('home')", "自宅", id="gl.flag_home"),
        Binding("3", "toggle('keep')", "残したい", id="gl.flag_keep"),
        Binding("i", "import_csv", "CSV", id="gl.import"),
        # the figures (or the step's text) scroll from any field or the inventory
        Binding("pageup", "scroll_body(-1)", "上へ", show=False, id="gl.page_up", priority=True),
        Binding("pagedown", "scroll_body(1)", "下へ", show=False, id="gl.page_down", priority=True),
    ]
    LINE_ACTIONS = frozenset(
        {"add_line", "edit_line", "delete_line", "toggle", "import_csv", "scroll_body"}
    )
    DEFAULT_CSS = """
    GLScreen #gl-main { height: 1fr; }
    GLScreen #gl-form { width: 1fr; padding: 0 1; }
    GLScreen #gl-figures { width: 38; padding: 0 1; border-left: vkey $accent; }
    GLScreen .gl-row { height: 1; }
    GLScreen .gl-row Label { width: 19; }
    GLScreen .gl-row Input {
        width: 1fr; height: 1; border: none; padding: 0 1; background: $boost;
    }
    GLScreen #gl-assets-title { height: 1; text-style: bold; margin-top: 1; }
    GLScreen #gl-assets { height: auto; max-height: 12; }
    GLScreen #gl-step { height: 1fr; padding: 0 1; display: none; }
    GLScreen .gl-answer-row { height: 1; padding: 0 1; display: none; }
    GLScreen .gl-answer-row Label { width: 16; }
    GLScreen .gl-answer-row Input {
        width: 1fr; height: 1; border: none; padding: 0 1; background: $boost;
    }
    GLScreen #gl-error { height: auto; padding: 0 1; color: $error; text-style: bold; }
    GLScreen #gl-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, claim_no: str, *, obligor_no: int, obligor_name: str = "") -> None:
        super().__init__()
        self.claim_no = claim_no
        self.obligor_no = obligor_no
        self.obligor_name = obligor_name
        self.guarantor: Guarantor | None = None
        self.assets: list[glrules.Asset] = []
        self.result: glrules.GLResult | None = None
        self.step = "loading"
        self.data: dict[str, Any] = {}
        self.items: list[tuple[str, str]] = []
        self.item_index = 0
        self.attested: dict[str, dict[str, str]] = {}
        self.evaluation: Any = None
        self._delete_armed: int | None = None
        self._busy = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        title = f"経営者保証GL免除の起案 — {self.claim_no} 関係人{self.obligor_no}"
        yield Static(Text(f"{title} {self.obligor_name}"), classes="title", id="gl-title")
        with Horizontal(id="gl-main"):
            with VerticalScroll(id="gl-form", can_focus=False):
                for key, label, _kind in INPUTS:
                    with Horizontal(classes="gl-row"):
                        yield Label(label)
                        yield Input(id=f"gl-{key}", compact=True, placeholder=_hint(key))
                yield Static("財産目録（a 追加 / i CSV取込）", id="gl-assets-title")
                table: DataTable[str] = DataTable(id="gl-assets", cursor_type="row")
                yield table
            with VerticalScroll(id="gl-figures", can_focus=False):
                yield Static("", id="gl-figures-text")
        with VerticalScroll(id="gl-step", can_focus=False):
            yield Static("", id="gl-step-text")
        with Horizontal(classes="gl-answer-row", id="gl-answer-row-1"):
            yield Label("", id="gl-answer-label-1")
            yield Input(id="gl-answer-1", compact=True)
        with Horizontal(classes="gl-answer-row", id="gl-answer-row-2"):
            yield Label("メモ", id="gl-answer-label-2")
            yield Input(id="gl-answer-2", compact=True)
        yield Static("", id="gl-error")
        yield Static("", id="gl-keys")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#gl-assets", DataTable)
        for label, key in (("種類", "kind"), ("内容", "description"), ("評価額", "value")):
            table.add_column(label, key=key)
        table.add_column("印", key="flags")  # one column: the three flags fit at 80x24
        try:
            context(self).session.require_present("決裁の起案")
        except KyushoError as exc:
            self.notify(escape(str(exc)), severity="warning")
            self.dismiss(None)
            return
        self._keys("読込中…")
        self._load()

    @work(thread=True, exclusive=True, group="gl-load", exit_on_error=False)
    def _load(self) -> None:
        session = context(self).session
        try:
            view = claims.claim_view(session, self.claim_no, session.today(), history=False)
            ob = next((o.row for o in view.obligors if o.row.obligor_no == self.obligor_no), None)
            if ob is None:
                raise InputError(
                    "関係人番号", f"関係人番号 {self.obligor_no} はこの求償権にありません"
                )
            if ob.role != "joint_guarantor":
                raise InputError("関係人番号", "免除の対象は連帯保証人です")
            if not ob.liable:
                raise InputError("関係人番号", "この保証人はすでに免除されています")
            g = Guarantor(name=ob.name, birth_date=ob.birth_date, liability=view.balance.total)
        except Exception as exc:  # shown; nothing to do here
            deliver(self, self._load_failed, exc)
            return
        deliver(self, self._loaded, g)

    def _load_failed(self, exc: BaseException) -> None:
        self.notify(escape(failure("保証人を読めませんでした", exc)), severity="warning")
        self.dismiss(None)

    def _loaded(self, g: Guarantor) -> None:
        self.guarantor = g
        self.obligor_name = g.name
        self.show_inputs()

    # ------------------------------------------------------------------ helpers

    def _keys(self, text: str) -> None:
        self.query_one("#gl-keys", Static).update(Text(text))

    def _error(self, message: str) -> None:
        self.query_one("#gl-error", Static).update(Text(message))

    def _field(self, key: str) -> Input:
        return self.query_one(f"#gl-{key}", Input)

    def _raw(self, key: str) -> str:
        return self._field(key).value.strip()

    def _table(self) -> DataTable[Any]:
        return self.query_one("#gl-assets", DataTable)

    def _mode(self, inputs: bool) -> None:
        self.query_one("#gl-main").display = inputs
        self.query_one("#gl-step").display = not inputs
        for n in (1, 2):
            row = self.query_one(f"#gl-answer-row-{n}")
            row.display = False
            self.query_one(f"#gl-answer-{n}", Input).disabled = True
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Line keys act on the inventory only while it has the focus (letters are typed
        into the fields otherwise); PgUp/PgDn scroll the step text."""
        if action in ("add_line", "edit_line", "delete_line", "toggle"):
            return self.step == "inputs" and self.focused is self._table() or None
        if action == "import_csv":
            return self.step == "inputs" and self.focused is self._table() or None
        if action == "next":
            return self.step == "inputs"
        return True

    def action_scroll_body(self, direction: int) -> None:
        target = self.query_one(
            "#gl-step" if self.step != "inputs" else "#gl-figures", VerticalScroll
        )
        if direction < 0:
            target.scroll_page_up(animate=False)
        else:
            target.scroll_page_down(animate=False)

    # ------------------------------------------------------------------ step 1: inputs

    def show_inputs(self) -> None:
        self.step = "inputs"
        self._mode(True)
        self.recalculate()
        self._field("reference_date").focus()
        self._inputs_keys()

    def _inputs_keys(self) -> None:
        if self.focused is self._table():
            self._keys("a 追加 e 編集 x 削除 1差押 2自宅 3残す i CSV PgDn 計算")
        else:
            self._keys("Enter 次の欄 Tab 財産目録 PgUp/PgDn 計算 Ctrl+N 次へ")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self.step == "inputs":
            self._delete_armed = None
            self._inputs_keys()
            self.refresh_bindings()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.step == "inputs" and event.input.id and not event.input.id.startswith("gl-answer"):
            self.recalculate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.step == "inputs":
            keys = [k for k, _, _ in INPUTS]
            current = (event.input.id or "")[3:]
            if current in keys and keys.index(current) + 1 < len(keys):
                self._field(keys[keys.index(current) + 1]).focus()
            else:
                self._table().focus()
        elif self.step == "attest" and event.input.id == "gl-answer-1":
            self.query_one("#gl-answer-2", Input).focus()
        elif self.step == "attest":
            self._item_done()
        elif self.step == "summary":
            self.action_propose()

    def _amount(self, key: str, label: str, *, strict: bool) -> int:
        raw = self._raw(key)
        if not raw:
            if strict:
                raise InputError(label, "入力してください（0円の場合は 0）")
            return 0
        return parse_amount(raw, label, allow_zero=True)

    def gl_input(self, *, strict: bool = False) -> glrules.GLInput:
        """The calculator's input from the fields; empty amounts count as 0 while typing."""
        assert self.guarantor is not None
        raw_date = self._raw("reference_date")
        if not raw_date:
            raise InputError("基準時", "基準時（一時停止の効力発生日）を入力すると計算します")
        reference = parse_date(raw_date, "基準時")
        labels = {k: label for k, label, _ in INPUTS}
        return glrules.GLInput(
            reference_date=reference,
            birth_date=self.guarantor.birth_date,
            assets=tuple(self.assets),
            living_requested=self._amount(
                "living_requested", labels["living_requested"], strict=strict
            ),
            bankruptcy_dividend=self._amount(
                "bankruptcy_dividend", labels["bankruptcy_dividend"], strict=strict
            ),
            recovery_increase=self._amount(
                "recovery_increase", labels["recovery_increase"], strict=strict
            ),
            liability=self.guarantor.liability,
        )

    def recalculate(self) -> None:
        """Every figure, again, from what is on the screen now (pure and fast)."""
        if self.guarantor is None:
            return
        out = self.query_one("#gl-figures-text", Static)
        self.result = None
        if not self._raw("reference_date"):
            text = Text("基準時（一時停止の効力発生日）を入力すると計算します\n\n")
            text.append(f"保証債務の残高 {format_yen(self.guarantor.liability)}\n")
            out.update(text)
            return
        try:
            self.result = glrules.calculate(self.gl_input(), glrules.living_cost_table())
        except InputError as exc:
            text = self._age_text()
            text.append("計算できません\n", style="bold red")
            text.append(exc.message if isinstance(exc, InputError) else str(exc))
            text.append(f"\n\n保証債務の残高 {format_yen(self.guarantor.liability)}\n")
            text.append(f"資産合計 {format_yen(sum(a.value for a in self.assets))}\n")
            out.update(text)
            return
        out.update(figures_text(self.result, self.guarantor.liability))

    def _age_text(self) -> Text:
        """Age and the table's band even while the figures cannot be computed yet."""
        assert self.guarantor is not None
        birth = self.guarantor.birth_date
        try:
            reference = parse_date(self._raw("reference_date"), "基準時")
        except InputError:
            return Text()
        if birth is None or birth > reference:
            return Text()
        table = glrules.living_cost_table()
        age = full_years(birth, reference)
        band = table.band(age)
        text = Text(f"年齢 {age}歳（基準時）\n表の区分 {band.label} {band.max_days}日\n")
        if band.policy_default:
            text.append("65歳以上は表にないため協会の既定値を使用\n", style="bold yellow")
        return text

    def _show_assets(self, cursor: int | None = None) -> None:
        table = self._table()
        table.clear()
        for n, a in enumerate(self.assets):
            table.add_row(
                a.kind,
                a.description or "—",
                Text(format_yen(a.value, unit=False), justify="right"),
                "・".join(FLAG_SHORT[key] for key, _ in FLAGS if getattr(a, key)),
                key=str(n),
            )
        if self.assets:
            table.move_cursor(row=min(cursor or 0, len(self.assets) - 1), animate=False)
        title = f"財産目録 {len(self.assets)}件（a 追加 / i CSV取込）"
        self.query_one("#gl-assets-title", Static).update(Text(title))
        self.recalculate()

    def _cursor(self) -> int | None:
        table = self._table()
        if not self.assets or table.cursor_row is None or table.cursor_row < 0:
            return None
        return min(table.cursor_row, len(self.assets) - 1)

    def _line_form(self, title: str, asset: glrules.Asset | None) -> FormSpec:
        fields = [
            Field(
                "kind",
                "種類",
                "select",
                options=[(k, k) for k in glrules.ASSET_KINDS],
                default=asset.kind if asset else None,
            ),
            Field(
                "description",
                "内容",
                required=False,
                default=asset.description if asset else None,
                placeholder="例 ○○銀行 普通預金",
            ),
            Field("value", "評価額", "text", default=asset.value if asset is not None else None),
        ]

        def save(values: dict[str, Any]) -> glrules.Asset:
            value = parse_amount(str(values.get("value") or ""), "評価額", allow_zero=True)
            description = clean_text(
                str(values.get("description") or ""), "内容", max_len=LINE_MAX
            ).strip()
            base = asset or glrules.Asset(kind=values["kind"], description="", value=0)
            return replace(base, kind=values["kind"], description=description, value=value)

        return FormSpec(
            title=title,
            fields=fields,
            save=save,
            save_label="決定",
            note="差押禁止・自宅・残したいは一覧で 1 / 2 / 3 を押して付け外しします",
        )

    def action_add_line(self) -> None:
        def added(asset: glrules.Asset | None) -> None:
            if asset is not None:
                self.assets.append(asset)
                self._show_assets(len(self.assets) - 1)
            self._table().focus()

        self.app.push_screen(FormScreen(self._line_form("財産を追加", None)), added)

    def action_edit_line(self) -> None:
        n = self._cursor()
        if n is None:
            self._error("編集する行がありません（a で追加）")
            return

        def edited(asset: glrules.Asset | None) -> None:
            if asset is not None:
                self.assets[n] = asset
                self._show_assets(n)
            self._table().focus()

        self.app.push_screen(
            FormScreen(self._line_form(f"財産 {n + 1}行目を編集", self.assets[n])), edited
        )

    def action_delete_line(self) -> None:
        """x twice on the same line: the first press says which line would go."""
        n = self._cursor()
        if n is None:
            return
        if self._delete_armed != n:
            self._delete_armed = n
            a = self.assets[n]
            self._error(
                f"{n + 1}行目（{a.kind} {format_yen(a.value)}）を削除します。もう一度 x で削除"
            )
            return
        self._delete_armed = None
        del self.assets[n]
        self._error("")
        self._show_assets(n)

    def action_toggle(self, flag: str) -> None:
        n = self._cursor()
        if n is None:
            return
        a = self.assets[n]
        self.assets[n] = replace(a, **{flag: not getattr(a, flag)})
        self._show_assets(n)

    def action_import_csv(self) -> None:
        spec = FormSpec(
            title="財産目録をCSVから取り込む",
            fields=[Field("path", "ファイル", placeholder="例 ~/gl/inventory.csv")],
            save=lambda values: read_inventory(values["path"]),
            save_label="取込",
            note=f"列: {','.join(CSV_COLUMNS)}（1行目は見出し）。"
            "誤りのある行があれば一行も取り込みません",
        )

        def imported(assets: list[glrules.Asset] | None) -> None:
            if assets:
                start = len(self.assets)
                self.assets.extend(assets)
                self._show_assets(start)  # the title says how many lines there are now
            self._table().focus()

        self.app.push_screen(FormScreen(spec), imported)

    def payload(self) -> dict[str, Any]:
        """The decision's data (SPEC 5.2 gl_release), validated as the service will."""
        gl_type = narrow(self._raw("gl_type"))
        if gl_type in ("1", "2"):
            gl_type = glrules.GL_TYPES[int(gl_type) - 1]
        if gl_type not in glrules.GL_TYPES:
            raise InputError("GLの類型", "1 一体型 / 2 単独型 のいずれかを入力してください")
        name = clean_text(self._raw("expert_name"), "支援専門家 氏名", max_len=LINE_MAX)
        qualification = clean_text(
            self._raw("expert_qualification"), "支援専門家 資格", max_len=LINE_MAX
        )
        if not name:
            raise InputError("支援専門家 氏名", "支援専門家の氏名を入力してください")
        if not qualification:
            raise InputError("支援専門家 資格", "資格（例 弁護士・公認会計士）を入力してください")
        if not self.assets:
            raise InputError("財産目録", "財産を一行以上入力してください（a 追加 / i CSV取込）")
        inp = self.gl_input(strict=True)
        glrules.calculate(inp, glrules.living_cost_table())  # a refusal names the field
        return {
            "reference_date": inp.reference_date.isoformat(),
            "gl_type": gl_type,
            "assets": [asset_dict(a) for a in self.assets],
            "living_requested": inp.living_requested,
            "bankruptcy_dividend": inp.bankruptcy_dividend,
            "recovery_increase": inp.recovery_increase,
            "expert": {"name": name, "qualification": qualification},
        }

    def action_next(self) -> None:
        """Ctrl+N on the inputs: check them, then the attested items one at a time."""
        if self._busy or self.step != "inputs":
            return
        self._error("")
        try:
            self.data = self.payload()
        except InputError as exc:
            self._error(str(exc))
            return
        self.evaluate(then="items")

    # ------------------------------------------------------------------ the service

    def _full_payload(self) -> dict[str, Any]:
        data = dict(self.data)
        if self.attested:
            data["attested"] = {k: dict(v) for k, v in self.attested.items()}
        return data

    def evaluate(self, then: str) -> None:
        self._busy = True
        self._keys("計算中…")
        self._evaluate(self._full_payload(), then)

    @work(thread=True, exclusive=True, group="gl-evaluate", exit_on_error=False)
    def _evaluate(self, data: dict[str, Any], then: str) -> None:
        session = context(self).session
        try:
            ev = decisions.evaluate(
                session, self.claim_no, GL_KIND, obligor_no=self.obligor_no, data=data
            )
        except Exception as exc:  # shown; nothing stored
            deliver(self, self._evaluate_failed, exc)
            return
        deliver(self, self._evaluated, ev, then)

    def _evaluate_failed(self, exc: BaseException) -> None:
        self._busy = False
        self._error(failure("計算できませんでした", exc))
        if self.step == "inputs":
            self._inputs_keys()
        else:
            self._keys("Enter 次へ  Esc 戻る")

    def _evaluated(self, ev: Any, then: str) -> None:
        self._busy = False
        self.evaluation = ev
        self.items = list(ev.items)
        liability = ev.computed.get("liability")
        if self.guarantor is not None and isinstance(liability, int):
            # the figures shown from here on are the ones the proposal freezes
            self.guarantor = replace(self.guarantor, liability=liability)
            self.result = glrules.calculate(self.gl_input(strict=True), glrules.living_cost_table())
        if then == "items" and self.items:
            self.item_index = 0
            self.show_item()
        else:
            self.show_summary()

    # ------------------------------------------------------------------ step 2: attested items

    def _head(self) -> Text:
        head = Text(f"対象 関係人{self.obligor_no} {self.obligor_name}", style="bold")
        head.append(f"  {self.data.get('gl_type', '')}\n")
        return head

    def _step_text(self, text: Text) -> None:
        self.query_one("#gl-step-text", Static).update(text)
        self.query_one("#gl-step", VerticalScroll).scroll_home(animate=False)

    def show_item(self) -> None:
        self.step = "attest"
        self._mode(False)
        key, label = self.items[self.item_index]
        body = self._head()
        choices = " / ".join(f"{n} {a}" for n, a in enumerate(ANSWERS, 1))
        attest_heading(body, self.item_index, len(self.items), label, key in DATE_ITEMS, choices)
        self._step_text(body)
        old = self.attested.get(key, {})
        for n, value in ((1, old.get("answer", "")), (2, old.get("note", ""))):
            self.query_one(f"#gl-answer-row-{n}").display = True
            field = self.query_one(f"#gl-answer-{n}", Input)
            field.disabled = False
            field.value = value
        self.query_one("#gl-answer-label-1", Label).update(
            "回答（日付）" if key in DATE_ITEMS else "回答"
        )
        self.query_one("#gl-answer-label-2", Label).update("メモ")
        self.query_one("#gl-answer-1", Input).focus()
        self._keys("Enter 次へ  Esc 前の項目へ")

    def save_item(self) -> None:
        key, label = self.items[self.item_index]
        text = self.query_one("#gl-answer-1", Input).value.strip()
        answer = parse_answer(key, label, text)
        note = self.query_one("#gl-answer-2", Input).value.strip()
        self.attested[key] = {"answer": answer, "note": note}

    def _item_done(self) -> None:
        self._error("")
        try:
            self.save_item()
        except InputError as exc:
            self._error(str(exc))
            return
        if self.item_index + 1 < len(self.items):
            self.item_index += 1
            self.show_item()
        else:
            self.evaluate(then="summary")

    # ------------------------------------------------------------------ step 3: summary

    def summary_text(self) -> Text:
        body = self._head()
        d = self.data
        style = context(self).date_style()
        expert = d.get("expert", {})
        body.append(f"基準時 {format_date(date.fromisoformat(d['reference_date']), style)}")
        body.append(f"  支援専門家 {expert.get('name', '')}（{expert.get('qualification', '')}）\n")
        body.append("財産目録\n", style="bold")
        for n, a in enumerate(self.assets, 1):
            flags = "・".join(label for key, label in FLAGS if getattr(a, key))
            body.append(f" {n:>2} {a.kind} {a.description or ''} {format_yen(a.value)}")
            body.append(f" {flags}\n" if flags else "\n", style="dim")
        body.append(f"生計費（希望額） {format_yen(d['living_requested'])}\n")
        body.append(f"破産配当見込額 {format_yen(d['bankruptcy_dividend'])}\n")
        body.append(f"回収見込額の増加額 {format_yen(d['recovery_increase'])}\n")
        if self.result is not None and self.guarantor is not None:
            body.append("計算結果\n", style="bold")
            body.append_text(figures_text(self.result, self.guarantor.liability))
        ev = self.evaluation
        failing = [c for c in (ev.checks if ev is not None else []) if not c.ok]
        if failing:
            body.append(
                f"満たしていない確認が {len(failing)} 件あります（承認には理由の記録が必要）\n",
                style="bold red",
            )
        attested_summary(body, self.items, self.attested)
        return body

    def show_summary(self) -> None:
        self.step = "summary"
        self._mode(False)
        self._step_text(self.summary_text())
        self.query_one("#gl-answer-row-1").display = True
        field = self.query_one("#gl-answer-1", Input)
        field.disabled = False
        field.value = ""
        self.query_one("#gl-answer-label-1", Label).update("起案の理由")
        field.focus()
        self._keys("Ctrl+S 起案  PgUp/PgDn スクロール  Esc 戻る")

    def action_propose(self) -> None:
        if self.step != "summary":
            self._error("確認事項と最後の確認（起案の理由）まで進んでから Ctrl+S で起案します")
            return
        if self._busy:
            return
        reason = self.query_one("#gl-answer-1", Input).value.strip()
        if not reason:
            self._error("起案の理由を入力してください")
            return
        self._busy = True
        self._propose(reason, self._full_payload())

    @work(thread=True, exclusive=True, group="gl-propose", exit_on_error=False)
    def _propose(self, reason: str, data: dict[str, Any]) -> None:
        self._send_proposal(GL_KIND, reason, data)

    # ------------------------------------------------------------------ back

    def action_back(self) -> None:
        """Esc: one step back (what was entered is kept); from the inputs, leave."""
        if self._busy:
            return
        self._error("")
        if self.step == "attest":
            if self.item_index > 0:
                self.item_index -= 1
                self.show_item()
            else:
                self.show_inputs()
        elif self.step == "summary":
            if self.items:
                self.item_index = len(self.items) - 1
                self.show_item()
            else:
                self.show_inputs()
        else:
            self.dismiss(None)


def _hint(key: str) -> str:
    return {
        "reference_date": "例 R7.5.20",
        "gl_type": "1 一体型 / 2 単独型",
        "expert_qualification": "例 弁護士",
        "bankruptcy_dividend": "協会の分",
        "recovery_increase": "協会の分",
    }.get(key, "")
