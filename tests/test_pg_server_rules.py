"""On PostgreSQL the server, not the client, decides who is acting and what they may do.

Each test connects as a staff member's own database role with plain psycopg (no kyusho code
on the way) or opens a kyusho session for that role, and shows what the server refuses: the
audit chain stays append-only and is numbered, chained and signed by the server with the
connecting role's name; only an admin writes staff rows and roles; nobody writes ``meta``;
and a decision is approved only by a role other than its proposer, at or above the policy's
role, in that role's own name. After every refusal nothing has changed and the chain
verifies. The last section holds what the server should refuse and does not yet (strict
xfail, one test per hole).

Logins carry this process's id: database roles are shared by every database of the cluster,
so concurrent test runs (and xdist workers) must not grant and revoke the same role.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import date
from urllib.parse import urlsplit

import pytest
from conftest import ADMIN, drop_pg_database, make_session, new_pg_database

from kyusho.cli import main
from kyusho.config import Config
from kyusho.errors import PermissionDenied
from kyusho.identity import acting_as
from kyusho.services import decisions
from kyusho.services.claims import update_claim
from kyusho.services.session import open_session
from kyusho.services.staff import add_staff, init_database
from models import pg
from models.audit import event_hash, verify
from models.db import forget_postgres
from models.schema import AuditEvent, Claim, Decision

psycopg = pytest.importorskip("psycopg")
from psycopg.errors import InsufficientPrivilege  # noqa: E402

pytestmark = pytest.mark.postgres_only

_TAG = os.getpid()
STAFF = f"staff1_{_TAG}"
MGR1 = f"mgr1_{_TAG}"
MGR2 = f"mgr2_{_TAG}"
MALLORY = f"mallory_{_TAG}"  # never added: no role of that name may appear
CLAIM_NO = "R5-900001"


# --- helpers -------------------------------------------------------------------------------


def role_url(url: str, login: str | None) -> str:
    """``url`` with its user replaced by ``login`` (None: no user, so kyusho connects as the
    acting OS login)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    user = f"{login}@" if login else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{user}{host}{parts.path}{query}"


def userless_url(url: str) -> str:
    return role_url(url, None)


@pytest.fixture
def connect(db_path):
    """Plain psycopg connections (autocommit) as a given role; closed at the end."""
    opened = []

    def _connect(login: str | None = None):
        conn = psycopg.connect(db_path if login is None else role_url(db_path, login))
        conn.autocommit = True
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


@pytest.fixture
def owner(connect):
    """The database owner's connection: reads what is really stored."""
    return connect()


def rows(conn, sql: str, params: tuple | dict = ()) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def snapshot(conn) -> dict[str, list[tuple]]:
    """Everything the rules protect, as stored."""
    return {
        "audit": rows(conn, "SELECT * FROM audit_event ORDER BY seq"),
        "meta": rows(conn, "SELECT key, value FROM meta ORDER BY key"),
        "staff": rows(conn, "SELECT login, name, role, active FROM staff ORDER BY login"),
        "decision": rows(conn, "SELECT * FROM decision ORDER BY id"),
        "claim": rows(conn, "SELECT id, status, status_since, review_on FROM claim ORDER BY id"),
        "groups": rows(
            conn,
            "SELECT r.rolname, g.rolname FROM pg_auth_members m "
            "JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE r.rolname = ANY(%s) ORDER BY 1, 2",
            ([STAFF, MGR1, MGR2, MALLORY],),
        ),
    }


def cli_verify(db_path: str, capsys, login: str = ADMIN) -> tuple[int, str]:
    """`kyusho --db URL audit verify`, in-process, acting as ``login``."""
    url = userless_url(db_path)
    capsys.readouterr()
    try:
        with acting_as(login):
            code = main(["--db", url, "audit", "verify"])
    finally:
        forget_postgres(url)
    out, err = capsys.readouterr()
    return code, out + err


