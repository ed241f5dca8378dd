"""The import's set-wise writes (SPEC 5.4): what they store is what row-by-row writes stored.

Imports read claims in chunks with bound ``IN (?, …)`` lists and write debtor names, obligor
states and clocks with one prepared UPDATE per batch. Here the chunks are made tiny so every
path crosses chunk boundaries, and the stored projections are checked against ``rebuild``,
which recomputes them from the facts.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from conftest import direct_writes

from kyusho.services import imports
from kyusho.services.imports import ImportFailed, import_bytes
from kyusho.services.maintenance import rebuild
from kyusho.services.session import Session
from kyusho.services.staff import add_staff
from models import bulk
from models.bulk import bulk_update, in_values, records
from models.schema import Claim, ClaimMunicipality, Contact, LedgerEntry, Obligor

STAFF = "tanaka"
OTHER = "suzuki"
N = 7  # claims, in chunks of 2


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _no(i: int) -> str:
    return f"R4-{i:06d}"


CLAIMS = [
    ["求償権番号", "代位弁済日", "代位弁済元金", "代位弁済利息", "委託契約日", "金融機関", "損失補償団体", "担当者"],  # fmt: skip
    *(
        [_no(i), (date(2022, 4, 1) + timedelta(days=i)).isoformat(), "3000000", "0",
         "2022-03-01", "テスト銀行", "東京都・横浜市" if i % 2 else "", STAFF]
        for i in range(1, N + 1)
    ),
]  # fmt: skip
OBLIGORS = [
    ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"],
    *(
        row
        for i in range(1, N + 1)
        for row in (
            # claim 2's principal debtor is an individual: 免責確定 (EV-2) is an individual's
            [
                _no(i),
                "1",
                "主債務者",
                f"株式会社テスト{i}",
                f"テスト{i}",
                "個人" if i == 2 else "法人",
                "1" if i == 2 else "",
                "東京都",
            ],
            [_no(i), "2", "連帯保証人", f"山田 太郎{i}", "ヤマダ タロウ", "個人", "0", "東京都"],
        )
    ),
]
RECEIPTS = [
    ["求償権番号", "入金日", "金額", "入金者", "入金方法", "番号"],
    *(
        [_no(i), f"2024-0{m}-10", "10000", str(1 + m % 2), "振込", f"RC-{i}-{m}"]
        for i in range(1, N + 1)
        for m in range(1, 1 + i % 4)
    ),
]
EVENTS = [
    ["求償権番号", "関係人番号", "事由", "日付", "終了日", "番号"],
    [_no(1), "2", "催告", "2024-01-15", "", "EV-1"],
    [_no(2), "1", "免責確定", "2024-02-01", "", "EV-2"],
    [_no(3), "1", "法人格消滅", "2024-03-01", "", "EV-3"],
    [_no(4), "1", "承認", "2025-05-01", "", "EV-4"],
]
CONTACTS = [
    ["求償権番号", "関係人番号", "日時", "担当者", "方法", "結果", "内容", "次回行動", "次回日", "番号"],  # fmt: skip
    *(
        [_no(i), "1", f"2026-0{k}-01 10:00", STAFF, "電話", "不在", "", "再架電", f"2026-0{k}-15",
         f"CT-{i}-{k}"]
        for i in range(1, N + 1)
        for k in (1, 2, 3)
    ),
]  # fmt: skip
FILES = {
    "claims": CLAIMS,
    "obligors": OBLIGORS,
    "receipts": RECEIPTS,
    "events": EVENTS,
    "contacts": CONTACTS,
}


@pytest.fixture
def s(session: Session, monkeypatch) -> Session:
    add_staff(session, STAFF, "田中", "staff")
    add_staff(session, OTHER, "鈴木", "staff")
    chunks = imports._chunks
    monkeypatch.setattr(imports, "_chunks", lambda items, n=2: chunks(items, 2))
    monkeypatch.setattr(bulk, "CHUNK", 2)  # the reads' IN lists too
    return session


def _load(s: Session, *kinds: str) -> None:
    for kind in kinds:
        import_bytes(s, kind, _csv(FILES[kind]))


def _obligor(no: str, obligor_no: int) -> Obligor:
    claim = Claim.get(Claim.claim_no == no)
    return Obligor.get((Obligor.claim == claim.id) & (Obligor.obligor_no == obligor_no))


def test_imported_projections_match_a_rebuild_across_chunks(s: Session) -> None:
    _load(s, *FILES)
    # allocations, balances and every obligor's clock are exactly what the facts give
    check = rebuild(s, write=False)
    assert (check.claims, check.changed) == (N, 0)
    clocks = {
        (o.claim.claim_no, o.obligor_no): (o.lim_state, o.completes_on) for o in Obligor.select()
    }
    assert clocks.pop((_no(2), 1)) == clocks.pop((_no(3), 1)) == ("extinguished", None)
    assert clocks.pop((_no(4), 1))[1] == clocks.pop((_no(4), 2))[1] == date(2030, 5, 1)
    assert all(state == "running" and on is not None for state, on in clocks.values())
    # the claim list shows each claim's principal debtor
    assert [
        (c.claim_no, c.debtor_name, c.debtor_kana) for c in Claim.select().order_by(Claim.id)
    ] == [(_no(i), f"株式会社テスト{i}", f"テスト{i}") for i in range(1, N + 1)]
    # discharge and extinction events set the obligor's state; other obligors keep theirs
    assert [_obligor(_no(i), 1).state for i in (1, 2, 3, 4)] == [
        "normal",
        "discharged",
        "extinguished",
        "normal",
    ]
    # only each claim's latest next action stays open
    open_actions = Contact.select().where(Contact.next_done == False)  # noqa: E712
    assert sorted((c.claim.claim_no, c.next_on) for c in open_actions) == [
        (_no(i), date(2026, 3, 15)) for i in range(1, N + 1)
    ]


def test_reimporting_every_file_adds_nothing(s: Session) -> None:
    _load(s, *FILES)
    for kind, rows in FILES.items():
        report = import_bytes(s, kind, _csv(rows))
        assert (report.added, report.skipped) == (0, len(rows) - 1), kind


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [(1, "損失補償団体", "東京都"), (2, "損失補償団体", "北海道"), (3, "担当者", OTHER)],
    ids=["fewer-municipalities", "a-municipality-added", "another-staff"],
)
def test_a_claim_reimported_with_other_links_is_refused(
    s: Session, row: int, column: str, value: str
) -> None:
    _load(s, "claims")
    changed = list(CLAIMS[row])
    changed[CLAIMS[0].index(column)] = value
    with pytest.raises(ImportFailed) as info:
        import_bytes(s, "claims", _csv([CLAIMS[0], *CLAIMS[1:row], changed, *CLAIMS[row + 1 :]]))
    assert [(e.line, e.column) for e in info.value.errors] == [(row + 1, "求償権番号")]
    assert "内容が異なります" in info.value.errors[0].reason


def test_an_obligors_file_with_a_claim_lacking_its_debtor_changes_no_claim(s: Session) -> None:
    _load(s, "claims")
    rows = [r for r in OBLIGORS if not (r[0] == _no(5) and r[1] == "1")]
    with pytest.raises(ImportFailed) as info:
        import_bytes(s, "obligors", _csv(rows))
    assert [(e.line, e.column) for e in info.value.errors] == [(rows.index([_no(5), "2", "連帯保証人", "山田 太郎5", "ヤマダ タロウ", "個人", "0", "東京都"]) + 1, "区分")]  # fmt: skip
    assert {c.debtor_name for c in Claim.select()} == {""}
    assert Obligor.select().count() == 0


# --------------------------------------------------------------------------- data layer


def test_bulk_update_sets_the_named_fields_of_the_given_rows_only(s: Session) -> None:
    _load(s, "claims", "obligors")
    a, b, c = (_obligor(_no(i), 2) for i in (1, 2, 3))
    with direct_writes(s):
        n = bulk_update(
            Obligor,
            ("completes_on", "lim_state", "lim_via_principal"),
            [(date(2030, 1, 31), "suspended", True, a.id), (None, None, False, b.id)],
        )
        assert bulk_update(Obligor, ("state",), []) == 0
    assert n == 2
    got = [_obligor(_no(i), 2) for i in (1, 2, 3)]
    assert [(o.completes_on, o.lim_state, o.lim_via_principal) for o in got] == [
        (date(2030, 1, 31), "suspended", True),
        (None, None, False),
        (c.completes_on, c.lim_state, c.lim_via_principal),
    ]
    # fields not named keep their values
    assert [(o.name, o.own_completes_on) for o in got] == [
        (o.name, o.own_completes_on) for o in (a, b, c)
    ]


def test_in_values_matches_exactly_the_values_given(s: Session) -> None:
    _load(s, "claims")
    nos = [_no(2), _no(5), "R4-9'); DROP TABLE claim; --", "r4-000003"]
    got = Claim.select(Claim.claim_no).where(in_values(Claim.claim_no, nos))
    assert sorted(c.claim_no for c in got) == [_no(2), _no(5)]
    ids = [Claim.get(Claim.claim_no == _no(i)).id for i in (1, 3)]
    linked = ClaimMunicipality.select().where(in_values(ClaimMunicipality.claim, ids))
    assert sorted((m.claim.claim_no, m.name) for m in linked) == [
        (_no(1), "東京都"),
        (_no(1), "横浜市"),
        (_no(3), "東京都"),
        (_no(3), "横浜市"),
    ]
    assert Claim.select().where(~in_values(Claim.id, ids)).count() == N - 2
    assert Claim.select().where(in_values(Claim.id, [])).count() == 0


@pytest.mark.parametrize("model", [Claim, Obligor, LedgerEntry, Contact])
def test_records_read_every_column_as_the_model_objects_do(s: Session, model) -> None:
    """The records an import reads back hold, field by field, what peewee's model objects
    hold (dates, booleans, timestamps, keys), across chunks of the IN list."""
    _load(s, *FILES)
    names = tuple(model._meta.sorted_field_names)
    attrs = [f.name + "_id" if isinstance(f, bulk.ForeignKeyField) else f.name
             for f in (model._meta.fields[n] for n in names)]  # fmt: skip
    want = {o.id: o for o in model.select()}
    got = records(model, names, "id", sorted(want), order=("id",))
    assert len(got) == len(want) > bulk.CHUNK
    assert [r.id for r in got] == sorted(want)  # each chunk in order, chunks in key order
    for rec in got:
        for attr in attrs:
            value, stored = getattr(rec, attr), getattr(want[rec.id], attr)
            assert (value, type(value)) == (stored, type(stored)), (model.__name__, attr)


def test_records_take_a_condition_with_bound_values_and_give_tuples(s: Session) -> None:
    _load(s, *FILES)
    ids = [Claim.get(Claim.claim_no == _no(i)).id for i in range(1, N + 1)]
    got = records(
        LedgerEntry,
        ("claim", "amount", "cancelled"),
        "claim",
        ids,
        where='"kind" = {} AND "cancelled" = {}',
        params=("receipt", False),
        into=tuple,
    )
    want = LedgerEntry.select().where(
        LedgerEntry.claim.in_(ids) & (LedgerEntry.kind == "receipt") & ~LedgerEntry.cancelled
    )
    assert sorted(got) == sorted((e.claim_id, e.amount, False) for e in want)
    assert records(Claim, ("id",), "id", []) == []


def test_values_are_bound_as_the_fields_db_value_would_bind_them(s: Session) -> None:
    """A value already of the field's own type is bound as it is; any other (a date as text,
    a timestamp for a date, a bool for a number, a model for a key) goes through db_value."""
    from datetime import datetime

    _load(s, "claims")
    claim = Claim.get(Claim.claim_no == _no(1))
    fields = [
        Claim.loan_principal,
        Claim.subrogation_date,
        Claim.updated_at,
        Obligor.merchant,
        Obligor.claim,
        Claim.note,
    ]
    rows = [
        (5, date(2024, 1, 2), datetime(2024, 1, 2, 3, 4, 5), True, 7, "x"),
        (None, None, None, None, None, None),
        (True, "2024-01-02", "2024-01-02 03:04:05", 0, claim, "y"),
        (6, datetime(2024, 1, 2, 9, 0), datetime(2024, 1, 2, 3, 4, 5), False, 8, "z"),
    ]
    want = [tuple(f.db_value(v) for f, v in zip(fields, r, strict=True)) for r in rows]
    assert bulk._bound_tuples(fields, rows) == want
    assert bulk._bound_tuples(fields, rows[:2]) == want[:2]  # all as they are
