"""Posting to the ledger on a real database (SPEC 4.3–4.5): receipts, costs, cancellations,
allocation order, plans — and that the stored projections always equal a recomputation."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import tomllib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ADMIN, TODAY, direct_writes, make_session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyusho.errors import ConflictError, InputError, NotFound
from kyusho.rules import ledger
from kyusho.rules.ledger import Balance, ClaimTerms, Entry, LedgerResult, OverpaymentError
from kyusho.services import entries
from kyusho.services.claims import claim_json, claim_view, update_claim
from kyusho.services.imports import import_bytes
from kyusho.services.maintenance import rebuild
from kyusho.services.plans import add_plan, plan_status
from kyusho.services.projections import balance_from_projection
from kyusho.services.session import Session
from kyusho.services.staff import add_staff, init_database
from models import audit
from models.schema import AuditEvent, Claim, LedgerEntry, Plan

DAY = timedelta(days=1)
NO = "R6-000001"
SUBROGATION = date(2024, 1, 10)
PRINCIPAL = 1_000_000


def _examples_file(name: str) -> Path:
    """The repository copy of a worked-example file first, then ../shared next to the repo."""
    here = Path(__file__).resolve().parent
    candidates = (here / "examples" / name, here.parent.parent / "shared" / "examples" / name)
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} not found in any of: {', '.join(map(str, candidates))}")


CASES = tomllib.loads(_examples_file("ledger.toml").read_text(encoding="utf-8"))["case"]


# --------------------------------------------------------------------------- helpers


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


CLAIM_HEADER = [
    "求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "損害金率", "充当順序",
    "委託契約日", "金融機関", "担当者",
]  # fmt: skip
OBLIGOR_HEADER = ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "住所"]


def add_claim(
    session: Session,
    no: str = NO,
    subrogation: date = SUBROGATION,
    principal: int = PRINCIPAL,
    interest: int = 0,
    rate: str = "14.0",
    order: str = "statutory",
) -> None:
    """A claim with a corporate principal debtor (1) and a joint guarantor (2), via CSV import."""
    contract = subrogation - timedelta(days=400)
    row = [
        no, subrogation.isoformat(), str(principal), str(interest), rate, order,
        contract.isoformat(), "サンプル銀行", ADMIN,
    ]  # fmt: skip
    import_bytes(session, "claims", csv_bytes([CLAIM_HEADER, row]))
    obligors = [
        OBLIGOR_HEADER,
        [
            no,
            "1",
            "主債務者",
            "株式会社テスト",
            "カブシキガイシャテスト",
            "法人",
            "東京都千代田区1-1",
        ],
        [no, "2", "連帯保証人", "山田 太郎", "ヤマダ タロウ", "個人", "東京都港区2-2"],
    ]
    import_bytes(session, "obligors", csv_bytes(obligors))


def claim_of(no: str = NO) -> Claim:
    return Claim.get(Claim.claim_no == no)


def rows_of(no: str = NO) -> list[LedgerEntry]:
    return list(
        LedgerEntry.select()
        .where(LedgerEntry.claim == claim_of(no).id)
        .order_by(LedgerEntry.date, LedgerEntry.id)
    )


def stored(entry_id: int) -> tuple[int, int, int]:
    e = LedgerEntry.get_by_id(entry_id)
    return (e.alloc_costs, e.alloc_damages, e.alloc_principal)


def terms(no: str = NO) -> ClaimTerms:
    """The claim's terms read straight from its row (not through the services' helper)."""
    c = claim_of(no)
    return ClaimTerms(
        subrogation_date=c.subrogation_date,
        loan_principal=c.loan_principal,
        loan_interest=c.loan_interest,
        damages_rate=Decimal(c.damages_rate),
        allocation_order=c.allocation_order,
    )


def engine_entries(no: str = NO) -> list[Entry]:
    return [Entry(e.id, e.date, e.kind, e.amount, bool(e.cancelled)) for e in rows_of(no)]


def recomputed(no: str = NO, as_of: date = TODAY) -> LedgerResult:
    return ledger.compute(terms(no), engine_entries(no), as_of)


def triple(a: ledger.Allocation | None) -> tuple[int, int, int]:
    return (a.costs, a.damages, a.principal) if a else (0, 0, 0)


def counts() -> tuple[int, int]:
    return LedgerEntry.select().count(), AuditEvent.select().count()


def snapshot() -> list[tuple]:
    """Every ledger row and claim projection, to show that a refusal changed nothing."""
    ledger_rows = [tuple(r.values()) for r in LedgerEntry.select().order_by(LedgerEntry.id).dicts()]
    claims = [tuple(r.values()) for r in Claim.select().order_by(Claim.id).dicts()]
    return ledger_rows + claims + [counts()]


def balance_dict(b: Balance) -> dict[str, int]:
    return {"principal": b.principal, "damages": b.damages, "costs": b.costs, "total": b.total}


def assert_consistent(session: Session, no: str = NO) -> LedgerResult:
    """Stored allocations and the claim's projection equal a recomputation from the entries;
    rebuild finds nothing to change; the claim view shows the recomputed balance."""
    result = recomputed(no)
    for row in rows_of(no):
        assert stored(row.id) == triple(result.allocations.get(row.id)), row.id
    live = [r for r in rows_of(no) if not r.cancelled]
    c = claim_of(no)
    last = max((r.date for r in live), default=c.subrogation_date)
    at_last = recomputed(no, last).balance
    assert (c.principal_outstanding, c.damages_at_last, c.costs_outstanding) == (
        at_last.principal,
        at_last.damages,
        at_last.costs,
    )
    assert c.last_entry_on == last
    assert c.last_receipt_on == max((r.date for r in live if r.kind == "receipt"), default=None)
    assert balance_from_projection(c, TODAY) == result.balance
    assert claim_json(claim_view(session, no))["balance"] == balance_dict(result.balance)
    assert rebuild(session, write=False).changed == 0
    return result


def receipt(session: Session, on: date, amount: int, payer: int = 1, no: str = NO) -> int:
    return entries.post_receipt(session, no, on, amount, payer).id


def yen(n: int) -> str:
    return f"{n:,}円"


@pytest.fixture
def s(session: Session) -> Session:
    """A fresh database with one claim: 1,000,000円 at 14.0%, subrogated 2024-01-10."""
    add_claim(session)
    return session


# --------------------------------------------------------------------------- receipts


def test_post_receipt_stores_the_engine_allocation_and_the_projection(session):
    add_claim(session, "R5-000001", date(2023, 4, 10), 9_800_000, 200_000)
    entry = entries.post_receipt(session, "R5-000001", date(2023, 7, 31), 500_000, 1)
    assert (entry.alloc_costs, entry.alloc_damages, entry.alloc_principal) == (0, 429_589, 70_411)
    assert stored(entry.id) == triple(recomputed("R5-000001").allocations[entry.id])
    assert entry.kind == "receipt" and entry.created_by == ADMIN and not entry.cancelled
    c = claim_of("R5-000001")
    assert c.principal_outstanding == 9_929_589
    assert (c.damages_at_last, c.costs_outstanding) == (0, 0)
    assert c.last_entry_on == c.last_receipt_on == date(2023, 7, 31)
    assert balance_from_projection(c, TODAY) == recomputed("R5-000001", TODAY).balance
    assert balance_from_projection(c, date(2023, 12, 31)).total == 10_512_306  # SPEC 5.2 example
    assert AuditEvent.select().order_by(AuditEvent.seq.desc()).get().action == "receipt.post"
    assert_consistent(session, "R5-000001")


def _post_case_entry(session: Session, no: str, e: dict) -> None:
    if e["kind"] == "receipt":
        entries.post_receipt(session, no, e["date"], e["amount"], 1)
    elif e["kind"] == "cost":
        entries.post_cost(session, no, e["date"], e["amount"], "訴訟費用")
    else:
        with direct_writes(session):
            entries.post_damages_waiver(session, claim_of(no), e["date"], e["amount"], 1)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_worked_examples_through_the_services(session, case: dict) -> None:
    no = "R9-000001"
    add_claim(
        session,
        no,
        case["subrogation_date"],
        case["loan_principal"],
        case["loan_interest"],
        case["damages_rate"],
        case["allocation_order"],
    )
    for e in case.get("entry", []):
        _post_case_entry(session, no, e)
    got = claim_json(claim_view(session, no, case["as_of"]))
    assert got["balance"] == case["expected"]["balance"]
    assert got["allocation_order"] == case["allocation_order"]
    want = [
        {
            "date": a["date"].isoformat(),
            "amount": a["amount"],
            "allocated": {k: a[k] for k in ("costs", "damages", "principal")},
        }
        for a in case["expected"].get("allocation", [])
    ]
    assert [{k: r[k] for k in ("date", "amount", "allocated")} for r in got["receipts"]] == want
    receipts = [r for r in rows_of(no) if r.kind == "receipt"]
    assert [stored(r.id) for r in receipts] == [
        (a["costs"], a["damages"], a["principal"]) for a in case["expected"].get("allocation", [])
    ]
    assert_consistent(session, no)


def test_a_back_dated_receipt_reallocates_every_later_receipt(s):
    later = [receipt(s, date(2024, 6, 30), 100_000), receipt(s, date(2024, 12, 31), 100_000)]
    before = {i: stored(i) for i in later}
    back = receipt(s, date(2024, 3, 31), 50_000)
    result = assert_consistent(s)
    for i in later:
        assert stored(i) != before[i]
        assert stored(i) == triple(result.allocations[i])
    assert stored(back) == triple(result.allocations[back])
    # The back-dated receipt is placed by its date, not by when it was recorded.
    assert [r.id for r in rows_of() if r.kind == "receipt"] == [back, *later]


def test_same_day_receipts_apply_in_recording_order(session):
    """L3's numbers: 33,000円 damages are due on 2024-03-10 when both receipts arrive."""
    on = date(2024, 3, 10)
    for no, amounts in (("R6-000010", (20_000, 50_000)), ("R6-000011", (50_000, 20_000))):
        add_claim(session, no, date(2024, 1, 15), 1_500_000, 0, "14.6")
        for amount in amounts:
            receipt(session, on, amount, no=no)
        assert_consistent(session, no)
    first = [stored(r.id) for r in rows_of("R6-000010")]
    second = [stored(r.id) for r in rows_of("R6-000011")]
    assert first == [(0, 20_000, 0), (0, 13_000, 37_000)]
    assert second == [(0, 33_000, 17_000), (0, 0, 20_000)]
    assert claim_of("R6-000010").principal_outstanding == 1_463_000
    assert claim_of("R6-000011").principal_outstanding == 1_463_000


