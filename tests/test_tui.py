"""Keyboard flows in the TUI (Pilot) and snapshots of the key screens at 80x24."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input
from textual.worker import WorkerCancelled, WorkerFailed

from kyusho.app import KyushoApp
from kyusho.rules.text import kana_key
from models.schema import Claim, Obligor
from screens.claim_detail import ClaimDetailScreen
from screens.claim_list import ClaimListScreen
from screens.help import HelpScreen
from screens.home import HomeScreen
from screens.virtual_table import VirtualTable

SIZE = (80, 24)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until thread workers have finished and their results were applied."""
    for _ in range(200):
        try:
            await pilot.app.workers.wait_for_complete()
        except (
            WorkerFailed,
            WorkerCancelled,
        ):  # screens report errors; newer work replaces cancelled
            pass
        await pilot.pause()
        tables = pilot.app.screen.query(VirtualTable)
        busy = any(t.is_busy or t.is_loading for t in tables)
        if not busy and all(w.is_finished for w in pilot.app.workers):
            return
    raise AssertionError("workers never settled")


def guarantor_kana_claim() -> tuple[str, str]:
    """A claim found only through a guarantor's kana (the search must look past obligor 1)."""
    for o in Obligor.select().where(Obligor.role == "joint_guarantor").order_by(Obligor.id):
        return o.claim.claim_no, o.kana
    raise AssertionError("demo has no guarantor")


async def test_demo_opens_on_the_worklist_with_limitation_alerts_first(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count > 0
        kinds = [table.get_row_at(i)[0] for i in range(table.row_count)]
        # limitation alerts come before every other kind of item
        first_other = next((i for i, k in enumerate(kinds) if k != "時効"), len(kinds))
        assert kinds[0] == "時効"
        assert "時効" not in kinds[first_other:]


async def test_find_a_claim_by_hiragana_open_it_and_come_back(demo_session):
    claim_no, kana = guarantor_kana_claim()
    surname = kana.split(" ")[0]
    hiragana = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in surname)
    assert kana_key(hiragana) == kana_key(surname)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ClaimListScreen)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        for ch in hiragana:
            await pilot.press(ch)
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one(VirtualTable)
        assert app.focused is table
        keys = [table.get_row(i)[0] for i in range(table.row_count)]
        assert claim_no in keys
        # every hit has an obligor with that kana
        for no in keys:
            claim = Claim.get(Claim.claim_no == no)
            assert any(o.kana_key.startswith(kana_key(surname)) for o in claim.obligors)
        table.move_cursor(keys.index(claim_no))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        assert app.screen.claim_no == claim_no
        obligors = app.screen.query_one("#table-obligors", DataTable)
        assert (
            obligors.row_count
            == Obligor.select().join(Claim).where(Claim.claim_no == claim_no).count()
        )
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ClaimListScreen)
        assert app.screen.query_one(VirtualTable).cursor_row_key == claim_no


async def test_command_palette_opens_a_claim_by_number(demo_session):
    claim_no = Claim.select().order_by(Claim.id.desc()).get().claim_no
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        for ch in claim_no:
            await pilot.press(ch)
        for _ in range(50):
            await pilot.pause(0.05)
            from textual.command import CommandList

            options = app.screen.query_one(CommandList)
            if options.option_count and claim_no in str(options.get_option_at_index(0).prompt):
                break
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        assert app.screen.claim_no == claim_no


async def test_help_lists_every_binding_of_the_screen_with_its_id(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        ids = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert {
            "claims.search",
            "claims.sort",
            "app.help",
            "app.quit",
            "vtable.cursor_bottom",
        } <= ids
        await pilot.press("escape")
        assert isinstance(app.screen, ClaimListScreen)


async def test_keymap_from_config_remaps_a_binding(demo_path):
    from dataclasses import replace

    from tests.conftest import make_session

    session = make_session(demo_path)
    session.config = replace(session.config, keymap={"app.claims": "f9"})
    app = KyushoApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, ClaimListScreen)


async def test_end_jumps_to_the_last_claim(demo_session):
    last = Claim.select().order_by(Claim.claim_no.desc()).get().claim_no
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        assert app.screen.query_one(VirtualTable).cursor_row_key == last


