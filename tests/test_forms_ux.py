"""Forms a collector can drive with Enter alone, that never lose typed values by accident,
and that say what is wrong in words that fit (issue 13, point 6)."""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import Input, Select, Static

from kyusho.app import KyushoApp
from kyusho.errors import InputError
from models.schema import Claim, LedgerEntry
from screens.claim_detail import ClaimDetailScreen
from screens.form import Field, FormScreen, parse_field
from tests.test_tui import SIZE, settle
from tests.test_tui_entry import fill, open_claim


def first_active_claim() -> str:
    return Claim.select().where(Claim.status == "active").order_by(Claim.claim_no).get().claim_no


async def test_enter_moves_past_drop_downs_and_space_opens_one(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, first_active_claim())
        await pilot.press("k")  # contact form: 関係人 and 方法 are drop-downs
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        # the contact form starts on 方法 (the obligor is preselected); ↑ goes back to 関係人
        assert form.focused is form.query_one("#f-channel", Select)
        await pilot.press("up")
        assert form.focused is form.query_one("#f-obligor", Select)
        await pilot.press("enter")
        assert form.focused is form.query_one("#f-channel", Select)
        assert not form.query_one("#f-obligor", Select).expanded
        await pilot.press("space")  # the drop-down opens with its own key…
        assert form.query_one("#f-channel", Select).expanded
        await pilot.press("down", "enter")  # …and a choice closes it on the same field
        assert form.query_one("#f-channel", Select).value == "meeting"
        await pilot.press("down")  # ↓ moves on like Enter
        assert form.focused is form.query_one("#f-outcome", Input)


async def test_an_open_drop_down_stays_inside_the_dialog(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, first_active_claim())
        await pilot.press("n")  # receipt form: 入金方法 is the last field
        await settle(pilot)
        form = app.screen
        await pilot.press("enter", "enter", "enter", "space")
        await pilot.pause()
        select = form.query_one("#f-method", Select)
        assert select.expanded
        box = form.query_one("#form-box").region
        overlay = select.query_one("SelectOverlay").region
        assert box.contains_region(overlay)


async def test_escape_with_typed_values_asks_before_leaving(demo_session):
    count = LedgerEntry.select().count()
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, first_active_claim())
        await pilot.press("n")
        await settle(pilot)
        await fill(pilot, "amount", "50000")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)  # still there, asking
        assert "破棄" in str(app.screen.query_one("#form-error", Static).content)
        assert app.screen.query_one("#f-amount", Input).value == "50000"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
    assert LedgerEntry.select().count() == count


async def test_escape_on_an_untouched_form_leaves_at_once(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, first_active_claim())
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)


async def test_a_refused_save_puts_the_cursor_on_the_first_bad_field(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, first_active_claim())
        await pilot.press("k")
        await settle(pilot)
        form = app.screen
        await fill(pilot, "outcome", "本人と話せた")
        await fill(pilot, "next_on", "R8.12.")  # the last field, wrong
        await fill(pilot, "promised_amount", "R8.12.5")  # a date in an amount field
        await pilot.press("ctrl+s")
        await settle(pilot)
        bad = form.query_one("#f-promised_amount", Input)
        assert form.focused is bad
        fields = form.query_one("#form-fields")
        assert fields.region.contains_region(bad.region)  # visible, not scrolled away
        error = str(form.query_one("#form-error", Static).content)
        assert "金額は数字で入力してください" in error and "小数" not in error


@pytest.mark.parametrize("text", ["R8.12.1", "2026-12-01", "2026/12/1", "令和8年12月1日"])
def test_a_date_typed_into_an_amount_field_asks_for_digits(text):
    with pytest.raises(InputError) as exc:
        parse_field(Field("amount", "約束金額", "amount"), text)
    assert "約束金額は数字で入力してください" in exc.value.message
    assert "小数" not in exc.value.message


def test_amounts_are_still_read_as_amounts():
    assert parse_field(Field("amount", "金額", "amount"), "１,２３４") == 1234


@pytest.mark.parametrize("text", ["R8.12", "2026-12", "2026/12", "令和8年12月"])
def test_month_fields_take_a_month(text):
    assert parse_field(Field("first_month", "開始月", "month"), text) == date(2026, 12, 1)


async def test_plan_months_typed_as_r8_12_are_stored(demo_session):
    from models.schema import Plan

    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, first_active_claim())
        await pilot.press("p")
        await settle(pilot)
        await fill(pilot, "first_month", "R8.12")
        await fill(pilot, "monthly_amount", "10000")
        await fill(pilot, "last_month", "2027/3")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)
    plan = Plan.select().order_by(Plan.id.desc()).get()
    assert (plan.first_month, plan.last_month) == (date(2026, 12, 1), date(2027, 3, 1))


async def test_only_optional_values_are_labelled_optional(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await open_claim(pilot, first_active_claim())
        await pilot.press("u")  # the reason is required when the rate or the order changes
        await settle(pilot)
        labels = [str(lbl.content) for lbl in app.screen.query(".form-label")]
        assert "理由" in labels and "理由（任意）" not in labels
        assert "メモ（任意）" in labels
