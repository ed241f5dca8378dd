"""CSV import (SPEC 5.4): all or nothing, every bad row reported, idempotent.

Stage one (kyusho.csvparse) checks each cell. Stage two, here, checks each row against the
database (the claim exists, the staff is registered, the row is not already there), inserts
in batches inside one IMMEDIATE transaction and recomputes the projections once per claim.
Any error rolls the whole file back. Rows already present are skipped, so importing the
same file twice adds nothing: claims and obligors by their key (refused when their content
differs), receipts, events and contacts by their 番号 alone when they have one, otherwise
refused when every field matches a stored row. One skeleton (_Kind.run) does this for every
kind; each kind's class states only what differs.
"""

from __future__ import annotations

import io
import os
import stat
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Generic, TypeVar

from peewee import fn

from kyusho.errors import InputError, KyushoError
from kyusho.rules import limitation
from kyusho.rules.csvparse import CsvReader, ParsedRow, RowError, too_large
from kyusho.rules.text import kana_key, name_key
from kyusho.services import projections
from kyusho.services.session import Session
from kyusho.services.waiver import known_municipalities
from models import audit
from models.bulk import bulk_insert, bulk_update, in_values, records
from models.db import bulk_cache
from models.schema import (
    Claim,
    ClaimMunicipality,
    Contact,
    LedgerEntry,
    LimitationEvent,
    Obligor,
    Staff,
)

