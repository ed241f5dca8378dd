"""Limitation clocks through the database, the alert query and the collector's worklist.

SPEC 4.5–4.7 and 5.2: the worked cases of examples/limitation.toml entered as claims, obligors
and events; the stored clocks (the projection every alert reads) against the engine and
``rebuild``; propagation between the principal debtor and the guarantors; the alert query;
the worklist and the contact log it is fed by.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, TODAY, direct_writes, make_session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyusho.errors import InputError
from kyusho.rules.limitation import NEW_LAW_FROM
from kyusho.services import projections
from kyusho.services.claims import claim_json, claim_view
from kyusho.services.contacts import add_contact
from kyusho.services.entries import post_receipt
from kyusho.services.events import add_event, cancel_event
from kyusho.services.imports import ImportFailed, import_bytes
from kyusho.services.maintenance import rebuild
from kyusho.services.plans import add_plan
from kyusho.services.session import Session
from kyusho.services.staff import add_staff, init_database
from kyusho.services.worklist import WorkItem, limitation_due, worklist
from kyusho.vocab import EVENT_KINDS
from models import audit
from models.schema import AuditEvent, Claim, Contact, Decision, LimitationEvent, Obligor

STAFF = "tanaka"
OTHER = "suzuki"
BOSS = "buchou"

# --------------------------------------------------------------------------- helpers


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


CLAIM_HEADER = ["求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "委託契約日", "金融機関", "担当者"]  # fmt: skip
OBLIGOR_HEADER = ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"]
EVENT_HEADER = ["求償権番号", "関係人番号", "事由", "日付", "終了日", "番号"]
CONTACT_HEADER = ["求償権番号", "関係人番号", "日時", "担当者", "方法", "結果", "内容", "次回行動", "次回日"]  # fmt: skip

GUARANTOR_NAMES = [("山田 太郎", "ヤマダ タロウ"), ("佐藤 次郎", "サトウ ジロウ"), ("高橋 三郎", "タカハシ サブロウ")]  # fmt: skip


def claim_row(
    no: str, subrogation: date, *, contract: date | None = None, staff: str = STAFF
) -> list[str]:
    contract = contract or subrogation - timedelta(days=30)
    return [no, subrogation.isoformat(), "10000000", "0", contract.isoformat(), "テスト銀行", staff]


def obligor_rows(
    no: str,
    *,
    debtor: str = "corporation",
    merchant: str = "",
    guarantors: int = 0,
    collateral: int = 0,
) -> list[list[str]]:
    """Obligor 1 the principal debtor, then the guarantors, then the collateral providers."""
    if debtor == "corporation":
        rows = [[no, "1", "主債務者", "株式会社テスト", "テスト", "法人", "", "東京都"]]
    else:
        rows = [[no, "1", "主債務者", "鈴木 一郎", "スズキ イチロウ", "個人", merchant, "東京都"]]
    n = 1
    for i in range(guarantors):
        n += 1
        name, kana = GUARANTOR_NAMES[i]
        rows.append([no, str(n), "連帯保証人", name, kana, "個人", "0", "東京都"])
    for _ in range(collateral):
        n += 1
        rows.append([no, str(n), "物上保証人", "山田 花子", "ヤマダ ハナコ", "個人", "", "東京都"])
    return rows


def import_claims(session: Session, claims: list[list[str]], obligors: list[list[str]]) -> None:
    import_bytes(session, "claims", csv_bytes([CLAIM_HEADER, *claims]))
    import_bytes(session, "obligors", csv_bytes([OBLIGOR_HEADER, *obligors]))


def new_claim(
    session: Session,
    no: str,
    subrogation: date,
    *,
    contract: date | None = None,
    staff: str = STAFF,
    debtor: str = "corporation",
    merchant: str = "",
    guarantors: int = 0,
    collateral: int = 0,
) -> str:
    import_claims(
        session,
        [claim_row(no, subrogation, contract=contract, staff=staff)],
        obligor_rows(
            no, debtor=debtor, merchant=merchant, guarantors=guarantors, collateral=collateral
        ),
    )
    return no


def obligor(no: str, obligor_no: int) -> Obligor:
    c = Claim.get(Claim.claim_no == no)
    return Obligor.get((Obligor.claim == c.id) & (Obligor.obligor_no == obligor_no))


def limitation_of(
    session: Session, no: str, as_of: date | None = None
) -> dict[int, dict[str, Any] | None]:
    """Each obligor's `limitation` object of `claim show --json`, by 関係人番号."""
    data = claim_json(claim_view(session, no, as_of=as_of, history=False))
    json.dumps(data, ensure_ascii=False)  # it must be JSON as it stands
    return {o["id"]: o["limitation"] for o in data["obligors"]}


def stored(no: str, obligor_no: int) -> tuple:
    """The stored clock that alerts read."""
    o = obligor(no, obligor_no)
    return (o.own_completes_on, o.completes_on, o.lim_state, o.lim_via_principal)


def assert_projection_exact(session: Session, no: str) -> None:
    """Stored clocks equal the engine's, with no cut-off, and rebuild finds nothing to change."""
    claim = Claim.get(Claim.claim_no == no)
    obligors = list(Obligor.select().where(Obligor.claim == claim.id))
    clocks = projections.clocks_for(claim, obligors, projections.FAR_FUTURE)
    for o in obligors:
        c = clocks.get(o.obligor_no)
        have = (o.own_completes_on, o.completes_on, o.lim_state, o.lim_basis)
        if c is None:
            assert o.role == "collateral_provider"
            assert have == (None, None, None, None)
        else:
            assert have == (
                c.own_completes_on,
                c.completes_on,
                projections.stored_state(c.state),
                c.basis,
            ), o.obligor_no
            assert o.lim_via_principal == c.via_principal
    assert rebuild(session, write=False).changed == 0