def assert_chain_ok(db_path: str, capsys, login: str = ADMIN) -> None:
    assert verify().ok
    code, text = cli_verify(db_path, capsys, login)
    assert code == 0, text
    assert "監査証跡は正常です" in text


def assert_refused(conn, owner, sql: str, params: dict | None = None) -> None:
    """The server refuses ``sql`` on ``conn`` for want of privilege, and no table changes."""
    before = snapshot(owner)
    with pytest.raises(InsufficientPrivilege):
        conn.execute(sql, params)
    assert snapshot(owner) == before


def server_error(exc: BaseException) -> BaseException:
    """The psycopg error behind peewee's (or kyusho's) wrapper."""
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, psycopg.Error):
        first = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = first or seen.__cause__ or seen.__context__
    return seen if seen is not None else exc


@pytest.fixture
def team(session, db_path):
    """staff1 (staff), mgr1 and mgr2 (manager), added by the admin; one active claim."""
    add_staff(session, STAFF, "担当 一郎", "staff")
    add_staff(session, MGR1, "課長 一", "manager")
    add_staff(session, MGR2, "課長 二", "manager")
    with session.writing():
        Claim.create(
            claim_no=CLAIM_NO,
            subrogation_date=date(2024, 4, 10),
            loan_principal=100_000,
            loan_interest=0,
            damages_rate="14.0",
            contract_date=date(2021, 1, 15),
            lender="サンプル銀行",
            updated_at=session.now(),
            updated_by=ADMIN,
            principal_outstanding=100_000,
            last_entry_on=date(2024, 4, 10),
        )
    return session


@pytest.fixture
def proposal(team, db_path):
    """A suspension proposed by mgr1 through the service (no attested items to answer)."""
    mgr1 = make_session(db_path, MGR1)
    return decisions.propose(
        mgr1, CLAIM_NO, "suspension", reason="少額のため", data={"reasons": ["small_balance"]}
    )


# --- 1. the audit chain, staff, meta: refused to plain SQL -----------------------------------

AUDIT_REWRITES = [
    "UPDATE audit_event SET login = 'someone' WHERE seq = 1",
    "UPDATE audit_event SET reason = NULL",
    "DELETE FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
]


@pytest.mark.parametrize("sql", AUDIT_REWRITES)
@pytest.mark.parametrize("who", ["staff", "manager", "admin", "owner"])
def test_nobody_rewrites_or_removes_audit_events(team, connect, owner, db_path, capsys, who, sql):
    login = {"staff": STAFF, "manager": MGR1, "admin": ADMIN, "owner": None}[who]
    assert_refused(connect(login), owner, sql)
    assert_chain_ok(db_path, capsys)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE staff SET role = 'admin' WHERE login = %(me)s",
        "UPDATE staff SET active = false WHERE login = %(admin)s",
        "INSERT INTO staff (login, name, role, active, created_at) "
        "VALUES (%(mallory)s, 'マロリー', 'admin', true, '2026-11-22 09:00:00')",
        "DELETE FROM staff WHERE login = %(admin)s",
        "TRUNCATE staff CASCADE",
    ],
)
@pytest.mark.parametrize("who", ["staff", "manager"])
def test_only_an_admin_writes_staff_rows(team, connect, owner, who, sql):
    login = {"staff": STAFF, "manager": MGR1}[who]
    assert_refused(connect(login), owner, sql, {"me": login, "admin": ADMIN, "mallory": MALLORY})
    assert rows(owner, "SELECT role FROM staff WHERE login = %s", (login,)) == [
        ("staff" if who == "staff" else "manager",)
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE meta SET value = 'staff' WHERE key LIKE 'approval.min_role%'",
        "INSERT INTO meta (key, value) VALUES ('approval.min_role', 'staff') "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        "UPDATE meta SET value = '1:' || repeat('0', 64) WHERE key = 'audit_head'",
        "DELETE FROM meta WHERE key = 'audit_head'",
        "TRUNCATE meta",
    ],
)
@pytest.mark.parametrize("who", ["staff", "manager", "admin"])
def test_nobody_but_the_owner_writes_meta(team, connect, owner, db_path, capsys, who, sql):
    login = {"staff": STAFF, "manager": MGR1, "admin": ADMIN}[who]
    assert_refused(connect(login), owner, sql)
    assert_chain_ok(db_path, capsys)


