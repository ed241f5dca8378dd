"""Letters (SPEC 4.15, issue 18): 督促状, 催告書 and 分割弁済約定書 from the claim, one per page
in a batch, the 協会's own templates, and recording them as sent (contacts, demands)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
from conftest import make_session
from test_clocks import STAFF, new_claim

from kyusho.config import Config, OrganizationConfig
from kyusho.documents import TEMPLATES, DocumentSettings, japanese_font, pdf_unavailable
from kyusho.errors import InputError, KyushoError
from kyusho.services import letters
from kyusho.services.claims import claim_view
from kyusho.services.contacts import add_contact
from kyusho.services.events import NoEffectError
from kyusho.services.printing import write_letters
from kyusho.services.staff import add_staff
from models.schema import Claim, Contact, LimitationEvent, Obligor

ON = date(2026, 11, 22)
ORG = "長崎県信用保証協会"


def session_with_org(db_path):
    s = make_session(db_path, config=Config(db_path=db_path, organization=OrganizationConfig(ORG)))
    return s


@pytest.fixture
def s(db_path):
    s = session_with_org(db_path)
    add_staff(s, STAFF, "田中 花子", "staff")
    return s


def completes_on(no: str, obligor_no: int) -> date | None:
    c = Claim.get(Claim.claim_no == no)
    return Obligor.get((Obligor.claim == c.id) & (Obligor.obligor_no == obligor_no)).completes_on


@pytest.mark.parametrize("kind", list(letters.LETTER_KINDS))
@pytest.mark.parametrize("debtor", ["corporation", "person"])
@pytest.mark.parametrize("guarantors", [0, 1])
def test_every_letter_prints_the_obligor_the_balance_the_kyokai_and_the_date(
    s, kind, debtor, guarantors
):
    new_claim(s, "R4-000001", date(2022, 1, 10), debtor=debtor, guarantors=guarantors)
    total = claim_view(s, "R4-000001", as_of=ON, history=False).balance.total
    targets = [("R4-000001", 1)] + ([("R4-000001", 2)] if guarantors else [])
    doc = letters.render(s, kind, targets, ON)
    debtor_name = "株式会社テスト" if debtor == "corporation" else "鈴木 一郎"
    for text in (doc.html, doc.markdown):
        assert letters.LETTER_KINDS[kind] in text.replace("\\", "")
        assert debtor_name in text and "東京都" in text  # the obligor's name and address
        assert "主債務者" in text
        assert f"{total:,}円" in text and "10,000,000円" in text  # 計 and 元金 on the date
        assert ORG in text and "田中 花子" in text  # the 協会 and the staff member
        assert "令和8年11月22日" in text and "令和4年1月10日" in text  # 和暦, long form
        assert "R4-000001" in text
        if guarantors:
            assert "山田 太郎" in text and "連帯保証人" in text
        else:
            assert "連帯保証人" not in text
    honorific = "御中" if debtor == "corporation" else "様"
    if kind != "plan_agreement":  # the agreement is addressed to the 協会
        assert f"{debtor_name} {honorific}" in doc.html


def test_a_batch_is_one_file_with_one_letter_per_page(s):
    new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=1)
    new_claim(s, "R4-000002", date(2022, 2, 10), debtor="person")
    doc = letters.render(s, "reminder", [("R4-000001", 1), ("R4-000001", 2), ("R4-000002", 1)], ON)
    assert doc.html.count("<html") == 1 and doc.html.count("</body>") == 1
    assert doc.html.count('<section class="letter">') == 3
    assert doc.html.count("page-break-after: always") == 2  # between letters, not after the last
    pages = doc.markdown.split("\n---\n")
    assert len(pages) == 3
    assert (
        "株式会社テスト" in pages[0] and "山田 太郎 様" in pages[1] and "鈴木 一郎 様" in pages[2]
    )


def test_an_unknown_field_in_an_edited_letter_is_refused_with_its_name_and_line(s, tmp_path):
    new_claim(s, "R4-000001", date(2022, 1, 10))
    lines = (TEMPLATES / "letter_demand.md.j2").read_text(encoding="utf-8").splitlines()
    lines.insert(4, "{{ obligor.nickname }}")  # line 5
    (tmp_path / "letter_demand.md.j2").write_text("\n".join(lines), encoding="utf-8")
    settings = DocumentSettings(templates=tmp_path)
    with pytest.raises(KyushoError, match=r"letter_demand\.md\.j2 の 5 行目.*nickname"):
        letters.render(s, "demand", [("R4-000001", 1)], ON, settings)
    # the 協会's own template, once right, is used instead of the shipped one
    (tmp_path / "letter_demand.md.j2").write_text(
        "{{ organization.name }} 催告 {{ obligor.name }} {{ balance.total | yen }}\n",
        encoding="utf-8",
    )
    doc = letters.render(s, "demand", [("R4-000001", 1)], ON, settings)
    assert doc.markdown.startswith(f"{ORG} 催告 株式会社テスト ")


def test_an_unknown_kind_or_a_date_before_subrogation_is_refused(s):
    new_claim(s, "R4-000001", date(2022, 1, 10))
    with pytest.raises(InputError, match="demand"):
        letters.render(s, "warning", [("R4-000001", 1)], ON)
    with pytest.raises(InputError, match="代位弁済日"):
        letters.render(s, "demand", [("R4-000001", 1)], date(2021, 12, 1))
    with pytest.raises(InputError, match="関係人番号 5"):
        letters.render(s, "demand", [("R4-000001", 5)], ON)


@pytest.mark.skipif(
    japanese_font() is None or pdf_unavailable() is not None,
    reason=f"no PDF here: {pdf_unavailable()}",
)
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_the_pdf_holds_each_letter_on_its_own_page_with_the_obligors_name(s, tmp_path):
    new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=1)
    path = write_letters(s, "demand", [("R4-000001", 1), ("R4-000001", 2)], ON, tmp_path / "a.pdf")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    pages = text.split("\f")
    # the title is letter-spaced (催 告書): look for the body's words instead
    assert "株式会社テスト 御中" in pages[0] and "本書をもって催告" in pages[0]
    assert "山田 太郎 様" not in pages[0]  # the guarantor's letter starts a new page
    assert "山田 太郎 様" in pages[1] and "本書をもって催告" in pages[1]


def test_recording_demands_moves_exactly_the_clocks_the_limitation_rules_say(s, db_path):
    new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=1)  # completes 2027-01-10
    new_claim(s, "R4-000002", date(2022, 3, 1), debtor="person")  # completes 2027-03-01
    new_claim(s, "R6-000003", date(2024, 6, 10))  # completes 2029-06-10: far beyond 6 months
    targets = [("R4-000001", 1), ("R4-000002", 1), ("R6-000003", 1)]
    far = completes_on("R6-000003", 1)

    shown = letters.effects(s, "demand", targets, ON)
    assert [
        (e.claim_no, e.obligor_no, e.completes_before, e.completes_after, e.no_effect)
        for e in shown
    ] == [  # fmt: skip
        ("R4-000001", 1, date(2027, 1, 10), date(2027, 5, 22), None),
        ("R4-000002", 1, date(2027, 3, 1), date(2027, 5, 22), None),
        ("R6-000003", 1, date(2029, 6, 10), date(2029, 6, 10), None),
    ]
    assert letters.record_sent(s, "demand", targets, ON) == 3

    # six months from 2026-11-22 end on 2027-05-22 (SPEC 4.2); the guarantor moves with the
    # principal debtor (457条1項) though no letter went to them; a clock beyond stays put
    assert completes_on("R4-000001", 1) == date(2027, 5, 22)
    assert completes_on("R4-000001", 2) == date(2027, 5, 22)
    assert completes_on("R4-000002", 1) == date(2027, 5, 22)
    assert completes_on("R6-000003", 1) == far == date(2029, 6, 10)
    demands = list(LimitationEvent.select().where(LimitationEvent.kind == "demand"))
    assert sorted((e.claim.claim_no, e.obligor.obligor_no, e.date) for e in demands) == [
        (no, 1, ON) for no in ("R4-000001", "R4-000002", "R6-000003")
    ]
    letters_logged = list(Contact.select().where(Contact.channel == "letter"))
    assert len(letters_logged) == 3 and all("催告書" in c.outcome for c in letters_logged)

    # a second batch inside the six months moves nothing, and says so before it is recorded
    later = session_with_org(db_path)
    later.pin(date(2027, 2, 1))
    again = letters.effects(later, "demand", targets[:2], date(2027, 2, 1))
    assert all(e.no_effect and "民法150条2項" in e.no_effect for e in again)
    assert all(e.completes_before == e.completes_after == date(2027, 5, 22) for e in again)
    with pytest.raises(NoEffectError, match="R4-000001"):
        letters.record_sent(later, "demand", targets[:2], date(2027, 2, 1))
    assert LimitationEvent.select().count() == 3 and Contact.select().count() == 3  # nothing
    letters.record_sent(later, "demand", targets[:2], date(2027, 2, 1), confirm_no_effect=True)
    assert LimitationEvent.select().count() == 5 and Contact.select().count() == 5
    for no, o in (("R4-000001", 1), ("R4-000001", 2), ("R4-000002", 1)):
        assert completes_on(no, o) == date(2027, 5, 22)


def test_a_guarantors_demand_the_same_day_as_the_principal_debtors_is_flagged(s):
    new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=1)
    shown = letters.effects(s, "demand", [("R4-000001", 1), ("R4-000001", 2)], ON)
    assert shown[0].no_effect is None
    assert shown[1].no_effect is not None and "催告による完成猶予中" in shown[1].no_effect
    assert shown[1].completes_after == date(2027, 5, 22)  # moved by the principal's demand


def test_a_reminder_logs_a_contact_and_leaves_the_clock(s):
    new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=1)
    shown = letters.effects(s, "reminder", [("R4-000001", 2)], ON)
    assert shown[0].completes_before == shown[0].completes_after == date(2027, 1, 10)
    assert letters.record_sent(s, "reminder", [("R4-000001", 2)], ON) == 1
    c = Contact.get()
    assert (c.channel, c.obligor.obligor_no, c.at.date()) == ("letter", 2, ON)
    assert "督促状" in c.outcome
    assert LimitationEvent.select().count() == 0
    assert completes_on("R4-000001", 2) == date(2027, 1, 10)
    with pytest.raises(InputError, match="未来"):
        letters.record_sent(s, "reminder", [("R4-000001", 2)], date(2026, 11, 23))


def test_the_worklist_batch_puts_limitation_alerts_first(s):
    new_claim(s, "R6-000003", date(2024, 6, 10))  # no alert
    new_claim(s, "R4-000001", date(2022, 1, 10), guarantors=1)  # alert: 49 days left
    new_claim(s, "R4-000002", date(2022, 3, 1), debtor="person")  # alert: 99 days left
    add_contact(s, "R6-000003", 1, "phone", "不在", next_action="再架電", next_on=ON)
    targets = letters.targets_from_worklist(s, None)
    assert targets == [("R4-000001", 1), ("R4-000001", 2), ("R4-000002", 1), ("R6-000003", 1)]
    assert letters.targets_from_worklist(s, 60) == [("R4-000001", 1), ("R4-000001", 2)]