@pytest.fixture
def s(session: Session) -> Session:
    """Admin session with two staff members and a manager registered."""
    add_staff(session, STAFF, "田中", "staff")
    add_staff(session, OTHER, "鈴木", "staff")
    add_staff(session, BOSS, "部長", "manager")
    return session


# --------------------------------------------------------------------------- worked cases


def _examples_file(name: str) -> Path:
    here = Path(__file__).resolve().parent
    for path in (here / "examples" / name, here.parent.parent / "shared" / "examples" / name):
        if path.is_file():
            return path
    raise FileNotFoundError(name)


with _examples_file("limitation.toml").open("rb") as _fh:
    CASES = tomllib.load(_fh)["case"]

# How each regime length is reached through the data: (contract date, debtor kind, 商人).
OLD_LAW = NEW_LAW_FROM - timedelta(days=1)
REGIMES = {
    "new_law": (NEW_LAW_FROM, "person", "0"),  # a non-merchant individual, but a 2020 contract
    "old_corporate": (OLD_LAW, "corporation", ""),
    "old_merchant": (OLD_LAW, "person", "1"),
    "old_non_merchant": (OLD_LAW, "person", "0"),
}


def _case_params():
    for case in CASES:
        if case["period_years"] == 5:
            variants = [
                ("new_law", "add_event"),
                ("old_corporate", "csv"),
                ("old_merchant", "add_event"),
            ]
        else:
            assert case["period_years"] == 10
            variants = [("old_non_merchant", "add_event"), ("old_non_merchant", "csv")]
        for regime, route in variants:
            yield pytest.param(case, regime, route, id=f"{case['name'][:2]}-{regime}-{route}")


def _opt_iso(value: date | str) -> str | None:
    return None if value == "" else value.isoformat()


@pytest.mark.parametrize(("case", "regime", "route"), list(_case_params()))
def test_worked_case_through_the_database(s: Session, case: dict, regime: str, route: str) -> None:
    no = "R2-000001"
    contract, debtor, merchant = REGIMES[regime]
    contract = min(contract, case["subrogation_date"])
    if any(e["kind"] == "extinguished" and e["obligor"] == 1 for e in case.get("event", [])):
        debtor = "corporation"  # only a corporation is extinguished; still 5 years either way
    guarantors = sum(1 for o in case["obligor"] if o["role"] == "joint_guarantor")
    assert [o["id"] for o in case["obligor"]] == list(range(1, guarantors + 2))
    new_claim(
        s,
        no,
        case["subrogation_date"],
        contract=contract,
        debtor=debtor,
        merchant=merchant,
        guarantors=guarantors,
    )
    assert_projection_exact(s, no)
    events = case.get("event", [])
    # the services refuse future dates: move "today" past the case's last event
    s.pin(max([TODAY, *(e["date"] for e in events)]))
    if route == "add_event":
        for e in events:
            add_event(
                s,
                no,
                e["obligor"],
                e["kind"],
                e["date"],
                until=e.get("until") or None,
                confirm_no_effect=True,  # the worked cases include events that do nothing
            )
            assert_projection_exact(s, no)
    elif events:
        rows = [
            [
                no,
                str(e["obligor"]),
                EVENT_KINDS[e["kind"]],
                e["date"].isoformat(),
                e["until"].isoformat() if e.get("until") else "",
                f"E{i}",
            ]
            for i, e in enumerate(events)
        ]
        import_bytes(s, "events", csv_bytes([EVENT_HEADER, *rows]))
        assert_projection_exact(s, no)

    got = limitation_of(s, no, as_of=case["as_of"])
    for exp in case["expected"]:
        lim = got[exp["obligor"]]
        assert lim is not None
        assert lim["own_completes_on"] == _opt_iso(exp["own_completes_on"]), exp
        assert lim["completes_on"] == _opt_iso(exp["completes_on"]), exp
        assert lim["state"] == exp["state"], exp
        if any(e["date"] > case["as_of"] for e in events):
            continue
        # the stored projection (no later event) reads the same on the as-of date
        row = obligor(no, exp["obligor"])
        assert _opt_iso(exp["completes_on"]) == (
            row.completes_on.isoformat() if row.completes_on else None
        )
        assert (
            projections.effective_state(row.lim_state, row.completes_on, case["as_of"])
            == (exp["state"])
        )
    if case["period_years"] == 10:
        assert got[1]["period_years"] == 10


@pytest.mark.parametrize(
    ("contract", "debtor", "merchant", "years"),
    [
        (date(2020, 4, 1), "person", "0", 5),
        (date(2020, 3, 31), "person", "0", 10),
        (date(2020, 3, 31), "person", "1", 5),
        (date(2020, 3, 31), "corporation", "", 5),
    ],
)
def test_regime_follows_contract_date_and_merchant_flag(
    s: Session, contract: date, debtor: str, merchant: str, years: int
) -> None:
    new_claim(
        s, "R2-000001", date(2020, 6, 30), contract=contract, debtor=debtor, merchant=merchant
    )
    lim = limitation_of(s, "R2-000001")[1]
    assert lim["period_years"] == years
    assert lim["completes_on"] == date(2020 + years, 6, 30).isoformat()
    assert obligor("R2-000001", 1).completes_on == date(2020 + years, 6, 30)


