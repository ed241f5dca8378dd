"""Decisions (起案・決裁) with four-eyes control (SPEC 4.8), enforced here, not in the UI.

A proposal freezes its facts: the computed checks with their figures (SPEC 4.9, 4.10) and
the attested items the proposer answered (ChecklistAnswer rows). Only an approval by someone
else holding the required role applies the effect, in the same transaction; a decided
decision never changes again (a correction is a new decision). A failing check or an
unanswered item blocks approval unless the approver records an override with a reason.
A partial release or a GL settlement (SPEC 4.11, figures from rules.gl) is approved first and
takes effect when the payment is received (services.entries.release_on_payment).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kyusho.errors import InputError, KyushoError, NotFound, PermissionDenied
from kyusho.rules import decision_checks as rules
from kyusho.rules import gl, ledger
from kyusho.rules.dates import parse_date
from kyusho.rules.decision_checks import SUSPENSION_REASONS, Check, Party
from kyusho.rules.periods import period_end
from kyusho.rules.text import LINE_MAX, NOTE_MAX, clean_text
from kyusho.services import projections
from kyusho.services.entries import RELEASE_ON_PAYMENT, post_damages_waiver, release_on_payment
from kyusho.services.lookup import find_claim
from kyusho.services.session import Session
from kyusho.vocab import DECISION_KINDS, DECISION_STATUSES, HIGH_KINDS, ROLE_RANK
from models import audit
from models.audit import canonical_json
from models.schema import ChecklistAnswer, Claim, ClaimMunicipality, Decision, LedgerEntry, Obligor

__all__ = [
    "ATTESTED_ITEMS",
    "ApprovalRefused",
    "Check",
    "Evaluation",
    "SUSPENSION_REASONS",
    "approve",
    "attested_items",
    "decision_json",
    "evaluate",
    "list_decisions",
    "propose",
    "reject",
    "withdraw",
]

# kinds whose effect this version applies
KINDS = {
    "damages_waiver": "損害金減免",
    "partial_release": "一部弁済による保証債務免除",
    "gl_release": "経営者保証GLによる保証債務免除",
    "suspension": "管理事務停止",
    "reactivation": "管理再開",
    "write_off": "求償権整理",
    "waiver": "求償権放棄・不等価譲渡",
}

# What the proposer confirms, with a note (SPEC 4.9, 4.10); a kind without attested items has
# an empty list, so a new kind (gl_release, waiver) plugs in by adding its own here.
ATTESTED_ITEMS: dict[str, list[tuple[str, str]]] = {
    "suspension": [
        ("last_whereabouts_check", "所在調査日"),
        ("means_test", "資力調査日"),
        ("collateral_disposed", "担保処分の完了"),
    ],
    "reactivation": [],
    "write_off": [
        ("jfc_approval", "公庫承認番号・日付"),
        ("municipal_position", "損失補償団体の意向"),
    ],
    "damages_waiver": [],
    "waiver": [],
    "partial_release": [
        ("means_test", "資力調査日"),
        ("income_assets_reviewed", "収入・資産の確認"),
        ("no_concealed_assets", "資産隠匿がないことの確認"),
        ("representation_signed", "資産の表明保証書（署名済）"),
        ("household_heard", "家計・生活状況の聴取"),
    ],
    "gl_release": [
        ("gl_sme_manager", "中小企業であり保証人がその経営者等であること（GL 3項）"),
        ("gl_honest_disclosure", "主債務者・保証人の誠実な財産開示（GL 3項）"),
        ("gl_no_antisocial", "反社会的勢力でないこと（GL 3項）"),
        ("gl_principal_procedure", "主債務者の法的整理・準則型私的整理手続（GL 7項(1)）"),
        ("gl_no_disqualification", "免責不許可事由のおそれがないこと（GL 7項(1)）"),
        ("representation_signed", "資産の表明保証書（署名済）"),
        ("expert_confirmation", "支援専門家による確認"),
        ("clawback_agreement", "追加弁済（遅延利息付）の書面合意"),
        ("creditors_consent", "他の債権者の同意"),
    ],
}
# items answered with a date (YYYY-MM-DD or 和暦); the others with one of ITEM_ANSWERS
DATE_ITEMS = frozenset({"last_whereabouts_check", "means_test", "jfc_approval"})
ITEM_ANSWERS = ("充足", "不充足", "該当なし")
# the attested item a suspension reason rests on
REASON_ITEMS = {
    "whereabouts_unknown": "last_whereabouts_check",
    "insolvent": "means_test",
    "collateral_exhausted": "collateral_disposed",
}


class ApprovalRefused(KyushoError):
    """Approval without an override while a check fails or an item is unanswered."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__(
            "承認できません: "
            + " / ".join(failures)
            + "（承認するにはオーバーライド理由を記録してください）"
        )