def test_a_same_day_receipt_recorded_later_applies_after_the_earlier_one(session):
    no = "R6-000012"
    add_claim(session, no, date(2024, 1, 15), 1_500_000, 0, "14.6")
    a = receipt(session, date(2024, 3, 10), 20_000, no=no)
    c = receipt(session, date(2024, 5, 1), 100_000, no=no)
    before_c = stored(c)
    b = receipt(session, date(2024, 3, 10), 50_000, no=no)  # back-dated onto the same day
    assert stored(a) == (0, 20_000, 0)
    assert stored(b) == (0, 13_000, 37_000)
    assert stored(c) != before_c
    assert [r.id for r in rows_of(no)] == [a, b, c]
    assert_consistent(session, no)


def test_the_preview_is_what_posting_gives_and_stores_nothing(s):
    receipt(s, date(2024, 6, 30), 100_000)
    before = snapshot()
    shown = entries.preview_receipt(s, NO, date(2024, 12, 31), 200_000)
    assert snapshot() == before
    assert shown.maximum == recomputed(NO, date(2024, 12, 31)).balance.total
    posted = receipt(s, date(2024, 12, 31), 200_000)
    assert stored(posted) == triple(shown.allocation)
    assert recomputed(NO, date(2024, 12, 31)).balance == shown.balance_after
    assert_consistent(s)


