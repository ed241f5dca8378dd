"""The performance benchmark of SPEC 6.3 (``python -m bench``).

Builds a scale-L database the way a 協会 would (``kyusho init``, ``kyusho staff add``, then the
five CSV files of bench.scale through the real import service, with every check of SPEC
5.4), then measures every row of SPEC 6.3's table. Each figure is also given as a ratio to the
same work done with plain SQL through ``sqlite3`` in the same run, so a slow figure shows
whether the time goes to the database or to kyusho's own layers.

The TUI rows are measured headlessly with Textual's Pilot (``App.run_test``) in a fresh child
process, as a user would start ``kyusho``: start to the first usable worklist, F3 and End to
the last claim, typing a search, opening a claim; resident memory is read in that process with
the TUI open. Nothing here is a test: the suite never asserts a time.

Only the standard library is imported at module level, so a child process started for the
TUI pays the same imports as ``kyusho`` itself.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import inspect
import io
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from kyusho.clock import SYSTEM_CLOCK
from kyusho.errors import InputError

ROWS: list[tuple[str, str, float, str]] = [
    ("start", "kyusho start to the first usable worklist", 1.5, "s"),
    ("claim_list_last", "open the claim list and jump to its last row", 0.3, "s"),
    ("search", "search claims by name, kana or number prefix", 0.1, "s"),
    ("open_claim", "open a claim (50 receipts, 4 obligors, clocks)", 0.05, "s"),
    ("open_claim_warm", "open a claim again: median of 10 in one process", 0.025, "s"),
    ("open_claim_warm_worst", "open a claim again: worst of those 10", 0.05, "s"),
    ("post_receipt", "post a receipt (recompute, audit, commit)", 0.05, "s"),
    ("limitation_alerts", "limitation alerts across all claims", 0.2, "s"),
    ("fy_report", "the 年度 report", 2.0, "s"),
    ("import_claims", "import 200,000 claims from CSV", 60.0, "s"),
    ("memory", "resident memory with the TUI open", 250.0, "MB"),
]
KINDS = ("claims", "obligors", "receipts", "events", "contacts")
BLOCK = 200  # the claim list's block size (VirtualTable default)
OPEN = ("active", "suspended")
BUILD_FILE = "build.json"
# search input as staff type it: hiragana for kana (the IME's default), kanji, a number prefix
SEARCH_NAME = "佐藤"
SEARCH_KANA = "すずき"
WARM_OPENS = 10  # opens of the same claim in one process, after the first
WAIT_ENV = "KYUSHO_BENCH_WAIT"  # seconds a TUI step may take before the run gives up


def wait_limit_s() -> int:
    """The TUI steps' time limit from $KYUSHO_BENCH_WAIT (whole seconds, default 300)."""
    text = os.environ.get(WAIT_ENV, "300").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 86_400:
        raise InputError(WAIT_ENV, f"1〜86400 の秒数（整数）を指定してください（値: {text!r}）")
    return int(text)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    """Median of ``repeat`` runs (and every run): the first run includes a cold page cache."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        dt, result = _timed(fn)
        times.append(dt)
    return statistics.median(times), [round(t, 6) for t in times], result


def _rss_mb() -> float:
    """Resident memory of this process now (VmRSS), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss survives exec on Linux, so a
    child would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """What the figures were taken on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_mb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_mb = int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    versions = {}
    for mod in ("textual", "peewee"):
        try:
            versions[mod] = importlib.import_module(mod).__version__
        except Exception:  # noqa: BLE001 - informative only
            versions[mod] = None
    return {
        "nproc": cores,
        "cpu": cpu,
        "ram_mb": ram_mb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        **versions,
    }


# ----------------------------------------------------------------------------- plain SQL


def _plain(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the product's pragmas (the baseline's side)."""
    conn = sqlite3.connect(str(path), timeout=15, isolation_level=None)
    for pragma in (
        "journal_mode=wal",
        "busy_timeout=15000",
        "foreign_keys=1",
        "synchronous=normal",
        "cache_size=-32000",
        "temp_store=memory",
    ):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def sql_worklist(conn: sqlite3.Connection, today: date, alert_days: int, login: str) -> int:
    """The worklist's reads in plain SQL, as one would write them (all staff, at most 500
    items of each kind); returns the number of rows read."""
    from datetime import timedelta

    t = today.isoformat()
    horizon = (today + timedelta(days=alert_days)).isoformat()
    n = len(
        conn.execute(
            "SELECT c.claim_no, o.obligor_no, o.name, o.role, o.completes_on, o.lim_state,"
            " o.lim_via_principal FROM obligor o JOIN claim c ON c.id = o.claim_id"
            " WHERE o.completes_on <= ? AND o.lim_state = 'running' AND o.liable = 1"
            " AND c.status IN ('active','suspended')"
            " AND NOT (o.completes_on < ? AND c.id IN"
            "  (SELECT claim_id FROM decision WHERE status IN ('proposed','approved')))"
            " ORDER BY o.completes_on, c.claim_no, o.obligor_no LIMIT 500",
            (horizon, t),
        ).fetchall()
    )
    n += len(
        conn.execute(
            "SELECT ct.*, c.claim_no, o.name, o.obligor_no FROM contact ct"
            " JOIN claim c ON c.id = ct.claim_id LEFT JOIN obligor o ON o.id = ct.obligor_id"
            " WHERE ct.next_on <= ? AND ct.next_done = 0 AND c.status IN ('active','suspended')"
            " ORDER BY ct.next_on LIMIT 500",
            (t,),
        ).fetchall()
    )
    n += len(
        conn.execute(
            "SELECT ct.*, c.claim_no, o.name, o.obligor_no FROM contact ct"
            " JOIN claim c ON c.id = ct.claim_id LEFT JOIN obligor o ON o.id = ct.obligor_id"
            " WHERE ct.promised_on < ? AND c.status IN ('active','suspended')"
            " AND NOT EXISTS (SELECT 1 FROM ledger_entry e"
            "  WHERE e.claim_id = ct.claim_id AND e.payer_id = ct.obligor_id"
            "  AND e.kind = 'receipt' AND e.cancelled = 0 AND e.date >= date(ct.at)"
            "  AND e.date <= ct.promised_on AND e.amount >= ct.promised_amount)"
            " ORDER BY ct.promised_on LIMIT 500",
            (t,),
        ).fetchall()
    )
    # plans with what was received since their first month (the arrears rule needs totals)
    n += len(
        conn.execute(
            "SELECT p.*, c.claim_no, o.name, o.obligor_no, COALESCE(SUM(e.amount), 0)"
            " FROM plan p JOIN claim c ON c.id = p.claim_id JOIN obligor o ON o.id = p.obligor_id"
            " LEFT JOIN ledger_entry e ON e.claim_id = p.claim_id AND e.payer_id = p.obligor_id"
            " AND e.kind = 'receipt' AND e.cancelled = 0 AND e.date >= p.first_month"
            " AND e.date <= ?"
            " WHERE p.status = 'active' AND c.status IN ('active','suspended') GROUP BY p.id",
            (t,),
        ).fetchall()
    )
    n += len(
        conn.execute(
            "SELECT claim_no, review_on, debtor_name FROM claim"
            " WHERE status = 'suspended' AND review_on <= ? ORDER BY review_on LIMIT 500",
            (t,),
        ).fetchall()
    )
    n += len(
        conn.execute(
            "SELECT d.*, c.claim_no FROM decision d JOIN claim c ON c.id = d.claim_id"
            " WHERE d.status = 'proposed' AND d.proposer != ? LIMIT 500",
            (login,),
        ).fetchall()
    )
    return n


