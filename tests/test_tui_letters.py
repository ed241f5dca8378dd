"""Letters from the TUI (issue 18 point 3): l on a claim's obligor or on worklist rows → kind and
date → preview → file → a separate confirmation that shows each clock before and after, flags a
demand that has no effect (民法150条2項), and records the contacts and demands."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from kyusho.app import KyushoApp
from kyusho.rules.dates import format_date
from kyusho.services import letters
from kyusho.services.claims import claim_view
from kyusho.services.worklist import worklist
from screens.claim_detail import ClaimDetailScreen
from screens.home import HomeScreen
from screens.letters import LetterRecordScreen, LetterScreen, kind_names
from tests.conftest import TODAY, make_session
from tests.test_tui import SIZE, settle

FIRST_DEMAND = date(2026, 10, 1)  # a demand whose six months still run on TODAY


def _app(path: Path) -> KyushoApp:
    """No live-refresh poll during a flow or a snapshot (a reload mid-capture is flaky)."""
    session = make_session(path)
    session.config = replace(session.config, refresh_seconds=600)
    return KyushoApp(session)


def _moving_alerts(path: Path, n: int) -> list[tuple[str, int]]:
    """``n`` obligors on the worklist's limitation alerts whose clock a 催告書 today moves."""
    session = make_session(path)
    pairs = list(
        dict.fromkeys(
            (i.claim_no, i.obligor_no)
            for i in worklist(session, all_staff=True)
            if i.kind == "limitation" and i.obligor_no is not None
        )
    )
    found = [
        (e.claim_no, e.obligor_no)
        for e in letters.effects(session, "demand", pairs, TODAY)
        if not e.no_effect and e.completes_before != e.completes_after
    ]
    assert len(found) >= n, "the demo has too few obligors a demand would help"
    return found[:n]


def _completes_on(path: Path, claim_no: str, obligor_no: int) -> date | None:
    view = claim_view(make_session(path), claim_no)
    ov = next(o for o in view.obligors if o.row.obligor_no == obligor_no)
    assert ov.clock is not None
    return ov.clock.completes_on


def _demands(path: Path, claim_no: str, obligor_no: int) -> list[date]:
    view = claim_view(make_session(path), claim_no)
    obligor_id = next(o.row.id for o in view.obligors if o.row.obligor_no == obligor_no)
    return [
        e.date
        for e in view.events
        if e.kind == "demand" and e.obligor_id == obligor_id and not e.cancelled
    ]


def _letter_contacts(path: Path, claim_no: str) -> int:
    view = claim_view(make_session(path), claim_no)
    return sum(1 for c in view.contacts if c.channel == "letter")


def _kind_key(kind: str) -> str:
    return str(list(kind_names()).index(kind) + 1)


def _body(screen: LetterScreen) -> str:
    return str(screen.query_one("#letter-text", Static).content)


async def _through_to_record(pilot: Pilot[Any], dest: Path) -> tuple[LetterRecordScreen, str]:
    """On the letter screen: 催告書, today's date, the preview, the file, then s; the
    confirmation screen and the preview's text."""
    screen = pilot.app.screen
    assert isinstance(screen, LetterScreen)
    await pilot.press(_kind_key("demand"))
    assert screen.step == "date"
    assert screen.query_one(Input).value == format_date(TODAY, pilot.app.date_style())
    await pilot.press("enter")  # today's date as offered
    await settle(pilot)
    assert screen.step == "preview", str(screen.query_one("#letter-error", Static).content)
    preview = _body(screen)
    screen.query_one(Input).value = str(dest)
    await pilot.press("enter")
    await settle(pilot)
    assert screen.step == "written", str(screen.query_one("#letter-error", Static).content)
    assert dest.exists()
    await pilot.press("s")
    await settle(pilot)
    record = pilot.app.screen
    assert isinstance(record, LetterRecordScreen)
    return record, preview


def _rows(record: LetterRecordScreen) -> list[list[str]]:
    table = record.query_one(DataTable)
    return [
        [getattr(c, "plain", str(c)) for c in table.get_row_at(i)] for i in range(table.row_count)
    ]


async def test_demand_from_a_claim_moves_the_clock_shown(demo_path, tmp_path):
    """l on the obligor under the cursor: the preview names them, the file is written, the
    confirmation shows the clock before and after, and Ctrl+S records a contact (文書) and a
    demand; the claim shows the new completion date."""
    (claim_no, obligor_no) = _moving_alerts(demo_path, 1)[0]
    before = _completes_on(demo_path, claim_no, obligor_no)
    contacts_before = _letter_contacts(demo_path, claim_no)
    dest = tmp_path / "催告書.md"
    app = _app(demo_path)
    style = app.date_style()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(claim_no, obligor_no=obligor_no)
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, ClaimDetailScreen)
        table = detail.query_one("#table-obligors", DataTable)
        assert table.get_row(str(obligor_no))[3] == format_date(before, style)
        name = next(o.row.name for o in detail.view.obligors if o.row.obligor_no == obligor_no)

        await pilot.press("l")
        await settle(pilot)
        letter = app.screen
        assert isinstance(letter, LetterScreen)
        assert letter.targets == [(claim_no, obligor_no)]
        record, preview = await _through_to_record(pilot, dest)
        assert name in preview and "1通" in preview  # the letter to this obligor
        assert name in dest.read_text(encoding="utf-8")

        rows = _rows(record)
        assert len(rows) == 1
        claim_cell, _who, shown_before, shown_after, verdict = rows[0]
        assert claim_cell == claim_no
        assert shown_before == format_date(before, style)
        assert shown_after != shown_before and "効果なし" not in verdict
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is detail  # the flow closed after recording
        after = _completes_on(demo_path, claim_no, obligor_no)
        assert after is not None and before is not None and after > before
        assert shown_after == format_date(after, style)
        assert table.get_row(str(obligor_no))[3] == format_date(after, style)
    assert _demands(demo_path, claim_no, obligor_no) == [TODAY]
    assert _letter_contacts(demo_path, claim_no) == contacts_before + 1


