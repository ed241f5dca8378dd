"""Decisions and four-eyes control, enforced in the services layer (SPEC 4.8, 6.2)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from kyusho.config import ApprovalPolicy
from kyusho.errors import InputError, PermissionDenied
from kyusho.services import decisions, projections
from kyusho.services.claims import claim_view, find_claim
from kyusho.services.entries import post_receipt
from kyusho.services.maintenance import rebuild
from kyusho.services.staff import add_staff
from models.audit import verify
from models.schema import AuditEvent, Claim, Decision, LedgerEntry, Obligor
from tests.conftest import TODAY, make_session


@pytest.fixture
def team(demo_session, demo_path):
    add_staff(demo_session, "tanaka2", "田中 二郎", "staff")
    add_staff(demo_session, "kacho", "課長", "manager")
    add_staff(demo_session, "kacho2", "課長二", "manager")
    return {
        "admin": demo_session,
        "staff": make_session(demo_path, "tanaka2"),
        "manager": make_session(demo_path, "kacho"),
        "manager2": make_session(demo_path, "kacho2"),
    }


MEANS_TEST = {"means_test": {"answer": "2026-10-01", "note": "預金・不動産なし"}}


def write_off_answers(session, claim_no: str) -> dict:
    """Answer the write-off items that apply (公庫 approval, municipal position)."""
    answers = {"jfc_approval": "2026-11-01", "municipal_position": "充足"}
    return {
        "attested": {
            k: {"answer": answers[k], "note": "公庫承認 第123号 / 同意書"}
            for k, _ in decisions.attested_items(session, claim_no, "write_off")
        }
    }


def active_claim_with_damages() -> Claim:
    return Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()


def test_staff_cannot_approve_even_through_a_direct_call(team):
    claim = active_claim_with_damages()
    d = decisions.propose(
        team["manager"], claim.claim_no, "damages_waiver", reason="生活困窮", data={"amount": 1000}
    )
    with pytest.raises(PermissionDenied):
        decisions.approve(team["staff"], d.id)
    with pytest.raises(PermissionDenied):
        decisions.reject(team["staff"], d.id, "不可")
    assert decisions._pending(d.id).status == "proposed"


def test_nobody_approves_their_own_proposal(team):
    claim = active_claim_with_damages()
    d = decisions.propose(
        team["manager"],
        claim.claim_no,
        "suspension",
        reason="所在不明",
        data={"reasons": ["whereabouts_unknown"]},
    )
    with pytest.raises(PermissionDenied):
        decisions.approve(team["manager"], d.id)
    assert find_claim(claim.claim_no).status == "active"


def test_approved_damages_waiver_is_applied_to_the_ledger(team):
    claim = active_claim_with_damages()
    before = claim_view(team["admin"], claim.claim_no, TODAY).balance
    d = decisions.propose(
        team["staff"],
        claim.claim_no,
        "damages_waiver",
        reason="分割完済の条件",
        data={"amount": 10_000, "date": TODAY.isoformat()},
    )
    approved = decisions.approve(team["manager"], d.id)
    assert approved.status == "approved" and approved.approver == "kacho"
    entry = LedgerEntry.get(
        (LedgerEntry.claim == claim.id) & (LedgerEntry.kind == "damages_waiver")
    )
    assert (entry.amount, entry.decision_id) == (10_000, d.id)
    after = claim_view(team["admin"], claim.claim_no, TODAY).balance
    assert after.damages == before.damages - 10_000
    assert rebuild(team["admin"], write=False).changed == 0
    # decided: immutable
    with pytest.raises(InputError):
        decisions.approve(team["manager2"], d.id)
    with pytest.raises(InputError):
        decisions.withdraw(team["staff"], d.id, "やめる")


def test_a_failing_check_needs_an_override_reason(team):
    claim = active_claim_with_damages()
    unpaid = claim_view(team["admin"], claim.claim_no, TODAY).balance.damages
    d = decisions.propose(
        team["staff"],
        claim.claim_no,
        "damages_waiver",
        reason="全額減免",
        data={"amount": unpaid + 1},
    )
    check = json.loads(d.checks)["within_unpaid_damages"]
    assert check["ok"] is False and f"未払損害金 {unpaid:,}円以内" in check["detail"]
    with pytest.raises(decisions.ApprovalRefused) as info:
        decisions.approve(team["manager"], d.id)
    assert info.value.failures == [f"未払損害金の範囲内: {check['detail']}"]
    assert decisions._pending(d.id).status == "proposed"


def test_suspension_then_reactivation(team):
    claim = active_claim_with_damages()
    Obligor.update(state="whereabouts_unknown").where(Obligor.claim == claim.id).execute()
    d = decisions.propose(
        team["staff"],
        claim.claim_no,
        "suspension",
        reason="所在調査の結果",
        data={
            "reasons": ["whereabouts_unknown"],
            "attested": {"last_whereabouts_check": {"answer": "2026-11-01", "note": "住民票"}},
        },
    )
    decisions.approve(team["manager"], d.id)
    c = find_claim(claim.claim_no)
    assert (c.status, c.review_on) == ("suspended", date(2027, 11, 22))
    r = decisions.propose(team["staff"], claim.claim_no, "reactivation", reason="新住所判明")
    decisions.approve(team["manager2"], r.id)
    assert find_claim(claim.claim_no).status == "active"


def test_write_off_freezes_the_balance_and_needs_the_high_role_when_configured(team, demo_path):
    claim = active_claim_with_damages()
    s = decisions.propose(
        team["staff"],
        claim.claim_no,
        "suspension",
        reason="無資力",
        data={"reasons": ["insolvent"], "attested": MEANS_TEST},
    )
    decisions.approve(team["manager"], s.id)
    w = decisions.propose(
        team["staff"],
        claim.claim_no,
        "write_off",
        reason="回収不能",
        data=write_off_answers(team["staff"], claim.claim_no),
    )
    strict = make_session(demo_path, "kacho2")
    strict.config = replace(
        strict.config,
        policy=replace(strict.config.policy, approval=ApprovalPolicy("manager", "admin")),
    )
    with pytest.raises(PermissionDenied):
        decisions.approve(strict, w.id)
    decisions.approve(team["admin"], w.id)
    c = find_claim(claim.claim_no)
    expected = projections.balance_from_projection(c, TODAY).total
    assert (c.status, c.written_off_on, c.written_off_amount) == ("written_off", TODAY, expected)


def test_partial_release_releases_the_guarantor_and_their_clock_on_payment(team):
    g = (
        Obligor.select()
        .join(Claim)
        .where((Obligor.role == "joint_guarantor") & (Claim.status == "active"))
        .order_by(Obligor.id)
        .get()
    )
    claim_no = g.claim.claim_no
    d = decisions.propose(
        team["staff"],
        claim_no,
        "partial_release",
        obligor_no=g.obligor_no,
        reason="一部弁済",
        data={"payment": 100_000},
    )
    decisions.approve(team["manager"], d.id, override_reason="課長判断")
    assert Obligor.get_by_id(g.id).liable  # released by the payment, not the approval
    post_receipt(team["admin"], claim_no, TODAY, 100_000, g.obligor_no)
    g = Obligor.get_by_id(g.id)
    assert (g.liable, g.released_on, g.lim_state) == (False, TODAY, "released")
    assert rebuild(team["admin"], write=False).changed == 0
    with pytest.raises(InputError):  # already released
        decisions.propose(
            team["staff"],
            claim_no,
            "partial_release",
            obligor_no=g.obligor_no,
            reason="再",
            data={"payment": 1},
        )


def test_withdraw_only_by_the_proposer_and_every_step_is_audited(team):
    claim = active_claim_with_damages()
    d = decisions.propose(
        team["staff"],
        claim.claim_no,
        "suspension",
        reason="少額",
        data={"reasons": ["small_balance"]},
    )
    with pytest.raises(PermissionDenied):
        decisions.withdraw(team["manager"], d.id, "不要")
    decisions.withdraw(team["staff"], d.id, "誤起案")
    actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.seq.desc()).limit(2)]
    assert actions == ["decision.withdraw", "decision.propose"]
    assert verify().ok


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("damages_waiver", {"amount": 0}, "減免額"),
        ("damages_waiver", {"amount": 10, "date": "2999-01-01"}, "日付"),
        ("suspension", {"reasons": ["bored"]}, "停止理由"),
        ("waiver", {}, "放棄案件"),
    ],
)
def test_bad_proposals_name_the_field_and_store_nothing(team, kind, data, field):
    claim = active_claim_with_damages()
    count = AuditEvent.select().count()
    with pytest.raises(InputError) as info:
        decisions.propose(team["staff"], claim.claim_no, kind, reason="理由", data=data)
    assert info.value.field == field
    assert AuditEvent.select().count() == count


def _suspend(team, claim_no: str) -> None:
    s = decisions.propose(
        team["staff"],
        claim_no,
        "suspension",
        reason="無資力",
        data={"reasons": ["insolvent"], "attested": MEANS_TEST},
    )
    decisions.approve(team["manager"], s.id)


def _write_off(team, claim_no: str) -> None:
    w = decisions.propose(
        team["staff"],
        claim_no,
        "write_off",
        reason="回収不能",
        data=write_off_answers(team["staff"], claim_no),
    )
    decisions.approve(team["admin"], w.id)


def test_a_written_off_claim_is_never_reactivated(team):
    claim = active_claim_with_damages()
    _suspend(team, claim.claim_no)
    pending = decisions.propose(team["staff"], claim.claim_no, "reactivation", reason="新住所判明")
    _write_off(team, claim.claim_no)
    # proposed while suspended; approving it after the write-off is refused, override or not
    for override in (None, "例外として再開"):
        with pytest.raises(InputError) as info:
            decisions.approve(team["manager2"], pending.id, override_reason=override)
        assert info.value.field == "求償権" and "管理再開" in info.value.message
    assert decisions._pending(pending.id).status == "proposed"
    # and a new proposal on the written-off claim is refused, storing nothing
    count = AuditEvent.select().count()
    with pytest.raises(InputError) as info:
        decisions.propose(team["staff"], claim.claim_no, "reactivation", reason="入金あり")
    assert info.value.field == "求償権"
    assert AuditEvent.select().count() == count
    c = find_claim(claim.claim_no)
    assert (c.status, c.written_off_on) == ("written_off", TODAY)


def test_reactivation_of_an_active_claim_is_refused_at_proposal(team):
    claim = active_claim_with_damages()
    with pytest.raises(InputError) as info:
        decisions.propose(team["staff"], claim.claim_no, "reactivation", reason="念のため")
    assert "管理事務停止中" in info.value.message
    assert not list(Decision.select().where(Decision.claim == claim.id))
