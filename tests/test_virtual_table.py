"""VirtualTable: the claim list stays fast at 200,000 rows and keeps Japanese columns aligned."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from rich.cells import get_character_cell_size
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

from screens.virtual_table import Column, VirtualTable, fit_cell

N_ROWS = 200_000
BLOCK = 200

COLUMNS = [
    Column("no", "求償権番号", 10),
    Column("name", "主債務者名", 12),
    Column("kana", "カナ", 10),
    Column("balance", "残高", 13, align="right"),
]

SURNAMES = ["山田", "佐々木", "長谷川", "髙橋", "ﾔﾏﾀﾞ", "鈴木"]
GIVEN = ["太郎", "花子", "由美子", "一", "ﾀﾛｳ", "左衛門三郎"]
KANA = ["ヤマダ", "ｻｻｷ ﾊﾅｺ", "ハセガワユミコ", "タカハシ", "ヤマダタロウ"]


def key_of(i: int) -> str:
    return f"C{i:06d}"


def base_row(i: int) -> tuple[str, tuple[str, ...]]:
    """Row ``i`` of the synthetic data set; the key encodes the original position."""
    name = f"{SURNAMES[i % len(SURNAMES)]}{GIVEN[i % len(GIVEN)]}"
    balance = f"{(i * 7919) % 50_000_000:,}"
    return key_of(i), (f"R{i:06d}", name, KANA[i % len(KANA)], balance)


class FakeSource:
    """200,000 synthetic rows built on demand; records every fetch (from worker threads)."""

    def __init__(self, n: int = N_ROWS) -> None:
        self.n = n
        self.prefix: list[tuple[str, tuple[str, ...]]] = []
        self.deleted: set[int] = set()
        self.calls: list[tuple[int, int]] = []
        self.threads: set[int] = set()
        self.lock = threading.Lock()

    def _base_index(self, j: int) -> int:
        """The j-th surviving base row (only a handful of rows are ever deleted)."""
        for d in sorted(self.deleted):
            if d <= j:
                j += 1
        return j

    def count(self) -> int:
        with self.lock:
            self.threads.add(threading.get_ident())
        return len(self.prefix) + self.n - len(self.deleted)

    def fetch(self, offset: int, limit: int) -> list[tuple[str, tuple[str, ...]]]:
        with self.lock:
            self.calls.append((offset, limit))
            self.threads.add(threading.get_ident())
        rows = []
        for i in range(offset, min(offset + limit, self.count())):
            if i < len(self.prefix):
                rows.append(self.prefix[i])
            else:
                rows.append(base_row(self._base_index(i - len(self.prefix))))
        return rows

    def insert_front(self, count: int) -> None:
        """Other users add rows that sort before everything on screen."""
        new = [(f"N{j}", (f"N{j:06d}", "新規 次郎", "ｼﾝｷ", "1")) for j in range(count)]
        self.prefix = new + self.prefix


class IndexedSource(FakeSource):
    """A source that can locate a row key directly (what a database source would do)."""

    def index_of(self, row_key: Any) -> int | None:
        if not str(row_key).startswith("C"):
            return None
        b = int(str(row_key)[1:])
        if b in self.deleted:
            return None
        return len(self.prefix) + b - sum(1 for d in self.deleted if d < b)


class TableApp(App[None]):
    def __init__(self, source: Any, **table_kwargs: Any) -> None:
        super().__init__()
        self.source = source
        self.table_kwargs = table_kwargs
        self.selected: list[tuple[Any, int]] = []
        self.moved: list[tuple[Any, int]] = []
        self.counts: list[int] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, source=self.source, **self.table_kwargs)

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()

    def on_virtual_table_row_selected(self, message: VirtualTable.RowSelected) -> None:
        self.selected.append((message.row_key, message.index))

    def on_virtual_table_cursor_moved(self, message: VirtualTable.CursorMoved) -> None:
        self.moved.append((message.row_key, message.index))

    def on_virtual_table_count_changed(self, message: VirtualTable.CountChanged) -> None:
        self.counts.append(message.count)


async def settle(pilot: Pilot[Any]) -> VirtualTable:
    """Wait until every thread worker finished and the table applied its results."""
    table = pilot.app.query_one(VirtualTable)
    for _ in range(100):
        try:
            await pilot.app.workers.wait_for_complete()
        except (
            WorkerFailed,
            WorkerCancelled,
        ):  # screens report errors; newer work replaces cancelled
            pass
        await pilot.pause()
        # is_loading: on a loaded machine the first worker may not have started yet
        if (
            not table.is_busy
            and not table.is_loading
            and all(w.is_finished for w in pilot.app.workers)
        ):
            return table
    raise AssertionError("table workers never settled")


def screen_lines(table: VirtualTable) -> list[str]:
    """The text of every line the table shows (header first)."""
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def body_height(table: VirtualTable) -> int:
    return table.scrollable_content_region.height - 1


def split_columns(line: str) -> list[str]:
    """Cut a rendered line at the column boundaries, counting terminal cells.

    Fails if a double-width character straddles a boundary (that would be drift).
    """
    bounds = []
    pos = 0
    for column in COLUMNS:
        bounds.append((pos, pos + column.width))
        pos += column.width + 1
    cells: list[str] = []
    for ch in line:
        width = get_character_cell_size(ch)
        cells.append(ch)
        cells.extend([""] * (width - 1))
    parts = []
    for start, end in bounds:
        assert cells[start] != "", f"wide character straddles column start {start}: {line!r}"
        if end < len(cells):
            assert cells[end] != "", f"wide character straddles column end {end}: {line!r}"
            assert cells[end] == " ", f"no separator at cell {end}: {line!r}"
        parts.append("".join(cells[start:end]))
    return parts


async def test_opening_fetches_only_the_first_block() -> None:
    source = FakeSource()
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await settle(pilot)
        assert table.row_count == N_ROWS
        assert len(source.calls) <= 2
        assert all(offset < 2 * BLOCK for offset, _limit in source.calls)
        lines = screen_lines(table)
        assert "求償権番号" in lines[0]
        assert lines[1].startswith("R000000")
        assert lines[-1].startswith(f"R{body_height(table) - 1:06d}")
        assert table.cursor_row_key == key_of(0)
        assert app.moved == [(key_of(0), 0)]
        # The database work never ran on the UI thread.
        assert threading.get_ident() not in source.threads


async def test_end_shows_last_row_and_fetches_only_the_last_block() -> None:
    source = FakeSource()
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        source.calls.clear()
        await pilot.press("end")
        table = await settle(pilot)
        assert table.cursor_index == N_ROWS - 1
        assert table.cursor_row_key == key_of(N_ROWS - 1)
        lines = screen_lines(table)
        assert lines[-1].startswith(f"R{N_ROWS - 1:06d}")
        assert lines[1].startswith(f"R{N_ROWS - body_height(table):06d}")
        assert 1 <= len(source.calls) <= 2
        assert all(offset >= N_ROWS - 2 * BLOCK for offset, _limit in source.calls)
        assert app.moved[-1] == (key_of(N_ROWS - 1), N_ROWS - 1)

        # Back to the top: the first block is still cached, nothing is fetched.
        source.calls.clear()
        await pilot.press("ctrl+home")
        table = await settle(pilot)
        assert table.cursor_row_key == key_of(0)
        assert screen_lines(table)[1].startswith("R000000")
        assert source.calls == []


async def test_cursor_keys_and_enter_select_the_right_row() -> None:
    app = TableApp(FakeSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down", "up")
        table = await settle(pilot)
        assert table.cursor_index == 2
        assert app.moved[-4:] == [
            (key_of(1), 1),
            (key_of(2), 2),
            (key_of(3), 3),
            (key_of(2), 2),
        ]
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [(key_of(2), 2)]

        await pilot.press("up", "up", "up")  # clamps at the first row
        await pilot.pause()
        assert table.cursor_index == 0

        await pilot.press("pagedown")
        table = await settle(pilot)
        assert table.cursor_index == body_height(table)
        assert table.cursor_row_key == key_of(body_height(table))
        await pilot.press("pageup")
        await pilot.pause()
        assert table.cursor_index == 0


async def test_paging_past_a_block_loads_it_and_the_cache_stays_bounded() -> None:
    source = FakeSource()
    app = TableApp(source, block_size=50, max_blocks=3)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(12):
            await pilot.press("pagedown")
            table = await settle(pilot)
            assert table.cached_block_count <= 3
        index = table.cursor_index
        assert index == 12 * body_height(table)
        assert table.cursor_row_key == key_of(index)
        assert any(line.startswith(f"R{index:06d}") for line in screen_lines(table))
        assert "読込中" not in "".join(screen_lines(table))
        # Only blocks the screen passed through were fetched, each once.
        offsets = [offset for offset, _limit in source.calls]
        assert len(offsets) == len(set(offsets))
        assert max(offsets) <= index


@pytest.mark.parametrize("source_class", [FakeSource, IndexedSource])
async def test_refresh_keeps_the_cursor_on_its_row_after_inserts_before_it(
    source_class: type[FakeSource],
) -> None:
    source = source_class()
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*["down"] * 5)
        table = await settle(pilot)
        assert table.cursor_row_key == key_of(5)

        source.insert_front(3)
        table.refresh_data()
        table = await settle(pilot)
        assert table.row_count == N_ROWS + 3
        assert app.counts == [N_ROWS, N_ROWS + 3]
        assert table.cursor_row_key == key_of(5)
        assert table.cursor_index == 8
        # The row does not jump under the user's eyes: same screen line as before.
        assert screen_lines(table)[1 + 5].startswith("R000005")
        assert app.moved[-1] == (key_of(5), 8)
        await pilot.press("home")
        table = await settle(pilot)
        assert screen_lines(table)[1].startswith("N000000")


async def test_refresh_far_from_the_top_uses_index_of() -> None:
    source = IndexedSource()
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        source.insert_front(250)  # more than a block: only index_of can find the row
        source.calls.clear()
        table = app.query_one(VirtualTable)
        table.refresh_data()
        table = await settle(pilot)
        assert table.cursor_row_key == key_of(N_ROWS - 1)
        assert table.cursor_index == N_ROWS + 250 - 1
        assert all(offset >= N_ROWS - 2 * BLOCK for offset, _limit in source.calls)


async def test_refresh_after_the_cursor_row_was_deleted_keeps_the_index() -> None:
    source = FakeSource()
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*["down"] * 5)
        await settle(pilot)
        source.deleted.add(5)
        table = app.query_one(VirtualTable)
        table.refresh_data()
        table = await settle(pilot)
        assert table.row_count == N_ROWS - 1
        assert table.cursor_index == 5
        assert table.cursor_row_key == key_of(6)


async def test_japanese_columns_stay_aligned() -> None:
    app = TableApp(FakeSource())
    async with app.run_test(size=(80, 24)) as pilot:
        table = await settle(pilot)
        lines = [table.render_line(y) for y in range(table.scrollable_content_region.height)]
        assert len({strip.cell_length for strip in lines}) == 1
        for y, strip in enumerate(lines[1:]):
            no, name, kana, balance = split_columns(strip.text)
            key, cells = base_row(y)
            assert no.rstrip() == cells[0]
            assert name == fit_cell(cells[1], 12, mark=VirtualTable.TRUNCATION_MARK)
            assert kana == fit_cell(cells[2], 10, mark=VirtualTable.TRUNCATION_MARK)
            assert balance.lstrip() == cells[3] and balance.endswith(cells[3])
        header = split_columns(lines[0].text)
        assert [h.strip() for h in header] == [c.label for c in COLUMNS]


def test_fit_cell_pads_and_truncates_by_cell_width() -> None:
    assert fit_cell("山田太郎", 10) == "山田太郎  "
    assert fit_cell("山田太郎", 10, "right") == "  山田太郎"
    # A kanji cut in half at the edge must not leave the column one cell short.
    assert fit_cell("長谷川由美子", 9) == "長谷川由~"
    assert fit_cell("ﾊｾｶﾞﾜ", 5) == "ﾊｾｶﾞﾜ"
    assert fit_cell("a\tb", 4) == "a b "


async def test_loading_then_empty_state() -> None:
    gate = threading.Event()

    class SlowEmpty(FakeSource):
        def count(self) -> int:
            gate.wait(timeout=10)
            return 0

    app = TableApp(SlowEmpty(0))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        try:
            assert table.is_loading
            assert "読込中…" in table.render_line(1).text
        finally:
            gate.set()
        table = await settle(pilot)
        assert table.row_count == 0
        assert "該当する求償権はありません" in table.render_line(1).text
        await pilot.press("down", "end", "enter")
        await pilot.pause()
        assert app.selected == []
        assert table.cursor_row_key is None


async def test_empty_text_is_settable() -> None:
    app = TableApp(FakeSource(0), empty_text="承認待ちはありません")
    async with app.run_test(size=(80, 24)) as pilot:
        table = await settle(pilot)
        assert "承認待ちはありません" in table.render_line(1).text


async def test_a_failing_source_shows_an_error_instead_of_crashing() -> None:
    class Broken(FakeSource):
        def count(self) -> int:
            raise OSError("database is locked")

    app = TableApp(Broken())
    async with app.run_test(size=(80, 24)) as pilot:
        table = await settle(pilot)
        assert "読込エラー" in table.render_line(1).text
        assert app.is_running


async def test_cursor_is_reverse_video_under_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = TableApp(FakeSource())
    async with app.run_test(size=(80, 24)) as pilot:
        table = await settle(pilot)
        assert app.no_color
        cursor_line = list(table.render_line(1))
        other_line = list(table.render_line(2))
        assert cursor_line[0].style is not None and cursor_line[0].style.reverse
        assert not (other_line[0].style and other_line[0].style.reverse)


async def test_bindings_can_be_remapped_by_id() -> None:
    app = TableApp(FakeSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.set_keymap({"vtable.cursor_down": "j"})
        await pilot.press("j", "j")
        table = await settle(pilot)
        assert table.cursor_index == 2
        await pilot.press("down")  # no longer bound to the cursor
        await pilot.pause()
        assert table.cursor_index == 2


async def test_set_source_replaces_the_rows_and_resets_the_cursor() -> None:
    app = TableApp(FakeSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("end")
        table = await settle(pilot)
        small = FakeSource(3)
        table.set_source(small)
        table = await settle(pilot)
        assert table.row_count == 3
        assert table.cursor_index == 0
        assert table.cursor_row_key == key_of(0)
        lines = screen_lines(table)
        assert lines[3].startswith("R000002")
        assert lines[4].strip() == ""
        assert small.calls == [(0, BLOCK)]
