"""Claims: register, search and browse at 200,000 claims, the detail view, and edits.

Searching never loads the table: queries are prefix range scans on indexed keys, counted and
paged by the caller (the claim list fetches only the rows it shows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from peewee import JOIN, SQL, SelectBase, fn

from kyusho.clock import JST
from kyusho.errors import ConflictError, InputError
from kyusho.rules import ledger
from kyusho.rules.ledger import Balance, LedgerResult
from kyusho.rules.limitation import Clock
from kyusho.rules.text import (
    LINE_MAX,
    NAME_MAX,
    NOTE_MAX,
    claim_no_key,
    clean_text,
    kana_key,
    name_key,
)
from kyusho.services import projections
from kyusho.services.lookup import find_claim
from kyusho.services.plans import plan_status
from kyusho.services.session import Session
from kyusho.vocab import ALLOCATION_ORDERS, CLAIM_STATUSES
from models import audit
from models.db import is_postgres
from models.schema import (
    AuditEvent,
    Claim,
    ClaimMunicipality,
    Contact,
    Decision,
    LedgerEntry,
    LimitationEvent,
    Obligor,
    Plan,
    Staff,
)

SORTS = {
    "claim_no": "求償権番号",
    "subrogation_date": "代位弁済日（新しい順）",
    "debtor_kana": "主債務者カナ",
    "principal": "元金残高（多い順）",
}

HIGH = "\U0010ffff"

# an obligor's role in one character, as the worklist and the claim detail show it
ROLE_SHORT = {"principal_debtor": "主", "joint_guarantor": "保", "collateral_provider": "物"}


@dataclass(frozen=True)
class ClaimQuery:
    text: str = ""
    status: str | None = None
    staff: str | None = None  # login
    municipality: str | None = None
    sort: str = "claim_no"


@dataclass(frozen=True)
class ClaimRow:
    id: int
    claim_no: str
    debtor_name: str
    debtor_kana: str
    status: str
    subrogation_date: date
    principal_outstanding: int
    staff: str
    # the obligor a name or kana search matched (first by obligor number), e.g. 「保 佐藤 花子」;
    # empty when the search matched the claim number only, or there is no search text
    matched: str = ""
    matched_others: int = 0  # further obligors of this claim that also matched

    @property
    def matched_label(self) -> str:
        """「保 佐藤 花子」, or 「保 佐藤 花子 他1名」 when more obligors matched."""
        if not self.matched:
            return ""
        return f"{self.matched} 他{self.matched_others}名" if self.matched_others else self.matched


def _prefix(column: Any, value: str) -> Any:
    return (column >= value) & (column < value + HIGH)


def _name_match(text: str) -> Any | None:
    """The obligor condition of a name or kana search (both indexed prefix ranges), if any."""
    nk, kk = name_key(text), kana_key(text)
    cond = None
    if nk:
        cond = _prefix(Obligor.name_key, nk)
    if kk:
        k = _prefix(Obligor.kana_key, kk)
        cond = k if cond is None else (cond | k)
    return cond


def _matched_obligors(text: str, claim_ids: list[int]) -> dict[int, tuple[str, int]]:
    """claim id → (「保 佐藤 花子」, how many more matched), for one page of rows only.

    One query on the (claim, obligor_no) index per page, so the search stays index-driven
    however many claims matched.
    """
    cond = _name_match(text.strip())
    if cond is None or not claim_ids:
        return {}
    q = (
        Obligor.select(Obligor.claim, Obligor.role, Obligor.name)
        .where(Obligor.claim.in_(claim_ids) & cond)
        .order_by(Obligor.claim, Obligor.obligor_no)
        .tuples()
    )
    found: dict[int, tuple[str, int]] = {}
    for claim_id, role, name in cast(Iterable[tuple[int, str, str]], q):
        if claim_id in found:
            label, more = found[claim_id]
            found[claim_id] = (label, more + 1)
        else:
            found[claim_id] = (f"{ROLE_SHORT.get(role, role)} {name}", 0)
    return found


def _text_hits(text: str) -> SelectBase | None:
    """The ids of the claims a search text finds (claim number, or an obligor's name or kana
    prefix), each once; None without text.

    One index range per alternative, combined with UNION: an OR across the claim and
    obligor tables makes SQLite evaluate and sort every hit before the LIMIT."""
    text = text.strip()
    if not text:
        return None
    Inner = Claim.alias("c_no")
    hits: SelectBase = Inner.select(Inner.id).where(_prefix(Inner.claim_no, claim_no_key(text)))
    nk, kk = name_key(text), kana_key(text)
    if nk:
        hits = hits | Obligor.select(Obligor.claim).where(_prefix(Obligor.name_key, nk))
    if kk:
        hits = hits | Obligor.select(Obligor.claim).where(_prefix(Obligor.kana_key, kk))
    return hits


def _where(query: ClaimQuery, *, walk_order: bool = False) -> list[Any]:
    """The query's conditions. ``walk_order``: a search's hits are tested while the claims
    are walked in the sort's own index, instead of each hit being looked up and all of them
    sorted (SQLite; see search_claims)."""
    conds: list[Any] = []
    hits = _text_hits(query.text)
    if hits is not None and walk_order and is_postgres():
        # an IN under an OR is not made into a join: PostgreSQL filters the rows of the
        # sort's index scan through the hits hashed once (the OR FALSE is folded away later)
        conds.append(Claim.id.in_(hits) | SQL("FALSE"))
    elif hits is not None:
        # ``id + 0`` is no longer the rowid SQLite would drive the query by
        conds.append((Claim.id + 0 if walk_order else Claim.id).in_(hits))
    if query.status:
        if query.status not in CLAIM_STATUSES:
            raise InputError("状態", f"{' / '.join(CLAIM_STATUSES)} のいずれかを指定してください")
        conds.append(Claim.status == query.status)
    if query.staff:
        conds.append(Claim.staff == Staff.select(Staff.id).where(Staff.login == query.staff))
    if query.municipality:
        conds.append(
            Claim.id.in_(
                ClaimMunicipality.select(ClaimMunicipality.claim).where(
                    ClaimMunicipality.name == query.municipality
                )
            )
        )
    return conds


# each sort: (column, descending) pairs; the last pair makes the order total (unique)
ORDERS: dict[str, list[tuple[Any, bool]]] = {
    "claim_no": [(Claim.claim_no, False)],
    "subrogation_date": [(Claim.subrogation_date, True), (Claim.id, True)],
    "debtor_kana": [(Claim.debtor_kana, False), (Claim.id, False)],
    "principal": [(Claim.principal_outstanding, True), (Claim.id, True)],
}


def _order(sort: str, *, reverse: bool = False) -> list[Any]:
    if sort not in SORTS:
        raise InputError("並び順", f"{' / '.join(SORTS)} のいずれかを指定してください")
    return [col.desc() if desc != reverse else col.asc() for col, desc in ORDERS[sort]]


def _filtered(query: ClaimQuery, *fields: Any, walk_order: bool = False):
    q = Claim.select(*fields)
    conds = _where(query, walk_order=walk_order)
    if conds:
        cond = conds[0]
        for c in conds[1:]:
            cond = cond & c
        q = q.where(cond)
    return q


def count_claims(query: ClaimQuery) -> int:
    hits = _text_hits(query.text)
    if hits is not None and not (query.status or query.staff or query.municipality):
        # a search alone: its hits are distinct claim ids (every obligor's claim exists), so
        # they are counted as they are, without looking each claim up (「佐藤」 at scale L:
        # 10,000 hits, 11 ms -> 3 ms)
        return hits.count() or 0
    return _filtered(query, fn.COUNT(Claim.id)).scalar() or 0


def _walk_order(query: ClaimQuery, rows: int, total: int | None) -> bool:
    """Whether a search's first ``rows`` rows are found faster by walking the claims in sort
    order and testing each against the hits.

    The usual plan looks every hit up and sorts them all: 10,000 hits for 「佐藤」 at scale L,
    12 ms with the pages cached and 35 ms on a connection that has not read them yet (each
    worker thread has its own). Walking the sort's index reads about rows × claims / hits
    entries until enough hits have passed: 5 ms. With few hits it would read the whole
    index, so it is chosen only when hits are dense: rows × claims < hits². PostgreSQL
    joined all hits to the claims (52 ms at scale L; walking: 6 ms)."""
    if total is None or not query.text.strip():
        return False
    claims = Claim.select(fn.MAX(Claim.id)).scalar() or 0  # ids are dense enough to estimate
    return rows * claims < total * total


def search_claims(
    query: ClaimQuery, offset: int = 0, limit: int = 100, *, total: int | None = None
) -> list[ClaimRow]:
    """Rows ``offset .. offset+limit-1`` of the query in its sort order.

    With ``total`` known, a block in the back half is read in the reversed order from the
    end, so jumping to the last row costs a short OFFSET instead of skipping 200,000 rows.
    """
    reverse = total is not None and offset > total // 2
    if reverse:
        assert total is not None
        end = min(total, offset + limit)
        offset, limit = total - end, end - offset
        if limit <= 0:
            return []
    q = (
        _filtered(
            query,
            Claim.id,
            Claim.claim_no,
            Claim.debtor_name,
            Claim.debtor_kana,
            Claim.status,
            Claim.subrogation_date,
            Claim.principal_outstanding,
            Staff.login,
            walk_order=_walk_order(query, offset + limit, total),
        )
        .join(Staff, on=(Claim.staff == Staff.id), join_type=JOIN.LEFT_OUTER)
        .order_by(*_order(query.sort, reverse=reverse))
        .offset(offset)
        .limit(limit)
        .tuples()
    )
    found = cast(Iterable[tuple[int, str, str, str, str, date, int, str | None]], q)
    rows = [ClaimRow(*row[:7], staff=row[7] or "") for row in found]
    matched = _matched_obligors(query.text, [r.id for r in rows])
    if matched:
        rows = [
            replace(r, matched=matched[r.id][0], matched_others=matched[r.id][1])
            if r.id in matched
            else r
            for r in rows
        ]
    return rows[::-1] if reverse else rows


# --------------------------------------------------------------------------- detail


@dataclass
class ObligorView:
    row: Obligor
    clock: Clock | None


@dataclass
class ClaimView:
    """One claim as it stood at the end of ``as_of``.

    Every list is cut at that date; plans and decisions decided later are shown as they stood
    then (in memory only: these rows are a picture of the past and are never saved).
    """

    claim: Claim
    as_of: date
    staff_login: str
    municipalities: list[str]
    obligors: list[ObligorView]
    ledger: LedgerResult
    entries: list[LedgerEntry]
    plans: list[Plan]
    events: list[LimitationEvent]
    contacts: list[Contact]
    decisions: list[Decision]
    staff_choices: list[str] = field(default_factory=list)  # active logins, for the edit form
    # every staff member's name by login (former staff too: history and contacts name them),
    # read with the claim so the screen shows names at once, not after a second read
    staff_names: dict[str, str] = field(default_factory=dict)
    history: list[AuditEvent] = field(default_factory=list)
    plan_arrears: dict[int, tuple[int, bool]] = field(
        default_factory=dict
    )  # plan id -> (arrears, late)

    @property
    def balance(self) -> Balance:
        return self.ledger.balance

    def obligor_no_of(self, obligor_id: int | None) -> int | None:
        for ov in self.obligors:
            if ov.row.id == obligor_id:
                return ov.row.obligor_no
        return None


def day_of(ts: datetime | date | str | None) -> date | None:
    """The working day (JST) of a stored timestamp, aware or naive local."""
    if ts is None:
        return None
    if isinstance(ts, str):  # a timestamp the driver did not parse: its date is its prefix
        return date.fromisoformat(ts[:10])
    if isinstance(ts, datetime):
        return (ts.astimezone(JST) if ts.tzinfo else ts).date()
    return ts


def cutoff(as_of: date) -> datetime:
    """The first moment after the end of ``as_of`` (JST): rows stamped from then on are later."""
    return datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=JST)


def _contacts_as_of(contacts: list[Contact], as_of: date) -> list[Contact]:
    """Contacts made by the end of ``as_of``, as they stood then: a cancellation or a next
    action marked done later is not shown (changed in memory only, never saved)."""
    shown = [c for c in contacts if (day_of(c.at) or date.min) <= as_of]
    for c in shown:
        if c.cancelled and (day_of(c.cancelled_at) or date.max) > as_of:
            c.cancelled, c.cancelled_at, c.cancelled_by, c.cancel_reason = False, None, None, None
    return shown


def _plans_as_of(plans: list[Plan], as_of: date) -> list[Plan]:
    """Plans entered by the end of ``as_of``; one superseded by a later plan was still active."""
    shown = [p for p in plans if (day_of(p.created_at) or date.min) <= as_of]
    ids = {p.id for p in shown}
    for p in shown:
        if p.status == "superseded" and p.superseded_by not in ids:
            p.status, p.superseded_by = "active", None
    return shown


def _decisions_as_of(decisions: list[Decision], as_of: date) -> list[Decision]:
    """Decisions proposed by the end of ``as_of``; one decided later is shown still pending."""
    shown = []
    for d in decisions:
        if (day_of(d.proposed_at or d.created_at) or date.min) > as_of:
            continue
        decided = day_of(d.decided_at)
        if d.status != "proposed" and decided is not None and decided > as_of:
            d.status, d.approver, d.decided_at = "proposed", None, None
            d.override_reason, d.effect = None, "{}"
        shown.append(d)
    return shown


def claim_view(
    session: Session, claim_no: str, as_of: date | None = None, *, history: bool = True
) -> ClaimView:
    """Everything about one claim as it stood at the end of ``as_of`` (default: the date the
    session is viewing, else today): entries, events, contacts, plans, decisions and history
    recorded after that date are left out."""
    as_of = as_of or session.view_date()
    claim = find_claim(claim_no)
    obligors = list(Obligor.select().where(Obligor.claim == claim.id).order_by(Obligor.obligor_no))
    entries = projections.entries_of(claim.id)
    visible_entries = [e for e in entries if e.date <= as_of]
    events = list(
        LimitationEvent.select()
        .where(LimitationEvent.claim == claim.id)
        .order_by(LimitationEvent.date, LimitationEvent.id)
    )
    result = ledger.compute(
        projections.terms_of(claim),
        [projections.as_engine_entry(e) for e in visible_entries],
        max(as_of, claim.subrogation_date),
    )
    clocks = projections.clocks_for(
        claim,
        obligors,
        as_of,
        entries=[e for e in visible_entries if e.kind == "receipt"],
        events=[e for e in events if e.date <= as_of],
    )
    staff_login = claim.staff.login if claim.staff is not None else ""
    munis = [
        m.name
        for m in ClaimMunicipality.select()
        .where(ClaimMunicipality.claim == claim.id)
        .order_by(ClaimMunicipality.id)
    ]
    contacts = Contact.select().where(Contact.claim == claim.id).order_by(Contact.at.desc())
    staff = cast(
        Iterable[tuple[str, str, bool]],
        Staff.select(Staff.login, Staff.name, Staff.active).order_by(Staff.login).tuples(),
    )
    staff_choices, staff_names = [], {}
    for login, name, active in staff:
        staff_names[login] = name
        if active:
            staff_choices.append(login)
    view = ClaimView(
        claim=claim,
        as_of=as_of,
        staff_login=staff_login,
        municipalities=munis,
        obligors=[ObligorView(o, clocks.get(o.obligor_no)) for o in obligors],
        ledger=result,
        entries=visible_entries,
        plans=_plans_as_of(
            list(Plan.select().where(Plan.claim == claim.id).order_by(Plan.id)), as_of
        ),
        events=[e for e in events if e.date <= as_of],
        contacts=_contacts_as_of(list(contacts), as_of),
        decisions=_decisions_as_of(
            list(Decision.select().where(Decision.claim == claim.id).order_by(Decision.id)), as_of
        ),
        staff_choices=staff_choices,
        staff_names=staff_names,
    )
    for p in view.plans:
        if p.status == "active":
            view.plan_arrears[p.id] = plan_status(session, p, as_of)
    if history:
        ids = [str(claim.id)]
        view.history = list(
            AuditEvent.select()
            .where(
                (AuditEvent.entity == "claim")
                & (AuditEvent.entity_id.in_(ids))
                # `at` is ISO text in JST: everything stamped on a later day sorts after this
                & (AuditEvent.at < (as_of + timedelta(days=1)).isoformat())
            )
            .order_by(AuditEvent.seq.desc())
            .limit(200)
        )
    return view


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def insurance_json(c: Claim) -> dict[str, Any] | None:
    """The claim's credit insurance (保険種類, てん補率, 保険金, 保険金受領日), or None."""
    if not c.insurance_type and c.cover_ratio is None and c.insurance_paid is None:
        return None
    return {
        "type": c.insurance_type or None,
        "cover_ratio": str(Decimal(c.cover_ratio)) if c.cover_ratio else None,
        "paid": c.insurance_paid,
        "paid_on": _iso(c.insurance_paid_on),
    }


