"""The entry forms of the claim screens: each is a FormSpec wired to one service call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from textual.events import Key
from textual.widgets import Input, Select

from kyusho.errors import InputError
from kyusho.rules.dates import format_date, format_datetime
from kyusho.rules.ledger import Balance
from kyusho.rules.money import format_yen
from kyusho.rules.text import narrow
from kyusho.services import claims, contacts, entries, events, plans
from kyusho.services.claims import ClaimView
from kyusho.services.session import Session
from kyusho.vocab import (
    ALLOCATION_ORDERS,
    CONTACT_CHANNELS,
    ENTRY_KINDS,
    EVENT_KINDS,
    RECEIPT_METHODS,
    ROLES,
)
from screens.form import CONFIRMED, Field, FormScreen, FormSpec


def _obligor_options(view: ClaimView, *, with_collateral: bool = True) -> list[tuple[str, int]]:
    return [
        (f"{ov.row.obligor_no} {ROLES[ov.row.role]} {ov.row.name}", ov.row.obligor_no)
        for ov in view.obligors
        if with_collateral or ov.row.role != "collateral_provider"
    ]


def _balance_text(b: Balance) -> str:
    costs = f" 費用 {format_yen(b.costs)}" if b.costs else ""
    return (
        f"元金 {format_yen(b.principal)} 損害金 {format_yen(b.damages)}{costs} "
        f"計 {format_yen(b.total)}"
    )


def receipt_form(session: Session, view: ClaimView, obligor_no: int | None = None) -> FormSpec:
    claim_no = view.claim.claim_no
    style = session.config.dates

    def preview(v: dict[str, Any]) -> str:
        # everything on the receipt's own date, which may be in the past: not today's balance
        p = entries.preview_receipt(session, claim_no, v["date"], v["amount"])
        a = p.allocation
        return "\n".join(
            [
                f"{format_date(p.on, style)} 時点  入金できる上限 {format_yen(p.maximum)}",
                f"  入金前: {_balance_text(p.balance_before)}",
                f"  充当:   費用 {format_yen(a.costs)} / 損害金 {format_yen(a.damages)}"
                f" / 元金 {format_yen(a.principal)}",
                f"  入金後: {_balance_text(p.balance_after)}",
            ]
        )

    def save(v: dict[str, Any]) -> Any:
        return entries.post_receipt(
            session, claim_no, v["date"], v["amount"], v["payer"], v["method"]
        )

    return FormSpec(
        title=f"入金の記録 — {claim_no}",
        fields=[
            Field("date", "入金日", "date", default=format_date(session.today(), style)),
            Field("amount", "金額", "amount", placeholder="1,234,567"),
            Field(
                "payer", "入金者", "select", options=_obligor_options(view), default=obligor_no or 1
            ),
            _choice("method", "入金方法", RECEIPT_METHODS, "transfer"),
        ],
        save=save,
        preview=preview,
        save_label="記録",
        note="入金は入金日の損害金まで計算してから、この求償権の充当順序で充当します。",
    )


def cost_form(session: Session, view: ClaimView) -> FormSpec:
    claim_no = view.claim.claim_no

    def save(v: dict[str, Any]) -> Any:
        return entries.post_cost(session, claim_no, v["date"], v["amount"], v["cost_kind"])

    return FormSpec(
        title=f"費用の記録 — {claim_no}",
        fields=[
            Field(
                "date", "日付", "date", default=format_date(session.today(), session.config.dates)
            ),
            Field("amount", "金額", "amount"),
            Field("cost_kind", "費用の種類", "text", default="訴訟費用"),
        ],
        save=save,
    )


def _obligor_field(view: ClaimView, default: int | None, key: str = "obligor") -> Field:
    """The 関係人 drop-down, on the obligor the user came from where there is one."""
    return Field(key, "関係人", "select", options=_obligor_options(view), default=default)


def _choice(key: str, label: str, vocab: Mapping[str, str], default: Any) -> Field:
    """A drop-down of a vocabulary (labels shown, identifiers stored)."""
    return Field(key, label, "select", options=[(v, k) for k, v in vocab.items()], default=default)


def _cancel_form(
    what: str, note: str, cancel: Callable[[str], Any], placeholder: str = ""
) -> FormSpec:
    """取消の確認: the record stays, marked 取消; ``cancel(reason)`` does it."""
    return FormSpec(
        title=f"取消の確認 — {what}",
        note=note,
        fields=[Field("reason", "取消理由", "text", placeholder=placeholder)],
        save=lambda v: cancel(v["reason"]),
        save_label="取り消す",
    )


def cancel_entry_form(session: Session, view: ClaimView, entry_id: int) -> FormSpec:
    e = next(x for x in view.entries if x.id == entry_id)
    label = ENTRY_KINDS.get(e.kind, e.kind)
    return _cancel_form(
        f"{label} {format_date(e.date, session.config.dates)} {format_yen(e.amount)}",
        "取り消した明細は消えずに「取消」と表示され、以後の入金はすべて充当し直されます。",
        lambda reason: entries.cancel_entry(session, entry_id, reason),
        "例: 誤入力（金額違い）",
    )


def cancel_event_form(session: Session, view: ClaimView, event_id: int) -> FormSpec:
    ev = next(x for x in view.events if x.id == event_id)
    return _cancel_form(
        f"{EVENT_KINDS.get(ev.kind, ev.kind)} {format_date(ev.date, session.config.dates)}",
        "取り消した事由は「取消」と表示され、時効は計算し直されます。",
        lambda reason: events.cancel_event(session, event_id, reason),
    )


def plan_form(session: Session, view: ClaimView, obligor_no: int | None = None) -> FormSpec:
    claim_no = view.claim.claim_no

    def save(v: dict[str, Any]) -> Any:
        return plans.add_plan(
            session,
            claim_no,
            v["obligor"],
            v["first_month"],
            v["monthly_amount"],
            v["due_day"],
            v["last_month"],
        )

    return FormSpec(
        title=f"分割弁済約定 — {claim_no}",
        note="同じ関係人の有効な約定は「変更済」として残ります。支払日 31 は月末です。",
        fields=[
            _obligor_field(view, obligor_no or 1, "obligor"),
            Field("first_month", "開始月", "month", placeholder="R8.12、2026-12、2026/12"),
            Field("monthly_amount", "月額", "amount"),
            Field("due_day", "支払日", "int", default="27"),
            Field("last_month", "最終月", "month", required=False, placeholder="空欄: 完済まで"),
        ],
        save=save,
    )


def event_form(session: Session, view: ClaimView, obligor_no: int | None = None) -> FormSpec:
    """Raises InputError (the caller shows it) for an obligor that has no clock, so the form
    never opens with a choice it cannot show."""
    claim_no = view.claim.claim_no
    options = _obligor_options(view, with_collateral=False)
    if obligor_no is not None and obligor_no not in {no for _, no in options}:
        raise InputError(
            "関係人",
            f"関係人 {obligor_no} は物上保証人です（時効の管理がないため時効事由はありません）",
        )

    def save(v: dict[str, Any]) -> Any:
        return events.add_event(
            session,
            claim_no,
            v["obligor"],
            v["kind"],
            v["date"],
            until=v["until"],
            ref=v["ref"],
            confirm_no_effect=bool(v.get(CONFIRMED)),
        )

    return FormSpec(
        title=f"時効事由の記録 — {claim_no}",
        note="主債務者の事由は連帯保証人にも及びます。保証人の事由はその保証人だけです。",
        fields=[
            Field(
                "obligor",
                "関係人",
                "select",
                options=options,
                default=obligor_no or 1,
            ),
            _choice("kind", "事由", EVENT_KINDS, "demand"),
            Field(
                "date", "日付", "date", default=format_date(session.today(), session.config.dates)
            ),
            Field("until", "終了日", "date", required=False, placeholder="協議合意の期間など"),
            Field("ref", "番号", "text", required=False),
        ],
        save=save,
        save_label="記録",
    )


# Outcomes a collector records most, each chosen with one digit on the 結果 field (any other
# text is typed as before).
CONTACT_OUTCOMES = ("本人と話せた", "不在", "入金を約束", "所在調査中", "拒否")


def _quick_options(labels: Sequence[str]) -> str:
    return " ".join(f"{i}{label}" for i, label in enumerate(labels, 1))


def contact_form(session: Session, view: ClaimView, obligor_no: int | None = None) -> FormSpec:
    """A contact for the obligor the user came from (the row or the cursor), or the principal.

    Shown by ``ContactFormScreen``: the cursor starts on 方法 and one digit there and one on
    結果 pick them, so the note is typed after at most three keystrokes (SPEC 4.7).
    """
    claim_no = view.claim.claim_no
    known = {ov.row.obligor_no for ov in view.obligors}
    if obligor_no not in known:
        obligor_no = next(
            (ov.row.obligor_no for ov in view.obligors if ov.row.role == "principal_debtor"),
            next(iter(sorted(known)), None),
        )

    def save(v: dict[str, Any]) -> Any:
        return contacts.add_contact(
            session,
            claim_no,
            v["obligor"],
            v["channel"],
            v["outcome"],
            v["note"] or "",
            promised_amount=v["promised_amount"],
            promised_on=v["promised_on"],
            next_action=v["next_action"],
            next_on=v["next_on"],
        )

    return FormSpec(
        title=f"交渉記録 — {claim_no}",
        note="方法と結果は数字キー1つで選べます（結果は文字でも入力できます）。",
        fields=[
            _obligor_field(view, obligor_no, "obligor"),
            Field(
                "channel",
                "方法",
                "select",
                options=[(f"{i} {v}", k) for i, (k, v) in enumerate(CONTACT_CHANNELS.items(), 1)],
                default="phone",
            ),
            Field("outcome", "結果", "text", placeholder=_quick_options(CONTACT_OUTCOMES)),
            Field("note", "内容", "text", required=False),
            Field("promised_amount", "約束金額", "amount", required=False),
            Field("promised_on", "約束日", "date", required=False),
            Field("next_action", "次回行動", "text", required=False),
            Field("next_on", "次回日", "date", required=False),
        ],
        save=save,
        save_label="記録",
    )


class ContactFormScreen(FormScreen):
    """The contact form: starts on 方法; a digit on 方法 or on an empty 結果 picks and moves on."""

    def on_mount(self) -> None:
        # FormScreen's own on_mount (run after this one) focuses the first field
        self.call_after_refresh(self.query_one("#f-channel").focus)

    def on_key(self, event: Key) -> None:
        focused = self.focused
        if focused is None or focused.id != "f-channel" or not event.character:
            return
        choices = list(CONTACT_CHANNELS)
        digit = narrow(event.character)
        if digit.isdecimal() and 1 <= int(digit) <= len(choices):
            event.stop()
            event.prevent_default()
            self.query_one("#f-channel", Select).value = choices[int(digit) - 1]
            self.query_one("#f-outcome").focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "f-outcome":
            digit = narrow(event.value.strip())
            if digit.isdecimal() and 1 <= int(digit) <= len(CONTACT_OUTCOMES):
                event.input.value = CONTACT_OUTCOMES[int(digit) - 1]
                event.input.cursor_position = len(event.input.value)
                self.query_one("#f-note").focus()
                event.prevent_default()  # the value set here posts its own Changed


def cancel_contact_form(session: Session, view: ClaimView, contact_id: int) -> FormSpec:
    """Confirm cancelling a contact, with a reason (like an entry): it stays, marked 取消."""
    c = next(x for x in view.contacts if x.id == contact_id)
    when = format_datetime(c.at, session.config.dates)
    channel = CONTACT_CHANNELS.get(c.channel, c.channel)
    return _cancel_form(
        f"交渉 {when} {channel} {c.outcome}",
        "取り消した交渉は消えずに「取消」と表示され、その約束と次回行動は一覧から外れます。",
        lambda reason: contacts.cancel_contact(session, contact_id, reason),
        "例: 別の求償権に記録した",
    )


def as_of_form(session: Session) -> FormSpec:
    def save(v: dict[str, Any]) -> Any:
        return v["as_of"] or date.min

    return FormSpec(
        title="表示する時点",
        note="この日の終わり時点の残高・時効で全画面を表示します。空欄で今日に戻ります。",
        fields=[
            Field(
                "as_of",
                "時点",
                "date",
                required=False,
                default=format_date(session.view_as_of, session.config.dates),
            )
        ],
        save=save,
        save_label="表示",
    )


def claim_edit_form(session: Session, view: ClaimView) -> FormSpec:
    """Edit the claim's own fields; a change by someone else since it was opened is refused."""
    c = view.claim
    opened_version = c.version
    current = {
        "allocation_order": c.allocation_order,
        "damages_rate": c.damages_rate,
        "lender": c.lender,
        "programme": c.programme or None,
        "staff": view.staff_login or None,
        "note": c.note or None,
        "insurance_type": c.insurance_type or None,
        "cover_ratio": c.cover_ratio or None,
        "insurance_paid": c.insurance_paid,
        "insurance_paid_on": c.insurance_paid_on,
    }

    def save(v: dict[str, Any]) -> Any:
        from decimal import Decimal

        from kyusho.rules.money import parse_percent, parse_rate

        wanted = dict(v)
        reason = wanted.pop("reason") or ""
        wanted["damages_rate"] = str(parse_rate(wanted["damages_rate"], "損害金率"))
        if wanted.get("cover_ratio"):
            ratio = parse_percent(
                wanted["cover_ratio"], "てん補率", maximum=Decimal(100), example="80"
            )
            # 80.0 typed over a stored 80 is no change (it would ask for a reason)
            same = current["cover_ratio"] is not None and ratio == Decimal(current["cover_ratio"])
            wanted["cover_ratio"] = current["cover_ratio"] if same else str(ratio)
        changes = {k: val for k, val in wanted.items() if val != current[k] and k in current}
        if "programme" in changes:
            changes["programme"] = changes["programme"] or None
        if "note" in changes:
            changes["note"] = changes["note"] or ""
        if not changes:
            return "unchanged"
        return claims.update_claim(session, c.claim_no, opened_version, changes, reason)

    return FormSpec(
        title=f"求償権の編集 — {c.claim_no}（版 {opened_version}）",
        note=(
            "充当順序・損害金率を変えると全入金を充当し直します（理由が必要）。"
            "受領済みの保険金・てん補率・受領日の変更は公庫納付額を改めます（理由が必要）。"
        ),
        fields=[
            _choice("allocation_order", "充当順序", ALLOCATION_ORDERS, c.allocation_order),
            Field("damages_rate", "損害金率", "text", default=c.damages_rate),
            Field("lender", "金融機関", "text", default=c.lender),
            Field("programme", "制度融資", "text", required=False, default=c.programme or ""),
            Field(
                "staff",
                "担当者",
                "select",
                required=False,
                options=[(x, x) for x in view.staff_choices],
                default=view.staff_login or None,
            ),
            Field("note", "メモ", "text", required=False, default=c.note or ""),
            Field(
                "insurance_type",
                "保険種類",
                "text",
                required=False,
                default=c.insurance_type or "",
                placeholder="普通保険",
            ),
            Field(
                "cover_ratio",
                "てん補率（%）",
                "text",
                required=False,
                default=c.cover_ratio or "",
                placeholder="80",
            ),
            Field(
                "insurance_paid",
                "保険金",
                "amount",
                required=False,
                default="" if c.insurance_paid is None else f"{c.insurance_paid:,}",
            ),
            Field(
                "insurance_paid_on",
                "保険金受領日",
                "date",
                required=False,
                default=format_date(c.insurance_paid_on, session.config.dates),
            ),
            # required when the rate or the allocation order changes (the service says so)
            Field("reason", "理由", "text", required=False, optional_hint=""),
        ],
        save=save,
    )
