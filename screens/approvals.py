"""The approvals inbox (承認待ち) and one decision in full, with approve / reject / withdraw.

The inbox lists what awaits this user (proposed, not theirs, their role may approve it); a
toggle shows every pending proposal (the proposer's own, to withdraw). A decision is shown as
frozen at proposal: the computed figures and checks, the attested items with their notes.
Approval refused for failing checks (``ApprovalRefused``) lists the failures and asks for an
override reason; approving with it records the override. Every write runs in a thread
worker through a FormScreen, so a refusal is shown in the form and nothing is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from kyusho.rules.dates import format_date, format_datetime
from kyusho.services import decisions, printing
from kyusho.services.staff import list_staff
from kyusho.vocab import DECISION_KINDS, DECISION_STATUSES
from screens.context import context, deliver, failure, watch_as_of
from screens.decision import check_text, computed_lines
from screens.form import Field, FormScreen, FormSpec
from screens.live import LiveRefreshMixin
from screens.widgets import KeyBar, ListTable, StatusLine

COLUMNS = (
    ("番号", 4),
    ("種類", 14),
    ("求償権番号", 11),
    ("起案者", 12),
    ("起案日", 10),
    ("理由", 20),
)


def _stamp(value: Any) -> Any:
    """A stored timestamp as a datetime where it reads as one (the text itself otherwise)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _when(value: Any, style: str) -> str:
    if value is None or value == "":
        return ""
    value = _stamp(value)
    return format_datetime(value, style) if isinstance(value, datetime) else str(value)


def _day(value: Any, style: str) -> str:
    if value is None or value == "":
        return ""
    value = _stamp(value)
    if isinstance(value, str):
        return value[:10]
    return format_date(value.date() if isinstance(value, datetime) else value, style)


def _staff_names(session) -> dict[str, str]:
    try:
        return {s.login: s.name for s in list_staff(session)}
    except Exception:  # names are a nicety: logins are shown instead
        return {}


