"""The limitation engine: the spec's worked cases, each rule of SPEC 4.6, and invariants."""

from __future__ import annotations

import random
import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyusho.rules.limitation import (
    Clock,
    Event,
    ObligorRef,
    compute_clocks,
    regime_years,
)
from kyusho.rules.periods import period_end
from kyusho.vocab import EVENT_KINDS, LIMITATION_STATES


def _examples_file(name: str) -> Path:
    """The repository copy of a worked-example file first, then ../shared next to the repo."""
    here = Path(__file__).resolve().parent
    candidates = (here / "examples" / name, here.parent.parent / "shared" / "examples" / name)
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} not found in any of: {', '.join(map(str, candidates))}")


def _cases() -> list[dict]:
    with _examples_file("limitation.toml").open("rb") as fh:
        return tomllib.load(fh)["case"]


def _opt(value: date | str) -> date | None:
    return None if value == "" else value


P = ObligorRef(1, "principal_debtor")
G2 = ObligorRef(2, "joint_guarantor")
G3 = ObligorRef(3, "joint_guarantor")


def _ev(obligor: int, day: date, kind: str, seq: int, until: date | None = None) -> Event:
    return Event(obligor_id=obligor, date=day, kind=kind, seq=seq, until=until)


def _clocks(
    events: list[Event],
    *,
    obligors: tuple[ObligorRef, ...] = (P,),
    subrogation: date = date(2021, 1, 10),
    years: int = 5,
    as_of: date = date(2025, 1, 1),
) -> dict[int, Clock]:
    return compute_clocks(subrogation, years, obligors, events, as_of)


# -- worked examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["name"])
def test_worked_example(case: dict) -> None:
    obligors = [ObligorRef(o["id"], o["role"]) for o in case["obligor"]]
    events = [
        Event(e["obligor"], e["date"], e["kind"], seq, _opt(e.get("until", "")))
        for seq, e in enumerate(case.get("event", []), start=1)
    ]
    clocks = compute_clocks(
        case["subrogation_date"], case["period_years"], obligors, events, case["as_of"]
    )
    for expected in case["expected"]:
        clock = clocks[expected["obligor"]]
        assert clock.own_completes_on == _opt(expected["own_completes_on"])
        assert clock.completes_on == _opt(expected["completes_on"])
        assert clock.state == expected["state"]


# -- regime and start --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contract", "merchant", "years"),
    [
        (date(2020, 4, 1), False, 5),  # 2020 民法 from its first day
        (date(2023, 9, 1), False, 5),
        (date(2020, 3, 31), True, 5),  # former 商法522条
        (date(2020, 3, 31), False, 10),  # former 民法167条, non-merchant individual
        (date(2015, 6, 1), False, 10),
    ],
)
def test_regime_years(contract: date, merchant: bool, years: int) -> None:
    assert regime_years(contract, merchant) == years


def test_clock_starts_the_day_after_subrogation() -> None:
    clock = _clocks([], subrogation=date(2024, 2, 29), as_of=date(2025, 1, 1))[1]
    assert clock.own_completes_on == date(2029, 2, 28)
    assert (clock.basis, clock.basis_date, clock.basis_seq) == (
        "subrogation",
        date(2024, 2, 29),
        None,
    )
    assert clock.state == "running"
    assert clock.period_years == 5


def test_non_merchant_pre_2020_regime_runs_ten_years() -> None:
    years = regime_years(date(2019, 5, 1), principal_is_merchant=False)
    clock = _clocks([], subrogation=date(2019, 11, 5), years=years)[1]
    assert clock.own_completes_on == date(2029, 11, 5)
    assert clock.period_years == 10


def test_collateral_provider_has_no_clock() -> None:
    clocks = _clocks([], obligors=(P, ObligorRef(4, "collateral_provider")))
    assert set(clocks) == {1}


# -- renewal -----------------------------------------------------------------------------------


def test_receipt_is_an_acknowledgement_and_renews_same_length() -> None:
    clock = _clocks([_ev(1, date(2023, 8, 31), "receipt", 1)])[1]
    assert clock.own_completes_on == date(2028, 8, 31)
    assert (clock.basis, clock.basis_date, clock.basis_seq) == (
        "acknowledgement",
        date(2023, 8, 31),
        1,
    )