def test_the_preview_of_a_back_dated_receipt_is_on_the_receipts_own_date(s):
    # a later receipt exists: the preview must still speak of the back-dated receipt's day
    receipt(s, date(2024, 12, 31), 100_000)
    on = date(2024, 6, 30)
    shown = entries.preview_receipt(s, NO, on, 50_000)
    assert shown.on == on
    assert shown.balance_before == recomputed(NO, on).balance
    assert shown.maximum == shown.balance_before.total
    receipt(s, on, 50_000)
    assert shown.balance_after == recomputed(NO, on).balance
    assert shown.balance_after.total == shown.balance_before.total - 50_000


# --------------------------------------------------------------------------- refusals


def test_a_receipt_above_the_balance_is_refused_with_the_maximum(s):
    # 365 days at 14.0% on 1,000,000円: 140,000円 damages; the maximum is 1,140,000円.
    on = date(2025, 1, 9)
    before = snapshot()
    with pytest.raises(OverpaymentError) as info:
        receipt(s, on, 1_140_001)
    assert info.value.field == "金額"
    assert yen(1_140_000) in info.value.message
    assert snapshot() == before
    receipt(s, on, 1_140_000)  # exactly the maximum is accepted and clears the claim
    assert recomputed().balance == Balance(0, 0, 0)
    before = snapshot()
    with pytest.raises(OverpaymentError) as info:
        receipt(s, TODAY, 1)
    assert yen(0) in info.value.message
    assert snapshot() == before
    assert_consistent(s)


