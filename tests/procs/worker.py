"""A separate OS process that writes to a kyusho database, for the integrity tests (SPEC 6.1).

Run with ``sys.executable``; it acts as the OS login (the database must register it):

    worker.py post DB --claims R5-1,R5-2 --seconds 3 --seed 1 --tag w1 --log OUT
    worker.py import DB KIND FILE --log OUT
    worker.py hold DB --ready FILE --seconds 60

``post`` loops posting receipts and limitation events through the services (not through the
`kyusho` command: one process per post would be too slow to contend). Before each post it
appends a ``begin`` line with the post's unique ref, after each post that returned an
``ok`` line with the stored id, so a test can tell what reported success and what may have
been cut short by SIGKILL. Exceptions are counted by type; the counts go to a final
``summary`` line. Every line is one JSON object, flushed at once.

``hold`` takes the writer's turn (a write transaction) and keeps it, creating ``--ready``
once it holds it: a test stops it with SIGSTOP to play a writer frozen mid-transaction.

``--busy-timeout-ms`` scales the product's busy timeout down (models.db.BUSY_TIMEOUT_MS), so
a test can show lock starvation in seconds rather than minutes.

The module is also the tests' shared helper: ``setup_database`` (a database the workers'
OS login may write), ``start_posters``/``wait_all`` (workers released together by a start
barrier), ``run_kyusho`` (the real command) and ``inspect_database`` (integrity check, audit
verify, rebuild dry run, and one audit event per stored post). Worker tags, and so their
refs, start with "w"; refs of imported rows must not.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- the worker


class Log:
    """One JSON object per line, flushed to the kernel at once (survives SIGKILL)."""

    def __init__(self, path: Path) -> None:
        self._file: TextIO = path.open("a", encoding="utf-8")

    def write(self, **fields: Any) -> None:
        # a stamp for reading the logs in order across processes (CLOCK_MONOTONIC is
        # system-wide on Linux); never the wall clock, which a date-shifted run moves
        fields.setdefault("t_ns", time.monotonic_ns())
        self._file.write(json.dumps(fields, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _wait_for(path: Path | None, timeout: float = 30.0) -> None:
    """A start barrier: the parent creates ``path`` once every worker is ready."""
    if path is None:
        return
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit("start signal never came")
        time.sleep(0.01)


def _location(text: str) -> Path | str:
    """A worker's --db: an SQLite path, or a PostgreSQL URL as it is."""
    return text if text.startswith("postgresql:") else Path(text)


def raw_rows(db: Path | str, sql: str) -> list[tuple[Any, ...]]:
    """Rows straight from the database, without kyusho (dates as ISO text on both)."""
    if isinstance(db, str):
        import psycopg

        with psycopg.connect(db) as conn:
            rows = conn.execute(sql).fetchall()
        return [tuple(v.isoformat() if isinstance(v, date) else v for v in r) for r in rows]
    conn = sqlite3.connect(str(db), timeout=15)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _open(db: Path | str, today: str | None, busy_timeout_ms: int | None = None):
    from kyusho.config import Config
    from kyusho.services.session import open_session

    if busy_timeout_ms is not None:  # to show starvation quickly (scaled-down waits)
        import models.db

        models.db.BUSY_TIMEOUT_MS = busy_timeout_ms

    session = open_session(Config(), db)
    if today:
        session.pin(date.fromisoformat(today))
    return session