def test_judgment_makes_ten_years_and_later_acknowledgement_keeps_ten() -> None:
    events = [
        _ev(1, date(2022, 5, 9), "suit_filed", 1),
        _ev(1, date(2022, 9, 30), "judgment_final", 2),
        _ev(1, date(2024, 3, 1), "receipt", 3),
    ]
    clock = _clocks(events)[1]
    assert clock.own_completes_on == date(2034, 3, 1)
    assert clock.period_years == 10


def test_enforcement_pending_then_ended_renews() -> None:
    filed = [_ev(1, date(2025, 11, 1), "enforcement_filed", 1)]
    pending = _clocks(filed, as_of=date(2026, 3, 1))[1]
    assert pending.own_completes_on is None and pending.completes_on is None
    assert pending.state == "suspended"
    assert (pending.basis, pending.basis_date) == ("enforcement_filed", date(2025, 11, 1))

    ended = filed + [_ev(1, date(2026, 4, 20), "enforcement_ended", 2)]
    clock = _clocks(ended, as_of=date(2026, 5, 1))[1]
    assert clock.own_completes_on == date(2031, 4, 20)
    assert clock.basis == "enforcement_ended"
    assert clock.period_years == 5


def test_enforcement_withdrawn_gives_six_months_not_before_the_running_period() -> None:
    early = [
        _ev(1, date(2023, 1, 5), "enforcement_filed", 1),
        _ev(1, date(2023, 3, 1), "enforcement_withdrawn", 2),
    ]
    clock = _clocks(early)[1]
    assert clock.own_completes_on == date(2026, 1, 10)  # the running period is later
    assert clock.basis == "subrogation"

    late = [
        _ev(1, date(2025, 12, 1), "enforcement_filed", 1),
        _ev(1, date(2026, 2, 16), "enforcement_withdrawn", 2),
    ]
    clock = _clocks(late, as_of=date(2026, 3, 1))[1]
    assert clock.own_completes_on == date(2026, 8, 16)
    assert clock.basis == "enforcement_withdrawn"


def test_provisional_attachment_suspends_and_its_end_gives_six_months() -> None:
    filed = [_ev(1, date(2025, 10, 20), "provisional_filed", 1)]
    assert _clocks(filed, as_of=date(2026, 6, 1))[1].state == "suspended"
    ended = filed + [_ev(1, date(2026, 6, 30), "provisional_ended", 2)]
    clock = _clocks(ended, as_of=date(2026, 7, 1))[1]
    assert clock.own_completes_on == date(2026, 12, 31)  # 143条: month-end
    assert (clock.basis, clock.state) == ("provisional_ended", "running")


def test_withdrawal_without_a_recorded_filing_has_no_effect() -> None:
    clock = _clocks([_ev(1, date(2025, 12, 1), "suit_withdrawn", 1)], as_of=date(2026, 1, 1))[1]
    assert clock.own_completes_on == date(2026, 1, 10)


def test_acknowledgement_while_pending_counts_after_withdrawal() -> None:
    events = [
        _ev(1, date(2025, 6, 1), "suit_filed", 1),
        _ev(1, date(2025, 9, 1), "acknowledgement", 2),
        _ev(1, date(2025, 12, 1), "suit_withdrawn", 3),
    ]
    assert _clocks(events, as_of=date(2026, 1, 1))[1].own_completes_on == date(2030, 9, 1)


# -- suspension: demand and agreement ----------------------------------------------------------


def test_demand_suspends_six_months() -> None:
    clock = _clocks([_ev(1, date(2025, 10, 1), "demand", 1)], as_of=date(2026, 1, 20))[1]
    assert clock.own_completes_on == date(2026, 4, 1)
    assert (clock.basis, clock.state) == ("demand", "running")


def test_demand_after_the_first_window_is_effective() -> None:
    events = [_ev(1, date(2025, 1, 5), "demand", 1), _ev(1, date(2025, 12, 1), "demand", 2)]
    clock = _clocks(events, as_of=date(2026, 1, 20))[1]
    assert clock.own_completes_on == date(2026, 6, 1)
    assert clock.basis_seq == 2


def test_agreement_suspends_one_year() -> None:
    clock = _clocks([_ev(1, date(2025, 11, 4), "agreement", 1)], as_of=date(2026, 2, 1))[1]
    assert clock.own_completes_on == date(2026, 11, 4)
    assert clock.basis == "agreement"


def test_agreement_with_a_shorter_agreed_period() -> None:
    events = [_ev(1, date(2025, 11, 4), "agreement", 1, until=date(2026, 3, 31))]
    assert _clocks(events, as_of=date(2026, 2, 1))[1].own_completes_on == date(2026, 3, 31)