def sql_limitation_due(conn: sqlite3.Connection, today: date, within: int) -> int:
    from datetime import timedelta

    horizon = (today + timedelta(days=within)).isoformat()
    return len(
        conn.execute(
            "SELECT o.*, c.claim_no, c.status FROM obligor o JOIN claim c ON c.id = o.claim_id"
            " WHERE o.completes_on <= ? AND o.lim_state = 'running' AND o.liable = 1"
            " AND c.status IN ('active','suspended')"
            " ORDER BY o.completes_on, c.claim_no, o.obligor_no",
            (horizon,),
        ).fetchall()
    )


_LIST_SQL = (
    "SELECT c.id, c.claim_no, c.debtor_name, c.debtor_kana, c.status, c.subrogation_date,"
    " c.principal_outstanding, s.login FROM claim c LEFT JOIN staff s ON c.staff_id = s.id"
)


def sql_claim_list_last(conn: sqlite3.Connection) -> str:
    """Count the claims and fetch the last block, as one writes it in SQL (newest first)."""
    count = conn.execute("SELECT COUNT(id) FROM claim").fetchone()[0]
    last_block = count - (count - 1) // BLOCK * BLOCK
    rows = conn.execute(_LIST_SQL + " ORDER BY c.claim_no DESC LIMIT ?", (last_block,)).fetchall()
    return rows[0][1]


def sql_search(conn: sqlite3.Connection, text: str) -> int:
    """The claim list's search (count and first block) as one would write it in SQL."""
    import unicodedata

    from kyusho.rules.text import kana_key, name_key

    high = "\U0010ffff"
    no = unicodedata.normalize("NFKC", text).strip().upper()
    nk, kk = name_key(text), kana_key(text)
    where = (
        "(c.claim_no >= ? AND c.claim_no < ?) OR c.id IN (SELECT claim_id FROM obligor"
        " WHERE (name_key >= ? AND name_key < ?) OR (kana_key >= ? AND kana_key < ?))"
    )
    args = (no, no + high, nk, nk + high, kk, kk + high)
    count = conn.execute(f"SELECT COUNT(c.id) FROM claim c WHERE {where}", args).fetchone()[0]
    conn.execute(
        f"{_LIST_SQL} WHERE {where} ORDER BY c.claim_no LIMIT ? OFFSET 0", (*args, BLOCK)
    ).fetchall()
    return count


def sql_open_claim(conn: sqlite3.Connection, claim_no: str) -> int:
    """Every row the claim detail shows, read with plain SQL (no ledger or clock engine)."""
    claim = conn.execute("SELECT * FROM claim WHERE claim_no = ?", (claim_no,)).fetchone()
    cid = claim[0]
    n = 1
    for sql in (
        "SELECT * FROM obligor WHERE claim_id = ? ORDER BY obligor_no",
        "SELECT * FROM ledger_entry WHERE claim_id = ? ORDER BY date, id",
        "SELECT * FROM limitation_event WHERE claim_id = ? ORDER BY date, id",
        "SELECT * FROM claim_municipality WHERE claim_id = ? ORDER BY id",
        "SELECT * FROM plan WHERE claim_id = ? ORDER BY id",
        "SELECT * FROM contact WHERE claim_id = ? ORDER BY at DESC",
        "SELECT * FROM decision WHERE claim_id = ? ORDER BY id",
    ):
        n += len(conn.execute(sql, (cid,)).fetchall())
    n += len(conn.execute("SELECT login FROM staff WHERE id = ?", (claim[15],)).fetchall())
    n += len(
        conn.execute(
            "SELECT * FROM audit_event WHERE entity = 'claim' AND entity_id = ?"
            " ORDER BY seq DESC LIMIT 200",
            (str(cid),),
        ).fetchall()
    )
    return n


