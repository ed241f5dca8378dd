"""The 求償権放棄 screen (issue 16 points 3, 5, 7): a municipal reviewer walks the checklist
one item at a time at 80x24 (answers saved as given, resumed where left), ◎ refused without
a finding, a step recorded per municipality, the record written to a file; a snapshot."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from kyusho.app import KyushoApp
from kyusho.services import waiver
from models.schema import Claim, ClaimMunicipality
from screens.claim_detail import ClaimDetailScreen
from screens.decision import DecisionScreen
from screens.form import FormScreen
from screens.home import HomeScreen
from screens.waiver import WaiverScreen
from tests.conftest import make_session
from tests.test_tui import SIZE, settle

PLANNED = date(2027, 1, 29)


def _claim(path: Path, scheme: str = "kasseika_council") -> str:
    """An active claim with 北海道 (an ordinance) as its municipality, and a waiver case."""
    session = make_session(path)
    claim = Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).first()
    ClaimMunicipality.delete().where(ClaimMunicipality.claim == claim.id).execute()
    ClaimMunicipality.create(claim=claim, name="北海道")
    waiver.set_facts(
        session, claim.claim_no, "北海道", compensated_amount=3_000_000, remittances_paid=400_000
    )
    waiver.open_case(session, claim.claim_no, scheme, planned_date=PLANNED, kind="waiver")
    return claim.claim_no


def _app(path: Path) -> KyushoApp:
    session = make_session(path)
    session.config = replace(session.config, refresh_seconds=600)
    return KyushoApp(session)


async def _type(pilot: Pilot[Any], text: str) -> None:
    for ch in text:
        await pilot.press(ch)


async def _open(pilot: Pilot[Any], claim_no: str) -> WaiverScreen:
    """The claim, d (決裁), 7 (求償権放棄): the waiver screen of that claim."""
    await settle(pilot)
    pilot.app.open_claim(claim_no)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ClaimDetailScreen)
    await pilot.press("d")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DecisionScreen)
    await pilot.press("7")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, WaiverScreen)
    return screen


def _item_text(screen: WaiverScreen) -> str:
    return str(screen.query_one("#waiver-item-text", Static).content)


def _stored(path: Path, claim_no: str) -> dict[str, Any]:
    session = make_session(path)
    case = waiver.case_for(session, claim_no)
    assert case is not None
    walk = waiver.walkthrough(session, case.id, "北海道")
    return {i.key: i for i in walk.items}


async def _answer(pilot: Pilot[Any], finding: str, evidence: str, status: str) -> None:
    await _type(pilot, finding)
    await pilot.press("enter")
    await _type(pilot, evidence)
    await pilot.press("enter")
    await pilot.press(status)
    await settle(pilot)


async def test_walk_through_one_item_at_a_time_saves_each_answer(demo_path):
    claim_no = _claim(demo_path)
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, claim_no)
        table = screen.query_one("#waiver-munis", DataTable)
        assert table.row_count == 1
        row = [str(c) for c in table.get_row_at(0)]
        assert row[0] == "北海道" and "制定済" in row[4] and row[5] == "未着手"
        assert "2,600,000円" in row[3]  # 損失補償金額 − 回収納付金
        await pilot.press("w")
        await settle(pilot)
        assert screen.view == "walk" and screen.index == 0
        text = _item_text(screen)
        assert "対象となる事業者に関するもの" in text and "項目 1/8" in text
        assert "重要度 △" in text and "進捗 0/8" in text
        await _answer(pilot, "自助努力では困難", "調査報告書 p.3", "1")
        assert screen.index == 1 and "進捗 1/8" in _item_text(screen)
        await _answer(pilot, "", "計画書 第2章", "2")  # △ may go without a finding
        assert screen.index == 2 and "進捗 2/8" in _item_text(screen)

    stored = _stored(demo_path, claim_no)
    first = stored["self_help_insufficient"]
    assert (first.status, first.finding, first.evidence) == (
        "充足",
        "自助努力では困難",
        "調査報告書 p.3",
    )
    assert first.answered_by == "kadmin"
    assert stored["honest_disclosure"].status == "不充足"
    assert stored["regional_impact"].status in (None, "")


async def test_leaving_and_resuming_keeps_every_answer(demo_path):
    claim_no = _claim(demo_path)
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, claim_no)
        await pilot.press("w")
        await settle(pilot)
        await _answer(pilot, "自助努力では困難", "調査報告書 p.3", "1")
        await _answer(pilot, "開示済み", "議事録", "1")
        await pilot.press("escape")  # back to the case
        await settle(pilot)
        assert screen.view == "case"
        await pilot.press("escape")  # leave the screen altogether
        await settle(pilot)
        assert not isinstance(app.screen, WaiverScreen)

    app = _app(demo_path)  # another day, another session
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, claim_no)
        await pilot.press("w")
        await settle(pilot)
        # resumed at the first unanswered item, the progress counting the two answers
        assert screen.index == 2 and "進捗 2/8" in _item_text(screen)
        await pilot.press("pageup")
        await settle(pilot)
        assert screen.index == 1 and "充足" in _item_text(screen)
        assert screen.query_one("#waiver-finding", Input).value == "開示済み"
        assert screen.query_one("#waiver-evidence", Input).value == "議事録"


async def test_important_item_is_refused_without_a_finding(demo_path):
    claim_no = _claim(demo_path)
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, claim_no)
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("pagedown", "pagedown")  # 地域経済への影響 (◎)
        await settle(pilot)
        assert "重要度 ◎" in _item_text(screen)
        await pilot.press("enter")  # no finding
        await _type(pilot, "資料A")
        await pilot.press("enter")
        await pilot.press("1")
        await settle(pilot)
        error = str(screen.query_one("#waiver-error", Static).content)
        assert "所見" in error and "◎" in error
        assert screen.index == 2 and "未回答" in _item_text(screen)
    assert _stored(demo_path, claim_no)["regional_impact"].status in (None, "")


async def test_item_outside_the_scheme_is_shown_as_not_applicable(demo_path):
    claim_no = _claim(demo_path, scheme="sme_gl_closure")
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, claim_no)
        await pilot.press("w")
        await settle(pilot)
        for _ in range(4):  # 5年以内の実態債務超過の解消: not for a closure scheme
            await pilot.press("pagedown")
        await settle(pilot)
        text = _item_text(screen)
        assert "5年以内" in text and "該当なし" in text and "対象外" in text
        assert screen.query_one("#waiver-finding", Input).disabled


async def test_record_a_step_shows_where_the_municipality_stands(demo_path):
    claim_no = _claim(demo_path)
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, claim_no)
        await pilot.press("s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#f-step").value = "consultation"
        form.query_one("#f-on", Input).value = "R8.11.20"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        table = screen.query_one("#waiver-munis", DataTable)
        assert str(table.get_row_at(0)[5]) == "事前協議"
        detail = str(screen.query_one("#waiver-detail", Static).content)
        assert "事前協議" in detail and "kadmin" in detail
        # out of order: 実施 before 承認 is refused, and said so in the form
        await pilot.press("s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#f-step").value = "executed"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "保存していません" in str(form.query_one("#form-error").content)
    facts = waiver.municipality_facts(make_session(demo_path), claim_no)
    assert [f.name for f in facts] == ["北海道"]


async def test_record_is_written_to_the_typed_path_and_never_over_a_file(demo_path, tmp_path):
    claim_no = _claim(demo_path)
    dest = tmp_path / "record.md"
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, claim_no)
        await pilot.press("w")
        await settle(pilot)
        await _answer(pilot, "自助努力では困難", "調査報告書 p.3", "1")
        for attempt in range(2):
            if screen.view != "case":
                await pilot.press("escape")
                await settle(pilot)
            await pilot.press("p")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, FormScreen)
            form.query_one("#f-dest", Input).value = str(dest)
            await pilot.press("ctrl+s")
            await settle(pilot)
            if attempt == 0:
                assert app.screen is screen
            else:  # the second time the file exists: refused, the form says why
                assert app.screen is form
                assert "保存していません" in str(form.query_one("#form-error").content)
    text = dest.read_text("utf-8")
    assert "自助努力では困難" in text and "調査報告書 p.3" in text


def test_snapshot_walk_through(demo_path, snap_compare):
    """The ◎ item of the default template at 80x24, one earlier item answered, a finding
    being typed."""
    claim_no = _claim(demo_path)

    async def run(pilot):
        await _open(pilot, claim_no)
        await pilot.press("w")
        await settle(pilot)
        await _answer(pilot, "自助努力では困難", "調査報告書 p.3", "1")
        await pilot.press("pagedown")
        await settle(pilot)
        await _type(pilot, "地域の雇用を維持")

    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=run)


async def test_worklist_row_of_a_waiting_step_opens_the_waiver_screen(demo_path):
    claim_no = _claim(demo_path)
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        rows = [i for i, item in enumerate(home.items) if item.kind == "waiver_step"]
        assert rows, "the waiver waiting on 事前協議 is on the worklist"
        table = home.query_one(DataTable)
        assert str(table.get_row_at(rows[0])[0]) == "放棄"
        table.move_cursor(row=rows[0], animate=False)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WaiverScreen) and screen.claim_no == claim_no


async def test_the_claim_shows_where_each_municipality_stands_and_w_opens_the_case(demo_path):
    """A claim with a waiver case says, under its summary, each municipality's step and date."""
    claim_no = _claim(demo_path)
    session = make_session(demo_path)
    case = waiver.case_for(session, claim_no)
    waiver.record_step(session, case.id, "北海道", "consultation", date(2026, 11, 20))
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(claim_no)
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, ClaimDetailScreen)
        line = str(detail.query_one("#detail-waiver", Static).content)
        assert line == "放棄 北海道（事前協議 R8.11.20）"
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, WaiverScreen)


async def test_u_edits_the_loss_compensation_facts_of_the_municipality(demo_path):
    """Facts are editable from the keyboard; the difference shows on the case at once."""
    from screens.form import FormScreen

    claim_no = _claim(demo_path)
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, claim_no)
        await pilot.press("u")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert form.query_one("#f-compensated_amount", Input).value == "3,000,000"
        form.query_one("#f-remittances_paid", Input).value = "500,000"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
    facts = waiver.municipality_facts(make_session(demo_path), claim_no)
    assert (facts[0].remittances_paid, facts[0].net) == (500_000, 2_500_000)
