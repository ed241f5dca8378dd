"""Search says why: the obligor a name or kana search matched, the count, one line per claim;
and dialogs whose wrapped text never starts a line with 「。」."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.command import CommandList
from textual.geometry import Region
from textual.widgets import Static

from kyusho.app import KyushoApp
from kyusho.services import claims as C
from kyusho.services.claims import ClaimQuery, count_claims, search_claims
from models.schema import Claim, Obligor
from screens.claim_list import ClaimListScreen
from screens.form import FormScreen
from screens.help import HelpScreen
from screens.virtual_table import VirtualTable
from screens.widgets import NO_LINE_START, kinsoku_wrap
from tests.test_tui import SIZE, settle


def guarantor_only_match() -> tuple[Obligor, str]:
    """A guarantor whose surname kana no principal debtor of that claim shares."""
    for o in Obligor.select().where(Obligor.role == "joint_guarantor").order_by(Obligor.id):
        surname = o.kana.split(" ")[0]
        debtor = Obligor.get((Obligor.claim == o.claim) & (Obligor.obligor_no == 1))
        if not debtor.kana.startswith(surname):
            return o, surname
    raise AssertionError("demo has no such guarantor")


def test_a_kana_search_names_the_obligor_it_matched_once_per_claim(demo_session):
    guarantor, surname = guarantor_only_match()
    rows = search_claims(ClaimQuery(text=surname), 0, 500)
    assert len(rows) == count_claims(ClaimQuery(text=surname))
    assert len({r.claim_no for r in rows}) == len(rows)
    row = next(r for r in rows if r.claim_no == guarantor.claim.claim_no)
    first = (
        Obligor.select()
        .where((Obligor.claim == guarantor.claim) & Obligor.kana.startswith(surname))
        .order_by(Obligor.obligor_no)
        .first()
    )
    assert first.role == "joint_guarantor"
    assert row.matched == f"保 {first.name}"
    assert row.matched_label.startswith(f"保 {first.name}")
    # every row says which obligor matched; a number search names nobody
    assert all(r.matched for r in rows)
    [by_no] = search_claims(ClaimQuery(text=guarantor.claim.claim_no), 0, 5)
    assert by_no.matched == ""


def test_two_matching_obligors_give_one_row_that_counts_the_other(demo_session):
    claim = Claim.select().order_by(Claim.id).first()
    first = Obligor.get((Obligor.claim == claim) & (Obligor.obligor_no == 1))
    # a second obligor of the same claim with the same surname
    Obligor.update(
        name=first.name, name_key=first.name_key, kana=first.kana, kana_key=first.kana_key
    ).where((Obligor.claim == claim) & (Obligor.obligor_no == 2)).execute()
    rows = [r for r in search_claims(ClaimQuery(text=first.kana), 0, 500) if r.id == claim.id]
    assert len(rows) == 1
    assert rows[0].matched == f"主 {first.name}"
    assert rows[0].matched_label == f"主 {first.name} 他1名"


@pytest.mark.sqlite_only(reason="SQLite の実行計画・文の数を見るテスト")
def test_the_matched_obligors_of_a_page_are_read_through_the_claim_index(demo_session):
    db = demo_session.db
    q = Obligor.select(Obligor.claim, Obligor.role, Obligor.name).where(
        Obligor.claim.in_([1, 2, 3]) & C._name_match("さとう")
    )
    sql, params = q.sql()
    plan = " ".join(r[3] for r in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "USING INDEX obligor_claim_id_obligor_no" in plan
    assert "SCAN" not in plan


async def _search(app: KyushoApp, pilot, text: str) -> tuple[ClaimListScreen, VirtualTable]:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("slash")
    for ch in text:
        await pilot.press(ch)
    await pilot.press("enter")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ClaimListScreen)
    return screen, screen.query_one(VirtualTable)


async def test_the_list_says_how_many_claims_and_which_obligor_matched(demo_session):
    guarantor, surname = guarantor_only_match()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await _search(app, pilot, surname)
        title = str(screen.query_one("#claims-title", Static).content)
        assert f"{count_claims(ClaimQuery(text=surname)):,}件" in title
        keys = [table.get_row(i)[0] for i in range(table.row_count)]
        table.move_cursor(keys.index(guarantor.claim.claim_no))
        await settle(pilot)
        detail = str(screen.query_one("#claim-row-detail", Static).content)
        row = next(
            r
            for r in search_claims(ClaimQuery(text=surname), 0, 500)
            if r.claim_no == guarantor.claim.claim_no
        )
        assert guarantor.claim.claim_no in detail
        assert guarantor.claim.debtor_name in detail  # the full name, never cut
        assert f"一致 {row.matched_label}" in detail
        assert row.matched.startswith("保 ")
        # the staff column is cut at 80; the detail line gives the full name
        assert "元金残高" in detail and "円" in detail


async def test_at_120_columns_the_names_widen_and_the_match_has_a_column(demo_session):
    guarantor, surname = guarantor_only_match()
    app = KyushoApp(demo_session)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, table = await _search(app, pilot, surname)
        widths = {c.key: c.width for c in table.columns}
        assert widths["debtor"] > 22 and widths["matched"] >= 16
        assert sum(widths.values()) + len(widths) - 1 <= 119
        header = table.render_line(0).text
        assert "一致した債務者" in header
        index = [table.get_row(i)[0] for i in range(table.row_count)].index(
            guarantor.claim.claim_no
        )
        table.move_cursor(index)
        await settle(pilot)
        row = next(
            r
            for r in search_claims(ClaimQuery(text=surname), 0, 500)
            if r.claim_no == guarantor.claim.claim_no
        )
        line = table.render_line(index - round(table.scroll_y) + 1).text
        assert row.matched_label in line and row.debtor_name in line


async def test_the_palette_lists_each_claim_once_with_the_obligor_that_matched(demo_session):
    guarantor, surname = guarantor_only_match()
    expected = search_claims(ClaimQuery(text=surname), 0, 20)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        for ch in surname:
            await pilot.press(ch)
        prompts: list[str] = []
        for _ in range(60):
            await pilot.pause(0.05)
            options = app.screen.query_one(CommandList)
            prompts = [
                str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
            ]
            if len([p for p in prompts if "一致" in p]) >= len(expected):
                break
        claim_lines = [p for p in prompts if "一致" in p]
        assert len(claim_lines) == len(expected)
        for row in expected:
            [line] = [p for p in claim_lines if p.startswith(row.claim_no)]
            assert f"一致: {row.matched_label}" in line


def test_kinsoku_wrap_never_starts_a_line_with_a_stop_and_keeps_every_character():
    text = "この日の終わり時点の残高・時効で全画面を表示します。空欄で今日に戻ります。"
    for width in range(8, 80):
        lines = kinsoku_wrap(text, width)
        assert "".join(lines) == text
        assert all(line[:1] not in NO_LINE_START for line in lines), (width, lines)
        assert all(0 < cell_len(line) <= max(width, 2) for line in lines)


def _shown_lines(widget: Static) -> list[str]:
    region = Region(0, 0, widget.size.width, widget.size.height)
    return [strip.text.rstrip() for strip in widget.render_lines(region)]


async def _assert_no_line_starts_with_a_stop(app: KyushoApp) -> None:
    boxes = [w for w in app.screen.query(Static) if w.id in ("form-note", "help-guide")]
    assert boxes
    for box in boxes:
        lines = [line for line in _shown_lines(box) if line.strip()]
        assert "".join(lines).replace(" ", "") == str(box.content).replace(" ", "")
        for line in lines:
            assert line.lstrip()[:1] not in NO_LINE_START, lines


async def test_dialog_notes_at_80x24_never_start_a_line_with_a_stop(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")  # the as-of dialog: its note wraps at 80 columns
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await _assert_no_line_starts_with_a_stop(app)
        await pilot.press("escape")
        await settle(pilot)
        claim_no = Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()
        app.open_claim(claim_no.claim_no)
        await settle(pilot)
        await pilot.press("e")  # the limitation event dialog
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await _assert_no_line_starts_with_a_stop(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await _assert_no_line_starts_with_a_stop(app)
