"""Claim search: what a prefix finds, and the list searching as staff type."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from textual.widgets import Input

from kyusho.app import KyushoApp
from kyusho.rules.text import kana_key, name_key
from kyusho.services import claims as C
from kyusho.services.claims import SORTS, ClaimQuery, count_claims, search_claims
from models.schema import Claim, Obligor
from screens import claim_list
from screens.claim_list import ClaimListScreen
from screens.virtual_table import VirtualTable
from tests.test_tui import SIZE, settle


def expected(text: str) -> set[str]:
    """The claims a prefix must find, computed the slow obvious way in Python."""
    nk, kk = name_key(text), kana_key(text)
    found = {c.claim_no for c in Claim.select() if c.claim_no.startswith(text.upper())}
    for o in Obligor.select(Obligor, Claim).join(Claim):
        if (nk and o.name_key.startswith(nk)) or (kk and o.kana_key.startswith(kk)):
            found.add(o.claim.claim_no)
    return found


def all_rows(q: ClaimQuery) -> list[str]:
    total = count_claims(q)
    return [r.claim_no for r in search_claims(q, 0, total + 10)]


def test_prefix_finds_claims_by_number_name_and_any_obligors_kana(demo_session):
    guarantor = Obligor.get(Obligor.role == "joint_guarantor")
    number = guarantor.claim.claim_no[:6]
    surname = guarantor.name.split(" ")[0][:2]
    kana = guarantor.kana.split(" ")[0]
    for text in (number, surname, kana, "ｶ)", "zz-none"):
        q = ClaimQuery(text=text)
        rows = all_rows(q)
        assert len(rows) == len(set(rows)), f"{text}: a claim is listed twice"
        assert set(rows) == expected(text), text
        assert count_claims(q) == len(rows)
    assert guarantor.claim.claim_no in all_rows(ClaimQuery(text=kana))


def test_search_combines_with_filters_and_every_sort_lists_the_same_claims(demo_session):
    text = Obligor.get(Obligor.obligor_no == 1).name[:1]
    base = set(all_rows(ClaimQuery(text=text)))
    assert base
    for sort in SORTS:
        assert set(all_rows(ClaimQuery(text=text, sort=sort))) == base
    active = set(all_rows(ClaimQuery(text=text, status="active")))
    assert active == {n for n in base if Claim.get(Claim.claim_no == n).status == "active"}


async def _open_list(app: KyushoApp, pilot) -> tuple[ClaimListScreen, VirtualTable, Input]:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ClaimListScreen)
    await pilot.press("slash")
    return screen, screen.query_one(VirtualTable), screen.query_one("#search", Input)


async def test_the_list_searches_as_you_type_without_enter(demo_session):
    surname = Obligor.get(Obligor.obligor_no == 1).kana.split(" ")[0]
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        _, table, _ = await _open_list(app, pilot)
        for ch in surname:
            await pilot.press(ch)
        await settle(pilot)
        assert table.source.query.text == surname
        assert table.row_count == len(expected(surname))
        shown = {table.get_row(i)[0] for i in range(table.row_count)}
        assert shown == expected(surname)


async def test_the_list_shows_staff_by_name_and_is_read_once_on_opening(demo_session, monkeypatch):
    """The staff column names people, and the names arriving do not make the list count
    and read its rows a second time."""
    from models.schema import Staff

    counted: list[str] = []
    original = claim_list.ClaimSource.count

    def count(self: Any) -> int:
        counted.append(self.query.text)
        return original(self)

    monkeypatch.setattr(claim_list.ClaimSource, "count", count)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        _, table, _ = await _open_list(app, pilot)
        await settle(pilot)
        assert counted == [""]
        names = {s.login: s.name for s in Staff.select()}
        first = Claim.get(Claim.claim_no == table.get_row(0)[0])
        assert first.staff is not None and first.staff.name != first.staff.login
        assert table.get_row(0)[1][5] == names[first.staff.login]


async def test_keys_typed_while_a_search_runs_are_searched_once_as_the_latest_text(
    demo_session, monkeypatch
):
    """A slow search is not followed by one search per key: only the latest text runs."""
    release = threading.Event()
    counted: list[str] = []
    original = claim_list.ClaimSource.count

    def slow_count(self: Any) -> int:
        counted.append(self.query.text)
        if self.query.text == "1":
            release.wait(10)
        return original(self)

    monkeypatch.setattr(claim_list.ClaimSource, "count", slow_count)
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        screen, table, search = await _open_list(app, pilot)
        counted.clear()
        await pilot.press("1")  # starts at once: the list was idle
        await pilot.pause()
        assert table.source.query.text == "1" and table.is_busy
        for ch in "23":
            await pilot.press(ch)  # arrive while "1" is still being counted
        await pilot.pause()
        assert table.source.query.text == "1"  # nothing new started yet
        release.set()
        await settle(pilot)
        assert counted == ["1", "123"]
        assert table.source.query.text == "123"
        assert table.row_count == len(expected("123"))
        assert screen.query_state.text == search.value == "123"


@pytest.mark.sqlite_only(reason="SQLite の実行計画・文の数を見るテスト")
def test_name_and_kana_searches_read_only_the_index(demo_session):
    """The prefix ranges are answered from (key, claim) indexes without reading obligor rows."""
    from models.migrations import SCHEMA_VERSION, ensure_current
    from models.schema import Meta_

    db = demo_session.db

    def plan() -> str:
        q = ClaimQuery(text="さとう")
        sql, params = C._filtered(q, C.fn.COUNT(Claim.id)).sql()
        return " ".join(r[3] for r in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))

    assert "COVERING INDEX obligor_kana_key_claim_id" in plan()
    # a database from schema 2 (single-column indexes) is given the covering ones on open
    with db.atomic():
        db.execute_sql("DROP INDEX obligor_name_key_claim_id")
        db.execute_sql("DROP INDEX obligor_kana_key_claim_id")
        db.execute_sql("CREATE INDEX obligor_name_key ON obligor (name_key)")
        db.execute_sql("CREATE INDEX obligor_kana_key ON obligor (kana_key)")
        Meta_.update(value="2").where(Meta_.key == "schema_version").execute()
    assert "COVERING INDEX obligor_kana_key" not in plan()
    assert ensure_current(db) == 2 and SCHEMA_VERSION >= 3
    assert "COVERING INDEX obligor_kana_key_claim_id" in plan()
    assert set(all_rows(ClaimQuery(text="さとう"))) == expected("さとう")


def test_a_dense_search_walks_the_sort_order_and_lists_the_same_rows(demo_session, monkeypatch):
    """When a search finds many claims, the database walks the claims in the sort's index and
    tests each against the hits instead of looking every hit up and sorting them: the rows
    of every block, in every sort and both reading directions, are the same either way."""
    claims = Claim.select().count()
    # the commonest first letter of the claim numbers: a prefix that finds many claims
    first = [c.claim_no[:1] for c in Claim.select(Claim.claim_no)]
    text = max(set(first), key=first.count)
    q = ClaimQuery(text=text)
    total = count_claims(q)
    block = 10
    assert block * claims < total * total, "the demo needs a dense search for this test"
    assert C._walk_order(q, block, total)
    assert not C._walk_order(ClaimQuery(text="zz-none"), block, 0)
    walked: list[bool] = []
    choose = C._walk_order
    monkeypatch.setattr(C, "_walk_order", lambda *a: walked.append(choose(*a)) or walked[-1])
    for sort in SORTS:
        q = ClaimQuery(text=text, sort=sort)
        for offset in range(0, total, block):
            by_walk = search_claims(q, offset, block, total=total)
            by_lookup = search_claims(q, offset, block)  # no total: the hits looked up
            assert by_walk == by_lookup, (sort, offset)
    assert any(walked) and not all(walked)  # the first blocks walk, the middle ones look up


def test_without_a_total_or_a_search_text_the_hits_are_looked_up(demo_session):
    q = ClaimQuery(text="ア")
    assert not C._walk_order(q, 100, None)
    assert not C._walk_order(ClaimQuery(), 100, 10**6)  # no text: nothing to walk for
