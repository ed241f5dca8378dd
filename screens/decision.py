"""The proposal screen (起案, SPEC 4.8–4.10): kind, inputs, computed facts, attested items, summary.

One screen walks the proposer through the steps, one at a time, so each fits 80x24: the body
scrolls (PgUp/PgDn) when it is longer than the screen. The facts are computed by the service
(``decisions.evaluate``, in a thread worker) from the inputs; the proposal (Ctrl+S on the
summary) freezes them. Nothing is stored before Ctrl+S; Esc goes back one step.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from kyusho.errors import InputError, KyushoError
from kyusho.rules.dates import format_date, parse_date
from kyusho.rules.money import format_yen, parse_amount
from kyusho.rules.text import narrow
from kyusho.services import decisions
from kyusho.vocab import DECISION_KINDS, SUSPENSION_REASONS
from screens.context import context, deliver, failure
from screens.widgets import KeyBar, StatusLine

# The kinds offered here, in the order of their keys (1…); gl_release has its own screen
# (screens/gl.py: the asset inventory and the live GL figures), opened from key 6, and the
# waiver its case screen (screens/waiver.py: municipalities, walk-through), from key 7.
KIND_KEYS = (
    "suspension",
    "reactivation",
    "write_off",
    "damages_waiver",
    "partial_release",
    "gl_release",
    "waiver",
)
NEEDS_OBLIGOR = frozenset({"partial_release", "gl_release"})
# attested items answered with a date (any date style, sent as ISO); the others with one of
# ANSWERS, typed as its number or its word
DATE_ITEMS: frozenset[str] = getattr(
    decisions, "DATE_ITEMS", frozenset({"last_whereabouts_check", "means_test", "jfc_approval"})
)
ANSWERS: tuple[str, ...] = tuple(getattr(decisions, "ITEM_ANSWERS", ("充足", "不充足", "該当なし")))


def _yen(v: Any) -> str:
    return format_yen(v) if isinstance(v, int) and not isinstance(v, bool) else str(v)


# The computed figures in the words of the 協会's guideline, each with its format.
COMPUTED: dict[str, tuple[str, Any]] = {
    "balance": ("残高", _yen),
    "liable_balance": ("保証人の責任残高", _yen),
    "payment": ("一部弁済額", _yen),
    "release_amount": ("免除額", _yen),
    "paying_years": ("支払年数", lambda v: f"{v}年"),
    "longest_gap_days": ("最長の入金間隔", lambda v: f"{v}日"),
    "total_paid": ("支払総額", _yen),
    "average_monthly_12m": ("直近12か月の月平均", _yen),
    "age": ("年齢", lambda v: "不明" if v is None else f"{v}歳"),
    "receipts": ("入金回数", lambda v: f"{v}回"),
    "first_receipt_on": ("初回入金日", None),  # a date: in the user's date style
    "last_receipt_on": ("最終入金日", None),
    "amount": ("減免額", _yen),
    "maximum": ("減免できる上限", _yen),
    "status": ("状態", str),
}


def _date_text(value: Any, style: str) -> str:
    if not value:
        return "なし"
    try:
        return format_date(date.fromisoformat(str(value)[:10]), style)
    except ValueError:
        return str(value)


def computed_lines(computed: dict[str, Any], style: str = "iso") -> list[tuple[str, str]]:
    """(label, value) of each computed figure, known ones first in a fixed order."""
    out = []
    for key, (label, fmt) in COMPUTED.items():
        if key in computed:
            value = computed[key]
            if fmt is None:
                out.append((label, _date_text(value, style)))
            elif value is None and key != "age":
                out.append((label, "—"))
            else:
                out.append((label, fmt(value)))
    for key, value in computed.items():
        if key not in COMPUTED and not isinstance(value, (dict, list)):
            out.append((key, str(value)))
    return out


def check_text(body: Text, label: str, ok: bool, detail: str) -> None:
    body.append(" ✓ " if ok else " ✗ ", style="bold green" if ok else "bold red")
    body.append(label)
    if detail:
        body.append(f"  {detail}", style="dim")
    body.append("\n")


def parse_answer(key: str, label: str, text: str) -> str:
    """An attested item's answer: a date (ISO) for a date item, else one of ANSWERS (or 1–3)."""
    if not text:
        raise InputError(label, "回答を入力してください")
    if key in DATE_ITEMS:
        return parse_date(text, label).isoformat()
    answer = narrow(text)
    if answer.isdigit() and 1 <= int(answer) <= len(ANSWERS):
        answer = ANSWERS[int(answer) - 1]
    if answer not in ANSWERS:
        choices = " / ".join(f"{n} {a}" for n, a in enumerate(ANSWERS, 1))
        raise InputError(label, f"{choices} のいずれかを入力してください")
    return answer