def test_the_maximum_includes_costs(s):
    entries.post_cost(s, NO, SUBROGATION, 38_000, "訴訟費用")
    before = snapshot()
    with pytest.raises(OverpaymentError) as info:
        receipt(s, date(2025, 1, 9), 1_178_001)
    assert yen(1_178_000) in info.value.message
    assert snapshot() == before


def test_a_back_dated_receipt_that_makes_a_later_one_overpay_is_refused(s):
    paid_off = receipt(s, date(2025, 1, 9), 1_140_000)
    before = snapshot()
    with pytest.raises(InputError):
        receipt(s, date(2024, 6, 30), 10_000)
    assert snapshot() == before
    assert stored(paid_off) == (0, 140_000, 1_000_000)
    assert_consistent(s)


def _stated_maximum(err: InputError) -> int:
    m = re.search(r"最大 ([\d,]+)円", err.message)
    assert m is not None, err.message
    return int(m[1].replace(",", ""))


def test_a_back_dated_receipt_refused_because_of_a_later_one_names_that_receipt(s):
    """A refused 10,000円 must not be told 'the maximum is 1,13x,xxx円': that maximum belongs
    to the later receipt. The message names the later receipt instead, and nothing is stored."""
    receipt(s, date(2025, 1, 9), 1_140_000)
    before = snapshot()
    with pytest.raises(InputError) as info:
        receipt(s, date(2024, 6, 30), 10_000)
    assert not isinstance(info.value, OverpaymentError)
    assert info.value.field == "入金日"
    assert "2025-01-09" in info.value.message and "1,140,000円" in info.value.message
    assert snapshot() == before
    # the live preview says the same
    with pytest.raises(InputError) as info:
        entries.preview_receipt(s, NO, date(2024, 6, 30), 10_000)
    assert "2025-01-09" in info.value.message


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"on": TODAY + DAY}, "入金日", "未来"),
        ({"on": SUBROGATION - DAY}, "入金日", "代位弁済日"),
        ({"payer_no": 9}, "入金者", "関係人番号 9"),
        ({"amount": 0}, "金額", "1円以上"),
        ({"amount": -5}, "金額", "1円以上"),
        ({"method": "cheque"}, "入金方法", "振込"),
    ],
)
def test_bad_receipts_are_refused_naming_the_field(s, kwargs, field, says):
    args = {"on": date(2024, 6, 30), "amount": 10_000, "payer_no": 1} | kwargs
    before = snapshot()
    with pytest.raises(InputError) as info:
        entries.post_receipt(s, NO, **args)
    assert info.value.field == field
    assert says in info.value.message
    assert snapshot() == before