def claim_json(view: ClaimView) -> dict[str, Any]:
    """The JSON of `kyusho claim show --json` (SPEC 5.2)."""
    c = view.claim
    bal = view.balance
    obligors = []
    for ov in view.obligors:
        o, clock = ov.row, ov.clock
        obligors.append(
            {
                "id": o.obligor_no,
                "role": o.role,
                "name": o.name,
                "kana": o.kana,
                "kind": o.kind,
                "state": o.state,
                "liable": bool(o.liable),
                "limitation": None
                if clock is None
                else {
                    "own_completes_on": _iso(clock.own_completes_on),
                    "completes_on": _iso(clock.completes_on),
                    "state": clock.state,
                    "basis": clock.basis,
                    "basis_date": _iso(clock.basis_date),
                    "period_years": clock.period_years,
                    "via_principal": clock.via_principal,
                },
            }
        )
    receipts = []
    costs = []
    for e in view.entries:
        if e.kind == "receipt":
            alloc = view.ledger.allocations.get(e.id)
            receipts.append(
                {
                    "date": e.date.isoformat(),
                    "amount": e.amount,
                    "payer": view.obligor_no_of(e.payer_id),
                    "method": e.method,
                    "cancelled": bool(e.cancelled),
                    "post_write_off": bool(e.post_write_off),
                    "allocated": None
                    if alloc is None
                    else {
                        "costs": alloc.costs,
                        "damages": alloc.damages,
                        "principal": alloc.principal,
                    },
                }
            )
        else:
            costs.append(
                {
                    "date": e.date.isoformat(),
                    "kind": e.kind,
                    "amount": e.amount,
                    "cancelled": bool(e.cancelled),
                }
            )
    return {
        "claim_no": c.claim_no,
        "status": c.status,
        "subrogation_date": c.subrogation_date.isoformat(),
        "subrogated": {
            "loan_principal": c.loan_principal,
            "loan_interest": c.loan_interest,
            "principal": c.loan_principal + c.loan_interest,
        },
        "damages_rate": str(Decimal(c.damages_rate)),
        "allocation_order": c.allocation_order,
        "contract_date": c.contract_date.isoformat(),
        "lender": c.lender,
        "programme": c.programme,
        "municipalities": view.municipalities,
        "insurance": insurance_json(c),
        "staff": view.staff_login or None,
        "as_of": view.as_of.isoformat(),
        "balance": {
            "principal": bal.principal,
            "damages": bal.damages,
            "costs": bal.costs,
            "total": bal.total,
        },
        "obligors": obligors,
        "receipts": receipts,
        "other_entries": costs,
        "plans": [
            {
                "obligor": view.obligor_no_of(p.obligor_id),
                "first_month": _iso(p.first_month),
                "last_month": _iso(p.last_month),
                "monthly_amount": p.monthly_amount,
                "due_day": p.due_day,
                "status": p.status,
                "arrears": view.plan_arrears[p.id][0] if p.id in view.plan_arrears else None,
            }
            for p in view.plans
        ],
        "contacts": [
            {
                "at": c.at.isoformat(timespec="minutes") if isinstance(c.at, datetime) else c.at,
                "obligor": view.obligor_no_of(c.obligor_id),
                "staff": c.staff,
                "channel": c.channel,
                "outcome": c.outcome,
                "promised_amount": c.promised_amount,
                "promised_on": _iso(c.promised_on),
                "next_action": c.next_action,
                "next_on": _iso(c.next_on),
                "cancelled": bool(c.cancelled),
                "cancel_reason": c.cancel_reason,
            }
            for c in view.contacts
        ],
        "decisions": [
            {
                "decision_id": d.id,
                "kind": d.kind,
                "status": d.status,
                "obligor": view.obligor_no_of(d.obligor_id),
                "proposer": d.proposer,
                "approver": d.approver,
            }
            for d in view.decisions
        ],
    }