def test_claim_view_ignores_events_and_receipts_after_as_of(s: Session) -> None:
    no = new_claim(s, "R3-000001", date(2021, 6, 15), guarantors=1)
    add_event(s, no, 1, "acknowledgement", date(2026, 6, 10))
    post_receipt(s, no, date(2026, 8, 3), 10_000, 2)
    before = limitation_of(s, no, as_of=date(2026, 6, 9))
    assert before[1]["completes_on"] == "2026-06-15"
    assert before[2]["own_completes_on"] == "2026-06-15"
    assert before[1]["state"] == before[2]["state"] == "running"
    middle = limitation_of(s, no, as_of=date(2026, 8, 2))
    assert middle[1]["completes_on"] == "2031-06-10"
    assert middle[2]["own_completes_on"] == "2031-06-10"
    now = limitation_of(s, no)
    assert now[2]["own_completes_on"] == "2031-08-03"
    assert now[2]["completes_on"] == "2031-06-10"
    assert now[2]["via_principal"] is True
    assert_projection_exact(s, no)


# --------------------------------------------------------------------------- propagation


def test_principal_receipt_renews_every_guarantor_guarantor_receipt_only_itself(
    s: Session,
) -> None:
    no = new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=2)
    for n in (1, 2, 3):
        assert stored(no, n) == (date(2027, 1, 10), date(2027, 1, 10), "running", False)

    post_receipt(s, no, date(2023, 3, 1), 100_000, 1)
    assert_projection_exact(s, no)
    for n in (1, 2, 3):
        assert stored(no, n) == (date(2028, 3, 1), date(2028, 3, 1), "running", False)

    post_receipt(s, no, date(2024, 5, 10), 50_000, 2)
    assert_projection_exact(s, no)
    assert stored(no, 1) == (date(2028, 3, 1), date(2028, 3, 1), "running", False)
    # the trap: the guarantor's own clock renewed, their exposure still ends with the debtor's
    assert stored(no, 2) == (date(2029, 5, 10), date(2028, 3, 1), "running", True)
    assert stored(no, 3) == (date(2028, 3, 1), date(2028, 3, 1), "running", False)
    lim = limitation_of(s, no)
    assert lim[2]["own_completes_on"] == "2029-05-10"
    assert lim[2]["completes_on"] == "2028-03-01"
    assert lim[2]["via_principal"] is True
    assert lim[3]["own_completes_on"] == "2028-03-01"


def test_guarantor_paying_monthly_is_alerted_on_the_principal_debtors_date(s: Session) -> None:
    no = new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=2)
    for month in range(2022 * 12 + 1, 2026 * 12 + 10, 3):  # quarterly, 2022-02 .. 2026-10
        post_receipt(s, no, date(month // 12, month % 12 + 1, 25), 10_000, 2)
    assert_projection_exact(s, no)
    assert stored(no, 2) == (date(2031, 8, 25), date(2027, 1, 10), "running", True)
    due = limitation_due(s, within=180, as_of=TODAY)
    assert [(r["obligor_id"], r["completes_on"], r["days_left"]) for r in due] == [
        (1, "2027-01-10", 49),
        (2, "2027-01-10", 49),
        (3, "2027-01-10", 49),
    ]
    assert due[1]["via_principal"] is True
    # after the principal debtor's date it is completed for the paying guarantor too
    lim = limitation_of(s, no, as_of=date(2027, 1, 11))
    assert lim[2]["state"] == "completed"
    assert lim[2]["own_completes_on"] == "2031-08-25"


def test_guarantor_events_do_not_reach_the_principal_or_other_guarantors(s: Session) -> None:
    no = new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=2)
    add_event(s, no, 2, "suit_filed", date(2025, 3, 1))
    add_event(s, no, 3, "demand", date(2026, 10, 1))
    assert_projection_exact(s, no)
    assert stored(no, 1) == (date(2027, 1, 10), date(2027, 1, 10), "running", False)
    # pending suit: no own completion; the state is judged on the exposure, the debtor's date
    assert stored(no, 2) == (None, date(2027, 1, 10), "running", True)
    assert stored(no, 3) == (date(2027, 4, 1), date(2027, 1, 10), "running", True)
    lim = limitation_of(s, no)
    assert lim[2]["own_completes_on"] is None
    assert lim[2]["completes_on"] == "2027-01-10"


def test_principal_events_reach_every_guarantor(s: Session) -> None:
    no = new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=2)
    add_event(s, no, 1, "suit_filed", date(2025, 3, 1))
    assert_projection_exact(s, no)
    for n in (1, 2, 3):
        assert stored(no, n)[:3] == (None, None, "suspended")
    add_event(s, no, 1, "judgment_final", date(2025, 9, 30))
    assert_projection_exact(s, no)
    for n in (1, 2, 3):
        assert stored(no, n) == (date(2035, 9, 30), date(2035, 9, 30), "running", False)
        assert obligor(no, n).lim_period_years == 10


# --------------------------------------------------------------------------- cancel


def test_cancel_event_recomputes_the_clock_and_needs_a_reason(s: Session) -> None:
    no = new_claim(s, "R3-000001", date(2021, 6, 15), guarantors=1)
    before = [stored(no, n) for n in (1, 2)]
    assert before[0] == (date(2026, 6, 15), date(2026, 6, 15), "running", False)
    ev = add_event(s, no, 1, "demand", date(2026, 3, 1))
    assert_projection_exact(s, no)
    assert [stored(no, n)[1] for n in (1, 2)] == [date(2026, 9, 1), date(2026, 9, 1)]

    for reason in ("", "  \u3000"):
        with pytest.raises(InputError) as err:
            cancel_event(s, ev.id, reason)
        assert err.value.field == "取消理由"
    assert not LimitationEvent.get_by_id(ev.id).cancelled
    assert stored(no, 1)[1] == date(2026, 9, 1)

    cancel_event(s, ev.id, "誤入力")
    row = LimitationEvent.get_by_id(ev.id)
    assert row.cancelled and row.cancel_reason == "誤入力"  # kept, never deleted
    assert [stored(no, n) for n in (1, 2)] == before
    assert_projection_exact(s, no)
    lim = limitation_of(s, no)
    assert lim[1]["completes_on"] == "2026-06-15"
    assert lim[1]["state"] == "completed"
    last = AuditEvent.select().order_by(AuditEvent.seq.desc()).get()
    assert (last.action, last.reason, last.login) == ("event.cancel", "誤入力", ADMIN)

    with pytest.raises(InputError):
        cancel_event(s, ev.id, "二重取消")


