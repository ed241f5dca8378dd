"""Audit checkpoints (issue 12 point 4, SPEC 6.2): a rewrite of the whole chain is caught.

Someone who can write the SQLite file can cut the chain's tail, or re-hash every event after a
forged one, and update ``meta.audit_head`` to match: plain ``verify()`` cannot tell. A
checkpoint (the head, kept in a file outside the database) can. The tampering here is done as
an insider would: with the sqlite3 module, bypassing kyusho.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import TODAY

from kyusho.errors import InputError
from kyusho.services.maintenance import audit_checkpoint, audit_verify
from kyusho.services.staff import add_staff
from models.audit import GENESIS, event_hash, head, verify
from models.schema import AuditEvent

pytestmark = pytest.mark.sqlite_only(
    reason="SQLite のファイルを直接書き換える改ざんの検出。PostgreSQL ではサーバーが書き換えを拒む（test_pg_server_rules.py）"
)

BODY = ("seq", "at", "login", "action", "entity", "entity_id", "reason", "before", "after")


def write_checkpoint(session, folder: Path, name: str = "checkpoints.jsonl") -> Path:
    path = folder / name
    with path.open("a", encoding="utf-8") as f:
        f.write(audit_checkpoint(session) + "\n")
    return path


def add_events(session, n: int, tag: str) -> None:
    for i in range(n):
        add_staff(session, f"{tag}{i}", f"確認 {tag}{i}", "staff")


def rehash(path: Path, conn: sqlite3.Connection) -> None:
    """Recompute every event's prev_hash and hash, and meta.audit_head: a consistent chain."""
    prev = GENESIS
    rows = conn.execute(f"SELECT {', '.join(BODY)} FROM audit_event ORDER BY seq").fetchall()
    for row in rows:
        body = dict(zip(BODY, row, strict=True))
        digest = event_hash(prev, body)
        conn.execute(
            "UPDATE audit_event SET prev_hash = ?, hash = ? WHERE seq = ?",
            (prev, digest, body["seq"]),
        )
        prev = digest
    last = rows[-1][0] if rows else 0
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{last}:{prev}",))


def tamper(path: Path, *statements: tuple[str, tuple]) -> None:
    conn = sqlite3.connect(str(path))
    try:
        for sql, params in statements:
            conn.execute(sql, params)
        rehash(path, conn)
        conn.commit()
    finally:
        conn.close()


def newest() -> int:
    return AuditEvent.select().order_by(AuditEvent.seq.desc()).get().seq


def test_a_checkpoint_is_the_head_of_the_chain_as_one_json_line(session, db_path):
    add_events(session, 2, "cp")
    last = AuditEvent.select().order_by(AuditEvent.seq.desc()).get()

    line = audit_checkpoint(session)

    assert "\n" not in line
    value = json.loads(line)
    assert value["seq"] == last.seq and value["hash"] == last.hash
    assert value["at"].startswith(TODAY.isoformat())  # the session's clock, not the wall's
    assert value["db"] == str(db_path)
    assert head() == (last.seq, last.hash)


def test_the_head_comes_from_the_events_not_from_meta(session, db_path):
    add_events(session, 1, "hd")
    last = AuditEvent.select().order_by(AuditEvent.seq.desc()).get()
    conn = sqlite3.connect(str(db_path))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"99:{'f' * 64}",))
    conn.commit()
    conn.close()
    assert head() == (last.seq, last.hash)


def cut_tail(seq: int) -> tuple[str, tuple]:
    return ("DELETE FROM audit_event WHERE seq > ?", (seq,))


