"""Roles are checked when a write happens, not when the session opened (issue 12 point 5).

Two sessions on one database: the admin deactivates or demotes a user, and that user's
session, opened before, is refused at its next write with nothing stored.
"""

from __future__ import annotations

import pytest

from kyusho.errors import PermissionDenied
from kyusho.services import decisions
from kyusho.services.staff import add_staff, deactivate_staff
from models.audit import verify
from models.schema import AuditEvent, Claim, Decision, Staff
from tests.conftest import make_session


@pytest.fixture
def team(demo_session, demo_path):
    add_staff(demo_session, "kacho", "課長", "manager")
    add_staff(demo_session, "tanto", "担当", "staff")
    return {
        "admin": demo_session,
        "manager": make_session(demo_path, "kacho"),
        "staff": make_session(demo_path, "tanto"),
    }


def _proposal(team) -> Decision:
    claim = Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get()
    return decisions.propose(
        team["staff"], claim.claim_no, "damages_waiver", reason="生活困窮", data={"amount": 1000}
    )


def test_a_deactivated_manager_cannot_approve_from_an_old_session(team):
    d = _proposal(team)
    events = AuditEvent.select().count()
    deactivate_staff(team["admin"], "kacho", "退職")
    with pytest.raises(PermissionDenied, match="無効"):
        decisions.approve(team["manager"], d.id)
    assert Decision.get_by_id(d.id).status == "proposed"
    assert AuditEvent.select().count() == events + 1  # only the deactivation
    assert verify().ok


def test_a_demoted_manager_cannot_approve_from_an_old_session(team):
    d = _proposal(team)
    deactivate_staff(team["admin"], "kacho", "異動")
    add_staff(team["admin"], "kacho", "課長", "staff")  # back, as staff
    manager = team["manager"]
    assert manager.role == "manager"  # what the session was opened with
    with pytest.raises(PermissionDenied):
        decisions.approve(manager, d.id)
    assert manager.role == "staff"  # refreshed: every later check sees the new role
    with pytest.raises(PermissionDenied):
        decisions.approve(manager, d.id)  # and the retry is refused by the approver check
    assert Decision.get_by_id(d.id).status == "proposed"


def test_a_demoted_admin_cannot_add_staff_although_the_role_check_ran_before(team, demo_path):
    admin2 = make_session(demo_path)
    add_staff(team["admin"], "kanri2", "管理二", "admin")
    other_admin = make_session(demo_path, "kanri2")
    deactivate_staff(team["admin"], "kanri2", "権限見直し")
    add_staff(team["admin"], "kanri2", "管理二", "manager")
    with pytest.raises(PermissionDenied):
        add_staff(other_admin, "mallory", "マロリー", "admin")
    assert Staff.get_or_none(Staff.login == "mallory") is None
    assert admin2.role == "admin"


def test_a_promotion_is_seen_at_the_next_write(team):
    staff = team["staff"]
    deactivate_staff(team["admin"], "tanto", "昇格")
    add_staff(team["admin"], "tanto", "担当", "manager")
    d = decisions.propose(
        team["manager"],
        Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get().claim_no,
        "damages_waiver",
        reason="生活困窮",
        data={"amount": 1000},
    )
    assert decisions.approve(staff, d.id).status == "approved"
    assert staff.role == "manager"