def test_cancelling_a_discharge_restores_the_obligor_state(s: Session) -> None:
    no = new_claim(s, "R4-000001", date(2022, 1, 10), debtor="person", merchant="0")
    ev = add_event(s, no, 1, "discharge", date(2025, 1, 15))
    assert obligor(no, 1).state == "discharged"
    cancel_event(s, ev.id, "別人の免責決定を誤って登録")
    assert stored(no, 1)[2] == "running"
    assert obligor(no, 1).state == "normal"


# --------------------------------------------------------------------------- collateral, discharge


def test_collateral_provider_has_no_clock(s: Session) -> None:
    no = new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=1, collateral=1)
    for bad in (3, 9):
        with pytest.raises(InputError) as err:
            add_event(s, no, bad, "acknowledgement", date(2024, 1, 10))
        assert err.value.field == "関係人番号"
    assert LimitationEvent.select().count() == 0
    with pytest.raises(ImportFailed) as failed:
        import_bytes(
            s, "events", csv_bytes([EVENT_HEADER, [no, "3", "承認", "2024-01-10", "", ""]])
        )
    assert [e.column for e in failed.value.errors] == ["関係人番号"]
    assert LimitationEvent.select().count() == 0

    lim = limitation_of(s, no)
    assert lim[3] is None
    assert lim[1] is not None and lim[2] is not None
    # a collateral sale paid by the provider is not the debtor's acknowledgement
    post_receipt(s, no, date(2024, 1, 10), 500_000, 3, "collateral_sale")
    assert limitation_of(s, no)[1]["completes_on"] == "2027-01-10"
    assert stored(no, 3) == (None, None, None, False)
    assert_projection_exact(s, no)
    assert [r["obligor_id"] for r in limitation_due(s, within=3650, as_of=TODAY)] == [1, 2]


@pytest.mark.parametrize(
    ("kind", "debtor", "state"),
    [("discharge", "person", "discharged"), ("extinguished", "corporation", "extinguished")],
)
def test_principal_discharge_leaves_guarantors_their_own_clock(
    s: Session, kind: str, debtor: str, state: str
) -> None:
    no = new_claim(s, "R4-000001", date(2022, 1, 10), debtor=debtor, merchant="", guarantors=2)
    post_receipt(s, no, date(2024, 5, 10), 50_000, 2)
    assert stored(no, 2) == (date(2029, 5, 10), date(2027, 1, 10), "running", True)

    add_event(s, no, 1, kind, date(2025, 1, 15))
    assert obligor(no, 1).state == state
    assert_projection_exact(s, no)
    lim = limitation_of(s, no)
    assert lim[1]["state"] == "extinguished"
    assert lim[1]["own_completes_on"] is None and lim[1]["completes_on"] is None
    assert (lim[2]["own_completes_on"], lim[2]["completes_on"], lim[2]["via_principal"]) == (
        "2029-05-10",
        "2029-05-10",
        False,
    )
    assert lim[2]["state"] == "running"
    assert (lim[3]["own_completes_on"], lim[3]["completes_on"]) == ("2027-01-10", "2027-01-10")

    # the principal debtor's payment after discharge no longer renews the guarantors
    post_receipt(s, no, date(2025, 6, 2), 10_000, 1)
    assert_projection_exact(s, no)
    assert stored(no, 3) == (date(2027, 1, 10), date(2027, 1, 10), "running", False)
    assert stored(no, 1)[2] == "extinguished"
    due = limitation_due(s, within=3650, as_of=TODAY)
    assert [(r["obligor_id"], r["completes_on"]) for r in due] == [
        (3, "2027-01-10"),
        (2, "2029-05-10"),
    ]


# --------------------------------------------------------------------------- limitation due


DUE_KEYS = {"claim_no", "obligor_id", "name", "role", "completes_on", "days_left", "state"}


def _due_fixture(s: Session) -> None:
    claims = [
        claim_row("R3-000001", date(2021, 10, 1)),  # completed 2026-10-01
        claim_row("R4-000002", date(2022, 1, 10), staff=OTHER),  # 2027-01-10, with a guarantor
        claim_row("R4-000003", date(2022, 5, 20)),  # 2027-05-20: 179 days
        claim_row("R5-000004", date(2023, 1, 10)),  # 2028-01-10: too far
        claim_row("R4-000005", date(2022, 1, 10)),  # collateral provider
        claim_row("R4-000006", date(2022, 2, 1)),  # released guarantor
        claim_row("R4-000007", date(2022, 3, 1)),  # written off
        claim_row("R4-000008", date(2022, 3, 1)),  # waived
        claim_row("R4-000009", date(2022, 3, 1)),  # paid
        claim_row("R4-000010", date(2022, 3, 1)),  # suspended (管理事務停止): still watched
    ]
    obligors = [
        *obligor_rows("R3-000001"),
        *obligor_rows("R4-000002", guarantors=1),
        *obligor_rows("R4-000003"),
        *obligor_rows("R5-000004"),
        *obligor_rows("R4-000005", collateral=1),
        *obligor_rows("R4-000006", guarantors=1),
        *obligor_rows("R4-000007"),
        *obligor_rows("R4-000008"),
        *obligor_rows("R4-000009"),
        *obligor_rows("R4-000010"),
    ]
    import_claims(s, claims, obligors)
    with direct_writes(s):
        g = obligor("R4-000006", 2)
        Obligor.update(liable=False, released_on=date(2024, 1, 10)).where(
            Obligor.id == g.id
        ).execute()
        projections.recompute_clocks(Claim.get(Claim.claim_no == "R4-000006"))
        for no, status in [
            ("R4-000007", "written_off"),
            ("R4-000008", "waived"),
            ("R4-000009", "paid"),
            ("R4-000010", "suspended"),
        ]:
            Claim.update(status=status).where(Claim.claim_no == no).execute()


