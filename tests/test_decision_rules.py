"""Decision checks, attested items and approval rules through the services (SPEC 4.8–4.10)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kyusho.errors import InputError
from kyusho.rules.dates import add_months
from kyusho.services import decisions
from kyusho.services.entries import cancel_entry, post_receipt, preview_receipt
from kyusho.services.events import add_event
from kyusho.services.maintenance import rebuild
from kyusho.services.staff import add_staff
from models.schema import AuditEvent, ChecklistAnswer, Claim, ClaimMunicipality, Decision, Obligor
from tests.conftest import TODAY, make_session
from tests.test_clocks import BOSS, STAFF, new_claim

NO = "R5-000001"


@pytest.fixture
def s(session, db_path):
    add_staff(session, STAFF, "田中", "staff")
    add_staff(session, BOSS, "部長", "manager")
    session.staff = make_session(db_path, STAFF)
    session.boss = make_session(db_path, BOSS)
    return session


def ob(no: str, n: int) -> Obligor:
    c = Claim.get(Claim.claim_no == no)
    return Obligor.get((Obligor.claim == c.id) & (Obligor.obligor_no == n))


def set_state(no: str, n: int, **values) -> None:
    Obligor.update(**values).where(Obligor.id == ob(no, n).id).execute()


def checks(s, no, kind, **kw) -> dict[str, decisions.Check]:
    return {c.name: c for c in decisions.evaluate(s.staff, no, kind, **kw).checks}


def suspension(s, no, *reasons, attested=None):
    return checks(s, no, "suspension", data={"reasons": list(reasons), "attested": attested or {}})


# --------------------------------------------------------------------------- suspension


def test_whereabouts_unknown_needs_every_liable_obligor(s):
    new_claim(s, NO, date(2023, 4, 3), guarantors=1)
    set_state(NO, 1, state="whereabouts_unknown")
    fail = suspension(s, NO, "whereabouts_unknown")["whereabouts_unknown"]
    assert not fail.ok and "所在不明 1/2人" in fail.detail and "山田 太郎" in fail.detail
    set_state(NO, 2, state="whereabouts_unknown")
    assert suspension(s, NO, "whereabouts_unknown")["whereabouts_unknown"].ok


def test_discharge_with_no_liable_guarantor(s):
    new_claim(s, NO, date(2023, 4, 3), guarantors=1)
    set_state(NO, 1, state="extinguished")
    assert not suspension(s, NO, "discharged_no_recourse")["discharged_no_recourse"].ok
    set_state(NO, 2, liable=False)
    assert suspension(s, NO, "discharged_no_recourse")["discharged_no_recourse"].ok


def test_inheritance_renounced_by_the_obligors_states(s):
    new_claim(s, NO, date(2023, 4, 3), debtor="person", guarantors=1)
    set_state(NO, 1, state="inheritance_renounced")
    assert not suspension(s, NO, "inheritance_renounced")["inheritance_renounced"].ok
    set_state(NO, 2, state="discharged")
    assert suspension(s, NO, "inheritance_renounced")["inheritance_renounced"].ok


def test_insolvent_needs_a_recent_means_test(s):
    new_claim(s, NO, date(2023, 4, 3))
    recent = {"means_test": {"answer": "2026-06-01", "note": "預金・不動産なし"}}
    assert suspension(s, NO, "insolvent", attested=recent)["insolvent"].ok
    old = {"means_test": {"answer": "2025-10-31", "note": "古い調査"}}
    fail = suspension(s, NO, "insolvent", attested=old)["insolvent"]
    assert not fail.ok and "2025-10-31" in fail.detail and "12か月" in fail.detail


def test_limitation_invoked_by_every_liable_obligor(s):
    new_claim(s, NO, date(2015, 6, 1))  # a corporation: completed in 2020
    assert not suspension(s, NO, "limitation_invoked")["limitation_invoked"].ok
    add_event(s, NO, 1, "invoked", date(2026, 1, 10))
    assert suspension(s, NO, "limitation_invoked")["limitation_invoked"].ok


def test_small_balance_needs_the_amount_and_quiet_months(s):
    new_claim(s, NO, date(2023, 4, 3))
    on = date(2024, 1, 10)
    total = preview_receipt(s, NO, on, 1).balance_before.total
    post_receipt(s, NO, on, total - 100_000, 1)
    ok = suspension(s, NO, "small_balance")["small_balance"]
    assert ok.ok and "最終入金 2024-01-10" in ok.detail
    post_receipt(s, NO, date(2026, 1, 10), 1_000, 1)
    assert not suspension(s, NO, "small_balance")["small_balance"].ok
    new_claim(s, "R5-000002", date(2023, 4, 3))  # never paid, but 10,000,000
    big = suspension(s, "R5-000002", "small_balance")["small_balance"]
    assert not big.ok and "残高" in big.detail


def test_collateral_exhausted_is_attested_and_the_claim_must_be_active(s):
    new_claim(s, NO, date(2023, 4, 3))
    ev = decisions.evaluate(s.staff, NO, "suspension", data={"reasons": ["collateral_exhausted"]})
    assert ev.items == [("collateral_disposed", "担保処分の完了")]
    d = decisions.propose(
        s.staff, NO, "suspension", reason="担保処分", data={"reasons": ["collateral_exhausted"]}
    )
    with pytest.raises(decisions.ApprovalRefused) as info:
        decisions.approve(s.boss, d.id)
    assert info.value.failures == ["担保処分の完了: 未回答"]
    decisions.withdraw(s.staff, d.id, "回答してから")
    answered = {"collateral_disposed": {"answer": "充足", "note": "競売配当受領済"}}
    d = decisions.propose(
        s.staff,
        NO,
        "suspension",
        reason="担保処分",
        data={"reasons": ["collateral_exhausted"], "attested": answered},
    )
    decisions.approve(s.boss, d.id)
    assert Claim.get(Claim.claim_no == NO).status == "suspended"
    again = suspension(s, NO, "collateral_exhausted")["claim_active"]
    assert not again.ok


# --------------------------------------------------------------------------- write-off


def test_write_off_needs_suspension_or_a_reason(s):
    new_claim(s, NO, date(2023, 4, 3))
    fail = checks(s, NO, "write_off")["suspended_or_reason"]
    assert not fail.ok and "該当しません" in fail.detail
    set_state(NO, 1, state="whereabouts_unknown")
    ok = checks(s, NO, "write_off")["suspended_or_reason"]
    assert ok.ok and "所在不明" in ok.detail


def test_write_off_items_follow_insurance_and_loss_compensation(s):
    new_claim(s, NO, date(2023, 4, 3))
    assert decisions.attested_items(s, NO, "write_off") == []
    c = Claim.get(Claim.claim_no == NO)
    Claim.update(insurance_type="普通").where(Claim.id == c.id).execute()
    ClaimMunicipality.create(claim=c, name="東京都")
    keys = [k for k, _ in decisions.attested_items(s, NO, "write_off")]
    assert keys == ["jfc_approval", "municipal_position"]


# --------------------------------------------------------------------------- partial release


def paying_guarantor(s) -> None:
    """Guarantor 2 paid 10,000円 monthly for four years, with one gap of 120 days."""
    new_claim(s, NO, date(2022, 4, 1), guarantors=1)
    set_state(NO, 2, birth_date=date(1960, 5, 1))
    d = date(2022, 11, 10)
    while d <= date(2026, 11, 10):
        if not date(2024, 3, 10) < d < date(2024, 7, 10):
            post_receipt(s, NO, date(2024, 7, 8) if d == date(2024, 7, 10) else d, 10_000, 2)
        d = add_months(d, 1)


ALL_ATTESTED = {
    "means_test": {"answer": "2026-10-01", "note": "源泉徴収票・通帳"},
    "income_assets_reviewed": {"answer": "充足", "note": "年金収入のみ"},
    "no_concealed_assets": {"answer": "充足", "note": "登記簿確認"},
    "representation_signed": {"answer": "充足", "note": "2026-10-05 署名"},
    "household_heard": {"answer": "充足", "note": "妻と二人暮らし"},
}


def test_partial_release_worked_figures_and_computed_release_amount(s):
    paying_guarantor(s)
    balance = preview_receipt(s, NO, TODAY, 1).balance_before.total
    d = decisions.propose(
        s.staff,
        NO,
        "partial_release",
        obligor_no=2,
        reason="一部弁済",
        data={"payment": 300_000, "release_amount": 99_999_999_999, "attested": ALL_ATTESTED},
    )
    j = decisions.decision_json(d)
    c = j["computed"]
    assert (c["paying_years"], c["longest_gap_days"], c["age"]) == (4, 120, 66)
    assert (c["total_paid"], c["average_monthly_12m"]) == (460_000, 10_000)
    assert (c["balance"], c["release_amount"]) == (balance, balance - 300_000)
    assert j["data"] == {"payment": 300_000, "release_amount": balance - 300_000}
    assert j["checks"]["paying_years"]["ok"]
    assert j["checks"]["longest_gap"] == {
        "ok": False,
        "detail": "最長の入金間隔 120日（基準 95日以内）",
        "label": "入金間隔",
    }
    assert j["attested"]["household_heard"] == {
        "answer": "充足",
        "note": "妻と二人暮らし",
        "label": "家計・生活状況の聴取",
    }
    assert ChecklistAnswer.select().where(ChecklistAnswer.decision == d.id).count() == 5
    with pytest.raises(decisions.ApprovalRefused) as info:
        decisions.approve(s.boss, d.id)
    assert info.value.failures == ["入金間隔: 最長の入金間隔 120日（基準 95日以内）"]


@pytest.mark.parametrize("payment", [0, -5, "300000", 1.5, True, None, 10**12])
def test_bad_payments_are_refused_naming_the_field(s, payment):
    new_claim(s, NO, date(2023, 4, 3), guarantors=1)
    count = AuditEvent.select().count()
    with pytest.raises(InputError) as info:
        decisions.propose(
            s.staff,
            NO,
            "partial_release",
            obligor_no=2,
            reason="一部弁済",
            data={"payment": payment},
        )
    assert info.value.field == "一部弁済額"
    assert AuditEvent.select().count() == count and not Decision.select().exists()


def test_unknown_age_and_an_old_means_test_fail(s):
    new_claim(s, NO, date(2023, 4, 3), guarantors=1)
    old = {"means_test": {"answer": "2025-01-31", "note": "前回調査"}}
    by = checks(s, NO, "partial_release", obligor_no=2, data={"payment": 1, "attested": old})
    assert not by["age"].ok and "生年月日" in by["age"].detail
    assert not by["means_test_recent"].ok and "2025-01-31" in by["means_test_recent"].detail


def test_attested_answers_are_validated(s):
    new_claim(s, NO, date(2023, 4, 3), guarantors=1)
    bad = [
        ({"means_test": {"answer": "2027-01-01"}}, "資力調査日"),
        ({"means_test": {"answer": "昨日"}}, "資力調査日"),
        ({"household_heard": {"answer": "たぶん"}}, "家計・生活状況の聴取"),
        ({"jfc_approval": {"answer": "2026-01-01"}}, "確認事項"),
    ]
    for attested, field in bad:
        with pytest.raises(InputError) as info:
            decisions.evaluate(
                s.staff,
                NO,
                "partial_release",
                obligor_no=2,
                data={"payment": 1, "attested": attested},
            )
        assert info.value.field == field


# --------------------------------------------------------------------------- approval


def test_override_is_stored_on_the_decision_and_audited(s):
    paying_guarantor(s)
    d = decisions.propose(
        s.staff, NO, "partial_release", obligor_no=2, reason="一部弁済", data={"payment": 300_000}
    )
    with pytest.raises(decisions.ApprovalRefused) as info:
        decisions.approve(s.boss, d.id)
    assert "資力調査日: 未回答" in info.value.failures and len(info.value.failures) == 7
    assert Decision.get_by_id(d.id).status == "proposed"
    decisions.approve(s.boss, d.id, override_reason="所長判断（間隔は入院のため）")
    j = decisions.decision_json(Decision.get_by_id(d.id))
    assert (j["status"], j["override_reason"]) == ("approved", "所長判断（間隔は入院のため）")
    event = AuditEvent.select().where(AuditEvent.action == "decision.approve").get()
    assert event.reason == "所長判断（間隔は入院のため）"
    assert (
        "入金間隔: 最長の入金間隔 120日（基準 95日以内）" in json.loads(event.after)["overridden"]
    )


def test_partial_release_takes_effect_on_the_payment(s):
    paying_guarantor(s)
    d = decisions.propose(
        s.staff,
        NO,
        "partial_release",
        obligor_no=2,
        reason="一部弁済",
        data={"payment": 300_000, "attested": ALL_ATTESTED},
    )
    decisions.approve(s.boss, d.id, override_reason="入院による中断")
    assert ob(NO, 2).liable  # approved, but not paid yet
    post_receipt(s, NO, TODAY - date.resolution, 300_000, 2)  # dated before the approval
    post_receipt(s, NO, TODAY, 299_999, 2)  # short of the payment
    post_receipt(s, NO, TODAY, 100_000, 1)  # from someone else
    assert ob(NO, 2).liable
    paid = post_receipt(s, NO, TODAY, 300_000, 2)
    g = ob(NO, 2)
    assert (g.liable, g.released_on, g.lim_state) == (False, TODAY, "released")
    assert ob(NO, 1).liable
    assert json.loads(Decision.get_by_id(d.id).effect)["entry_id"] == paid.id
    assert rebuild(s, write=False).changed == 0
    with pytest.raises(InputError):  # the release rests on it
        cancel_entry(s, paid.id, "誤入力")
    with pytest.raises(InputError):  # released: no second release
        decisions.propose(
            s.staff, NO, "partial_release", obligor_no=2, reason="再", data={"payment": 1}
        )


def test_a_payment_already_received_today_releases_at_approval(s):
    paying_guarantor(s)
    d = decisions.propose(
        s.staff,
        NO,
        "partial_release",
        obligor_no=2,
        reason="一部弁済",
        data={"payment": 50_000, "attested": ALL_ATTESTED},
    )
    post_receipt(s, NO, TODAY, 50_000, 2)
    decisions.approve(s.boss, d.id, override_reason="入院による中断")
    assert (ob(NO, 2).liable, ob(NO, 2).lim_state) == (False, "released")
    assert rebuild(s, write=False).changed == 0


def test_awaiting_me_lists_what_this_user_may_approve(s):
    new_claim(s, NO, date(2023, 4, 3))
    d = decisions.propose(
        s.staff, NO, "suspension", reason="無資力", data={"reasons": ["insolvent"]}
    )
    assert [x.id for x in decisions.list_decisions(s.boss, awaiting_me=True)] == [d.id]
    assert decisions.list_decisions(s.staff, awaiting_me=True) == []
    assert [x.id for x in decisions.list_decisions(s, pending=True, claim_no=NO)] == [d.id]
    j = decisions.decision_json(d)
    assert (j["claim_no"], j["kind_label"], j["status_label"]) == (NO, "管理事務停止", "起案中")
    assert j["attested"] == {"means_test": {"answer": None, "note": "", "label": "資力調査日"}}


def test_evaluate_stores_nothing(s):
    new_claim(s, NO, date(2023, 4, 3))
    count = AuditEvent.select().count()
    decisions.evaluate(s.staff, NO, "suspension", data={"reasons": ["small_balance"]})
    assert AuditEvent.select().count() == count and not Decision.select().exists()