def test_receipts_on_the_subrogation_date_and_today_are_accepted(s):
    receipt(s, SUBROGATION, 10_000)
    receipt(s, TODAY, 10_000, payer=2)
    assert_consistent(s)


def test_a_receipt_on_an_unknown_claim_is_not_found(s):
    with pytest.raises(NotFound):
        entries.post_receipt(s, "R6-999999", date(2024, 6, 30), 10_000, 1)


@pytest.mark.parametrize(
    ("on", "amount", "kind", "field"),
    [
        (TODAY + DAY, 1_000, "訴訟費用", "日付"),
        (SUBROGATION - DAY, 1_000, "訴訟費用", "日付"),
        (date(2024, 6, 1), 0, "訴訟費用", "金額"),
        (date(2024, 6, 1), 1_000, "  ", "費用の種類"),
    ],
)
def test_bad_costs_are_refused_naming_the_field(s, on, amount, kind, field):
    before = snapshot()
    with pytest.raises(InputError) as info:
        entries.post_cost(s, NO, on, amount, kind)
    assert info.value.field == field
    assert snapshot() == before


# --------------------------------------------------------------------------- cancellation


def test_cancel_needs_a_reason_keeps_the_row_and_reallocates(s):
    first = receipt(s, date(2024, 3, 31), 50_000)
    later = receipt(s, date(2024, 6, 30), 100_000)
    with_first = stored(later)
    before = snapshot()
    for blank in ("", "  \u3000"):
        with pytest.raises(InputError) as info:
            entries.cancel_entry(s, first, blank)
        assert info.value.field == "取消理由"
    assert snapshot() == before

    entries.cancel_entry(s, first, "  二重入力  ")
    row = LedgerEntry.get_by_id(first)
    assert row.cancelled and row.cancel_reason == "二重入力" and row.cancelled_by == ADMIN
    assert stored(first) == (0, 0, 0)
    assert stored(later) != with_first
    # The balance is as if the cancelled receipt had never existed.
    never = ledger.compute(terms(), [e for e in engine_entries() if e.seq != first], TODAY).balance
    result = assert_consistent(s)
    assert result.balance == never
    assert stored(later) == triple(result.allocations[later])
    shown = claim_json(claim_view(s, NO))["receipts"]
    assert [(r["amount"], r["cancelled"], r["allocated"] is None) for r in shown] == [
        (50_000, True, True),
        (100_000, False, False),
    ]
    event = AuditEvent.select().order_by(AuditEvent.seq.desc()).get()
    assert (event.action, event.reason) == ("receipt.cancel", "二重入力")

    before = snapshot()
    with pytest.raises(InputError) as info:
        entries.cancel_entry(s, first, "もう一度")
    assert "すでに取り消され" in info.value.message
    assert snapshot() == before


def test_cancelling_the_last_receipt_restores_the_projection(s):
    only = receipt(s, date(2024, 6, 30), 100_000)
    entries.cancel_entry(s, only, "誤入力")
    c = claim_of()
    assert c.principal_outstanding == PRINCIPAL
    assert c.last_receipt_on is None and c.last_entry_on == SUBROGATION
    assert_consistent(s)


def test_cancelling_an_unknown_entry_is_not_found(s):
    with pytest.raises(NotFound):
        entries.cancel_entry(s, 999, "誤入力")


def test_cancelling_a_cost_that_a_later_receipt_paid_is_refused(s):
    cost = entries.post_cost(s, NO, SUBROGATION, 38_000, "訴訟費用").id
    receipt(s, date(2025, 1, 9), 1_178_000)  # pays the claim off, cost included
    before = snapshot()
    with pytest.raises(InputError) as info:
        entries.cancel_entry(s, cost, "誤入力")
    assert info.value.field == "明細" and "1,178,000円" in info.value.message
    assert snapshot() == before
    assert not LedgerEntry.get_by_id(cost).cancelled


# --------------------------------------------------------------------------- allocation order


