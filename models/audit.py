"""The append-only audit chain (SPEC 6.2).

Each event's hash is sha256(prev_hash + canonical JSON of the event); the chain's head (last
sequence number and hash) is also kept in ``meta``, so removing the newest events is caught
as well as editing, removing or inserting any other. Events are only ever appended, inside
the same IMMEDIATE transaction as the write they describe.

Anyone who can write the SQLite file can still rewrite the whole chain and ``meta`` together
(cut the tail, or re-hash everything after a forged event). Checkpoints close that: the head
(``head()``) written at intervals to a file outside the database that the group cannot
rewrite; ``verify(checkpoints=...)`` then fails unless the chain still holds every
checkpointed head unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from models.db import is_postgres
from models.schema import AuditEvent, Meta_

GENESIS = "0" * 64
HEAD_KEY = "audit_head"


def _default(value: Any) -> str:
    if isinstance(value, (date, datetime, Decimal)):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text kept as is."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default
    )


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(dict(event))).encode("utf-8")).hexdigest()


def _event_body(row: AuditEvent) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at,
        "login": row.login,
        "action": row.action,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "reason": row.reason,
        "before": row.before,
        "after": row.after,
    }


def record(
    login: str,
    action: str,
    entity: str,
    entity_id: object,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
    at: datetime,
) -> AuditEvent:
    """Append one event. Must run inside the write transaction of the change it records.

    ``at`` comes from the acting session's clock, so an event carries the same day as the
    change it records. On PostgreSQL the server numbers and chains the event and takes its
    login from the connection's role (a trigger): ``login`` is then only what the client
    believes, and the stored event says who the server authenticated.
    """
    if is_postgres():
        return _record_on_server(
            _columns(login, action, entity, entity_id, before, after, reason, at)
        )
    head = Meta_.get_or_none(Meta_.key == HEAD_KEY)
    if head is None:
        last_seq, prev = 0, GENESIS
    else:
        seq_text, prev = head.value.split(":", 1)
        last_seq = int(seq_text)
    row = AuditEvent(
        seq=last_seq + 1,
        prev_hash=prev,
        **_columns(login, action, entity, entity_id, before, after, reason, at),
    )
    row.hash = event_hash(prev, _event_body(row))
    row.save(force_insert=True)
    Meta_.insert(key=HEAD_KEY, value=f"{row.seq}:{row.hash}").on_conflict_replace().execute()
    return row


def _columns(
    login: str,
    action: str,
    entity: str,
    entity_id: object,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str | None,
    at: datetime,
) -> dict[str, Any]:
    """An event's stored columns, as the hash reads them."""
    return {
        "at": at.isoformat(timespec="microseconds"),
        "login": login,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "reason": reason,
        "before": canonical_json(before) if before is not None else None,
        "after": canonical_json(after) if after is not None else None,
    }


def _record_on_server(columns: dict[str, Any]) -> AuditEvent:
    cursor = (
        AuditEvent.insert(
            prev_hash="",
            hash="",
            **columns,
        )
        .returning(AuditEvent.seq, AuditEvent.login, AuditEvent.prev_hash, AuditEvent.hash)
        .execute()
    )
    return next(iter(cursor))  # the event as the server numbered, chained and signed it


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str = ""


def head() -> tuple[int, str]:
    """The chain's last event (sequence number, hash), read from the events, not ``meta``."""
    row = AuditEvent.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).first()
    return (row.seq, row.hash) if row is not None else (0, GENESIS)


@dataclass(frozen=True)
class Checkpoint:
    """A head recorded outside the database: the chain must keep it forever."""

    seq: int
    hash: str
    at: str
    db: str

    def to_json(self) -> str:
        return json.dumps(
            {"seq": self.seq, "hash": self.hash, "at": self.at, "db": self.db},
            ensure_ascii=False,
            separators=(", ", ": "),
        )