@pytest.mark.parametrize("attack", ["cut_tail", "rehash_after_forged", "delete_middle"])
def test_a_rewritten_chain_passes_plain_verify_but_not_the_checkpoint(
    demo_session, demo_path, tmp_path, attack
):
    add_events(demo_session, 3, "pre")
    checkpoints = write_checkpoint(demo_session, tmp_path)
    checkpointed = newest()
    add_events(demo_session, 2, "post")  # the chain goes on after the checkpoint
    assert audit_verify(demo_session, [checkpoints]).ok

    if attack == "cut_tail":
        # remove the newest events, including the checkpointed head, and fix meta to match
        tamper(demo_path, cut_tail(checkpointed - 2))
    elif attack == "rehash_after_forged":
        forged = checkpointed - 5
        tamper(
            demo_path,
            ("UPDATE audit_event SET reason = '改ざん' WHERE seq = ?", (forged,)),
        )
    else:
        middle = checkpointed // 2
        tamper(
            demo_path,
            ("DELETE FROM audit_event WHERE seq = ?", (middle,)),
            ("UPDATE audit_event SET seq = seq - 1 WHERE seq > ?", (middle,)),
        )

    assert verify().ok  # the insider's rewrite is invisible to the chain alone ...
    result = audit_verify(demo_session, [checkpoints])
    assert not result.ok  # ... but not to the checkpoint kept outside the database
    assert result.bad_seq == checkpointed
    assert f"イベント {checkpointed}" in result.problem
    assert "チェックポイント" in result.problem


def test_the_first_broken_checkpoint_of_several_files_is_reported(
    demo_session, demo_path, tmp_path
):
    early = write_checkpoint(demo_session, tmp_path, "early.jsonl")
    first = newest()
    add_events(demo_session, 2, "mid")
    write_checkpoint(demo_session, tmp_path, "early.jsonl")
    later = write_checkpoint(demo_session, tmp_path, "later.jsonl")
    add_events(demo_session, 1, "end")
    assert audit_verify(demo_session, [early, later]).ok

    tamper(demo_path, ("UPDATE audit_event SET login = 'mallory' WHERE seq = ?", (first,)))

    assert verify().ok
    result = audit_verify(demo_session, [later, early])
    assert not result.ok
    assert result.bad_seq == first


def test_an_untouched_chain_passes_every_checkpoint(session, tmp_path):
    checkpoints = write_checkpoint(session, tmp_path)  # the first admin only
    for day in range(3):
        session.pin(TODAY + timedelta(days=day))
        add_events(session, 2, f"d{day}")
        write_checkpoint(session, tmp_path)
    add_events(session, 2, "late")

    result = audit_verify(session, [checkpoints])

    assert result.ok
    assert result.checked == newest()
    assert len(checkpoints.read_text(encoding="utf-8").splitlines()) == 4


def test_a_missing_or_malformed_checkpoint_file_names_the_file_and_line(session, tmp_path):
    missing = tmp_path / "nosuch.jsonl"
    with pytest.raises(InputError) as err:
        audit_verify(session, [missing])
    assert "nosuch.jsonl" in str(err.value)

    good = write_checkpoint(session, tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text(encoding="utf-8") + "\n" + '{"seq": 1}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        audit_verify(session, [good, bad])
    assert "bad.jsonl" in str(err.value) and "3 行目" in str(err.value)
    assert "hash" in str(err.value)

    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError) as err:
        audit_verify(session, [empty])
    assert "empty.jsonl" in str(err.value)


def test_the_commands_catch_a_cut_tail_that_plain_verify_misses(demo_session, demo_path, tmp_path):
    from procs.worker import run_kyusho

    from kyusho.identity import os_login

    add_staff(demo_session, os_login(), "システム担当", "admin")  # the commands' OS login
    checkpoints = tmp_path / "checkpoints.jsonl"
    made = run_kyusho(tmp_path, "--db", demo_path, "audit", "checkpoint", checkpoints)
    assert made.returncode == 0, made.stderr
    checkpointed = json.loads(checkpoints.read_text(encoding="utf-8"))["seq"]
    assert checkpointed == newest()
    ok = run_kyusho(tmp_path, "--db", demo_path, "audit", "verify", "--against", checkpoints)
    assert ok.returncode == 0, ok.stderr

    tamper(demo_path, cut_tail(checkpointed - 1))

    plain = run_kyusho(tmp_path, "--db", demo_path, "audit", "verify")
    assert plain.returncode == 0, plain.stderr
    caught = run_kyusho(tmp_path, "--db", demo_path, "audit", "verify", "--against", checkpoints)
    assert caught.returncode == 1
    assert f"イベント {checkpointed}" in caught.stderr