# --------------------------------------------------------------------------- edits

EDITABLE = {
    "allocation_order": "充当順序",
    "damages_rate": "損害金率",
    "lender": "金融機関",
    "programme": "制度融資",
    "servicer": "サービサー委託",
    "note": "メモ",
    "staff": "担当者",
    "insurance_type": "保険種類",
    "cover_ratio": "てん補率",
    "insurance_paid": "保険金",
    "insurance_paid_on": "保険金受領日",
}
INSURANCE_FIELDS = ("insurance_type", "cover_ratio", "insurance_paid", "insurance_paid_on")
# changing these once the 保険金 is recorded re-states remittances already reported
INSURANCE_MONEY = ("cover_ratio", "insurance_paid", "insurance_paid_on")


def claim_snapshot(c: Claim) -> dict[str, Any]:
    return {
        "claim_no": c.claim_no,
        "status": c.status,
        "allocation_order": c.allocation_order,
        "damages_rate": c.damages_rate,
        "lender": c.lender,
        "programme": c.programme,
        "servicer": c.servicer,
        "note": c.note,
        "staff": c.staff.login if c.staff is not None else None,
        "insurance_type": c.insurance_type,
        "cover_ratio": c.cover_ratio,
        "insurance_paid": c.insurance_paid,
        "insurance_paid_on": _iso(c.insurance_paid_on),
        "version": c.version,
    }