def attested_summary(
    body: Text, items: list[tuple[str, str]], attested: dict[str, dict[str, str]]
) -> None:
    """The proposer's answers under the summary, then how to propose."""
    if items:
        body.append("確認事項（起案者の確認）\n", style="bold")
        for key, label in items:
            a = attested.get(key, {})
            body.append(f"  {label}: {a.get('answer', '（未回答）')}")
            if a.get("note"):
                body.append(f"  メモ {a['note']}", style="dim")
            body.append("\n")
    body.append("\n起案の理由を入力し、Ctrl+S で起案します\n", style="bold")


def attest_heading(
    body: Text, index: int, total: int, label: str, is_date: bool, answers: str
) -> None:
    """An attested item, one at a time: its number, its label, and what the answer takes."""
    body.append(f"\n確認事項 {index + 1}/{total}\n", style="bold")
    body.append(f"  {label}\n\n")
    if is_date:
        body.append("  回答に日付を入力（例 R8.10.1 / 2026-10-01）\n", style="dim")
    else:
        body.append(f"  回答（{answers}）と、根拠のメモを入力\n", style="dim")


class ProposalSender(Screen[Any]):
    """What the proposal screens share: send the proposal (from a thread worker) and report.

    A screen using it has ``claim_no``, ``obligor_no``, ``_busy`` and ``_error(text)``.
    """

    claim_no: str
    obligor_no: int | None
    _busy: bool

    def _error(self, text: str) -> None: ...

    def _send_proposal(self, kind: str, reason: str, data: dict[str, Any]) -> None:
        session = context(self).session
        try:
            d = decisions.propose(
                session, self.claim_no, kind, reason=reason, obligor_no=self.obligor_no, data=data
            )
        except Exception as exc:  # shown; nothing stored
            deliver(self, self._propose_failed, exc)
            return
        deliver(self, self._proposed, d.id, kind)

    def _propose_failed(self, exc: BaseException) -> None:
        self._busy = False
        self._error(f"起案していません: {failure('起案できませんでした', exc)}")

    def _proposed(self, decision_id: int, kind: str) -> None:
        self._busy = False
        label = DECISION_KINDS.get(kind, kind)
        self.notify(escape(f"{label}を起案しました（決裁 {decision_id}・{self.claim_no}）"))
        self.dismiss(decision_id)