def cmd_post(args: argparse.Namespace) -> int:
    from kyusho.services.claims import find_claim
    from kyusho.services.entries import post_receipt
    from kyusho.services.events import add_event

    rng = random.Random(args.seed)
    log = Log(Path(args.log))
    session = _open(_location(args.db), args.today, args.busy_timeout_ms)
    claims = args.claims.split(",")
    first_day = {no: find_claim(no).subrogation_date for no in claims}
    if args.ready:
        Path(args.ready).touch()
    _wait_for(Path(args.go) if args.go else None)
    errors: Counter[str] = Counter()
    messages: dict[str, str] = {}
    posted = 0
    longest = 0.0
    today = session.today()
    deadline = time.monotonic() + args.seconds
    n = 0
    while time.monotonic() < deadline and (args.max_posts is None or n < args.max_posts):
        n += 1
        claim_no = rng.choice(claims)
        start = first_day[claim_no] + timedelta(days=1)
        on = start + timedelta(days=rng.randrange(max(1, (today - start).days)))
        obligor = rng.choice((1, 2))
        ref = f"{args.tag}-{n}"
        began = time.monotonic()
        try:
            if rng.random() < args.receipt_share:
                amount = rng.randrange(1_000, 30_000)
                log.write(op="begin", kind="receipt", ref=ref)
                entry = post_receipt(session, claim_no, on, amount, obligor, ref=ref)
                log.write(
                    op="ok",
                    kind="receipt",
                    ref=ref,
                    id=entry.id,
                    claim=claim_no,
                    date=on.isoformat(),
                    amount=amount,
                    payer=obligor,
                )
            else:
                kind = rng.choice(("acknowledgement", "demand"))
                log.write(op="begin", kind="event", ref=ref)
                event = add_event(
                    session, claim_no, obligor, kind, on, ref=ref, confirm_no_effect=True
                )
                log.write(
                    op="ok",
                    kind="event",
                    ref=ref,
                    id=event.id,
                    claim=claim_no,
                    date=on.isoformat(),
                    event=kind,
                    obligor=obligor,
                )
            posted += 1
        except Exception as exc:  # counted and reported: the test decides what is acceptable
            name = type(exc).__name__
            errors[name] += 1
            messages.setdefault(name, str(exc)[:200])
            log.write(op="error", ref=ref, type=name, message=str(exc)[:200])
        longest = max(longest, time.monotonic() - began)
    summary = {
        "posted": posted,
        "tried": n,
        "errors": dict(errors),
        "messages": messages,
        "longest_wait": round(longest, 3),
    }
    log.write(op="summary", **summary)
    log.close()
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from kyusho.services.imports import import_file

    log = Log(Path(args.log))
    session = _open(_location(args.db), args.today)
    log.write(op="begin", kind=args.kind, file=args.file)

    def progress(stage: str, done: int, total: int) -> None:
        log.write(op="progress", stage=stage, done=done, total=total)

    report = import_file(session, args.kind, Path(args.file), progress=progress)
    log.write(op="ok", kind=args.kind, rows=report.rows, added=report.added, skipped=report.skipped)
    log.close()
    print(json.dumps({"rows": report.rows, "added": report.added, "skipped": report.skipped}))
    return 0


def cmd_hold(args: argparse.Namespace) -> int:
    session = _open(_location(args.db), args.today)
    with session.writing():
        Path(args.ready).touch()
        time.sleep(args.seconds)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="worker.py")
    sub = p.add_subparsers(dest="command", required=True)
    post = sub.add_parser("post")
    post.add_argument("db")
    post.add_argument("--claims", required=True, help="comma-separated claim numbers")
    post.add_argument("--seconds", type=float, default=3.0)
    post.add_argument("--max-posts", type=int, default=None)
    post.add_argument("--seed", type=int, default=0)
    post.add_argument("--tag", required=True, help="prefix of this worker's refs (unique)")
    post.add_argument("--log", required=True)
    post.add_argument("--receipt-share", type=float, default=0.7)
    post.add_argument("--today", help="ISO date the worker takes as today")
    post.add_argument("--busy-timeout-ms", type=int, default=None)
    post.add_argument("--ready", help="file to create once open and ready")
    post.add_argument("--go", help="file to wait for before posting")
    imp = sub.add_parser("import")
    imp.add_argument("db")
    imp.add_argument("kind")
    imp.add_argument("file")
    imp.add_argument("--log", required=True)
    imp.add_argument("--today")
    hold = sub.add_parser("hold")
    hold.add_argument("db")
    hold.add_argument("--ready", required=True, help="file to create once the turn is held")
    hold.add_argument("--seconds", type=float, default=60.0)
    hold.add_argument("--today")
    args = p.parse_args(argv)
    commands = {"post": cmd_post, "import": cmd_import, "hold": cmd_hold}
    return commands[args.command](args)


# --------------------------------------------------------------------------- shared checks