def sql_post_receipt(conn: sqlite3.Connection, claim_no: str, on: date, login: str) -> None:
    """Post a receipt in plain SQL: insert, re-read the ledger, write allocations, the
    claim's and the payer's projections, an audit event chained by sha256, commit."""
    now = SYSTEM_CLOCK.now().isoformat()
    conn.execute("BEGIN IMMEDIATE")
    try:
        claim = conn.execute(
            "SELECT id, principal_outstanding FROM claim WHERE claim_no = ?", (claim_no,)
        ).fetchone()
        cid = claim[0]
        payer = conn.execute(
            "SELECT id FROM obligor WHERE claim_id = ? AND obligor_no = 1", (cid,)
        ).fetchone()[0]
        cur = conn.execute(
            "INSERT INTO ledger_entry (claim_id, kind, date, amount, payer_id, method, servicer,"
            " ref, note, post_write_off, cancelled, created_by, created_at, alloc_costs,"
            " alloc_damages, alloc_principal) VALUES (?, 'receipt', ?, 10000, ?, 'transfer', 0,"
            " NULL, '', 0, 0, ?, ?, 0, 0, 0)",
            (cid, on.isoformat(), payer, login, now),
        )
        entry = cur.lastrowid
        rows = conn.execute(
            "SELECT * FROM ledger_entry WHERE claim_id = ? ORDER BY date, id", (cid,)
        ).fetchall()
        conn.execute(
            "UPDATE ledger_entry SET alloc_costs = 0, alloc_damages = 0, alloc_principal = 10000"
            " WHERE id = ?",
            (entry,),
        )
        conn.execute(
            "UPDATE claim SET principal_outstanding = ?, last_entry_on = ?, last_receipt_on = ?"
            " WHERE id = ?",
            (claim[1] - 10000, on.isoformat(), on.isoformat(), cid),
        )
        conn.execute("SELECT * FROM obligor WHERE claim_id = ?", (cid,)).fetchall()
        conn.execute(
            "SELECT * FROM limitation_event WHERE claim_id = ? AND cancelled = 0", (cid,)
        ).fetchall()
        conn.execute(
            "UPDATE obligor SET lim_basis = 'acknowledgement', lim_basis_date = ? WHERE id = ?",
            (on.isoformat(), payer),
        )
        head = conn.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
        seq, prev = (int(head[0].split(":", 1)[0]), head[0].split(":", 1)[1]) if head else (0, "0")
        after = json.dumps({"entry_id": entry, "rows": len(rows)}, sort_keys=True)
        body = json.dumps(
            {"seq": seq + 1, "at": now, "login": login, "after": after},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        digest = hashlib.sha256((prev + body).encode()).hexdigest()
        conn.execute(
            "INSERT INTO audit_event (seq, at, login, action, entity, entity_id, after,"
            " prev_hash, hash) VALUES (?, ?, ?, 'receipt.post', 'claim', ?, ?, ?, ?)",
            (seq + 1, now, login, str(cid), after, prev, digest),
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)",
            (f"{seq + 1}:{digest}",),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def fiscal_year(today: date) -> int:
    """The last complete 年度 (April to March) before ``today``."""
    return (today.year if today.month >= 4 else today.year - 1) - 1


def sql_fy_report(conn: sqlite3.Connection, fy: int) -> dict[str, Any]:
    """The 年度 report's figures (SPEC 4.14) for FY ``fy`` and the year before, in SQL."""
    out: dict[str, Any] = {}
    for year in (fy, fy - 1):
        start, end = f"{year}-04-01", f"{year + 1}-03-31"
        row: dict[str, Any] = {}
        row["subrogation"] = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(loan_principal + loan_interest), 0) FROM claim"
            " WHERE subrogation_date BETWEEN ? AND ?",
            (start, end),
        ).fetchone()
        row["recovery"] = conn.execute(
            "SELECT COUNT(DISTINCT claim_id), COALESCE(SUM(amount), 0) FROM ledger_entry"
            " WHERE kind = 'receipt' AND cancelled = 0 AND date BETWEEN ? AND ?",
            (start, end),
        ).fetchone()
        row["post_write_off"] = conn.execute(
            "SELECT COUNT(DISTINCT claim_id), COALESCE(SUM(amount), 0) FROM ledger_entry"
            " WHERE kind = 'receipt' AND cancelled = 0 AND post_write_off = 1"
            " AND date BETWEEN ? AND ?",
            (start, end),
        ).fetchone()
        row["decisions"] = conn.execute(
            "SELECT kind, COUNT(*), COALESCE(SUM(json_extract(effect, '$.amount')), 0)"
            " FROM decision WHERE status = 'approved' AND substr(decided_at, 1, 10)"
            " BETWEEN ? AND ? GROUP BY kind",
            (start, end),
        ).fetchall()
        row["balance_at_end"] = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(c.loan_principal + c.loan_interest"
            " - COALESCE(p.alloc, 0)), 0) FROM claim c LEFT JOIN (SELECT claim_id,"
            " SUM(alloc_principal) AS alloc FROM ledger_entry WHERE cancelled = 0"
            " AND date <= ? GROUP BY claim_id) p ON p.claim_id = c.id"
            " WHERE c.subrogation_date <= ? AND NOT (c.status IN"
            " ('written_off','waived','paid') AND c.status_since <= ?)",
            (end, end, end),
        ).fetchone()
        row["by_month"] = conn.execute(
            "SELECT substr(date, 1, 7), COUNT(*), SUM(amount) FROM ledger_entry"
            " WHERE kind = 'receipt' AND cancelled = 0 AND date BETWEEN ? AND ? GROUP BY 1",
            (start, end),
        ).fetchall()
        row["by_staff"] = conn.execute(
            "SELECT s.login, SUM(e.amount) FROM ledger_entry e JOIN claim c"
            " ON c.id = e.claim_id LEFT JOIN staff s ON s.id = c.staff_id"
            " WHERE e.kind = 'receipt' AND e.cancelled = 0 AND e.date BETWEEN ? AND ?"
            " GROUP BY s.login",
            (start, end),
        ).fetchall()
        row["completions"] = conn.execute(
            "SELECT COUNT(*) FROM obligor WHERE lim_state = 'running'"
            " AND completes_on BETWEEN ? AND ?",
            (start, end),
        ).fetchone()
        out[str(year)] = row
    return out


def sql_import_claims(path: Path, csv_path: Path, login: str) -> int:
    """Insert the claims file with plain sqlite3: csv module, executemany, one transaction."""
    import csv

    conn = _plain(path)
    staff = dict(conn.execute("SELECT login, id FROM staff"))
    order = {"法定": "statutory", "元金": "principal_first"}
    now = SYSTEM_CLOCK.now().isoformat()
    text = csv_path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    rows, munis = [], []
    for r in reader:
        loan_p, loan_i = int(r[2]), int(r[3])
        rows.append(
            (
                r[0],
                r[1],
                loan_p,
                loan_i,
                r[4] or "14.0",
                order.get(r[5], "statutory"),
                r[6],
                r[7],
                r[8] or None,
                r[9] or None,
                r[10] or None,
                int(r[11]) if r[11] else None,
                r[12] or None,
                staff[r[14]],
                "active",
                r[1],
                "",
                1,
                now,
                login,
                loan_p + loan_i,
                0,
                0,
                r[1],
                "",
                "",
            )
        )
        if r[13]:
            munis.append((r[0], r[13]))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO claim (claim_no, subrogation_date, loan_principal, loan_interest,"
        " damages_rate, allocation_order, contract_date, lender, programme, insurance_type,"
        " cover_ratio, insurance_paid, insurance_paid_on, staff_id, status, status_since, note,"
        " version, updated_at, updated_by, principal_outstanding, costs_outstanding,"
        " damages_at_last, last_entry_on, debtor_name, debtor_kana)"
        " VALUES (" + ", ".join("?" * 26) + ")",
        rows,
    )
    ids = dict(conn.execute("SELECT claim_no, id FROM claim"))
    conn.executemany(
        "INSERT INTO claim_municipality (claim_id, name) VALUES (?, ?)",
        [(ids[no], name) for no, names in munis for name in names.split("・")],
    )
    conn.execute("COMMIT")
    conn.close()
    return len(rows)


# ----------------------------------------------------------------------------- building


def _quiet_cli(argv: list[str]) -> int:
    """Run a ``kyusho`` subcommand in-process, keeping its messages off the report."""
    from kyusho import cli

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli.main(argv)
    if code != 0:
        raise RuntimeError(f"kyusho {' '.join(argv)} failed ({code}): {buf.getvalue()}")
    return code


def _remove_db(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)


def _target(work_dir: Path, db_url: str | None) -> Path | str:
    """The benchmark's database: the SQLite file in ``work_dir``, or the PostgreSQL URL."""
    return db_url if db_url else work_dir / "kyusho.db"


