"""Instalment plans (分割弁済約定) and arrears (SPEC 4.5).

When a month counts as due: a month's instalment may be paid on its due date without being
late, so the month is *due* from the day after its due date — ``due_date < as_of``. On the
due date itself that month is not yet expected. Receipts count from the 1st of the plan's
first month up to and including ``as_of``.

The due date of a month is its ``due_day``, clamped to the month's last day: due day 31 is
always the month end (Feb 28/29, Apr 30, ...), and 29 or 30 fall on the end of February.

A plan is *in arrears* when, counting only the months whose due date lies more than
``grace_days`` before ``as_of`` (``due_date + grace_days < as_of``), the amount expected
exceeds what was received. Equivalently: receipts pay the oldest instalment first, and the
plan is in arrears when the oldest unpaid instalment is more than ``grace_days`` overdue (a
missed month followed by a payment on time is not in arrears until that payment's own month
is past its grace, since that payment covered the older month). With a grace of 10 days and due date 5/10, an unpaid May
instalment makes the plan in arrears from 5/21 on.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from kyusho.errors import InputError


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _due_date(index: int, due_day: int) -> date:
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(due_day, calendar.monthrange(year, month)[1]))


def validate_plan(
    first_month: date, last_month: date | None, monthly_amount: int, due_day: int
) -> None:
    """Check a plan's terms as the user gave them; raise InputError naming the bad field."""
    if not isinstance(first_month, date):
        raise InputError("開始月", "開始月を入力してください")
    if last_month is not None and not isinstance(last_month, date):
        raise InputError("最終月", "最終月を入力してください（完済までの場合は空欄）")
    if (
        isinstance(monthly_amount, bool)
        or not isinstance(monthly_amount, int)
        or monthly_amount <= 0
    ):
        raise InputError("月額", "1円以上の金額を入力してください")
    if isinstance(due_day, bool) or not isinstance(due_day, int) or not 1 <= due_day <= 31:
        raise InputError("支払日", "1から31までの日を入力してください（31は月末）")
    if last_month is not None and _month_index(last_month) < _month_index(first_month):
        raise InputError("最終月", "開始月以降の月を入力してください")


@dataclass(frozen=True)
class Plan:
    """An obligor's instalment plan. Months are held as their 1st day; any day given is
    taken as naming its month. ``last_month`` None means until the claim is paid."""

    first_month: date
    last_month: date | None
    monthly_amount: int
    due_day: int  # 1..31; 31 (or any day past the month's end) = month end

    def __post_init__(self) -> None:
        validate_plan(self.first_month, self.last_month, self.monthly_amount, self.due_day)
        object.__setattr__(self, "first_month", self.first_month.replace(day=1))
        if self.last_month is not None:
            object.__setattr__(self, "last_month", self.last_month.replace(day=1))


def due_dates(plan: Plan, until: date) -> list[date]:
    """The plan's due dates on or before ``until``, in order."""
    index = _month_index(plan.first_month)
    last = _month_index(until) if plan.last_month is None else _month_index(plan.last_month)
    result: list[date] = []
    while index <= last:
        due = _due_date(index, plan.due_day)
        if due > until:
            break
        result.append(due)
        index += 1
    return result


def months_due(plan: Plan, until: date) -> int:
    """How many due dates fall on or before ``until``: ``len(due_dates(plan, until))``
    in constant time (the worklist checks every active plan of the 協会)."""
    first = _month_index(plan.first_month)
    month = _month_index(until)
    if plan.last_month is not None:
        last = _month_index(plan.last_month)
        if month > last:
            return last - first + 1
    if month < first:
        return 0
    # every earlier month's due date has passed; this month's only once its day is reached
    return month - first + (1 if _due_date(month, plan.due_day) <= until else 0)


def _expected_before(plan: Plan, cutoff: date) -> int:
    """Expected amount for the months whose due date is strictly before ``cutoff``."""
    return months_due(plan, cutoff - timedelta(days=1)) * plan.monthly_amount


def expected_to_date(plan: Plan, as_of: date) -> int:
    """Amount due by ``as_of``: months whose due date has passed (due date < as_of) × monthly."""
    return _expected_before(plan, as_of)


def _received(plan: Plan, receipts: Iterable[tuple[date, int]], as_of: date) -> int:
    return sum(amount for day, amount in receipts if plan.first_month <= day <= as_of)


def arrears(plan: Plan, receipts: Iterable[tuple[date, int]], as_of: date) -> int:
    """Expected to date − the obligor's receipts since the plan started; 0 when ahead."""
    return max(0, expected_to_date(plan, as_of) - _received(plan, receipts, as_of))


def in_arrears(
    plan: Plan, receipts: Iterable[tuple[date, int]], as_of: date, grace_days: int
) -> bool:
    """True when payment is short for a month whose due date is more than ``grace_days`` past.

    Every receipt up to ``as_of`` counts, including one paid late within the grace period.
    """
    if isinstance(grace_days, bool) or not isinstance(grace_days, int) or grace_days < 0:
        raise InputError("policy.plan_grace_days", "0以上の日数を指定してください")
    expected = _expected_before(plan, as_of - timedelta(days=grace_days))
    return expected > _received(plan, receipts, as_of)