def _order_claim(session: Session) -> list[int]:
    entries.post_cost(session, NO, date(2024, 2, 1), 20_000, "訴訟費用")
    return [
        receipt(session, date(2024, 6, 30), 100_000),
        receipt(session, date(2024, 12, 31), 100_000, payer=2),
    ]


def test_changing_the_allocation_order_reallocates_every_receipt(s):
    ids = _order_claim(s)
    statutory = [stored(i) for i in ids]
    version = claim_of().version
    update_claim(s, NO, version, {"allocation_order": "principal_first"}, reason="保証人の誠実弁済")
    c = claim_of()
    assert (c.allocation_order, c.version) == ("principal_first", version + 1)
    result = assert_consistent(s)
    principal_first = [stored(i) for i in ids]
    assert principal_first == [triple(result.allocations[i]) for i in ids]
    assert principal_first != statutory
    assert principal_first[0] == (20_000, 0, 80_000)  # costs → principal → damages
    assert statutory[0][0] == 20_000 and statutory[0][1] > 0  # costs → damages → principal
    update_claim(s, NO, version + 1, {"allocation_order": "statutory"}, reason="戻す")
    assert [stored(i) for i in ids] == statutory
    assert_consistent(s)


def test_changing_the_allocation_order_needs_a_reason(s):
    _order_claim(s)
    before = snapshot()
    with pytest.raises(InputError) as info:
        update_claim(s, NO, claim_of().version, {"allocation_order": "principal_first"}, " ")
    assert info.value.field == "理由"
    with pytest.raises(InputError) as info:
        update_claim(s, NO, claim_of().version, {"allocation_order": "lifo"}, "理由")
    assert info.value.field == "充当順序"
    assert snapshot() == before


def test_a_stale_version_is_a_conflict_naming_who_changed_it(s):
    _order_claim(s)
    add_staff(s, "suzuki", "鈴木", "manager")
    other = dataclasses.replace(s, login="suzuki", name="鈴木", role="manager")
    opened = claim_of().version
    update_claim(other, NO, opened, {"lender": "みなと銀行"})
    before = snapshot()
    with pytest.raises(ConflictError) as info:
        update_claim(s, NO, opened, {"allocation_order": "principal_first"}, "理由")
    assert info.value.changed_by == "suzuki"
    assert "suzuki" in str(info.value)
    assert snapshot() == before
    assert claim_of().allocation_order == "statutory"


def test_an_order_change_that_would_make_a_receipt_overpay_is_refused(s):
    """Paid off under 法定充当; 元金充当 accrues less damages, so that receipt would overpay."""
    receipt(s, date(2024, 6, 30), 100_000)
    receipt(s, date(2025, 1, 9), recomputed(NO, date(2025, 1, 9)).balance.total)
    before = snapshot()
    with pytest.raises(InputError):
        update_claim(s, NO, claim_of().version, {"allocation_order": "principal_first"}, "理由")
    assert snapshot() == before


def test_changing_the_damages_rate_reallocates_and_needs_a_reason(s):
    ids = _order_claim(s)
    with pytest.raises(InputError) as info:
        update_claim(s, NO, claim_of().version, {"damages_rate": "14.6"})
    assert info.value.field == "理由"
    at_14 = [stored(i) for i in ids]
    update_claim(s, NO, claim_of().version, {"damages_rate": "14.6"}, reason="契約書の確認")
    assert Decimal(claim_of().damages_rate) == Decimal("14.6")
    assert [stored(i) for i in ids] != at_14
    assert_consistent(s)
    shown = claim_json(claim_view(s, NO))
    assert shown["damages_rate"] == "14.6"
    assert [r["payer"] for r in shown["receipts"]] == [1, 2]


# --------------------------------------------------------------------------- write-off