async def test_no_color_still_shows_the_cursor(demo_session, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.no_color
        await pilot.press("f3")
        await settle(pilot)
        table = app.screen.query_one(VirtualTable)
        line = table.render_line(1)
        assert any(seg.style and seg.style.reverse for seg in line)


def _snap_app(demo_path):
    """No live-refresh poll during a snapshot: a reload mid-capture would make it flaky."""
    from dataclasses import replace

    from tests.conftest import make_session

    session = make_session(demo_path)
    session.config = replace(session.config, refresh_seconds=600)
    return KyushoApp(session)


def test_snapshot_home(demo_path, snap_compare):
    async def ready(pilot):
        await settle(pilot)

    assert snap_compare(_snap_app(demo_path), terminal_size=SIZE, run_before=ready)


def test_snapshot_claim_detail(demo_path, snap_compare):
    async def open_claim(pilot):
        await settle(pilot)
        claim_no = (
            Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get().claim_no
        )
        pilot.app.open_claim(claim_no)
        await settle(pilot)

    assert snap_compare(_snap_app(demo_path), terminal_size=SIZE, run_before=open_claim)


@pytest.mark.parametrize("key", ["2", "3", "5", "6", "7"])
def test_snapshot_claim_detail_tabs(demo_path, snap_compare, key):
    """Every tab, each on a claim that has something to show there: 明細 (2) and 時効事由 (5)
    on one with both, 分割 (3), 決裁 (6) and 履歴 (7) on one with a plan, where a damages waiver
    is proposed first; 関係人 (1) is test_snapshot_claim_detail, 交渉 (4) is in
    test_tui_contacts."""

    async def open_tab(pilot):
        await settle(pilot)
        from kyusho.services import decisions
        from models.schema import LedgerEntry, LimitationEvent, Plan

        with_both = Claim.id.in_(LedgerEntry.select(LedgerEntry.claim)) & Claim.id.in_(
            LimitationEvent.select(LimitationEvent.claim)
        )
        with_plan = Claim.id.in_(Plan.select(Plan.claim)) & (Claim.status == "active")
        having = with_both if key in ("2", "5") else with_plan
        claim = Claim.select().where(having).order_by(Claim.claim_no).get()
        if key in ("6", "7"):
            decisions.propose(
                pilot.app.session,
                claim.claim_no,
                "damages_waiver",
                reason="分割弁済を継続する条件で損害金を減免",
                data={"amount": 100_000},
            )
        pilot.app.open_claim(claim.claim_no)
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)

    assert snap_compare(_snap_app(demo_path), terminal_size=SIZE, run_before=open_tab)


def test_keymap_ids_known_to_config_are_exactly_the_declared_bindings():
    """A [keymap] entry is checked against kyusho.keymap.BINDING_IDS without loading the UI."""
    from textual.binding import Binding

    import screens.approvals
    import screens.claim_detail
    import screens.claim_list
    import screens.contact_view
    import screens.decision
    import screens.form
    import screens.gl
    import screens.help
    import screens.home
    import screens.letters
    import screens.remittance
    import screens.report
    import screens.virtual_table
    import screens.waiver
    import screens.widgets
    from kyusho.keymap import BINDING_IDS

    classes = [
        KyushoApp,
        screens.home.HomeScreen,
        screens.claim_list.ClaimListScreen,
        screens.claim_detail.ClaimDetailScreen,
        screens.help.HelpScreen,
        screens.form.FormScreen,
        screens.form.FormSelect,
        screens.contact_view.ContactViewScreen,
        screens.decision.DecisionScreen,
        screens.approvals.ApprovalsScreen,
        screens.approvals.DecisionViewScreen,
        screens.remittance.RemittanceScreen,
        screens.gl.GLScreen,
        screens.letters.LetterScreen,
        screens.letters.LetterRecordScreen,
        screens.waiver.WaiverScreen,
        screens.report.ReportScreen,
        screens.virtual_table.VirtualTable,
        screens.widgets.ListTable,
    ]
    declared = {b.id for cls in classes for b in cls.BINDINGS if isinstance(b, Binding) and b.id}
    assert declared == BINDING_IDS


def test_blocks_read_from_the_end_equal_blocks_read_from_the_start(demo_session):
    """The back half of the list is read in reverse (fast jump to the end): same rows."""
    from kyusho.services.claims import SORTS, ClaimQuery, count_claims, search_claims

    for sort in SORTS:
        for text in ("", "サ"):
            q = ClaimQuery(text=text, sort=sort)
            total = count_claims(q)
            every = [r.claim_no for r in search_claims(q, 0, total + 5)]
            assert len(every) == total
            for offset in (0, total // 2, total // 2 + 1, total - 7, total - 1, total):
                got = [r.claim_no for r in search_claims(q, offset, 25, total=total)]
                assert got == every[offset : offset + 25], (sort, text, offset)


async def _search_claims(pilot, text: str = "サトウ") -> None:
    """The claim list searched by a surname's kana, the cursor on a guarantor's match."""
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("slash")
    for ch in text:
        await pilot.press(ch)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("down")
    await settle(pilot)


def test_snapshot_claim_list_during_a_search(demo_path, snap_compare):
    """The count with 件, the detail line naming the matched obligor (保 …), at 80x24."""
    assert snap_compare(_snap_app(demo_path), terminal_size=SIZE, run_before=_search_claims)


def test_snapshot_claim_list_search_at_120x40(demo_path, snap_compare):
    """Wider names and a column for the matched obligor."""
    assert snap_compare(_snap_app(demo_path), terminal_size=(120, 40), run_before=_search_claims)


def test_snapshot_receipt_form_with_a_refused_value(demo_path, snap_compare):
    """A date typed into the amount: the refusal, the field marked, the note wrapped."""

    async def refuse(pilot):
        await settle(pilot)
        claim_no = (
            Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get().claim_no
        )
        pilot.app.open_claim(claim_no)
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("enter")  # to the amount
        for ch in "R8.11.1":
            await pilot.press(ch)
        await pilot.press("ctrl+s")
        await settle(pilot)

    assert snap_compare(_snap_app(demo_path), terminal_size=SIZE, run_before=refuse)
