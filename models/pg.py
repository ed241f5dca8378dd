"""kyusho on a PostgreSQL server (SPEC 6.1): connecting, writing, and noticing others' writes.

Each user connects as their own database role (peer authentication over the local socket),
so the server, not the client, knows who is acting: the session's login is the server's
``session_user``. Columns keep exactly what SQLite keeps (timestamps as the same ISO text,
money as integers), so every query and every audit hash reads the same on both databases.

Writers take one transaction-scoped turn (an advisory lock) before they read what they will
change: the audit chain gives every write a place in one total order anyway, and taking the
turn first means no transaction ever computes from a row another writer is changing (no lost
update), with no deadlock possible between kyusho writers. The wait is bounded by the busy
timeout, like SQLite's; a serialization failure or deadlock at the start is retried.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from peewee import PostgresqlDatabase

from kyusho.errors import InputError, KyushoError, PermissionDenied

URL_SCHEMES = ("postgresql", "postgres")
# the writer's turn: one advisory lock key for every kyusho writer of a database
WRITER_LOCK_KEY = 0x6B7975736868  # "kyusho"
RETRIES = 5

try:  # psycopg is only needed when a PostgreSQL database is used
    import psycopg
    from psycopg.adapt import Dumper, Loader
    from psycopg.conninfo import conninfo_to_dict

    class _DatetimeText(Dumper):
        """Timestamps go to the server as the text SQLite stores (``str(datetime)``)."""

        oid = 0  # unknown: the server takes the column's type

        def dump(self, obj: datetime) -> bytes:
            return str(obj).encode("utf-8")

    class _IntegralNumeric(Loader):
        """SUM over bigint columns is numeric in PostgreSQL; yen come back as int."""

        def load(self, data: Any) -> int | Decimal:
            value = Decimal(bytes(data).decode("ascii"))
            return int(value) if value == value.to_integral_value() else value

except ImportError:  # pragma: no cover - depends on the installation
    psycopg = None  # type: ignore[assignment]


def is_url(value: object) -> bool:
    """Whether a --db / database.url value names a PostgreSQL database."""
    return isinstance(value, str) and value.split(":", 1)[0].lower() in URL_SCHEMES


def check_url(url: str, field: str) -> str:
    """A PostgreSQL URL that libpq can read, or InputError naming ``field``."""
    if not is_url(url):
        raise InputError(field, "postgresql:// で始まる URL を指定してください")
    if psycopg is None:
        raise InputError(
            field,
            "PostgreSQL を使うには psycopg が必要です（pip install 'kyusho[postgresql]'）",
        )
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        reason = " ".join(str(exc).split())
        raise InputError(field, f"PostgreSQL の URL として読めません（{reason}）") from None
    if "password" in parts:
        raise InputError(
            field,
            "URL にパスワードを書かないでください（ローカルソケットの peer 認証か ~/.pgpass を使います）",
        )
    return url


def shown_url(url: str) -> str:
    """The URL for messages and the status bar: database and host, never credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "ローカル"
    name = parts.path.lstrip("/") or "(既定)"
    return f"postgresql {name}@{host}"


class KyushoPostgres(PostgresqlDatabase):
    """peewee's PostgreSQL database with the column types and adapters kyusho needs."""

    def _connect(self) -> Any:
        conn = super()._connect()  # type: ignore[misc]
        conn.adapters.register_dumper(datetime, _DatetimeText)
        conn.adapters.register_loader("numeric", _IntegralNumeric)
        return conn


FIELD_TYPES = {
    "DATETIME": "TEXT",  # the ISO text SQLite keeps, offset and all
    "INT": "BIGINT",  # yen: no 2^31 limit
    "AUTO": "BIGSERIAL",
}


def connect(url: str, login: str | None = None) -> KyushoPostgres:
    """A database object for ``url``, connecting as ``login`` (default: the URL's user, else
    the OS user, as libpq does). The server authenticates: under peer authentication a user
    can only connect as their own role."""
    params: dict[str, Any] = conninfo_to_dict(url)
    name = str(params.pop("dbname", "") or "")
    if login:
        params["user"] = login
    params.setdefault("application_name", "kyusho")
    params.setdefault("connect_timeout", "10")
    db = KyushoPostgres(
        name,
        field_types=FIELD_TYPES,
        prefer_psycopg3=True,
        autoconnect=True,
        **params,
    )
    return db