class MunicipalApprovalMissing(ApprovalRefused):
    """A waiver while a municipality that must agree has not approved: no override exists."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        KyushoError.__init__(
            self,
            "承認できません: 損失補償団体の承認がありません: "
            + "、".join(failures)
            + "（求償権放棄は各団体の承認後に決裁します。オーバーライドはできません）",
        )


@dataclass(frozen=True)
class Evaluation:
    computed: dict[str, Any]
    checks: list[Check]
    items: list[tuple[str, str]]


def _day(at: datetime | date | str | None) -> date | None:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if isinstance(at, datetime):
        return at.date()
    return at


def _iso(at: datetime | date | str | None) -> str | None:
    if at is None or isinstance(at, str):
        return at
    return at.isoformat()


def decision_dict(d: Decision) -> dict[str, Any]:
    """The decision as audited (its own columns)."""
    return {
        "decision_id": d.id,
        "kind": d.kind,
        "status": d.status,
        "proposer": d.proposer,
        "approver": d.approver,
        "data": json.loads(d.data),
        "checks": json.loads(d.checks),
        "override_reason": d.override_reason,
    }


def _labels(kind: str) -> dict[str, str]:
    return dict(ATTESTED_ITEMS.get(kind, []))


def decision_json(d: Decision) -> dict[str, Any]:
    """Everything frozen with the decision and what became of it (CLI, screens, 決裁書)."""
    stored = json.loads(d.data or "{}")
    computed = stored.pop("computed", {})
    checks = {
        name: {
            "ok": bool(v.get("ok")),
            "detail": v.get("detail", ""),
            "label": v.get("label", name),
        }
        for name, v in json.loads(d.checks or "{}").items()
    }
    labels = _labels(d.kind)
    attested = {
        a.item_key: {
            "answer": a.status,
            "note": a.finding,
            "label": labels.get(a.item_key, a.item_key),
        }
        for a in ChecklistAnswer.select()
        .where((ChecklistAnswer.decision == d.id) & (ChecklistAnswer.municipality == ""))
        .order_by(ChecklistAnswer.id)
    }
    claim = Claim.get_by_id(d.claim_id)
    ob = Obligor.get_by_id(d.obligor_id) if d.obligor_id is not None else None
    return {
        "decision_id": d.id,
        "claim_no": claim.claim_no,
        "kind": d.kind,
        "kind_label": DECISION_KINDS.get(d.kind, d.kind),
        "obligor_id": ob.obligor_no if ob else None,
        "obligor_name": ob.name if ob else None,
        "status": d.status,
        "status_label": DECISION_STATUSES.get(d.status, d.status),
        "proposer": d.proposer,
        "proposed_at": _iso(d.proposed_at),
        "approver": d.approver,
        "decided_at": _iso(d.decided_at),
        "reason": d.reason,
        "data": stored,
        "computed": computed,
        "checks": checks,
        "attested": attested,
        "override_reason": d.override_reason,
        "effect": json.loads(d.effect or "{}"),
    }


def _obligor(claim: Claim, obligor_no: int | None) -> Obligor | None:
    if obligor_no is None:
        return None
    ob = Obligor.get_or_none((Obligor.claim == claim.id) & (Obligor.obligor_no == obligor_no))
    if ob is None:
        raise InputError("関係人番号", f"関係人番号 {obligor_no} はこの求償権にありません")
    return ob


def _insured(claim: Claim) -> bool:
    return bool(claim.insurance_type) or claim.insurance_paid is not None


def _items(claim: Claim, kind: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """The attested items that apply to this proposal."""
    items = ATTESTED_ITEMS.get(kind, [])
    if kind == "suspension" and data.get("reasons"):
        wanted = {REASON_ITEMS[r] for r in data["reasons"] if r in REASON_ITEMS}
        return [(k, label) for k, label in items if k in wanted]
    if kind == "write_off":
        keep = set()
        if _insured(claim):
            keep.add("jfc_approval")
        if ClaimMunicipality.select().where(ClaimMunicipality.claim == claim.id).exists():
            keep.add("municipal_position")
        return [(k, label) for k, label in items if k in keep]
    return list(items)


def attested_items(
    session: Session,
    claim_no: str,
    kind: str,
    obligor_no: int | None = None,
    *,
    data: dict[str, Any] | None = None,
) -> list[tuple[str, str]]:
    """The items the proposer must answer (for a suspension, those of ``data["reasons"]``;
    without reasons, every suspension item)."""
    _kind(kind)
    claim = find_claim(claim_no)
    _obligor(claim, obligor_no)
    return _items(claim, kind, dict(data or {}))


def _kind(kind: str) -> None:
    if kind not in KINDS:
        raise InputError("種類", f"{' / '.join(KINDS.values())} のいずれかを指定してください")


def _amount(value: Any, field: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"{what}を円単位の整数で入力してください（値: {value!r}）")
    return value


def _attested(items: list[tuple[str, str]], raw: Any, today: date) -> dict[str, dict[str, Any]]:
    """Validate the answers: a date for date items (not in the future), else 充足/不充足/該当なし."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError("確認事項", "確認事項は項目ごとに answer と note を指定してください")
    labels = dict(items)
    out: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if key not in labels:
            raise InputError(
                "確認事項",
                f"「{key}」はこの決裁の確認事項ではありません（{' / '.join(labels) or 'なし'}）",
            )
        label = labels[key]
        if isinstance(value, str):
            value = {"answer": value}
        if not isinstance(value, dict):
            raise InputError(label, "answer と note を指定してください")
        answer = clean_text(str(value.get("answer") or ""), label, max_len=LINE_MAX).strip()
        note = clean_text(
            str(value.get("note") or ""), f"{label}のメモ", max_len=NOTE_MAX, multiline=True
        )
        if answer:
            if key in DATE_ITEMS:
                on = parse_date(answer, label)
                if on > today:
                    raise InputError(label, "未来の日付は入力できません")
                answer = on.isoformat()
            elif answer not in ITEM_ANSWERS:
                raise InputError(label, f"{' / '.join(ITEM_ANSWERS)} のいずれかを選んでください")
        out[key] = {"answer": answer or None, "note": note.strip()}
    return out