class DecisionScreen(ProposalSender):
    """決裁の起案"""

    AUTO_FOCUS = None  # the step decides: an input, or none (number keys choose)

    BINDINGS = [
        Binding("escape", "back", "戻る", id="decision.back"),
        Binding("ctrl+s", "propose", "起案", id="decision.propose", priority=True),
        Binding("pageup", "scroll_body(-1)", "上へ", show=False, id="decision.page_up"),
        Binding("pagedown", "scroll_body(1)", "下へ", show=False, id="decision.page_down"),
    ]
    DEFAULT_CSS = """
    DecisionScreen #decision-body { height: 1fr; padding: 0 1; }
    DecisionScreen .decision-row { height: 1; padding: 0 1; }
    DecisionScreen .decision-row Label { width: 16; }
    DecisionScreen .decision-row Input {
        width: 1fr; height: 1; border: none; padding: 0 1; background: $boost;
    }
    DecisionScreen #decision-error { height: auto; padding: 0 1; color: $error; text-style: bold; }
    DecisionScreen #decision-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(
        self,
        claim_no: str,
        *,
        obligor_no: int | None = None,
        obligor_name: str = "",
        kind: str | None = None,
    ) -> None:
        super().__init__()
        self.claim_no = claim_no
        self.obligor_no = obligor_no
        self.obligor_name = obligor_name
        self.kind: str | None = None
        self.step = "kind"
        self.reasons: list[str] = []
        self.data: dict[str, Any] = {}
        self.evaluation: Any = None
        self.items: list[tuple[str, str]] = []
        self.item_index = 0
        self.attested: dict[str, dict[str, str]] = {}
        self._start_kind = kind
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Static(Text(f"決裁の起案 — {self.claim_no}"), classes="title", id="decision-title")
        with VerticalScroll(id="decision-body", can_focus=False):
            yield Static("", id="decision-text")
        with Horizontal(classes="decision-row", id="decision-row-1"):
            yield Label("", id="decision-label-1")
            yield Input(id="decision-input-1", compact=True)
        with Horizontal(classes="decision-row", id="decision-row-2"):
            yield Label("", id="decision-label-2")
            yield Input(id="decision-input-2", compact=True)
        yield Static("", id="decision-error")
        yield Static("", id="decision-keys")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        try:
            context(self).session.require_present("決裁の起案")  # say why before anything typed
        except KyushoError as exc:
            self.notify(escape(str(exc)), severity="warning")
            self.dismiss(None)
            return
        if self._start_kind is not None:
            self.choose_kind(self._start_kind)
        else:
            self.show_kinds()

    # ------------------------------------------------------------------ drawing helpers

    def _inputs(self, *labels: str, values: tuple[str, ...] = ()) -> None:
        """Show one input row per label (none: the rows are hidden); focus the first."""
        for n in (1, 2):
            row = self.query_one(f"#decision-row-{n}")
            field = self.query_one(f"#decision-input-{n}", Input)
            if n <= len(labels):
                row.display = True
                field.disabled = False
                self.query_one(f"#decision-label-{n}", Label).update(labels[n - 1])
                field.value = values[n - 1] if n <= len(values) else ""
            else:
                row.display = False
                field.disabled = True  # never focused while hidden (number keys choose)
                field.value = ""
        if labels:
            self.query_one("#decision-input-1", Input).focus()

    def _value(self, n: int) -> str:
        return self.query_one(f"#decision-input-{n}", Input).value.strip()

    def _body(self, text: Text) -> None:
        self.query_one("#decision-text", Static).update(text)
        self.query_one("#decision-body", VerticalScroll).scroll_home(animate=False)

    def _error(self, message: str) -> None:
        self.query_one("#decision-error", Static).update(Text(message))

    def _keys(self, text: str) -> None:
        self.query_one("#decision-keys", Static).update(Text(text))

    def _head(self) -> Text:
        head = Text()
        if self.kind is not None:
            head.append(f"種類 {DECISION_KINDS.get(self.kind, self.kind)}", style="bold")
            if self.obligor_no is not None and self.kind in NEEDS_OBLIGOR:
                head.append(f"  対象 関係人{self.obligor_no} {self.obligor_name}")
            head.append("\n")
        return head

    def action_scroll_body(self, direction: int) -> None:
        body = self.query_one("#decision-body", VerticalScroll)
        if direction < 0:
            body.scroll_page_up(animate=False)
        else:
            body.scroll_page_down(animate=False)

    # ------------------------------------------------------------------ step 1: the kind

    def show_kinds(self) -> None:
        self.step, self.kind = "kind", None
        body = Text("決裁の種類を選んでください\n\n")
        for n, kind in enumerate(KIND_KEYS, 1):
            body.append(f" {n} ", style="bold reverse")
            body.append(f" {DECISION_KINDS[kind]}")
            if kind in NEEDS_OBLIGOR:
                body.append("（関係人タブで選んだ保証人）", style="dim")
            body.append("\n")
        self._body(body)
        self._inputs()
        self._error("")
        self._keys(f"1〜{len(KIND_KEYS)} 種類を選ぶ  Esc やめる")

    def choose_kind(self, kind: str) -> None:
        if kind in NEEDS_OBLIGOR and self.obligor_no is None:
            self._error(
                "免除の対象の保証人を、関係人タブ（1）でカーソルを合わせてから d で選んでください"
            )
            return
        if kind == "gl_release":
            self.open_gl()
            return
        if kind == "waiver":
            self.open_waiver()
            return
        self.kind = kind
        self.data = {}
        self.reasons = []
        self.show_inputs()

    def open_gl(self) -> None:
        """The GL settlement has its own screen; its proposal closes this one too."""
        from screens.gl import GLScreen

        assert self.obligor_no is not None
        self.app.push_screen(
            GLScreen(self.claim_no, obligor_no=self.obligor_no, obligor_name=self.obligor_name),
            self._gl_closed,
        )

    def open_waiver(self) -> None:
        """求償権放棄 starts from its case (municipalities, walk-through, steps): its screen."""
        from screens.waiver import WaiverScreen

        self.app.push_screen(WaiverScreen(self.claim_no), self._waiver_closed)

    def _waiver_closed(self, decision_id: int | None) -> None:
        if decision_id is not None or self._start_kind == "waiver":
            self.dismiss(decision_id)

    def _gl_closed(self, decision_id: int | None) -> None:
        if decision_id is not None or self._start_kind == "gl_release":
            self.dismiss(decision_id)

    def on_key(self, event: events.Key) -> None:
        """Number keys choose the kind (step 1) or toggle a suspension reason (step 2)."""
        if self._busy:
            return
        if self.step == "kind" and event.character and event.character.isdigit():
            n = int(event.character)
            if 1 <= n <= len(KIND_KEYS):
                event.stop()
                self._error("")
                self.choose_kind(KIND_KEYS[n - 1])
        elif self.step == "reasons":
            keys = list(SUSPENSION_REASONS)
            if event.character and event.character.isdigit() and 1 <= int(event.character) <= 7:
                event.stop()
                key = keys[int(event.character) - 1]
                if key in self.reasons:
                    self.reasons.remove(key)
                else:
                    self.reasons.append(key)
                self._error("")
                self.show_reasons()
            elif event.key == "enter":
                event.stop()
                self.next_step()
        elif self.step in ("facts",) and event.key == "enter":
            event.stop()
            self.next_step()

    # ------------------------------------------------------------------ step 2: the inputs

    def show_inputs(self) -> None:
        if self.kind == "suspension":
            self.show_reasons()
        elif self.kind in NEEDS_OBLIGOR:
            self.step = "inputs"
            body = self._head()
            body.append(
                "\n保証人が一度に支払う一部弁済額を入力してください。"
                "免除額（保証人の責任残高 − 一部弁済額）は計算されます（入力しません）。\n"
            )
            self._body(body)
            payment = self.data.get("payment")
            self._inputs("一部弁済額", values=(str(payment) if payment else "",))
            self._keys("Enter 次へ（計算結果）  Esc 戻る")
        elif self.kind == "damages_waiver":
            self.step = "inputs"
            body = self._head()
            body.append("\n減免する損害金の額を入力してください（未払損害金の範囲で）。\n")
            self._body(body)
            amount = self.data.get("amount")
            self._inputs("減免額", values=(str(amount) if amount else "",))
            self._keys("Enter 次へ（計算結果）  Esc 戻る")
        else:  # reactivation, write_off: nothing to enter
            self.evaluate()

    def show_reasons(self) -> None:
        self.step = "reasons"
        body = self._head()
        body.append("\n停止理由（一つ以上。数字キーで選ぶ・外す）\n\n")
        for n, (key, label) in enumerate(SUSPENSION_REASONS.items(), 1):
            mark = "[x]" if key in self.reasons else "[ ]"
            body.append(f" {n} {mark} {label}\n", style="bold" if key in self.reasons else "")
        self._body(body)
        self._inputs()
        self._keys("1〜7 選ぶ・外す  Enter 次へ（計算結果）  Esc 戻る")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.step == "attest" and event.input.id == "decision-input-1":
            self.query_one("#decision-input-2", Input).focus()
            return
        self.next_step()

    def next_step(self) -> None:
        """Enter: validate what this step asked for and show the next one."""
        if self._busy:
            return
        self._error("")
        try:
            if self.step == "reasons":
                if not self.reasons:
                    raise InputError("停止理由", "一つ以上選んでください（数字キー）")
                self.data = {"reasons": [r for r in SUSPENSION_REASONS if r in self.reasons]}
                self.evaluate()
            elif self.step == "inputs":
                if self.kind == "damages_waiver":
                    self.data = {"amount": parse_amount(self._value(1), "減免額")}
                else:
                    self.data = {"payment": parse_amount(self._value(1), "一部弁済額")}
                self.evaluate()
            elif self.step == "facts":
                self.item_index = 0
                if self.items:
                    self.show_item()
                else:
                    self.show_summary(self.evaluation)
            elif self.step == "attest":
                self.save_item()
                if self.item_index + 1 < len(self.items):
                    self.item_index += 1
                    self.show_item()
                else:
                    self.evaluate(then="summary")
            elif self.step == "summary":
                self.action_propose()
        except InputError as exc:
            self._error(str(exc))

    # ------------------------------------------------------------------ step 3: the facts

    def _payload(self) -> dict[str, Any]:
        data = dict(self.data)
        if self.attested:
            data["attested"] = {k: dict(v) for k, v in self.attested.items()}
        return data

    def evaluate(self, then: str = "facts") -> None:
        """Compute the facts (with the answers so far: a 資力調査 date is checked too), then
        show the facts or the summary."""
        self._busy = True
        self._keys("計算中…")
        self._evaluate(self.kind, self._payload(), then)

    @work(thread=True, exclusive=True, group="decision-evaluate", exit_on_error=False)
    def _evaluate(self, kind: str, data: dict[str, Any], then: str) -> None:
        session = context(self).session
        try:
            ev = decisions.evaluate(
                session, self.claim_no, kind, obligor_no=self.obligor_no, data=data
            )
        except Exception as exc:  # shown on the screen; nothing stored
            deliver(self, self._evaluate_failed, kind, exc)
            return
        if then == "summary":
            deliver(self, self.show_summary, ev)
        else:
            deliver(self, self.show_facts, ev)

    def _evaluate_failed(self, kind: str, exc: BaseException) -> None:
        """Say why on the step the user is on (a wrong amount: fix it and Enter again)."""
        self._busy = False
        message = failure("計算できませんでした", exc)
        if self.step in ("reasons", "inputs", "attest"):
            self._keys("Enter 次へ  Esc 戻る")
        elif self._start_kind is None:
            self.show_kinds()
        else:
            self._keys("Esc 戻る")
        self._error(message)

    def show_facts(self, ev: Any) -> None:
        self._busy = False
        self.step = "facts"
        self.evaluation = ev
        self.items = list(ev.items)
        self.attested = {k: v for k, v in self.attested.items() if k in dict(self.items)}
        body = self._head()
        body.append_text(self._facts_text())
        if self.items:
            body.append(f"\n次に確認事項 {len(self.items)} 件を一件ずつ答えます\n", style="dim")
        self._body(body)
        self._inputs()
        self._keys("Enter 次へ  PgUp/PgDn スクロール  Esc 戻る")

    def _facts_text(self) -> Text:
        ev = self.evaluation
        body = Text()
        if self.kind == "suspension":
            labels = [SUSPENSION_REASONS[r] for r in self.data.get("reasons", [])]
            body.append(f"停止理由 {'・'.join(labels)}\n")
        lines = computed_lines(ev.computed, context(self).date_style())
        if lines:
            body.append("計算結果\n", style="bold")
            for label, value in lines:
                body.append(f"  {label} {value}\n")
        body.append("確認（データから）\n", style="bold")
        if not ev.checks:
            body.append("  （なし）\n")
        for c in ev.checks:
            check_text(body, c.label, c.ok, c.detail)
        failing = [c for c in ev.checks if not c.ok]
        if failing:
            body.append(
                f"満たしていない確認が {len(failing)} 件あります（承認には理由の記録が必要）\n",
                style="bold red",
            )
        return body

    # ------------------------------------------------------------------ step 4: attested items

    def show_item(self) -> None:
        self.step = "attest"
        key, label = self.items[self.item_index]
        body = self._head()
        attest_heading(
            body, self.item_index, len(self.items), label, key in DATE_ITEMS, "例 確認済 / 該当なし"
        )
        self._body(body)
        old = self.attested.get(key, {})
        self._inputs(
            "回答（日付）" if key in DATE_ITEMS else "回答",
            "メモ",
            values=(old.get("answer", ""), old.get("note", "")),
        )
        self._keys("Enter 次へ  Esc 前の項目へ")

    def save_item(self) -> None:
        key, label = self.items[self.item_index]
        self.attested[key] = {
            "answer": parse_answer(key, label, self._value(1)),
            "note": self._value(2),
        }

    # ------------------------------------------------------------------ step 5: summary

    def show_summary(self, ev: Any) -> None:
        self._busy = False
        self.step = "summary"
        self.evaluation = ev
        body = self._head()
        body.append_text(self._facts_text())
        attested_summary(body, self.items, self.attested)
        self._body(body)
        self._inputs("起案の理由")
        self._keys("Ctrl+S 起案  PgUp/PgDn スクロール  Esc 戻る")

    def action_propose(self) -> None:
        if self.step != "summary":
            self._error("最後の確認（起案の理由）まで進んでから Ctrl+S で起案します")
            return
        if self._busy:
            return
        reason = self._value(1)
        if not reason:
            self._error("起案の理由を入力してください")
            return
        self._busy = True
        self._propose(self.kind, reason, self._payload())

    @work(thread=True, exclusive=True, group="decision-propose", exit_on_error=False)
    def _propose(self, kind: str, reason: str, data: dict[str, Any]) -> None:
        self._send_proposal(kind, reason, data)

    # ------------------------------------------------------------------ back

    def action_back(self) -> None:
        """Esc: one step back (what was entered is kept); from the first step, leave."""
        if self._busy:
            return
        self._error("")
        if self.step == "kind" or (self.step == "reasons" and self._start_kind):
            self.dismiss(None)
        elif self.step in ("reasons", "inputs"):
            self.show_kinds()
        elif self.step == "facts":
            if self.kind in ("suspension", "damages_waiver") or self.kind in NEEDS_OBLIGOR:
                self.show_inputs()
            elif self._start_kind:
                self.dismiss(None)
            else:
                self.show_kinds()
        elif self.step == "attest":
            if self.item_index > 0:
                self.item_index -= 1
                self.show_item()
            else:
                self.show_facts(self.evaluation)
        elif self.step == "summary":
            if self.items:
                self.item_index = len(self.items) - 1
                self.show_item()
            else:
                self.show_facts(self.evaluation)
        else:  # computing: nothing to go back to yet
            self.dismiss(None)
