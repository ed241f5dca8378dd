"""The 経営者保証GL settlement screen (issue 15 point 2): from a guarantor on a claim, d → 6,
the G1 case of examples/gl.toml typed in and seen to the yen, then proposed; a CSV inventory
with a bad row refused with its line and column; a snapshot at 80x24."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from kyusho.app import KyushoApp
from kyusho.services import decisions
from models.schema import Claim, Obligor
from screens.claim_detail import ClaimDetailScreen
from screens.form import FormScreen
from screens.gl import GLScreen
from tests.conftest import make_session
from tests.test_tui import SIZE, settle

G1_BIRTH = date(1972, 8, 15)
G1_INVENTORY = (
    "種類,内容,評価額,差押禁止,自宅,残したい\n"
    "現金,手元現金,1500000,0,0,0\n"
    "預金,○○銀行 普通,2400000,0,0,0\n"
    "不動産,自宅土地建物,6000000,0,1,0\n"
    "自動車,軽自動車,400000,0,0,0\n"
    "動産,家財,200000,1,0,0\n"
)


def _guarantor(path: Path) -> tuple[str, int]:
    """The first active claim with a liable 連帯保証人, given G1's birth date."""
    make_session(path)
    ob = (
        Obligor.select(Obligor, Claim)
        .join(Claim)
        .where(
            (Obligor.role == "joint_guarantor")
            & (Obligor.liable == True)  # noqa: E712
            & (Claim.status == "active")
        )
        .order_by(Claim.claim_no, Obligor.obligor_no)
        .get()
    )
    Obligor.update(birth_date=G1_BIRTH).where(Obligor.id == ob.id).execute()
    return ob.claim.claim_no, ob.obligor_no


def _app(path: Path) -> KyushoApp:
    session = make_session(path)
    session.config = replace(session.config, refresh_seconds=600)
    return KyushoApp(session)


async def _type(pilot: Pilot[Any], text: str) -> None:
    for ch in text:
        await pilot.press(ch)


async def _open_gl(pilot: Pilot[Any], claim_no: str, obligor_no: int) -> GLScreen:
    """The claim, the guarantor's row on the 関係人 tab, d, 6."""
    await settle(pilot)
    pilot.app.open_claim(claim_no)
    await settle(pilot)
    detail = pilot.app.screen
    assert isinstance(detail, ClaimDetailScreen)
    for _ in range(obligor_no - 1):
        await pilot.press("down")
    await pilot.press("d")
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, GLScreen)
    return screen


async def _enter_g1_inputs(pilot: Pilot[Any]) -> None:
    for text in ("R7.5.20", "1", "山田 一郎", "弁護士", "2100000", "4000000", "2900000"):
        await _type(pilot, text)
        await pilot.press("enter")
    await settle(pilot)


async def _import(pilot: Pilot[Any], path: Path) -> None:
    await pilot.press("i")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, FormScreen)
    form.query_one(Input).value = str(path)
    await pilot.press("ctrl+s")
    await settle(pilot)


def _figures(screen: GLScreen) -> str:
    return str(screen.query_one("#gl-figures-text", Static).content)