def test_a_forged_audit_event_is_numbered_chained_and_signed_by_the_server(
    team, connect, owner, db_path, capsys
):
    head_seq, head_hash = rows(
        owner, "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
    )[0]
    assert rows(owner, "SELECT value FROM meta WHERE key = 'audit_head'") == [
        (f"{head_seq}:{head_hash}",)
    ]
    conn = connect(STAFF)
    stored = conn.execute(
        "INSERT INTO audit_event (seq, at, login, action, entity, entity_id, reason, "
        "before, after, prev_hash, hash) VALUES (1, %s, %s, 'staff.add', 'staff', 'mallory', "
        "NULL, NULL, %s, %s, %s) RETURNING seq, login, prev_hash, hash",
        (
            "2026-11-22T09:00:00.000000+09:00",
            ADMIN,
            '{"login":"mallory","role":"admin"}',
            "0" * 64,
            "f" * 64,
        ),
    ).fetchone()
    seq, login, prev_hash, digest = stored
    assert (seq, login, prev_hash) == (head_seq + 1, STAFF, head_hash)
    body = {
        "seq": seq,
        "at": "2026-11-22T09:00:00.000000+09:00",
        "login": STAFF,
        "action": "staff.add",
        "entity": "staff",
        "entity_id": "mallory",
        "reason": None,
        "before": None,
        "after": '{"login":"mallory","role":"admin"}',
    }
    assert digest == event_hash(head_hash, body)
    assert rows(owner, "SELECT value FROM meta WHERE key = 'audit_head'") == [(f"{seq}:{digest}",)]
    assert rows(owner, "SELECT count(*) FROM audit_event WHERE seq > %s", (head_seq,)) == [(1,)]
    # the chain the server keeps still verifies, through the command as an admin and a staff
    assert_chain_ok(db_path, capsys)
    assert_chain_ok(db_path, capsys, login=STAFF)


# --- 2. a kyusho session is the server's role ------------------------------------------------


def test_a_session_login_is_the_servers_session_user(team, db_path, owner):
    for login in (STAFF, MGR1, MGR2, ADMIN):
        s = make_session(db_path, login)
        assert s.login == login == pg.session_login(s.db)
        assert s.login == s.db.execute_sql("SELECT session_user").fetchone()[0]
    # however the role to connect as is chosen (the URL's user, the OS login), the session is
    # the role the server authenticated, with that role's staff row
    roles = dict(rows(owner, "SELECT login, role FROM staff"))
    named, bare = role_url(db_path, STAFF), userless_url(db_path)
    try:
        for url, acting in ((named, ADMIN), (named, MGR1), (bare, MGR2)):
            with acting_as(acting):
                s = open_session(Config(db_url=url), url)
            assert s.login in (STAFF, acting)
            assert s.login == pg.session_login(s.db)
            assert s.role == roles[s.login]
    finally:
        forget_postgres(named)
        forget_postgres(bare)


def test_a_write_through_a_session_is_audited_as_the_connecting_role(team, db_path, owner):
    mgr2 = make_session(db_path, MGR2)
    update_claim(mgr2, CLAIM_NO, 1, {"note": "課長二のメモ"})
    assert rows(owner, "SELECT login, action FROM audit_event ORDER BY seq DESC LIMIT 1") == [
        (MGR2, "claim.update")
    ]
    # the client believes it is the admin: it may say so, the server records who connected
    forged = dataclasses.replace(mgr2, login=ADMIN, role="admin", name="管理者")
    update_claim(forged, CLAIM_NO, 2, {"note": "管理者のふり"})
    assert rows(owner, "SELECT login, action FROM audit_event ORDER BY seq DESC LIMIT 1") == [
        (MGR2, "claim.update")
    ]
    # the admin's name is only on what the admin did
    assert rows(
        owner, "SELECT action, entity_id FROM audit_event WHERE login = %s ORDER BY seq", (ADMIN,)
    ) == [("staff.add", STAFF), ("staff.add", MGR1), ("staff.add", MGR2)]
    assert verify().ok


