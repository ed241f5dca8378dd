"""The append-only audit chain (SPEC 6.2).

Each event's hash is sha256(prev_hash + canonical JSON of the event); the chain's head (last
sequence number and hash) is also kept in ``meta``, so removing the newest events is caught
as well as editing, removing or inserting any other. Events are only ever appended, inside
the same IMMEDIATE transaction as the write they describe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    change it records.
    """
    head = Meta_.get_or_none(Meta_.key == HEAD_KEY)
    if head is None:
        last_seq, prev = 0, GENESIS
    else:
        seq_text, prev = head.value.split(":", 1)
        last_seq = int(seq_text)
    row = AuditEvent(
        seq=last_seq + 1,
        at=at.isoformat(timespec="microseconds"),
        login=login,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        reason=reason,
        before=canonical_json(before) if before is not None else None,
        after=canonical_json(after) if after is not None else None,
        prev_hash=prev,
    )
    row.hash = event_hash(prev, _event_body(row))
    row.save(force_insert=True)
    Meta_.insert(key=HEAD_KEY, value=f"{row.seq}:{row.hash}").on_conflict_replace().execute()
    return row


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str = ""


def verify() -> VerifyResult:
    """Walk the whole chain; report the first event that does not fit."""
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
    return VerifyResult(True, checked)
