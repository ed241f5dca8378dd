"""Decisions (起案・決裁) with four-eyes control (SPEC 4.8), enforced here, not in the UI.

A proposal freezes its facts and computed checks; only an approval by someone else holding
the required role applies the effect, in the same transaction; a decided decision never
changes again (a correction is a new decision). A failing check blocks approval unless the
approver records an override with a reason.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from kyusho.errors import InputError, NotFound, PermissionDenied
from kyusho.rules import ledger
from kyusho.rules.periods import period_end
from kyusho.rules.text import LINE_MAX, NOTE_MAX, clean_text
from kyusho.services import projections
from kyusho.services.entries import post_damages_waiver
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from kyusho.vocab import ROLE_RANK
from models import audit
from models.audit import canonical_json
from models.schema import Claim, Decision, Obligor

# kinds whose effect this version applies; 求償権放棄 (waiver) needs the waiver ledger entry
# and the municipal walk-through of SPEC 4.12 and is not offered yet
KINDS = {
    "damages_waiver": "損害金減免",
    "partial_release": "一部弁済による保証債務免除",
    "gl_release": "経営者保証GLによる保証債務免除",
    "suspension": "管理事務停止",
    "reactivation": "管理再開",
    "write_off": "求償権整理",
}
HIGH_KINDS = {"write_off", "waiver"}
SUSPENSION_REASONS = {
    "whereabouts_unknown": "所在不明",
    "discharged_no_recourse": "主債務者の免責・法人格消滅で回収可能な保証人なし",
    "inheritance_renounced": "相続放棄",
    "insolvent": "無資力",
    "limitation_invoked": "時効援用",
    "small_balance": "少額・費用倒れ",
    "collateral_exhausted": "担保処分完了",
}


def decision_dict(d: Decision) -> dict[str, Any]:
    return {
        "decision_id": d.id,
        "kind": d.kind,
        "status": d.status,
        "proposer": d.proposer,
        "approver": d.approver,
        "data": json.loads(d.data),
        "checks": json.loads(d.checks),
        "override_reason": d.override_reason,
    }


def _obligor(claim: Claim, obligor_no: int | None) -> Obligor | None:
    if obligor_no is None:
        return None
    ob = Obligor.get_or_none((Obligor.claim == claim.id) & (Obligor.obligor_no == obligor_no))
    if ob is None:
        raise InputError("関係人番号", f"関係人番号 {obligor_no} はこの求償権にありません")
    return ob


def _validate(
    session: Session, claim: Claim, kind: str, ob: Obligor | None, data: dict[str, Any]
) -> dict[str, Any]:
    """Check the proposal's input and compute its checks (frozen with the proposal)."""
    today = session.today()
    checks: dict[str, Any] = {}
    if kind == "damages_waiver":
        amount = data.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise InputError("減免額", "1円以上の金額を入力してください")
        try:
            on = date.fromisoformat(str(data.get("date") or today.isoformat()))
        except ValueError:
            raise InputError("日付", "日付を YYYY-MM-DD で指定してください") from None
        if on > today or on < claim.subrogation_date:
            raise InputError("日付", "代位弁済日から今日までの日付にしてください")
        rows = projections.entries_of(claim.id)
        maximum = ledger.max_waiver(
            projections.terms_of(claim), [projections.as_engine_entry(r) for r in rows], on
        )
        checks["within_unpaid_damages"] = {"ok": amount <= maximum, "maximum": maximum}
        data = {"amount": amount, "date": on.isoformat()}
    elif kind in ("partial_release", "gl_release"):
        if ob is None or ob.role != "joint_guarantor":
            raise InputError("関係人番号", "免除の対象は連帯保証人です")
        if not ob.liable:
            raise InputError("関係人番号", "この保証人はすでに免除されています")
        release = data.get("release_amount")
        if not isinstance(release, int) or isinstance(release, bool) or release < 0:
            raise InputError("免除額", "0円以上の金額を入力してください")
        data = {"release_amount": release, "payment": int(data.get("payment") or 0)}
    elif kind == "suspension":
        reasons = data.get("reasons") or []
        unknown = [r for r in reasons if r not in SUSPENSION_REASONS]
        if not reasons or unknown:
            raise InputError(
                "停止理由", f"{' / '.join(SUSPENSION_REASONS.values())} から選んでください"
            )
        checks["claim_active"] = {"ok": claim.status == "active"}
        if "small_balance" in reasons:
            total = projections.balance_from_projection(claim, today).total
            quiet = (
                period_end(
                    claim.last_receipt_on, months=session.config.policy.small_balance_quiet_months
                )
                < today
                if claim.last_receipt_on
                else True
            )
            checks["small_balance"] = {
                "ok": total <= session.config.policy.small_balance_yen and quiet,
                "balance": total,
            }
        data = {"reasons": reasons}
    elif kind == "reactivation":
        checks["claim_suspended"] = {"ok": claim.status == "suspended"}
        data = {}
    elif kind == "write_off":
        checks["claim_suspended"] = {"ok": claim.status == "suspended"}
        data = {}
    return {"data": data, "checks": checks}


