"""A process killed at any moment leaves the database consistent (SPEC 6.1, kill -9).

Workers (tests/procs/worker.py) import large CSV files or post receipts and events, and are
killed with SIGKILL at random points. Afterwards the file must pass PRAGMA integrity_check,
the audit chain must verify, a rebuild must find nothing to change, every post that reported
success must be there exactly once, a post cut short must be there entirely or not at all,
and the same import run again must complete without duplicating anything.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import TODAY
from procs.worker import (
    CLAIM_HEADER,
    Poster,
    csv_bytes,
    inspect_database,
    read_log,
    setup_database,
    start_posters,
    wait_all,
    worker_command,
    worker_env,
)

from kyusho.identity import os_login

BASE_CLAIMS = [f"R5-{n:06d}" for n in range(1, 201)]
SUBROGATED = date(2023, 4, 10)


@pytest.fixture
def base_db(tmp_path) -> Path:
    path = tmp_path / "crash.db"
    setup_database(path, BASE_CLAIMS, login=os_login(), today=TODAY, subrogated=SUBROGATED)
    return path


def scalar(path: Path, sql: str) -> int:
    conn = sqlite3.connect(str(path), timeout=15)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def assert_consistent(path: Path) -> None:
    state = inspect_database(path, os_login())
    assert state.consistent() == []


# --------------------------------------------------------------------------- large imports


def receipts_file(folder: Path) -> tuple[Path, int]:
    """15 receipts on each of the 200 claims, every row with its own 番号 (3,000 rows)."""
    rows: list[list[object]] = [["求償権番号", "入金日", "金額", "入金者", "番号"]]
    for i, no in enumerate(BASE_CLAIMS):
        for k in range(15):
            day = date(2023, 6, 30) + timedelta(days=30 * k)
            rows.append([no, day.isoformat(), 10_000 + k, 1 + k % 2, f"I{i}-{k}"])
    path = folder / "receipts.csv"
    path.write_bytes(csv_bytes(rows))
    return path, len(rows) - 1


def claims_file(folder: Path) -> tuple[Path, int]:
    """2,500 new claims."""
    rows: list[list[object]] = [CLAIM_HEADER]
    for n in range(1, 2501):
        day = date(2022, 4, 1) + timedelta(days=n % 300)
        rows.append(
            [f"K4-{n:06d}", day.isoformat(), 1_000_000 + n, 0, "2020-01-06", "北銀行", os_login()]
        )
    path = folder / "claims.csv"
    path.write_bytes(csv_bytes(rows))
    return path, len(rows) - 1


IMPORTED = {
    "receipts": "SELECT COUNT(*) FROM ledger_entry WHERE ref LIKE 'I%'",
    "claims": "SELECT COUNT(*) FROM claim WHERE claim_no LIKE 'K4-%'",
}


def start_import(db: Path, kind: str, file: Path, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        worker_command("import", db, kind, file, "--log", log, "--today", TODAY.isoformat()),
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# how long the write transaction of each import lasts here (from its first progress report
# to its commit); kills are spread over that window
SPAN = {"receipts": 0.7, "claims": 0.35}


def progress_seen(log: Path, stage: str) -> bool:
    return any(e.get("op") == "progress" and e.get("stage") == stage for e in read_log(log))


def kill_import(process: subprocess.Popen[str], log: Path, *, after: str, delay: float) -> bool:
    """SIGKILL ``delay`` seconds after the import reported stage ``after``.

    "検査" is reported as the rows start being checked (the write transaction is about to
    begin), "完了" just before the audit event and the commit. Returns True if the process
    was still running when it was killed.
    """
    deadline = time.monotonic() + 30
    while process.poll() is None and not progress_seen(log, after):
        if time.monotonic() > deadline:
            raise RuntimeError("the import never reported progress")
        time.sleep(0.002)
    time.sleep(delay)
    running = process.poll() is None
    if running:
        os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    return running and process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("kind", ["receipts", "claims"])
def test_sigkill_during_a_large_import_then_the_same_import_again(base_db, tmp_path, kind):
    make = {"receipts": receipts_file, "claims": claims_file}[kind]
    file, rows = make(tmp_path)
    rng = random.Random(f"import-{kind}")
    killed_while_running = 0
    # twice anywhere in the transaction, once right at its commit
    plan = [("検査", rng.uniform(0, SPAN[kind])) for _ in range(2)]
    plan.append(("完了", rng.uniform(0, 0.01)))
    for attempt, (after, delay) in enumerate(plan):
        log = tmp_path / f"{kind}-{attempt}.log"
        process = start_import(base_db, kind, file, log)
        killed_while_running += kill_import(process, log, after=after, delay=delay)
        # all or nothing, whenever the kill came
        assert scalar(base_db, IMPORTED[kind]) in (0, rows)
        assert_consistent(base_db)
    assert killed_while_running >= 1, "no kill landed while an import was running"

    done = subprocess.run(
        worker_command(
            "import", base_db, kind, file, "--log", tmp_path / "done.log", "--today", TODAY
        ),
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = read_log(tmp_path / "done.log")[-1]
    assert report["op"] == "ok" and report["rows"] == rows
    assert report["added"] + report["skipped"] == rows
    assert scalar(base_db, IMPORTED[kind]) == rows

    again = subprocess.run(
        worker_command(
            "import", base_db, kind, file, "--log", tmp_path / "again.log", "--today", TODAY
        ),
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    report = read_log(tmp_path / "again.log")[-1]
    assert (report["added"], report["skipped"]) == (0, rows)
    assert scalar(base_db, IMPORTED[kind]) == rows
    assert_consistent(base_db)


# --------------------------------------------------------------------------- posting


def kill_posters(posters: list[Poster], rng: random.Random) -> None:
    """SIGKILL each worker at its own random moment while they all keep posting."""
    started = time.monotonic()
    for when, p in sorted((rng.uniform(0.3, 1.2), i) for i in range(len(posters))):
        time.sleep(max(0.0, started + when - time.monotonic()))
        posters[p].process.send_signal(signal.SIGKILL)
    wait_all(posters)


def test_sigkill_while_posting_keeps_every_reported_post_and_nothing_half_done(base_db, tmp_path):
    claims = BASE_CLAIMS[:4]
    posters = start_posters(
        tmp_path / "logs", base_db, claims, 4, seconds=30, seed=7, today=TODAY, tag="wk"
    )
    kill_posters(posters, random.Random("posting"))
    assert [p.process.returncode for p in posters] == [-signal.SIGKILL] * 4
    assert all(p.summary() is None for p in posters), "a worker finished before its kill"

    state = inspect_database(base_db, os_login())
    # consistent: integrity, audit chain, projections, one audit event per stored post
    assert state.consistent() == []
    in_flight = 0
    for p in posters:
        entries = p.entries()
        for e in p.successes():
            refs = state.receipt_refs if e["kind"] == "receipt" else state.event_refs
            ids = state.receipt_ids if e["kind"] == "receipt" else state.event_ids
            assert refs[e["ref"]] == 1 and ids[e["ref"]] == e["id"], e
        assert not [e for e in entries if e.get("op") == "error"]
        last = entries[-1] if entries else None
        if last and last["op"] == "begin":
            in_flight += 1
            refs = state.receipt_refs if last["kind"] == "receipt" else state.event_refs
            # cut short: stored once (committed before the kill) or not at all
            assert refs[last["ref"]] in (0, 1)
    assert in_flight >= 1, "no kill landed inside a post"
    # nothing was stored that its worker had not begun
    begun = {e["ref"] for p in posters for e in p.begun()}
    assert set(state.receipt_refs) | set(state.event_refs) <= begun

    # the others (and the next users) carry on normally on the recovered file
    more = start_posters(
        tmp_path / "logs", base_db, claims, 4, seconds=1, seed=8, today=TODAY, tag="wl"
    )
    wait_all(more)
    assert [p.summary()["errors"] for p in more] == [{}] * 4
    after = inspect_database(base_db, os_login())
    assert after.consistent() == []
    for e in (e for p in more for e in p.successes()):
        refs = after.receipt_refs if e["kind"] == "receipt" else after.event_refs
        assert refs[e["ref"]] == 1