async def test_g1_typed_in_shows_every_figure_then_is_proposed(demo_path, tmp_path):
    """G1 of examples/gl.toml: the figures update as lines are added (a line by the form,
    the others from CSV), match the worked case to the yen, and Ctrl+S proposes them."""
    claim_no, obligor_no = _guarantor(demo_path)
    liability = decisions.evaluate(
        make_session(demo_path),
        claim_no,
        "gl_release",
        obligor_no=obligor_no,
        data={
            "reference_date": "2025-05-20",
            "gl_type": "一体型",
            "assets": [{"kind": "現金", "value": 1_500_000}, {"kind": "預金", "value": 9_000_000}],
            "living_requested": 2_900_000,
            "bankruptcy_dividend": 0,
            "recovery_increase": 0,
            "expert": {"name": "x", "qualification": "弁護士"},
        },
    ).computed["liability"]
    csv_path = tmp_path / "inventory.csv"
    csv_path.write_text(G1_INVENTORY.replace("現金,手元現金,1500000,0,0,0\n", ""), "utf-8")
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_gl(pilot, claim_no, obligor_no)
        await _enter_g1_inputs(pilot)
        assert "52歳" in _figures(screen) and "45〜59歳 330日" in _figures(screen)
        # the cash line typed through the form
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#f-kind").value = "現金"
        form.query_one("#f-description", Input).value = "手元現金"
        form.query_one("#f-value", Input).value = "1,500,000"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "資産合計 1,500,000円" in _figures(screen)
        await _import(pilot, csv_path)
        assert app.screen is screen and len(screen.assets) == 5
        text = _figures(screen)
        for label, amount in (
            ("生計費の上限", 3_630_000),
            ("資産合計", 10_500_000),
            ("自由財産", 1_190_000),
            ("インセンティブ資産", 2_900_000),
            ("残存資産", 4_090_000),
            ("弁済額", 6_410_000),
            ("免除額", liability - 6_410_000),
        ):
            assert f"{label} {amount:,}円" in text, label
        assert "✗" not in text and text.count("✓") == 4
        # a kept home is incentive: the figures follow the flag at once, and the check says
        # by how much it fails
        screen.query_one("#gl-assets", DataTable).move_cursor(row=2)  # 不動産
        await pilot.press("3")
        assert "インセンティブ資産 8,900,000円" in _figures(screen)
        assert "4,900,000円 超過" in _figures(screen)
        await pilot.press("3")
        assert "インセンティブ資産 2,900,000円" in _figures(screen)

        await pilot.press("ctrl+n")
        await settle(pilot)
        assert screen.step == "attest" and len(screen.items) == len(
            decisions.ATTESTED_ITEMS["gl_release"]
        )
        while screen.step == "attest":
            await _type(pilot, "1")
            await pilot.press("enter")
            await _type(pilot, "確認書あり")
            await pilot.press("enter")
            await settle(pilot)
        assert screen.step == "summary"
        summary = str(screen.query_one("#gl-step-text", Static).content)
        assert "弁済額 6,410,000円" in summary and "山田 一郎（弁護士）" in summary
        await _type(pilot, "GLによる保証債務の整理")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ClaimDetailScreen)

    d = decisions.list_decisions(make_session(demo_path), claim_no=claim_no)[0]
    frozen = decisions.decision_json(d)
    assert d.kind == "gl_release" and d.status == "proposed"
    assert frozen["computed"]["payment"] == 6_410_000
    assert frozen["computed"]["release"] == liability - 6_410_000
    assert frozen["data"]["expert"] == {"name": "山田 一郎", "qualification": "弁護士"}
    assert [a["value"] for a in frozen["data"]["assets"]] == [
        1_500_000,
        2_400_000,
        6_000_000,
        400_000,
        200_000,
    ]


async def test_csv_with_a_bad_row_is_refused_with_line_and_column(demo_path, tmp_path):
    claim_no, obligor_no = _guarantor(demo_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(G1_INVENTORY + "船,ヨット,abc,0,0,0\n", "utf-8")
    app = _app(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_gl(pilot, claim_no, obligor_no)
        await _enter_g1_inputs(pilot)
        await _import(pilot, bad)
        form = app.screen
        assert isinstance(form, FormScreen)  # refused: the form stays, saying why
        error = str(form.query_one("#form-error").content)
        assert "7行目 種類列" in error and "7行目 評価額列" in error
        await pilot.press("escape", "escape")  # the form asks once before dropping the path
        await settle(pilot)
        assert app.screen is screen and screen.assets == []  # nothing added


def test_snapshot_gl_figures(demo_path, tmp_path, snap_compare):
    """G1 typed in, the inventory imported: the figures beside the inputs at 80x24."""
    claim_no, obligor_no = _guarantor(demo_path)
    csv_path = tmp_path / "inventory.csv"
    csv_path.write_text(G1_INVENTORY, "utf-8")

    async def run(pilot):
        await _open_gl(pilot, claim_no, obligor_no)
        await _enter_g1_inputs(pilot)
        await _import(pilot, csv_path)

    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=run)