def read_log(path: Path) -> list[dict[str, Any]]:
    """The log's complete lines (a line cut short by SIGKILL is ignored)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


@dataclass
class DatabaseState:
    """What a test checks after other processes wrote (or were killed while writing)."""

    integrity: str
    audit_ok: bool
    audit_problem: str
    audit_events: int
    rebuild_changed: int
    receipt_refs: Counter[str] = field(default_factory=Counter)
    event_refs: Counter[str] = field(default_factory=Counter)
    receipt_ids: dict[str, int] = field(default_factory=dict)
    event_ids: dict[str, int] = field(default_factory=dict)
    audited_receipts: Counter[int] = field(default_factory=Counter)
    audited_events: Counter[int] = field(default_factory=Counter)
    counts: dict[str, int] = field(default_factory=dict)

    def consistent(self) -> list[str]:
        """Every problem found; empty when the database is consistent."""
        problems = []
        if self.integrity != "ok":
            problems.append(f"integrity_check: {self.integrity}")
        if not self.audit_ok:
            problems.append(f"audit verify: {self.audit_problem}")
        if self.rebuild_changed:
            problems.append(f"rebuild would change {self.rebuild_changed} projections")
        # each post is all or nothing: a stored entry has exactly one audit event, and an
        # audit event names an entry that is stored
        posted_receipts = {i for ref, i in self.receipt_ids.items() if _is_worker_ref(ref)}
        posted_events = {i for ref, i in self.event_ids.items() if _is_worker_ref(ref)}
        if posted_receipts != set(self.audited_receipts):
            problems.append(
                f"receipts without audit {sorted(posted_receipts - set(self.audited_receipts))}"
                f", audit without receipt {sorted(set(self.audited_receipts) - posted_receipts)}"
            )
        if posted_events != set(self.audited_events):
            problems.append(
                f"events without audit {sorted(posted_events - set(self.audited_events))}"
                f", audit without event {sorted(set(self.audited_events) - posted_events)}"
            )
        twice = [
            i for c in (self.audited_receipts, self.audited_events) for i, n in c.items() if n > 1
        ]
        if twice:
            problems.append(f"entries audited more than once: {twice[:10]}")
        dup = [r for c in (self.receipt_refs, self.event_refs) for r, n in c.items() if n > 1]
        if dup:
            problems.append(f"refs stored more than once: {dup[:10]}")
        return problems


def _is_worker_ref(ref: str | None) -> bool:
    return bool(ref) and ref.startswith("w")


TABLES = ("claim", "obligor", "ledger_entry", "limitation_event", "contact", "audit_event")


def inspect_database(path: Path | str, login: str) -> DatabaseState:
    """Open ``path`` as ``login`` and gather everything the integrity tests assert on."""
    from kyusho.config import Config
    from kyusho.identity import acting_as
    from kyusho.services.maintenance import rebuild
    from kyusho.services.session import open_session
    from models import audit

    if isinstance(path, str):
        integrity = "ok"  # the server's storage has no integrity_check; the rest is checked
    else:
        integrity = raw_rows(path, "PRAGMA integrity_check")[0][0]
    counts = {t: raw_rows(path, f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES}

    def by_ref(sql: str) -> tuple[Counter[str], dict[str, int]]:
        """How many rows carry each 番号, and the id of (the last) one."""
        refs: Counter[str] = Counter()
        ids: dict[str, int] = {}
        for ref, row_id in raw_rows(path, sql):
            refs[ref] += 1
            ids[ref] = row_id
        return refs, ids

    receipt_refs, receipt_ids = by_ref(
        "SELECT ref, id FROM ledger_entry WHERE kind = 'receipt' AND ref IS NOT NULL"
    )
    event_refs, event_ids = by_ref("SELECT ref, id FROM limitation_event WHERE ref IS NOT NULL")
    audited_receipts: Counter[int] = Counter()
    audited_events: Counter[int] = Counter()
    for action, after in raw_rows(
        path,
        "SELECT action, after FROM audit_event WHERE action IN ('receipt.post', 'event.add')",
    ):
        body = json.loads(after)
        if action == "receipt.post":
            if _is_worker_ref(body.get("ref")):
                audited_receipts[body["entry_id"]] += 1
        elif _is_worker_ref(body.get("ref")):
            audited_events[body["event_id"]] += 1
    with acting_as(login):
        session = open_session(Config(), path)
    try:
        verified = audit.verify()
        changed = rebuild(session, write=False).changed
    finally:
        session.db.close()
    return DatabaseState(
        integrity=integrity,
        audit_ok=verified.ok,
        audit_problem=verified.problem,
        audit_events=verified.checked,
        rebuild_changed=changed,
        receipt_refs=receipt_refs,
        event_refs=event_refs,
        receipt_ids=receipt_ids,
        event_ids=event_ids,
        audited_receipts=audited_receipts,
        audited_events=audited_events,
        counts=counts,
    )


# --------------------------------------------------------------------------- setting up


def worker_command(*args: object) -> list[str]:
    """The command line that runs this file as a separate process."""
    return [sys.executable, str(Path(__file__).resolve()), *(str(a) for a in args)]


def worker_env() -> dict[str, str]:
    """The environment for workers: the repository importable, no configuration file."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KYUSHO"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


@dataclass
class Poster:
    """A running ``worker.py post`` process and its log."""

    process: Any
    log: Path
    tag: str

    def entries(self) -> list[dict[str, Any]]:
        return read_log(self.log)

    def successes(self) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e.get("op") == "ok"]

    def begun(self) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e.get("op") == "begin"]

    def summary(self) -> dict[str, Any] | None:
        return next((e for e in self.entries() if e.get("op") == "summary"), None)


