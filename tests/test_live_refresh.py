"""Lists notice other users' writes without losing the cursor (SPEC 6.1, 5.1).

The claim list is on screen with the cursor on some claim; another process (another user's
kyusho) imports a claim that sorts before it, then a receipt that pays the cursor's claim
off. Within a few seconds the list must show each change, and the cursor must stay on the
claim the user was looking at.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY
from procs.worker import CLAIM_HEADER, csv_bytes, worker_command, worker_env
from textual.pilot import Pilot

from kyusho.app import KyushoApp
from kyusho.identity import os_login
from kyusho.services.claims import ClaimQuery, search_claims
from kyusho.services.entries import preview_receipt
from kyusho.services.session import Session
from kyusho.services.staff import add_staff
from screens.claim_list import ClaimListScreen
from screens.virtual_table import VirtualTable
from tests.test_tui import settle

SIZE = (80, 24)
NEW_CLAIM = "A1-000001"  # sorts before every demo claim (H.. and R..)


def import_as_another_user(db: Path, kind: str, rows: list[list[object]], folder: Path) -> None:
    """`import` in a separate process (another user's kyusho), acting as the OS login."""
    file = folder / f"{kind}.csv"
    file.write_bytes(csv_bytes(rows))
    done = subprocess.run(
        worker_command("import", db, kind, file, "--log", folder / f"{kind}.log", "--today", TODAY),
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], seconds: float = 8) -> None:
    """Let the app run (its timers poll data_version) until ``condition`` holds or time is up."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await pilot.pause(0.1)
    await settle(pilot)


def cell(table: VirtualTable, index: int, column: int) -> str | None:
    row = table.get_row(index)
    return None if row is None else row[1][column]


def payable_row(session: Session, limit: int = 30) -> tuple[int, str, int]:
    """A row near the top of the list whose claim can still receive a receipt: (index, no, max)."""
    for i, row in enumerate(search_claims(ClaimQuery(), 0, limit)):
        if i < 3 or row.status not in ("active", "suspended"):
            continue
        most = preview_receipt(session, row.claim_no, TODAY, 1).maximum
        if most > 0:
            return i, row.claim_no, most
    raise AssertionError("no payable claim near the top of the demo list")


@pytest.mark.sqlite_only(reason="子プロセスが SQLite のファイルを開く")
async def test_claim_list_shows_another_process_import_and_keeps_the_cursor(demo_session, tmp_path):
    # the other user is the OS login of the subprocess
    add_staff(demo_session, os_login(), "別の担当者", "staff")
    demo_session.config = dataclasses.replace(demo_session.config, refresh_seconds=1)
    target, claim_no, most = payable_row(demo_session)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ClaimListScreen)
        table = app.screen.query_one(VirtualTable)
        for _ in range(target):
            await pilot.press("down")
        await settle(pilot)
        count, index, key = table.row_count, table.cursor_index, table.cursor_row_key
        assert (index, key) == (target, claim_no)
        assert NEW_CLAIM < key

        # another user imports a claim that sorts before the cursor's
        import_as_another_user(
            demo_session.location,
            "claims",
            [
                CLAIM_HEADER,
                [NEW_CLAIM, "2024-01-10", 2_000_000, 0, "2021-01-06", "北銀行", os_login()],
            ],
            tmp_path,
        )
        await wait_until(pilot, lambda: table.row_count != count)
        assert table.row_count == count + 1, "the list never noticed the other process's write"
        # the new claim is on screen, and the cursor stayed on the same claim (one row down)
        assert table.get_row(0)[0] == NEW_CLAIM
        assert table.cursor_row_key == key
        assert table.cursor_index == index + 1
        assert app.focused is table

        # another user posts a receipt paying the cursor's claim off: the row changes in place
        principal = [c.key for c in table.columns].index("principal")
        assert cell(table, index + 1, principal) not in (None, "0")
        import_as_another_user(
            demo_session.location,
            "receipts",
            [["求償権番号", "入金日", "金額", "入金者"], [claim_no, TODAY.isoformat(), most, 1]],
            tmp_path,
        )
        await wait_until(pilot, lambda: cell(table, index + 1, principal) == "0")
        assert cell(table, index + 1, principal) == "0"
        assert (table.row_count, table.cursor_index) == (count + 1, index + 1)
        assert table.cursor_row_key == key