def test_agreed_period_longer_than_a_year_is_cut_to_a_year() -> None:
    events = [_ev(1, date(2025, 11, 4), "agreement", 1, until=date(2027, 6, 30))]
    assert _clocks(events, as_of=date(2026, 2, 1))[1].own_completes_on == date(2026, 11, 4)


def test_agreement_refused_ends_six_months_after_the_refusal() -> None:
    events = [
        _ev(1, date(2025, 11, 4), "agreement", 1),
        _ev(1, date(2026, 1, 15), "agreement_refused", 2),
    ]
    clock = _clocks(events, as_of=date(2026, 2, 1))[1]
    assert clock.own_completes_on == date(2026, 7, 15)
    assert (clock.basis, clock.basis_date) == ("agreement_refused", date(2026, 1, 15))


def test_refusal_without_an_agreement_has_no_effect() -> None:
    clock = _clocks([_ev(1, date(2025, 12, 1), "agreement_refused", 1)], as_of=date(2026, 1, 1))[1]
    assert clock.own_completes_on == date(2026, 1, 10)


def test_demand_then_agreement_within_six_months_leaves_the_agreement_without_effect() -> None:
    # The demand on 2025-06-01 is long before completion (2026-01-10); its window still runs
    # to 2025-12-01, so the agreement inside it does nothing.
    events = [_ev(1, date(2025, 6, 1), "demand", 1), _ev(1, date(2025, 11, 20), "agreement", 2)]
    clock = _clocks(events, as_of=date(2026, 1, 5))[1]
    assert clock.own_completes_on == date(2026, 1, 10)
    assert clock.basis == "subrogation"


def test_demand_during_an_agreement_has_no_effect() -> None:
    events = [
        _ev(1, date(2025, 3, 1), "agreement", 1, until=date(2025, 12, 20)),
        _ev(1, date(2025, 12, 20), "demand", 2),  # the agreement's last day
    ]
    assert _clocks(events, as_of=date(2026, 1, 5))[1].own_completes_on == date(2026, 1, 10)


def test_repeated_agreement_during_the_suspension_extends_it() -> None:
    events = [
        _ev(1, date(2025, 12, 1), "agreement", 1),
        _ev(1, date(2026, 10, 1), "agreement", 2),
    ]
    clock = _clocks(events, as_of=date(2026, 11, 1))[1]
    assert clock.own_completes_on == date(2027, 10, 1)
    assert clock.basis_seq == 2


# -- completion, terminal states ---------------------------------------------------------------


def test_events_after_completion_change_nothing() -> None:
    events = [
        _ev(1, date(2026, 1, 11), "acknowledgement", 1),  # one day late
        _ev(1, date(2026, 2, 1), "suit_filed", 2),
    ]
    clock = _clocks(events, as_of=date(2026, 3, 1))[1]
    assert clock.own_completes_on == date(2026, 1, 10)
    assert clock.state == "completed"
    assert clock.basis == "subrogation"


def test_an_event_on_the_completion_date_still_acts() -> None:
    clock = _clocks([_ev(1, date(2026, 1, 10), "receipt", 1)], as_of=date(2026, 3, 1))[1]
    assert clock.own_completes_on == date(2031, 1, 10)


def test_completion_date_itself_is_still_running() -> None:
    assert _clocks([], as_of=date(2026, 1, 10))[1].state == "running"
    assert _clocks([], as_of=date(2026, 1, 11))[1].state == "completed"


def test_invoked_keeps_the_dates() -> None:
    clock = _clocks([_ev(1, date(2026, 3, 1), "invoked", 1)], as_of=date(2026, 4, 1))[1]
    assert clock.state == "invoked"
    assert clock.own_completes_on == clock.completes_on == date(2026, 1, 10)


def test_released_guarantor() -> None:
    released = ObligorRef(2, "joint_guarantor", released_on=date(2024, 6, 30))
    events = [
        _ev(2, date(2024, 6, 30), "receipt", 1),  # the release payment
        _ev(2, date(2024, 9, 1), "acknowledgement", 2),  # after the release: ignored
    ]
    clock = _clocks(events, obligors=(P, released), as_of=date(2024, 12, 1))[2]
    assert clock.state == "released"
    assert clock.own_completes_on == date(2029, 6, 30)
    before = _clocks(events, obligors=(P, released), as_of=date(2024, 6, 29))[2]
    assert before.state == "running"


