"""The key bar at the bottom of every screen shows that screen's keys as they are bound."""

from __future__ import annotations

from dataclasses import replace

from kyusho.app import KyushoApp
from screens.widgets import KeyBar
from tests.conftest import make_session
from tests.test_tui import SIZE, settle


def keys_shown(app) -> str:
    return str(app.screen.query_one(KeyBar).render())


async def test_each_screen_shows_its_own_keys_then_the_app_keys(demo_session):
    app = KyushoApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = keys_shown(app)
        assert "開く" in home and "交渉記録" in home
        assert home.index("開く") < home.index("終了")  # the screen's own keys first
        await pilot.press("f3")
        await settle(pilot)
        claims = keys_shown(app)
        assert "並び替え" in claims and "交渉記録" not in claims
        await pilot.press("enter")
        await settle(pilot)
        assert "入金" in keys_shown(app)


async def test_a_remapped_key_is_shown_as_remapped(demo_path):
    session = make_session(demo_path)
    session.config = replace(session.config, keymap={"home.contact": "ctrl+k"})
    app = KyushoApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = keys_shown(app)
        assert "^k 交渉記録" in shown and " k 交渉記録" not in shown
