"""Optimistic concurrency on claim edits (SPEC 6.1): two processes edit the same claim; the
second is told who changed it and when, can reload, and nothing is silently overwritten."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from textual.widgets import Static

from kyusho.app import KyushoApp
from kyusho.errors import ConflictError
from kyusho.services.claims import find_claim, update_claim
from kyusho.services.staff import add_staff
from models.schema import AuditEvent, Claim
from screens.claim_detail import ClaimDetailScreen
from screens.form import FormScreen
from tests.conftest import make_session
from tests.test_tui import SIZE, settle
from tests.test_tui_entry import fill


def edit_in_another_process(db_path, claim_no: str, login: str, lender: str) -> None:
    """Another user's kyusho process changes the claim (its own connection and transaction)."""
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from kyusho.config import Config
        from kyusho.services.session import open_session
        from kyusho.services.claims import find_claim, update_claim
        s = open_session(Config(), Path({str(db_path)!r}), login={login!r})
        c = find_claim({claim_no!r})
        update_claim(s, {claim_no!r}, c.version, {{"lender": {lender!r}}})
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.fixture
def claim_no(demo_session) -> str:
    add_staff(demo_session, "suzuki2", "鈴木 次郎", "staff")
    return Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get().claim_no


@pytest.mark.sqlite_only(reason="子プロセスが SQLite のファイルを開く")
def test_a_stale_edit_is_refused_naming_who_changed_it(demo_session, demo_path, claim_no):
    opened = find_claim(claim_no).version
    edit_in_another_process(demo_path, claim_no, "suzuki2", "別の銀行")
    with pytest.raises(ConflictError) as info:
        update_claim(demo_session, claim_no, opened, {"lender": "私の銀行"})
    assert info.value.changed_by == "suzuki2"
    assert "suzuki2" in str(info.value)
    claim = find_claim(claim_no)
    assert claim.lender == "別の銀行"  # not overwritten
    assert claim.version == opened + 1
    # after reloading (the new version), the edit goes through and is audited
    update_claim(demo_session, claim_no, claim.version, {"lender": "私の銀行"})
    assert find_claim(claim_no).lender == "私の銀行"
    last = AuditEvent.select().order_by(AuditEvent.seq.desc()).get()
    assert (last.action, last.login) == ("claim.update", demo_session.login)


@pytest.mark.sqlite_only(reason="子プロセスが SQLite のファイルを開く")
async def test_the_edit_form_reports_the_conflict_and_reload_shows_the_other_change(
    demo_session, demo_path, claim_no
):
    app = KyushoApp(make_session(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(claim_no)
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await fill(pilot, "lender", "私の銀行")
        # meanwhile another user's process changes the same claim
        edit_in_another_process(demo_path, claim_no, "suzuki2", "別の銀行")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)  # nothing saved, the form stays open
        error = str(app.screen.query_one("#form-error", Static).content)
        assert "suzuki2" in error and "保存していません" in error
        assert find_claim(claim_no).lender == "別の銀行"
        await pilot.press("escape")  # the first Esc asks before discarding what was typed
        await pilot.press("escape")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, ClaimDetailScreen)
        assert detail.view.claim.lender == "別の銀行"  # reloaded
        # edit again on the fresh version: saved
        await pilot.press("u")
        await settle(pilot)
        await fill(pilot, "lender", "私の銀行")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
    assert find_claim(claim_no).lender == "私の銀行"