def build(
    work_dir: Path, *, claims: int, seed: int, today: date, db_url: str | None = None
) -> dict[str, Any]:
    """Generate the CSV files and build the database through ``kyusho init``, ``staff add``
    and the import service; returns the build's figures (also saved as build.json).

    With ``db_url`` the database is that (empty) PostgreSQL database, built by the OS user
    who owns it; the plain-sqlite3 import baseline is then not measured."""
    from bench.scale import generate, staff_members
    from kyusho.config import Config
    from kyusho.identity import os_login
    from kyusho.services.imports import import_file
    from kyusho.services.session import open_session

    work_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(work_dir, 0o770)
    db = _target(work_dir, db_url)
    base = work_dir / "baseline-import.db"
    if isinstance(db, Path):
        _remove_db(db)
    _remove_db(base)
    info: dict[str, Any] = {"claims": claims, "seed": seed, "today": today.isoformat()}
    if db_url:
        info["db_url"] = db_url
    _log(f"生成: 求償権 {claims:,} 件 (seed {seed}, {today})")
    info["generate_s"], paths = _timed(
        lambda: generate(work_dir / "csv", claims=claims, seed=seed, today=today)
    )
    _quiet_cli(["--db", str(db), "init", "--name", "ベンチマーク管理者"])
    for login, name, role in staff_members(claims):
        _quiet_cli(["--db", str(db), "staff", "add", login, "--name", name, "--role", role])

    if isinstance(db, Path):
        # the baseline imports the same claims into an empty copy of the same schema
        src = _plain(db)
        dst = _plain(base)
        for (sql,) in src.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
        ):
            dst.execute(sql)
        dst.executemany(
            "INSERT INTO staff VALUES (?, ?, ?, ?, ?, ?)", src.execute("SELECT * FROM staff")
        )
        src.close()
        dst.close()

    session = open_session(Config(), db)
    session.pin(today)
    info["import"] = {}
    for kind in KINDS:
        _log(f"取込: {kind}")
        dt, report = _timed(lambda kind=kind: import_file(session, kind, paths[kind]))
        info["import"][kind] = {"rows": report.rows, "added": report.added, "s": round(dt, 3)}
        _log(f"  {report.added:,} 件 {dt:.1f} 秒")
    info["baseline_import_claims_s"] = None
    if isinstance(db, Path):
        info["baseline_import_claims_s"], _ = _timed(
            lambda: sql_import_claims(base, paths["claims"], session.login)
        )
        _remove_db(base)
    info["plans_s"], info["plans"] = _timed(lambda: _add_plans(session, today))
    session.db.close()
    info["login"] = os_login()
    (work_dir / BUILD_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2))
    return info


def _add_plans(session, today: date) -> int:
    """Instalment plans for a quarter of the claims paid monthly, through the plan service
    (plans are not imported): they make the worklist's arrears check realistic."""
    from kyusho.services.plans import add_plan

    rows = session.db.execute_sql(
        "SELECT c.claim_no, MIN(o.obligor_no), MIN(e.date), MIN(e.amount) FROM ledger_entry e"
        " JOIN claim c ON c.id = e.claim_id JOIN obligor o ON o.id = e.payer_id"
        " WHERE e.kind = 'receipt' GROUP BY c.id, c.claim_no"
        " HAVING COUNT(*) >= 8 AND COUNT(DISTINCT e.payer_id) = 1"
        " AND COUNT(DISTINCT e.amount) = 1 ORDER BY c.id"
    ).fetchall()
    added = 0
    for i, (claim_no, obligor_no, first, amount) in enumerate(rows):
        if i % 4:
            continue
        first_day = first if isinstance(first, date) else date.fromisoformat(first)
        add_plan(session, claim_no, obligor_no, first_day, amount, min(first_day.day, 28))
        added += 1
    return added


# ----------------------------------------------------------------------------- TUI child


async def _until(pred: Callable[[], bool], what: str, timeout: int | None = None) -> None:
    """Wait (letting the app run) until ``pred()`` holds; ``what`` names the step on timeout."""
    import asyncio

    timeout = wait_limit_s() if timeout is None else timeout
    end = time.perf_counter() + timeout
    while True:
        try:
            if pred():
                return
        except Exception:  # noqa: BLE001 - a widget not mounted yet
            pass
        if time.perf_counter() > end:
            raise TimeoutError(f"the TUI did not get there in {timeout:.0f} s: {what}")
        await asyncio.sleep(0.002)


async def _press_until(pilot: Any, key: str, pred: Callable[[], bool], what: str) -> float:
    """Seconds from sending ``key`` until ``pred()`` holds.

    Pilot's ``press`` returns only once the app has been idle for a while (at least two
    20 ms sleeps), so it runs in its own task while this polls: the figure is the app's.
    """
    import asyncio

    t = time.perf_counter()
    task = asyncio.create_task(pilot.press(key))
    await _until(pred, what)
    elapsed = time.perf_counter() - t
    await task
    return elapsed


