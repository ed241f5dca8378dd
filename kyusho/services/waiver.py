"""求償権放棄 (SPEC 4.12): loss-compensation facts, the ordinance answer per municipality, the
municipal walk-through, the application, each municipality's steps, and the printable record.

A waiver case is opened on a claim for one scheme; each municipality on the claim then walks
its checklist with the 協会 and moves through 事前協議 → 申請 → 承認/不承認 → 実施/中止 → 報告済.
The decision (services.decisions, kind ``waiver``) is approved only once every municipality
that must agree has 承認 (or needs nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from kyusho.errors import InputError, NotFound
from kyusho.rules import reference
from kyusho.rules import waiver as rules
from kyusho.rules.text import LINE_MAX, NAME_MAX, NOTE_MAX, clean_text
from kyusho.services import projections
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from models import audit
from models.schema import (
    ChecklistAnswer,
    Claim,
    ClaimMunicipality,
    Municipality,
    Obligor,
    WaiverCase,
    WaiverStep,
)

STEPS = ("consultation", "application", "approved", "rejected", "executed", "cancelled", "reported")
STEP_LABELS = {
    "consultation": "事前協議",
    "application": "申請",
    "approved": "承認",
    "rejected": "不承認",
    "executed": "実施",
    "cancelled": "中止",
    "reported": "報告済",
}
# the steps that may follow each step (None: no step yet)
NEXT_STEPS: dict[str | None, tuple[str, ...]] = {
    None: ("consultation",),
    "consultation": ("application",),
    "application": ("approved", "rejected"),
    "approved": ("executed", "cancelled"),
    "rejected": ("cancelled",),
    "executed": ("reported",),
    "cancelled": ("reported",),
    "reported": (),
}
FINISHED = frozenset({"reported"})
CASE_KINDS = {"waiver": "求償権放棄", "transfer": "不等価譲渡"}
ANSWER_STATUSES = rules.ANSWER_STATUSES


@dataclass(frozen=True)
class StepRecord:
    step: str
    label: str
    on: date
    recorded_by: str
    recorded_at: datetime | str


@dataclass(frozen=True)
class MunicipalityFacts:
    name: str
    ratio: str | None
    compensated_amount: int | None
    remittances_paid: int
    net: int | None  # 損失補償金額 − 回収納付金
    resolution: rules.Resolution | None = None
    step: str | None = None
    step_label: str = "未着手"
    history: tuple[StepRecord, ...] = ()


@dataclass(frozen=True)
class Item:
    section: str
    key: str
    text: str
    importance: str
    guidance: str
    applicable: bool
    status: str | None
    finding: str
    evidence: str
    answered_by: str | None
    answered_at: datetime | str | None


@dataclass(frozen=True)
class Walkthrough:
    case_id: int
    municipality: str
    template: str
    scheme: str
    items: list[Item] = field(default_factory=list)

    @property
    def progress(self) -> tuple[int, int]:
        """(items with a status, all items); an item not for the scheme counts as 該当なし."""
        return sum(1 for i in self.items if i.status), len(self.items)


# ------------------------------------------------------------------ municipalities


def _governments() -> list[dict[str, Any]]:
    """The reference list, then the municipalities an admin added (their tables)."""
    added = [
        {
            "name": m.name,
            "status": m.status,
            "covers_closure": bool(m.covers_closure),
            **({"note": m.note} if m.note else {}),
        }
        for m in Municipality.select().order_by(Municipality.id)
    ]
    return [*reference.load("ordinances")["government"], *added]


def known_municipalities() -> frozenset[str]:
    """Names a claim's 損失補償団体 may take: the reference list and the admin-added ones."""
    added = {m.name for m in Municipality.select(Municipality.name)}
    return reference.municipality_names() | frozenset(added)