def _parties(claim: Claim, today: date) -> list[Party]:
    return [
        Party(
            obligor_no=o.obligor_no,
            name=o.name,
            role=o.role,
            state=o.state,
            liable=bool(o.liable),
            lim_state=projections.effective_state(o.lim_state, o.completes_on, today),
        )
        for o in Obligor.select().where(Obligor.claim == claim.id).order_by(Obligor.obligor_no)
    ]


def _balance_now(claim: Claim, today: date) -> int:
    return projections.balance_from_projection(claim, max(today, claim.last_entry_on)).total


def _suspension_reason_checks(
    session: Session, claim: Claim, reasons: list[str], tested_on: date | None
) -> list[Check]:
    today = session.today()
    policy = session.config.policy
    parties = _parties(claim, today)
    out: list[Check] = []
    for r in reasons:
        if r == "whereabouts_unknown":
            out.append(rules.whereabouts_unknown(parties))
        elif r == "discharged_no_recourse":
            out.append(rules.discharged_no_recourse(parties))
        elif r == "inheritance_renounced":
            out.append(rules.inheritance_renounced(parties))
        elif r == "limitation_invoked":
            out.append(rules.limitation_invoked(parties))
        elif r == "small_balance":
            out.append(
                rules.small_balance(
                    _balance_now(claim, today),
                    claim.last_receipt_on,
                    today,
                    limit_yen=policy.small_balance_yen,
                    quiet_months=policy.small_balance_quiet_months,
                )
            )
        elif r == "insolvent":
            out.append(rules.insolvent(tested_on, today, policy.means_test_valid_months))
    return out


def _date_answer(attested: dict[str, dict[str, Any]], key: str) -> date | None:
    answer = attested.get(key, {}).get("answer")
    return date.fromisoformat(answer) if answer else None