async def _tui_run(params: dict[str, Any]) -> dict[str, Any]:
    """The TUI figures, in this (fresh) process: started as ``kyusho`` would be."""
    from kyusho.config import Config
    from kyusho.services.session import open_session

    out: dict[str, Any] = {}
    text = params["db"]
    db: Path | str = text if text.startswith("postgresql:") else Path(text)
    session = open_session(Config(), db)
    from textual.widgets import DataTable, Input, Static

    from kyusho.app import KyushoApp
    from screens.claim_detail import ClaimDetailScreen
    from screens.claim_list import ClaimListScreen
    from screens.home import HomeScreen
    from screens.virtual_table import VirtualTable

    t_app = time.perf_counter()
    app = KyushoApp(session)
    async with app.run_test(headless=True, size=(80, 24)) as pilot:

        def worklist_ready() -> bool:
            screen = app.screen
            if not isinstance(screen, HomeScreen):
                return False
            title = str(screen.query_one("#home-title", Static).content)
            return title.endswith("件") and not screen.query_one(DataTable).loading

        await _until(worklist_ready, "worklist")
        out["start_wall"] = time.time()
        out["start_in_app_s"] = time.perf_counter() - t_app
        out["worklist_rows"] = app.screen.query_one(DataTable).row_count
        out["rss_after_start_mb"] = _rss_mb()

        await pilot.pause()
        out["claim_list_count_s"] = await _press_until(
            pilot,
            "f3",
            lambda: (
                isinstance(app.screen, ClaimListScreen)
                and app.screen.query_one(VirtualTable).row_count is not None
            ),
            "claim list count",
        )
        table = app.screen.query_one(VirtualTable)
        out["claim_list_end_s"] = await _press_until(
            pilot, "end", lambda: table.cursor_row_key == params["last_claim"], "last row"
        )
        out["claim_list_last_s"] = out["claim_list_count_s"] + out["claim_list_end_s"]
        out["claim_list_rows"] = table.row_count

        screen = app.screen
        search = screen.query_one("#search", Input)

        def shows(text: str) -> bool:
            src = table.source
            return (
                src is not None
                and src.query.text == text
                and table.row_count is not None
                and (table.row_count == 0 or table.get_row(0) is not None)
            )

        async def clear() -> None:
            search.value = ""
            await _until(lambda: shows(""), "search cleared")

        await pilot.press("slash")
        searches: dict[str, Any] = {}
        for label, prefix in params["prefixes"]:
            # typed up to the last character and settled (as after a pause in typing),
            # then the last key: the time until the list shows what was typed
            await clear()
            search.value = prefix[:-1]
            await _until(lambda prefix=prefix: shows(prefix[:-1]), f"typed {prefix[:-1]}")
            await pilot.press("end")
            await pilot.pause()
            elapsed = await _press_until(
                pilot, prefix[-1], lambda prefix=prefix: shows(prefix), f"search {prefix}"
            )
            searches[label] = {"s": elapsed, "text": prefix, "hits": table.row_count}
        out["search"] = searches

        claim_no = params["open_claim"]
        search.value = claim_no
        await pilot.press("enter")
        await _until(
            lambda: shows(claim_no) and table.get_row(0)[0] == claim_no and app.focused is table,
            f"list shows {claim_no}",
        )
        await pilot.pause()

        def detail_shown() -> bool:
            # the summary (balances) and the first tab (each obligor's clock) are on screen
            screen = app.screen
            return (
                isinstance(screen, ClaimDetailScreen)
                and screen.view is not None
                and screen.query_one("#table-obligors", DataTable).row_count > 0
            )

        out["open_claim_s"] = await _press_until(pilot, "enter", detail_shown, "claim detail")
        out["open_claim_entries"] = len(app.screen.view.entries)
        await pilot.pause()
        # the same claim opened again and again, as a collector does all day: back to the
        # list (Esc), then Enter until the detail is shown, ten times in this warm process
        warm = []
        for _ in range(WARM_OPENS):
            await pilot.press("escape")
            await _until(
                lambda: isinstance(app.screen, ClaimListScreen) and app.focused is table,
                "back to the list",
            )
            await pilot.pause()
            warm.append(await _press_until(pilot, "enter", detail_shown, "claim detail again"))
            await pilot.pause()
        out["open_claim_warm"] = warm
        out["rss_mb"] = _rss_mb()
        out["peak_rss_mb"] = _peak_rss_mb()
    return out


def _tui_main(params_path: str) -> int:
    """Entry point of the TUI child process: writes its figures next to its parameters."""
    import asyncio

    params = json.loads(Path(params_path).read_text())
    result = asyncio.run(_tui_run(params))
    Path(params["out"]).write_text(json.dumps(result))
    return 0


def _child_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.pop("TEXTUAL", None)
    return env


