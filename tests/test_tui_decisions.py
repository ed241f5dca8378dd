"""Decisions from the keyboard (issue 14 point 4): propose, the approvals inbox, approve by another
login, the override path, and snapshots of the proposal screen and the inbox at 80x24."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from kyusho.app import KyushoApp
from kyusho.services import decisions
from kyusho.services.staff import add_staff
from models.schema import Claim
from screens.approvals import ApprovalsScreen, DecisionViewScreen
from screens.claim_detail import ClaimDetailScreen
from screens.decision import DecisionScreen
from screens.form import FormScreen
from screens.home import HomeScreen
from tests.conftest import make_session
from tests.test_tui import SIZE, settle

MANAGER = "kmgr"
SUSPENDED_ON_REVIEW = "R3-000030"  # demo: suspended, review due before TODAY


def _app(path, login: str = "kadmin") -> KyushoApp:
    """No live-refresh poll during a flow or a snapshot (a reload mid-capture is flaky)."""
    session = make_session(path, login=login)
    session.config = replace(session.config, refresh_seconds=600)
    return KyushoApp(session)


def _add_manager(path) -> None:
    add_staff(make_session(path), MANAGER, "課長 太郎", "manager")


def _first_active_claim() -> str:
    return Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get().claim_no


def _status(path, claim_no: str) -> str:
    make_session(path)
    return Claim.get(Claim.claim_no == claim_no).status


async def _type(pilot: Pilot[Any], text: str) -> None:
    for ch in text:
        await pilot.press(ch)


async def _answer_items_and_propose(pilot: Pilot[Any], reason: str) -> None:
    """From the facts step: answer every attested item (a date for a date item), then the
    reason, then Ctrl+S."""
    screen = pilot.app.screen
    assert isinstance(screen, DecisionScreen)
    await pilot.press("enter")
    await settle(pilot)
    while screen.step == "attest":
        key, _label = screen.items[screen.item_index]
        await _type(pilot, "2026-11-01" if key in ("last_whereabouts_check", "means_test") else "1")
        await pilot.press("enter")
        await _type(pilot, "記録あり")
        await pilot.press("enter")
        await settle(pilot)
    assert screen.step == "summary"
    await _type(pilot, reason)
    await pilot.press("ctrl+s")
    await settle(pilot)


async def test_review_row_reactivation_proposed_then_approved_by_another_login(demo_path):
    """A suspended claim's review row: v proposes 管理再開; a manager opens it from F7 and
    approves; the claim is 管理中 again."""
    _add_manager(demo_path)
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        row = next(
            i
            for i, it in enumerate(home.items)
            if it.kind == "review" and it.claim_no == SUSPENDED_ON_REVIEW
        )
        home.query_one(DataTable).move_cursor(row=row, animate=False)
        await pilot.press("v")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DecisionScreen)
        assert screen.kind == "reactivation" and screen.step == "facts"
        text = str(screen.query_one("#decision-text", Static).content)
        assert "管理再開" in text and "✓" in text
        await _answer_items_and_propose(pilot, "新しい勤務先が判明")
        assert isinstance(app.screen, HomeScreen)
    pending = decisions.list_decisions(
        make_session(demo_path), pending=True, claim_no=SUSPENDED_ON_REVIEW
    )
    assert [d.kind for d in pending] == ["reactivation"]

    manager = _app(demo_path, login=MANAGER)
    async with manager.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        inbox = manager.screen
        assert isinstance(inbox, ApprovalsScreen)
        assert inbox.query_one(DataTable).row_count == 1
        await pilot.press("enter")
        await settle(pilot)
        view = manager.screen
        assert isinstance(view, DecisionViewScreen)
        assert "新しい勤務先が判明" in str(view.query_one("#decision-view-text", Static).content)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(manager.screen, FormScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert manager.screen is view
        assert "決裁済" in str(view.query_one("#decision-view-text", Static).content)
        manager.open_claim(SUSPENDED_ON_REVIEW)
        await settle(pilot)
        detail = manager.screen
        assert isinstance(detail, ClaimDetailScreen)
        assert "[管理中]" in str(detail.query_one("#detail-title", Static).content)
    assert _status(demo_path, SUSPENDED_ON_REVIEW) == "active"


async def test_failing_check_approved_only_with_an_override_reason(demo_path):
    """所在不明 on a claim whose obligors are all 通常: proposed with ✗; approval is refused,
    lists the failure and asks for a reason; approving with it records the override."""
    _add_manager(demo_path)
    make_session(demo_path)
    claim_no = _first_active_claim()
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(claim_no)
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DecisionScreen)
        await pilot.press("1")  # 管理事務停止
        await pilot.press("1")  # 所在不明
        await pilot.press("enter")
        await settle(pilot)
        assert screen.step == "facts"
        assert "✗" in str(screen.query_one("#decision-text", Static).content)
        await _answer_items_and_propose(pilot, "所在調査の結果")
        assert isinstance(app.screen, ClaimDetailScreen)

    manager = _app(demo_path, login=MANAGER)
    async with manager.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        view = manager.screen
        assert isinstance(view, DecisionViewScreen)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        form = manager.screen
        assert isinstance(form, FormScreen)  # the override form, listing the failures
        assert "所在不明" in str(form.query_one("#form-note").content)
        await pilot.press("ctrl+s")  # no reason: refused, nothing stored
        await settle(pilot)
        assert manager.screen is form
        assert _status(demo_path, claim_no) == "active"
        form.query_one(Input).value = "所在調査を尽くしたため"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert manager.screen is view
        assert "所在調査を尽くしたため" in str(
            view.query_one("#decision-view-text", Static).content
        )
    session = make_session(demo_path)
    d = decisions.list_decisions(session, claim_no=claim_no)[0]
    assert d.status == "approved" and d.override_reason == "所在調査を尽くしたため"
    assert _status(demo_path, claim_no) == "suspended"


async def test_decisions_tab_enter_opens_the_decision(demo_path):
    session = make_session(demo_path)
    claim_no = _first_active_claim()
    d = decisions.propose(
        session, claim_no, "damages_waiver", reason="分割継続の条件", data={"amount": 1000}
    )
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(claim_no)
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        view = app.screen
        assert isinstance(view, DecisionViewScreen) and view.decision_id == d.id
        assert "損害金減免" in str(view.query_one("#decision-view-text", Static).content)


async def test_p_on_a_decision_writes_its_kessaisho_and_never_over_a_file(demo_path, tmp_path):
    """p on a decision: the 決裁書 goes to the file named (HTML here), and a second time to the
    same name is refused with the form still open, the first file untouched."""
    from screens.form import FormScreen

    session = make_session(demo_path)
    claim_no = _first_active_claim()
    d = decisions.propose(
        session, claim_no, "damages_waiver", reason="分割継続の条件", data={"amount": 1000}
    )
    dest = tmp_path / "kessai.html"
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(claim_no)
        await settle(pilot)
        await pilot.press("6", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DecisionViewScreen) and app.screen.decision_id == d.id
        for attempt in (1, 2):
            await pilot.press("p")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, FormScreen)
            form.query_one("#f-dest").value = str(dest)
            await pilot.press("ctrl+s")
            await settle(pilot)
            if attempt == 1:
                assert isinstance(app.screen, DecisionViewScreen)
                first = dest.read_text(encoding="utf-8")
                assert "損害金減免" in first and claim_no in first
            else:
                assert isinstance(app.screen, FormScreen)  # refused, saying why
                error = str(app.screen.query_one("#form-error", Static).content)
                assert "出力先" in error
                assert dest.read_text(encoding="utf-8") == first


def test_snapshot_proposal_facts(demo_path, snap_compare):
    """The computed facts of a 所在不明 suspension on a claim whose obligors are all 通常."""

    async def run(pilot):
        await settle(pilot)
        pilot.app.open_claim(_first_active_claim())
        await settle(pilot)
        await pilot.press("d", "1", "1", "enter")
        await settle(pilot)

    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=run)


def test_snapshot_approvals_inbox(demo_path, snap_compare):
    async def run(pilot):
        await settle(pilot)
        proposer = make_session(pilot.app.session.location)
        decisions.propose(
            proposer,
            SUSPENDED_ON_REVIEW,
            "reactivation",
            reason="新しい勤務先が判明",
        )
        await pilot.press("f7")
        await settle(pilot)

    _add_manager(demo_path)
    assert snap_compare(_app(demo_path, login=MANAGER), terminal_size=SIZE, run_before=run)