def test_limitation_due_lists_exactly_the_obligors_within_the_window(s: Session) -> None:
    _due_fixture(s)
    assert rebuild(s, write=False).changed == 0
    due = limitation_due(s, within=180, as_of=TODAY)
    assert [
        (r["claim_no"], r["obligor_id"], r["completes_on"], r["days_left"], r["state"]) for r in due
    ] == [
        ("R3-000001", 1, "2026-10-01", -52, "completed"),
        ("R4-000002", 1, "2027-01-10", 49, "running"),
        ("R4-000002", 2, "2027-01-10", 49, "running"),
        ("R4-000005", 1, "2027-01-10", 49, "running"),
        ("R4-000006", 1, "2027-02-01", 71, "running"),
        ("R4-000010", 1, "2027-03-01", 99, "running"),
        ("R4-000003", 1, "2027-05-20", 179, "running"),
    ]
    for r in due:
        assert DUE_KEYS <= set(r)
        assert type(r["days_left"]) is int and type(r["obligor_id"]) is int
    assert due[2]["role"] == "joint_guarantor" and due[2]["name"] == "山田 太郎"
    assert due[0]["role"] == "principal_debtor" and due[0]["name"] == "株式会社テスト"
    json.loads(json.dumps(due, ensure_ascii=False))

    assert [r["claim_no"] for r in limitation_due(s, within=179, as_of=TODAY)][-1] == "R4-000003"
    assert "R4-000003" not in {r["claim_no"] for r in limitation_due(s, within=178, as_of=TODAY)}
    assert [
        (r["claim_no"], r["obligor_id"])
        for r in limitation_due(s, within=180, as_of=TODAY, staff=OTHER)
    ] == [("R4-000002", 1), ("R4-000002", 2)]


def test_limitation_due_on_the_completion_date_is_still_running(s: Session) -> None:
    _due_fixture(s)
    on_the_day = limitation_due(s, within=0, as_of=date(2026, 10, 1))
    assert [(r["claim_no"], r["days_left"], r["state"]) for r in on_the_day] == [
        ("R3-000001", 0, "running")
    ]
    day_after = limitation_due(s, within=0, as_of=date(2026, 10, 2))
    assert [(r["claim_no"], r["days_left"], r["state"]) for r in day_after] == [
        ("R3-000001", -1, "completed")
    ]


def _statements(session: Session, call) -> tuple[int, Any]:
    conn = session.db.connection()
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        result = call()
    finally:
        conn.set_trace_callback(None)
    return len(seen), result


@pytest.mark.sqlite_only(reason="SQLite の実行計画・文の数を見るテスト")
def test_limitation_due_is_one_query_however_many_claims(s: Session) -> None:
    def batch(start: int, n: int) -> tuple[list[list[str]], list[list[str]]]:
        nos = [f"R4-{i:06d}" for i in range(start, start + n)]
        claims = [claim_row(no, date(2022, 1, 10) + timedelta(days=i)) for i, no in enumerate(nos)]
        obligors = [row for no in nos for row in obligor_rows(no, guarantors=1)]
        return claims, obligors

    import_claims(s, *batch(1, 5))
    n_small, small = _statements(s, lambda: limitation_due(s, within=3650, as_of=TODAY))
    import_claims(s, *batch(6, 55))
    n_large, large = _statements(s, lambda: limitation_due(s, within=3650, as_of=TODAY))
    assert (len(small), len(large)) == (10, 120)
    assert n_small == n_large == 1


# --------------------------------------------------------------------------- worklist


def _contact(session: Session, no: str, at: datetime, **kw: Any) -> Contact:
    return add_contact(session, no, kw.pop("obligor_no", 1), "phone", "架電", at=at, **kw)