def test_receipts_after_write_off_are_marked_post_write_off(s):
    before_write_off = receipt(s, date(2024, 6, 30), 10_000)
    with direct_writes(s):
        Claim.update(status="written_off", written_off_on=date(2025, 3, 31)).where(
            Claim.claim_no == NO
        ).execute()
    on_the_day = entries.post_receipt(s, NO, date(2025, 3, 31), 10_000, 1)
    after = entries.post_receipt(s, NO, date(2025, 6, 30), 10_000, 2)
    assert after.post_write_off is True
    assert on_the_day.post_write_off is False
    assert LedgerEntry.get_by_id(before_write_off).post_write_off is False
    shown = claim_json(claim_view(s, NO))["receipts"]
    assert [(r["date"], r["post_write_off"]) for r in shown] == [
        ("2024-06-30", False),
        ("2025-03-31", False),
        ("2025-06-30", True),
    ]
    assert_consistent(s)


# --------------------------------------------------------------------------- plans


@pytest.fixture
def p(session: Session) -> Session:
    add_claim(session, "R7-000001", date(2025, 1, 10), 3_000_000)
    return session


def test_add_plan_stores_the_plan_and_its_arrears(p):
    plan = add_plan(p, "R7-000001", 2, date(2026, 6, 15), 10_000, 10, date(2027, 5, 1), "月末")
    row = Plan.get_by_id(plan.id)
    assert (row.first_month, row.last_month) == (date(2026, 6, 1), date(2027, 5, 1))
    assert (row.monthly_amount, row.due_day, row.status) == (10_000, 10, "active")
    assert row.obligor.obligor_no == 2 and row.created_by == ADMIN
    # 6/10 … 11/10 are due by 11/22, nothing paid: 60,000円 in arrears.
    assert plan_status(p, row, TODAY) == (60_000, True)
    assert AuditEvent.select().order_by(AuditEvent.seq.desc()).get().action == "plan.add"


def test_a_new_plan_supersedes_the_obligors_active_plan(p):
    old = add_plan(p, "R7-000001", 2, date(2026, 6, 1), 10_000, 10)
    debtor = add_plan(p, "R7-000001", 1, date(2026, 6, 1), 50_000, 31)
    new = add_plan(p, "R7-000001", 2, date(2026, 10, 1), 5_000, 25)
    assert Plan.select().count() == 3
    old_row = Plan.get_by_id(old.id)
    assert (old_row.status, old_row.superseded_by) == ("superseded", new.id)
    assert old_row.monthly_amount == 10_000  # kept as it was
    assert Plan.get_by_id(new.id).status == "active"
    assert Plan.get_by_id(debtor.id).status == "active"  # another obligor's plan is untouched
    assert Plan.get_by_id(debtor.id).superseded_by is None


def test_plan_arrears_count_only_that_obligors_receipts_since_the_plan_started(p):
    plan = add_plan(p, "R7-000001", 2, date(2026, 6, 1), 10_000, 10)
    receipt(p, date(2026, 5, 20), 10_000, payer=2, no="R7-000001")  # before the plan
    june = receipt(p, date(2026, 6, 10), 10_000, payer=2, no="R7-000001")
    receipt(p, date(2026, 7, 15), 10_000, payer=2, no="R7-000001")
    receipt(p, date(2026, 8, 1), 100_000, payer=1, no="R7-000001")  # the debtor's, not counted
    receipt(p, date(2026, 9, 30), 20_000, payer=2, no="R7-000001")
    assert plan_status(p, plan, TODAY) == (20_000, True)
    # On 7/11 July is due but within the 10-day grace: in arrears by amount, not yet late.
    assert plan_status(p, plan, date(2026, 7, 11)) == (10_000, False)
    entries.cancel_entry(p, june, "誤入力")
    assert plan_status(p, plan, date(2026, 7, 11)) == (20_000, True)
    receipt(p, date(2026, 11, 20), 30_000, payer=2, no="R7-000001")
    assert plan_status(p, plan, TODAY) == (0, False)
    assert_consistent(p, "R7-000001")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((2, date(2026, 6, 1), 0, 10), "月額"),
        ((2, date(2026, 6, 1), -1, 10), "月額"),
        ((2, date(2026, 6, 1), 10_000, 0), "支払日"),
        ((2, date(2026, 6, 1), 10_000, 32), "支払日"),
        ((2, date(2026, 6, 1), 10_000, 10, date(2026, 5, 1)), "最終月"),
        ((9, date(2026, 6, 1), 10_000, 10), "関係人番号"),
    ],
)
def test_bad_plans_are_refused_naming_the_field_and_supersede_nothing(p, args, field):
    existing = add_plan(p, "R7-000001", 2, date(2026, 4, 1), 10_000, 10)
    before = snapshot(), Plan.select().count()
    with pytest.raises(InputError) as info:
        add_plan(p, "R7-000001", *args)
    assert info.value.field == field
    assert (snapshot(), Plan.select().count()) == before
    assert Plan.get_by_id(existing.id).status == "active"


