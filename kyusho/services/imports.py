"""CSV import (SPEC 5.4): all or nothing, every bad row reported, idempotent.

Stage one (kyusho.csvparse) checks each cell. Stage two, here, checks each row against the
database (the claim exists, the staff is registered, the row is not already there), inserts
in batches inside one IMMEDIATE transaction and recomputes the projections once per claim.
Any error rolls the whole file back. Rows already present (same key, same content) are
skipped, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kyusho.errors import InputError, KyushoError
from kyusho.rules.csvparse import ParsedRow, RowError, parse_csv
from kyusho.rules.reference import municipality_names
from kyusho.rules.text import kana_key, name_key
from kyusho.services import projections
from kyusho.services.session import Session
from models import audit
from models.bulk import bulk_insert, bulk_update, in_values
from models.schema import (
    Claim,
    ClaimMunicipality,
    Contact,
    LedgerEntry,
    LimitationEvent,
    Obligor,
    Staff,
)

KINDS = ("claims", "obligors", "receipts", "events", "contacts")
BATCH = 500

Progress = Callable[[str, int, int], None]


class ImportFailed(KyushoError):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} 件のエラーがあるため取り込みませんでした")


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    added: int = 0
    skipped: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)


class _Rollback(Exception):
    pass


def _chunks(items: list[Any], n: int = BATCH) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def import_file(
    session: Session,
    kind: str,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    if kind not in KINDS:
        raise InputError("種類", f"{' / '.join(KINDS)} のいずれかを指定してください")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError("ファイル", f"{path} を読めません: {exc.strerror}") from None
    return import_bytes(session, kind, data, name=str(path), dry_run=dry_run, progress=progress)


def import_bytes(
    session: Session,
    kind: str,
    data: bytes,
    *,
    name: str = "<stdin>",
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    session.require("staff", "取込")
    parsed = parse_csv(
        kind,
        data,
        default_damages_rate=session.config.policy.damages_rate,
        municipalities=municipality_names(),
    )
    report = ImportReport(kind=kind, rows=len(parsed.rows), dry_run=dry_run)
    header_bad = any(e.line == 1 for e in parsed.errors) or not parsed.rows
    if parsed.errors and header_bad:
        raise ImportFailed(sorted(parsed.errors, key=lambda e: (e.line, e.column)))
    if progress:
        progress("検査", 0, len(parsed.rows))
    importer = {
        "claims": _import_claims,
        "obligors": _import_obligors,
        "receipts": _import_receipts,
        "events": _import_events,
        "contacts": _import_contacts,
    }[kind]
    try:
        with session.writing():
            # the good rows are still checked against the database, so one report lists
            # every bad row; any error rolls the whole file back
            errors = importer(session, parsed.rows, report, progress) + list(parsed.errors)
            if errors:
                report.errors = sorted(set(errors), key=lambda e: (e.line, e.column, e.reason))
                raise _Rollback
            if progress:
                progress("完了", report.rows, report.rows)
            audit.record(
                session.login,
                f"import.{kind}",
                "import",
                hashlib.sha256(data).hexdigest()[:16],
                after={
                    "file": name,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "rows": report.rows,
                    "added": report.added,
                    "skipped": report.skipped,
                },
                at=session.now(),
            )
            if dry_run:
                raise _Rollback
    except _Rollback:
        if report.errors:
            raise ImportFailed(report.errors) from None
    return report


def _tick(progress: Progress | None, stage: str, i: int, total: int) -> None:
    if progress and (i % 2000 == 0 or i == total):
        progress(stage, i, total)


def _new_ref(
    row: ParsedRow,
    claim_id: int,
    ref: str,
    seen: dict[tuple[int, str], int],
    existing: set[tuple[int, str]],
    errors: list[RowError],
    report: ImportReport,
) -> bool:
    """A row with a 番号: False when it repeats a row of this file (an error) or is already
    stored (skipped, so re-importing a file adds nothing); True when it is new."""
    if (claim_id, ref) in seen:
        errors.append(
            RowError(
                row.line,
                "番号",
                f"番号 {ref} はこのファイルの {seen[(claim_id, ref)]} 行目と重複しています",
            )
        )
        return False
    seen[(claim_id, ref)] = row.line
    if (claim_id, ref) in existing:
        report.skipped += 1
        return False
    return True


def _claim_ids(nos: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(sorted(set(nos))):
        out.update(
            Claim.select(Claim.claim_no, Claim.id).where(in_values(Claim.claim_no, chunk)).tuples()
        )
    return out


def _claims_by_no(nos: Iterable[str]) -> dict[str, Claim]:
    out: dict[str, Claim] = {}
    for chunk in _chunks(sorted(set(nos))):
        for c in Claim.select().where(in_values(Claim.claim_no, chunk)):
            out[c.claim_no] = c
    return out


def _missing_claim(row: ParsedRow, claims: dict[str, Claim]) -> RowError | None:
    if row.values["claim_no"] not in claims:
        return RowError(
            row.line,
            "求償権番号",
            f"求償権番号 {row.values['claim_no']} は登録されていません（先に claims を取り込んでください）",
        )
    return None


# the columns of a receipt that the limitation engine reads (projections.engine_inputs)
RECEIPT_FACTS = (
    LedgerEntry.id,
    LedgerEntry.claim,
    LedgerEntry.date,
    LedgerEntry.payer,
    LedgerEntry.kind,
    LedgerEntry.cancelled,
)


def _recompute(
    claim_ids: Iterable[int], *, ledger: bool, clocks: bool
) -> list[tuple[int, InputError]]:
    """Recompute projections once per affected claim; collect engine refusals per claim."""
    failures: list[tuple[int, InputError]] = []
    ids = sorted(set(claim_ids))
    for chunk in _chunks(ids):
        claims = list(Claim.select().where(in_values(Claim.id, chunk)))
        entries: dict[int, list[LedgerEntry]] = defaultdict(list)
        obligors: dict[int, list[Obligor]] = defaultdict(list)
        events: dict[int, list[LimitationEvent]] = defaultdict(list)
        if ledger:
            for e in (
                LedgerEntry.select()
                .where(in_values(LedgerEntry.claim, chunk))
                .order_by(LedgerEntry.date, LedgerEntry.id)
            ):
                entries[e.claim_id].append(e)
        elif clocks:
            # the clocks read only the live receipts, and of them only what the engine needs
            for e in (
                LedgerEntry.select(*RECEIPT_FACTS)
                .where(
                    in_values(LedgerEntry.claim, chunk)
                    & (LedgerEntry.kind == "receipt")
                    & (LedgerEntry.cancelled == False)  # noqa: E712
                )
                .order_by(LedgerEntry.date, LedgerEntry.id)
            ):
                entries[e.claim_id].append(e)
        if clocks:
            for o in (
                Obligor.select().where(in_values(Obligor.claim, chunk)).order_by(Obligor.obligor_no)
            ):
                obligors[o.claim_id].append(o)
            for ev in LimitationEvent.select().where(
                in_values(LimitationEvent.claim, chunk) & (LimitationEvent.cancelled == False)  # noqa: E712
            ):
                events[ev.claim_id].append(ev)
        clock_rows: list[tuple[Any, ...]] = []
        for claim in claims:
            try:
                if ledger:
                    projections.recompute_ledger(claim, entries[claim.id])
                if clocks and obligors[claim.id]:
                    receipts = [
                        e for e in entries[claim.id] if e.kind == "receipt" and not e.cancelled
                    ]
                    clock_rows += _clock_updates(
                        claim, obligors[claim.id], receipts, events[claim.id]
                    )
            except InputError as exc:
                failures.append((claim.id, exc))
        # a claim's clocks depend on its own rows only, so the chunk's changes go in one go
        bulk_update(Obligor, projections.CLOCK_FIELDS, clock_rows)
    return failures


def _clock_updates(
    claim: Claim,
    obligors: list[Obligor],
    receipts: list[LedgerEntry],
    events: list[LimitationEvent],
) -> list[tuple[Any, ...]]:
    """The stored clocks that change: rows of CLOCK_FIELDS values, then the obligor's id."""
    clocks = projections.clocks_for(
        claim, obligors, projections.FAR_FUTURE, entries=receipts, events=events
    )
    out: list[tuple[Any, ...]] = []
    for o in obligors:
        c = clocks.get(o.obligor_no)
        want = (
            (
                c.own_completes_on,
                c.completes_on,
                projections.stored_state(c.state),
                c.basis,
                c.basis_date,
                c.basis_seq,
                c.period_years,
                c.via_principal,
            )
            if c
            else (None, None, None, None, None, None, None, False)
        )
        if want != tuple(getattr(o, f) for f in projections.CLOCK_FIELDS):
            out.append((*want, o.id))
    return out