def connection_error(url: str, exc: Exception) -> KyushoError:
    """A connection refused by the server, in words an operator can act on."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return KyushoError(
        f"{shown_url(url)} に接続できません: {text}。"
        "サーバーが動いているか、あなたのデータベースロールがあるか（管理者に `kyusho staff add` を依頼）を確認してください。"
    )


def _origin(exc: BaseException) -> BaseException:
    """The driver's exception behind peewee's wrapper (which keeps it as its first arg)."""
    for candidate in (exc.__cause__, *(exc.args[:1]), exc.__context__):
        if isinstance(candidate, BaseException) and hasattr(candidate, "sqlstate"):
            return candidate
    return exc


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(_origin(exc), "sqlstate", None)


def is_privilege_error(exc: BaseException) -> bool:
    """The server refused for lack of a privilege (a grant, or one of kyusho's guards)."""
    return _sqlstate(exc) == "42501"


def _is_retryable(exc: BaseException) -> bool:
    return _sqlstate(exc) in ("40001", "40P01")  # serialization_failure, deadlock_detected


def _is_lock_timeout(exc: BaseException) -> bool:
    return _sqlstate(exc) == "55P03"  # lock_not_available


@contextmanager
def writer_turn(db: Any, wait_ms: int, busy: Any) -> Iterator[None]:
    """BEGIN, then wait (at most ``wait_ms``) for the writer's turn; COMMIT at the end.

    ``busy(holder, waited_ms)`` makes the exception raised when the wait ends. A
    serialization failure or deadlock while taking the turn (nothing done yet) is retried
    up to RETRIES times.
    """
    attempt = 0
    while True:
        txn = db.atomic()
        txn.__enter__()
        try:
            db.execute_sql(f"SET LOCAL lock_timeout = {int(wait_ms)}")
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK_KEY,))
            db.execute_sql("SET LOCAL lock_timeout = 0")
        except Exception as exc:  # noqa: BLE001 - sorted below
            txn.__exit__(type(exc), exc, exc.__traceback__)
            if _is_lock_timeout(exc):
                raise busy(holder(db), wait_ms) from None
            if _is_retryable(exc) and attempt < RETRIES:
                attempt += 1
                time.sleep(0.01 * attempt)
                continue
            raise
        break
    try:
        yield
    except BaseException as exc:
        txn.__exit__(type(exc), exc, exc.__traceback__)
        if is_privilege_error(exc):
            raise refusal(exc) from None
        raise
    txn.__exit__(None, None, None)


def refusal(exc: BaseException) -> PermissionDenied:
    """A write the server refused (a grant, or a kyusho guard), in the server's words."""
    cause = _origin(exc)
    diag = getattr(cause, "diag", None)
    text = (getattr(diag, "message_primary", None) or str(cause)).strip()
    text = text.removeprefix("kyusho: ")
    return PermissionDenied(f"データベースサーバーが拒否しました: {text}（何も保存していません）")


def holder(db: Any) -> dict[str, object]:
    """Who holds the writer's turn now (pid and login), read from pg_locks."""
    try:
        row = db.execute_sql(
            "SELECT a.pid, a.usename, a.xact_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() "
            "AND l.objid = %s LIMIT 1",
            (WRITER_LOCK_KEY & 0xFFFFFFFF,),
        ).fetchone()
    except Exception:  # noqa: BLE001 - who holds the turn is a courtesy for the message
        return {}
    if not row:
        return {}
    since = row[2].isoformat(timespec="seconds") if row[2] is not None else ""
    return {"pid": row[0], "login": row[1] or "", "since": since}


class VersionWatcher:
    """Notices other users' commits by a number that changes when they commit."""

    _last = 0

    def _version(self) -> int:  # pragma: no cover - each database says how
        raise NotImplementedError

    def changed(self) -> bool:
        now = self._version()
        if now != self._last:
            self._last = now
            return True
        return False


class PgChangeWatcher(VersionWatcher):
    """Notices other users' commits by the audit chain's head: every write appends to it."""

    def __init__(self, url: str, login: str | None) -> None:
        params: dict[str, Any] = conninfo_to_dict(url)
        if login:
            params["user"] = login
        params.setdefault("application_name", "kyusho-watch")
        self._conn = psycopg.connect(**params, autocommit=True)
        self._last = self._version()

    def _version(self) -> int:
        row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM audit_event").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._conn.close()


GROUP_ROLES = {"staff": "kyusho_staff", "manager": "kyusho_manager", "admin": "kyusho_admin"}

