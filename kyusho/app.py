"""The Textual application: screen modes, global bindings, status line, command palette.

The only module of the core package that imports Textual; the CLI imports it only to open the
TUI. Database work happens in thread workers (in the screens, and here to open a claim).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable
from datetime import date
from functools import partial
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import ThemeProvider

import screens
from kyusho.errors import InputError
from kyusho.services.claims import ClaimQuery, ClaimView, claim_view, search_claims
from kyusho.services.session import Session
from screens.approvals import ApprovalsScreen
from screens.claim_detail import ClaimDetailScreen
from screens.claim_list import ClaimListScreen
from screens.context import deliver, failure
from screens.form import FormScreen
from screens.help import HelpScreen
from screens.home import HomeScreen
from screens.report import ReportScreen


class ClaimSearchProvider(Provider):
    """Command palette: find a claim by number, name or kana and open it."""

    async def search(self, query: str) -> Hits:
        query = query.strip()
        if not query:
            return
        # one line per claim (the search returns each claim once, however many obligors
        # matched), with the obligor the name or kana matched: 「保 佐藤 花子」
        rows = await asyncio.to_thread(search_claims, ClaimQuery(text=query), 0, 20)
        for row in rows:
            label = f"{row.claim_no}  {row.debtor_name}"
            if row.matched_label:
                label += f"  （一致: {row.matched_label}）"
            yield Hit(
                1.0,
                Text(label),  # names are plain text, never markup
                partial(self.app.open_claim, row.claim_no),
                text=label,
                help="求償権を開く",
            )

    async def discover(self) -> Hits:
        yield DiscoveryHit(
            "求償権一覧を開く", partial(self.app.run_action, "go('claims')"), text="求償権一覧"
        )
        yield DiscoveryHit(
            "今日の仕事（ホーム）", partial(self.app.run_action, "go('home')"), text="ホーム"
        )
        yield DiscoveryHit(
            "承認待ちの決裁", partial(self.app.run_action, "go('approvals')"), text="承認待ち"
        )
        yield DiscoveryHit("キー操作の一覧", self.app.action_help, text="ヘルプ")


class KyushoApp(App[None]):
    """kyusho: 求償権管理."""

    TITLE = "kyusho 求償権管理"
    CSS_PATH = Path(screens.__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {ClaimSearchProvider}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    MODES = {
        "home": HomeScreen,
        "claims": ClaimListScreen,
        "report": ReportScreen,
        "approvals": ApprovalsScreen,
    }
    DEFAULT_MODE = "home"
    BINDINGS = [
        Binding("f1,question_mark", "help", "ヘルプ", id="app.help"),
        Binding("f2", "go('home')", "ホーム", id="app.home"),
        Binding("f3", "go('claims')", "一覧", id="app.claims"),
        Binding("f4", "as_of", "時点", id="app.as_of"),
        Binding("f6", "go('report')", "年度報告", id="app.report"),
        Binding("f7", "go('approvals')", "承認待ち", id="app.approvals"),
        Binding("ctrl+q", "quit", "終了", id="app.quit", priority=True),
    ]

    # The date the whole UI shows (today unless --as-of or F4 chose a past date). Screens and
    # the status line watch it; always_update: going back to today must reload too.
    as_of: reactive[date] = reactive(date.min, always_update=True, init=False)

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._detail_screen: ClaimDetailScreen | None = None  # kept between opens
        self.set_reactive(KyushoApp.as_of, session.view_date())
        self.animation_level = "none"
        if session.config.theme not in self.available_themes:
            raise InputError(
                "display.theme",
                f"テーマ {session.config.theme!r} はありません（使えるテーマ: {', '.join(sorted(self.available_themes))}）",
            )
        self.theme = session.config.theme
        if session.config.keymap:
            self.set_keymap(session.config.keymap)

    def on_mount(self) -> None:
        self.call_after_refresh(self._settle)

    def _settle(self) -> None:
        """Objects made while starting (modules, styles, the first screens) live as long as
        the app: moved out of the cyclic collector's way, so that its full collections (every
        few claims opened) need not walk them: 20-35 ms each at scale L before, a claim's
        open taking that much longer when one fell in it."""
        gc.collect()
        gc.freeze()

    def date_style(self) -> str:
        return self.session.config.dates

    def open_claim(self, claim_no: str, obligor_no: int | None = None) -> None:
        """Read the claim in a thread worker, then show it.

        The screen is built only once the claim is read: a read running while the UI thread
        builds the screen waits for the GIL and takes many times longer. A second open
        supersedes one still reading.
        """
        self._read_claim(claim_no, self.as_of, obligor_no)

    @work(thread=True, exclusive=True, group="open-claim", exit_on_error=False)
    def _read_claim(self, claim_no: str, as_of: date, obligor_no: int | None) -> None:
        try:
            view = claim_view(self.session, claim_no, as_of)
        except Exception as exc:  # shown as a message, never raised into the UI
            deliver(
                self,
                self.notify,
                failure(f"求償権 {claim_no} を読み込めませんでした", exc),
                severity="error",
            )
            return
        deliver(self, self._claim_read, claim_no, view, obligor_no)

    def _claim_read(self, claim_no: str, view: ClaimView, obligor_no: int | None) -> None:
        """Show the claim read. The detail screen is built once and kept (installed): the next
        claim opened is shown in it, unless it is still on the stack (opened from a screen
        above it), when a new one is built for the occasion."""
        kept = self._detail_screen
        if kept is not None and kept.is_mounted and not self._stacked(kept):
            kept.load(claim_no, view, obligor_no)
            self.push_screen(kept)
            return
        screen = ClaimDetailScreen(claim_no, view=view, obligor_no=obligor_no)
        if kept is None:
            self.install_screen(screen, name="claim-detail")
            self._detail_screen = screen
        self.push_screen(screen)

    def _stacked(self, screen: Screen) -> bool:
        """Whether ``screen`` is on the stack of any mode (``screen_stack`` is the current
        mode's only)."""
        stacks = getattr(self, "_screen_stacks", {"": self.screen_stack})
        return any(screen in stack for stack in stacks.values())

    def action_as_of(self) -> None:
        from screens.form import FormScreen
        from screens.forms import as_of_form

        self.push_screen(FormScreen(as_of_form(self.session)), self._set_as_of)

    def _set_as_of(self, result) -> None:
        if result is None:
            return
        self.session.view_as_of = None if result == date.min else result
        self.as_of = self.session.view_date()  # the status line and the screens watch it

    async def action_go(self, mode: str) -> None:
        """Show the mode's own screen (F2 home, F3 list, F6 report, F7 approvals), never a
        claim left open.

        A claim opened from a mode is pushed on that mode's stack; switching back to the mode
        would show that claim again, so the screens on top of the mode's own are closed. A form
        keeps the key: what was typed must be saved or cancelled first.
        """
        if any(isinstance(s, FormScreen) for s in self.screen_stack):
            return
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        if self.current_mode != mode:
            await self.switch_mode(mode)
        while len(self.screen_stack) > 1:
            await self.pop_screen()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # ------------------------------------------------------------------ command palette

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(
                CommandPalette(
                    placeholder="求償権番号・氏名・カナ、またはコマンドを入力…",
                    id="--command-palette",
                )
            )

    def search_themes(self) -> None:
        self.push_screen(CommandPalette(providers=[ThemeProvider], placeholder="テーマを検索…"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands, in Japanese (its English ones are not yielded)."""
        yield SystemCommand("テーマ", "画面の配色を変える", self.action_change_theme)
        yield SystemCommand("終了", "kyusho を終了する", self.action_quit)
        yield SystemCommand("キー操作", "この画面のキー操作の一覧を開く", self.action_help)
        if screen.maximized is not None:
            yield SystemCommand("元の大きさ", "最大化した表示を元に戻す", screen.action_minimize)
        elif screen.focused is not None and screen.focused.allow_maximize:
            yield SystemCommand(
                "最大化", "選択中の表を画面いっぱいに表示する", screen.action_maximize
            )
        yield SystemCommand(
            "画面の保存",
            "今の画面を SVG ファイルに保存する（スクリーンショット）",
            lambda: self.set_timer(0.1, self.deliver_screenshot),
        )