def propose(
    session: Session,
    claim_no: str,
    kind: str,
    *,
    reason: str,
    obligor_no: int | None = None,
    data: dict[str, Any] | None = None,
) -> Decision:
    if kind not in KINDS:
        raise InputError("種類", f"{' / '.join(KINDS.values())} のいずれかを指定してください")
    reason = clean_text(reason, "理由", max_len=NOTE_MAX)
    if not reason:
        raise InputError("理由", "起案の理由を入力してください")
    with session.writing():
        claim = find_claim(claim_no)
        if claim.status in ("waived", "paid", "written_off"):
            raise InputError("求償権", f"状態が「{claim.status}」の求償権には起案できません")
        if kind == "reactivation":
            _require_suspended(claim)
        ob = _obligor(claim, obligor_no)
        frozen = _validate(session, claim, kind, ob, dict(data or {}))
        d = Decision.create(
            claim=claim,
            kind=kind,
            obligor=ob,
            status="proposed",
            data=canonical_json(frozen["data"]),
            checks=canonical_json(frozen["checks"]),
            proposer=session.login,
            proposed_at=session.now(),
            reason=reason.strip(),
            created_at=session.now(),
        )
        audit.record(
            session.login,
            "decision.propose",
            "claim",
            claim.id,
            after=decision_dict(d),
            reason=reason.strip(),
            at=session.now(),
        )
        return d


def _require_suspended(claim: Claim) -> None:
    """Reactivation restarts a suspended claim only: a written-off or waived claim is closed
    for good (SPEC 4.9), so no check override can reopen it."""
    if claim.status != "suspended":
        raise InputError(
            "求償権",
            f"管理再開は管理事務停止中の求償権だけに起案・承認できます（{claim.claim_no} の状態は「{claim.status}」）",
        )


def _pending(decision_id: int) -> Decision:
    d = Decision.get_or_none(Decision.id == decision_id)
    if d is None:
        raise NotFound(f"決裁 {decision_id} は見つかりません")
    if d.status != "proposed":
        raise InputError(
            "決裁",
            f"この決裁はすでに「{d.status}」です（決裁済みのものは変更できません。訂正は新しい起案で）",
        )
    return d


def _require_approver(session: Session, d: Decision) -> None:
    policy = session.config.policy.approval
    needed = policy.min_role_high if d.kind in HIGH_KINDS else policy.min_role
    if ROLE_RANK[session.role] < ROLE_RANK[needed]:
        raise PermissionDenied(
            f"この決裁には {needed} 以上の権限が必要です（{session.login} は {session.role}）"
        )
    if d.proposer == session.login:
        raise PermissionDenied("自分が起案した決裁は承認・否決できません（四つの目の原則）")