def add_municipality(
    session: Session, name: str, *, status: str, covers_closure: bool = False, note: str = ""
) -> None:
    """An admin adds a municipality beyond the reference list, with its ordinance status."""
    session.require("admin", "損失補償団体の登録")
    name = clean_text(name, "団体名", max_len=NAME_MAX).strip()
    if not name:
        raise InputError("団体名", "団体名を入力してください（例: 久留米市）")
    if status not in rules.STATUSES:
        raise InputError(
            "条例の状況",
            "条例の状況は "
            + " / ".join(f"{k}（{v}）" for k, v in rules.STATUSES.items())
            + " のいずれかを指定してください",
        )
    note = clean_text(note or "", "備考", max_len=NOTE_MAX).strip()
    with session.writing():
        if name in known_municipalities():
            raise InputError("団体名", f"{name} はすでに登録されています")
        m = Municipality.create(
            name=name,
            status=status,
            covers_closure=bool(covers_closure),
            note=note,
            created_by=session.login,
            created_at=session.now(),
        )
        audit.record(
            session.login,
            "municipality.add",
            "municipality",
            m.id,
            after={"name": name, "status": status, "covers_closure": bool(covers_closure)},
            at=session.now(),
        )


# ------------------------------------------------------------------ facts


def _net(cm: ClaimMunicipality) -> int | None:
    if cm.compensated_amount is None:
        return None
    return cm.compensated_amount - (cm.remittances_paid or 0)


def _history(case_id: int, name: str) -> tuple[StepRecord, ...]:
    return tuple(
        StepRecord(s.step, STEP_LABELS[s.step], s.on, s.recorded_by, s.recorded_at)
        for s in WaiverStep.select()
        .where((WaiverStep.case == case_id) & (WaiverStep.municipality == name))
        .order_by(WaiverStep.id)
    )


def _claim_munis(claim: Claim) -> list[ClaimMunicipality]:
    return list(
        ClaimMunicipality.select()
        .where(ClaimMunicipality.claim == claim.id)
        .order_by(ClaimMunicipality.id)
    )


def municipality_facts(session: Session, claim_no: str) -> list[MunicipalityFacts]:
    """Each municipality on the claim: its facts and, with a waiver case, where it stands."""
    claim = find_claim(claim_no)
    case = _latest_case(claim)
    govs = _governments() if case is not None else []
    out = []
    for cm in _claim_munis(claim):
        resolution = history = None
        if case is not None:
            resolution = rules.resolve(
                cm.name, case.scheme, govs, reference.load("waiver_checklist")
            )
            history = _history(case.id, cm.name)
        last = history[-1].step if history else None
        out.append(
            MunicipalityFacts(
                name=cm.name,
                ratio=cm.ratio,
                compensated_amount=cm.compensated_amount,
                remittances_paid=cm.remittances_paid or 0,
                net=_net(cm),
                resolution=resolution,
                step=last,
                step_label=STEP_LABELS[last] if last else "未着手",
                history=history or (),
            )
        )
    return out


def parse_ratio(value: Any, field_name: str = "損失補償割合") -> str:
    """A compensation ratio in percent (0 < r ≤ 100) as a decimal string."""
    text = str(value).strip().rstrip("%％")
    try:
        ratio = Decimal(text)
    except (InvalidOperation, ValueError):
        raise InputError(
            field_name, f"{field_name}を0より大きく100以下の％で入力してください（例: 80）"
        ) from None
    if not ratio.is_finite() or ratio <= 0 or ratio > 100:
        raise InputError(
            field_name, f"{field_name}を0より大きく100以下の％で入力してください（例: 80）"
        )
    return format(ratio.normalize(), "f")


