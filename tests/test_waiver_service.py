"""求償権放棄 services (SPEC 4.12): facts, admin-added municipalities, the walk-through, the
application, the steps and the worklist rows."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date

import pytest

from kyusho.errors import InputError, PermissionDenied
from kyusho.services import waiver
from kyusho.services.imports import ImportFailed, import_bytes
from kyusho.services.staff import add_staff
from kyusho.services.worklist import worklist
from models.migrations import SCHEMA_VERSION, ensure_current, schema_version
from models.schema import AuditEvent, ChecklistAnswer, ClaimMunicipality
from tests.conftest import ADMIN, TODAY, make_session

CLAIM_NO = "R5-000001"


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def make_claim(session, municipalities: str = "福岡県・山梨県・青森県", no: str = CLAIM_NO) -> str:
    """One claim (10,000,000 yen from 2023-04-10) with a principal debtor."""
    import_bytes(
        session,
        "claims",
        csv_bytes(
            [
                [
                    "求償権番号",
                    "代位弁済日",
                    "代位弁済元金",
                    "代位弁済利息",
                    "委託契約日",
                    "金融機関",
                    "損失補償団体",
                    "担当者",
                ],
                [
                    no,
                    "2023-04-10",
                    "9800000",
                    "200000",
                    "2019-04-01",
                    "サンプル銀行",
                    municipalities,
                    ADMIN,
                ],
            ]
        ),
    )
    import_bytes(
        session,
        "obligors",
        csv_bytes(
            [
                ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "住所"],
                [no, "1", "主債務者", "株式会社サンプル", "カ)サンプル", "法人", "東京都"],
            ]
        ),
    )
    return no


def test_facts_are_recorded_and_net_is_computed(session):
    make_claim(session)
    waiver.set_facts(
        session,
        CLAIM_NO,
        "福岡県",
        ratio="80",
        compensated_amount=3_000_000,
        remittances_paid=400_000,
    )
    facts = {f.name: f for f in waiver.municipality_facts(session, CLAIM_NO)}
    assert facts["福岡県"].ratio == "80"
    assert facts["福岡県"].net == 2_600_000
    assert facts["山梨県"].net is None
    assert AuditEvent.select().where(AuditEvent.action == "municipality.facts").count() == 1


def test_bad_facts_name_the_field_and_store_nothing(session):
    make_claim(session)
    with pytest.raises(InputError) as e:
        waiver.set_facts(session, CLAIM_NO, "福岡県", ratio="120")
    assert e.value.field == "損失補償割合"
    with pytest.raises(InputError) as e:
        waiver.set_facts(session, CLAIM_NO, "東京都", compensated_amount=1)
    assert e.value.field == "損失補償団体"
    cm = ClaimMunicipality.get(ClaimMunicipality.name == "福岡県")
    assert cm.ratio is None and cm.compensated_amount is None


def test_facts_import_links_and_updates_and_twice_changes_nothing(session):
    make_claim(session, "福岡県")
    data = csv_bytes(
        [
            ["求償権番号", "損失補償団体", "損失補償割合", "損失補償金額", "回収納付金"],
            [CLAIM_NO, "福岡県", "80%", "3,000,000", "400000"],
            [CLAIM_NO, "山梨県", "", "1000000", ""],
        ]
    )
    first = import_bytes(session, "municipalities", data)
    assert first.added == 2
    again = import_bytes(session, "municipalities", data)
    assert again.added == 0 and again.skipped == 2
    facts = {f.name: f for f in waiver.municipality_facts(session, CLAIM_NO)}
    assert facts["福岡県"].net == 2_600_000 and facts["山梨県"].net == 1_000_000


def test_facts_import_refuses_an_unknown_municipality(session):
    make_claim(session, "福岡県")
    data = csv_bytes([["求償権番号", "損失補償団体"], [CLAIM_NO, "久留米市"]])
    with pytest.raises(ImportFailed) as e:
        import_bytes(session, "municipalities", data)
    assert e.value.errors[0].column == "損失補償団体"


def test_an_admin_adds_a_city_that_claims_can_then_name(session, db_path):
    with pytest.raises(ImportFailed):
        make_claim(session, "福岡県・久留米市")
    add_staff(session, "tanaka", "田中", "staff")
    with pytest.raises(PermissionDenied):
        waiver.add_municipality(make_session(db_path, "tanaka"), "久留米市", status="enacted")
    waiver.add_municipality(session, "久留米市", status="enacted", covers_closure=True)
    make_claim(session, "福岡県・久留米市")
    case = waiver.open_case(session, CLAIM_NO, "sme_gl_closure", planned_date=TODAY, kind="waiver")
    facts = {f.name: f for f in waiver.municipality_facts(session, CLAIM_NO)}
    assert facts["久留米市"].resolution.status == "enacted"
    assert facts["久留米市"].resolution.assembly_resolution_needed is False
    assert case.id
    with pytest.raises(InputError) as e:
        waiver.add_municipality(session, "久留米市", status="enacted")
    assert e.value.field == "団体名"
    with pytest.raises(InputError) as e:
        waiver.add_municipality(session, "大牟田市", status="yes")
    assert e.value.field == "条例の状況"


def test_one_open_case_per_claim(session):
    make_claim(session)
    waiver.open_case(session, CLAIM_NO, "adr", planned_date=TODAY, kind="waiver")
    with pytest.raises(InputError) as e:
        waiver.open_case(session, CLAIM_NO, "adr", planned_date=TODAY, kind="waiver")
    assert e.value.field == "放棄案件"
    with pytest.raises(InputError):
        waiver.open_case(session, "R5-000009", "nope", planned_date=TODAY, kind="waiver")


def test_walkthrough_marks_items_not_for_the_scheme_and_keeps_answers(session):
    make_claim(session)
    case = waiver.open_case(session, CLAIM_NO, "sme_gl_closure", planned_date=TODAY, kind="waiver")
    walk = waiver.walkthrough(session, case.id, "福岡県")
    by_key = {i.key: i for i in walk.items}
    assert by_key["insolvency_cured_5y"].applicable is False
    assert by_key["insolvency_cured_5y"].status == "該当なし"
    assert walk.progress == (1, 8)
    with pytest.raises(InputError) as e:
        waiver.answer(
            session, case.id, "福岡県", "regional_impact", status="充足", finding="", evidence=""
        )
    assert e.value.field == "所見"
    waiver.answer(
        session,
        case.id,
        "福岡県",
        "regional_impact",
        status="充足",
        finding="従業員30名・地域の主要取引先",
        evidence="計画書 p.12",
    )
    waiver.answer(
        session, case.id, "福岡県", "self_help_insufficient", status="充足", finding="", evidence=""
    )
    # leaving and coming back: a new walk-through reads every answer
    again = waiver.walkthrough(session, case.id, "福岡県")
    item = {i.key: i for i in again.items}["regional_impact"]
    assert (item.status, item.finding, item.evidence, item.answered_by) == (
        "充足",
        "従業員30名・地域の主要取引先",
        "計画書 p.12",
        ADMIN,
    )
    assert again.progress == (3, 8)
    assert waiver.walkthrough(session, case.id, "山梨県").progress == (1, 8)
    assert ChecklistAnswer.select().where(ChecklistAnswer.case == case.id).count() == 2


def test_application_is_filled_from_the_claim(session):
    make_claim(session)
    waiver.set_facts(
        session, CLAIM_NO, "山梨県", compensated_amount=2_000_000, remittances_paid=500_000
    )
    case = waiver.open_case(
        session,
        CLAIM_NO,
        "adr",
        planned_date=date(2026, 12, 1),
        kind="transfer",
        transfer_price=1_000_000,
    )
    app = waiver.application(session, case.id, "山梨県")
    values = {f["label"]: f["value"] for f in app["fields"]}
    assert values["代位弁済日"] == date(2023, 4, 10)
    assert values["放棄後の求償権残高（不等価譲渡の場合は譲渡対価）"] == 1_000_000
    assert values["損失補償金額から回収金納付額を控除した額"] == 1_500_000
    assert values["債務者の氏名又は名称及び代表者"] == "株式会社サンプル"
    # 10,000,000 principal + damages at 14% from 2023-04-10 to 2026-12-01
    assert values["現在の求償権残高"] > 10_000_000
    assert app["zero_zero"] is True
    assert len(app["attachments"]) == 4


def test_steps_follow_the_order_with_dates_and_who(session):
    make_claim(session)
    case = waiver.open_case(session, CLAIM_NO, "adr", planned_date=TODAY, kind="waiver")
    with pytest.raises(InputError) as e:
        waiver.record_step(session, case.id, "福岡県", "approved", date(2026, 11, 1))
    assert e.value.field == "段階"
    waiver.record_step(session, case.id, "福岡県", "consultation", date(2026, 10, 1))
    with pytest.raises(InputError) as e:
        waiver.record_step(session, case.id, "福岡県", "application", date(2026, 9, 1))
    assert e.value.field == "日付"
    with pytest.raises(InputError):
        waiver.record_step(session, case.id, "福岡県", "application", date(2026, 12, 1))
    waiver.record_step(session, case.id, "福岡県", "application", date(2026, 10, 15))
    facts = {f.name: f for f in waiver.municipality_facts(session, CLAIM_NO)}
    assert facts["福岡県"].step == "application"
    assert facts["福岡県"].step_label == "申請"
    assert [(h.label, h.on, h.recorded_by) for h in facts["福岡県"].history] == [
        ("事前協議", date(2026, 10, 1), ADMIN),
        ("申請", date(2026, 10, 15), ADMIN),
    ]
    assert facts["山梨県"].step is None


def test_worklist_shows_waivers_waiting_on_a_step(session):
    make_claim(session)
    case = waiver.open_case(session, CLAIM_NO, "adr", planned_date=TODAY, kind="waiver")
    waiver.record_step(session, case.id, "福岡県", "consultation", date(2026, 10, 1))
    rows = [i for i in worklist(session, all_staff=True) if i.kind == "waiver_step"]
    # 青森県 needs nothing (no loss compensation): no row
    assert sorted(r.reason.split(":")[0] for r in rows) == ["放棄手続 山梨県", "放棄手続 福岡県"]
    fukuoka = next(r for r in rows if "福岡県" in r.reason)
    assert "次は申請" in fukuoka.reason and fukuoka.due == date(2026, 10, 1)


@pytest.mark.sqlite_only(
    reason="古い版の SQLite ファイルからの移行（PostgreSQL は現在の版で作られる）"
)
def test_a_version_5_database_is_migrated(db_path):
    con = sqlite3.connect(db_path)
    con.execute("DROP TABLE waiver_step")
    con.execute("DROP TABLE waiver_case")
    con.execute("DROP TABLE municipality")
    con.execute("ALTER TABLE claim_municipality DROP COLUMN ratio")
    con.execute("ALTER TABLE claim_municipality DROP COLUMN compensated_amount")
    con.execute("ALTER TABLE claim_municipality DROP COLUMN remittances_paid")
    con.execute("DROP TABLE checklist_answer")
    con.execute(
        "CREATE TABLE checklist_answer (id INTEGER NOT NULL PRIMARY KEY, decision_id INTEGER"
        " NOT NULL, municipality VARCHAR(255) NOT NULL, template VARCHAR(255) NOT NULL,"
        " item_key VARCHAR(255) NOT NULL, status VARCHAR(255), finding TEXT NOT NULL,"
        " evidence TEXT NOT NULL, answered_by VARCHAR(255), answered_at DATETIME)"
    )
    con.execute(
        "CREATE UNIQUE INDEX checklist_answer_decision_id_municipality_item_key"
        " ON checklist_answer (decision_id, municipality, item_key)"
    )
    con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    session = make_session(db_path)
    ensure_current(session.db)
    assert schema_version(session.db) == SCHEMA_VERSION
    make_claim(session)
    case = waiver.open_case(session, CLAIM_NO, "adr", planned_date=TODAY, kind="waiver")
    waiver.answer(
        session, case.id, "福岡県", "creditor_equity", status="充足", finding="", evidence=""
    )