def test_discharge_of_an_individual_principal_debtor() -> None:
    events = [
        _ev(2, date(2023, 2, 1), "receipt", 1),
        _ev(1, date(2024, 1, 15), "discharge", 2),
        _ev(1, date(2024, 5, 1), "acknowledgement", 3),  # after discharge: reaches no one
    ]
    clocks = _clocks(events, obligors=(P, G2), as_of=date(2026, 6, 1))
    assert clocks[1].state == "extinguished"
    assert clocks[1].own_completes_on is None and clocks[1].completes_on is None
    assert (clocks[1].basis, clocks[1].basis_date) == ("discharge", date(2024, 1, 15))
    assert clocks[2].own_completes_on == clocks[2].completes_on == date(2028, 2, 1)
    assert clocks[2].state == "running"
    assert clocks[2].via_principal is False


def test_principal_completed_before_discharge_still_binds_the_guarantor() -> None:
    events = [_ev(2, date(2025, 2, 1), "receipt", 1), _ev(1, date(2026, 5, 1), "discharge", 2)]
    clocks = _clocks(events, obligors=(P, G2), as_of=date(2026, 6, 1))
    assert clocks[2].own_completes_on == date(2030, 2, 1)
    assert clocks[2].completes_on == date(2026, 1, 10)
    assert clocks[2].state == "completed"


def test_guarantor_discharge_extinguishes_that_guarantor_only() -> None:
    events = [_ev(2, date(2024, 1, 15), "discharge", 1)]
    clocks = _clocks(events, obligors=(P, G2, G3))
    assert clocks[2].state == "extinguished" and clocks[2].completes_on is None
    assert clocks[1].state == clocks[3].state == "running"


# -- propagation -------------------------------------------------------------------------------


def test_principal_suit_suspends_the_guarantors_too() -> None:
    events = [_ev(1, date(2025, 9, 1), "suit_filed", 1)]
    clocks = _clocks(events, obligors=(P, G2), as_of=date(2026, 6, 1))
    assert clocks[2].state == "suspended"
    assert clocks[2].completes_on is None


def test_guarantor_suit_pending_still_exposed_to_the_principal_date() -> None:
    events = [_ev(2, date(2025, 9, 1), "suit_filed", 1)]
    clocks = _clocks(events, obligors=(P, G2), as_of=date(2025, 12, 1))
    assert clocks[2].own_completes_on is None
    assert clocks[2].completes_on == date(2026, 1, 10)
    assert clocks[2].via_principal is True
    assert clocks[2].state == "running"
    assert clocks[1].own_completes_on == date(2026, 1, 10)


def test_guarantor_event_does_not_reach_other_guarantors() -> None:
    clocks = _clocks([_ev(2, date(2024, 4, 1), "receipt", 1)], obligors=(P, G2, G3))
    assert clocks[2].own_completes_on == date(2029, 4, 1)
    assert clocks[3].own_completes_on == date(2026, 1, 10)
    assert clocks[1].own_completes_on == date(2026, 1, 10)
    assert clocks[2].via_principal is True


def test_principal_acknowledgement_after_its_completion_does_not_reach_guarantor() -> None:
    events = [_ev(2, date(2025, 6, 1), "receipt", 1), _ev(1, date(2026, 3, 1), "receipt", 2)]
    clocks = _clocks(events, obligors=(P, G2), as_of=date(2026, 4, 1))
    assert clocks[1].own_completes_on == date(2026, 1, 10)
    assert clocks[2].own_completes_on == date(2030, 6, 1)
    assert clocks[2].state == "completed"


def test_same_date_receipts_apply_before_other_events() -> None:
    events = [
        _ev(1, date(2024, 5, 1), "acknowledgement", 3),
        _ev(1, date(2024, 5, 1), "receipt", 7),
    ]
    clock = _clocks(events)[1]
    assert clock.basis_seq == 3  # the receipt came first although recorded later


# -- bad input ---------------------------------------------------------------------------------


def test_rejects_unknown_kind_and_obligor_and_missing_principal() -> None:
    with pytest.raises(ValueError):
        _clocks([_ev(1, date(2024, 1, 1), "phone_call", 1)])
    with pytest.raises(ValueError):
        _clocks([_ev(9, date(2024, 1, 1), "receipt", 1)])
    with pytest.raises(ValueError):
        _clocks([], obligors=(G2,))


