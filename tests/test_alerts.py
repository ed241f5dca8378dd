"""Limitation alerts that cannot hide (SPEC 4.6 Alerts; issue 10 point 7).

An obligor whose period has completed stays on the worklist until the claim is taken up by a
suspension, write-off or waiver decision (proposed or approved). Any other decision, such as a
damages waiver, leaves the alert where it is.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from conftest import make_session

from kyusho.services import decisions
from kyusho.services.imports import import_bytes
from kyusho.services.session import Session
from kyusho.services.staff import add_staff
from kyusho.services.worklist import limitation_due, worklist

NO = "R5-000001"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def s(session: Session) -> Session:
    """A claim on a corporation subrogated in 2015: its 5-year period completed in 2020."""
    add_staff(session, "kacho", "課長", "manager")
    import_bytes(
        session,
        "claims",
        _csv(
            [
                [
                    "求償権番号",
                    "代位弁済日",
                    "代位弁済元金",
                    "代位弁済利息",
                    "委託契約日",
                    "金融機関",
                    "担当者",
                ],  # fmt: skip
                [NO, "2015-06-01", "1000000", "0", "2015-05-01", "テスト銀行", "kadmin"],
            ]
        ),
    )
    import_bytes(
        session,
        "obligors",
        _csv(
            [
                ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "商人", "住所"],
                [NO, "1", "主債務者", "株式会社テスト", "テスト", "法人", "", "東京都"],
            ]
        ),
    )
    return session


def completed_alerts(session: Session) -> list[tuple[str, str]]:
    return [
        (i.claim_no, i.reason)
        for i in worklist(session, all_staff=True)
        if i.kind == "limitation" and i.reason.startswith("完成済み")
    ]


def test_a_completed_clock_is_on_the_worklist(s):
    assert completed_alerts(s) == [(NO, "完成済み")]
    assert [r["state"] for r in limitation_due(s, within=180, as_of=s.today())] == ["completed"]


def test_a_damages_waiver_does_not_hide_a_completed_clock(s):
    decisions.propose(s, NO, "damages_waiver", reason="生活困窮", data={"amount": 1_000})
    assert completed_alerts(s) == [(NO, "完成済み")]


@pytest.mark.parametrize("approve", [False, True])
def test_a_suspension_proposed_or_approved_takes_the_alert_off(s, approve):
    d = decisions.propose(
        s, NO, "suspension", reason="時効完成", data={"reasons": ["whereabouts_unknown"]}
    )
    if approve:
        decisions.approve(make_session(s.location, "kacho"), d.id, override_reason="所在調査済")
    assert completed_alerts(s) == []


def test_a_rejected_suspension_brings_the_alert_back(s):
    d = decisions.propose(
        s, NO, "suspension", reason="時効完成", data={"reasons": ["whereabouts_unknown"]}
    )
    decisions.reject(make_session(s.location, "kacho"), d.id, "調査不足")
    assert completed_alerts(s) == [(NO, "完成済み")]


def test_a_suspension_proposed_after_the_as_of_date_does_not_hide_the_alert_then(s):
    decisions.propose(
        s, NO, "suspension", reason="時効完成", data={"reasons": ["whereabouts_unknown"]}
    )
    s.view_as_of = date(2026, 11, 1)
    assert completed_alerts(s) == [(NO, "完成済み")]
