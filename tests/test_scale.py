"""The scale-L generator and the benchmark command (SPEC 6.3), at a tiny scale.

No timing is asserted here: the benchmark's figures are for people to read. These tests check
what the figures rest on: the generator is reproducible and its files pass the real import
with the proportions of scale L, and a benchmark run reports every row of SPEC 6.3 with its
plain-sqlite3 baseline.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import pytest

from bench import benchmark
from bench.scale import FILES, generate, reference_claims, staff_members
from kyusho.config import Config
from kyusho.rules.text import kana_key
from kyusho.services.imports import import_file
from kyusho.services.session import open_session
from kyusho.services.staff import add_staff, init_database
from models.schema import Claim, Contact, LedgerEntry, LimitationEvent, Obligor
from tests.conftest import ADMIN, TODAY

CLAIMS = 300


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return generate(tmp_path_factory.mktemp("scale"), claims=CLAIMS, seed=5, today=TODAY)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_data(tmp_path, files):
    again = generate(tmp_path / "again", claims=CLAIMS, seed=5, today=TODAY)
    other = generate(tmp_path / "other", claims=CLAIMS, seed=6, today=TODAY)
    for kind in FILES:
        assert again[kind].read_bytes() == files[kind].read_bytes(), kind
    assert other["obligors"].read_bytes() != files["obligors"].read_bytes()


def test_generated_files_import_cleanly_with_the_proportions_of_scale_l(tmp_path, files):
    db = tmp_path / "kyusho.db"
    init_database(db, ADMIN, "管理者")
    session = open_session(Config(db_path=db), db, login=ADMIN)
    session.pin(TODAY)
    for login, name, role in staff_members(CLAIMS):
        add_staff(session, login, name, role)
    for kind in FILES:
        report = import_file(session, kind, files[kind])
        assert report.added == report.rows, kind
    # every count is exactly in the proportion of scale L (200k : 400k : 2M : 200k : 500k)
    assert Claim.select().count() == CLAIMS
    assert Obligor.select().count() == 2 * CLAIMS
    assert LedgerEntry.select().count() == 10 * CLAIMS
    assert LimitationEvent.select().count() == CLAIMS
    assert Contact.select().count() == CLAIMS * 5 // 2

    # most claims have a few receipts, some many
    per_claim = Counter(e.claim_id for e in LedgerEntry.select(LedgerEntry.claim))
    counts = [per_claim.get(c.id, 0) for c in Claim.select(Claim.id)]
    assert statistics.median(counts) <= 6
    assert max(counts) >= 50
    # zero to three joint guarantors, one principal debtor with a kana reading each
    guarantors = Counter(
        o.claim_id for o in Obligor.select().where(Obligor.role == "joint_guarantor")
    )
    assert set(guarantors.values()) <= {1, 2, 3}
    assert len(guarantors) > CLAIMS // 2
    debtors = list(Obligor.select().where(Obligor.role == "principal_debtor"))
    assert len(debtors) == CLAIMS
    assert all(kana_key(o.kana) for o in Obligor.select())
    assert all(c.debtor_name for c in Claim.select())
    # events and contacts spread over years, never after today
    assert len({e.date.year for e in LimitationEvent.select()}) >= 5
    assert len({c.at.year for c in Contact.select()}) >= 4
    assert max(e.date for e in LedgerEntry.select()) <= TODAY
    # the reference claims the benchmark opens: four obligors and fifty receipts
    for n in reference_claims(CLAIMS):
        claim = Claim.get(Claim.claim_no.endswith(f"-{n:06d}"))
        assert claim.obligors.count() == 4
        assert claim.entries.count() == 50
    # a second import of the same file adds nothing
    assert import_file(session, "claims", files["claims"]).skipped == CLAIMS


def test_the_benchmark_reports_every_row_of_spec_6_3_with_a_baseline(tmp_path, capsys):
    out = tmp_path / "result.json"
    code = benchmark.main(
        [
            "--claims",
            str(CLAIMS),
            "--work-dir",
            str(tmp_path / "work"),
            "--json",
            str(out),
            "--repeat",
            "1",
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    rows = {r["key"]: r for r in result["rows"]}
    assert list(rows) == [key for key, *_ in benchmark.ROWS]
    for key, row in rows.items():
        assert row["baseline"] > 0, key
        if key == "fy_report" and row["measured"] is None:
            # reported as missing, never as passing, until kyusho has a 年度 report
            assert row["detail"]["missing"] and row["pass"] is None
            continue
        assert row["measured"] > 0, key
        # the ratio is stored rounded to two decimals: equal to 1 %, or within that rounding
        assert row["ratio"] == pytest.approx(row["measured"] / row["baseline"], rel=0.01, abs=0.005)
        assert row["pass"] == (row["measured"] <= row["target"]), key
    assert rows["open_claim"]["detail"]["obligors"] == 4
    assert rows["open_claim"]["detail"]["entries"] == 50
    assert result["scale"]["receipts"] == 10 * CLAIMS + 1  # one posted by the benchmark
    assert result["machine"]["nproc"] >= 1
    printed = capsys.readouterr().out
    for row in result["rows"]:
        assert row["operation"] in printed


def test_python_m_bench_takes_its_own_options():
    """`python -m bench --help` from a checkout reaches the benchmark's parser (README)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], capture_output=True, text=True, cwd=root
    )
    assert out.returncode == 0, out.stderr
    assert "--work-dir" in out.stdout and "--claims" in out.stdout


def test_a_bad_wait_limit_is_refused_naming_the_variable(monkeypatch, capsys, tmp_path):
    import pytest

    from bench.benchmark import main

    for bad in ("abc", "0", "1.5", "-3"):
        monkeypatch.setenv("KYUSHO_BENCH_WAIT", bad)
        with pytest.raises(SystemExit) as e:
            main(["--claims", "10", "--work-dir", str(tmp_path / "b")])
        assert e.value.code == 2
        assert "KYUSHO_BENCH_WAIT" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()  # nothing was built


@pytest.mark.postgres_only
def test_the_benchmark_builds_and_measures_on_postgresql(tmp_path, capsys):
    """`python -m bench --db-url` builds the scale data in an empty PostgreSQL database
    through the same init, staff add and imports, and measures every service row there
    (the plain-sqlite3 baselines are SQLite's: "—" here)."""
    from urllib.parse import urlsplit

    from conftest import drop_pg_database, new_pg_database

    from kyusho.identity import acting_as

    url = new_pg_database()
    try:
        out = tmp_path / "result.json"
        with acting_as(urlsplit(url).username or "postgres"):  # as the database's owner
            code = benchmark.main(
                ["--claims", str(CLAIMS), "--work-dir", str(tmp_path / "work"), "--json",
                 str(out), "--repeat", "1", "--no-tui", "--db-url", url]
            )  # fmt: skip
        assert code == 0
        result = json.loads(out.read_text())
        assert result["database"] == "PostgreSQL"
        rows = {r["key"]: r for r in result["rows"]}
        for key in ("search", "open_claim", "post_receipt", "limitation_alerts", "fy_report"):
            assert rows[key]["measured"] > 0, key
            assert rows[key]["baseline"] is None, key
        assert rows["import_claims"]["measured"] > 0
        assert rows["open_claim"]["detail"]["obligors"] == 4
        assert result["scale"]["receipts"] == 10 * CLAIMS + 1
        assert result["build"]["import"]["receipts"]["added"] == 10 * CLAIMS
        assert "PostgreSQL" in capsys.readouterr().out
    finally:
        drop_pg_database(url)