def _worklist_fixture(s: Session) -> None:
    """Claims of two staff members with one item of each kind, entered by the admin."""
    import_claims(
        s,
        [
            claim_row("R4-000101", date(2022, 1, 10)),  # tanaka: alert in 49 days
            claim_row("R3-000102", date(2021, 10, 1), staff=OTHER),  # suzuki: completed
            claim_row("R5-000103", date(2023, 6, 1)),  # tanaka: contacts, plan, decision
            claim_row("R5-000104", date(2023, 6, 1), staff=OTHER),  # suzuki: same
            claim_row("R5-000105", date(2023, 6, 1)),  # tanaka: suspended, review due
            claim_row("R5-000106", date(2023, 6, 1), staff=OTHER),  # suzuki: review due today
            claim_row("R5-000107", date(2023, 6, 1)),  # tanaka: suspended, review later
        ],
        [
            *obligor_rows("R4-000101", guarantors=1),
            *obligor_rows("R3-000102"),
            *obligor_rows("R5-000103", guarantors=1),
            *obligor_rows("R5-000104"),
            *obligor_rows("R5-000105"),
            *obligor_rows("R5-000106"),
            *obligor_rows("R5-000107"),
        ],
    )
    # next actions due
    _contact(
        s, "R5-000103", datetime(2026, 11, 1, 10), next_action="再架電", next_on=date(2026, 11, 20)
    )
    _contact(s, "R5-000104", datetime(2026, 11, 2, 10), next_action="訪問", next_on=TODAY)
    # a broken promise of the guarantor (nothing paid since; no later contact with them) and
    # a plan in arrears (the guarantor paid 2 of 4 months)
    _contact(
        s,
        "R5-000103",
        datetime(2026, 10, 1, 9),
        promised_amount=50_000,
        promised_on=date(2026, 10, 31),
        obligor_no=2,
    )
    add_plan(s, "R5-000103", 2, date(2026, 8, 1), 10_000, 10)
    for m in (8, 9):
        post_receipt(s, "R5-000103", date(2026, m, 10), 10_000, 2)
    # suspended claims
    with direct_writes(s):
        for no, review in [
            ("R5-000105", TODAY - timedelta(days=1)),
            ("R5-000106", TODAY),
            ("R5-000107", TODAY + timedelta(days=5)),
        ]:
            Claim.update(status="suspended", review_on=review).where(Claim.claim_no == no).execute()
        # decisions awaiting approval, proposed by a staff member and by the manager
        for no, proposer in [("R5-000103", STAFF), ("R5-000104", BOSS)]:
            Decision.create(
                claim=Claim.get(Claim.claim_no == no),
                kind="damages_waiver",
                status="proposed",
                proposer=proposer,
                proposed_at=datetime(2026, 11, 20, 9),
                created_at=datetime(2026, 11, 20, 9),
            )


def _keys(items: list[WorkItem]) -> set[tuple[str, str]]:
    return {(i.kind, i.claim_no) for i in items}


ALL_BUT_APPROVALS = {
    ("limitation", "R4-000101"),
    ("limitation", "R3-000102"),
    ("next_action", "R5-000103"),
    ("next_action", "R5-000104"),
    ("promise", "R5-000103"),
    ("plan_arrears", "R5-000103"),
    ("review", "R5-000105"),
    ("review", "R5-000106"),
}
TANAKA = {k for k in ALL_BUT_APPROVALS if k[1] in ("R4-000101", "R5-000103", "R5-000105")}
SUZUKI = ALL_BUT_APPROVALS - TANAKA


def _assert_limitation_first(items: list[WorkItem]) -> None:
    kinds = [i.kind for i in items]
    n = kinds.count("limitation")
    assert kinds[:n] == ["limitation"] * n
    dues = [i.due for i in items[:n]]
    assert dues == sorted(dues)


def test_worklist_of_a_staff_member_shows_only_their_claims(s: Session, db_path) -> None:
    _worklist_fixture(s)
    tanaka = make_session(db_path, login=STAFF)
    items = worklist(tanaka, as_of=TODAY)
    assert _keys(items) == TANAKA
    _assert_limitation_first(items)
    lim = [(i.obligor_no, i.due) for i in items if i.kind == "limitation"]
    assert lim == [(1, date(2027, 1, 10)), (2, date(2027, 1, 10))]
    broken = next(i for i in items if i.kind == "promise")
    assert "50,000" in broken.reason
    arrears = next(i for i in items if i.kind == "plan_arrears")
    assert arrears.obligor == "山田 太郎"

    suzuki = make_session(db_path, login=OTHER)
    items = worklist(suzuki, as_of=TODAY)
    # suzuki proposed nothing and is staff: no approvals; 103's decision is not theirs to approve
    assert _keys(items) == SUZUKI
    _assert_limitation_first(items)
    assert items[0].due == date(2026, 10, 1) and "完成済み" in items[0].reason


def test_worklist_of_a_manager_shows_everyones_items_and_approvals(s: Session, db_path) -> None:
    # (b) of the lead's worklist change: managers see everyone's items by default
    _worklist_fixture(s)
    boss = make_session(db_path, login=BOSS)
    items = worklist(boss, as_of=TODAY)
    # not the decision the manager proposed: four eyes
    assert _keys(items) == ALL_BUT_APPROVALS | {("approval", "R5-000103")}
    _assert_limitation_first(items)
    assert [i.claim_no for i in items if i.kind == "limitation"] == [
        "R3-000102",
        "R4-000101",
        "R4-000101",
    ]
    admin = make_session(db_path)
    assert {k for k in _keys(worklist(admin, as_of=TODAY)) if k[0] == "approval"} == {
        ("approval", "R5-000103"),
        ("approval", "R5-000104"),
    }


def _promise_claim(s: Session) -> str:
    return new_claim(s, "R5-000001", date(2023, 6, 1), guarantors=1)


def _worklist_of(s: Session, no: str, kind: str) -> list[WorkItem]:
    return sorted(
        (i for i in worklist(s, as_of=TODAY) if i.claim_no == no and i.kind == kind),
        key=lambda i: (i.due or TODAY, i.reason),
    )


