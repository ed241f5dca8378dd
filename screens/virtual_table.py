"""A line-API table that shows a very large, database-backed row set.

The claim list must stay fast at 200,000 claims, so rows are never all loaded into a
widget: the table asks a *source* for the row count and for blocks of rows on demand,
always from thread workers (sources do blocking database work), keeps a bounded LRU of
blocks, and renders only the lines that are on screen (the idea of toolong's LogLines).
"""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from numbers import Real
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

RowKey = Hashable
Row = tuple[RowKey, tuple[str, ...]]


@runtime_checkable
class TableSource(Protocol):
    """Where the rows come from; both methods block (database work).

    The table calls them only from thread workers. A source may also offer
    ``index_of(row_key) -> int | None`` (blocking too); `VirtualTable.refresh_data` then
    uses it to find the cursor's row exactly instead of searching near its old index.
    """

    def count(self) -> int:
        """Number of rows in the current result set."""
        ...

    def fetch(self, offset: int, limit: int) -> list[Row]:
        """Rows ``offset .. offset+limit-1`` as ``(row_key, cell texts)`` pairs."""
        ...


@dataclass(frozen=True)
class Column:
    """A table column; ``width`` is in terminal cells (a kanji is 2 cells)."""

    key: str
    label: str
    width: int
    align: Literal["left", "right"] = "left"
    # which of the row's cells this column shows (-1: the cell at the column's own position),
    # so a wider layout can add or reorder columns without fetching the rows again
    cell: int = -1


def _clean(text: str) -> str:
    """Replace control characters (tab, newline...) that would break cell counting."""
    if text.isprintable():
        return text
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)


def fit_cell(text: str, width: int, align: str = "left", mark: str = "~") -> str:
    """Pad or truncate ``text`` to exactly ``width`` cells, so columns never drift.

    Truncation respects double-width characters (a kanji split at the edge becomes a
    space) and ends with ``mark`` so the user sees the value was cut.
    """
    if width <= 0:
        return ""
    text = _clean(text)
    size = cell_len(text)
    if size > width:
        mark_len = cell_len(mark)
        if 0 < mark_len < width:
            # rstrip: a kanji split at the edge leaves a space; keep the mark next to the text
            cut = set_cell_size(text, width - mark_len).rstrip() + mark
            return cut + " " * (width - cell_len(cut))
        return set_cell_size(text, width)
    if align == "right":
        return " " * (width - size) + text
    return text + " " * (width - size)


@dataclass
class _Job:
    """What a running worker was started for (handed back with its result)."""

    kind: Literal["count", "block", "refresh"]
    generation: int
    block: int = -1


@dataclass
class _RefreshResult:
    """Everything `refresh_data` computes off the UI thread."""

    count: int
    cursor_index: int
    scroll_top: int
    blocks: dict[int, list[Row]] = field(default_factory=dict)