def _evaluate(
    session: Session, claim: Claim, kind: str, ob: Obligor | None, data: dict[str, Any]
) -> tuple[Evaluation, dict[str, Any], dict[str, dict[str, Any]]]:
    """The computed checks with their figures, the applicable items, and the clean data."""
    _kind(kind)
    today = session.today()
    policy = session.config.policy
    checks: list[Check] = []
    computed: dict[str, Any] = {}
    clean: dict[str, Any] = {}
    if kind == "suspension":
        reasons = data.get("reasons") or []
        if isinstance(reasons, str):
            reasons = [reasons]
        if not isinstance(reasons, list):
            reasons = [None]
        unknown = [r for r in reasons if r not in SUSPENSION_REASONS]
        if not reasons or unknown:
            raise InputError(
                "停止理由", f"{' / '.join(SUSPENSION_REASONS.values())} から選んでください"
            )
        reasons = list(dict.fromkeys(reasons))
        clean = {"reasons": reasons}
    items = _items(claim, kind, clean or data)
    attested = _attested(items, data.get("attested"), today)
    if kind == "damages_waiver":
        amount = data.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise InputError("減免額", "1円以上の金額を入力してください")
        try:
            on = date.fromisoformat(str(data.get("date") or today.isoformat()))
        except ValueError:
            raise InputError("日付", "日付を YYYY-MM-DD で指定してください") from None
        if on > today or on < claim.subrogation_date:
            raise InputError("日付", "代位弁済日から今日までの日付にしてください")
        rows = projections.entries_of(claim.id)
        maximum = ledger.max_waiver(
            projections.terms_of(claim), [projections.as_engine_entry(r) for r in rows], on
        )
        computed = {"amount": amount, "maximum": maximum}
        checks.append(
            Check(
                "within_unpaid_damages",
                "未払損害金の範囲内",
                amount <= maximum,
                f"減免額 {amount:,}円（{on.isoformat()} の未払損害金 {maximum:,}円以内）",
            )
        )
        clean = {"amount": amount, "date": on.isoformat()}
    elif kind == "partial_release":
        if ob is None or ob.role != "joint_guarantor":
            raise InputError("関係人番号", "免除の対象は連帯保証人です")
        if not ob.liable:
            raise InputError("関係人番号", "この保証人はすでに免除されています")
        payment = _amount(data.get("payment"), "一部弁済額", "一部弁済額")
        balance = _balance_now(claim, today)
        if payment <= 0:
            raise InputError("一部弁済額", "1円以上の金額を入力してください")
        if payment > balance:
            raise InputError(
                "一部弁済額",
                f"保証人が負う残高 {balance:,}円以下の金額にしてください（値: {payment:,}円）",
            )
        receipts = [
            (e.date, e.amount)
            for e in LedgerEntry.select(LedgerEntry.date, LedgerEntry.amount)
            .where(
                (LedgerEntry.claim == claim.id)
                & (LedgerEntry.payer == ob.id)
                & (LedgerEntry.kind == "receipt")
                & (LedgerEntry.cancelled == False)  # noqa: E712
                & (LedgerEntry.date <= today)
            )
            .order_by(LedgerEntry.date, LedgerEntry.id)
        ]
        figures, record = rules.partial_release_checks(
            receipts,
            ob.birth_date,
            today,
            min_paying_years=policy.partial_release.min_paying_years,
            max_gap_days=policy.partial_release.max_gap_days,
        )
        release = rules.release_amount(balance, payment)
        computed = {**figures, "balance": balance, "payment": payment, "release_amount": release}
        checks.extend(record)
        checks.append(
            rules.means_test_check(
                _date_answer(attested, "means_test"), today, policy.means_test_valid_months
            )
        )
        clean = {"payment": payment, "release_amount": release}
    elif kind == "gl_release":
        if ob is None or ob.role != "joint_guarantor":
            raise InputError("関係人番号", "免除の対象は連帯保証人です")
        if not ob.liable:
            raise InputError("関係人番号", "この保証人はすでに免除されています")
        computed, gl_checks, clean = _gl_release(claim, ob, data, today)
        checks.extend(gl_checks)
    elif kind == "suspension":
        checks.append(
            Check(
                "claim_active",
                "管理中の求償権",
                claim.status == "active",
                f"求償権の状態: {claim.status}" if claim.status != "active" else "管理中",
            )
        )
        checks.extend(
            _suspension_reason_checks(
                session, claim, clean["reasons"], _date_answer(attested, "means_test")
            )
        )
        computed = {
            "balance": _balance_now(claim, today),
            "last_receipt_on": _iso(claim.last_receipt_on),
        }
    elif kind == "reactivation":
        checks.append(
            Check(
                "claim_suspended",
                "管理事務停止中",
                claim.status == "suspended",
                f"求償権の状態: {claim.status}",
            )
        )
    elif kind == "waiver":
        computed, waiver_checks, clean = _waiver(session, claim, data, today)
        checks.extend(waiver_checks)
    elif kind == "write_off":
        reasons = _suspension_reason_checks(session, claim, list(rules.COMPUTED_REASONS), None)
        checks.append(rules.suspended_or_reason(claim.status, claim.status_since, reasons))
        computed = {"balance": _balance_now(claim, today)}
    return Evaluation(computed=computed, checks=checks, items=items), clean, attested


WAIVER_FIELDS = frozenset({"amount", "attested"})


def _waiver(
    session: Session, claim: Claim, data: dict[str, Any], today: date
) -> tuple[dict[str, Any], list[Check], dict[str, Any]]:
    """The waiver (SPEC 4.12) rests on the claim's open waiver case: its kind, scheme and the
    transfer price. ``amount`` (optional) waives part of the balance; without it, all of it
    (a transfer waives what the price leaves)."""
    from kyusho.services import waiver as waivers

    unknown = sorted(set(data) - WAIVER_FIELDS)
    if unknown:
        raise InputError(
            "放棄データ",
            f"「{'、'.join(map(str, unknown))}」は指定できません（{' / '.join(sorted(WAIVER_FIELDS))}）",
        )
    case = waivers._latest_case(claim)
    if case is None or case.status != "open":
        raise InputError("放棄案件", "この求償権には進行中の放棄案件がありません（先に案件を登録）")
    balance = _balance_now(claim, today)
    price = case.transfer_price or 0 if case.kind == "transfer" else 0
    amount = data.get("amount")
    if amount is not None:
        amount = _amount(amount, "放棄額", "放棄額")
        if case.kind == "transfer":
            raise InputError(
                "放棄額", "不等価譲渡では放棄額は譲渡対価から決まります（指定しません）"
            )
        if amount <= 0 or amount > balance:
            raise InputError("放棄額", f"1円以上、残高 {balance:,}円以下の金額にしてください")
    if price > balance:
        raise InputError("譲渡対価", f"譲渡対価が残高 {balance:,}円を超えています")
    full = amount is None or amount == balance
    waived = balance - price if amount is None else amount
    computed = {
        "case_id": case.id,
        "case_kind": case.kind,
        "scheme": case.scheme,
        "balance": balance,
        "transfer_price": price if case.kind == "transfer" else None,
        "amount": waived,
        "full": full,
    }
    # judged again at approval (the municipalities decide after the proposal), so shown here
    # as a figure rather than frozen as a check an override could pass
    computed["municipalities_pending"] = waivers.must_agree(case, claim)
    checks: list[Check] = []
    clean = {"case_id": case.id, "amount": amount, "full": full}
    return computed, checks, clean


