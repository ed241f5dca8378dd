"""No writer waits forever (issue 12 point 2, SPEC 6.1).

A writer frozen with SIGSTOP while it holds the writer's turn (``<db>-lock``) must not block
every other writer: past the busy timeout they are refused with a message naming the holder
(pid, login, since when) and saying what to do, and nothing is written. The holder is a real
process (tests/procs/worker.py hold); the busy timeout is scaled down so the test takes
seconds.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import TODAY
from procs.worker import read_log, setup_database, worker_command, worker_env

import models.db
from kyusho.config import Config
from kyusho.identity import acting_as, os_login
from kyusho.services.entries import post_receipt
from kyusho.services.session import open_session
from models.db import WriterBusy

CLAIMS = ["R5-000001", "R5-000002"]
SUBROGATED = date(2023, 4, 10)
WAIT_MS = 1500


@pytest.fixture
def shared_db(tmp_path) -> Path:
    path = tmp_path / "shared.db"
    setup_database(path, CLAIMS, login=os_login(), today=TODAY, subrogated=SUBROGATED)
    return path


@pytest.fixture
def stopped_holder(shared_db, tmp_path):
    """A separate process holding the writer's turn, frozen with SIGSTOP mid-transaction."""
    ready = tmp_path / "holder.ready"
    process = subprocess.Popen(
        worker_command("hold", shared_db, "--ready", ready, "--seconds", 120),
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if process.poll() is not None:
                raise RuntimeError(f"holder ended: {process.stderr.read()}")
            assert time.monotonic() < deadline, "the holder never took the lock"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGSTOP)
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
        process.wait(timeout=10)


def counts(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(str(path), timeout=15)
    try:
        return (
            conn.execute("SELECT COUNT(*) FROM ledger_entry").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM audit_event").fetchone()[0],
        )
    finally:
        conn.close()


def assert_names_the_holder(message: str, pid: int) -> None:
    assert "他の書き込みが終わらないため保存していません" in message
    assert f"pid {pid}" in message
    assert os_login() in message
    assert "から保持" in message
    assert "しばらく待ってもう一度、または管理者に連絡してください" in message


def test_a_write_behind_a_stopped_writer_fails_in_time_naming_the_holder(
    shared_db, stopped_holder, monkeypatch
):
    monkeypatch.setattr(models.db, "BUSY_TIMEOUT_MS", WAIT_MS)
    with acting_as(os_login()):
        session = open_session(Config(db_path=shared_db), shared_db)
    session.pin(TODAY)
    before = counts(shared_db)
    outcome: dict[str, object] = {}

    def write() -> None:
        began = time.monotonic()
        try:
            post_receipt(session, CLAIMS[0], SUBROGATED + timedelta(days=30), 10_000, 1)
            outcome["result"] = "stored"
        except Exception as exc:
            outcome["result"] = exc
        outcome["took"] = time.monotonic() - began

    # in a thread, so that a wait without bound fails this test instead of hanging it
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    # polled, not writer.join(timeout): a timed join sleeps to an absolute deadline, which
    # a shifted clock (the date-shifted CI run) pushes days away
    deadline = time.monotonic() + WAIT_MS / 1000 + 8
    while writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not writer.is_alive(), "the write is still waiting behind the stopped writer"

    error = outcome["result"]
    assert isinstance(error, WriterBusy), error
    assert WAIT_MS / 1000 - 0.1 <= outcome["took"] < WAIT_MS / 1000 + 3
    assert_names_the_holder(str(error), stopped_holder.pid)
    assert counts(shared_db) == before  # nothing written

    # once the frozen process is gone, the same session writes again
    os.kill(stopped_holder.pid, signal.SIGCONT)
    stopped_holder.kill()
    stopped_holder.wait(timeout=10)
    entry = post_receipt(session, CLAIMS[0], SUBROGATED + timedelta(days=30), 10_000, 1)
    assert entry.id
    assert counts(shared_db) == (before[0] + 1, before[1] + 1)
    session.db.close()


def test_another_process_behind_a_stopped_writer_is_refused_not_stuck(
    shared_db, stopped_holder, tmp_path
):
    log = tmp_path / "waiter.log"
    before = counts(shared_db)
    began = time.monotonic()
    waiter = subprocess.Popen(
        worker_command(
            "post",
            shared_db,
            "--claims",
            CLAIMS[0],
            "--max-posts",
            1,
            "--seconds",
            60,
            "--tag",
            "w1",
            "--log",
            log,
            "--today",
            TODAY.isoformat(),
            "--receipt-share",
            1.0,
            "--busy-timeout-ms",
            WAIT_MS,
        ),
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        waiter.wait(timeout=WAIT_MS / 1000 + 15)
    except subprocess.TimeoutExpired:
        waiter.kill()
        waiter.wait()
        pytest.fail("the writer process is still waiting behind the stopped writer")
    took = time.monotonic() - began
    assert waiter.returncode == 0, waiter.stderr.read()
    errors = [e for e in read_log(log) if e.get("op") == "error"]
    assert [e["type"] for e in errors] == ["WriterBusy"]
    assert_names_the_holder(errors[0]["message"], stopped_holder.pid)
    assert took < WAIT_MS / 1000 + 10
    assert counts(shared_db) == before


@pytest.mark.postgres_only
def test_on_postgresql_a_held_turn_ends_in_writer_busy_naming_the_holder(session, monkeypatch):
    """Another process holding the writer's turn past the busy timeout: the write is refused
    naming that process, and nothing is stored (PostgreSQL's advisory turn)."""
    import psycopg

    import models.db
    from kyusho.services.staff import add_staff
    from models import pg
    from models.db import WriterBusy
    from models.schema import Staff

    monkeypatch.setattr(models.db, "BUSY_TIMEOUT_MS", 300)
    with psycopg.connect(session.db_url) as other:  # a transaction holds the turn
        other.execute("SELECT pg_advisory_xact_lock(%s)", (pg.WRITER_LOCK_KEY,))
        with pytest.raises(WriterBusy) as info:
            add_staff(session, "waiter", "待つ人", "staff")
        assert f"pid {other.info.backend_pid}" in str(info.value)
    assert Staff.get_or_none(Staff.login == "waiter") is None
    add_staff(session, "waiter", "待つ人", "staff")  # the turn is free again


@pytest.mark.postgres_only
def test_on_postgresql_a_write_locks_the_claim_row_it_changes(session, monkeypatch):
    """While a write on a claim is in progress, its claim row is locked (FOR UPDATE): no
    other transaction can change it underneath, whoever runs it."""
    import psycopg

    from kyusho.services import lookup
    from models.schema import Claim

    Claim.create(
        claim_no="R5-000777",
        subrogation_date=date(2024, 4, 10),
        loan_principal=100_000,
        loan_interest=0,
        damages_rate="14.0",
        contract_date=date(2021, 1, 15),
        lender="サンプル銀行",
        updated_at=session.now(),
        updated_by=session.login,
        principal_outstanding=100_000,
        last_entry_on=date(2024, 4, 10),
    )
    with psycopg.connect(session.db_url, autocommit=True) as other:
        with session.writing():
            claim = lookup.find_claim("R5-000777")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM claim WHERE id = %s FOR UPDATE NOWAIT", (claim.id,))
        other.execute("SELECT 1 FROM claim WHERE id = %s FOR UPDATE NOWAIT", (claim.id,))