def test_a_session_cannot_act_as_another_login(team, db_path, owner):
    mgr2 = make_session(db_path, MGR2)
    forged = dataclasses.replace(mgr2, login=ADMIN, role="admin", name="管理者")
    before = snapshot(owner)
    # the server's refusal reaches the user as PermissionDenied, in the server's words
    with pytest.raises(PermissionDenied, match="サーバーが拒否.*staff"):
        add_staff(forged, MALLORY, "マロリー", "admin")
    with pytest.raises(PermissionDenied, match="本人の名前"):  # a proposal in the admin's name
        decisions.propose(
            forged, CLAIM_NO, "suspension", reason="少額", data={"reasons": ["small_balance"]}
        )
    assert snapshot(owner) == before
    assert rows(owner, "SELECT 1 FROM pg_roles WHERE rolname = %s", (MALLORY,)) == []
    # a session opened for another role is that role's, whatever the client is told
    assert pg.session_login(forged.db) == MGR2


# --- 3. decisions: four eyes, the policy's role, the approver's own name ----------------------

APPROVE = (
    "UPDATE decision SET status = %(status)s, approver = %(approver)s, "
    "decided_at = '2026-11-22 10:00:00' WHERE id = %(id)s"
)


@pytest.mark.parametrize(
    "who, approver, status",
    [
        ("mgr1", "mgr1", "approved"),  # its own proposal
        ("mgr1", "mgr1", "rejected"),
        ("mgr1", "mgr2", "approved"),  # in another manager's name
        ("staff", "staff", "approved"),  # below the policy's role (manager)
        ("staff", "staff", "rejected"),
        ("mgr2", "admin", "approved"),  # in another's name
        ("mgr2", None, "approved"),  # in nobody's name
    ],
)
def test_a_decision_is_not_decided_by_plain_sql_against_the_rules(
    proposal, connect, owner, db_path, capsys, who, approver, status
):
    names = {"mgr1": MGR1, "mgr2": MGR2, "staff": STAFF, "admin": ADMIN, None: None}
    before = snapshot(owner)
    conn = connect(names[who])
    with pytest.raises(InsufficientPrivilege):
        conn.execute(APPROVE, {"status": status, "approver": names[approver], "id": proposal.id})
    assert snapshot(owner) == before
    assert rows(owner, "SELECT status, approver FROM decision WHERE id = %s", (proposal.id,)) == [
        ("proposed", None)
    ]
    assert_chain_ok(db_path, capsys)


@pytest.mark.parametrize(
    "who, proposer, status, approver",
    [
        ("mgr2", "mgr2", "approved", "mgr2"),  # born approved
        ("mgr2", "mgr2", "rejected", "mgr2"),
        ("mgr2", "mgr2", "proposed", "mgr2"),  # an approver recorded before the decision
        ("mgr2", "mgr1", "proposed", None),  # in another's name
        ("staff", "staff", "approved", "mgr2"),
    ],
)
def test_a_decision_cannot_be_inserted_decided_or_in_anothers_name(
    team, connect, owner, who, proposer, status, approver
):
    names = {"mgr1": MGR1, "mgr2": MGR2, "staff": STAFF, None: None}
    claim_id = rows(owner, "SELECT id FROM claim WHERE claim_no = %s", (CLAIM_NO,))[0][0]
    before = snapshot(owner)
    conn = connect(names[who])
    with pytest.raises(InsufficientPrivilege):
        conn.execute(
            "INSERT INTO decision (claim_id, kind, status, data, checks, proposer, "
            "proposed_at, approver, decided_at, reason, effect, created_at) VALUES "
            "(%s, 'write_off', %s, '{}', '{}', %s, '2026-11-22 09:00:00', %s, "
            "'2026-11-22 09:00:00', '直接登録', '{}', '2026-11-22 09:00:00')",
            (claim_id, status, names[proposer], names[approver]),
        )
    assert snapshot(owner) == before