class ApprovalsScreen(LiveRefreshMixin, Screen[None]):
    """承認待ち"""

    BINDINGS = [
        Binding("enter", "open", "開く", id="approvals.open", priority=True),
        Binding("a", "toggle_all", "承認待ち/起案中すべて", id="approvals.toggle_all"),
        Binding("r,f5", "reload", "再読込", id="approvals.reload"),
        Binding("escape", "back", "戻る", id="approvals.back"),
    ]
    DEFAULT_CSS = """
    ApprovalsScreen #approvals-detail { height: 2; padding: 0 1; background: $boost; }
    """

    def __init__(self, claim_no: str | None = None) -> None:
        super().__init__()
        self.claim_no = claim_no
        self.all_pending = False
        self.rows: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self._shown = False

    def compose(self) -> ComposeResult:
        yield Static("承認待ち", classes="title", id="approvals-title")
        yield ListTable(id="approvals-table")
        yield Static("", id="approvals-detail")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        table.loading = True
        table.focus()
        self.reload()
        self.start_live_refresh()
        watch_as_of(self, lambda _: self.reload())

    def on_screen_resume(self) -> None:
        if self._shown:
            self.reload()  # back from a decision: what was approved has left

    def on_data_changed(self) -> None:
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_toggle_all(self) -> None:
        self.all_pending = not self.all_pending
        self.reload()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    @work(thread=True, exclusive=True, group="approvals", exit_on_error=False)
    def reload(self) -> None:
        session = context(self).session
        try:
            if self.all_pending:
                found = decisions.list_decisions(session, pending=True, claim_no=self.claim_no)
            else:
                found = decisions.list_decisions(
                    session, pending=True, claim_no=self.claim_no, awaiting_me=True
                )
            rows = [decisions.decision_json(d) for d in found]
            names = _staff_names(session)
        except Exception as exc:
            deliver(self, self._failed, failure("承認待ちを読み込めませんでした", exc))
            return
        deliver(self, self.show, rows, names)

    def _failed(self, message: str) -> None:
        self.query_one(DataTable).loading = False
        self.notify(escape(message), severity="error")

    def show(self, rows: list[dict[str, Any]], names: dict[str, str]) -> None:
        self.rows, self.names = rows, names
        style = context(self).date_style()
        table = self.query_one(DataTable)
        old = table.cursor_row
        table.clear()
        for r in rows:
            table.add_row(
                str(r["decision_id"]),
                r.get("kind_label") or DECISION_KINDS.get(r["kind"], r["kind"]),
                r["claim_no"],
                Text(names.get(r["proposer"], r["proposer"])),
                _day(r.get("proposed_at"), style),
                Text(r.get("reason") or ""),
                key=str(r["decision_id"]),
            )
        table.loading = False
        self._shown = True
        if rows:
            table.move_cursor(row=min(max(old, 0), len(rows) - 1), animate=False)
        what = "起案中すべて" if self.all_pending else "承認待ち"
        where = f"（{self.claim_no}）" if self.claim_no else ""
        self.query_one("#approvals-title", Static).update(Text(f"{what}{where} {len(rows)}件"))
        self._show_detail()

    def _current(self) -> dict[str, Any] | None:
        table = self.query_one(DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        line = self.query_one("#approvals-detail", Static)
        r = self._current()
        if r is None:
            line.update(
                "承認を待つ決裁はありません" if not self.all_pending else "起案中の決裁はありません"
            )
            return
        kind = r.get("kind_label") or DECISION_KINDS.get(r["kind"], r["kind"])
        failing = [
            c.get("label") or k for k, c in (r.get("checks") or {}).items() if not c.get("ok")
        ]
        text = Text(
            f"決裁 {r['decision_id']} {kind} {r['claim_no']} 起案 "
            f"{self.names.get(r['proposer'], r['proposer'])}：{r.get('reason') or ''}"
        )
        text.append(
            "\n" + ("✗ " + "・".join(failing) if failing else "✓ 確認はすべて満たしています")
        )
        line.update(text)

    def action_open(self) -> None:
        r = self._current()
        if r is not None:
            self.app.push_screen(DecisionViewScreen(int(r["decision_id"]), r["claim_no"]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()


def decision_text(r: dict[str, Any], names: dict[str, str], style: str) -> Text:
    """Everything frozen at proposal, and what became of it, as one scrollable text."""

    def who(login: str | None) -> str:
        return names.get(login or "", login or "")

    body = Text()
    kind = r.get("kind_label") or DECISION_KINDS.get(r["kind"], r["kind"])
    status = r.get("status_label") or DECISION_STATUSES.get(r["status"], r["status"])
    body.append(f"{kind}  [{status}]\n", style="bold")
    body.append(f"求償権 {r['claim_no']}")
    if r.get("obligor_id") is not None:
        body.append(f"  対象 関係人{r['obligor_id']}")
        if r.get("obligor_name"):
            body.append(f" {r['obligor_name']}")
    body.append("\n")
    body.append(f"起案 {who(r.get('proposer'))} {_when(r.get('proposed_at'), style)}\n")
    body.append(f"理由 {r.get('reason') or ''}\n")
    if r.get("approver"):
        body.append(f"決裁 {who(r.get('approver'))} {_when(r.get('decided_at'), style)}\n")
    if r.get("override_reason"):
        body.append(f"オーバーライド理由 {r['override_reason']}\n", style="bold yellow")
    data = r.get("data") or {}
    reasons = data.get("reasons") if isinstance(data, dict) else None
    if reasons:
        from screens.decision import SUSPENSION_REASONS

        body.append(f"停止理由 {'・'.join(SUSPENSION_REASONS.get(x, x) for x in reasons)}\n")
    lines = computed_lines(r.get("computed") or {}, style)
    if lines:
        body.append("計算結果（起案時）\n", style="bold")
        for label, value in lines:
            body.append(f"  {label} {value}\n")
    body.append("確認（データから・起案時）\n", style="bold")
    checks = r.get("checks") or {}
    if not checks:
        body.append("  （なし）\n")
    for name, c in checks.items():
        check_text(body, c.get("label") or name, bool(c.get("ok")), c.get("detail") or "")
    attested = r.get("attested") or {}
    if attested:
        body.append("確認事項（起案者の確認）\n", style="bold")
        for key, a in attested.items():
            answer = a.get("answer") or "（未回答）"
            body.append(f"  {a.get('label') or key}: {answer}")
            if a.get("note"):
                body.append(f"  メモ {a['note']}", style="dim")
            body.append("\n")
    return body


class DecisionViewScreen(Screen[None]):
    """決裁の内容"""

    BINDINGS = [
        Binding("escape", "back", "戻る", id="decision_view.back"),
        Binding("a", "approve", "承認", id="decision_view.approve"),
        Binding("r", "reject", "否決", id="decision_view.reject"),
        Binding("w", "withdraw", "取下げ", id="decision_view.withdraw"),
        Binding("p", "print", "決裁書", id="decision_view.print"),
    ]
    DEFAULT_CSS = """
    DecisionViewScreen #decision-view-body { height: 1fr; padding: 0 1; }
    DecisionViewScreen #decision-view-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, decision_id: int, claim_no: str) -> None:
        super().__init__()
        self.decision_id = decision_id
        self.claim_no = claim_no
        self.record: dict[str, Any] | None = None
        self.names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text(f"決裁 {self.decision_id}"), classes="title", id="decision-view-title")
        with VerticalScroll(id="decision-view-body"):
            yield Static("読込中…", id="decision-view-text")
        yield Static("↑↓ PgUp PgDn スクロール", id="decision-view-keys")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#decision-view-body").focus()
        self.reload()

    @work(thread=True, exclusive=True, group="decision-view", exit_on_error=False)
    def reload(self) -> None:
        session = context(self).session
        try:
            found = decisions.list_decisions(session, claim_no=self.claim_no)
            d = next((x for x in found if x.id == self.decision_id), None)
            if d is None:
                raise LookupError(f"決裁 {self.decision_id} はありません")
            record = decisions.decision_json(d)
            names = _staff_names(session)
        except Exception as exc:
            deliver(
                self, self._failed, failure(f"決裁 {self.decision_id} を読み込めませんでした", exc)
            )
            return
        deliver(self, self.show, record, names)

    def _failed(self, message: str) -> None:
        self.query_one("#decision-view-text", Static).update(Text(message))

    def show(self, record: dict[str, Any], names: dict[str, str]) -> None:
        self.record, self.names = record, names
        style = context(self).date_style()
        kind = record.get("kind_label") or DECISION_KINDS.get(record["kind"], record["kind"])
        self.query_one("#decision-view-title", Static).update(
            Text(f"決裁 {self.decision_id} — {kind} {record['claim_no']}")
        )
        self.query_one("#decision-view-text", Static).update(decision_text(record, names, style))
        keys = "↑↓ PgUp PgDn スクロール  p 決裁書"
        if record["status"] == "proposed":
            keys += "  a 承認  r 否決  w 取下げ（起案者）"
        self.query_one("#decision-view-keys", Static).update(Text(keys))

    def action_back(self) -> None:
        self.app.pop_screen()

    def _pending(self) -> bool:
        if self.record is None:
            return False
        if self.record["status"] != "proposed":
            status = DECISION_STATUSES.get(self.record["status"], self.record["status"])
            self.notify(f"この決裁はすでに「{status}」です", severity="warning")
            return False
        try:
            context(self).session.require_present("決裁")
        except Exception as exc:
            self.notify(escape(str(exc)), severity="warning")
            return False
        return True

    def _summary(self) -> str:
        assert self.record is not None
        r = self.record
        kind = r.get("kind_label") or DECISION_KINDS.get(r["kind"], r["kind"])
        return f"決裁 {r['decision_id']} {kind} {r['claim_no']}"

    def action_approve(self) -> None:
        if not self._pending():
            return
        session = context(self).session
        decision_id = self.decision_id

        def save(_: dict[str, Any]) -> Any:
            try:
                decisions.approve(session, decision_id)
            except decisions.ApprovalRefused as exc:
                return {"refused": list(exc.failures)}
            return {"approved": True}

        spec = FormSpec(
            title=f"{self._summary()} を承認",
            fields=[],
            save=save,
            save_label="承認",
            note="Ctrl+S で承認します。承認すると効果（状態の変更など）がすぐに記録されます。",
        )
        self.app.push_screen(FormScreen(spec), self._after_approve)

    def _after_approve(self, result: Any) -> None:
        if isinstance(result, dict) and result.get("refused"):
            self._ask_override(result["refused"])
            return
        if result:
            self.notify(escape(f"{self._summary()} を承認しました"))
        self.reload()

    def _ask_override(self, failures: list[str]) -> None:
        session = context(self).session
        decision_id = self.decision_id

        def save(v: dict[str, Any]) -> Any:
            decisions.approve(session, decision_id, override_reason=v["override"])
            return {"approved": True, "override": True}

        spec = FormSpec(
            title=f"{self._summary()}: 満たしていない確認があります",
            fields=[Field("override", "オーバーライド理由")],
            save=save,
            save_label="理由を記録して承認",
            note="\n".join(["・" + f for f in failures])
            + "\nこのまま承認するには理由を記録します（決裁と年度報告に残ります）。",
        )
        self.app.push_screen(FormScreen(spec), self._after_override)

    def _after_override(self, result: Any) -> None:
        if result:
            self.notify(escape(f"{self._summary()} を理由を記録して承認しました"))
        self.reload()

    def _close_form(self, verb: str, call) -> None:
        if not self._pending():
            return
        session = context(self).session
        decision_id = self.decision_id

        def save(v: dict[str, Any]) -> Any:
            call(session, decision_id, v["reason"])
            return True

        spec = FormSpec(
            title=f"{self._summary()} を{verb}",
            fields=[Field("reason", f"{verb}の理由")],
            save=save,
            save_label=verb,
        )
        self.app.push_screen(
            FormScreen(spec),
            lambda r: (
                self.notify(escape(f"{self._summary()} を{verb}しました")) if r else None,
                self.reload(),
            ),
        )

    def action_print(self) -> None:
        """p: write the 決裁書 to a file (HTML, Markdown or PDF by the name's extension)."""
        session = context(self).session
        decision_id = self.decision_id

        def save(v: dict[str, Any]) -> Any:
            return printing.write_decision(session, decision_id, v["dest"])

        spec = FormSpec(
            title=f"決裁書 {decision_id} を書き出す",
            note="拡張子で形式が決まります: .html / .md / .pdf（PDF は日本語フォントがある場合）。"
            "同じ名前のファイルがあるときは書き出しません。",
            fields=[Field("dest", "出力先", default=f"~/決裁書-{decision_id}.html")],
            save=save,
            save_label="書き出す",
        )
        self.app.push_screen(
            FormScreen(spec),
            lambda path: self.notify(escape(f"{path} に書き出しました")) if path else None,
        )

    def action_reject(self) -> None:
        self._close_form("否決", decisions.reject)

    def action_withdraw(self) -> None:
        if self.record is not None and self.record["proposer"] != context(self).session.login:
            if context(self).session.role != "admin":
                self.notify("取下げは起案者（または管理者）だけができます", severity="warning")
                return
        self._close_form("取下げ", decisions.withdraw)