_ROLES_SQL = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kyusho_staff') THEN
    CREATE ROLE kyusho_staff NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kyusho_manager') THEN
    CREATE ROLE kyusho_manager NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kyusho_admin') THEN
    CREATE ROLE kyusho_admin NOLOGIN; END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
"""

# privileges, the audit chain computed by the server, and the rules only the server can
# enforce: who may write staff, and who may approve whose decision
_RULES_SQL = """
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO kyusho_staff;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO kyusho_staff;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO kyusho_staff;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON staff, meta, audit_event FROM kyusho_staff;
GRANT INSERT ON audit_event TO kyusho_staff;
GRANT INSERT, UPDATE ON staff TO kyusho_admin;

CREATE OR REPLACE FUNCTION kyusho_role_rank(r text) RETURNS int LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog AS $f$
  SELECT CASE r WHEN 'staff' THEN 0 WHEN 'manager' THEN 1 WHEN 'admin' THEN 2 ELSE -1 END
$f$;

CREATE OR REPLACE FUNCTION kyusho_is_owner() RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog AS $f$
  SELECT session_user::text = (SELECT pg_catalog.pg_get_userbyid(d.datdba)::text
                               FROM pg_catalog.pg_database d
                               WHERE d.datname = pg_catalog.current_database())
$f$;

CREATE OR REPLACE FUNCTION kyusho_staff_role() RETURNS text LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT s.role FROM public.staff s WHERE s.login = session_user AND s.active
$f$;

CREATE OR REPLACE FUNCTION kyusho_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
DECLARE
  head text;
  prev text;
  last_seq bigint;
  body text;
BEGIN
  SELECT m.value INTO head FROM public.meta m WHERE m.key = 'audit_head' FOR UPDATE;
  IF head IS NULL THEN
    last_seq := 0;
    prev := repeat('0', 64);
  ELSE
    last_seq := split_part(head, ':', 1)::bigint;
    prev := split_part(head, ':', 2);
  END IF;
  NEW.seq := last_seq + 1;
  NEW.login := session_user;
  NEW.prev_hash := prev;
  body := '{"action":' || to_json(NEW.action)::text
    || ',"after":' || COALESCE(to_json(NEW.after)::text, 'null')
    || ',"at":' || to_json(NEW.at)::text
    || ',"before":' || COALESCE(to_json(NEW.before)::text, 'null')
    || ',"entity":' || to_json(NEW.entity)::text
    || ',"entity_id":' || to_json(NEW.entity_id)::text
    || ',"login":' || to_json(NEW.login)::text
    || ',"reason":' || COALESCE(to_json(NEW.reason)::text, 'null')
    || ',"seq":' || NEW.seq::text || '}';
  NEW.hash := encode(sha256(convert_to(prev || body, 'UTF8')), 'hex');
  IF head IS NULL THEN
    INSERT INTO public.meta (key, value) VALUES ('audit_head', NEW.seq || ':' || NEW.hash);
  ELSE
    UPDATE public.meta SET value = NEW.seq || ':' || NEW.hash WHERE key = 'audit_head';
  END IF;
  RETURN NEW;
END $f$;

CREATE OR REPLACE FUNCTION kyusho_audit_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $f$
BEGIN
  RAISE EXCEPTION 'kyusho: 監査ログは追記のみです（変更・削除できません）'
    USING ERRCODE = 'insufficient_privilege';
END $f$;

DROP TRIGGER IF EXISTS kyusho_audit_chain ON audit_event;
CREATE TRIGGER kyusho_audit_chain BEFORE INSERT ON audit_event
  FOR EACH ROW EXECUTE FUNCTION kyusho_audit_chain();
DROP TRIGGER IF EXISTS kyusho_audit_append_only ON audit_event;
CREATE TRIGGER kyusho_audit_append_only BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION kyusho_audit_append_only();
DROP TRIGGER IF EXISTS kyusho_audit_no_truncate ON audit_event;
CREATE TRIGGER kyusho_audit_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION kyusho_audit_append_only();

CREATE OR REPLACE FUNCTION kyusho_staff_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $f$
BEGIN
  IF NOT public.kyusho_is_owner() AND public.kyusho_staff_role() IS DISTINCT FROM 'admin' THEN
    RAISE EXCEPTION 'kyusho: 担当者の登録・変更は管理者（admin）だけができます（%）', session_user
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN COALESCE(NEW, OLD);
END $f$;