def test_after_the_refusals_the_service_approval_by_another_manager_works(
    proposal, connect, owner, db_path, capsys
):
    for login, approver in ((MGR1, MGR1), (STAFF, STAFF), (MGR2, ADMIN)):
        with pytest.raises(InsufficientPrivilege):
            connect(login).execute(
                APPROVE, {"status": "approved", "approver": approver, "id": proposal.id}
            )
    mgr2 = make_session(db_path, MGR2)
    done = decisions.approve(mgr2, proposal.id)
    assert (done.status, done.approver, done.proposer) == ("approved", MGR2, MGR1)
    assert rows(owner, "SELECT status FROM claim WHERE claim_no = %s", (CLAIM_NO,)) == [
        ("suspended",)
    ]
    last = AuditEvent.select().order_by(AuditEvent.seq.desc()).first()
    assert (last.login, last.action) == (MGR2, "decision.approve")
    # decided: not even the approver reopens or re-decides it by SQL
    before = snapshot(owner)
    for sql in (
        "UPDATE decision SET status = 'proposed' WHERE id = %s",
        "UPDATE decision SET status = 'rejected' WHERE id = %s",
        "UPDATE decision SET approver = NULL WHERE id = %s",
        "UPDATE decision SET proposer = approver WHERE id = %s",
    ):
        with pytest.raises(InsufficientPrivilege):
            connect(MGR2).execute(sql, (proposal.id,))
    assert snapshot(owner) == before
    assert_chain_ok(db_path, capsys)


# --- 4. roles: only an admin grants them ------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "manager"])
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT kyusho_grant_staff_role(%(me)s, 'admin', true)",
        "SELECT public.kyusho_grant_staff_role(%(me)s, 'manager', true)",
        "SELECT kyusho_grant_staff_role(%(mallory)s, 'admin', true)",
        "GRANT kyusho_admin TO {me}",
        "SET ROLE kyusho_admin",
        "SET SESSION AUTHORIZATION {admin}",
        "ALTER ROLE {me} SUPERUSER",
    ],
)
def test_a_non_admin_cannot_grant_itself_a_role(team, connect, owner, who, sql):
    login = {"staff": STAFF, "manager": MGR1}[who]
    before = snapshot(owner)
    conn = connect(login)
    with pytest.raises(InsufficientPrivilege):
        conn.execute(
            sql.format(me=f'"{login}"', admin=f'"{ADMIN}"'),
            {"me": login, "mallory": MALLORY} if "%(" in sql else None,
        )
    assert snapshot(owner) == before
    assert rows(owner, "SELECT 1 FROM pg_roles WHERE rolname = %s", (MALLORY,)) == []
    member = rows(
        owner,
        "SELECT pg_has_role(%s, 'kyusho_admin', 'MEMBER'), pg_has_role(%s, 'kyusho_manager', 'MEMBER')",
        (login, login),
    )[0]
    assert member == (False, who == "manager")
    # and the session it opens afterwards is still what the admin made it
    assert connect(login).execute("SELECT session_user, current_user").fetchone() == (login, login)


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE audit_event DISABLE TRIGGER kyusho_audit_append_only",
        "ALTER TABLE decision DISABLE TRIGGER ALL",
        "DROP TRIGGER kyusho_decision_guard ON decision",
        "DROP TRIGGER kyusho_staff_guard ON staff",
        "CREATE OR REPLACE FUNCTION kyusho_is_owner() RETURNS boolean LANGUAGE sql AS 'SELECT true'",
        "ALTER FUNCTION kyusho_role_rank(text) RENAME TO kyusho_role_rank_old",
        "CREATE SCHEMA kyusho_shadow",
    ],
)
@pytest.mark.parametrize("who", ["staff", "manager", "admin"])
def test_nobody_but_the_owner_changes_the_rules(team, connect, owner, who, sql):
    login = {"staff": STAFF, "manager": MGR1, "admin": ADMIN}[who]
    triggers = rows(
        owner,
        "SELECT tgname, tgenabled FROM pg_trigger WHERE tgname LIKE 'kyusho%%' ORDER BY 1",
    )
    before = snapshot(owner)
    with pytest.raises(InsufficientPrivilege):
        connect(login).execute(sql)
    assert snapshot(owner) == before
    assert (
        rows(
            owner,
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgname LIKE 'kyusho%%' ORDER BY 1",
        )
        == triggers
    )


