"""Limitation events only where they can be (SPEC 4.6, issue 10 point 6).

An event that cannot apply to the obligor is refused; an event that would change nothing is
kept only once the user has confirmed it (the form's second Ctrl+S). Both through the
service, on a real database, and the pure rule that decides it.
"""

from __future__ import annotations

from datetime import date

import pytest

from kyusho.errors import InputError
from kyusho.rules.limitation import Event, NoEffect, ObligorRef, no_effect
from kyusho.services.events import NoEffectError, add_event
from kyusho.services.session import Session
from kyusho.services.staff import add_staff
from models.schema import AuditEvent, LimitationEvent
from tests.test_clocks import STAFF, limitation_of, new_claim, obligor

NO = "R3-000001"
SUBROGATION = date(2021, 6, 15)  # new law, 5 years: the period completes on 2026-06-15


@pytest.fixture
def s(session: Session) -> Session:
    add_staff(session, STAFF, "田中", "staff")
    return session


def stored_events() -> tuple[int, int]:
    return LimitationEvent.select().count(), AuditEvent.select().count()


def assert_no_effect_then_confirmed(
    session: Session, no: str, who: int, kind: str, on: date, says: str, **kw
) -> None:
    """Refused without confirmation (naming why, nothing stored); kept with it, clock as before."""
    before, clocks = stored_events(), limitation_of(session, no)
    with pytest.raises(NoEffectError) as info:
        add_event(session, no, who, kind, on, **kw)
    assert info.value.field == "事由"
    assert "時効に影響しません" in info.value.message and says in info.value.message
    assert stored_events() == before
    add_event(session, no, who, kind, on, confirm_no_effect=True, **kw)
    assert stored_events() == (before[0] + 1, before[1] + 1)
    assert limitation_of(session, no) == clocks


# --------------------------------------------------------------------------- the service


def test_a_second_demand_inside_a_demands_suspension_needs_confirmation(s: Session) -> None:
    new_claim(s, NO, SUBROGATION, contract=SUBROGATION, guarantors=1)
    add_event(s, NO, 1, "demand", date(2026, 3, 1))  # suspends until 2026-09-01
    assert_no_effect_then_confirmed(s, NO, 1, "demand", date(2026, 5, 1), "R8.9.1まで")
    # reaching the guarantor: the principal debtor's demand suspends the guarantor too
    assert_no_effect_then_confirmed(s, NO, 2, "demand", date(2026, 6, 1), "催告による完成猶予中")


def test_an_agreement_inside_a_demands_suspension_needs_confirmation(s: Session) -> None:
    new_claim(s, NO, SUBROGATION, contract=SUBROGATION)
    add_event(s, NO, 1, "demand", date(2026, 3, 1))
    assert_no_effect_then_confirmed(s, NO, 1, "agreement", date(2026, 8, 1), "催告による完成猶予中")


def test_a_demand_inside_an_agreements_suspension_needs_confirmation(s: Session) -> None:
    new_claim(s, NO, SUBROGATION, contract=SUBROGATION)
    add_event(s, NO, 1, "agreement", date(2026, 2, 1))  # suspends until 2027-02-01
    assert_no_effect_then_confirmed(
        s, NO, 1, "demand", date(2026, 11, 1), "協議合意による完成猶予中"
    )


def test_an_effective_event_needs_no_confirmation(s: Session) -> None:
    new_claim(s, NO, SUBROGATION, contract=SUBROGATION)
    add_event(s, NO, 1, "demand", date(2025, 3, 1))
    before = stored_events()
    # the first demand's window ended on 2025-09-01: a new demand acts
    add_event(s, NO, 1, "demand", date(2026, 3, 1))
    assert stored_events()[0] == before[0] + 1
    assert obligor(NO, 1).completes_on == date(2026, 9, 1)
    # after the completion date nothing revives the period: confirmation again
    assert_no_effect_then_confirmed(s, NO, 1, "acknowledgement", date(2026, 10, 1), "R8.9.1 に完成")


def test_invocation_is_refused_before_the_period_has_completed_on_that_date(s: Session) -> None:
    new_claim(s, NO, SUBROGATION, contract=SUBROGATION)
    before = stored_events()
    for on in (date(2026, 1, 10), date(2026, 6, 15)):  # the completion day itself still runs
        with pytest.raises(InputError) as info:
            add_event(s, NO, 1, "invoked", on, confirm_no_effect=True)
        assert info.value.field == "事由" and "R8.6.15 まで完成しません" in info.value.message
    assert stored_events() == before
    assert obligor(NO, 1).state == "normal"
    add_event(s, NO, 1, "invoked", date(2026, 6, 16))
    assert limitation_of(s, NO)[1]["state"] == "invoked"
    with pytest.raises(InputError, match="すでに記録"):
        add_event(s, NO, 1, "invoked", date(2026, 7, 1))