async def test_l_on_a_claim_outside_the_obligors_tab_says_where(demo_path):
    (claim_no, obligor_no) = _moving_alerts(demo_path, 1)[0]
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(claim_no, obligor_no=obligor_no)
        await settle(pilot)
        await pilot.press("2")  # the ledger tab
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        assert any("関係人タブ" in str(n.message) for n in app._notifications)


async def test_a_worklist_selection_gets_one_letter_each_alerts_first(demo_path, tmp_path):
    """Space selects worklist rows (marked *), l writes one file for all of them with the
    limitation alerts first, and recording moves every selected obligor's clock."""
    targets = _moving_alerts(demo_path, 2)
    befores = [_completes_on(demo_path, c, o) for c, o in targets]
    dest = tmp_path / "batch.html"
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        table = home.query_one(DataTable)
        # a row of another kind first (if the list has one), then the two alerts
        other = next(
            (
                i
                for i, it in enumerate(home.items)
                if it.kind != "limitation"
                and it.obligor_no is not None
                and not any(
                    x.kind == "limitation"
                    and (x.claim_no, x.obligor_no) == (it.claim_no, it.obligor_no)
                    for x in home.items
                )
            ),
            None,
        )
        picks = ([other] if other is not None else []) + [
            next(
                i
                for i, it in enumerate(home.items)
                if (it.claim_no, it.obligor_no) == pair and it.kind == "limitation"
            )
            for pair in reversed(targets)
        ]
        for row in picks:
            table.move_cursor(row=row, animate=False)
            await pilot.press("space")
        await pilot.pause()
        for row in picks:
            assert str(table.get_row_at(row)[2]).startswith("*")
        assert f"選択 {len(picks)}名" in str(home.query_one("#home-title", Static).content)
        await pilot.press("l")
        await settle(pilot)
        letter = app.screen
        assert isinstance(letter, LetterScreen)
        assert letter.targets[:2] == targets  # the alerts first, in the list's order
        assert len(letter.targets) == len(picks)
        if other is not None:
            it = home.items[other]
            assert letter.targets[2] == (it.claim_no, it.obligor_no)
        record, preview = await _through_to_record(pilot, dest)
        assert f"ほか{len(picks) - 1}通" in preview
        text = dest.read_text(encoding="utf-8")
        for claim_no, _ in targets:
            assert claim_no in text
        assert len(_rows(record)) == len(picks)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is home
        assert home.selected == set()
    for (claim_no, obligor_no), before in zip(targets, befores, strict=True):
        after = _completes_on(demo_path, claim_no, obligor_no)
        assert after is not None and before is not None and after > before
        assert _demands(demo_path, claim_no, obligor_no) == [TODAY]


async def test_a_second_demand_within_six_months_is_flagged_and_moves_nothing(demo_path):
    """The confirmation flags a demand made during a demand's suspension (民法150条2項)
    before it is recorded, and recording it leaves the clock where it was."""
    claim_no, obligor_no = _moving_alerts(demo_path, 1)[0]
    letters.record_sent(make_session(demo_path), "demand", [(claim_no, obligor_no)], FIRST_DEMAND)
    first = _completes_on(demo_path, claim_no, obligor_no)
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(LetterRecordScreen("demand", [(claim_no, obligor_no)], TODAY))
        await settle(pilot)
        record = app.screen
        assert isinstance(record, LetterRecordScreen)
        [[_, _, shown_before, shown_after, verdict]] = _rows(record)
        assert "効果なし" in verdict
        assert shown_before == shown_after
        summary = str(record.query_one("#record-summary", Static).content)
        assert "効果なし 1名" in summary and "150条2項" in summary
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert _completes_on(demo_path, claim_no, obligor_no) == first


async def test_an_existing_file_is_replaced_only_after_a_second_enter(demo_path, tmp_path):
    claim_no, obligor_no = _moving_alerts(demo_path, 1)[0]
    dest = tmp_path / "old.md"
    dest.write_text("前の文書", encoding="utf-8")
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(LetterScreen([(claim_no, obligor_no)]))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LetterScreen)
        await pilot.press(_kind_key("reminder"), "enter")
        await settle(pilot)
        screen.query_one(Input).value = str(dest)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.step == "preview"
        assert "すでにあります" in str(screen.query_one("#letter-error", Static).content)
        assert dest.read_text(encoding="utf-8") == "前の文書"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.step == "written"
    assert dest.read_text(encoding="utf-8") != "前の文書"


def test_snapshot_the_clock_before_and_after(demo_path, snap_compare):
    """The confirmation at 80x24: one obligor whose completion moves, one already under a
    demand's suspension (flagged: no effect)."""
    targets = _moving_alerts(demo_path, 2)
    letters.record_sent(make_session(demo_path), "demand", targets[1:], FIRST_DEMAND)

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.push_screen(LetterRecordScreen("demand", targets, TODAY))
        await settle(pilot)

    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=run)