def _yen_value(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(field_name, f"{field_name}を0円以上の円単位の整数で入力してください")
    return value


def _claim_muni(claim: Claim, municipality: str) -> ClaimMunicipality:
    cm = ClaimMunicipality.get_or_none(
        (ClaimMunicipality.claim == claim.id) & (ClaimMunicipality.name == municipality)
    )
    if cm is None:
        raise InputError(
            "損失補償団体",
            f"{municipality} はこの求償権（{claim.claim_no}）の損失補償団体ではありません",
        )
    return cm


def set_facts(
    session: Session,
    claim_no: str,
    municipality: str,
    *,
    ratio: Any = None,
    compensated_amount: int | None = None,
    remittances_paid: int | None = None,
) -> None:
    """Record loss-compensation facts (only what is given changes); audited."""
    values: dict[str, Any] = {}
    if ratio is not None:
        values["ratio"] = parse_ratio(ratio)
    if compensated_amount is not None:
        values["compensated_amount"] = _yen_value(compensated_amount, "損失補償金額")
    if remittances_paid is not None:
        values["remittances_paid"] = _yen_value(remittances_paid, "回収納付金")
    session.require("staff", "損失補償の登録")
    with session.writing():
        claim = find_claim(claim_no)
        cm = _claim_muni(claim, municipality)
        _store_facts(session, claim, cm, values)


def _store_facts(
    session: Session, claim: Claim, cm: ClaimMunicipality, values: dict[str, Any]
) -> bool:
    """Apply ``values`` to ``cm`` inside the caller's transaction; False when nothing changed."""
    before = {k: getattr(cm, k) for k in ("ratio", "compensated_amount", "remittances_paid")}
    after = {**before, **values}
    if after == before:
        return False
    ClaimMunicipality.update(**values).where(ClaimMunicipality.id == cm.id).execute()
    audit.record(
        session.login,
        "municipality.facts",
        "claim",
        claim.id,
        before={"municipality": cm.name, **before},
        after={"municipality": cm.name, **after},
        at=session.now(),
    )
    return True


# ------------------------------------------------------------------ cases


def _latest_case(claim: Claim) -> WaiverCase | None:
    return (
        WaiverCase.select()
        .where(WaiverCase.claim == claim.id)
        .order_by(WaiverCase.id.desc())
        .first()
    )


def case_for(session: Session, claim_no: str) -> WaiverCase | None:
    """The claim's current (latest) waiver case, or None."""
    return _latest_case(find_claim(claim_no))


def get_case(case_id: int) -> WaiverCase:
    case = WaiverCase.get_or_none(WaiverCase.id == case_id)
    if case is None:
        raise NotFound(f"放棄案件 {case_id} は見つかりません")
    return case


def _scheme(key: str) -> tuple[str, str, str]:
    for s in rules.schemes():
        if s[0] == key:
            return s
    raise InputError(
        "スキーム",
        f"スキームは {' / '.join(k for k, _n, _k in rules.schemes())} のいずれかを指定してください",
    )


def _case_open(case: WaiverCase) -> bool:
    return case.status == "open"


def open_case(
    session: Session,
    claim_no: str,
    scheme_key: str,
    *,
    planned_date: date,
    kind: str,
    transfer_price: int | None = None,
) -> WaiverCase:
    """Start a waiver (or discounted transfer) on a claim; one open case per claim."""
    _scheme(scheme_key)
    if kind not in CASE_KINDS:
        raise InputError("種類", "種類は waiver（求償権放棄）か transfer（不等価譲渡）です")
    if not isinstance(planned_date, date):
        raise InputError("放棄予定日", "放棄予定日を日付で入力してください")
    if kind == "transfer":
        if transfer_price is None:
            raise InputError("譲渡対価", "不等価譲渡では譲渡対価を入力してください")
        _yen_value(transfer_price, "譲渡対価")
    elif transfer_price is not None:
        raise InputError("譲渡対価", "譲渡対価は不等価譲渡の場合だけ入力します")
    session.require("staff", "放棄案件の登録")
    with session.writing():
        claim = find_claim(claim_no)
        if claim.status in ("waived", "paid", "written_off"):
            raise InputError(
                "求償権", f"状態が「{claim.status}」の求償権では放棄案件を始められません"
            )
        if planned_date < claim.subrogation_date:
            raise InputError("放棄予定日", "放棄予定日は代位弁済日以降にしてください")
        current = _latest_case(claim)
        if current is not None and _case_open(current):
            raise InputError(
                "放棄案件", f"この求償権には進行中の放棄案件（{current.id}）があります（1件ずつ）"
            )
        case = WaiverCase.create(
            claim=claim,
            scheme=scheme_key,
            kind=kind,
            transfer_price=transfer_price,
            planned_date=planned_date,
            created_by=session.login,
            created_at=session.now(),
        )
        audit.record(
            session.login,
            "waiver_case.open",
            "claim",
            claim.id,
            after=_case_dict(case),
            at=session.now(),
        )
        return case


def _case_dict(case: WaiverCase) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "scheme": case.scheme,
        "kind": case.kind,
        "transfer_price": case.transfer_price,
        "planned_date": case.planned_date,
        "status": case.status,
    }