DROP TRIGGER IF EXISTS kyusho_staff_guard ON staff;
CREATE TRIGGER kyusho_staff_guard BEFORE INSERT OR UPDATE OR DELETE ON staff
  FOR EACH ROW EXECUTE FUNCTION kyusho_staff_guard();

CREATE OR REPLACE FUNCTION kyusho_decision_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
DECLARE
  my_role text;
  needed text;
BEGIN
  IF public.kyusho_is_owner() THEN
    RETURN COALESCE(NEW, OLD);
  END IF;
  my_role := public.kyusho_staff_role();
  IF my_role IS NULL THEN
    RAISE EXCEPTION 'kyusho: % は有効な担当者ではありません', session_user
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'kyusho: 決裁は削除できません（取下げ・否決で終えます）'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW.proposer <> session_user OR NEW.status NOT IN ('draft', 'proposed')
       OR NEW.approver IS NOT NULL OR NEW.decided_at IS NOT NULL THEN
      RAISE EXCEPTION 'kyusho: 起案は本人の名前で、未決裁の状態でだけ登録できます'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.id <> OLD.id OR NEW.proposer <> OLD.proposer OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'kyusho: 起案者・起案日は変更できません'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status = 'draft' THEN
    IF session_user::text <> OLD.proposer THEN
      RAISE EXCEPTION 'kyusho: 下書きを変更できるのは起案者だけです'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status NOT IN ('draft', 'proposed', 'withdrawn') OR NEW.approver IS NOT NULL THEN
      RAISE EXCEPTION 'kyusho: 下書きは起案するか取り下げるだけです'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  -- proposed or decided: what was proposed is frozen
  IF (NEW.claim_id, NEW.kind, NEW.obligor_id, NEW.data, NEW.checks, NEW.reason, NEW.proposed_at)
     IS DISTINCT FROM
     (OLD.claim_id, OLD.kind, OLD.obligor_id, OLD.data, OLD.checks, OLD.reason, OLD.proposed_at) THEN
    RAISE EXCEPTION 'kyusho: 起案された内容は変更できません'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status IN ('approved', 'rejected', 'withdrawn') THEN
    -- only the recorded effect of an approval grows (a release on the payment)
    IF (NEW.status, NEW.approver, NEW.decided_at, NEW.override_reason)
       IS DISTINCT FROM (OLD.status, OLD.approver, OLD.decided_at, OLD.override_reason)
       OR (OLD.status <> 'approved' AND NEW.effect IS DISTINCT FROM OLD.effect) THEN
      RAISE EXCEPTION 'kyusho: 決裁済みの決裁は変更できません'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  -- OLD.status = 'proposed'
  IF NEW.status = 'proposed' THEN
    IF (NEW.approver, NEW.decided_at, NEW.override_reason, NEW.effect)
       IS DISTINCT FROM (OLD.approver, OLD.decided_at, OLD.override_reason, OLD.effect) THEN
      RAISE EXCEPTION 'kyusho: 決裁の記録は決裁のときにだけ書かれます'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  ELSIF NEW.status = 'withdrawn' THEN
    IF session_user::text <> OLD.proposer AND my_role <> 'admin' THEN
      RAISE EXCEPTION 'kyusho: 取下げは起案者（または管理者）だけができます'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.approver IS NOT NULL THEN
      RAISE EXCEPTION 'kyusho: 取下げに決裁者は記録されません'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  ELSIF NEW.status IN ('approved', 'rejected') THEN
    IF NEW.approver IS DISTINCT FROM session_user::text THEN
      RAISE EXCEPTION 'kyusho: 決裁者は接続しているロール（%）でなければなりません', session_user
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.proposer = session_user::text THEN
      RAISE EXCEPTION 'kyusho: 自分が起案した決裁は承認・否決できません（四つの目の原則）'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT CASE WHEN NEW.kind = ANY (string_to_array(
                  (SELECT m.value FROM public.meta m WHERE m.key = 'approval.high_kinds'), ','))
                THEN (SELECT m.value FROM public.meta m WHERE m.key = 'approval.min_role_high')
                ELSE (SELECT m.value FROM public.meta m WHERE m.key = 'approval.min_role') END
      INTO needed;
    IF public.kyusho_role_rank(my_role) < public.kyusho_role_rank(COALESCE(needed, 'manager')) THEN
      RAISE EXCEPTION 'kyusho: この決裁には % 以上の権限が必要です（% は %）',
        COALESCE(needed, 'manager'), session_user, my_role
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  ELSE
    RAISE EXCEPTION 'kyusho: 起案中の決裁は承認・否決・取下げでだけ終わります'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $f$;