GL_FIELDS = frozenset(
    {
        "reference_date",
        "gl_type",
        "assets",
        "living_requested",
        "bankruptcy_dividend",
        "recovery_increase",
        "expert",
        "attested",
    }
)
ASSET_FIELDS = ("kind", "description", "value", "exempt", "home", "keep")


def _gl_assets(raw: Any) -> tuple[gl.Asset, ...]:
    """The inventory as typed: each line a known kind, a value in yen, the three flags."""
    if not isinstance(raw, list):
        raise InputError(
            "財産目録", "財産目録は資産の一覧（種類・内容・評価額・各フラグ）で指定してください"
        )
    out = []
    for i, line in enumerate(raw, 1):
        field = f"財産目録 {i}行目"
        if not isinstance(line, dict):
            raise InputError(field, f"{' / '.join(ASSET_FIELDS)} を指定してください")
        unknown = sorted(set(line) - set(ASSET_FIELDS))
        if unknown:
            raise InputError(
                field,
                f"「{'、'.join(map(str, unknown))}」は指定できません（{' / '.join(ASSET_FIELDS)}）",
            )
        kind = line.get("kind")
        if kind not in gl.ASSET_KINDS:
            raise InputError(
                field, f"種類を {' / '.join(gl.ASSET_KINDS)} から選んでください（値: {kind!r}）"
            )
        value = _amount(line.get("value"), field, "評価額")
        if value < 0:
            raise InputError(field, f"評価額を0円以上で入力してください（値: {value:,}円）")
        flags = {}
        for flag, label in (("exempt", "差押禁止"), ("home", "自宅"), ("keep", "残したい")):
            v = line.get(flag, False)
            if not isinstance(v, bool):
                raise InputError(field, f"{label}は true / false で指定してください（値: {v!r}）")
            flags[flag] = v
        description = clean_text(str(line.get("description") or ""), field, max_len=LINE_MAX)
        out.append(gl.Asset(kind=kind, description=description.strip(), value=value, **flags))
    return tuple(out)