def close_case(session: Session, case: WaiverCase) -> None:
    """Mark the case done (its decision applied, or every municipality reported)."""
    if case.status != "closed":
        WaiverCase.update(status="closed").where(WaiverCase.id == case.id).execute()
        case.status = "closed"


# ------------------------------------------------------------------ resolver


def resolutions(session: Session, claim_no: str, scheme_key: str) -> list[rules.Resolution]:
    """The ordinance answer for each municipality on the claim under ``scheme_key``."""
    _scheme(scheme_key)
    claim = find_claim(claim_no)
    govs = _governments()
    checklist = reference.load("waiver_checklist")
    return [rules.resolve(cm.name, scheme_key, govs, checklist) for cm in _claim_munis(claim)]


# ------------------------------------------------------------------ walk-through


def _case_muni(case_id: int, municipality: str) -> tuple[WaiverCase, Claim]:
    case = get_case(case_id)
    claim = Claim.get_by_id(case.claim_id)
    _claim_muni(claim, municipality)
    return case, claim


def walkthrough(session: Session, case_id: int, municipality: str) -> Walkthrough:
    """Every item of the municipality's template with the answers given so far."""
    case, _claim = _case_muni(case_id, municipality)
    template = rules.checklist_template(municipality)
    answers = {
        a.item_key: a
        for a in ChecklistAnswer.select().where(
            (ChecklistAnswer.case == case.id) & (ChecklistAnswer.municipality == municipality)
        )
    }
    items = []
    for section in template.sections:
        for t in section.items:
            a = answers.get(t.key)
            applicable = case.scheme not in t.not_for_schemes
            status = a.status if a else (None if applicable else "該当なし")
            items.append(
                Item(
                    section=section.title,
                    key=t.key,
                    text=t.text,
                    importance=t.importance,
                    guidance=t.guidance,
                    applicable=applicable,
                    status=status,
                    finding=a.finding if a else "",
                    evidence=a.evidence if a else "",
                    answered_by=a.answered_by if a else None,
                    answered_at=a.answered_at if a else None,
                )
            )
    return Walkthrough(case.id, municipality, template.name, case.scheme, items)


def answer(
    session: Session,
    case_id: int,
    municipality: str,
    item_key: str,
    *,
    status: str,
    finding: str,
    evidence: str,
) -> None:
    """Record the 協会's finding, evidence and status for one item (◎ and ○ need a finding)."""
    if status not in ANSWER_STATUSES:
        raise InputError("状況", f"状況は {' / '.join(ANSWER_STATUSES)} のいずれかを選んでください")
    finding = clean_text(finding or "", "所見", max_len=NOTE_MAX, multiline=True).strip()
    evidence = clean_text(evidence or "", "根拠資料", max_len=LINE_MAX).strip()
    session.require("staff", "チェックリストの記録")
    with session.writing():
        case, claim = _case_muni(case_id, municipality)
        template = rules.checklist_template(municipality)
        item = next((i for s in template.sections for i in s.items if i.key == item_key), None)
        if item is None:
            raise InputError("項目", f"「{item_key}」はこのチェックリストの項目ではありません")
        if item.importance in rules.REQUIRES_FINDING and not finding:
            raise InputError(
                "所見", f"重要度{item.importance}の項目は所見を入力してください（{item.text}）"
            )
        if case.scheme in item.not_for_schemes and status != "該当なし":
            raise InputError("状況", "この項目はこのスキームでは該当なしです")
        existing = ChecklistAnswer.get_or_none(
            (ChecklistAnswer.case == case.id)
            & (ChecklistAnswer.municipality == municipality)
            & (ChecklistAnswer.item_key == item_key)
        )
        before = (
            {"status": existing.status, "finding": existing.finding, "evidence": existing.evidence}
            if existing
            else None
        )
        values = {
            "status": status,
            "finding": finding,
            "evidence": evidence,
            "answered_by": session.login,
            "answered_at": session.now(),
        }
        if existing is None:
            ChecklistAnswer.create(
                case=case,
                decision=None,
                municipality=municipality,
                template=template.name,
                item_key=item_key,
                **values,
            )
        else:
            ChecklistAnswer.update(**values).where(ChecklistAnswer.id == existing.id).execute()
        audit.record(
            session.login,
            "waiver.answer",
            "claim",
            claim.id,
            before=before,
            after={
                "case_id": case.id,
                "municipality": municipality,
                "item_key": item_key,
                "status": status,
                "finding": finding,
                "evidence": evidence,
            },
            at=session.now(),
        )