def approve(session: Session, decision_id: int, *, override_reason: str | None = None) -> Decision:
    """Approve and apply the effect; a failing check needs an override with a reason."""
    override_reason = clean_text(override_reason or "", "オーバーライド理由", max_len=LINE_MAX)
    with session.writing():
        d = _pending(decision_id)
        _require_approver(session, d)
        claim = Claim.get_by_id(d.claim_id)
        if d.kind == "reactivation":
            _require_suspended(claim)  # written off since the proposal: no override reopens it
        failing = [k for k, v in json.loads(d.checks).items() if not v.get("ok")]
        if failing and not (override_reason or "").strip():
            raise InputError(
                "オーバーライド理由",
                f"確認項目 {', '.join(failing)} を満たしていません。承認するには理由を記録してください",
            )
        before = decision_dict(d)
        effect = _apply(session, d, claim)
        d.status = "approved"
        d.approver = session.login
        d.decided_at = session.now()
        d.override_reason = (override_reason or "").strip() or None if failing else None
        d.effect = canonical_json(effect)
        d.save()
        audit.record(
            session.login,
            "decision.approve",
            "claim",
            claim.id,
            before=before,
            after=decision_dict(d),
            reason=d.override_reason,
            at=session.now(),
        )
        return d


def reject(session: Session, decision_id: int, reason: str) -> Decision:
    reason = clean_text(reason, "理由", max_len=LINE_MAX)
    if not reason:
        raise InputError("理由", "否決の理由を入力してください")
    with session.writing():
        d = _pending(decision_id)
        _require_approver(session, d)
        return _close(session, d, "rejected", reason, approver=session.login)


def withdraw(session: Session, decision_id: int, reason: str) -> Decision:
    """取下げ: only the proposer (or an admin) may withdraw a pending proposal."""
    reason = clean_text(reason, "理由", max_len=LINE_MAX)
    if not reason:
        raise InputError("理由", "取下げの理由を入力してください")
    with session.writing():
        d = _pending(decision_id)
        if d.proposer != session.login and session.role != "admin":
            raise PermissionDenied("取下げは起案者（または管理者）だけができます")
        return _close(session, d, "withdrawn", reason)


def _close(
    session: Session, d: Decision, status: str, reason: str, *, approver: str | None = None
) -> Decision:
    """End a pending decision without effect (否決 or 取下げ), audited with its reason."""
    before = decision_dict(d)
    d.status, d.decided_at = status, session.now()
    if approver is not None:
        d.approver = approver
    d.save()
    action = {"rejected": "decision.reject", "withdrawn": "decision.withdraw"}[status]
    audit.record(
        session.login,
        action,
        "claim",
        d.claim_id,
        before=before,
        after=decision_dict(d),
        reason=reason.strip(),
        at=session.now(),
    )
    return d


def _apply(session: Session, d: Decision, claim: Claim) -> dict[str, Any]:
    """The effect of an approved decision (inside the approval's transaction)."""
    data = json.loads(d.data)
    today = session.today()
    if d.kind == "damages_waiver":
        entry = post_damages_waiver(
            session, claim, date.fromisoformat(data["date"]), data["amount"], d.id
        )
        return {"entry_id": entry.id}
    if d.kind in ("partial_release", "gl_release"):
        Obligor.update(liable=False, released_on=today).where(Obligor.id == d.obligor_id).execute()
        projections.recompute_clocks(claim)
        return {
            "released_obligor": d.obligor_id,
            "released_on": today.isoformat(),
            "release_amount": data["release_amount"],
        }
    if d.kind == "suspension":
        review = period_end(today, months=session.config.policy.suspension_review_months)
        # the 年度 report sums the balances at decision (SPEC 4.14)
        balance = projections.balance_from_projection(claim, max(today, claim.last_entry_on)).total
        Claim.update(status="suspended", status_since=today, review_on=review).where(
            Claim.id == claim.id
        ).execute()
        return {
            "status": "suspended",
            "review_on": review.isoformat(),
            "on": today.isoformat(),
            "balance": balance,
        }
    if d.kind == "reactivation":
        Claim.update(status="active", status_since=today, review_on=None).where(
            Claim.id == claim.id
        ).execute()
        return {"status": "active"}
    if d.kind == "write_off":
        amount = projections.balance_from_projection(claim, max(today, claim.last_entry_on)).total
        Claim.update(
            status="written_off",
            status_since=today,
            written_off_on=today,
            written_off_amount=amount,
        ).where(Claim.id == claim.id).execute()
        return {
            "status": "written_off",
            "written_off_amount": amount,
            "on": today.isoformat(),
        }
    raise InputError("種類", f"{d.kind} の効果はありません")
