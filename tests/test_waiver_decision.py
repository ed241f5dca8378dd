"""The waiver decision (SPEC 4.8, 4.12): approved only after the municipalities, applied as a
waiver ledger entry; a full waiver closes the claim; a transfer records its price."""

from __future__ import annotations

from datetime import date

import pytest

from kyusho.services import decisions, waiver
from kyusho.services.claims import find_claim
from kyusho.services.maintenance import rebuild
from kyusho.services.staff import add_staff
from models.schema import Claim, LedgerEntry
from tests.conftest import make_session
from tests.test_waiver_service import CLAIM_NO, make_claim


@pytest.fixture
def team(session, db_path):
    add_staff(session, "kacho", "課長", "manager")
    make_claim(session, "福岡県・青森県")
    return {"admin": session, "manager": make_session(db_path, "kacho")}


def approve_all(session, case_id: int, name: str = "福岡県") -> None:
    for step, on in (
        ("consultation", date(2026, 10, 1)),
        ("application", date(2026, 10, 10)),
        ("approved", date(2026, 11, 1)),
    ):
        waiver.record_step(session, case_id, name, step, on)


def test_approval_is_refused_until_every_municipality_approved_and_no_override(team):
    case = waiver.open_case(
        team["admin"], CLAIM_NO, "adr", planned_date=date(2026, 11, 22), kind="waiver"
    )
    d = decisions.propose(team["manager"], CLAIM_NO, "waiver", reason="ADR成立")
    with pytest.raises(decisions.ApprovalRefused) as e:
        decisions.approve(team["admin"], d.id, override_reason="急ぎ")
    assert "福岡県" in str(e.value) and "青森県" not in str(e.value)
    assert Claim.get().status == "active"
    approve_all(team["admin"], case.id)
    d = decisions.approve(team["admin"], d.id)
    claim = find_claim(CLAIM_NO)
    assert d.status == "approved" and claim.status == "waived"
    entry = LedgerEntry.get(LedgerEntry.kind == "waiver")
    assert entry.amount > 10_000_000
    assert claim.principal_outstanding == 0 and claim.damages_at_last == 0
    # the waiver entry is a projection like any other: rebuild finds nothing to change
    assert rebuild(team["admin"], write=False).changed == 0


def test_a_partial_waiver_reduces_the_balance_and_keeps_the_claim_active(team):
    case = waiver.open_case(
        team["admin"], CLAIM_NO, "adr", planned_date=date(2026, 11, 22), kind="waiver"
    )
    approve_all(team["admin"], case.id)
    d = decisions.propose(
        team["manager"], CLAIM_NO, "waiver", reason="一部放棄", data={"amount": 1_000_000}
    )
    decisions.approve(team["admin"], d.id)
    claim = find_claim(CLAIM_NO)
    assert claim.status == "active"
    assert LedgerEntry.get(LedgerEntry.kind == "waiver").amount == 1_000_000
    import json

    assert json.loads(decisions.Decision.get_by_id(d.id).effect)["amount"] == 1_000_000


def test_a_discounted_transfer_records_the_price_and_waives_the_rest(team):
    case = waiver.open_case(
        team["admin"],
        CLAIM_NO,
        "adr",
        planned_date=date(2026, 11, 22),
        kind="transfer",
        transfer_price=2_000_000,
    )
    approve_all(team["admin"], case.id)
    d = decisions.propose(team["manager"], CLAIM_NO, "waiver", reason="不等価譲渡")
    decisions.approve(team["admin"], d.id)
    receipt = LedgerEntry.get(LedgerEntry.kind == "receipt")
    waived = LedgerEntry.get(LedgerEntry.kind == "waiver")
    assert receipt.amount == 2_000_000
    assert find_claim(CLAIM_NO).status == "waived"
    assert find_claim(CLAIM_NO).principal_outstanding == 0
    assert waived.amount > 8_000_000


def test_a_waiver_needs_an_open_case(team):
    from kyusho.errors import InputError

    with pytest.raises(InputError) as e:
        decisions.propose(team["manager"], CLAIM_NO, "waiver", reason="x")
    assert e.value.field == "放棄案件"