def _gl_expert(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise InputError(
            "支援専門家", "支援専門家の氏名（name）と資格（qualification）を指定してください"
        )
    out = {}
    for key, label in (("name", "支援専門家の氏名"), ("qualification", "支援専門家の資格")):
        text = clean_text(str(raw.get(key) or ""), label, max_len=LINE_MAX).strip()
        if not text:
            raise InputError(label, f"{label}を入力してください")
        out[key] = text
    return out


def _gl_release(
    claim: Claim, ob: Obligor, data: dict[str, Any], today: date
) -> tuple[dict[str, Any], list[Check], dict[str, Any]]:
    """The GL settlement (SPEC 4.11): the figures, the four checks, and the inventory as
    frozen. The liability is what the guarantor is liable for today (the proposal date)."""
    unknown = sorted(set(data) - GL_FIELDS)
    if unknown:
        raise InputError(
            "GLデータ",
            f"「{'、'.join(map(str, unknown))}」は指定できません（{' / '.join(sorted(GL_FIELDS))}）",
        )
    raw_date = data.get("reference_date")
    if not isinstance(raw_date, str) or not raw_date.strip():
        raise InputError("基準時", "基準時（一時停止の効力発生日）を YYYY-MM-DD で入力してください")
    reference_date = parse_date(raw_date, "基準時")
    if reference_date > today:
        raise InputError("基準時", "未来の日付は入力できません")
    gl_type = data.get("gl_type")
    if gl_type not in gl.GL_TYPES:
        raise InputError("GLの類型", f"{' / '.join(gl.GL_TYPES)} のいずれかを指定してください")
    amounts = {}
    for key, label in (
        ("living_requested", "生計費"),
        ("bankruptcy_dividend", "破産配当見込額"),
        ("recovery_increase", "回収見込額の増加額"),
    ):
        value = _amount(data.get(key), label, label)
        if value < 0:
            raise InputError(label, f"{label}を0円以上で入力してください（値: {value:,}円）")
        amounts[key] = value
    assets = _gl_assets(data.get("assets"))
    expert = _gl_expert(data.get("expert"))
    liability = _balance_now(claim, today)
    r = gl.calculate(
        gl.GLInput(
            reference_date=reference_date,
            birth_date=ob.birth_date,
            assets=assets,
            liability=liability,
            **amounts,
        ),
        gl.living_cost_table(),
    )
    computed = {
        "age": r.age,
        "band": r.band,
        "policy_default_used": r.policy_default_used,
        "living_days": r.living_days,
        "living_cap": r.living_cap,
        "assets_total": r.assets_total,
        "free_cash": r.free_cash,
        "exempt_total": r.exempt_total,
        "free_property": r.free_property,
        "liquid_available": r.liquid_available,
        "kept_total": r.kept_total,
        "incentive": r.incentive,
        "retained": r.retained,
        "payment": r.payment,
        "liability": liability,
        "release": r.release,
    }
    clean = {
        "reference_date": reference_date.isoformat(),
        "gl_type": gl_type,
        "assets": [dataclasses.asdict(a) for a in assets],
        **amounts,
        "expert": expert,
        # what the release waits for and what the 年度 report counts (frozen)
        "payment": r.payment,
        "release_amount": r.release,
    }
    return computed, list(r.checks), clean


def evaluate(
    session: Session,
    claim_no: str,
    kind: str,
    *,
    obligor_no: int | None = None,
    data: dict[str, Any] | None = None,
) -> Evaluation:
    """What a proposal would freeze, without storing anything (the proposal screen)."""
    _kind(kind)
    claim = find_claim(claim_no)
    ob = _obligor(claim, obligor_no)
    return _evaluate(session, claim, kind, ob, dict(data or {}))[0]


def _failures(d: Decision) -> list[str]:
    """Each failing check and each unanswered (or 不充足) item, in Japanese."""
    out = []
    for name, v in json.loads(d.checks or "{}").items():
        if not v.get("ok"):
            detail = v.get("detail")
            out.append(f"{v.get('label', name)}: {detail}" if detail else f"{v.get('label', name)}")
    labels = _labels(d.kind)
    for a in (
        ChecklistAnswer.select()
        .where((ChecklistAnswer.decision == d.id) & (ChecklistAnswer.municipality == ""))
        .order_by(ChecklistAnswer.id)
    ):
        label = labels.get(a.item_key, a.item_key)
        if not a.status:
            out.append(f"{label}: 未回答")
        elif a.status == "不充足":
            out.append(f"{label}: 不充足")
    return out


def list_decisions(
    session: Session,
    *,
    pending: bool = False,
    claim_no: str | None = None,
    awaiting_me: bool = False,
) -> list[Decision]:
    """Decisions, oldest first; ``awaiting_me``: proposed by someone else, and this user's
    role may approve them."""
    q = Decision.select().order_by(Decision.id)
    if pending or awaiting_me:
        q = q.where(Decision.status == "proposed")
    if claim_no is not None:
        q = q.where(Decision.claim == find_claim(claim_no).id)
    if awaiting_me:
        policy = session.config.policy.approval
        rank = ROLE_RANK[session.role]
        if rank < ROLE_RANK[policy.min_role]:
            return []
        q = q.where(Decision.proposer != session.login)
        if rank < ROLE_RANK[policy.min_role_high]:
            q = q.where(Decision.kind.not_in(tuple(HIGH_KINDS)))
    return list(q)


def propose(
    session: Session,
    claim_no: str,
    kind: str,
    *,
    reason: str,
    obligor_no: int | None = None,
    data: dict[str, Any] | None = None,
) -> Decision:
    """Freeze the evaluation and the attested answers as a proposal (起案)."""
    _kind(kind)
    reason = clean_text(reason, "理由", max_len=NOTE_MAX)
    if not reason:
        raise InputError("理由", "起案の理由を入力してください")
    with session.writing():
        claim = find_claim(claim_no)
        if claim.status in ("waived", "paid", "written_off"):
            raise InputError("求償権", f"状態が「{claim.status}」の求償権には起案できません")
        if kind == "reactivation":
            _require_suspended(claim)
        ob = _obligor(claim, obligor_no)
        if kind in RELEASE_ON_PAYMENT and ob is not None:
            _require_no_open_release(ob)
        evaluation, clean, attested = _evaluate(session, claim, kind, ob, dict(data or {}))
        checks = {
            c.name: {"ok": c.ok, "detail": c.detail, "label": c.label} for c in evaluation.checks
        }
        d = Decision.create(
            claim=claim,
            kind=kind,
            obligor=ob,
            status="proposed",
            data=canonical_json({**clean, "computed": evaluation.computed}),
            checks=canonical_json(checks),
            proposer=session.login,
            proposed_at=session.now(),
            reason=reason.strip(),
            created_at=session.now(),
        )
        for key, _label in evaluation.items:
            given = attested.get(key, {})
            answered = bool(given.get("answer"))
            ChecklistAnswer.create(
                decision=d,
                municipality="",
                template=kind,
                item_key=key,
                status=given.get("answer"),
                finding=given.get("note", ""),
                answered_by=session.login if answered else None,
                answered_at=session.now() if answered else None,
            )
        audit.record(
            session.login,
            "decision.propose",
            "claim",
            claim.id,
            after={**decision_dict(d), "attested": attested},
            reason=reason.strip(),
            at=session.now(),
        )
        return d


def _require_no_open_release(ob: Obligor) -> None:
    """One release at a time: a pending one, or one approved and awaiting its payment."""
    open_ = Decision.select().where(
        (Decision.obligor == ob.id)
        & Decision.kind.in_(RELEASE_ON_PAYMENT)
        & Decision.status.in_(("proposed", "approved"))
    )
    if ob.liable and open_.exists():
        raise InputError(
            "関係人番号",
            f"関係人 {ob.obligor_no} には起案中または一部弁済の入金待ちの免除決裁があります",
        )


def _require_suspended(claim: Claim) -> None:
    """Reactivation restarts a suspended claim only: a written-off or waived claim is closed
    for good (SPEC 4.9), so no check override can reopen it."""
    if claim.status != "suspended":
        raise InputError(
            "求償権",
            f"管理再開は管理事務停止中の求償権だけに起案・承認できます（{claim.claim_no} の状態は「{claim.status}」）",
        )


def _pending(decision_id: int) -> Decision:
    d = Decision.get_or_none(Decision.id == decision_id)
    if d is None:
        raise NotFound(f"決裁 {decision_id} は見つかりません")
    if d.status != "proposed":
        raise InputError(
            "決裁",
            f"この決裁はすでに「{d.status}」です（決裁済みのものは変更できません。訂正は新しい起案で）",
        )
    return d


def _require_approver(session: Session, d: Decision) -> None:
    policy = session.config.policy.approval
    needed = policy.min_role_high if d.kind in HIGH_KINDS else policy.min_role
    if ROLE_RANK[session.role] < ROLE_RANK[needed]:
        raise PermissionDenied(
            f"この決裁には {needed} 以上の権限が必要です（{session.login} は {session.role}）"
        )
    if d.proposer == session.login:
        raise PermissionDenied("自分が起案した決裁は承認・否決できません（四つの目の原則）")


def approve(session: Session, decision_id: int, *, override_reason: str | None = None) -> Decision:
    """Approve and apply the effect; a failing check needs an override with a reason."""
    override_reason = clean_text(override_reason or "", "オーバーライド理由", max_len=LINE_MAX)
    with session.writing():
        d = _pending(decision_id)
        _require_approver(session, d)
        claim = Claim.get_by_id(d.claim_id)
        if d.kind == "reactivation":
            _require_suspended(claim)  # written off since the proposal: no override reopens it
        if d.kind == "waiver":
            _require_municipal_approval(d, claim)
        failing = _failures(d)
        if failing and not (override_reason or "").strip():
            raise ApprovalRefused(failing)
        before = decision_dict(d)
        effect = _apply(session, d, claim)
        d.status = "approved"
        d.approver = session.login
        d.decided_at = session.now()
        d.override_reason = (override_reason or "").strip() or None if failing else None
        d.effect = canonical_json(effect)
        d.save()
        audit.record(
            session.login,
            "decision.approve",
            "claim",
            claim.id,
            before=before,
            after={**decision_dict(d), "overridden": failing if d.override_reason else []},
            reason=d.override_reason,
            at=session.now(),
        )
        if d.kind in RELEASE_ON_PAYMENT:  # the payment may already be in (dated today)
            release_on_payment(session, claim, decision=d)
            d = Decision.get_by_id(d.id)
        return d


def _require_municipal_approval(d: Decision, claim: Claim) -> None:
    """SPEC 4.12: every municipality that must agree has 承認, judged now (not as frozen)."""
    from kyusho.services import waiver as waivers

    case = waivers.get_case(json.loads(d.data)["case_id"])
    pending = waivers.must_agree(case, claim)
    if pending:
        raise MunicipalApprovalMissing(pending)


def reject(session: Session, decision_id: int, reason: str) -> Decision:
    reason = clean_text(reason, "理由", max_len=LINE_MAX)
    if not reason:
        raise InputError("理由", "否決の理由を入力してください")
    with session.writing():
        d = _pending(decision_id)
        _require_approver(session, d)
        return _close(session, d, "rejected", reason, approver=session.login)


def withdraw(session: Session, decision_id: int, reason: str) -> Decision:
    """取下げ: only the proposer (or an admin) may withdraw a pending proposal."""
    reason = clean_text(reason, "理由", max_len=LINE_MAX)
    if not reason:
        raise InputError("理由", "取下げの理由を入力してください")
    with session.writing():
        d = _pending(decision_id)
        if d.proposer != session.login and session.role != "admin":
            raise PermissionDenied("取下げは起案者（または管理者）だけができます")
        return _close(session, d, "withdrawn", reason)


def _close(
    session: Session, d: Decision, status: str, reason: str, *, approver: str | None = None
) -> Decision:
    """End a pending decision without effect (否決 or 取下げ), audited with its reason."""
    before = decision_dict(d)
    d.status, d.decided_at = status, session.now()
    if approver is not None:
        d.approver = approver
    d.save()
    action = {"rejected": "decision.reject", "withdrawn": "decision.withdraw"}[status]
    audit.record(
        session.login,
        action,
        "claim",
        d.claim_id,
        before=before,
        after=decision_dict(d),
        reason=reason.strip(),
        at=session.now(),
    )
    return d


def _apply_waiver(
    session: Session, d: Decision, claim: Claim, data: dict[str, Any]
) -> dict[str, Any]:
    """The waiver's effect on the approval date: a transfer's price as a receipt, then the
    waived amount as a ``waiver`` entry; a full waiver closes the claim as ``waived``."""
    from kyusho.services import waiver as waivers

    today = session.today()
    case = waivers.get_case(data["case_id"])
    on = max(today, claim.last_entry_on)
    receipt_id = None
    if case.kind == "transfer" and case.transfer_price:
        receipt = LedgerEntry.create(
            claim=claim,
            kind="receipt",
            date=on,
            amount=case.transfer_price,
            method=None,
            note="不等価譲渡の譲渡対価",
            decision_id=d.id,
            created_by=session.login,
            created_at=session.now(),
        )
        projections.recompute_ledger_for(
            claim, new_seq=receipt.id, field="譲渡対価", what="この譲渡対価を入金する"
        )
        receipt_id = receipt.id
    balance = projections.balance_from_projection(claim, on).total
    amount = balance if data.get("full") or data.get("amount") is None else data["amount"]
    amount = min(amount, balance)
    entry_id = None
    if amount > 0:
        entry = LedgerEntry.create(
            claim=claim,
            kind="waiver",
            date=on,
            amount=amount,
            decision_id=d.id,
            created_by=session.login,
            created_at=session.now(),
        )
        projections.recompute_ledger_for(
            claim, new_seq=entry.id, field="放棄額", what="この放棄をする"
        )
        entry_id = entry.id
        audit.record(
            session.login,
            "waiver.post",
            "claim",
            claim.id,
            after={"entry_id": entry.id, "amount": amount, "date": on, "decision_id": d.id},
            at=session.now(),
        )
    full = amount == balance
    effect: dict[str, Any] = {
        "amount": amount,
        "entry_id": entry_id,
        "receipt_id": receipt_id,
        "transfer_price": case.transfer_price if case.kind == "transfer" else None,
        "on": on.isoformat(),
        "full": full,
    }
    if full:
        Claim.update(status="waived", status_since=today, review_on=None).where(
            Claim.id == claim.id
        ).execute()
        effect["status"] = "waived"
    waivers.close_case(session, case)
    return effect


def _apply(session: Session, d: Decision, claim: Claim) -> dict[str, Any]:
    """The effect of an approved decision (inside the approval's transaction)."""
    data = json.loads(d.data)
    today = session.today()
    if d.kind == "damages_waiver":
        entry = post_damages_waiver(
            session, claim, date.fromisoformat(data["date"]), data["amount"], d.id
        )
        return {"entry_id": entry.id}
    if d.kind == "waiver":
        return _apply_waiver(session, d, claim, data)
    if d.kind == "gl_release" and data.get("payment") == 0:
        # everything the guarantor has is retained: no payment to wait for
        Obligor.update(liable=False, released_on=today).where(Obligor.id == d.obligor_id).execute()
        projections.recompute_clocks(claim)
        return {
            "released_obligor": d.obligor_id,
            "released_on": today.isoformat(),
            "release_amount": data["release_amount"],
            "on": today.isoformat(),
        }
    if d.kind in RELEASE_ON_PAYMENT:
        # SPEC 4.10, 4.11: released when the (GL) payment is received, not by the approval
        return {
            "awaiting_payment": data.get("payment"),
            "release_amount": data["release_amount"],
            "obligor": d.obligor_id,
            "on": today.isoformat(),
        }
    if d.kind == "suspension":
        review = period_end(today, months=session.config.policy.suspension_review_months)
        # the 年度 report sums the balances at decision (SPEC 4.14)
        balance = projections.balance_from_projection(claim, max(today, claim.last_entry_on)).total
        Claim.update(status="suspended", status_since=today, review_on=review).where(
            Claim.id == claim.id
        ).execute()
        return {
            "status": "suspended",
            "review_on": review.isoformat(),
            "on": today.isoformat(),
            "balance": balance,
        }
    if d.kind == "reactivation":
        Claim.update(status="active", status_since=today, review_on=None).where(
            Claim.id == claim.id
        ).execute()
        return {"status": "active"}
    if d.kind == "write_off":
        amount = projections.balance_from_projection(claim, max(today, claim.last_entry_on)).total
        Claim.update(
            status="written_off",
            status_since=today,
            written_off_on=today,
            written_off_amount=amount,
        ).where(Claim.id == claim.id).execute()
        return {
            "status": "written_off",
            "written_off_amount": amount,
            "on": today.isoformat(),
        }
    raise InputError("種類", f"{d.kind} の効果はありません")