@pytest.mark.parametrize("who", ["staff", "manager", "admin"])
def test_a_grant_by_a_non_owner_grants_nothing(team, connect, owner, who):
    login = {"staff": STAFF, "manager": MGR1, "admin": ADMIN}[who]
    privileges = (
        "SELECT has_table_privilege(%(me)s, 'audit_event', 'UPDATE'), "
        "has_table_privilege(%(me)s, 'audit_event', 'DELETE'), "
        "has_table_privilege(%(me)s, 'meta', 'UPDATE'), "
        "has_table_privilege(%(me)s, 'staff', 'UPDATE')"
    )
    held = rows(owner, privileges, {"me": login})
    assert held == [(False, False, False, who == "admin")]
    conn = connect(login)
    # the server grants only what the grantor holds with grant option: nothing, with a warning
    conn.execute("GRANT UPDATE, DELETE ON audit_event TO PUBLIC")
    conn.execute("GRANT INSERT, UPDATE ON meta, staff TO kyusho_staff")
    assert rows(owner, privileges, {"me": login}) == held
    assert rows(owner, privileges, {"me": STAFF}) == [(False, False, False, False)]


# --- holes found while writing these tests ---------------------------------------------------
# Holes a review found and the server now closes (each was an xfail before the fix): it fails as
# soon as the rule is enforced, so the marker is removed with the fix).


def _allow_temp(owner, role: str) -> None:
    name = owner.execute("SELECT current_database()").fetchone()[0]
    owner.execute(f'GRANT TEMPORARY ON DATABASE "{name}" TO "{role}"')


HOLE = (pytest.fail.Exception, AssertionError)  # "DID NOT RAISE", or the row changed


@pytest.mark.parametrize(
    "who, shadow, approver",
    [
        (  # staff1 makes itself an admin in its own temp copy of staff
            "staff",
            [
                "CREATE TEMP TABLE staff AS SELECT * FROM public.staff",
                "UPDATE pg_temp.staff SET role = 'admin' WHERE login = session_user",
            ],
            "staff",
        ),
        (  # staff1 lowers the approval policy in its own temp meta
            "staff",
            [
                "CREATE TEMP TABLE meta (key text, value text)",
                "INSERT INTO meta VALUES ('approval.min_role', 'staff'), "
                "('approval.min_role_high', 'staff'), ('approval.high_kinds', '')",
            ],
            "staff",
        ),
        (  # mgr1 becomes "the owner" for kyusho_is_owner() and approves its own proposal
            "mgr1",
            [
                "CREATE TEMP TABLE pg_database (datname name, datdba oid)",
                "INSERT INTO pg_database SELECT current_database(), oid "
                "FROM pg_catalog.pg_roles WHERE rolname = session_user",
            ],
            "admin",
        ),
    ],
)
def test_closed_a_temp_table_stands_in_for_staff_meta_or_pg_database(
    proposal, connect, owner, who, shadow, approver
):
    names = {"mgr1": MGR1, "staff": STAFF, "admin": ADMIN}
    conn = connect(names[who])
    with pytest.raises(InsufficientPrivilege):  # no temporary tables for anyone
        conn.execute(shadow[0])
    # and even where a DBA grants them, the guards read only the real tables
    _allow_temp(owner, names[who])
    conn = connect(names[who])
    for sql in shadow:
        conn.execute(sql)
    before = snapshot(owner)
    with pytest.raises(InsufficientPrivilege):
        conn.execute(
            APPROVE, {"status": "approved", "approver": names[approver], "id": proposal.id}
        )
    assert snapshot(owner) == before


