"""The audit trail (SPEC 6.2): every write appends a hash-chained event; tampering is caught.

Tampering is done the way an insider would: directly in the SQLite file with the sqlite3
module, bypassing kyusho and peewee.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADMIN, TODAY

from kyusho.errors import InputError
from kyusho.identity import os_login
from kyusho.services.entries import cancel_entry, post_receipt
from kyusho.services.staff import add_staff
from models.audit import GENESIS, event_hash, verify
from models.schema import AuditEvent, Claim, Obligor

KYUSHO = Path(sys.executable).with_name("kyusho")


def last_event() -> AuditEvent:
    return AuditEvent.select().order_by(AuditEvent.seq.desc()).get()


def count() -> int:
    return AuditEvent.select().count()


def payable_claim() -> tuple[Claim, Obligor]:
    """An active demo claim with a liable principal debtor or guarantor who can pay."""
    for claim in Claim.select().where(Claim.status == "active").order_by(Claim.id):
        if claim.principal_outstanding < 100_000:
            continue
        payer = (
            Obligor.select()
            .where(
                (Obligor.claim == claim.id)
                & (Obligor.role.in_(("principal_debtor", "joint_guarantor")))
                & (Obligor.liable == True)  # noqa: E712
            )
            .order_by(Obligor.obligor_no)
            .first()
        )
        if payer is not None:
            return claim, payer
    raise AssertionError("the demo has no active claim with a payer")


def assert_chained(row: AuditEvent, prev: AuditEvent) -> None:
    assert row.seq == prev.seq + 1
    assert row.prev_hash == prev.hash
    body = {
        k: getattr(row, k)
        for k in (
            "seq",
            "at",
            "login",
            "action",
            "entity",
            "entity_id",
            "reason",
            "before",
            "after",
        )
    }
    assert row.hash == event_hash(prev.hash, body)


def test_every_write_appends_a_chained_event(demo_session):
    start = last_event()
    assert verify().ok

    add_staff(demo_session, "audit_probe", "監査 確認", "staff")
    staff_ev = last_event()
    assert_chained(staff_ev, start)
    assert (staff_ev.login, staff_ev.action, staff_ev.entity, staff_ev.entity_id) == (
        ADMIN,
        "staff.add",
        "staff",
        "audit_probe",
    )
    assert json.loads(staff_ev.after)["role"] == "staff"
    assert staff_ev.before is None

    claim, payer = payable_claim()
    entry = post_receipt(demo_session, claim.claim_no, TODAY, 12_345, payer.obligor_no)
    receipt_ev = last_event()
    assert_chained(receipt_ev, staff_ev)
    assert (receipt_ev.action, receipt_ev.entity, receipt_ev.entity_id) == (
        "receipt.post",
        "claim",
        str(claim.id),
    )
    after = json.loads(receipt_ev.after)
    assert after["amount"] == 12_345
    assert after["date"] == TODAY.isoformat()
    assert sum(after["alloc"]) == 12_345

    cancel_entry(demo_session, entry.id, "金額の入力誤り")
    cancel_ev = last_event()
    assert_chained(cancel_ev, receipt_ev)
    assert cancel_ev.action == "receipt.cancel"
    assert cancel_ev.reason == "金額の入力誤り"
    assert json.loads(cancel_ev.before)["cancelled"] is False
    assert json.loads(cancel_ev.after)["cancelled"] is True

    result = verify()
    assert result.ok
    assert result.checked == cancel_ev.seq == count()


def test_refused_writes_leave_no_event(demo_session):
    claim, payer = payable_claim()
    entry = post_receipt(demo_session, claim.claim_no, TODAY, 1_000, payer.obligor_no)
    before = count()
    with pytest.raises(InputError):
        cancel_entry(demo_session, entry.id, "   ")  # a cancellation needs a reason
    with pytest.raises(InputError):
        add_staff(demo_session, "audit_probe", "", "staff")
    with pytest.raises(InputError):
        post_receipt(demo_session, claim.claim_no, TODAY, 10**15, payer.obligor_no)
    assert count() == before
    assert verify().ok


def test_first_event_starts_from_genesis(session):
    first = AuditEvent.get(AuditEvent.seq == 1)
    assert first.prev_hash == GENESIS
    assert first.action == "staff.add" and first.entity_id == ADMIN
    assert verify().ok and verify().checked == 1


# --------------------------------------------------------------------------- tampering


def raw(path: Path, *sql: tuple[str, tuple]) -> None:
    """Run statements directly on the file, outside kyusho."""
    conn = sqlite3.connect(str(path))
    try:
        for statement, params in sql:
            conn.execute(statement, params)
        conn.commit()
    finally:
        conn.close()


def row_of(path: Path, seq: int) -> dict:
    conn = sqlite3.connect(str(path))
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM audit_event WHERE seq = ?", (seq,)).fetchone())
    finally:
        conn.close()


def tamper(kind: str, path: Path, middle: int, newest: int) -> int:
    """Tamper with the chain; returns the seq verify must report."""
    if kind == "edit_after":
        raw(
            path,
            ("UPDATE audit_event SET after = ? WHERE seq = ?", ('{"amount":1}', middle)),
        )
        return middle
    if kind == "edit_login":
        raw(path, ("UPDATE audit_event SET login = 'someone' WHERE seq = ?", (middle,)))
        return middle
    if kind == "delete_middle":
        raw(path, ("DELETE FROM audit_event WHERE seq = ?", (middle,)))
        return middle
    if kind == "delete_newest":
        raw(path, ("DELETE FROM audit_event WHERE seq = ?", (newest,)))
        return newest
    if kind == "insert_forged":
        head = row_of(path, newest)
        raw(
            path,
            (
                "INSERT INTO audit_event (seq, at, login, action, entity, entity_id, reason,"
                " before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    newest + 1,
                    head["at"],
                    ADMIN,
                    "receipt.cancel",
                    "claim",
                    "1",
                    "forged",
                    None,
                    None,
                    head["hash"],
                    "f" * 64,
                ),
            ),
        )
        return newest + 1
    if kind == "insert_well_hashed":
        # a forger who knows the hashing rule but cannot also fix the recorded head
        head = row_of(path, newest)
        body = {
            "seq": newest + 1,
            "at": head["at"],
            "login": ADMIN,
            "action": "staff.add",
            "entity": "staff",
            "entity_id": "mallory",
            "reason": None,
            "before": None,
            "after": '{"role":"admin"}',
        }
        raw(
            path,
            (
                "INSERT INTO audit_event (seq, at, login, action, entity, entity_id, reason,"
                " before, after, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*body.values(), head["hash"], event_hash(head["hash"], body)),
            ),
        )
        return newest + 1
    if kind == "rehash_newest":
        # the newest event rewritten and re-hashed consistently with its predecessor
        row = row_of(path, newest)
        body = {k: row[k] for k in ("seq", "at", "login", "action", "entity", "entity_id")}
        body |= {"reason": "rewritten", "before": row["before"], "after": row["after"]}
        raw(
            path,
            (
                "UPDATE audit_event SET reason = ?, hash = ? WHERE seq = ?",
                ("rewritten", event_hash(row["prev_hash"], body), newest),
            ),
        )
        return newest
    if kind == "change_prev_hash":
        raw(path, ("UPDATE audit_event SET prev_hash = ? WHERE seq = ?", ("0" * 64, middle)))
        return middle
    if kind == "renumber_after_delete":
        raw(
            path,
            ("DELETE FROM audit_event WHERE seq = ?", (middle,)),
            ("UPDATE audit_event SET seq = seq - 1 WHERE seq > ?", (middle,)),
        )
        return middle
    raise ValueError(kind)


TAMPERING = [
    "edit_after",
    "edit_login",
    "delete_middle",
    "delete_newest",
    "insert_forged",
    "insert_well_hashed",
    "rehash_newest",
    "change_prev_hash",
    "renumber_after_delete",
]


@pytest.mark.sqlite_only(
    reason="SQLite のファイルを直接書き換える改ざんの検出。PostgreSQL ではサーバーが書き換えを拒む（test_pg_server_rules.py）"
)
@pytest.mark.parametrize("kind", TAMPERING)
def test_verify_reports_the_tampered_event(demo_session, demo_path, kind):
    claim, payer = payable_claim()
    post_receipt(demo_session, claim.claim_no, TODAY, 5_000, payer.obligor_no)
    newest = last_event().seq
    middle = newest // 2
    assert verify().ok

    bad = tamper(kind, demo_path, middle, newest)

    result = verify()
    assert not result.ok  # detected in every case
    assert result.bad_seq == bad
    assert str(bad) in result.problem


# --------------------------------------------------------------------------- the command


def run_verify(path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(KYUSHO)] if KYUSHO.exists() else [sys.executable, "-m", "kyusho"]
    empty = cwd / "empty-config.toml"
    empty.write_text("", encoding="utf-8")
    return subprocess.run(
        [*cmd, "--db", str(path), "audit", "verify"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "KYUSHO_CONFIG": str(empty), "LANG": "C.UTF-8"},
        timeout=60,
    )


@pytest.mark.sqlite_only(
    reason="SQLite のファイルを直接書き換える改ざんの検出。PostgreSQL ではサーバーが書き換えを拒む（test_pg_server_rules.py）"
)
def test_audit_verify_command_exit_status(demo_session, demo_path, tmp_path):
    # the command runs as the real OS login, which must be registered staff
    add_staff(demo_session, os_login(), "システム担当", "admin")
    newest = last_event().seq

    ok = run_verify(demo_path, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert str(newest) in ok.stdout

    middle = newest // 2
    raw(demo_path, ("UPDATE audit_event SET reason = 'x' WHERE seq = ?", (middle,)))
    bad = run_verify(demo_path, tmp_path)
    assert bad.returncode == 1
    assert f"イベント {middle}" in bad.stderr
    assert bad.stdout == ""
