"""The 経営者保証GL calculator (SPEC 4.11): every worked case to the yen, and its invariants."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kyusho.errors import InputError
from kyusho.rules.gl import (
    ASSET_KINDS,
    Asset,
    GLInput,
    GLResult,
    calculate,
    living_cost_table,
)

CASES = tomllib.loads((Path(__file__).parent / "examples" / "gl.toml").read_text(encoding="utf-8"))[
    "case"
]
FIGURES = (
    "age",
    "living_days",
    "living_cap",
    "assets_total",
    "free_property",
    "incentive",
    "retained",
    "payment",
    "release",
)


def gl_input(case: dict) -> GLInput:
    return GLInput(
        reference_date=case["reference_date"],
        birth_date=case["birth_date"],
        assets=tuple(
            Asset(
                kind=a["kind"],
                description=a.get("description", ""),
                value=a["value"],
                exempt=a["exempt"],
                home=a["home"],
                keep=a["keep"],
            )
            for a in case["asset"]
        ),
        living_requested=case["living_requested"],
        bankruptcy_dividend=case["bankruptcy_dividend"],
        recovery_increase=case["recovery_increase"],
        liability=case["liability"],
    )


def test_the_examples_file_is_the_shared_one_unchanged():
    shared = Path(__file__).resolve().parents[2] / "shared" / "examples" / "gl.toml"
    if not shared.exists():
        pytest.skip("the shared examples are not next to this checkout")
    assert (Path(__file__).parent / "examples" / "gl.toml").read_bytes() == shared.read_bytes()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_worked_case_to_the_yen(case):
    result = calculate(gl_input(case), living_cost_table())
    expected = case["expected"]
    assert {k: getattr(result, k) for k in FIGURES} == {k: expected[k] for k in FIGURES}
    assert {c.name: c.ok for c in result.checks} == expected["checks"]


def test_a_failing_check_says_by_how_much():
    g2 = next(c for c in CASES if c["name"].startswith("G2"))
    checks = {c.name: c for c in calculate(gl_input(g2), living_cost_table()).checks}
    assert "640,000円 超過" in checks["incentive_within_recovery_increase"].detail
    g3 = next(c for c in CASES if c["name"].startswith("G3"))
    checks = {c.name: c for c in calculate(gl_input(g3), living_cost_table()).checks}
    assert "100,000円 不足" in checks["economic_rationality"].detail


def test_the_band_and_the_policy_default_for_65_and_over():
    g1, g3 = CASES[0], next(c for c in CASES if c["name"].startswith("G3"))
    r1 = calculate(gl_input(g1), living_cost_table())
    assert (r1.band, r1.policy_default_used) == ("45〜59歳", False)
    r3 = calculate(gl_input(g3), living_cost_table())
    assert (r3.band, r3.living_days, r3.policy_default_used) == ("65歳以上", 90, True)
    table = {c.name: c for c in r3.checks}["living_within_table"]
    assert "協会の既定値" in table.detail


def test_the_age_changes_band_on_the_birthday():
    base = gl_input(CASES[0])
    day_before = calculate(
        GLInput(**{**base.__dict__, "birth_date": date(1990, 5, 21)}), living_cost_table()
    )
    birthday = calculate(
        GLInput(**{**base.__dict__, "birth_date": date(1990, 5, 20)}), living_cost_table()
    )
    assert (day_before.age, day_before.living_days) == (34, 240)
    assert (birthday.age, birthday.living_days) == (35, 270)


def test_deposits_are_not_free_cash():
    inp = GLInput(
        reference_date=date(2025, 5, 20),
        birth_date=date(1972, 8, 15),
        assets=(Asset("預金", "普通預金", 2_000_000),),
        living_requested=0,
        bankruptcy_dividend=0,
        recovery_increase=0,
        liability=5_000_000,
    )
    r = calculate(inp, living_cost_table())
    assert (r.free_property, r.payment, r.release) == (0, 2_000_000, 3_000_000)


def test_a_request_keeping_more_than_the_guarantor_has_is_refused():
    inp = GLInput(
        reference_date=date(2025, 5, 20),
        birth_date=date(1972, 8, 15),
        assets=(Asset("現金", "手元現金", 500_000),),
        living_requested=600_000,
        bankruptcy_dividend=0,
        recovery_increase=5_000_000,
        liability=5_000_000,
    )
    with pytest.raises(InputError) as info:
        calculate(inp, living_cost_table())
    assert info.value.field == "生計費"
    assert "600,000円" in str(info.value) or "1,100,000円" in str(info.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": None}, "生年月日"),
        ({"living_requested": -1}, "生計費"),
        ({"bankruptcy_dividend": -5}, "破産配当見込額"),
        ({"assets": (Asset("現金", "x", -1),)}, "財産目録 1行目"),
    ],
)
def test_bad_input_names_the_field(change, field):
    base = gl_input(CASES[0])
    with pytest.raises(InputError) as info:
        calculate(GLInput(**{**base.__dict__, **change}), living_cost_table())
    assert info.value.field == field


assets_st = st.lists(
    st.builds(
        Asset,
        kind=st.sampled_from(ASSET_KINDS),
        description=st.just(""),
        value=st.integers(0, 50_000_000),
        exempt=st.booleans(),
        home=st.booleans(),
        keep=st.booleans(),
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(
    assets=assets_st,
    birth=st.dates(date(1930, 1, 1), date(2005, 12, 31)),
    living=st.integers(0, 10_000_000),
    dividend=st.integers(0, 50_000_000),
    increase=st.integers(0, 50_000_000),
    extra=st.integers(0, 100_000_000),
)
def test_payment_plus_retained_is_the_assets_and_nothing_is_negative(
    assets, birth, living, dividend, increase, extra
):
    inp = GLInput(
        reference_date=date(2025, 6, 1),
        birth_date=birth,
        assets=tuple(assets),
        living_requested=living,
        bankruptcy_dividend=dividend,
        recovery_increase=increase,
        liability=sum(a.value for a in assets) + extra,
    )
    try:
        r = calculate(inp, living_cost_table())
    except InputError:
        assume(False)
        raise
    assert isinstance(r, GLResult)
    assert r.payment + r.retained == r.assets_total
    assert r.release + r.payment == inp.liability
    assert r.retained == r.free_property + r.incentive
    for name in (*FIGURES, "free_cash", "exempt_total", "kept_total", "liquid_available"):
        assert getattr(r, name) >= 0, name
    assert len(r.checks) == 4 and all(c.detail for c in r.checks)


@settings(max_examples=100, deadline=None)
@given(assets=assets_st, living=st.integers(0, 10_000_000))
def test_a_negative_payment_is_always_refused_never_returned(assets, living):
    inp = GLInput(
        reference_date=date(2025, 6, 1),
        birth_date=date(1970, 1, 1),
        assets=tuple(assets),
        living_requested=living,
        bankruptcy_dividend=0,
        recovery_increase=0,
        liability=10**12,
    )
    try:
        r = calculate(inp, living_cost_table())
    except InputError as e:
        assert e.field == "生計費"
        return
    assert r.payment >= 0