# ------------------------------------------------------------------ application


def balance_on(claim: Claim, on: date) -> int:
    """The claim's total balance at the end of ``on`` (entries after it are ignored)."""
    if on >= claim.last_entry_on:
        return projections.balance_from_projection(claim, on).total
    from kyusho.rules import ledger

    rows = projections.entries_of(claim.id)
    return ledger.balance(
        projections.terms_of(claim), [projections.as_engine_entry(r) for r in rows], on
    ).total


def application(session: Session, case_id: int, municipality: str) -> dict[str, Any]:
    """The application's fields, filled from the claim where possible, and the attachments as a
    checklist with their references (the walk-through's evidence for the findings)."""
    case, claim = _case_muni(case_id, municipality)
    cm = _claim_muni(claim, municipality)
    debtor = Obligor.get_or_none((Obligor.claim == claim.id) & (Obligor.obligor_no == 1))
    balance = balance_on(claim, max(case.planned_date, claim.subrogation_date))
    after = case.transfer_price if case.kind == "transfer" else 0
    resolution = rules.resolve(
        municipality, case.scheme, _governments(), reference.load("waiver_checklist")
    )
    scheme = _scheme(case.scheme)
    spec = rules.application_fields()
    values: list[Any] = [
        debtor.name if debtor else None,
        case.planned_date,
        f"{scheme[1]}による{CASE_KINDS[case.kind]}",
        claim.subrogation_date,
        balance,
        after,
        _net(cm),
    ]
    fields = [
        {"label": label, "value": values[i] if i < len(values) else None}
        for i, label in enumerate(spec["fields"])
    ]
    walk = walkthrough(session, case_id, municipality)
    answered, total = walk.progress
    attachments = []
    for i, label in enumerate(spec["attachments"]):
        ref = ""
        if i == 1:  # 基準の項目ごとの協会の所見及びその根拠: the walk-through itself
            ref = f"チェックリスト {answered}/{total}"
        attachments.append({"label": label, "reference": ref, "ready": bool(ref)})
    return {
        "case_id": case.id,
        "claim_no": claim.claim_no,
        "municipality": municipality,
        "kind": case.kind,
        "kind_label": CASE_KINDS[case.kind],
        "scheme": case.scheme,
        "scheme_label": scheme[1],
        "planned_date": case.planned_date,
        "balance": balance,
        "balance_after": after,
        "net_compensation": _net(cm),
        "zero_zero": rules.ZERO_ZERO in resolution.notes,
        "resolution": resolution,
        "fields": fields,
        "attachments": attachments,
    }


# ------------------------------------------------------------------ steps


def _last_step(case_id: int, municipality: str) -> WaiverStep | None:
    return (
        WaiverStep.select()
        .where((WaiverStep.case == case_id) & (WaiverStep.municipality == municipality))
        .order_by(WaiverStep.id.desc())
        .first()
    )