def test_closed_an_admin_elsewhere_on_the_cluster_makes_itself_admin_here(team, connect, owner):
    other = new_pg_database()
    try:
        init_database(other, ADMIN, "管理者")
        add_staff(make_session(other), MGR1, "課長 一", "admin")  # admin of the other database
        conn = connect(MGR1)
        with pytest.raises(InsufficientPrivilege):  # refused without the temp table
            conn.execute("UPDATE public.staff SET role = 'admin' WHERE login = session_user")
        _allow_temp(owner, MGR1)
        conn = connect(MGR1)
        conn.execute("CREATE TEMP TABLE staff AS SELECT * FROM public.staff")
        conn.execute("UPDATE pg_temp.staff SET role = 'admin' WHERE login = session_user")
        before = snapshot(owner)
        with pytest.raises(InsufficientPrivilege):
            conn.execute("UPDATE public.staff SET role = 'admin' WHERE login = session_user")
        assert snapshot(owner) == before
    finally:
        drop_pg_database(other)


@pytest.mark.parametrize("decided", [False, True])
def test_closed_staff_deletes_a_decision(proposal, connect, owner, db_path, decided):
    if decided:
        decisions.approve(make_session(db_path, MGR2), proposal.id)
    before = snapshot(owner)
    with pytest.raises(InsufficientPrivilege):
        connect(STAFF).execute("DELETE FROM decision WHERE id = %s", (proposal.id,))
    assert snapshot(owner) == before


@pytest.mark.parametrize(
    "who, sql, decided",
    [
        (  # the approver rewrites mgr1's proposal, then approves its own words
            "mgr2",
            'UPDATE decision SET data = \'{"reasons": ["insolvent"]}\', '
            "reason = '書き換え' WHERE id = %s",
            False,
        ),
        ("staff", "UPDATE decision SET kind = 'write_off' WHERE id = %s", False),
        (
            "staff",
            "UPDATE decision SET effect = '{}', override_reason = '後付け', "
            "decided_at = '2020-01-01 00:00:00' WHERE id = %s",
            True,
        ),
    ],
)
def test_closed_a_decisions_content_is_not_frozen(
    proposal, connect, owner, db_path, who, sql, decided
):
    if decided:
        decisions.approve(make_session(db_path, MGR2), proposal.id)
    before = snapshot(owner)
    with pytest.raises(InsufficientPrivilege):
        connect({"mgr2": MGR2, "staff": STAFF}[who]).execute(sql, (proposal.id,))
    assert snapshot(owner) == before


@pytest.mark.parametrize("status", ["withdrawn", "draft"])
def test_closed_staff_withdraws_anothers_proposal(proposal, connect, owner, status):
    before = snapshot(owner)
    with pytest.raises(InsufficientPrivilege):
        connect(STAFF).execute(
            "UPDATE decision SET status = %s, decided_at = '2026-11-22 10:00:00' WHERE id = %s",
            (status, proposal.id),
        )
    assert snapshot(owner) == before


def test_a_policy_loosened_in_the_config_after_init_is_still_the_servers(db_path, proposal):
    """kyusho.toml may say staff can approve; the server keeps the policy set at init, and
    the refusal reaches the user as a message naming why, with nothing saved."""
    from kyusho.config import ApprovalPolicy, Policy

    loose = Config(db_url=db_path, policy=Policy(approval=ApprovalPolicy("staff", "staff")))
    session = make_session(db_path, STAFF, config=loose)
    with pytest.raises(PermissionDenied, match="サーバーが拒否"):
        decisions.approve(session, proposal.id)
    assert Decision.get_by_id(proposal.id).status == "proposed"
