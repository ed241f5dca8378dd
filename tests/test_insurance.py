"""Insurance on the claim (issue 17.1): shown, in `claim show --json`, and an audited edit."""

from __future__ import annotations

import json
from datetime import date

import pytest
from test_remittance_ledger import NO, UNINSURED, _setup

from kyusho.errors import InputError
from kyusho.services.claims import claim_json, claim_view, update_claim
from kyusho.services.session import Session
from models.schema import AuditEvent, Claim


@pytest.fixture
def claims(session: Session) -> Session:
    _setup(session)
    return session


def _version(no: str) -> int:
    return Claim.get(Claim.claim_no == no).version


def test_claim_json_has_the_insurance_or_null(claims: Session) -> None:
    assert claim_json(claim_view(claims, NO))["insurance"] == {
        "type": "普通保険",
        "cover_ratio": "80",
        "paid": 8000000,
        "paid_on": "2024-07-10",
    }
    assert claim_json(claim_view(claims, UNINSURED))["insurance"] is None


def test_recording_the_insurance_is_an_audited_edit(claims: Session) -> None:
    changes = {
        "insurance_type": "普通保険",
        "cover_ratio": "７０％",
        "insurance_paid": "7,000,000",
        "insurance_paid_on": "R6.8.1",
    }
    update_claim(claims, UNINSURED, _version(UNINSURED), changes)
    assert claim_json(claim_view(claims, UNINSURED))["insurance"] == {
        "type": "普通保険",
        "cover_ratio": "70",
        "paid": 7000000,
        "paid_on": "2024-08-01",
    }
    event = AuditEvent.select().where(AuditEvent.action == "claim.update").get()
    before, after = json.loads(event.before), json.loads(event.after)
    assert (before["insurance_paid"], after["insurance_paid"]) == (None, 7000000)
    assert after["insurance_paid_on"] == "2024-08-01"


def test_changing_a_received_insurance_needs_a_reason(claims: Session) -> None:
    with pytest.raises(InputError) as err:
        update_claim(claims, NO, _version(NO), {"insurance_paid": 7_900_000})
    assert err.value.field == "理由"
    assert Claim.get(Claim.claim_no == NO).insurance_paid == 8_000_000
    update_claim(claims, NO, _version(NO), {"insurance_paid": 7_900_000}, reason="保険金額訂正")
    assert Claim.get(Claim.claim_no == NO).insurance_paid == 7_900_000


@pytest.mark.parametrize(
    ("no", "changes", "field"),
    [
        (UNINSURED, {"insurance_paid": 1_000_000}, "保険種類"),
        (UNINSURED, {"insurance_type": "普通保険"}, "てん補率"),
        (NO, {"insurance_paid_on": None}, "保険金受領日"),
        (NO, {"cover_ratio": "120"}, "てん補率"),
        (NO, {"insurance_paid": "-5"}, "保険金"),
        (NO, {"insurance_paid_on": date(2024, 1, 1)}, "保険金受領日"),  # before subrogation
        (NO, {"insurance_paid_on": date(2030, 1, 1)}, "保険金受領日"),  # in the future
    ],
)
def test_inconsistent_insurance_is_refused_and_nothing_stored(
    claims: Session, no: str, changes: dict, field: str
) -> None:
    before = Claim.get(Claim.claim_no == no)
    with pytest.raises(InputError) as err:
        update_claim(claims, no, before.version, changes, reason="訂正")
    assert err.value.field == field
    after = Claim.get(Claim.claim_no == no)
    assert (after.version, after.insurance_paid, after.insurance_paid_on) == (
        before.version,
        before.insurance_paid,
        before.insurance_paid_on,
    )


async def test_the_claim_detail_shows_the_insurance(claims: Session) -> None:
    from test_tui import SIZE, settle

    from kyusho.app import KyushoApp
    from screens.claim_detail import ClaimDetailScreen

    app = KyushoApp(claims)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_claim(NO)
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
        summary = str(app.screen.query_one("#detail-summary").content)
        assert "保険 普通保険 てん補率80% 保険金 8,000,000円" in summary
        assert "受領" in summary