def test_broken_promises_are_listed(s: Session) -> None:
    no = _promise_claim(s)
    other = new_claim(s, "R5-000002", date(2023, 6, 1), guarantors=1)
    # paid by someone else, or short by one yen: broken (a later contact with the same obligor
    # would retire a promise, SPEC 4.5, so each case has its own claim)
    _contact(
        s, no, datetime(2026, 10, 2, 9), promised_amount=30_000, promised_on=date(2026, 10, 20)
    )
    post_receipt(s, no, date(2026, 10, 20), 30_000, 2)
    _contact(
        s, other, datetime(2026, 10, 3, 9), promised_amount=40_000, promised_on=date(2026, 10, 25)
    )
    post_receipt(s, other, date(2026, 10, 24), 39_999, 1)
    # not yet broken: due today, or later (the guarantor's)
    _contact(
        s, no, datetime(2026, 11, 5, 9), promised_amount=5_000, promised_on=TODAY, obligor_no=2
    )
    _contact(
        s,
        other,
        datetime(2026, 11, 6, 9),
        promised_amount=5_000,
        promised_on=TODAY + timedelta(days=9),
        obligor_no=2,
    )
    items = _worklist_of(s, no, "promise") + _worklist_of(s, other, "promise")
    assert [(i.due, i.reason) for i in items] == [
        (date(2026, 10, 20), "入金約束 30,000円 未入金"),
        (date(2026, 10, 25), "入金約束 40,000円 残 1円"),
    ]


def test_kept_promises_are_not_listed(s: Session) -> None:
    no = _promise_claim(s)
    # paid on the promised date; paid more, and earlier (after the contact)
    _contact(
        s, no, datetime(2026, 10, 1, 9), promised_amount=20_000, promised_on=date(2026, 10, 15)
    )
    post_receipt(s, no, date(2026, 10, 15), 20_000, 1)
    _contact(
        s,
        no,
        datetime(2026, 10, 2, 9),
        promised_amount=10_000,
        promised_on=date(2026, 10, 31),
        obligor_no=2,
    )
    post_receipt(s, no, date(2026, 10, 3), 15_000, 2)
    assert _worklist_of(s, no, "promise") == []


def test_plan_arrears_count_the_obligors_receipts(s: Session) -> None:
    no = _promise_claim(s)
    add_plan(s, no, 2, date(2026, 8, 1), 10_000, 10)
    for m in (8, 9):
        post_receipt(s, no, date(2026, m, 10), 10_000, 2)
    paid_up = new_claim(s, "R5-000002", date(2023, 6, 1))
    add_plan(s, paid_up, 1, date(2026, 8, 1), 10_000, 10)
    for m in (8, 9, 10, 11):
        post_receipt(s, paid_up, date(2026, m, 10), 10_000, 1)
    assert [i.reason for i in _worklist_of(s, no, "plan_arrears")] == ["分割弁済の延滞 20,000円"]
    assert _worklist_of(s, paid_up, "plan_arrears") == []


def test_contact_items_name_the_obligor(s: Session) -> None:
    no = _promise_claim(s)
    _contact(s, no, datetime(2026, 11, 1, 9), next_action="再架電", next_on=TODAY, obligor_no=2)
    _contact(s, no, datetime(2026, 10, 1, 9), promised_amount=1_000, promised_on=date(2026, 10, 9))
    assert [i.obligor for i in _worklist_of(s, no, "next_action")] == ["山田 太郎"]
    assert [i.obligor for i in _worklist_of(s, no, "promise")] == ["株式会社テスト"]


def test_a_new_next_action_supersedes_the_open_ones(s: Session) -> None:
    no = new_claim(s, "R5-000001", date(2023, 6, 1), guarantors=1)
    other = new_claim(s, "R5-000002", date(2023, 6, 1))
    first = _contact(
        s, no, datetime(2026, 11, 1, 9), next_action="再架電", next_on=date(2026, 11, 15)
    )
    elsewhere = _contact(
        s, other, datetime(2026, 11, 1, 9), next_action="訪問", next_on=date(2026, 11, 16)
    )
    due = {(i.claim_no, i.due) for i in worklist(s, as_of=TODAY) if i.kind == "next_action"}
    assert due == {(no, date(2026, 11, 15)), (other, date(2026, 11, 16))}

    second = _contact(
        s, no, datetime(2026, 11, 10, 9), next_action="書面送付", next_on=TODAY + timedelta(days=3)
    )
    assert Contact.get_by_id(first.id).next_done
    assert not Contact.get_by_id(second.id).next_done
    assert not Contact.get_by_id(elsewhere.id).next_done  # another claim's action stays open
    # a contact with another obligor of the claim does not close the open one (SPEC 4.7)
    _contact(s, no, datetime(2026, 11, 12, 9), obligor_no=2)
    assert not Contact.get_by_id(second.id).next_done
    due = {(i.claim_no, i.due) for i in worklist(s, as_of=TODAY) if i.kind == "next_action"}
    assert due == {(other, date(2026, 11, 16))}
    due = {
        (i.claim_no, i.due)
        for i in worklist(s, as_of=TODAY + timedelta(days=3))
        if i.kind == "next_action"
    }
    assert due == {(no, TODAY + timedelta(days=3)), (other, date(2026, 11, 16))}


def test_imported_contacts_supersede_older_next_actions(s: Session) -> None:
    no = new_claim(s, "R5-000001", date(2023, 6, 1))
    rows = [
        [no, "1", "2026-10-01 10:00", STAFF, "電話", "不在", "", "再架電", "2026-10-05"],
        [no, "1", "2026-11-01 10:00", STAFF, "電話", "本人", "", "書面送付", "2026-11-20"],
    ]
    import_bytes(s, "contacts", csv_bytes([CONTACT_HEADER, *rows]))
    due = [i.due for i in worklist(s, as_of=TODAY) if i.kind == "next_action"]
    assert due == [date(2026, 11, 20)]


def test_limitation_alerts_come_before_long_overdue_next_actions(s: Session) -> None:
    no = new_claim(s, "R4-000001", date(2022, 1, 10))
    _contact(s, no, datetime(2023, 1, 10, 9), next_action="所在調査", next_on=date(2023, 2, 1))
    items = worklist(s, as_of=TODAY)
    assert [i.kind for i in items] == ["limitation", "next_action"]