# -- invariants --------------------------------------------------------------------------------

KINDS = [*EVENT_KINDS, "receipt", "receipt", "acknowledgement", "demand", "agreement"]
RARE = {"invoked", "discharge", "extinguished"}
SUB = date(2020, 10, 1)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, list[ObligorRef], list[Event], date]:
    years = draw(st.sampled_from([5, 10]))
    n_guarantors = draw(st.integers(0, 3))
    releases = draw(
        st.lists(
            st.one_of(st.none(), st.integers(0, 4500)),
            min_size=n_guarantors,
            max_size=n_guarantors,
        )
    )
    obligors = [P] + [
        ObligorRef(i, "joint_guarantor", None if r is None else SUB + timedelta(days=r))
        for i, r in enumerate(releases, start=2)
    ]
    raw = draw(
        st.lists(
            st.tuples(
                st.integers(1, 1 + n_guarantors),
                st.integers(0, 4500),
                st.sampled_from(KINDS),
                st.one_of(st.none(), st.integers(0, 500)),
            ),
            max_size=14,
        )
    )
    events = []
    for seq, (obligor, offset, kind, until) in enumerate(raw, start=1):
        if kind in RARE and draw(st.booleans()):
            kind = "demand"
        day = SUB + timedelta(days=offset)
        until_day = day + timedelta(days=until) if kind == "agreement" and until else None
        events.append(_ev(obligor, day, kind, seq, until_day))
    as_of = SUB + timedelta(days=draw(st.integers(0, 5000)))
    return years, obligors, events, as_of


def _compute(years: int, obligors: list[ObligorRef], events: list[Event], as_of: date):
    return compute_clocks(SUB, years, obligors, events, as_of)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_guarantor_events_never_change_the_principal_clock(scenario) -> None:
    years, obligors, events, as_of = scenario
    full = _compute(years, obligors, events, as_of)
    only_principal = [e for e in events if e.obligor_id == 1]
    assert _compute(years, obligors, only_principal, as_of)[1] == full[1]


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.integers(0, 5000), st.integers(1, 3))
def test_a_renewal_never_ends_before_the_event(scenario, offset: int, who: int) -> None:
    years, obligors, events, as_of = scenario
    who = min(who, len(obligors))
    day = SUB + timedelta(days=offset)
    before = _compute(years, obligors, events, as_of)[who]
    if day > as_of or before.state not in ("running", "completed", "suspended"):
        return
    if before.own_completes_on is not None and day > before.own_completes_on:
        return
    ack = _ev(who, day, "acknowledgement", len(events) + 1)
    after = _compute(years, obligors, [*events, ack], as_of)[who]
    assert after.own_completes_on is None or after.own_completes_on >= period_end(day, years=years)
    assert after.own_completes_on is None or after.own_completes_on > day


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_clock_shape_invariants(scenario) -> None:
    years, obligors, events, as_of = scenario
    clocks = _compute(years, obligors, events, as_of)
    principal = clocks[1]
    start_end = period_end(SUB, years=years)
    for clock in clocks.values():
        assert clock.state in LIMITATION_STATES
        if clock.own_completes_on is not None:
            assert clock.own_completes_on >= start_end  # no event shortens the period
        if clock.basis in ("acknowledgement", "judgment_final", "enforcement_ended"):
            assert clock.own_completes_on == period_end(clock.basis_date, years=clock.period_years)
    principal_alive = principal.state != "extinguished" and principal.completes_on is not None
    for oid, clock in clocks.items():
        if oid == 1 or not principal_alive or clock.completes_on is None:
            continue
        assert clock.completes_on <= principal.completes_on


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.integers(1, 800), st.sampled_from(KINDS), st.integers(1, 3))
def test_events_after_as_of_change_nothing(scenario, later: int, kind: str, who: int) -> None:
    years, obligors, events, as_of = scenario
    who = min(who, len(obligors))
    extra = _ev(who, as_of + timedelta(days=later), kind, len(events) + 1)
    assert _compute(years, obligors, [*events, extra], as_of) == _compute(
        years, obligors, events, as_of
    )


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_compute_is_deterministic_and_ignores_input_order(scenario, rnd: random.Random) -> None:
    years, obligors, events, as_of = scenario
    first = _compute(years, obligors, events, as_of)
    assert _compute(years, obligors, events, as_of) == first
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert _compute(years, obligors, shuffled, as_of) == first