def start_posters(
    folder: Path,
    db: Path,
    claim_nos: list[str],
    count: int,
    *,
    seconds: float,
    seed: int,
    today: date,
    tag: str = "w",
    extra: tuple[object, ...] = (),
) -> list[Poster]:
    """Start ``count`` posting processes and release them together once all are ready."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    go = folder / f"{tag}-go"
    posters = []
    for i in range(count):
        name = f"{tag}{i}"
        log = folder / f"{name}.log"
        command = worker_command(
            "post",
            db,
            "--claims",
            ",".join(claim_nos),
            "--seconds",
            seconds,
            "--seed",
            seed * 1000 + i,
            "--tag",
            name,
            "--log",
            log,
            "--today",
            today.isoformat(),
            "--ready",
            folder / f"{name}.ready",
            "--go",
            go,
            *extra,
        )
        process = subprocess.Popen(
            command,
            env=worker_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        posters.append(Poster(process, log, name))
    deadline = time.monotonic() + 60
    while not all((folder / f"{p.tag}.ready").exists() for p in posters):
        for p in posters:
            if p.process.poll() is not None:
                raise RuntimeError(f"{p.tag} ended before it was ready: {p.process.stderr.read()}")
        if time.monotonic() > deadline:
            raise RuntimeError("workers never got ready")
        time.sleep(0.01)
    go.touch()
    return posters


def wait_all(posters: list[Poster], timeout: float = 60) -> None:
    """Wait for every poster; a worker that crashed shows its stderr."""
    for p in posters:
        p.process.wait(timeout=timeout)
        err = p.process.stderr.read() if p.process.stderr else ""
        if p.process.returncode not in (0, -9):
            raise RuntimeError(f"{p.tag} exited {p.process.returncode}: {err}")


def run_kyusho(cwd: Path, *args: object, timeout: float = 60) -> Any:
    """`kyusho ARGS` as a real process of the OS login, with an empty configuration file."""
    import subprocess

    exe = Path(sys.executable).with_name("kyusho")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kyusho"]
    empty = cwd / "empty-config.toml"
    if not empty.exists():
        empty.write_text("", encoding="utf-8")
    env = worker_env()
    env["KYUSHO_CONFIG"] = str(empty)
    return subprocess.run(
        [*cmd, *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def csv_bytes(rows: list[list[object]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


CLAIM_HEADER = [
    "求償権番号",
    "代位弁済日",
    "代位弁済元金",
    "代位弁済利息",
    "委託契約日",
    "金融機関",
    "担当者",
]
OBLIGOR_HEADER = ["求償権番号", "関係人番号", "区分", "氏名", "カナ", "法人個人", "住所"]


def claims_csv(claim_nos: list[str], staff: str, subrogated: date) -> bytes:
    """Claims large enough that small receipts never pay them off."""
    rows: list[list[object]] = [CLAIM_HEADER]
    for i, no in enumerate(claim_nos):
        day = subrogated + timedelta(days=i % 60)
        rows.append([no, day.isoformat(), 50_000_000, 0, "2020-01-06", "サンプル銀行", staff])
    return csv_bytes(rows)


def obligors_csv(claim_nos: list[str]) -> bytes:
    """A corporate principal debtor and an individual joint guarantor on every claim."""
    rows: list[list[object]] = [OBLIGOR_HEADER]
    for i, no in enumerate(claim_nos):
        rows.append([no, 1, "主債務者", f"株式会社テスト{i}", f"テスト{i}", "法人", "東京都"])
        rows.append([no, 2, "連帯保証人", f"山田太郎{i}", f"ヤマダタロウ{i}", "個人", "東京都"])
    return csv_bytes(rows)


def setup_database(
    path: Path | str, claim_nos: list[str], *, login: str, today: date, subrogated: date
) -> None:
    """A new database where ``login`` is admin, with ``claim_nos`` and two obligors each."""
    from kyusho.config import Config
    from kyusho.identity import acting_as
    from kyusho.services.imports import import_bytes
    from kyusho.services.session import open_session
    from kyusho.services.staff import init_database

    init_database(path, login, "テスト管理者")
    with acting_as(login):
        session = open_session(Config(), path)
    session.pin(today)
    try:
        if claim_nos:
            import_bytes(session, "claims", claims_csv(claim_nos, login, subrogated))
            import_bytes(session, "obligors", obligors_csv(claim_nos))
    finally:
        session.db.close()


if __name__ == "__main__":
    sys.exit(main())