CREATE OR REPLACE FUNCTION kyusho_grant_staff_role(who text, r text, is_active boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
DECLARE
  g text;
BEGIN
  IF NOT public.kyusho_is_owner() AND public.kyusho_staff_role() IS DISTINCT FROM 'admin' THEN
    RAISE EXCEPTION 'kyusho: 担当者の登録・変更は管理者（admin）だけができます（%）', session_user
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = who) THEN
    BEGIN
      EXECUTE format('CREATE ROLE %I LOGIN', who);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  FOREACH g IN ARRAY ARRAY['staff', 'manager', 'admin'] LOOP
    IF is_active AND g = r THEN
      EXECUTE format('GRANT %I TO %I', 'kyusho_' || g, who);
    ELSIF (SELECT m.value FROM public.meta m WHERE m.key = 'roles.shared') = 'true' THEN
      NULL;  -- several kyusho databases share this cluster's roles: never take one away
    ELSE
      EXECUTE format('REVOKE %I FROM %I', 'kyusho_' || g, who);
    END IF;
  END LOOP;
END $f$;
REVOKE ALL ON FUNCTION kyusho_grant_staff_role(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kyusho_grant_staff_role(text, text, boolean) TO kyusho_admin;

DROP TRIGGER IF EXISTS kyusho_decision_guard ON decision;
CREATE TRIGGER kyusho_decision_guard BEFORE INSERT OR UPDATE OR DELETE ON decision
  FOR EACH ROW EXECUTE FUNCTION kyusho_decision_guard();
"""


def _retry_catalog(db: Any, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Run role statements, retrying 'tuple concurrently updated' (another init or staff
    add changing the cluster-wide role catalog at the same moment)."""
    for attempt in range(RETRIES + 1):
        try:
            with db.atomic():
                for sql, params in statements:
                    db.execute_sql(sql, params)
            return
        except Exception as exc:  # noqa: BLE001 - only the catalog race is retried
            if "concurrently" not in str(exc) or attempt == RETRIES:
                raise
            time.sleep(0.02 * (attempt + 1))


def install_server_rules(
    db: Any, *, min_role: str, min_role_high: str, high_kinds: list[str]
) -> None:
    """Create the group roles, grants, the audit trigger and the guards (as the owner)."""
    _retry_catalog(db, [(_ROLES_SQL, ())])
    _retry_catalog(
        db,
        [
            ("GRANT kyusho_staff TO kyusho_manager", ()),
            ("GRANT kyusho_manager TO kyusho_admin", ()),
        ],
    )
    db.cursor().execute(_RULES_SQL)  # no parameters: its % are PL/pgSQL's
    name = db.execute_sql("SELECT current_database()").fetchone()[0]
    db.execute_sql(f'GRANT CONNECT ON DATABASE "{name}" TO kyusho_staff')
    # no temporary tables: one could stand in for a table a guard reads
    db.execute_sql(f'REVOKE TEMPORARY ON DATABASE "{name}" FROM PUBLIC')
    for key, value in (
        ("approval.min_role", min_role),
        ("approval.min_role_high", min_role_high),
        ("approval.high_kinds", ",".join(sorted(high_kinds))),
    ):
        db.execute_sql(
            "INSERT INTO meta (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, value),
        )


def grant_role(db: Any, login: str, role: str, *, active: bool = True) -> None:
    """Give ``login`` a database role (created if missing) in ``role``'s group only; an
    inactive login keeps its role but loses every kyusho group. Runs the owner's
    security-definer function, which refuses anyone but an active admin (or the owner)."""
    _retry_catalog(
        db, [("SELECT kyusho_grant_staff_role(%s, %s, %s)", (login, role, bool(active)))]
    )


def session_login(db: Any) -> str:
    """The role the server authenticated this connection as."""
    return str(db.execute_sql("SELECT session_user").fetchone()[0])


def create_tables(db: Any, models: Any) -> None:
    """peewee's create_tables, without SQLite's table options (WITHOUT ROWID)."""
    kept = {m: m._meta.without_rowid for m in models}
    try:
        for m in models:
            m._meta.without_rowid = False
        db.create_tables(models)
    finally:
        for m, value in kept.items():
            m._meta.without_rowid = value