def test_a_guarantor_may_invoke_the_principal_debtors_completed_period(s: Session) -> None:
    new_claim(s, NO, SUBROGATION, contract=SUBROGATION, guarantors=1)
    add_event(s, NO, 2, "acknowledgement", date(2025, 1, 10))  # renews the guarantor only
    add_event(s, NO, 2, "invoked", date(2026, 7, 1))
    assert limitation_of(s, NO)[2]["state"] == "invoked"


@pytest.mark.parametrize(
    ("debtor", "kind", "says"),
    [
        ("corporation", "discharge", "法人格消滅を記録"),
        ("person", "extinguished", "免責確定を記録"),
    ],
)
def test_discharge_is_an_individuals_and_extinction_a_corporations(
    s: Session, debtor: str, kind: str, says: str
) -> None:
    new_claim(s, NO, SUBROGATION, contract=SUBROGATION, debtor=debtor, merchant="0")
    before = stored_events()
    with pytest.raises(InputError) as info:
        add_event(s, NO, 1, kind, date(2025, 1, 15), confirm_no_effect=True)
    assert info.value.field == "事由" and says in info.value.message
    assert stored_events() == before
    assert obligor(NO, 1).state == "normal"
    other = "extinguished" if kind == "discharge" else "discharge"
    add_event(s, NO, 1, other, date(2025, 1, 15))
    assert limitation_of(s, NO)[1]["state"] == "extinguished"


# --------------------------------------------------------------------------- the rule

P = ObligorRef(1, "principal_debtor")
G = ObligorRef(2, "joint_guarantor")
SUB = date(2021, 1, 10)


def judge(events: list[Event], new: Event, obligors=(P, G)) -> NoEffect | None:
    return no_effect(SUB, 5, obligors, events, new)


def test_rule_names_the_window_an_event_falls_in() -> None:
    demand = Event(1, date(2025, 3, 1), "demand", 1)
    assert judge([demand], Event(1, date(2025, 9, 1), "demand", 2)) == NoEffect(
        "demand", date(2025, 9, 1)
    )
    assert judge([demand], Event(1, date(2025, 9, 2), "demand", 2)) is None
    # a guarantor is inside the principal debtor's demand window, not the other way round
    assert judge([demand], Event(2, date(2025, 4, 1), "agreement", 2)) == NoEffect(
        "demand", date(2025, 9, 1)
    )
    own = Event(2, date(2025, 3, 1), "demand", 1)
    assert judge([own], Event(1, date(2025, 4, 1), "demand", 2)) is None
    agreement = Event(1, date(2025, 3, 1), "agreement", 1, until=date(2025, 12, 1))
    assert judge([agreement], Event(1, date(2025, 6, 1), "demand", 2)) == NoEffect(
        "agreement", date(2025, 12, 1)
    )


def test_rule_after_completion_or_an_end_nothing_acts() -> None:
    assert judge([], Event(1, date(2026, 1, 10), "acknowledgement", 1)) is None
    assert judge([], Event(1, date(2026, 1, 11), "acknowledgement", 1)) == NoEffect(
        "completed", date(2026, 1, 10)
    )
    invoked = Event(1, date(2026, 2, 1), "invoked", 1)
    assert judge([invoked], Event(1, date(2026, 3, 1), "demand", 2)) == NoEffect(
        "ended", date(2026, 2, 1), "invoked"
    )
    assert judge([], Event(1, date(2025, 3, 1), "suit_withdrawn", 1)) == NoEffect("nothing_pending")


@pytest.mark.parametrize(
    ("debtor", "kind"), [("corporation", "免責確定"), ("person", "法人格消滅")]
)
def test_an_imported_event_of_the_wrong_kind_of_obligor_is_refused(
    s: Session, debtor: str, kind: str
) -> None:
    """The CSV path applies the same rule as the form: nothing of the file is stored."""
    from kyusho.services.imports import ImportFailed, import_bytes

    new_claim(s, NO, SUBROGATION, contract=SUBROGATION, debtor=debtor, merchant="0")
    before = stored_events()
    csv = f"求償権番号,関係人番号,事由,日付,番号\n{NO},1,{kind},2025-01-15,E1\n"
    with pytest.raises(ImportFailed) as info:
        import_bytes(s, "events", csv.encode())
    [error] = info.value.errors
    assert (error.line, error.column) == (2, "事由") and "の事由です" in error.reason
    assert stored_events()[0] == before[0]
    assert obligor(NO, 1).state == "normal"