def record_step(session: Session, case_id: int, municipality: str, step: str, on: date) -> None:
    """Record one municipality's next step with its date; the order of SPEC 4.12 is enforced."""
    if step not in STEPS:
        raise InputError("段階", f"段階は {' / '.join(STEP_LABELS.values())} のいずれかです")
    if not isinstance(on, date):
        raise InputError("日付", "日付を入力してください")
    session.require("staff", "放棄手続の記録")
    with session.writing():
        case, claim = _case_muni(case_id, municipality)
        if on > session.today():
            raise InputError("日付", "未来の日付は入力できません")
        last = _last_step(case.id, municipality)
        allowed = NEXT_STEPS[last.step if last else None]
        if step not in allowed:
            now = STEP_LABELS[last.step] if last else "未着手"
            nexts = " / ".join(STEP_LABELS[s] for s in allowed) or "なし（完了）"
            raise InputError(
                "段階", f"{municipality} は「{now}」の段階です。次に記録できるのは {nexts} です"
            )
        if last is not None and on < last.on:
            raise InputError(
                "日付",
                f"前の段階（{STEP_LABELS[last.step]} {last.on.isoformat()}）以降の日付にしてください",
            )
        WaiverStep.create(
            case=case,
            municipality=municipality,
            step=step,
            on=on,
            recorded_by=session.login,
            recorded_at=session.now(),
        )
        audit.record(
            session.login,
            "waiver.step",
            "claim",
            claim.id,
            after={"case_id": case.id, "municipality": municipality, "step": step, "on": on},
            at=session.now(),
        )
        _maybe_close(session, case, claim)


def _maybe_close(session: Session, case: WaiverCase, claim: Claim) -> None:
    """A case is done once every municipality has reported."""
    names = [cm.name for cm in _claim_munis(claim)]
    if names and all(
        (s := _last_step(case.id, n)) is not None and s.step in FINISHED for n in names
    ):
        close_case(session, case)


def must_agree(case: WaiverCase, claim: Claim) -> list[str]:
    """Municipalities that must approve before the waiver decision and have not (SPEC 4.12):
    every municipality on the claim with a loss-compensation contract, unless the resolver
    says ``not_required``."""
    govs = _governments()
    checklist = reference.load("waiver_checklist")
    out = []
    for cm in _claim_munis(claim):
        if rules.resolve(cm.name, case.scheme, govs, checklist).status == "not_required":
            continue
        steps = {s.step for s in _history(case.id, cm.name)}
        if "approved" not in steps or "rejected" in steps:
            last = _last_step(case.id, cm.name)
            shown = STEP_LABELS[last.step] if last else "未着手"
            out.append(f"{cm.name}（{shown}）")
    return out


# ------------------------------------------------------------------ the record


def waiver_record_context(session: Session, case_id: int) -> dict[str, Any]:
    """Everything the printed record shows: per municipality, the resolver's answer, the steps,
    the walk-through and the application."""
    case = get_case(case_id)
    claim = Claim.get_by_id(case.claim_id)
    munis = []
    for cm in _claim_munis(claim):
        walk = walkthrough(session, case.id, cm.name)
        app = application(session, case.id, cm.name)
        munis.append(
            {
                "name": cm.name,
                "resolution": app["resolution"],
                "status_label": rules.STATUSES.get(app["resolution"].status, ""),
                "history": _history(case.id, cm.name),
                "walkthrough": walk,
                "progress": walk.progress,
                "application": app,
            }
        )
    return {
        "case": case,
        "claim": claim,
        "kind_label": CASE_KINDS[case.kind],
        "scheme_label": _scheme(case.scheme)[1],
        "printed_at": session.now(),
        "printed_by": session.name or session.login,
        "municipalities": munis,
    }


def write_waiver_record(session: Session, case_id: int, dest: str | Path, **out: Any) -> Path:
    """The walk-through record and application of ``case_id`` written to ``dest``."""
    from kyusho.documents import Document, DocumentSettings, render
    from kyusho.documents.waiver import record_context
    from kyusho.services.printing import write_document

    def make() -> Document:
        context = record_context(waiver_record_context(session, case_id))
        return render("waiver_record", context, DocumentSettings.from_config(session.config))

    return write_document(session, make, dest, **out)