# --------------------------------------------------------------------------- random sequences

SPAN = (TODAY - SUBROGATION).days

OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("receipt"),
            st.integers(0, SPAN),
            st.one_of(st.integers(1, 1_300_000), st.just("all")),
            st.sampled_from([1, 2]),
        ),
        st.tuples(st.just("cost"), st.integers(0, SPAN), st.integers(1, 100_000)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
    ),
    max_size=12,
)


def _accepted(trial: list[Entry]) -> bool:
    """The oracle: would the engine take the ledger ``trial``?"""
    try:
        ledger.compute(terms(), trial, TODAY)
    except OverpaymentError:
        return False
    return True


def _run(session: Session, ops: list[tuple]) -> list[Entry]:
    """Apply ``ops``; check each refusal stores nothing and each outcome matches the oracle."""
    model: list[Entry] = []
    big = 10**9
    for op in ops:
        before = snapshot()
        if op[0] == "cancel":
            if not model:
                continue
            target = model[op[1] % len(model)]
            if target.cancelled:
                with pytest.raises(InputError):
                    entries.cancel_entry(session, target.seq, "取消")
                assert snapshot() == before
                continue
            cancelled = dataclasses.replace(target, cancelled=True)
            trial = [cancelled if e is target else e for e in model]
            if _accepted(trial):
                entries.cancel_entry(session, target.seq, "取消")
                model = trial
            else:
                with pytest.raises(InputError):  # names the later receipt that would overpay
                    entries.cancel_entry(session, target.seq, "取消")
                assert snapshot() == before
            continue
        on = SUBROGATION + timedelta(days=op[1])
        if op[0] == "cost":
            row = entries.post_cost(session, NO, on, op[2], "訴訟費用")
            model.append(Entry(row.id, on, "cost", op[2]))
            continue
        amount = op[2]
        if amount == "all":
            amount = max(1, ledger.compute(terms(), model, on).balance.total)
        trial = [*model, Entry(big, on, "receipt", amount)]
        if _accepted(trial):
            row = entries.post_receipt(session, NO, on, amount, op[3])
            model.append(Entry(row.id, on, "receipt", amount))
        else:
            with pytest.raises(InputError):  # OverpaymentError, or the later receipt named
                entries.post_receipt(session, NO, on, amount, op[3])
            assert snapshot() == before
    return model


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ops=OPS)
def test_random_postings_keep_every_projection_exact(tmp_path_factory, ops):
    path = tmp_path_factory.mktemp("ops") / "kyusho.db"
    init_database(path, ADMIN, "管理者")
    session = make_session(path)
    try:
        add_claim(session)
        model = _run(session, ops)
        assert rebuild(session, write=False).changed == 0
        result = ledger.compute(terms(), model, TODAY)
        assert result == recomputed()
        for e in model:
            assert stored(e.seq) == triple(result.allocations.get(e.seq))
            assert LedgerEntry.get_by_id(e.seq).cancelled == e.cancelled
        assert min(result.balance.principal, result.balance.damages, result.balance.costs) >= 0
        for a in result.allocations.values():
            assert min(a.costs, a.damages, a.principal) >= 0
        live = [r for r in rows_of() if r.kind == "receipt" and not r.cancelled]
        assert sum(sum(stored(r.id)) for r in rows_of()) == sum(r.amount for r in live)
        assert balance_from_projection(claim_of(), TODAY) == result.balance
        assert audit.verify().ok
    finally:
        session.db.close()