class VirtualTable(ScrollView, can_focus=True):
    """A virtual table: header line plus rows fetched in blocks from a `TableSource`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "上へ", show=False, id="vtable.cursor_up"),
        Binding("down", "cursor_down", "下へ", show=False, id="vtable.cursor_down"),
        Binding("pageup", "page_up", "前頁", show=False, id="vtable.page_up"),
        Binding("pagedown", "page_down", "次頁", show=False, id="vtable.page_down"),
        Binding("home,ctrl+home,g", "cursor_top", "先頭", show=False, id="vtable.cursor_top"),
        Binding("end,ctrl+end,G", "cursor_bottom", "末尾", show=False, id="vtable.cursor_bottom"),
        Binding("left", "scroll_left", "左へ", show=False, id="vtable.scroll_left"),
        Binding("right", "scroll_right", "右へ", show=False, id="vtable.scroll_right"),
        Binding("enter", "select_cursor", "開く", id="vtable.select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--cursor",
        "vtable--placeholder",
        "vtable--message",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        & > .vtable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .vtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .vtable--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .vtable--placeholder {
            text-style: dim;
        }
        & > .vtable--message {
            color: $text-muted;
        }
        &:nocolor > .vtable--header {
            text-style: bold underline;
        }
        &:nocolor > .vtable--cursor {
            text-style: reverse;
        }
        &:nocolor:focus > .vtable--cursor {
            text-style: bold reverse;
        }
    }
    """

    class _TableMessage(Message):
        """A message about this table (``control`` is the table, as for DataTable's)."""

        def __init__(self, table: VirtualTable) -> None:
            self.table = table
            super().__init__()

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(_TableMessage):
        """Enter (or a click on the cursor row) chose a row."""

        def __init__(self, table: VirtualTable, row_key: RowKey, index: int) -> None:
            self.row_key = row_key
            self.index = index
            super().__init__(table)

    class CursorMoved(_TableMessage):
        """The cursor is on a (loaded) row; sent again when index or key change."""

        def __init__(self, table: VirtualTable, row_key: RowKey, index: int) -> None:
            self.row_key = row_key
            self.index = index
            super().__init__(table)

    class CountChanged(_TableMessage):
        """A (re)count arrived; screens show it as the number of hits."""

        def __init__(self, table: VirtualTable, count: int) -> None:
            self.count = count
            super().__init__(table)

    class HeaderSelected(_TableMessage):
        """A column label was clicked (screens use it to change the sort order)."""

        def __init__(self, table: VirtualTable, column_key: str) -> None:
            self.column_key = column_key
            super().__init__(table)

    WORKER_GROUP_COUNT: ClassVar[str] = "vtable-count"
    WORKER_GROUP_FETCH: ClassVar[str] = "vtable-fetch"
    TRUNCATION_MARK: ClassVar[str] = "~"
    """ASCII on purpose: '…' is East Asian *ambiguous* width and drifts on CJK terminals."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        source: TableSource | None = None,
        empty_text: str = "該当する求償権はありません",
        loading_text: str = "読込中…",
        block_size: int = 200,
        max_blocks: int = 50,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        if block_size < 1 or max_blocks < 2:
            raise ValueError("block_size must be >= 1 and max_blocks >= 2")
        self._columns: tuple[Column, ...] = tuple(columns)
        self.empty_text = empty_text
        self.loading_text = loading_text
        self.block_size = block_size
        self.max_blocks = max_blocks
        self._source: TableSource | None = source
        self._count: int | None = None
        self._error: str | None = None
        self._generation = 0
        self._blocks: OrderedDict[int, list[Row]] = OrderedDict()
        self._stale: dict[int, list[Row]] = {}
        self._pending: set[int] = set()
        self._failed: set[int] = set()
        self._wanted: frozenset[int] = frozenset()
        self._jobs: list[_Job] = []  # started, result not applied yet
        self._cursor = 0
        self._announced: tuple[RowKey, int] | None = None
        self._refreshing = False
        self._update_virtual_size()

    # ----------------------------------------------------------------- public API

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Change the columns (e.g. a narrower layout); rows are re-rendered, not re-fetched."""
        self._columns = tuple(columns)
        self._update_virtual_size()
        self.refresh()

    @property
    def source(self) -> TableSource | None:
        return self._source

    @property
    def row_count(self) -> int | None:
        """Rows in the source, or None while the first count is loading."""
        return self._count

    @property
    def is_loading(self) -> bool:
        """True until the count of the current source has arrived."""
        return self._source is not None and self._count is None and self._error is None

    @property
    def is_busy(self) -> bool:
        """True while a count/fetch worker's result has not been applied yet."""
        return bool(self._jobs)

    @property
    def cached_block_count(self) -> int:
        """Blocks held in memory (bounded by ``max_blocks``)."""
        return len(self._blocks) + len(self._stale)

    @property
    def cursor_index(self) -> int:
        return self._cursor

    @property
    def cursor_row_key(self) -> RowKey | None:
        """Key of the row under the cursor, or None if there is none or it is still loading."""
        row = self.get_row(self._cursor)
        return None if row is None else row[0]

    def get_row(self, index: int) -> Row | None:
        """The cached row at ``index`` (None if not loaded); never blocks."""
        if self._count is None or not 0 <= index < self._count:
            return None
        block, offset = divmod(index, self.block_size)
        rows = self._blocks.get(block)
        if rows is None:
            rows = self._stale.get(block)
        if rows is None or offset >= len(rows):
            return None
        return rows[offset]

    def set_source(self, source: TableSource | None) -> None:
        """Show a new result set: reload the count and the first block, cursor to the top."""
        self._source = source
        self._generation += 1
        self._count = None
        self._error = None
        self._blocks.clear()
        self._stale.clear()
        self._pending.clear()
        self._failed.clear()
        self._cursor = 0
        self._announced = None
        self._refreshing = False
        self._update_virtual_size()
        if self.is_mounted:
            self.scroll_to(0, 0, animate=False, force=True)
            self._start_load()
        self.refresh()

    def refresh_data(self, keep_cursor: bool = True) -> None:
        """Re-count and re-fetch (others may have written), keeping the cursor's row.

        The cursor stays on the same row key if it still exists (found with the
        source's ``index_of`` if it has one, else within a block either side of its old
        index), otherwise on the same index, clamped. Old rows stay on screen until the
        new ones arrive; cached blocks that are off screen are dropped and re-fetched
        when needed.
        """
        source = self._source
        if source is None or not self.is_mounted:
            return
        if self._count is None:
            self.set_source(source)
            return
        self._generation += 1
        generation = self._generation
        self._stale = {**self._stale, **self._blocks}
        self._blocks.clear()
        self._pending.clear()
        self._failed.clear()
        self._refreshing = True
        old_key = self.cursor_row_key if keep_cursor else None
        old_index = self._cursor if keep_cursor else 0
        screen_line = max(0, old_index - round(self.scroll_y))
        body = self._body_height()
        size = self.block_size

        def work() -> _RefreshResult:
            count = source.count()
            blocks: dict[int, list[Row]] = {}

            def block_rows(block: int) -> list[Row]:
                if block not in blocks:
                    blocks[block] = list(source.fetch(block * size, size))
                return blocks[block]

            new_index: int | None = None
            if old_key is not None:
                index_of = getattr(source, "index_of", None)
                if callable(index_of):
                    new_index = index_of(old_key)
                else:
                    centre = min(old_index, max(count - 1, 0)) // size
                    for block in (centre, centre - 1, centre + 1):
                        if 0 <= block and block * size < count:
                            rows = block_rows(block)
                            for offset, (key, _cells) in enumerate(rows):
                                if key == old_key:
                                    new_index = block * size + offset
                                    break
                        if new_index is not None:
                            break
            if new_index is None or not 0 <= new_index < count:
                new_index = min(old_index, max(count - 1, 0))
            top = max(0, min(new_index - screen_line, count - body))
            last = min(count, top + body)
            needed = set(range(top // size, (last - 1) // size + 1)) if last > top else set()
            needed.add(new_index // size)
            for block in needed:
                if block * size < count:
                    block_rows(block)
            return _RefreshResult(count, new_index, top, blocks)

        self._run(work, _Job("refresh", generation), self.WORKER_GROUP_COUNT, exclusive=True)

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it into view."""
        if not self._count:
            return
        index = max(0, min(index, self._count - 1))
        changed = index != self._cursor
        self._cursor = index
        self._scroll_cursor_into_view()
        self._request_visible()
        if changed:
            self.refresh()
        self._announce_cursor()

    # ------------------------------------------------------------------- actions

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self._page(-1)

    def action_page_down(self) -> None:
        self._page(+1)

    def action_cursor_top(self) -> None:
        self.move_cursor(0)

    def action_cursor_bottom(self) -> None:
        if self._count:
            self.move_cursor(self._count - 1)

    def action_select_cursor(self) -> None:
        row = self.get_row(self._cursor)
        if row is not None:
            self.post_message(self.RowSelected(self, row[0], self._cursor))

    def _page(self, direction: int) -> None:
        """Move a screenful, keeping the cursor on the same screen line."""
        if not self._count:
            return
        body = self._body_height()
        line = self._cursor - round(self.scroll_y)
        index = max(0, min(self._cursor + direction * body, self._count - 1))
        self._cursor = index
        self.scroll_to(y=max(0, index - line), animate=False, force=True)
        self._scroll_cursor_into_view()
        self._request_visible()
        self.refresh()
        self._announce_cursor()

    # ----------------------------------------------------------------- lifecycle

    def on_mount(self) -> None:
        # ScrollView.on_mount runs too: Textual dispatches handlers along the MRO.
        if self._source is not None and self._count is None:
            self._start_load()

    def on_resize(self, event: events.Resize) -> None:
        self._request_visible()
        self.refresh()

    def watch_scroll_y(self, old_value: Real, new_value: Real) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._request_visible()

    def on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            key = self._column_at(offset.x + round(self.scroll_x))
            if key is not None:
                self.post_message(self.HeaderSelected(self, key))
            return
        index = round(self.scroll_y) + offset.y - 1
        if self._count and 0 <= index < self._count:
            if index == self._cursor:
                self.action_select_cursor()
            else:
                self.move_cursor(index)

    def _run(self, work: Any, job: _Job, group: str, exclusive: bool = False) -> None:
        self._jobs.append(job)
        self.run_worker(
            partial(self._job_thread, work, job),
            name=f"{job.kind} {job.block}",
            group=group,
            thread=True,
            exclusive=exclusive,
            exit_on_error=False,
        )

    def _job_thread(self, work: Any, job: _Job) -> None:
        """Runs in the worker thread; hands the outcome to the UI thread (``_job_done``)."""
        try:
            result, error = work(), None
        except Exception as exc:  # shown by _on_error, never raised into the UI
            result, error = None, exc
        cancelled = get_current_worker().is_cancelled
        self.app.call_from_thread(self._job_done, job, result, error, cancelled)

    def _job_done(
        self, job: _Job, result: Any, error: BaseException | None, cancelled: bool
    ) -> None:
        """Apply a job's outcome on the UI thread; results of superseded jobs are dropped."""
        if job in self._jobs:
            self._jobs.remove(job)
        current = job.generation == self._generation
        if job.kind == "block" and current:
            self._pending.discard(job.block)
        if not current or cancelled:
            return
        if error is not None:
            self._on_error(job, error)
            return
        if job.kind == "count":
            self._apply_count(result)
        elif job.kind == "block":
            if result is not None:
                self._store_block(job.block, result)
            self._request_visible()
            self.refresh()
            self._announce_cursor()
        else:
            self._apply_refresh(result)

    # ------------------------------------------------------------------ loading

    def _start_load(self) -> None:
        """The first block and the count, read one after the other in one worker and shown
        together: run side by side, the two reads and the table drawn between their results
        took turns with the GIL, and a search showed its rows later than the two reads
        take in a row."""
        source = self._source
        if source is None:
            return
        size = self.block_size
        self._wanted = frozenset({0})

        def work() -> _RefreshResult:
            count = source.count()  # first: a source may read its rows faster knowing it
            rows = list(source.fetch(0, size)) if count else []
            return _RefreshResult(count, 0, 0, {0: rows} if count else {})

        self._run(work, _Job("refresh", self._generation), self.WORKER_GROUP_COUNT, exclusive=True)

    def _load_block(self, block: int) -> None:
        source = self._source
        if source is None or block in self._pending or block in self._failed:
            return
        self._pending.add(block)
        generation = self._generation
        size = self.block_size

        def work() -> list[Row] | None:
            # Skip blocks scrolled past while queued (holding pagedown queues many).
            if generation != self._generation or block not in self._wanted:
                return None
            return list(source.fetch(block * size, size))

        self._run(work, _Job("block", generation, block), self.WORKER_GROUP_FETCH)

    def _request_visible(self) -> None:
        """Fetch the blocks covering the visible rows and the cursor, if not cached."""
        if self._source is None or not self._count or self._refreshing:
            return
        size = self.block_size
        top = max(0, round(self.scroll_y))
        last = min(self._count, top + self._body_height())
        wanted = set(range(top // size, (last - 1) // size + 1)) if last > top else set()
        wanted.add(self._cursor // size)
        self._wanted = frozenset(wanted)
        for block in sorted(wanted):
            if block in self._blocks:
                self._blocks.move_to_end(block)
            elif block not in self._stale:
                self._load_block(block)

    def _store_block(self, block: int, rows: list[Row]) -> None:
        self._stale.pop(block, None)
        self._blocks[block] = rows
        self._blocks.move_to_end(block)
        for oldest in list(self._blocks):
            if len(self._blocks) <= self.max_blocks:
                break
            if oldest not in self._wanted:
                del self._blocks[oldest]

    def _apply_count(self, count: int) -> None:
        self._count = max(0, int(count))
        self._cursor = max(0, min(self._cursor, self._count - 1))
        self.post_message(self.CountChanged(self, self._count))
        self._update_virtual_size()
        self._request_visible()
        self.refresh()
        self._announce_cursor()

    def _apply_refresh(self, result: _RefreshResult) -> None:
        self._refreshing = False
        self._stale.clear()
        self._blocks.clear()
        for block in sorted(result.blocks):
            self._store_block(block, result.blocks[block])
        if result.count != self._count:
            self.post_message(self.CountChanged(self, result.count))
        self._count = result.count
        self._cursor = max(0, min(result.cursor_index, result.count - 1))
        self._update_virtual_size()
        self.scroll_to(y=result.scroll_top, animate=False, force=True)
        self._scroll_cursor_into_view()
        self._request_visible()
        self.refresh()
        self._announce_cursor()

    def _on_error(self, job: _Job, error: BaseException | None) -> None:
        message = f"読込エラー: {error}"
        if job.kind == "block":
            self._failed.add(job.block)
        else:
            self._refreshing = False
            if self._count is None:
                self._error = message
        self.notify(message, severity="error")
        self.refresh()

    def _announce_cursor(self) -> None:
        row = self.get_row(self._cursor)
        if row is None:
            return
        announced = (row[0], self._cursor)
        if announced != self._announced:
            self._announced = announced
            self.post_message(self.CursorMoved(self, row[0], self._cursor))

    # ---------------------------------------------------------------- geometry

    def _total_width(self) -> int:
        return sum(c.width for c in self._columns) + max(0, len(self._columns) - 1)

    def _update_virtual_size(self) -> None:
        rows = self._count if self._count is not None else 1
        self.virtual_size = Size(self._total_width(), max(rows, 1) + 1)

    def _body_height(self) -> int:
        """Rows visible below the fixed header line."""
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        top = round(self.scroll_y)
        body = self._body_height()
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, force=True)
        elif self._cursor >= top + body:
            self.scroll_to(y=self._cursor - body + 1, animate=False, force=True)

    def _column_at(self, x: int) -> str | None:
        start = 0
        for column in self._columns:
            if start <= x < start + column.width:
                return column.key
            start += column.width + 1
        return None

    # --------------------------------------------------------------- rendering

    def format_cells(self, cells: Iterable[str]) -> str:
        """One line of text with every cell fitted to its column width."""
        values = list(cells)
        parts = []
        for i, c in enumerate(self._columns):
            at = i if c.cell < 0 else c.cell
            value = values[at] if at < len(values) else ""
            parts.append(fit_cell(value, c.width, c.align, self.TRUNCATION_MARK))
        return " ".join(parts)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = max(self.size.width, 1)
        base = self.rich_style
        if y == 0:
            text = " ".join(
                fit_cell(c.label, c.width, c.align, self.TRUNCATION_MARK) for c in self._columns
            )
            return self._strip(text, base + self._component("vtable--header"), scroll_x, width)
        if self._error is not None or self._count is None or self._count == 0:
            if y != 1 or self._source is None and self._count is None:
                return Strip.blank(width, base)
            if self._error is not None:
                text = self._error
            elif self._count is None:
                text = self.loading_text
            else:
                text = self.empty_text
            return self._strip(" " + text, base + self._component("vtable--message"), 0, width)
        index = scroll_y + y - 1
        if index >= self._count:
            return Strip.blank(width, base)
        row = self.get_row(index)
        style = base
        if index == self._cursor:
            style = base + self._component("vtable--cursor")
        if row is None:
            failed = index // self.block_size in self._failed
            text = " 読込エラー" if failed else " 読込中"
            style = style + self.get_component_rich_style("vtable--placeholder", partial=True)
            return self._strip(text, style, 0, width)
        return self._strip(self.format_cells(row[1]), style, scroll_x, width)

    def _component(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    @staticmethod
    def _strip(text: str, style: Style, scroll_x: int, width: int) -> Strip:
        strip = Strip([Segment(text, style)], cell_len(text))
        return strip.crop_extend(scroll_x, scroll_x + width, style)