# --------------------------------------------------------------------------- claims

CLAIM_FIELDS = (
    "subrogation_date",
    "loan_principal",
    "loan_interest",
    "damages_rate",
    "allocation_order",
    "contract_date",
    "lender",
    "programme",
    "insurance_type",
    "cover_ratio",
    "insurance_paid",
    "insurance_paid_on",
)


def _claim_values(v: dict[str, Any]) -> dict[str, Any]:
    out = {k: v[k] for k in CLAIM_FIELDS}
    out["damages_rate"] = str(v["damages_rate"])
    out["cover_ratio"] = str(v["cover_ratio"]) if v["cover_ratio"] is not None else None
    return out


def _same_claim(
    c: Claim, v: dict[str, Any], logins: dict[int, str], munis: dict[int, set[str]]
) -> bool:
    """The stored claim matches the row (``logins``: every staff id's login; ``munis``: the
    stored claims' municipalities, read beforehand so a re-import is not two queries a row)."""
    want = _claim_values(v)
    have = {k: getattr(c, k) for k in CLAIM_FIELDS}
    if want != have:
        return False
    if logins.get(c.staff_id) != v["staff"]:
        return False
    return munis.get(c.id, set()) == set(v["municipalities"])


def _municipalities(claim_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(claim_ids):
        for claim_id, name in (
            ClaimMunicipality.select(ClaimMunicipality.claim, ClaimMunicipality.name)
            .where(in_values(ClaimMunicipality.claim, chunk))
            .tuples()
        ):
            out[claim_id].add(name)
    return out


def _import_claims(
    session: Session, rows: list[ParsedRow], report: ImportReport, progress: Progress | None
) -> list[RowError]:
    errors: list[RowError] = []
    staff = {s.login: s.id for s in Staff.select(Staff.login, Staff.id).where(Staff.active == True)}  # noqa: E712
    existing = _claims_by_no(r.values["claim_no"] for r in rows)
    logins = dict(Staff.select(Staff.id, Staff.login).tuples())
    existing_munis = _municipalities([c.id for c in existing.values()])
    seen: dict[str, int] = {}
    today = session.today()
    now = session.now()
    new_rows: list[dict[str, Any]] = []
    munis: dict[str, list[str]] = {}
    for i, row in enumerate(rows, 1):
        v = row.values
        no = v["claim_no"]
        if no in seen:
            errors.append(
                RowError(
                    row.line, "求償権番号", f"{no} はこのファイルの {seen[no]} 行目と重複しています"
                )
            )
            continue
        seen[no] = row.line
        if v["staff"] not in staff:
            errors.append(
                RowError(
                    row.line,
                    "担当者",
                    f"{v['staff']} は登録された担当者ではありません（kyusho staff add で登録）",
                )
            )
        if v["subrogation_date"] > today:
            errors.append(RowError(row.line, "代位弁済日", "未来の日付は入力できません"))
        if v["contract_date"] > v["subrogation_date"]:
            errors.append(
                RowError(row.line, "委託契約日", "委託契約日は代位弁済日以前にしてください")
            )
        if v["loan_principal"] + v["loan_interest"] <= 0:
            errors.append(
                RowError(
                    row.line, "代位弁済元金", "代位弁済元金と利息の合計は1円以上にしてください"
                )
            )
        if no in existing:
            if _same_claim(existing[no], v, logins, existing_munis):
                report.skipped += 1
            else:
                errors.append(
                    RowError(
                        row.line,
                        "求償権番号",
                        f"{no} はすでに登録されていて内容が異なります（変更は画面から行ってください）",
                    )
                )
            continue
        principal = v["loan_principal"] + v["loan_interest"]
        new_rows.append(
            {
                **_claim_values(v),
                "claim_no": no,
                "staff": staff.get(v["staff"]),
                "status": "active",
                "status_since": v["subrogation_date"],
                "note": "",
                "version": 1,
                "updated_at": now,
                "updated_by": session.login,
                "principal_outstanding": principal,
                "costs_outstanding": 0,
                "damages_at_last": 0,
                "last_entry_on": v["subrogation_date"],
                "last_receipt_on": None,
                "debtor_name": "",
                "debtor_kana": "",
            }
        )
        munis[no] = v["municipalities"]
        _tick(progress, "検査", i, len(rows))
    if errors:
        return errors
    for i, chunk in enumerate(_chunks(new_rows), 1):
        bulk_insert(Claim, chunk)
        _tick(progress, "登録", min(i * BATCH, len(new_rows)), len(new_rows))
    if munis:
        ids = _claim_ids(munis)
        links = [{"claim": ids[no], "name": m} for no, names in munis.items() for m in names]
        for chunk in _chunks(links):
            bulk_insert(ClaimMunicipality, chunk)
    report.added = len(new_rows)
    return errors


# --------------------------------------------------------------------------- obligors

OBLIGOR_FIELDS = ("role", "kind", "name", "kana", "merchant", "birth_date", "address", "state")


def _import_obligors(
    session: Session, rows: list[ParsedRow], report: ImportReport, progress: Progress | None
) -> list[RowError]:
    errors: list[RowError] = []
    claims = _claims_by_no(r.values["claim_no"] for r in rows)
    existing: dict[tuple[int, int], Obligor] = {}
    for chunk in _chunks([c.id for c in claims.values()]):
        for o in Obligor.select().where(in_values(Obligor.claim, chunk)):
            existing[(o.claim_id, o.obligor_no)] = o
    seen: dict[tuple[str, int], int] = {}
    new_rows: list[dict[str, Any]] = []
    debtors: dict[int, tuple[str, str]] = {}
    for i, row in enumerate(rows, 1):
        v = row.values
        err = _missing_claim(row, claims)
        if err:
            errors.append(err)
            continue
        claim = claims[v["claim_no"]]
        key = (v["claim_no"], v["obligor_no"])
        if key in seen:
            errors.append(
                RowError(
                    row.line,
                    "関係人番号",
                    f"{v['claim_no']} の関係人番号 {v['obligor_no']} はこのファイルの {seen[key]} 行目と重複しています",
                )
            )
            continue
        seen[key] = row.line
        have = existing.get((claim.id, v["obligor_no"]))
        if have is not None:
            # state is left out: events and staff change it after the import (免責確定 etc.)
            if all(getattr(have, f) == v[f] for f in OBLIGOR_FIELDS if f != "state"):
                report.skipped += 1
            else:
                errors.append(
                    RowError(
                        row.line,
                        "関係人番号",
                        f"{v['claim_no']} の関係人番号 {v['obligor_no']} はすでに登録されていて内容が異なります",
                    )
                )
            continue
        new_rows.append(
            {
                "claim": claim.id,
                "obligor_no": v["obligor_no"],
                **{f: v[f] for f in OBLIGOR_FIELDS},
                "name_key": name_key(v["name"]),
                "kana_key": kana_key(v["kana"]),
                "liable": True,
            }
        )
        if v["role"] == "principal_debtor":
            debtors[claim.id] = (v["name"], kana_key(v["kana"]))
        _tick(progress, "検査", i, len(rows))
    if errors:
        return errors
    for chunk in _chunks(new_rows):
        bulk_insert(Obligor, chunk)
    bulk_update(
        Claim,
        ("debtor_name", "debtor_kana"),
        ((name, kana, claim_id) for claim_id, (name, kana) in debtors.items()),
    )
    # every claim needs its principal debtor
    affected = {r["claim"] for r in new_rows}
    for chunk in _chunks(sorted(affected)):
        have_debtor = {
            o.claim_id
            for o in Obligor.select(Obligor.claim).where(
                in_values(Obligor.claim, chunk) & (Obligor.role == "principal_debtor")
            )
        }
        for claim_id in set(chunk) - have_debtor:
            line = next(r.line for r in rows if claims[r.values["claim_no"]].id == claim_id)
            errors.append(RowError(line, "区分", "主債務者（関係人番号1）がいません"))
    if errors:
        return errors
    _recompute(affected, ledger=False, clocks=True)
    report.added = len(new_rows)
    return errors


# --------------------------------------------------------------------------- receipts, events, contacts


def _obligor_ids(claim_ids: Iterable[int]) -> dict[tuple[int, int], Obligor]:
    """The claims' obligors by (claim id, 関係人番号): id and role only, for the row checks."""
    out: dict[tuple[int, int], Obligor] = {}
    for chunk in _chunks(sorted(set(claim_ids))):
        for o in Obligor.select(Obligor.id, Obligor.claim, Obligor.obligor_no, Obligor.role).where(
            in_values(Obligor.claim, chunk)
        ):
            out[(o.claim_id, o.obligor_no)] = o
    return out


def _import_receipts(
    session: Session, rows: list[ParsedRow], report: ImportReport, progress: Progress | None
) -> list[RowError]:
    errors: list[RowError] = []
    claims = _claims_by_no(r.values["claim_no"] for r in rows)
    obligors = _obligor_ids(c.id for c in claims.values())
    existing_refs: set[tuple[int, str]] = set()
    existing_plain: set[tuple[int, date, int, int | None]] = set()
    for chunk in _chunks([c.id for c in claims.values()]):
        for e in LedgerEntry.select(
            LedgerEntry.claim,
            LedgerEntry.ref,
            LedgerEntry.date,
            LedgerEntry.amount,
            LedgerEntry.payer,
        ).where(in_values(LedgerEntry.claim, chunk) & (LedgerEntry.kind == "receipt")):
            if e.ref:
                existing_refs.add((e.claim_id, e.ref))
            existing_plain.add((e.claim_id, e.date, e.amount, e.payer_id))
    today = session.today()
    seen_refs: dict[tuple[int, str], int] = {}
    new_rows: list[dict[str, Any]] = []
    lines: list[int] = []
    now = session.now()
    for i, row in enumerate(rows, 1):
        v = row.values
        err = _missing_claim(row, claims)
        if err:
            errors.append(err)
            continue
        claim = claims[v["claim_no"]]
        payer = obligors.get((claim.id, v["payer"]))
        if payer is None:
            errors.append(
                RowError(
                    row.line, "入金者", f"関係人番号 {v['payer']} は {claim.claim_no} にありません"
                )
            )
            continue
        if v["date"] < claim.subrogation_date:
            errors.append(
                RowError(
                    row.line,
                    "入金日",
                    f"代位弁済日（{claim.subrogation_date.isoformat()}）より前です",
                )
            )
            continue
        if v["date"] > today:
            errors.append(RowError(row.line, "入金日", "未来の日付は入力できません"))
            continue
        if claim.status in ("waived", "paid"):
            errors.append(
                RowError(
                    row.line,
                    "求償権番号",
                    f"状態が「{claim.status}」の求償権には入金を記録できません",
                )
            )
            continue
        ref = v.get("ref")
        if ref and not _new_ref(row, claim.id, ref, seen_refs, existing_refs, errors, report):
            continue
        elif (claim.id, v["date"], v["amount"], payer.id) in existing_plain:
            errors.append(
                RowError(
                    row.line,
                    "入金日",
                    "同じ入金（日付・金額・入金者）がすでに登録されています（番号列を付けると再取込で飛ばせます）",
                )
            )
            continue
        new_rows.append(
            {
                "claim": claim.id,
                "kind": "receipt",
                "date": v["date"],
                "amount": v["amount"],
                "payer": payer.id,
                "method": v["method"],
                "ref": ref,
                "note": "",
                "post_write_off": claim.status == "written_off"
                and claim.written_off_on is not None
                and v["date"] > claim.written_off_on,
                "created_by": session.login,
                "created_at": now,
            }
        )
        lines.append(row.line)
        _tick(progress, "検査", i, len(rows))
    if errors:
        return errors
    # SQLite gives the rows of one multi-row INSERT consecutive rowids ending at lastrowid,
    # so each new entry's id maps back to its line for reporting engine refusals
    line_of_entry: dict[int, int] = {}
    for chunk, chunk_lines in zip(_chunks(new_rows), _chunks(lines), strict=True):
        last = bulk_insert(LedgerEntry, chunk)
        for offset, line in enumerate(chunk_lines):
            line_of_entry[last - len(chunk) + 1 + offset] = line
    claim_line: dict[int, int] = {}
    for r, line in zip(new_rows, lines, strict=True):
        claim_line.setdefault(r["claim"], line)
    for claim_id, exc in _recompute(claim_line, ledger=True, clocks=True):
        seq = getattr(exc, "seq", None)
        errors.append(
            RowError(line_of_entry.get(seq, claim_line[claim_id]), exc.field, exc.message)
        )
    report.added = len(new_rows)
    return errors


def _import_events(
    session: Session, rows: list[ParsedRow], report: ImportReport, progress: Progress | None
) -> list[RowError]:
    errors: list[RowError] = []
    claims = _claims_by_no(r.values["claim_no"] for r in rows)
    obligors = _obligor_ids(c.id for c in claims.values())
    existing_refs: set[tuple[int, str]] = set()
    existing_plain: set[tuple[int, int, str, date]] = set()
    for chunk in _chunks([c.id for c in claims.values()]):
        for e in LimitationEvent.select().where(in_values(LimitationEvent.claim, chunk)):
            if e.ref:
                existing_refs.add((e.claim_id, e.ref))
            existing_plain.add((e.claim_id, e.obligor_id, e.kind, e.date))
    today = session.today()
    now = session.now()
    new_rows: list[dict[str, Any]] = []
    states: list[tuple[int, str]] = []
    seen_refs: dict[tuple[int, str], int] = {}
    for i, row in enumerate(rows, 1):
        v = row.values
        err = _missing_claim(row, claims)
        if err:
            errors.append(err)
            continue
        claim = claims[v["claim_no"]]
        ob = obligors.get((claim.id, v["obligor_no"]))
        if ob is None:
            errors.append(
                RowError(
                    row.line,
                    "関係人番号",
                    f"関係人番号 {v['obligor_no']} は {claim.claim_no} にありません",
                )
            )
            continue
        if ob.role == "collateral_provider":
            errors.append(RowError(row.line, "関係人番号", "物上保証人には時効の管理がありません"))
            continue
        if v["date"] < claim.subrogation_date or v["date"] > today:
            errors.append(RowError(row.line, "日付", "代位弁済日から今日までの日付にしてください"))
            continue
        ref = v.get("ref")
        if ref and not _new_ref(row, claim.id, ref, seen_refs, existing_refs, errors, report):
            continue
        elif (claim.id, ob.id, v["kind"], v["date"]) in existing_plain:
            errors.append(
                RowError(row.line, "事由", "同じ事由（関係人・事由・日付）がすでに登録されています")
            )
            continue
        new_rows.append(
            {
                "claim": claim.id,
                "obligor": ob.id,
                "kind": v["kind"],
                "date": v["date"],
                "until": v["until"],
                "ref": ref,
                "note": "",
                "created_by": session.login,
                "created_at": now,
            }
        )
        if v["kind"] in ("discharge", "extinguished"):
            states.append((ob.id, "discharged" if v["kind"] == "discharge" else "extinguished"))
        _tick(progress, "検査", i, len(rows))
    if errors:
        return errors
    for chunk in _chunks(new_rows):
        bulk_insert(LimitationEvent, chunk)
    # in file order, so the last of two such events of one obligor wins
    bulk_update(Obligor, ("state",), ((state, ob_id) for ob_id, state in states))
    _recompute({r["claim"] for r in new_rows}, ledger=False, clocks=True)
    report.added = len(new_rows)
    return errors


def _import_contacts(
    session: Session, rows: list[ParsedRow], report: ImportReport, progress: Progress | None
) -> list[RowError]:
    errors: list[RowError] = []
    claims = _claims_by_no(r.values["claim_no"] for r in rows)
    obligors = _obligor_ids(c.id for c in claims.values())
    staff = {s.login for s in Staff.select(Staff.login)}
    existing_refs: set[tuple[int, str]] = set()
    existing_plain: set[tuple[int, datetime, str]] = set()
    for chunk in _chunks([c.id for c in claims.values()]):
        for c in Contact.select(Contact.claim, Contact.ref, Contact.at, Contact.channel).where(
            in_values(Contact.claim, chunk)
        ):
            if c.ref:
                existing_refs.add((c.claim_id, c.ref))
            existing_plain.add((c.claim_id, c.at, c.channel))
    now = session.now()
    new_rows: list[dict[str, Any]] = []
    seen_refs: dict[tuple[int, str], int] = {}
    for i, row in enumerate(rows, 1):
        v = row.values
        err = _missing_claim(row, claims)
        if err:
            errors.append(err)
            continue
        claim = claims[v["claim_no"]]
        ob = obligors.get((claim.id, v["obligor_no"]))
        if ob is None:
            errors.append(
                RowError(
                    row.line,
                    "関係人番号",
                    f"関係人番号 {v['obligor_no']} は {claim.claim_no} にありません",
                )
            )
            continue
        if v["staff"] not in staff:
            errors.append(
                RowError(row.line, "担当者", f"{v['staff']} は登録された担当者ではありません")
            )
            continue
        ref = v.get("ref")
        if ref and not _new_ref(row, claim.id, ref, seen_refs, existing_refs, errors, report):
            continue
        if not ref and (claim.id, v["at"], v["channel"]) in existing_plain:
            errors.append(
                RowError(row.line, "日時", "同じ交渉記録（日時・方法）がすでに登録されています")
            )
            continue
        new_rows.append(
            {
                "claim": claim.id,
                "obligor": ob.id,
                "at": v["at"],
                "staff": v["staff"],
                "channel": v["channel"],
                "outcome": v["outcome"],
                "note": v["note"],
                "promised_amount": v["promised_amount"],
                "promised_on": v["promised_on"],
                "next_action": v["next_action"],
                "next_on": v["next_on"],
                "next_done": False,
                "ref": ref,
                "created_by": session.login,
                "created_at": now,
            }
        )
        _tick(progress, "検査", i, len(rows))
    if errors:
        return errors
    for chunk in _chunks(new_rows):
        bulk_insert(Contact, chunk)
    # as when a contact is entered by hand, only the latest next action of a claim stays open
    for chunk in _chunks(sorted({r["claim"] for r in new_rows if r["next_on"] is not None})):
        latest: dict[int, int] = {}
        for c in (
            Contact.select(Contact.id, Contact.claim, Contact.at)
            .where(in_values(Contact.claim, chunk) & Contact.next_on.is_null(False))
            .order_by(Contact.at, Contact.id)
        ):
            latest[c.claim_id] = c.id
        Contact.update(next_done=True).where(
            in_values(Contact.claim, chunk)
            & Contact.next_on.is_null(False)
            & ~in_values(Contact.id, list(latest.values()))
        ).execute()
    report.added = len(new_rows)
    return errors