def test_worklist_completed_clock_leaves_once_a_decision_takes_it_up(s: Session) -> None:
    # (a) of the lead's worklist change: a completed clock stays on the worklist only while
    # the claim has no decision (proposed or approved); a running one stays regardless.
    import_claims(
        s,
        [claim_row("R3-000001", date(2021, 10, 1)), claim_row("R4-000002", date(2022, 1, 10))],
        [*obligor_rows("R3-000001"), *obligor_rows("R4-000002")],
    )

    def alerts() -> list[str]:
        return [i.claim_no for i in worklist(s, as_of=TODAY) if i.kind == "limitation"]

    def decide(no: str, status: str) -> Decision:
        with direct_writes(s):
            return Decision.create(
                claim=Claim.get(Claim.claim_no == no),
                kind="write_off",
                status=status,
                proposer=STAFF,
                created_at=datetime(2026, 11, 20, 9),
            )

    assert alerts() == ["R3-000001", "R4-000002"]
    for no in ("R3-000001", "R4-000002"):
        decide(no, "rejected")
        decide(no, "withdrawn")
    assert alerts() == ["R3-000001", "R4-000002"]
    d = decide("R3-000001", "proposed")
    decide("R4-000002", "proposed")
    assert alerts() == ["R4-000002"]
    with direct_writes(s):
        Decision.update(status="approved").where(Decision.id == d.id).execute()
    assert alerts() == ["R4-000002"]
    # the alert query itself still lists every completed clock
    assert [r["claim_no"] for r in limitation_due(s, within=180, as_of=TODAY)] == [
        "R3-000001",
        "R4-000002",
    ]


# --------------------------------------------------------------------------- contacts


def test_add_contact_refuses_incomplete_input(s: Session) -> None:
    no = new_claim(s, "R5-000001", date(2023, 6, 1))
    at = datetime(2026, 11, 1, 9)
    cases = [
        ({"promised_amount": 10_000}, "入金約束"),
        ({"promised_on": date(2026, 12, 1)}, "入金約束"),
        ({"promised_amount": 0, "promised_on": date(2026, 12, 1)}, "約束金額"),
        ({"next_on": date(2026, 12, 1)}, "次回行動"),
        ({"next_on": date(2026, 12, 1), "next_action": " \u3000"}, "次回行動"),
    ]
    for kw, field in cases:
        with pytest.raises(InputError) as err:
            add_contact(s, no, 1, "phone", "架電", at=at, **kw)
        assert err.value.field == field, kw
    with pytest.raises(InputError) as err:
        add_contact(s, no, 1, "fax", "架電", at=at)
    assert err.value.field == "方法"
    with pytest.raises(InputError) as err:
        add_contact(s, no, 7, "phone", "架電", at=at)
    assert err.value.field == "関係人番号"
    assert Contact.select().count() == 0

    c = add_contact(
        s,
        no,
        1,
        "visit",
        " 面談できた ",
        at=at,
        promised_amount=10_000,
        promised_on=date(2026, 12, 1),
        next_action=" 入金確認 ",
        next_on=date(2026, 12, 2),
    )
    row = Contact.get_by_id(c.id)
    assert (row.outcome, row.next_action, row.staff, row.next_done) == (
        "面談できた",
        "入金確認",
        ADMIN,
        False,
    )


# --------------------------------------------------------------------------- random sequences

H_NO = "R2-000009"
H_SUB = date(2020, 6, 1)
CLOCK_COLUMNS = (
    "own_completes_on",
    "completes_on",
    "lim_state",
    "lim_basis",
    "lim_basis_date",
    "lim_period_years",
    "lim_via_principal",
)

OPS = st.lists(
    st.tuples(
        st.sampled_from(["event", "event", "receipt"]),
        st.integers(1, 3),
        st.sampled_from(sorted(EVENT_KINDS)),
        st.integers(0, (TODAY - H_SUB).days),
        st.one_of(st.none(), st.integers(1, 800)),
    ),
    max_size=8,
)


def _fresh(factory) -> Session:
    path = factory.mktemp("clocks") / "kyusho.db"
    init_database(path, ADMIN, "管理者")
    session = make_session(path)
    add_staff(session, STAFF, "田中", "staff")
    new_claim(session, H_NO, H_SUB, contract=H_SUB, debtor="person", merchant="0", guarantors=2)
    return session


def _run(session: Session, ops) -> None:
    for what, who, kind, offset, until in ops:
        day = H_SUB + timedelta(days=offset)
        if what == "receipt":
            post_receipt(session, H_NO, day, 1_000, who)
        else:
            end = day + timedelta(days=until) if (until and kind == "agreement") else None
            try:
                add_event(session, H_NO, who, kind, day, until=end, confirm_no_effect=True)
            except InputError:  # refused (e.g. 援用 before completion): nothing stored
                pass


def _principal_clock() -> tuple:
    o = obligor(H_NO, 1)
    return tuple(getattr(o, f) for f in CLOCK_COLUMNS)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_random_sequences_keep_the_projection_exact(tmp_path_factory, ops) -> None:
    session = _fresh(tmp_path_factory)
    try:
        _run(session, ops)
        assert rebuild(session, write=False).changed == 0
        assert audit.verify().ok
        assert_projection_exact(session, H_NO)
        for n in (2, 3):
            g = obligor(H_NO, n)
            if g.own_completes_on is not None and g.completes_on is not None:
                assert g.completes_on <= g.own_completes_on
        with_guarantors = _principal_clock()
    finally:
        session.db.close()
    session = _fresh(tmp_path_factory)
    try:
        _run(session, [op for op in ops if op[1] == 1])
        assert _principal_clock() == with_guarantors
    finally:
        session.db.close()
