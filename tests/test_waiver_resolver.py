"""The ordinance resolver (SPEC 4.12) for every one of the 51 governments and every scheme."""

from __future__ import annotations

import pytest

from kyusho.rules import reference
from kyusho.rules.waiver import ASSEMBLY, CONFIRM_CLOSURE, ZERO_ZERO, resolve, schemes

GOVERNMENTS = reference.load("ordinances")["government"]
SCHEMES = schemes()


def test_the_reference_has_51_governments_and_8_schemes():
    assert len(GOVERNMENTS) == 51
    counts = {
        s: sum(g["status"] == s for g in GOVERNMENTS)
        for s in ("enacted", "not_required", "not_enacted")
    }
    assert counts == {"enacted": 34, "not_required": 12, "not_enacted": 5}
    assert len(SCHEMES) == 8


def expected(gov: dict, kind: str) -> tuple[str, bool]:
    if gov["status"] == "not_required":
        return "not_required", False
    if gov["status"] == "not_enacted":
        return "not_enacted", True
    return "enacted", kind == "closure" and not gov.get("covers_closure", False)


@pytest.mark.parametrize("gov", GOVERNMENTS, ids=[g["name"] for g in GOVERNMENTS])
@pytest.mark.parametrize(("scheme", "kind"), [(k, kd) for k, _n, kd in SCHEMES])
def test_every_government_under_every_scheme(gov, scheme, kind):
    r = resolve(gov["name"], scheme)
    assert (r.status, r.assembly_resolution_needed) == expected(gov, kind)
    assert r.municipality == gov["name"]
    assert (ZERO_ZERO in r.notes) == bool(gov.get("zero_zero_loss_compensation"))
    confirm = gov["status"] == "enacted" and kind == "closure" and gov.get("covers_closure")
    assert (CONFIRM_CLOSURE in r.notes) == bool(confirm)
    if r.assembly_resolution_needed:
        assert any(ASSEMBLY in n for n in r.notes)


def test_tokyo_subsidy_with_an_ordinance_is_enacted():
    assert resolve("東京都", "adr").status == "enacted"
    assert resolve("神奈川県", "adr").status == "not_required"


def test_a_named_closure_scheme_is_said_and_the_other_needs_the_assembly():
    govs = [
        {
            "name": "X市",
            "status": "enacted",
            "covers_closure": True,
            "closure_schemes": ["sme_gl_closure"],
        }
    ]
    covered = resolve("X市", "sme_gl_closure", govs)
    assert not covered.assembly_resolution_needed and CONFIRM_CLOSURE not in covered.notes
    other = resolve("X市", "revic_special", govs)
    assert other.assembly_resolution_needed


def test_an_unknown_municipality_needs_the_assembly():
    r = resolve("久留米市", "adr")
    assert (r.status, r.assembly_resolution_needed) == ("not_enacted", True)