def run_tui(work_dir: Path, params: dict[str, Any], runs: int) -> dict[str, Any]:
    """The TUI figures: the median of ``runs`` fresh processes (a single run can catch a
    garbage collection or a live-refresh poll), with every run kept."""
    results = [run_tui_child(work_dir, params) for _ in range(max(1, runs))]

    def med(get: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(get(r) for r in results)

    out: dict[str, Any] = dict(results[0])
    for key, value in results[0].items():
        if isinstance(value, float):
            out[key] = med(lambda r, key=key: r[key])
    out["search"] = {
        label: {**first, "s": med(lambda r, label=label: r["search"][label]["s"])}
        for label, first in results[0]["search"].items()
    }
    out["open_claim_warm_median_s"] = med(lambda r: statistics.median(r["open_claim_warm"]))
    out["open_claim_warm_worst_s"] = med(lambda r: max(r["open_claim_warm"]))
    out["runs"] = [
        {
            k: v
            for k, v in r.items()
            if k in ("start_s", "claim_list_last_s", "open_claim_s", "open_claim_warm")
        }
        | {"search": {k: v["s"] for k, v in r["search"].items()}, "rss_mb": r["rss_mb"]}
        for r in results
    ]
    return out


def run_tui_child(work_dir: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Start a fresh Python process that opens the TUI headlessly and measures it."""
    params = {**params, "out": str(work_dir / "tui-result.json")}
    params_path = work_dir / "tui-params.json"
    params_path.write_text(json.dumps(params, ensure_ascii=False))
    Path(params["out"]).unlink(missing_ok=True)
    code = "import sys; from bench.benchmark import _tui_main; sys.exit(_tui_main(sys.argv[1]))"
    spawned = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(params_path)],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=wait_limit_s() * 4,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the TUI child failed:\n{proc.stderr[-4000:]}")
    result = json.loads(Path(params["out"]).read_text())
    result["start_s"] = result.pop("start_wall") - spawned
    return result


_BASELINE_CHILD = """
import json, sqlite3, sys, time
from datetime import date
from bench.benchmark import _plain, _rss_mb, sql_worklist
p = json.loads(sys.argv[1])
conn = _plain(p["db"])
n = sql_worklist(conn, date.fromisoformat(p["today"]), p["days"], p["login"])
print(json.dumps({"done": time.time(), "rows": n, "rss_mb": _rss_mb()}))
"""


def run_baseline_child(db: Path, today: date, days: int, login: str) -> dict[str, Any]:
    """Plain Python + sqlite3 in a fresh process: connect and read the worklist."""
    args = json.dumps({"db": str(db), "today": today.isoformat(), "days": days, "login": login})
    spawned = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", _BASELINE_CHILD, args],
        env=_child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["start_s"] = result.pop("done") - spawned
    return result


# ----------------------------------------------------------------------------- measuring


def _product_fy_report() -> tuple[str, Callable[..., Any]] | None:
    """The product's 年度 report function, if this version of kyusho has one."""
    try:
        mod = importlib.import_module("kyusho.services.reports")
    except ImportError:
        return None
    for name in ("fy_report", "fiscal_year_report", "year_report", "annual_report"):
        fn = getattr(mod, name, None)
        if callable(fn):
            return f"kyusho.services.reports.{name}", fn
    return None


def _row(
    key: str,
    measured: float | None,
    baseline: float | None,
    *,
    how: str,
    baseline_how: str,
    detail: dict[str, Any] | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    _key, operation, target, unit = next(r for r in ROWS if r[0] == key)
    ratio = measured / baseline if measured is not None and baseline else None
    return {
        "key": key,
        "operation": label or operation,
        "target": target,
        "unit": unit,
        "measured": None if measured is None else round(measured, 6),
        "baseline": None if baseline is None else round(baseline, 6),
        "ratio": None if ratio is None else round(ratio, 2),
        "pass": None if measured is None else measured <= target,
        "how": how,
        "baseline_how": baseline_how,
        "detail": detail or {},
    }


def _reference_claims(claims: int) -> list[str]:
    """The generator's reference claims (through the models: either database)."""
    from bench.scale import reference_claims
    from models.schema import Claim

    out = []
    for n in reference_claims(claims):
        row = Claim.select(Claim.claim_no).where(Claim.claim_no.endswith(f"-{n:06d}")).first()
        if row:
            out.append(row.claim_no)
    return out


def _shape(claim_no: str) -> tuple[int, int, str]:
    """A claim's obligors and ledger entries, and the last claim number (either database)."""
    from peewee import fn

    from models.schema import Claim, LedgerEntry, Obligor

    claim = Claim.get(Claim.claim_no == claim_no)
    return (
        Obligor.select().where(Obligor.claim == claim.id).count(),
        LedgerEntry.select().where(LedgerEntry.claim == claim.id).count(),
        Claim.select(fn.MAX(Claim.claim_no)).scalar(),
    )


def _baseline(
    conn: sqlite3.Connection | None, fn: Callable[[], Any], repeat: int
) -> tuple[float | None, list[float], Any]:
    """The plain-SQL baseline's median, or nothing where there is no sqlite3 connection."""
    if conn is None:
        return None, [], None
    return _median(fn, repeat)


def measure(
    work_dir: Path,
    info: dict[str, Any],
    *,
    tui: bool = True,
    repeat: int = 5,
    db_url: str | None = None,
) -> list[dict[str, Any]]:
    """Every row of SPEC 6.3 on the database built in ``work_dir`` (or at ``db_url``).

    The plain-SQL baselines are SQLite's (sqlite3 in the same run); on PostgreSQL they are
    left out ("—"): the figures there compare with the SQLite run's, side by side."""
    from kyusho.config import Config
    from kyusho.services.claims import ClaimQuery, claim_view, count_claims, search_claims
    from kyusho.services.entries import post_receipt
    from kyusho.services.session import open_session
    from kyusho.services.worklist import limitation_due, worklist

    db = _target(work_dir, db_url)
    session = open_session(Config(), db)
    today = session.today()
    days = session.config.policy.limitation_alert_days
    conn = _plain(db) if isinstance(db, Path) else None
    claims = info["claims"]
    refs = _reference_claims(claims)
    if not refs:
        raise RuntimeError("no reference claim (4 obligors, 50 receipts) in the database")
    open_no = refs[0]
    *ref_shape, last_claim = _shape(open_no)
    prefixes = [("name", SEARCH_NAME), ("kana", SEARCH_KANA), ("number", open_no[:-3])]
    rows: list[dict[str, Any]] = []

    # -- services (in this process), with their plain-SQL counterparts
    _log("計測: サービス")
    wl_s, wl_runs, items = _median(lambda: worklist(session, as_of=today), repeat)
    wl_base, _, _ = _baseline(conn, lambda: sql_worklist(conn, today, days, session.login), repeat)

    # as the claim list's source does: count, then the last block (given the total when
    # this version of search_claims can use it)
    takes_total = "total" in inspect.signature(search_claims).parameters

    def list_last() -> str:
        q = ClaimQuery()
        count = count_claims(q)
        extra = {"total": count} if takes_total else {}
        return search_claims(q, (count - 1) // BLOCK * BLOCK, BLOCK, **extra)[-1].claim_no

    cl_s, cl_runs, got_last = _median(list_last, repeat)
    cl_base, _, _ = _baseline(conn, lambda: sql_claim_list_last(conn), repeat)
    if got_last != last_claim:
        raise RuntimeError(f"the claim list ends at {got_last}, SQL says {last_claim}")

    search_service: dict[str, Any] = {}
    search_base: dict[str, float] = {}
    for label, text in prefixes:

        def service_search(text: str = text) -> int:
            q = ClaimQuery(text=text)
            n = count_claims(q)
            search_claims(q, 0, BLOCK)
            return n

        s, runs, hits = _median(service_search, repeat)
        b, _, base_hits = _baseline(conn, lambda text=text: sql_search(conn, text), repeat)
        search_service[label] = {"s": s, "runs": runs, "text": text, "hits": hits}
        search_base[label] = b
        if conn is not None and hits != base_hits:
            raise RuntimeError(f"search {text}: kyusho finds {hits}, SQL {base_hits}")

    oc_s, oc_runs, view = _median(lambda: claim_view(session, open_no), repeat)
    oc_base, _, _ = _baseline(conn, lambda: sql_open_claim(conn, open_no), repeat)

    la_s, la_runs, alerts = _median(
        lambda: limitation_due(session, within=days, as_of=today), repeat
    )
    la_base, _, base_alerts = _baseline(conn, lambda: sql_limitation_due(conn, today, days), repeat)

    # post: each run on a reference claim (the one opened above is left alone)
    targets = refs[1:] or refs
    post_runs = []
    for i in range(max(1, repeat)):
        no = targets[i % len(targets)]
        dt, _ = _timed(lambda no=no: post_receipt(session, no, today, 10_000, 1, "transfer"))
        post_runs.append(dt)
    post_s = statistics.median(post_runs)
    post_base: float | None = None
    base_post_runs: list[float] = []
    if conn is not None:
        # the baseline writes to a copy, so the product's projections and audit chain stay exact
        copy = work_dir / "baseline-post.db"
        _remove_db(copy)
        with contextlib.closing(sqlite3.connect(str(copy))) as dest:
            conn.backup(dest)
        base_conn = _plain(copy)
        for i in range(max(1, repeat)):
            no = targets[i % len(targets)]
            dt, _ = _timed(lambda no=no: sql_post_receipt(base_conn, no, today, session.login))
            base_post_runs.append(dt)
        base_conn.close()
        _remove_db(copy)
        post_base = statistics.median(base_post_runs)

    fy = fiscal_year(today)
    fy_base, _, _ = _baseline(conn, lambda: sql_fy_report(conn, fy), repeat)
    product_report = _product_fy_report()
    fy_detail: dict[str, Any] = {"fy": fy}
    fy_s: float | None = None
    if product_report is None:
        fy_detail["missing"] = "kyusho has no 年度 report yet (kyusho.services.reports)"
        fy_how = "not measured: no report function in this version"
    else:
        name, fn = product_report
        fy_s, fy_runs, _ = _median(lambda: fn(session, fy), repeat)
        fy_detail["runs"] = fy_runs
        fy_how = f"{name}(session, {fy}), median of {repeat}"

    # -- the TUI, in a fresh process (as `kyusho` starts), and the same for plain sqlite3
    tui_result: dict[str, Any] | None = None
    if tui:
        _log("計測: 画面 (Pilot, headless 80x24)")
        tui_result = run_tui(
            work_dir,
            {
                "db": str(db),
                "last_claim": last_claim,
                "open_claim": open_no,
                "prefixes": prefixes,
            },
            runs=min(repeat, 3),
        )
    base_child = run_baseline_child(db, today, days, session.login) if isinstance(db, Path) else {}

    worklist_detail = {
        "service_worklist_s": wl_s,
        "service_runs": wl_runs,
        "items": len(items),
        "plain_sql_in_process_s": wl_base,
    }
    if tui_result:
        runs_note = f"; median of {len(tui_result['runs'])} fresh processes"
        rows.append(
            _row(
                "start",
                tui_result["start_s"],
                base_child.get("start_s"),
                how="fresh process: Python start, open_session, KyushoApp in run_test(80x24), "
                "until the worklist table is filled" + runs_note,
                baseline_how="fresh process: Python start, sqlite3 connect, the worklist's SQL",
                detail={
                    **worklist_detail,
                    "in_app_s": tui_result["start_in_app_s"],
                    "rows_shown": tui_result["worklist_rows"],
                    "tui_runs": tui_result["runs"],
                },
            )
        )
        rows.append(
            _row(
                "claim_list_last",
                tui_result["claim_list_last_s"],
                cl_base,
                how="Pilot: F3, End once the count is in, until the cursor is on the last claim"
                + runs_note,
                baseline_how="SELECT COUNT + the last block of 200 ordered by claim_no",
                detail={
                    "count_shown_s": tui_result["claim_list_count_s"],
                    "service_s": cl_s,
                    "service_runs": cl_runs,
                    "rows": tui_result["claim_list_rows"],
                    "last_claim": last_claim,
                },
            )
        )
        tui_search = tui_result["search"]
        worst = max(tui_search, key=lambda k: tui_search[k]["s"])
        rows.append(
            _row(
                "search",
                tui_search[worst]["s"],
                search_base[worst],
                how=f"Pilot: from the last keystroke until the list shows the hits (worst of "
                f"name/kana/number: {worst}); the list searches at once when idle and "
                "coalesces keys typed while a search runs" + runs_note,
                baseline_how="the same prefix query in SQL: COUNT + first block",
                detail={
                    "tui": tui_search,
                    "service": search_service,
                    "plain_sql": search_base,
                },
            )
        )
        rows.append(
            _row(
                "open_claim",
                tui_result["open_claim_s"],
                oc_base,
                how="Pilot: Enter on the claim in the list until its summary and clocks are "
                "shown" + runs_note,
                baseline_how="SELECT of every row the detail shows (no ledger/clock engine)",
                detail={
                    "service_claim_view_s": oc_s,
                    "service_runs": oc_runs,
                    "claim_no": open_no,
                    "obligors": ref_shape[0],
                    "entries": ref_shape[1],
                },
            )
        )
        warm_note = f"Pilot: Esc to the list, then Enter until the detail is shown, {WARM_OPENS} "
        warm_note += "times in one process after the first open" + runs_note
        rows.append(
            _row(
                "open_claim_warm",
                tui_result["open_claim_warm_median_s"],
                oc_base,
                how="median of those: " + warm_note,
                baseline_how="SELECT of every row the detail shows (no ledger/clock engine)",
                detail={"runs": [r["open_claim_warm"] for r in tui_result["runs"]]},
            )
        )
        rows.append(
            _row(
                "open_claim_warm_worst",
                tui_result["open_claim_warm_worst_s"],
                oc_base,
                how="worst of those: " + warm_note,
                baseline_how="SELECT of every row the detail shows (no ledger/clock engine)",
            )
        )
    else:
        rows.append(
            _row(
                "start",
                wl_s,
                wl_base,
                how="no TUI: worklist() service only",
                baseline_how="the worklist's SQL",
                detail=worklist_detail,
            )
        )
        rows.append(
            _row(
                "claim_list_last",
                cl_s,
                cl_base,
                how="no TUI: count_claims + search_claims of the last block",
                baseline_how="SELECT COUNT + the last block",
                detail={"service_runs": cl_runs},
            )
        )
        worst = max(search_service, key=lambda k: search_service[k]["s"])
        rows.append(
            _row(
                "search",
                search_service[worst]["s"],
                search_base[worst],
                how=f"no TUI: count_claims + first block (worst: {worst})",
                baseline_how="the same prefix query in SQL",
                detail={"service": search_service, "plain_sql": search_base},
            )
        )
        rows.append(
            _row(
                "open_claim",
                oc_s,
                oc_base,
                how="no TUI: claim_view()",
                baseline_how="SELECT of every row the detail shows",
                detail={"claim_no": open_no, "obligors": ref_shape[0], "entries": ref_shape[1]},
            )
        )
        warm_runs = [_timed(lambda: claim_view(session, open_no))[0] for _ in range(WARM_OPENS)]
        for key, figure in (
            ("open_claim_warm", statistics.median(warm_runs)),
            ("open_claim_warm_worst", max(warm_runs)),
        ):
            rows.append(
                _row(
                    key,
                    figure,
                    oc_base,
                    how=f"no TUI: claim_view() {WARM_OPENS} times in this process",
                    baseline_how="SELECT of every row the detail shows",
                    detail={"runs": [round(x, 6) for x in warm_runs]},
                )
            )
    rows.append(
        _row(
            "post_receipt",
            post_s,
            post_base,
            how=f"post_receipt() on a claim with {ref_shape[1]} receipts, median of "
            f"{len(post_runs)}",
            baseline_how="BEGIN IMMEDIATE, insert, re-read ledger, update projections, "
            "sha256-chained audit row, COMMIT (on a copy of the database)",
            detail={"runs": [round(x, 6) for x in post_runs], "baseline_runs": base_post_runs},
        )
    )
    rows.append(
        _row(
            "limitation_alerts",
            la_s,
            la_base,
            how=f"limitation_due(within={days}) over all claims, median of {repeat}",
            baseline_how="the same SELECT in SQL",
            detail={"runs": la_runs, "obligors": len(alerts), "sql_rows": base_alerts},
        )
    )
    rows.append(
        _row(
            "fy_report",
            fy_s,
            fy_base,
            how=fy_how,
            baseline_how="SPEC 4.14's items for the FY and the year before, by month, by staff",
            detail=fy_detail,
        )
    )
    imp = info["import"]["claims"]
    rows.append(
        _row(
            "import_claims",
            imp["s"],
            info["baseline_import_claims_s"],
            how="import_file(claims) through the import service: parse, check, insert, audit",
            baseline_how="csv module + executemany in one transaction, no checks",
            detail={"rows": imp["rows"]},
            label=f"import {claims:,} claims from CSV",
        )
    )
    rows.append(
        _row(
            "memory",
            tui_result["rss_mb"] if tui_result else None,
            base_child.get("rss_mb"),
            how="VmRSS of the TUI process after start, list, search and a claim's detail"
            if tui_result
            else "not measured (--no-tui)",
            baseline_how="VmRSS of Python + sqlite3 after reading the worklist",
            detail={
                "after_start_mb": tui_result["rss_after_start_mb"] if tui_result else None,
                "peak_mb": tui_result["peak_rss_mb"] if tui_result else None,
            },
        )
    )
    if conn is not None:
        conn.close()
    session.db.close()
    return rows


# ----------------------------------------------------------------------------- report


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "MB":
        return f"{value:.0f} MB"
    if value < 1:
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _ljust(text: str, width: int) -> str:
    """Pad to ``width`` terminal cells (kanji take two)."""
    import unicodedata

    cells = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cells)


def table(result: dict[str, Any]) -> str:
    """The readable table of a run (also what README shows)."""
    m = result["machine"]
    scale = result["scale"]
    lines = [
        f"kyusho benchmark — {scale['claims']:,} claims, {scale['obligors']:,} obligors, "
        f"{scale['receipts']:,} receipts, {scale['events']:,} events, "
        f"{scale['contacts']:,} contacts (seed {result['seed']})",
        f"{m['nproc']} cores {m['cpu']}, {m['ram_mb']:,} MB RAM, Python {m['python']}, "
        f"{result.get('database', 'SQLite')} (SQLite {m['sqlite']}), {result['date']}, "
        f"kyusho {result.get('revision') or '?'}",
        "",
        f"| {'Operation':<48} | {'Target':>7} | {'Measured':>9} | {'sqlite3':>9} | "
        f"{'Ratio':>6} | Result |",
        f"|{'-' * 50}|{'-' * 9}|{'-' * 11}|{'-' * 11}|{'-' * 8}|--------|",
    ]
    build = result.get("build", {})
    for r in result["rows"]:
        verdict = {True: "pass", False: "FAIL", None: "n/a"}[r["pass"]]
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.1f}"
        lines.append(
            f"| {_ljust(r['operation'], 48)} | {_fmt(r['target'], r['unit']):>7} | "
            f"{_fmt(r['measured'], r['unit']):>9} | {_fmt(r['baseline'], r['unit']):>9} | "
            f"{ratio:>6} | {verdict:<6} |"
        )
    imports = build.get("import", {})
    if imports:
        rates = ", ".join(
            f"{kind} {v['added']:,} in {v['s']:.1f} s ({v['added'] / v['s']:,.0f} rows/s)"
            for kind, v in imports.items()
            if v.get("s")
        )
        lines += ["", f"Import: {rates}"]
        base = build.get("baseline_import_claims_s")
        claims = imports.get("claims")
        if base and claims:
            lines.append(
                f"Claims beside plain executemany: {claims['s']:.1f} s / {base:.1f} s = "
                f"{claims['s'] / base:.1f}×"
            )
    return "\n".join(lines)


def _revision() -> str | None:
    """The git commit measured (with "+" when the working tree has changes), if known."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+" if dirty else "")


def run(
    work_dir: Path | str,
    *,
    db_url: str | None = None,
    claims: int = 200_000,
    seed: int = 1,
    out_json: Path | str | None = None,
    tui: bool = True,
    reuse: bool = False,
    repeat: int = 5,
) -> dict[str, Any]:
    """Build scale data in ``work_dir`` (or reuse it), measure SPEC 6.3, write JSON."""
    work_dir = Path(work_dir).resolve()
    out_json = Path(out_json) if out_json else work_dir / "bench.json"
    info = None
    saved = work_dir / BUILD_FILE
    target = _target(work_dir, db_url)
    if reuse and saved.exists() and (db_url or (work_dir / "kyusho.db").exists()):
        info = json.loads(saved.read_text())
        if (info.get("claims"), info.get("seed"), info.get("db_url")) != (claims, seed, db_url):
            info = None
    if info is None:
        info = build(work_dir, claims=claims, seed=seed, today=SYSTEM_CLOCK.today(), db_url=db_url)
    rows = measure(work_dir, info, tui=tui, repeat=repeat, db_url=db_url)
    scale, size_mb = _scale(target)
    result = {
        "date": SYSTEM_CLOCK.now().isoformat(timespec="seconds"),
        "revision": _revision(),
        "seed": seed,
        "machine": machine(),
        "scale": scale,
        "build": info,
        "rows": rows,
        "database": "PostgreSQL" if db_url else "SQLite",
        "database_mb": size_mb,
    }
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    return result


def _scale(target: Path | str) -> tuple[dict[str, int], float]:
    """Rows per kind and the database's size in MB (either database)."""
    from kyusho.config import Config
    from kyusho.services.session import open_session
    from models.schema import Claim, Contact, LedgerEntry, LimitationEvent, Obligor, Plan

    session = open_session(Config(), target)
    models = {
        "claims": Claim,
        "obligors": Obligor,
        "receipts": LedgerEntry,
        "events": LimitationEvent,
        "contacts": Contact,
        "plans": Plan,
    }
    scale = {k: m.select().count() for k, m in models.items()}
    if isinstance(target, Path):
        size = target.stat().st_size
    else:
        size = session.db.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0]
    session.db.close()
    return scale, round(size / 1e6, 1)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench``: build scale L, measure SPEC 6.3, print the table, write JSON."""
    p = argparse.ArgumentParser(
        prog="python -m bench", description="SPEC 6.3 の性能をスケール L で計測する"
    )
    p.add_argument("--claims", type=int, default=200_000, help="求償権の件数 (既定 200000)")
    p.add_argument("--seed", type=int, default=1, help="乱数の種 (既定 1)")
    p.add_argument(
        "--work-dir",
        default="kyusho-bench",
        help="CSV とデータベースを作る場所 (既定 ./kyusho-bench)",
    )
    p.add_argument("--json", dest="json_path", help="結果の JSON (既定 WORK_DIR/bench.json)")
    p.add_argument("--no-tui", action="store_true", help="画面 (Pilot) の計測をしない")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="WORK_DIR に同じ件数・種で作ったデータベースがあれば作り直さない",
    )
    p.add_argument("--repeat", type=int, default=5, help="各計測の回数 (中央値を取る)")
    p.add_argument(
        "--db-url",
        help="PostgreSQL の空のデータベースの URL（所有者の OS ユーザーで実行。既定は SQLite）",
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `python -m bench -- --claims N` passes the separator on
        argv = argv[1:]
    args = p.parse_args(argv)
    if args.claims < 1:
        p.error("--claims: 1 以上の件数を指定してください")
    try:
        wait_limit_s()
    except InputError as exc:
        p.error(str(exc))
    if args.db_url:
        from models.pg import check_url

        try:
            check_url(args.db_url, "--db-url")
        except InputError as exc:
            p.error(str(exc))
    result = run(
        args.work_dir,
        db_url=args.db_url,
        claims=args.claims,
        seed=args.seed,
        out_json=args.json_path,
        tui=not args.no_tui,
        reuse=args.reuse,
        repeat=args.repeat,
    )
    print(table(result))
    print(f"\nJSON: {args.json_path or Path(args.work_dir) / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