KINDS = ("claims", "obligors", "receipts", "events", "contacts", "municipalities")
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
    """Import the file at ``path``, read as a stream (memory stays bounded)."""
    if kind not in KINDS:
        raise InputError("種類", f"{' / '.join(KINDS)} のいずれかを指定してください")
    limit = session.config.import_max_bytes
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError("ファイル", f"{path} を読めません: {exc.strerror}") from None
    with fh:
        try:
            st = os.fstat(fh.fileno())
        except OSError as exc:
            raise InputError("ファイル", f"{path} を読めません: {exc.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            raise InputError("ファイル", f"{path} はフォルダです。CSVファイルを指定してください")
        size = st.st_size if stat.S_ISREG(st.st_mode) else None
        if size is not None and size > limit:
            raise too_large(str(path), limit)  # known before reading a byte
        return _import(session, kind, fh, str(path), size, dry_run, progress)


def import_bytes(
    session: Session,
    kind: str,
    data: bytes,
    *,
    name: str = "<stdin>",
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    if kind not in KINDS:
        raise InputError("種類", f"{' / '.join(KINDS)} のいずれかを指定してください")
    return _import(session, kind, io.BytesIO(data), name, len(data), dry_run, progress)


def _import(
    session: Session,
    kind: str,
    stream: BinaryIO,
    name: str,
    size: int | None,
    dry_run: bool,
    progress: Progress | None,
) -> ImportReport:
    """Rows are parsed, checked and inserted a batch at a time inside one transaction, so
    only a batch and the keys the checks need are in memory; any error rolls back."""
    session.require("staff", "取込")
    reader = CsvReader(
        kind,
        stream,
        default_damages_rate=session.config.policy.damages_rate,
        municipalities=known_municipalities(),
        max_bytes=session.config.import_max_bytes,
        name=name,
    )
    report = ImportReport(kind=kind, dry_run=dry_run)

    def failed() -> ImportFailed:
        errors = sorted(set(reader.errors), key=lambda e: (e.line, e.column, e.reason))
        return ImportFailed(errors)

    rows = reader.rows()
    first = next(rows, None)  # the header, read before the write lock is taken
    if not reader.checkable or (first is None and reader.errors):
        for _ in rows:  # still every bad cell of every row
            pass
        raise failed()

    def tick() -> None:
        if progress:
            done = reader.bytes_read
            progress("検査", done, max(done, size or 0))

    tick()
    try:
        with bulk_cache(), session.writing():
            # every row is still checked against the database, and the good ones inserted,
            # so one report lists every bad row of every kind; any error rolls it all back
            importer = IMPORTERS[kind](session, report, progress, reader)
            batch = [] if first is None else [first]
            for row in rows:
                batch.append(row)
                if len(batch) == BATCH:
                    importer.run(batch)
                    batch = []
                    tick()
            if batch:
                importer.run(batch)
            tick()
            importer.finish()
            report.rows = reader.rows_read
            reader.errors.extend(importer.errors)
            if reader.errors:
                report.errors = failed().errors
                raise _Rollback
            if progress:
                progress("完了", report.rows, report.rows)
            digest = reader.sha256.hexdigest()
            audit.record(
                session.login,
                f"import.{kind}",
                "import",
                digest[:16],
                after={
                    "file": name,
                    "sha256": digest,
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


def _v(row: ParsedRow) -> dict[str, Any]:
    """A row's values, each already of its column's type (csvparse checked them)."""
    return row.values


def _tuples(query: Any) -> Iterable[tuple[Any, ...]]:
    """A select's rows as tuples of the selected columns (peewee's types say models)."""
    return query.tuples()


# A stored claim or obligor as the checks see it: a record of models.bulk.records, with the
# model's attribute names but only the columns read (never a model object to save)
ClaimRecord = Any
ObligorRecord = Any

# a claim's terms: what its ledger and its clocks are computed from
CLAIM_TERMS = (
    "subrogation_date",
    "loan_principal",
    "loan_interest",
    "damages_rate",
    "allocation_order",
    "contract_date",
)
# what recomputing reads of a claim (projections.recompute_ledger and clock_updates), of its
# obligors and of its events: only these columns are read, for every claim an import touched
CLAIM_RECOMPUTE = ("id", *CLAIM_TERMS, *projections.CLAIM_LEDGER_FIELDS)
OBLIGOR_RECOMPUTE = (
    "id",
    "claim",
    "obligor_no",
    "role",
    "kind",
    "merchant",
    "released_on",
    *projections.CLOCK_FIELDS,
)
EVENT_RECOMPUTE = ("id", "claim", "obligor", "kind", "date", "until", "cancelled")
# the columns of a receipt that the limitation engine reads (projections.engine_inputs)
RECEIPT_FACTS = ("id", "claim", "date", "payer", "kind", "cancelled")


def _claims_by_no(nos: Iterable[str], fields: tuple[str, ...]) -> dict[str, ClaimRecord]:
    """The stored claims of these numbers, as records of ``fields`` (with the model's names)."""
    found = records(Claim, ("id", "claim_no", *fields), "claim_no", sorted(set(nos)))
    return {c.claim_no: c for c in found}


def _obligor_ids(claim_ids: Iterable[int]) -> dict[tuple[int, int], ObligorRecord]:
    """The claims' obligors by (claim id, 関係人番号): id, role and kind, for the row checks."""
    found = records(
        Obligor, ("id", "claim", "obligor_no", "role", "kind"), "claim", sorted(set(claim_ids))
    )
    return {(o.claim_id, o.obligor_no): o for o in found}


def _recompute(
    claim_ids: Iterable[int], *, ledger: bool, clocks: bool
) -> list[tuple[int, InputError]]:
    """Recompute projections once per affected claim; collect engine refusals per claim."""
    failures: list[tuple[int, InputError]] = []
    ids = sorted(set(claim_ids))
    for chunk in _chunks(ids):
        claims = records(Claim, CLAIM_RECOMPUTE, "id", chunk)
        entries: dict[int, list[Any]] = defaultdict(list)
        obligors: dict[int, list[Any]] = defaultdict(list)
        events: dict[int, list[Any]] = defaultdict(list)
        if ledger:
            for row in projections.ledger_rows(chunk):
                entries[row.claim_id].append(row)
        elif clocks:
            # the clocks read only the live receipts, and of them only what the engine needs
            for e in records(
                LedgerEntry,
                RECEIPT_FACTS,
                "claim",
                chunk,
                where='"kind" = {} AND "cancelled" = {}',
                params=("receipt", False),
                order=("date", "id"),
            ):
                entries[e.claim_id].append(e)
        if clocks:
            for o in records(Obligor, OBLIGOR_RECOMPUTE, "claim", chunk, order=("obligor_no",)):
                obligors[o.claim_id].append(o)
            for ev in records(
                LimitationEvent,
                EVENT_RECOMPUTE,
                "claim",
                chunk,
                where='"cancelled" = {}',
                params=(False,),
            ):
                events[ev.claim_id].append(ev)
        clock_rows: list[tuple[Any, ...]] = []
        pending = projections.PendingWrites()
        if ledger:
            pending.read_years(chunk)
        for claim in claims:
            try:
                if ledger:
                    projections.recompute_ledger(claim, entries[claim.id], pending=pending)
                if clocks:
                    receipts = [
                        e for e in entries[claim.id] if e.kind == "receipt" and not e.cancelled
                    ]
                    clock_rows += projections.clock_updates(
                        claim, obligors[claim.id], entries=receipts, events=events[claim.id]
                    )
            except InputError as exc:
                failures.append((claim.id, exc))
        # a claim's projections depend on its own rows only, so the chunk's go in one go
        pending.flush()
        bulk_update(Obligor, projections.CLOCK_FIELDS, clock_rows)
    return failures


# --------------------------------------------------------------------------- the skeleton


F = TypeVar("F")  # what a row names in the database: its claim, its obligor


class _Kind(Generic[F]):
    """One import, the same for every kind: check each row against the database, apply the
    duplicate rule, insert the new rows in bulk, do the work that follows (recompute, links),
    report. A kind states only what differs, by overriding the hooks below."""

    model: ClassVar[Any]
    claim_fields: ClassVar[tuple[str, ...]] = ()  # what the checks read of a row's claim

    def __init__(
        self,
        session: Session,
        report: ImportReport,
        progress: Progress | None,
        reader: CsvReader,
    ) -> None:
        self.session = session
        self.report = report
        self.progress = progress
        self.reader = reader
        self.today = session.today()
        self.now = session.now()
        self.errors: list[RowError] = []
        self.seen: dict[Hashable, int] = {}  # a key of this file -> the line it is first on
        self.claims: dict[str, ClaimRecord] = {}  # the current batch's stored claims
        # rows of this import are not "already stored": only those from before it are
        self.last_id = self.model.select(fn.MAX(self.model.id)).scalar() or 0

    def run(self, rows: list[ParsedRow]) -> None:
        """Check one batch of rows and insert its new ones."""
        self.load(rows)
        new_rows: list[dict[str, Any]] = []
        sources: list[ParsedRow] = []
        for row in rows:
            found = self.find(row)
            if found is not None and not self.repeats(row) and self.valid(row, found):
                new = self.build(row, found)
                if self.is_new(row, new):
                    new_rows.append(new)
                    sources.append(row)
        ids = self.insert(new_rows)
        self.after_insert(new_rows, sources, ids)
        self.report.added += len(new_rows)

    def load(self, rows: list[ParsedRow]) -> None:
        """Read what the batch's checks need from the database."""
        self.claims = _claims_by_no((_v(r)["claim_no"] for r in rows), self.claim_fields)

    def finish(self) -> None:
        """Work on everything the file touched, once every batch is in."""

    def error(self, row: ParsedRow, column: str, reason: str) -> None:
        self.errors.append(RowError(row.line, column, reason))
        self.reader.rejected_claims.add(_v(row)["claim_no"])

    def repeated(self, row: ParsedRow, key: Hashable, column: str, label: str) -> bool:
        """The key was on an earlier line of this file: an error."""
        first = self.seen.setdefault(key, row.line)
        if first != row.line:
            self.error(row, column, f"{label} はこのファイルの {first} 行目と重複しています")
        return first != row.line

    def insert(self, new_rows: list[dict[str, Any]]) -> list[int]:
        """Insert in batches; the new rows' ids, in order (SQLite gives the rows of one
        multi-row INSERT consecutive rowids ending at the last one)."""
        ids: list[int] = []
        for chunk in _chunks(new_rows):
            last = bulk_insert(self.model, chunk)
            ids.extend(range(last - len(chunk) + 1, last + 1))
        return ids

    def claim(self, row: ParsedRow) -> ClaimRecord | None:
        """The row's claim; None (an error recorded) when it is not stored."""
        no = _v(row)["claim_no"]
        claim = self.claims.get(no)
        if claim is None:
            self.error(
                row,
                "求償権番号",
                f"求償権番号 {no} は登録されていません（先に claims を取り込んでください）",
            )
        return claim

    # ------------------------------------------------------------------- the hooks

    def find(self, row: ParsedRow) -> F | None:
        """What the row names in the database; None (an error recorded) when it is not there."""
        raise NotImplementedError

    def repeats(self, row: ParsedRow) -> bool:
        """The row's key repeats an earlier row of the file (checked before the row's values)."""
        return False

    def valid(self, row: ParsedRow, found: F) -> bool:
        """The kind's own checks (errors recorded); False: go no further with the row."""
        return True

    def build(self, row: ParsedRow, found: F) -> dict[str, Any]:
        raise NotImplementedError

    def is_new(self, row: ParsedRow, new: dict[str, Any]) -> bool:
        """The duplicate rule: False when the row is already stored (skipped) or refused."""
        raise NotImplementedError

    def after_insert(
        self, new_rows: list[dict[str, Any]], sources: list[ParsedRow], ids: list[int]
    ) -> None:
        """Work a batch's new rows call for; errors it records still roll the file back."""


class _Keyed(_Kind[F]):
    """Claims and obligors: matched by their key; a stored key is skipped when every field
    matches, and refused when one differs (changes are made on screen, never by a file)."""

    key_column: ClassVar[str]
    differ_hint: ClassVar[str] = ""

    def key(self, row: ParsedRow) -> tuple[Hashable, str]:
        """The row's key within the file, and how a message names it."""
        raise NotImplementedError

    def stored(self, new: dict[str, Any]) -> Any | None:
        raise NotImplementedError

    def same(self, stored: Any, row: ParsedRow) -> bool:
        raise NotImplementedError

    # a key repeated within the file is refused by the parser (csvparse's unique keys)

    def is_new(self, row: ParsedRow, new: dict[str, Any]) -> bool:
        have = self.stored(new)
        if have is None:
            return True
        if self.same(have, row):
            self.report.skipped += 1
        else:
            self.error(
                row,
                self.key_column,
                f"{self.key(row)[1]} はすでに登録されていて内容が異なります{self.differ_hint}",
            )
        return False


class _Referenced(_Kind[tuple[ClaimRecord, ObligorRecord]]):
    """Receipts, events and contacts: the 番号 rule (SPEC 5.4). A row with a 番号 is matched
    by it alone: a new 番号 is added even when every other field equals a stored row, a stored
    one is skipped. Only a row without 番号 is matched on ``plain_fields`` (model field names,
    the claim first), and refused as a duplicate when they all equal a stored row's."""

    obligor_column: ClassVar[str] = "関係人番号"  # the CSV column naming the obligor
    obligor_value: ClassVar[str] = "obligor_no"
    obligor_field: ClassVar[str] = "obligor"  # the model's field for it
    plain_fields: ClassVar[tuple[str, ...]]
    plain_column: ClassVar[str]
    plain_reason: ClassVar[str]
    # which stored rows a new row may repeat: those stored before this import, and these
    # conditions (SQL with {} for each value) besides (receipts: of the kind receipt)
    stored_where: ClassVar[tuple[str, tuple[Any, ...]]] = ("", ())

    def load(self, rows: list[ParsedRow]) -> None:
        super().load(rows)
        self.obligors = _obligor_ids(c.id for c in self.claims.values())
        self.stored_refs: set[tuple[int, str]] = set()
        self.stored_plain: set[tuple[Any, ...]] = set()
        where, params = self.stored_where
        for ref, *plain in records(
            self.model,
            ("ref", *self.plain_fields),
            "claim",
            [c.id for c in self.claims.values()],
            where=f'"id" <= {{}}{where}',
            params=(self.last_id, *params),
            into=tuple,
        ):
            if ref:
                self.stored_refs.add((plain[0], ref))
            self.stored_plain.add(tuple(plain))

    def find(self, row: ParsedRow) -> tuple[ClaimRecord, ObligorRecord] | None:
        claim = self.claim(row)
        if claim is None:
            return None
        no = _v(row)[self.obligor_value]
        obligor = self.obligors.get((claim.id, no))
        if obligor is None:
            self.error(
                row, self.obligor_column, f"関係人番号 {no} は {claim.claim_no} にありません"
            )
            return None
        return claim, obligor

    def refusal(
        self, v: dict[str, Any], claim: ClaimRecord, obligor: ObligorRecord
    ) -> tuple[str, str] | None:
        """The kind's own check of a row: the column and reason it is refused for, or None."""
        return None

    def fields(self, v: dict[str, Any], claim: ClaimRecord) -> dict[str, Any]:
        """The kind's own columns of the new row."""
        raise NotImplementedError

    def valid(self, row: ParsedRow, found: tuple[ClaimRecord, ObligorRecord]) -> bool:
        problem = self.refusal(_v(row), *found)
        if problem is not None:
            self.error(row, *problem)
        return problem is None

    def build(self, row: ParsedRow, found: tuple[ClaimRecord, ObligorRecord]) -> dict[str, Any]:
        (claim, obligor), v = found, _v(row)
        return {
            "claim": claim.id,
            self.obligor_field: obligor.id,
            **self.fields(v, claim),
            "ref": v.get("ref"),
            "created_by": self.session.login,
            "created_at": self.now,
        }

    def is_new(self, row: ParsedRow, new: dict[str, Any]) -> bool:
        ref = new["ref"]
        if ref:
            key = (new["claim"], ref)
            if self.repeated(row, key, "番号", f"番号 {ref}"):
                return False
            if key in self.stored_refs:
                self.report.skipped += 1
                return False
            return True
        if tuple(new[f] for f in self.plain_fields) in self.stored_plain:
            self.error(row, self.plain_column, self.plain_reason)
            return False
        return True


# --------------------------------------------------------------------------- claims

CLAIM_FIELDS = (
    *CLAIM_TERMS,
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


def _municipalities(claim_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(claim_ids):
        for claim_id, name in _tuples(
            ClaimMunicipality.select(ClaimMunicipality.claim, ClaimMunicipality.name).where(
                in_values(ClaimMunicipality.claim, chunk)
            )
        ):
            out[claim_id].add(name)
    return out


class _Claims(_Keyed[str]):
    model = Claim
    claim_fields = ("staff", *CLAIM_FIELDS)
    key_column = "求償権番号"
    differ_hint = "（変更は画面から行ってください）"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.staff = {
            s.login: s.id
            for s in Staff.select(Staff.login, Staff.id).where(Staff.active == True)  # noqa: E712
        }
        # every staff id's login, and the stored claims' municipalities, read beforehand so
        # a re-import is not two queries a row
        self.logins: dict[int | None, str] = dict(_tuples(Staff.select(Staff.id, Staff.login)))

    def load(self, rows: list[ParsedRow]) -> None:
        super().load(rows)
        self.munis = _municipalities([c.id for c in self.claims.values()])

    def find(self, row: ParsedRow) -> str:
        return _v(row)["claim_no"]

    def key(self, row: ParsedRow) -> tuple[Hashable, str]:
        no = _v(row)["claim_no"]
        return no, no

    def valid(self, row: ParsedRow, found: str) -> bool:
        # every bad value of the row is reported, and a stored claim is still compared
        v = _v(row)
        if v["staff"] not in self.staff:
            self.error(
                row,
                "担当者",
                f"{v['staff']} は登録された担当者ではありません（kyusho staff add で登録）",
            )
        if v["subrogation_date"] > self.today:
            self.error(row, "代位弁済日", "未来の日付は入力できません")
        if v["contract_date"] > v["subrogation_date"]:
            self.error(row, "委託契約日", "委託契約日は代位弁済日以前にしてください")
        if v["loan_principal"] + v["loan_interest"] <= 0:
            self.error(row, "代位弁済元金", "代位弁済元金と利息の合計は1円以上にしてください")
        return True

    def build(self, row: ParsedRow, found: str) -> dict[str, Any]:
        v = _v(row)
        return {
            **_claim_values(v),
            "claim_no": v["claim_no"],
            "staff": self.staff.get(v["staff"]),
            "status": "active",
            "status_since": v["subrogation_date"],
            "note": "",
            "version": 1,
            "updated_at": self.now,
            "updated_by": self.session.login,
            "principal_outstanding": v["loan_principal"] + v["loan_interest"],
            "costs_outstanding": 0,
            "damages_at_last": 0,
            "last_entry_on": v["subrogation_date"],
            "last_receipt_on": None,
            "debtor_name": "",
            "debtor_kana": "",
        }

    def stored(self, new: dict[str, Any]) -> ClaimRecord | None:
        return self.claims.get(new["claim_no"])

    def same(self, stored: ClaimRecord, row: ParsedRow) -> bool:
        v = _v(row)
        if _claim_values(v) != {k: getattr(stored, k) for k in CLAIM_FIELDS}:
            return False
        if self.logins.get(stored.staff_id) != v["staff"]:
            return False
        return self.munis.get(stored.id, set()) == set(v["municipalities"])

    def after_insert(
        self, new_rows: list[dict[str, Any]], sources: list[ParsedRow], ids: list[int]
    ) -> None:
        links = [
            {"claim": claim_id, "name": m}
            for claim_id, row in zip(ids, sources, strict=True)
            for m in _v(row)["municipalities"]
        ]
        for chunk in _chunks(links):
            bulk_insert(ClaimMunicipality, chunk)


# --------------------------------------------------------------------------- obligors

OBLIGOR_FIELDS = ("role", "kind", "name", "kana", "merchant", "birth_date", "address", "state")


class _Obligors(_Keyed[ClaimRecord]):
    model = Obligor
    key_column = "関係人番号"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.first_line: dict[int, int] = {}  # claim id -> its first line in the file
        self.claim_nos: dict[int, str] = {}
        self.affected: set[int] = set()

    def load(self, rows: list[ParsedRow]) -> None:
        super().load(rows)
        self.existing: dict[tuple[int, int], Any] = {
            (o.claim_id, o.obligor_no): o
            for o in records(
                Obligor,
                ("claim", "obligor_no", *OBLIGOR_FIELDS),
                "claim",
                [c.id for c in self.claims.values()],
            )
        }

    def find(self, row: ParsedRow) -> ClaimRecord | None:
        claim = self.claim(row)
        if claim is not None and claim.id not in self.first_line:
            self.first_line[claim.id] = row.line
            self.claim_nos[claim.id] = claim.claim_no
        return claim

    def key(self, row: ParsedRow) -> tuple[Hashable, str]:
        v = _v(row)
        no, obligor_no = v["claim_no"], v["obligor_no"]
        return (no, obligor_no), f"{no} の関係人番号 {obligor_no}"

    def build(self, row: ParsedRow, found: ClaimRecord) -> dict[str, Any]:
        v = _v(row)
        return {
            "claim": found.id,
            "obligor_no": v["obligor_no"],
            **{f: v[f] for f in OBLIGOR_FIELDS},
            "name_key": name_key(v["name"]),
            "kana_key": kana_key(v["kana"]),
            "liable": True,
        }

    def stored(self, new: dict[str, Any]) -> ObligorRecord | None:
        return self.existing.get((new["claim"], new["obligor_no"]))

    def same(self, stored: ObligorRecord, row: ParsedRow) -> bool:
        # state is left out: events and staff change it after the import (免責確定 etc.)
        return all(getattr(stored, f) == _v(row)[f] for f in OBLIGOR_FIELDS if f != "state")

    def after_insert(
        self, new_rows: list[dict[str, Any]], sources: list[ParsedRow], ids: list[int]
    ) -> None:
        # the claim list shows each claim's principal debtor
        bulk_update(
            Claim,
            ("debtor_name", "debtor_kana"),
            (
                (r["name"], r["kana_key"], r["claim"])
                for r in new_rows
                if r["role"] == "principal_debtor"
            ),
        )
        self.affected.update(r["claim"] for r in new_rows)

    def finish(self) -> None:
        # every claim needs its principal debtor; a claim with a refused row is not reported
        # again (its debtor may be that row)
        rejected = self.reader.rejected_claims
        for chunk in _chunks(sorted(self.affected)):
            have_debtor = {
                claim_id
                for (claim_id,) in records(
                    Obligor,
                    ("claim",),
                    "claim",
                    chunk,
                    where='"role" = {}',
                    params=("principal_debtor",),
                    into=tuple,
                )
            }
            for claim_id in set(chunk) - have_debtor:
                if self.claim_nos[claim_id] not in rejected:
                    line = self.first_line[claim_id]
                    self.errors.append(RowError(line, "区分", "主債務者（関係人番号1）がいません"))
        if not self.errors and not self.reader.errors:
            _recompute(self.affected, ledger=False, clocks=True)


# --------------------------------------------------------------------------- receipts


class _Receipts(_Referenced):
    model = LedgerEntry
    claim_fields = ("subrogation_date", "status", "written_off_on")
    obligor_column = "入金者"
    obligor_value = "payer"
    obligor_field = "payer"
    plain_fields = ("claim", "date", "amount", "payer")
    plain_column = "入金日"
    plain_reason = "同じ入金（日付・金額・入金者）がすでに登録されています（番号列を付けると再取込で飛ばせます）"

    stored_where = (' AND "kind" = {}', ("receipt",))

    def refusal(
        self, v: dict[str, Any], claim: ClaimRecord, obligor: ObligorRecord
    ) -> tuple[str, str] | None:
        if v["date"] < claim.subrogation_date:
            return "入金日", f"代位弁済日（{claim.subrogation_date.isoformat()}）より前です"
        if v["date"] > self.today:
            return "入金日", "未来の日付は入力できません"
        if claim.status in ("waived", "paid"):
            return "求償権番号", f"状態が「{claim.status}」の求償権には入金を記録できません"
        return None

    def fields(self, v: dict[str, Any], claim: ClaimRecord) -> dict[str, Any]:
        return {
            "kind": "receipt",
            "date": v["date"],
            "amount": v["amount"],
            "method": v["method"],
            "note": "",
            "post_write_off": claim.status == "written_off"
            and claim.written_off_on is not None
            and v["date"] > claim.written_off_on,
        }

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.line_of_entry: dict[int | None, int] = {}
        self.claim_line: dict[int, int] = {}

    def after_insert(
        self, new_rows: list[dict[str, Any]], sources: list[ParsedRow], ids: list[int]
    ) -> None:
        # an engine refusal (overpayment) names the entry that caused it: report its line
        for entry_id, r, row in zip(ids, new_rows, sources, strict=True):
            self.line_of_entry[entry_id] = row.line
            self.claim_line.setdefault(r["claim"], row.line)

    def finish(self) -> None:
        claim_line = self.claim_line
        for claim_id, exc in _recompute(claim_line, ledger=True, clocks=True):
            seq = getattr(exc, "seq", None)
            line = self.line_of_entry.get(seq, claim_line[claim_id])
            self.errors.append(RowError(line, exc.field, exc.message))


# --------------------------------------------------------------------------- events


class _Events(_Referenced):
    model = LimitationEvent
    claim_fields = ("subrogation_date",)
    plain_fields = ("claim", "obligor", "kind", "date")
    plain_column = "事由"
    plain_reason = "同じ事由（関係人・事由・日付）がすでに登録されています"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.affected: set[int] = set()

    def refusal(
        self, v: dict[str, Any], claim: ClaimRecord, obligor: ObligorRecord
    ) -> tuple[str, str] | None:
        if obligor.role == "collateral_provider":
            return "関係人番号", "物上保証人には時効の管理がありません"
        if v["kind"] in ("discharge", "extinguished"):  # the same rule as the entry form
            why = limitation.event_refusal(v["kind"], obligor.role, obligor.kind, None)
            if why is not None:
                return "事由", why
        if v["date"] < claim.subrogation_date or v["date"] > self.today:
            return "日付", "代位弁済日から今日までの日付にしてください"
        return None

    def fields(self, v: dict[str, Any], claim: ClaimRecord) -> dict[str, Any]:
        return {"kind": v["kind"], "date": v["date"], "until": v["until"], "note": ""}

    def after_insert(
        self, new_rows: list[dict[str, Any]], sources: list[ParsedRow], ids: list[int]
    ) -> None:
        # in file order, so the last of two such events of one obligor wins
        ends = {"discharge": "discharged", "extinguished": "extinguished"}
        bulk_update(
            Obligor,
            ("state",),
            ((ends[r["kind"]], r["obligor"]) for r in new_rows if r["kind"] in ends),
        )
        self.affected.update(r["claim"] for r in new_rows)

    def finish(self) -> None:
        _recompute(self.affected, ledger=False, clocks=True)


# --------------------------------------------------------------------------- contacts


CONTACT_FIELDS = (
    "at",
    "staff",
    "channel",
    "outcome",
    "note",
    "promised_amount",
    "promised_on",
    "next_action",
    "next_on",
)


class _Contacts(_Referenced):
    model = Contact
    plain_fields = ("claim", "at", "channel")
    plain_column = "日時"
    plain_reason = "同じ交渉記録（日時・方法）がすでに登録されています"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.staff = {s.login for s in Staff.select(Staff.login)}

    def refusal(
        self, v: dict[str, Any], claim: ClaimRecord, obligor: ObligorRecord
    ) -> tuple[str, str] | None:
        if v["staff"] not in self.staff:
            return "担当者", f"{v['staff']} は登録された担当者ではありません"
        return None

    def fields(self, v: dict[str, Any], claim: ClaimRecord) -> dict[str, Any]:
        return {**{f: v[f] for f in CONTACT_FIELDS}, "next_done": False}

    def after_insert(
        self, new_rows: list[dict[str, Any]], sources: list[ParsedRow], ids: list[int]
    ) -> None:
        # as when a contact is entered by hand (contacts.refresh_next_done): a next action is
        # done once a later live contact with the same obligor on the claim exists. Adding
        # contacts can only close actions, so one set-wise UPDATE per chunk of claims does it.
        Later = Contact.alias("later")
        for chunk in _chunks(sorted({r["claim"] for r in new_rows})):
            later = Later.select(Later.id).where(
                (Later.claim == Contact.claim)
                & (
                    (Later.obligor.is_null() & Contact.obligor.is_null())
                    | (Later.obligor == Contact.obligor)
                )
                & (Later.cancelled == False)  # noqa: E712
                & ((Later.at > Contact.at) | ((Later.at == Contact.at) & (Later.id > Contact.id)))
            )
            Contact.update(next_done=True).where(
                in_values(Contact.claim, chunk)
                & Contact.next_on.is_null(False)
                & (Contact.next_done == False)  # noqa: E712
                & fn.EXISTS(later)
            ).execute()


# ------------------------------------------------------------------ municipalities

FACT_FIELDS = ("ratio", "compensated_amount", "remittances_paid")


class _Municipalities(_Kind[ClaimRecord]):
    """Loss-compensation facts per claim and municipality (SPEC 4.12). A row names a claim and
    a known municipality; the municipality is linked to the claim if it is not yet, and the
    facts given replace the stored ones (a blank cell keeps what is stored). A row that
    changes nothing is skipped, so importing a file twice changes nothing."""

    model = ClaimMunicipality

    def load(self, rows: list[ParsedRow]) -> None:
        super().load(rows)
        self.links: dict[tuple[int, str], ClaimMunicipality] = {}
        for chunk in _chunks([c.id for c in self.claims.values()]):
            for cm in ClaimMunicipality.select().where(in_values(ClaimMunicipality.claim, chunk)):
                self.links[(cm.claim_id, cm.name)] = cm

    def run(self, rows: list[ParsedRow]) -> None:
        from kyusho.services.waiver import parse_ratio

        self.load(rows)
        for row in rows:
            claim = self.claim(row)
            if claim is None:
                continue
            v = _v(row)
            given = {k: v[k] for k in FACT_FIELDS if v.get(k) is not None}
            if "ratio" in given:
                given["ratio"] = parse_ratio(given["ratio"])
            link = self.links.get((claim.id, v["municipality"]))
            if link is None:
                link = ClaimMunicipality.create(claim=claim.id, name=v["municipality"], **given)
                self.links[(claim.id, link.name)] = link
                before: dict[str, Any] | None = None
            else:
                before = {k: getattr(link, k) for k in FACT_FIELDS}
                if all(before[k] == val for k, val in given.items()):
                    self.report.skipped += 1
                    continue
                ClaimMunicipality.update(**given).where(ClaimMunicipality.id == link.id).execute()
                for k, val in given.items():
                    setattr(link, k, val)
            self.report.added += 1
            audit.record(
                self.session.login,
                "municipality.facts",
                "claim",
                claim.id,
                before=None if before is None else {"municipality": link.name, **before},
                after={"municipality": link.name, **{k: getattr(link, k) for k in FACT_FIELDS}},
                at=self.now,
            )


IMPORTERS: dict[str, type[_Kind[Any]]] = {
    "claims": _Claims,
    "obligors": _Obligors,
    "receipts": _Receipts,
    "events": _Events,
    "contacts": _Contacts,
    "municipalities": _Municipalities,
}