def parse_checkpoint(line: str) -> Checkpoint:
    """One checkpoint line; ValueError (a Japanese reason) when it is not one."""
    try:
        value = json.loads(line)
    except ValueError:
        raise ValueError("JSON として読めません") from None
    if not isinstance(value, dict):
        raise ValueError(
            '{"seq": 番号, "hash": "...", "at": "...", "db": "..."} の形式ではありません'
        )
    seq, digest = value.get("seq"), value.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq は 0 以上の整数で指定してください")
    if (
        not isinstance(digest, str)
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise ValueError("hash は 64 桁の16進数（sha256）で指定してください")
    at, db = value.get("at", ""), value.get("db", "")
    if not isinstance(at, str) or not isinstance(db, str):
        raise ValueError("at と db は文字列で指定してください")
    return Checkpoint(seq, digest, at, db)


def _checkpoint_failure(
    checkpoints: Iterable[Checkpoint], hashes: Mapping[int, str], last_seq: int, checked: int
) -> VerifyResult | None:
    """The first checkpoint (by sequence) that the chain no longer holds, if any."""
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        when = f"{cp.at} の" if cp.at else ""
        if cp.seq == 0:
            continue  # an empty chain was checkpointed: nothing it must hold
        if cp.seq > last_seq:
            return VerifyResult(
                False,
                checked,
                cp.seq,
                f"{when}チェックポイントではイベント {cp.seq} まで記録されていますが、"
                f"連鎖はイベント {last_seq} で終わっています（末尾のイベントの削除の疑い）",
            )
        if hashes.get(cp.seq) != cp.hash:
            return VerifyResult(
                False,
                checked,
                cp.seq,
                f"イベント {cp.seq} のハッシュが{when}チェックポイントと一致しません"
                "（イベントの削除・挿入・改変のあと連鎖が計算し直された疑い）",
            )
    return None


def verify(checkpoints: Iterable[Checkpoint] = ()) -> VerifyResult:
    """Walk the whole chain; report the first event that does not fit.

    With ``checkpoints``, also fail when the chain no longer holds each checkpointed head
    (the event with that sequence number is gone or has another hash).
    """
    checkpoints = list(checkpoints)
    wanted = {cp.seq for cp in checkpoints}
    hashes: dict[int, str] = {}
    prev = GENESIS
    expected_seq = 1
    checked = 0
    query = AuditEvent.select().order_by(AuditEvent.seq).iterator()
    for row in query:
        if row.seq != expected_seq:
            missing = "削除" if row.seq > expected_seq else "挿入"
            return VerifyResult(
                False,
                checked,
                expected_seq,
                f"イベント {expected_seq} が見つかりません（{missing}の疑い）",
            )
        if row.prev_hash != prev:
            return VerifyResult(
                False,
                checked,
                row.seq,
                f"イベント {row.seq} の前ハッシュが連鎖と一致しません（挿入または削除の疑い）",
            )
        if event_hash(prev, _event_body(row)) != row.hash:
            return VerifyResult(
                False,
                checked,
                row.seq,
                f"イベント {row.seq} の内容がハッシュと一致しません（改変の疑い）",
            )
        if row.seq in wanted:
            hashes[row.seq] = row.hash
        prev = row.hash
        expected_seq += 1
        checked += 1
    head = Meta_.get_or_none(Meta_.key == HEAD_KEY)
    head_value = head.value if head else None
    actual = f"{expected_seq - 1}:{prev}" if checked else None
    if head_value != actual:
        # name the first event that does not fit the recorded head: the first one after it
        # (events appended past it), the head's own event (rewritten), or the first missing one
        recorded_seq = int(head_value.split(":", 1)[0]) if head_value else 0
        if recorded_seq < checked:
            bad = recorded_seq + 1
        elif recorded_seq == checked:
            bad = checked
        else:
            bad = checked + 1
        return VerifyResult(
            False,
            checked,
            bad,
            f"イベント {bad} 付近で連鎖の末尾が記録と一致しません（末尾のイベントの削除・追加・改変の疑い: 記録 {head_value}）",
        )
    failure = _checkpoint_failure(checkpoints, hashes, checked, checked)
    return failure or VerifyResult(True, checked)
