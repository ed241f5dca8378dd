"""What screens need from the App, typed, and the one way a thread worker reports back.

Screens read the session and the as-of date through ``context(self)`` instead of
``self.app.session  # type: ignore``. Database work runs in ``@work(thread=True)`` methods that
hand their result to the UI thread with ``deliver`` (never by filtering worker events by name).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol, cast

from textual.dom import DOMNode
from textual.worker import get_current_worker

from kyusho.errors import KyushoError
from kyusho.services.session import Session


class AppContext(Protocol):
    """The parts of KyushoApp that screens use."""

    session: Session
    as_of: date  # a reactive on the App: screens and the status line watch it

    def date_style(self) -> str: ...

    def open_claim(self, claim_no: str, obligor_no: int | None = None) -> None: ...


def context(node: DOMNode) -> AppContext:
    return cast(AppContext, node.app)


def deliver(node: DOMNode, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """From a thread worker: run ``callback(*args, **kwargs)`` on the UI thread, unless superseded.

    An exclusive worker that was cancelled by a newer one still runs to its end (a thread
    cannot be stopped); its result is dropped here so an old read never overwrites a new one.
    """
    if get_current_worker().is_cancelled:
        return
    node.app.call_from_thread(callback, *args, **kwargs)


def watch_as_of(node: DOMNode, callback: Callable[[date], Any]) -> None:
    """Call ``callback(new_date)`` whenever the App's as-of date changes (F4)."""
    node.watch(node.app, "as_of", callback, init=False)


def step_fiscal_year(node: DOMNode, fy: int, step: int) -> int | None:
    """The 年度 ``step`` away from ``fy``, or None (said to the user) past the ones there are."""
    from kyusho.rules.dates import fiscal_year

    nxt = fy + step
    if not 1950 <= nxt <= fiscal_year(context(node).as_of) + 1:
        node.notify("これより先の年度はありません")
        return None
    return nxt


class FiscalYearSteps:
    """←/→ between 年度 on a screen with ``fy`` and ``reload()`` (the report, the 公庫 ledger)."""

    fy: int | None

    def reload(self) -> None: ...

    def action_year(self, step: int) -> None:
        assert self.fy is not None
        nxt = step_fiscal_year(cast(DOMNode, self), self.fy, step)
        if nxt is not None:
            self.fy = nxt
            self.reload()


def failure(what: str, error: BaseException) -> str:
    """The message for a failed read: the error's own text for a user error, else what failed."""
    if isinstance(error, KyushoError):
        return str(error)
    return f"{what}: {error}"
