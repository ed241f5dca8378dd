"""The ids of every remappable key binding, so a [keymap] typo is refused (SPEC 5.3).

Kept here, without Textual, so configuration can be checked before the UI loads; a test
asserts this set equals the ids declared by the App, screens and widgets.
"""

from __future__ import annotations

BINDING_IDS: frozenset[str] = frozenset(
    {
        # app-wide
        "app.help",
        "app.home",
        "app.claims",
        "app.as_of",
        "app.report",
        "app.approvals",
        "app.quit",
        # home (worklist)
        "home.open",
        "home.contact",
        "home.reload",
        "home.toggle_all",
        "home.done",
        "home.reactivate",
        # claim list
        "claims.search",
        "claims.focus_table",
        "claims.sort",
        "claims.reload",
        # claim detail
        "detail.back",
        "detail.receipt",
        "detail.cost",
        "detail.event",
        "detail.contact",
        "detail.plan",
        "detail.cancel",
        "detail.edit",
        "detail.decide",
        "detail.reload",
        "detail.tab_obligors",
        "detail.tab_ledger",
        "detail.tab_plans",
        "detail.tab_contacts",
        "detail.tab_events",
        "detail.tab_decisions",
        "detail.tab_history",
        # decisions: the proposal, the approvals inbox, one decision
        "decision.back",
        "decision.propose",
        "decision.page_up",
        "decision.page_down",
        "approvals.open",
        "approvals.toggle_all",
        "approvals.reload",
        "approvals.back",
        "decision_view.back",
        "decision_view.approve",
        "decision_view.reject",
        "decision_view.withdraw",
        "decision_view.print",
        # 年度報告
        "report.previous_year",
        "report.next_year",
        "report.reload",
        "report.back",
        # forms and help
        "form.save",
        "form.cancel",
        "form.next",
        "form.previous",
        "form.select_next",
        "form.select_open",
        "help.close",
        "contact.close",
        # lists
        "list.first",
        "list.last",
        "vtable.cursor_up",
        "vtable.cursor_down",
        "vtable.page_up",
        "vtable.page_down",
        "vtable.cursor_top",
        "vtable.cursor_bottom",
        "vtable.scroll_left",
        "vtable.scroll_right",
        "vtable.select",
    }
)