def _insurance_value(key: str, value: Any, today: date) -> Any:
    """One insurance field as stored (None clears it), or InputError naming the field."""
    from kyusho.rules.dates import parse_date
    from kyusho.rules.money import parse_amount, parse_percent

    label = EDITABLE[key]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if key == "insurance_type":
        if not isinstance(value, str):
            raise InputError(label, "保険種類を文字で入力してください（例: 普通保険）")
        return clean_text(value, label, max_len=NAME_MAX) or None
    if key == "cover_ratio":
        text = str(value) if isinstance(value, str | int | Decimal) else ""
        if isinstance(value, bool) or not text:
            raise InputError(label, "てん補率を%の数値で入力してください（例: 80）")
        return str(parse_percent(text, label, maximum=Decimal(100), example="80"))
    if key == "insurance_paid":
        if isinstance(value, str):
            return parse_amount(value, label)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(label, "保険金を1円以上の金額で入力してください")
        return value
    on = parse_date(value, label) if isinstance(value, str) else value
    if not isinstance(on, date) or isinstance(on, datetime):
        raise InputError(label, "保険金受領日を日付で入力してください（例: 2024-07-10）")
    if on > today:
        raise InputError(label, "保険金受領日は今日以前の日付にしてください")
    return on


def _check_insurance(claim: Claim, values: dict[str, Any]) -> None:
    """The same consistency the claims import asks of the four insurance fields."""
    kind, ratio, paid, paid_on = (values[k] for k in INSURANCE_FIELDS)
    if kind is not None and ratio is None:
        raise InputError("てん補率", "保険種類を入力した場合はてん補率も入力してください")
    if kind is None and (ratio is not None or paid is not None or paid_on is not None):
        raise InputError("保険種類", "てん補率・保険金を入力した場合は保険種類も入力してください")
    if paid is not None and paid_on is None:
        raise InputError("保険金受領日", "保険金を入力した場合は保険金受領日も入力してください")
    if paid is None and paid_on is not None:
        raise InputError("保険金", "保険金受領日を入力した場合は保険金も入力してください")
    if paid_on is not None and paid_on < claim.subrogation_date:
        raise InputError("保険金受領日", "保険金受領日は代位弁済日以降の日付にしてください")


def update_claim(
    session: Session,
    claim_no: str,
    expected_version: int,
    changes: dict[str, Any],
    reason: str = "",
) -> Claim:
    """Edit a claim's own fields with optimistic concurrency.

    ``expected_version`` is the version the user opened; if someone changed the claim since,
    ConflictError says who and when and nothing is written. Changing the allocation order
    re-allocates every receipt (SPEC 4.4).
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InputError(", ".join(sorted(unknown)), "この項目は編集できません")
    if "allocation_order" in changes and changes["allocation_order"] not in ALLOCATION_ORDERS:
        raise InputError(
            "充当順序", "法定（statutory）または元金（principal_first）を指定してください"
        )
    reason = clean_text(reason, "理由", max_len=LINE_MAX)
    changes = dict(changes)
    for key, max_len in (("lender", NAME_MAX), ("programme", NAME_MAX)):
        if isinstance(changes.get(key), str):
            changes[key] = clean_text(changes[key], EDITABLE[key], max_len=max_len)
    if isinstance(changes.get("note"), str):
        changes["note"] = clean_text(changes["note"], "メモ", max_len=NOTE_MAX, multiline=True)
    if ("allocation_order" in changes or "damages_rate" in changes) and not reason:
        raise InputError("理由", "充当順序・損害金率の変更には理由が必要です")
    for key in INSURANCE_FIELDS:
        if key in changes:
            changes[key] = _insurance_value(key, changes[key], session.today())
    with session.writing():
        claim = find_claim(claim_no)
        if claim.version != expected_version:
            raise ConflictError(
                f"求償権 {claim.claim_no} は {claim.updated_by} が {claim.updated_at:%Y-%m-%d %H:%M} に変更しています。"
                "読み込み直してから編集してください。",
                changed_by=claim.updated_by,
                changed_at=str(claim.updated_at),
            )
        if any(k in changes for k in INSURANCE_FIELDS):
            _check_insurance(
                claim, {k: changes.get(k, getattr(claim, k)) for k in INSURANCE_FIELDS}
            )
            restated = any(
                k in changes and getattr(claim, k) is not None and changes[k] != getattr(claim, k)
                for k in INSURANCE_MONEY
            )
            if restated and claim.insurance_paid is not None and not reason:
                raise InputError(
                    "理由", "受領済みの保険金・てん補率・保険金受領日の変更には理由が必要です"
                )
        before = claim_snapshot(claim)
        for key, value in changes.items():
            if key == "staff":
                staff = Staff.get_or_none((Staff.login == value) & (Staff.active == True))  # noqa: E712
                if staff is None:
                    raise InputError("担当者", f"{value} は登録された担当者ではありません")
                claim.staff = staff
            elif key == "damages_rate":
                from kyusho.rules.money import parse_rate

                claim.damages_rate = str(parse_rate(str(value)))
            else:
                setattr(claim, key, value)
        claim.version += 1
        claim.updated_at = session.now()
        claim.updated_by = session.login
        claim.save()
        if "allocation_order" in changes or "damages_rate" in changes:
            field = "充当順序" if "allocation_order" in changes else "損害金率"
            projections.recompute_ledger_for(
                claim, new_seq=None, field=field, what="この変更をする"
            )
        audit.record(
            session.login,
            "claim.update",
            "claim",
            claim.id,
            before=before,
            after=claim_snapshot(claim),
            reason=reason or None,
            at=session.now(),
        )
        return claim


def filter_choices() -> tuple[list[str], list[str]]:
    """Logins of active staff and the municipalities in use, for the list's filters."""
    staff = [
        s.login for s in Staff.select(Staff.login).where(Staff.active == True).order_by(Staff.login)
    ]
    munis = [
        m.name
        for m in ClaimMunicipality.select(ClaimMunicipality.name)
        .distinct()
        .order_by(ClaimMunicipality.name)
    ]
    return staff, munis
