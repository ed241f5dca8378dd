"""The `kyusho` command (SPEC 5.2).

Subcommands exist so IT staff can script and check results outside the TUI. None of them
imports Textual: only opening the TUI does. Errors go to stderr with exit status 2 for bad
input and 1 for other failures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from kyusho import __version__
from kyusho.errors import InputError, KyushoError
from kyusho.files import show_text

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        self.code = code
        super().__init__(message)


class Parser(argparse.ArgumentParser):
    def error(
        self, message: str
    ) -> None:  # argparse would exit 2 with usage; keep that, in Japanese
        self.print_usage(sys.stderr)
        raise CliError(f"引数が正しくありません: {message}")


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    from kyusho.rules.dates import parse_date

    return parse_date(text, "--as-of")


def build_parser() -> Parser:
    p = Parser(prog="kyusho", description="求償権管理 kyusho: 信用保証協会 回収部門の端末アプリ")
    p.add_argument("--version", action="version", version=f"kyusho {__version__}")
    p.add_argument("--config", help="設定ファイル (kyusho.toml)")
    p.add_argument("--db", help="データベースのパス (設定の database.path より優先)")
    p.add_argument("--as-of", dest="as_of", help="この日付の終わり時点で表示する（読むだけ）")
    p.set_defaults(handler=_cmd_tui, reads=True)
    # the same options are accepted after the subcommand (kyusho claim show X --db Y)
    common = Parser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--db", default=argparse.SUPPRESS, help="データベースのパス")
    common.add_argument("--as-of", dest="as_of", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    def group(parent: Any, dest: str, **kw: Any) -> Any:
        return parent.add_subparsers(dest=dest, parser_class=Parser, **kw)

    def command(
        parent: Any, name: str, handler: Handler, *, reads: bool = False, **kw: Any
    ) -> Parser:
        """A subcommand with its handler; ``reads`` says whether --as-of applies to it."""
        sp = parent.add_parser(name, parents=[common], **kw)
        sp.set_defaults(handler=handler, reads=reads)
        return sp

    sub = group(p, "command")
    d = command(
        sub, "demo", _cmd_demo, reads=True, help="デモ用データベースで画面を開く（設定不要）"
    )
    d.add_argument("--claims", type=int, default=300, help="求償権の件数 (既定 300)")
    d.add_argument("--seed", type=int, default=7, help="乱数の種")
    d.add_argument("--no-tui", action="store_true", help="作成だけして画面を開かない")

    i = command(
        sub, "init", _cmd_init, help="データベースを作成する（実行した OS ユーザーが admin になる）"
    )
    i.add_argument("--name", help="admin の氏名")

    s = command(sub, "staff", _cmd_help, help="担当者の登録と一覧")
    ssub = group(s, "staff_command", required=True)
    sa = command(ssub, "add", _cmd_staff_add, help="担当者を登録する (admin のみ)")
    sa.add_argument("login")
    sa.add_argument("--name", required=True)
    sa.add_argument("--role", required=True, choices=["staff", "manager", "admin"])
    sl = command(ssub, "list", _cmd_staff_list, reads=True, help="担当者の一覧")
    sl.add_argument("--json", action="store_true")

    im = command(sub, "import", _cmd_import, help="CSV を取り込む（全件か無か）")
    im.add_argument(
        "kind", choices=["claims", "obligors", "receipts", "events", "contacts", "municipalities"]
    )
    im.add_argument("file")
    im.add_argument("--dry-run", action="store_true", help="検査だけして保存しない")

    c = command(sub, "claim", _cmd_help, help="求償権を表示する")
    csub = group(c, "claim_command", required=True)
    cs = command(
        csub, "show", _cmd_claim_show, reads=True, help="残高・時効・入金（SPEC 5.2 の JSON）"
    )
    cs.add_argument("claim_no")
    cs.add_argument("--json", action="store_true")

    lim = command(sub, "limitation", _cmd_help, help="時効の管理")
    lsub = group(lim, "limitation_command", required=True)
    ld = command(lsub, "due", _cmd_limitation_due, reads=True, help="完成が近い関係人")
    ld.add_argument(
        "--within", type=int, default=None, help="日数 (既定 policy.limitation_alert_days)"
    )
    ld.add_argument("--json", action="store_true")

    wl = command(
        sub, "worklist", _cmd_worklist, reads=True, help="今日の仕事（ホーム画面の行、SPEC 4.7）"
    )
    wl.add_argument("--all", action="store_true", help="全員の求償権の分（既定: その担当者の分）")
    wl.add_argument(
        "--login", metavar="L", help="この担当者の仕事（自分以外は manager / admin のみ）"
    )
    wl.add_argument("--json", action="store_true")

    rp = command(sub, "report", _cmd_help, help="年度報告（業務実績）")
    rsub = group(rp, "report_command", required=True)
    rfy = command(rsub, "fy", _cmd_report, reads=True, help="年度の業務実績（前年度比・計画比）")
    rfy.add_argument("year", help="西暦の年度（例: 2025 = 令和7年度）")
    rrange = command(
        rsub, "range", _cmd_report, reads=True, help="任意の期間の業務実績（前年同期比）"
    )
    rrange.add_argument("start", help="開始日")
    rrange.add_argument("end", help="終了日")
    for r_ in (rfy, rrange):
        out = r_.add_mutually_exclusive_group()
        out.add_argument("--json", action="store_true", help="JSON を標準出力へ")
        out.add_argument("--csv", metavar="F", help="表を CSV ファイルへ")
        out.add_argument("--xlsx", metavar="F", help="表を XLSX ファイルへ")
        r_.add_argument("--force", action="store_true", help="既存のファイルを置き換える")

    ex = command(
        sub, "export", _cmd_export, reads=True, help="求償権・入金・債権台帳を CSV / XLSX へ"
    )
    ex.add_argument("kind", choices=["claims", "ledger", "register"])
    ex.add_argument("--format", required=True, choices=["csv", "xlsx"], help="形式")
    ex.add_argument("file", metavar="F", help="出力ファイル")
    ex.add_argument("--force", action="store_true", help="既存のファイルを置き換える")

    rm = command(sub, "remittance", _cmd_help, help="公庫 回収金納付")
    rmsub = group(rm, "remittance_command", required=True)
    rl = command(rmsub, "ledger", _cmd_remittance_ledger, reads=True, help="回収金納付の台帳")
    rl.add_argument("year", metavar="FY", help="西暦の年度（例: 2025）")
    rl.add_argument("--half", type=int, choices=[1, 2], help="1 = 上期、2 = 下期")
    rout = rl.add_mutually_exclusive_group()
    rout.add_argument("--json", action="store_true", help="JSON を標準出力へ")
    rout.add_argument("--csv", metavar="F", help="CSV ファイルへ")
    rout.add_argument("--xlsx", metavar="F", help="XLSX ファイルへ")
    rl.add_argument("--force", action="store_true", help="既存のファイルを置き換える")

    a = command(sub, "audit", _cmd_help, help="監査証跡")
    asub = group(a, "audit_command", required=True)
    av = command(asub, "verify", _cmd_audit_verify, help="ハッシュ連鎖を検証する")
    av.add_argument(
        "--against",
        metavar="FILE",
        nargs="+",
        action="extend",
        default=[],
        help="audit checkpoint が書いたファイル（記録した先頭が連鎖に残っているかも確かめる）",
    )
    ac = command(
        asub, "checkpoint", _cmd_audit_checkpoint, help="連鎖の先頭をデータベースの外に記録する"
    )
    ac.add_argument("file", nargs="?", metavar="FILE", help="追記するファイル（省略時は標準出力）")

    b = command(sub, "backup", _cmd_backup, help="オンラインバックアップ（書き込み中でも可）")
    b.add_argument("dest")
    b.add_argument("--force", action="store_true", help="既存のファイルを置き換える")
    r = command(sub, "restore", _cmd_restore, help="バックアップを新しいファイルに復元する")
    r.add_argument("src")
    r.add_argument(
        "--to",
        required=True,
        help="復元先（存在しないファイル、または PostgreSQL の空のデータベースの URL）",
    )
    r.add_argument("--force", action="store_true", help="既存のファイルを置き換える")

    mg = command(sub, "migrate", _cmd_migrate, help="SQLite のデータベースを PostgreSQL に移す")
    mg.add_argument(
        "--to", required=True, metavar="URL", help="移行先（空の PostgreSQL データベースの URL）"
    )

    rb = command(sub, "rebuild", _cmd_rebuild, help="保存された投影（充当・時効）を再計算する")
    rb.add_argument("--check", action="store_true", help="差分を数えるだけで書き換えない")

    dc = command(sub, "decision", _cmd_help, help="決裁（起案・承認・否決・取下げ・決裁書）")
    dsub = group(dc, "decision_command", required=True)
    dp = command(dsub, "propose", _cmd_decision_propose, help="起案する（決裁を JSON で表示）")
    dp.add_argument("claim_no", metavar="NO", help="求償権番号")
    dp.add_argument("kind", metavar="KIND", help=f"種類: {_kind_choices()}")
    dp.add_argument("--obligor", metavar="N", help="関係人番号（保証人の免除など）")
    dp.add_argument(
        "--data", metavar="FILE.json", help="起案の内容（JSON: payment, reasons, attested …）"
    )
    dp.add_argument("--reason", metavar="R", help="起案の理由（--data の reason でも可）")
    dsh = command(dsub, "show", _cmd_decision_show, reads=True, help="決裁を表示する")
    dsh.add_argument("id", metavar="ID", help="決裁番号")
    dsh.add_argument("--json", action="store_true")
    dl = command(dsub, "list", _cmd_decision_list, reads=True, help="決裁の一覧")
    dl.add_argument("--pending", action="store_true", help="起案中（承認待ち）のものだけ")
    dl.add_argument("--claim", metavar="NO", help="この求償権の決裁だけ")
    dl.add_argument("--json", action="store_true")
    da = command(dsub, "approve", _cmd_decision_approve, help="承認する（効果を適用）")
    da.add_argument("id", metavar="ID", help="決裁番号")
    da.add_argument(
        "--override",
        metavar="REASON",
        help="満たしていない項目があっても承認する理由（記録・報告される）",
    )
    for name, handler, text in (
        ("reject", _cmd_decision_reject, "否決する"),
        ("withdraw", _cmd_decision_withdraw, "取り下げる（起案者）"),
    ):
        dr = command(dsub, name, handler, help=text)
        dr.add_argument("id", metavar="ID", help="決裁番号")
        dr.add_argument("--reason", metavar="R", required=True, help="理由")
    dpr = command(dsub, "print", _cmd_decision_print, reads=True, help="決裁書を書き出す")
    dpr.add_argument("id", metavar="ID", help="決裁番号")
    dpr.add_argument("--out", metavar="FILE", required=True, help="出力ファイル")
    dpr.add_argument(
        "--format", choices=["html", "md", "pdf"], help="形式（省略時はファイルの拡張子から）"
    )
    dpr.add_argument("--force", action="store_true", help="既存のファイルを置き換える")
    # command groups that live in their own modules (each registers its subcommands here)
    from kyusho import cli_letter, cli_waiver

    for module in (cli_letter, cli_waiver):
        module.register(sub, command, group)
    return p


def _check_encoding(argv: Sequence[str]) -> None:
    """An argument with bytes that are not UTF-8 reaches Python as lone surrogates."""
    for i, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            name = (
                "求償権番号" if i >= 3 and argv[i - 3 : i - 1] == ["claim", "show"] else f"引数 {i}"
            )
            raise CliError(
                f"{name}: UTF-8 で読めない文字が含まれています（{arg.encode('utf-8', 'replace').decode()}）"
            ) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        raw = list(sys.argv[1:] if argv is None else argv)
        _check_encoding(raw)
        args = parser.parse_args(raw)
        # argparse hands back a list for `--within --`: every integer option must be an int
        for name, option in (("within", "--within"), ("claims", "--claims"), ("seed", "--seed")):
            value = getattr(args, name, None)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise CliError(f"{option}: 整数を指定してください")
        args.as_of = _as_of(getattr(args, "as_of", None))
        if args.as_of is not None and not args.reads:
            raise CliError(
                "--as-of: 過去の時点の表示は読むだけのコマンドに使えます（書き込むコマンドには使えません）"
            )
        handler: Handler = args.handler
        return handler(args)
    except CliError as exc:
        _error(exc)
        return exc.code
    except InputError as exc:
        _error(exc)
        return EXIT_INPUT
    except KyushoError as exc:
        _error(exc)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `kyusho ... | head`
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # a bug: say so briefly; the traceback only on request
        if os.environ.get("KYUSHO_DEBUG"):
            raise
        print(
            f"kyusho: 予期しないエラーです（{type(exc).__name__}: {show_text(exc)}）。"
            "KYUSHO_DEBUG=1 を付けて再実行すると詳細が出ます。管理者に連絡してください。",
            file=sys.stderr,
        )
        return EXIT_FAIL


def _error(exc: BaseException) -> None:
    """An error on stderr; user text in it can never drive the terminal (escapes shown)."""
    print(f"kyusho: {show_text(exc)}", file=sys.stderr)


def _config(args: argparse.Namespace):
    from kyusho.config import load_config
    from kyusho.files import user_path

    explicit = None if args.config is None else user_path(args.config, "--config")
    return load_config(explicit)  # database.path goes through user_path there


SQLITE_HEADER = b"SQLite format 3\x00"


def _db_path(args: argparse.Namespace, config, *, new: bool = False) -> Path | str:
    """The database from --db (a path or a postgresql:// URL, even when empty), else
    database.url, else database.path, checked.

    A folder, a missing folder, a file that is not SQLite or one this user cannot read is
    refused naming where the path came from; a missing file is left to open_database, which
    says how to create it. ``new`` (init): the folder must be writable.
    """
    from kyusho.files import user_path
    from models.pg import check_url, is_url

    if args.db is not None and is_url(args.db):
        return check_url(args.db, "--db")
    if args.db is None and config.db_url is not None:
        return str(config.db_url)
    field = "--db" if args.db is not None else "database.path"
    path = user_path(args.db if args.db is not None else config.db_path, field)
    shown = show_text(path)
    if path.is_dir():
        raise InputError(
            field, f"{shown} はフォルダです。データベースファイルのパスを指定してください"
        )
    parent = path.absolute().parent
    if not parent.is_dir():
        raise InputError(field, f"フォルダ {show_text(parent)} がありません")
    if path.exists():
        if not path.is_file():
            raise InputError(field, f"{shown} は通常のファイルではありません")
        if not os.access(path, os.R_OK):
            raise InputError(field, f"{shown} を読む権限がありません")
        if not new:
            try:
                with path.open("rb") as fh:
                    header = fh.read(len(SQLITE_HEADER))
            except OSError as exc:
                raise InputError(field, f"{shown} を読めません（{exc.strerror}）") from None
            if header != SQLITE_HEADER:
                raise InputError(
                    field,
                    f"{shown} は SQLite のデータベースではありません（パスを確認してください）",
                )
    elif new and not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(field, f"フォルダ {show_text(parent)} に書き込む権限がありません")
    return path


def _protected(args: argparse.Namespace, config, *extra: Path) -> list[Path]:
    """The databases no output may overwrite: the one in use, the configured one, ``extra``."""
    from models.pg import is_url

    paths = [Path(config.db_path), *extra]
    if args.db is not None and args.db.strip() and not is_url(args.db):
        paths.append(Path(args.db).expanduser())
    return paths


def _session(args: argparse.Namespace):
    """Open the database for a subcommand; a reading one sees the global --as-of date."""
    from kyusho.services.session import open_session

    config = _config(args)
    session = open_session(config, _db_path(args, config))
    session.view_as_of = args.as_of
    return session


def _cmd_help(args: argparse.Namespace) -> int:  # a group reached without its subcommand
    build_parser().print_help()
    return EXIT_INPUT


def _cmd_tui(args: argparse.Namespace) -> int:
    config = _config(args)
    return _run_tui(config, _db_path(args, config), as_of=args.as_of)


def _cmd_init(args: argparse.Namespace) -> int:
    from kyusho.identity import os_login
    from kyusho.services.session import check_database_folder
    from kyusho.services.staff import init_database

    config = _config(args)
    path = _db_path(args, config, new=True)
    approval = (config.policy.approval.min_role, config.policy.approval.min_role_high)
    if isinstance(path, str):  # PostgreSQL: the owner's role is the first admin
        from models.pg import shown_url

        login = init_database(path, None, args.name, approval=approval)
        print(
            f"{shown_url(path)} に kyusho の表・ロール・権限を作成しました。"
            f"{login} を admin として登録しました。"
        )
        return EXIT_OK
    check_database_folder(path, others_may_read=False)
    init_database(path, os_login(), args.name, approval=approval)
    print(f"{show_text(path)} を作成しました。{os_login()} を admin として登録しました。")
    return EXIT_OK


def _cmd_staff_add(args: argparse.Namespace) -> int:
    from kyusho.services import staff

    row = staff.add_staff(_session(args), args.login, args.name, args.role)
    print(f"{row.login}（{show_text(row.name)}、{row.role}）を登録しました。")
    return EXIT_OK


def _cmd_staff_list(args: argparse.Namespace) -> int:
    from kyusho.services import staff

    rows = staff.list_staff(_session(args))
    if args.json:
        print(json.dumps([staff.staff_dict(r) for r in rows], ensure_ascii=False, indent=2))
    else:
        for r in rows:
            # rows stored before names were checked may hold tabs or escapes: never raw
            cells = (r.login, r.name, r.role, "有効" if r.active else "無効")
            print("\t".join(show_text(c) for c in cells))
    return EXIT_OK


def _cmd_claim_show(args: argparse.Namespace) -> int:
    from kyusho.services.claims import claim_json, claim_view

    session = _session(args)
    data = claim_json(claim_view(session, args.claim_no, session.view_date(), history=False))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_claim(data)
    return EXIT_OK


def _cmd_limitation_due(args: argparse.Namespace) -> int:
    from kyusho.services.worklist import limitation_due

    session = _session(args)
    within = args.within if args.within is not None else session.config.policy.limitation_alert_days
    if not 0 <= within <= 36500:
        raise CliError("--within: 0〜36500 の日数を指定してください")
    rows = limitation_due(session, within=within, as_of=session.view_date())
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            print(
                f"{r['completes_on']}\t残{r['days_left']}日\t{show_text(r['claim_no'])}\t{r['obligor_id']}\t{show_text(r['name'])}\t{r['state']}"
            )
    return EXIT_OK


WORK_KINDS = {
    "limitation": "時効",
    "next_action": "次回行動",
    "promise": "入金約束",
    "plan_arrears": "分割延滞",
    "review": "見直し",
    "suspended_receipt": "停止中入金",
    "approval": "決裁",
}


def _cmd_worklist(args: argparse.Namespace) -> int:
    """The home screen's rows for one user (or everyone), in the screen's order."""
    import dataclasses

    from kyusho.rules.dates import format_date
    from kyusho.services.worklist import item_json, worklist
    from models.schema import Staff

    session = _session(args)
    if args.login is not None and args.login.strip() != session.login:
        login = args.login.strip()
        row = Staff.get_or_none(Staff.login == login)
        if row is None:
            raise InputError("--login", f"{show_text(login)} は登録された担当者ではありません")
        session.require("manager", "他の担当者の仕事の表示")
        session = dataclasses.replace(session, login=row.login, name=row.name, role=row.role)
    items = worklist(session, as_of=session.view_date(), all_staff=args.all)
    if args.json:
        print(json.dumps([item_json(i) for i in items], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not items:
        print("今日の仕事はありません。")
    for i in items:
        cells = (
            WORK_KINDS.get(i.kind, i.kind),
            format_date(i.due, session.config.dates) if i.due else "—",
            i.claim_no,
            i.obligor or "—",
            i.reason,
            i.leaves,
        )
        print("\t".join(show_text(c) for c in cells))
    return EXIT_OK


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from kyusho.files import user_path

    against = [user_path(f, "--against") for f in args.against]
    for f in against:
        if not f.is_file():
            raise InputError(
                "--against", f"{show_text(f)} がありません（ファイルを指定してください）"
            )
    session = _session(args)
    try:
        from kyusho.services.maintenance import audit_verify
    except ImportError:  # until checkpoints exist, the chain alone is checked
        if against:
            raise
        from models.audit import verify

        result = verify()
    else:
        result = audit_verify(session, against)
    if result.ok:
        print(f"監査証跡は正常です（{result.checked} 件）。")
        return EXIT_OK
    print(
        f"監査証跡に異常があります: {show_text(result.problem)}（イベント {result.bad_seq}）",
        file=sys.stderr,
    )
    return EXIT_FAIL


def _cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    """The chain's head as one JSON line, printed or appended to FILE (for cron)."""
    from kyusho.files import append_line, append_path
    from kyusho.services.maintenance import audit_checkpoint

    config = _config(args)
    dest = None
    if args.file is not None:
        dest = append_path(args.file, "FILE", protect=_protected(args, config))
    session = _session(args)
    line = audit_checkpoint(session)
    if dest is None:
        print(line)
    else:
        append_line(dest, line, field="FILE")
        print(f"{show_text(dest)} に監査証跡の先頭を追記しました。", file=sys.stderr)
    return EXIT_OK


def _cmd_backup(args: argparse.Namespace) -> int:
    from kyusho.files import output_path
    from kyusho.services.maintenance import backup

    config = _config(args)
    if isinstance(_db_path(args, config), str):
        from kyusho.services import postgres

        session = _session(args)
        dest = postgres.backup(session, args.dest, force=args.force)
        print(f"{show_text(dest)} にバックアップしました（pg_dump、custom 形式）。")
        return EXIT_OK
    dest = output_path(
        args.dest, "DEST", force=args.force, protect=_protected(args, config, config.db_path)
    )
    session = _session(args)
    dest = output_path(dest, "DEST", force=args.force, protect=session.protected_files())
    dest = backup(session, dest, force=args.force)
    print(f"{show_text(dest)} にバックアップしました。")
    return EXIT_OK


def _cmd_restore(args: argparse.Namespace) -> int:
    from kyusho.files import output_path, user_path
    from kyusho.services.maintenance import restore

    config = _config(args)
    src = user_path(args.src, "SRC")
    from models.pg import is_url, shown_url

    if is_url(args.to):
        from kyusho.services import postgres

        url = postgres.restore(src, args.to)
        print(
            f"{shown_url(url)} に復元しました。"
            f"`kyusho --db '{url}' audit verify` で確認してください。"
        )
        return EXIT_OK
    if src.is_dir():
        raise InputError(
            "SRC", f"{show_text(src)} はフォルダです。バックアップのファイルを指定してください"
        )
    dest = output_path(args.to, "--to", force=args.force, protect=_protected(args, config, src))
    dest = restore(src, dest, force=args.force)
    shown = show_text(dest)
    print(f"{shown} に復元しました。`kyusho --db {shown} audit verify` で確認してください。")
    return EXIT_OK


def _cmd_migrate(args: argparse.Namespace) -> int:
    from kyusho.services import postgres
    from models.pg import check_url, shown_url

    url = check_url(args.to, "--to")  # before anything is opened
    session = _session(args)
    report = postgres.migrate_to(session, url)
    total = sum(report.rows.values())
    print(
        f"{shown_url(report.url)} に {total} 行を移しました"
        f"（監査ログ {report.rows.get('audit_event', 0)} 件を含む）。"
        f"`kyusho --db '{report.url}' audit verify` と `rebuild --check` で確認してください。"
    )
    return EXIT_OK


def _cmd_rebuild(args: argparse.Namespace) -> int:
    from kyusho.services.maintenance import rebuild

    result = rebuild(_session(args), write=not args.check, progress=_progress_printer())
    print(
        f"再計算: 求償権 {result.claims} 件、変更 {result.changed} 件（充当 {result.ledger_changes}、時効 {result.clock_changes}）"
    )
    return EXIT_OK if (result.changed == 0 or not args.check) else EXIT_FAIL


def _progress_printer():
    if not sys.stderr.isatty():
        return None

    def show(stage: str, done: int, total: int) -> None:
        print(f"\r{stage} {done:,}/{total:,}", end="", file=sys.stderr, flush=True)
        if done >= total:
            print(file=sys.stderr)

    return show


def _cmd_import(args: argparse.Namespace) -> int:
    from kyusho.files import user_path
    from kyusho.services.imports import ImportFailed, import_file

    session = _session(args)
    try:
        report = import_file(
            session,
            args.kind,
            user_path(args.file, "ファイル"),
            dry_run=args.dry_run,
            progress=_progress_printer(),
        )
    except ImportFailed as exc:
        name = show_text(args.file)
        for e in exc.errors:
            print(f"{name}:{e.line}: {show_text(e.column)}: {show_text(e.reason)}", file=sys.stderr)
        print(f"kyusho: {show_text(exc)}（何も保存していません）", file=sys.stderr)
        return EXIT_INPUT
    verb = "検査しました（保存していません）" if report.dry_run else "取り込みました"
    print(
        f"{args.kind}: {report.rows} 行を{verb}。追加 {report.added} 件、登録済みのため省略 {report.skipped} 件。"
    )
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from kyusho.files import output_path, write_atomically
    from kyusho.rules.dates import parse_date
    from kyusho.rules.report_table import report_csv, report_json, text_lines
    from kyusho.services import reports

    dest, field = None, "--csv" if args.csv is not None else "--xlsx"
    target = args.csv if args.csv is not None else args.xlsx
    if target is not None:  # checked before the report is computed, and again after
        config = _config(args)
        dest = output_path(target, field, force=args.force, protect=_protected(args, config))
    if args.report_command == "fy":
        year = _year(args.year, "YEAR")
        session = _session(args)
        report = reports.fy_report(session, year)
    else:
        start, end = parse_date(args.start, "START"), parse_date(args.end, "END")
        session = _session(args)
        report = reports.range_report(session, start, end)
    if args.json:
        print(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    elif dest is not None and args.xlsx is not None:
        from kyusho.services.exports import write_report_xlsx

        dest = output_path(dest, field, force=args.force, protect=session.protected_files())
        write_report_xlsx(report, dest, field=field, date_style=session.config.dates)
        print(f"{show_text(dest)} に書き出しました。")
    elif dest is not None:
        dest = output_path(dest, "--csv", force=args.force, protect=session.protected_files())
        # with a BOM: Excel, which most 協会 staff open CSV in, then reads UTF-8
        write_atomically(dest, report_csv(report).encode("utf-8-sig"), field="--csv")
        print(f"{show_text(dest)} に書き出しました。")
    else:
        print("\n".join(text_lines(report, session.config.dates)))  # JSON and CSV stay ISO
    return EXIT_OK


def _year(text: str, name: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        raise CliError(f"{name}: 西暦の年度を数字で指定してください（例: 2025）（値: {text!r}）")
    return int(text)


def _cmd_export(args: argparse.Namespace) -> int:
    """SPEC 4.16: the path is checked before anything is read, rows stream to a temporary
    file renamed into place, and progress shows on a terminal."""
    from kyusho.files import output_path
    from kyusho.services import exports

    config = _config(args)
    dest = output_path(args.file, "F", force=args.force, protect=_protected(args, config))
    session = _session(args)
    dest = output_path(dest, "F", force=args.force, protect=session.protected_files())
    rows = exports.export(
        session, args.kind, args.format, dest, field="F", progress=_progress_printer()
    )
    print(f"{show_text(dest)} に {rows:,} 行を書き出しました。")
    return EXIT_OK


def _cmd_remittance_ledger(args: argparse.Namespace) -> int:
    from kyusho.files import output_path
    from kyusho.rules.dates import format_date
    from kyusho.services import exports, remittance

    fy = _year(args.year, "FY")
    field = "--csv" if args.csv is not None else "--xlsx"
    target = args.csv if args.csv is not None else args.xlsx
    dest = None
    if target is not None:
        config = _config(args)
        dest = output_path(target, field, force=args.force, protect=_protected(args, config))
    session = _session(args)
    if dest is not None:
        dest = output_path(dest, field, force=args.force, protect=session.protected_files())
        fmt = "csv" if args.csv is not None else "xlsx"
        rows = exports.write_remittance(session, fy, args.half, fmt, dest, field=field)
        print(f"{show_text(dest)} に {rows:,} 行を書き出しました。")
        return EXIT_OK
    found = remittance.ledger(session, fy, args.half)
    if args.json:
        _print_json(found.json())
        return EXIT_OK
    header, rows = found.table()
    style = session.config.dates
    print("\t".join(header))
    for row in rows:
        print(
            "\t".join(
                format_date(v, style)
                if isinstance(v, date)
                else (f"{v:,}" if isinstance(v, int) else show_text("" if v is None else v))
                for v in row
            )
        )
    for h in found.json()["halves"]:
        label = {1: "上期", 2: "下期"}.get(h["half"], str(h["half"]))
        print(f"{label} 計 {h['total']:,}円")
    return EXIT_OK


# ---------------------------------------------------------------- decisions (SPEC 4.8, 5.2)

DATA_MAX_BYTES = 1024 * 1024  # a proposal's data is a few lines; anything bigger is a mistake


def _kinds() -> dict[str, str]:
    """The kinds a proposal may name: those the decisions service offers, in Japanese."""
    from kyusho.vocab import DECISION_KINDS

    try:
        from kyusho.services.decisions import KINDS
    except ImportError:
        return dict(DECISION_KINDS)
    return {k: DECISION_KINDS.get(k, v) for k, v in KINDS.items()}


def _kind_choices() -> str:
    return " / ".join(f"{k}（{v}）" for k, v in _kinds().items())


def _read_data(text: str | None) -> dict[str, Any]:
    """--data FILE.json: one JSON object, or InputError naming --data."""
    from kyusho.files import user_path

    if text is None:
        return {}
    path = user_path(text, "--data")
    shown = show_text(path)
    if not path.is_file():
        raise InputError("--data", f"{shown} がありません（JSON ファイルを指定してください）")
    try:
        with path.open("rb") as fh:
            raw = fh.read(DATA_MAX_BYTES + 1)
    except OSError as exc:
        raise InputError("--data", f"{shown} を読めません（{exc.strerror}）") from None
    if len(raw) > DATA_MAX_BYTES:
        raise InputError("--data", f"{shown} が大きすぎます（1 MiB まで）")
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError("--data", f"{shown} は UTF-8 で読めません") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            "--data",
            f"{shown} は JSON として読めません（{exc.lineno} 行 {exc.colno} 列: {exc.msg}）",
        ) from None
    except RecursionError:
        raise InputError("--data", f"{shown} の入れ子が深すぎます") from None
    if not isinstance(value, dict):
        raise InputError("--data", f"{shown} は JSON のオブジェクト（{{...}}）にしてください")
    return value


def _claim_argument(session, text: str):
    """The claim named by NO, or InputError naming NO (a missing claim is bad input here)."""
    from kyusho.errors import NotFound
    from kyusho.services.lookup import find_claim

    try:
        return find_claim(text)
    except NotFound as exc:
        raise InputError("NO", str(exc)) from None


def _decision(session, text: str):
    from kyusho.documents.decision import decision_id, find_decision

    return find_decision(session, decision_id(text, "ID"), "ID")


def _decision_json(d) -> dict[str, Any]:
    from kyusho.services.decisions import decision_json

    return decision_json(d)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _cmd_decision_propose(args: argparse.Namespace) -> int:
    from kyusho.services import decisions

    kinds = _kinds()
    kind = args.kind.strip()
    if kind not in kinds:
        raise CliError(
            f"KIND: {_kind_choices()} のいずれかを指定してください（値: {show_text(kind)}）"
        )
    obligor = None
    if args.obligor is not None:
        text = args.obligor.strip()
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 9999:
            raise CliError(
                f"--obligor: 関係人番号を 1 以上の整数で指定してください（値: {show_text(text)}）"
            )
        obligor = int(text)
    data = _read_data(args.data)
    reason = args.reason if args.reason is not None else data.pop("reason", None)
    if not isinstance(reason, str) or not reason.strip():
        raise CliError("--reason: 起案の理由を指定してください（--reason か --data の reason）")
    data.pop("reason", None)
    session = _session(args)
    claim = _claim_argument(session, args.claim_no)
    d = decisions.propose(
        session, claim.claim_no, kind, reason=reason, obligor_no=obligor, data=data
    )
    _print_json(_decision_json(d))
    return EXIT_OK


def _cmd_decision_show(args: argparse.Namespace) -> int:
    session = _session(args)
    data = _decision_json(_decision(session, args.id))
    if args.json:
        _print_json(data)
    else:
        _print_decision(data)
    return EXIT_OK


def _cmd_decision_list(args: argparse.Namespace) -> int:
    from kyusho.services.decisions import list_decisions

    session = _session(args)
    claim_no = None
    if args.claim is not None:
        claim_no = _claim_argument(session, args.claim).claim_no
    rows = [
        _decision_json(d) for d in list_decisions(session, pending=args.pending, claim_no=claim_no)
    ]
    if args.json:
        _print_json(rows)
        return EXIT_OK
    if not rows:
        print("該当する決裁はありません。")
    for r in rows:
        cells = (
            r["decision_id"],
            r["claim_no"],
            r.get("kind_label") or r["kind"],
            r.get("status_label") or r["status"],
            r["proposer"],
            r.get("proposed_at") or "—",
            r.get("approver") or "—",
        )
        print("\t".join(show_text(c) for c in cells))
    return EXIT_OK


def _cmd_decision_approve(args: argparse.Namespace) -> int:
    from kyusho.services import decisions

    session = _session(args)
    d = _decision(session, args.id)
    refused = getattr(decisions, "ApprovalRefused", None)
    try:
        d = decisions.approve(session, d.id, override_reason=args.override)
    except Exception as exc:
        if refused is None or not isinstance(exc, refused):
            raise
        failures = list(getattr(exc, "failures", []) or [])
        print(
            f"kyusho: 決裁 {d.id} は承認できません。次の項目を満たしていません"
            "（承認するには --override に理由を付けてください）:",
            file=sys.stderr,
        )
        for f in failures or [str(exc)]:
            print(f"  ✗ {show_text(f)}", file=sys.stderr)
        return EXIT_FAIL
    data = _decision_json(d)
    note = "（オーバーライド）" if data.get("override_reason") else ""
    print(
        f"決裁 {d.id}（{show_text(data.get('kind_label') or d.kind)}、{show_text(data.get('claim_no'))}）を承認しました{note}。"
    )
    return EXIT_OK


def _cmd_decision_reject(args: argparse.Namespace) -> int:
    from kyusho.services.decisions import reject

    session = _session(args)
    d = reject(session, _decision(session, args.id).id, args.reason)
    print(f"決裁 {d.id} を否決しました。")
    return EXIT_OK


def _cmd_decision_withdraw(args: argparse.Namespace) -> int:
    from kyusho.services.decisions import withdraw

    session = _session(args)
    d = withdraw(session, _decision(session, args.id).id, args.reason)
    print(f"決裁 {d.id} を取り下げました。")
    return EXIT_OK


def _cmd_decision_print(args: argparse.Namespace) -> int:
    """決裁書 to FILE: never over an existing file without --force, never over the database."""
    from kyusho.documents.decision import decision_id
    from kyusho.files import output_path
    from kyusho.services.printing import document_format, write_decision

    fmt = document_format(args.out, args.format, "--format")
    config = _config(args)  # refused before the database is opened, as for every output
    output_path(args.out, "--out", force=args.force, protect=_protected(args, config))
    session = _session(args)
    number = decision_id(args.id, "ID")
    try:
        dest = write_decision(session, number, args.out, fmt=fmt, force=args.force, field="--out")
    except KyushoError as exc:
        if isinstance(exc, InputError):
            raise
        print(f"kyusho: {show_text(exc)}", file=sys.stderr)
        return EXIT_FAIL
    print(f"{show_text(dest)} に決裁書を書き出しました。")
    return EXIT_OK


def _print_decision(data: dict) -> None:
    """A decision as readable lines (the JSON's content; user text never drives the terminal)."""
    head = (
        f"決裁 {data['decision_id']}",
        data.get("kind_label") or data["kind"],
        data.get("status_label") or data["status"],
        f"求償権 {data['claim_no']}",
    )
    print("  ".join(show_text(c) for c in head))
    if data.get("obligor_id") is not None:
        print(f"関係人 {data['obligor_id']}")
    print(
        f"起案 {show_text(data['proposer'])} {data.get('proposed_at') or '—'}  理由 {show_text(data.get('reason') or '')}"
    )
    if data.get("approver"):
        print(f"決裁 {show_text(data['approver'])} {data.get('decided_at') or '—'}")
    for key, value in (data.get("computed") or {}).items():
        print(f"  {show_text(key)}: {show_text(value)}")
    if data.get("checks"):
        print("確認項目:")
    for key, c in (data.get("checks") or {}).items():
        mark = "✓" if c.get("ok") else "✗"
        print(f"  {mark} {show_text(c.get('label') or key)} {show_text(c.get('detail') or '')}")
    if data.get("attested"):
        print("確認事項:")
    for key, a in (data.get("attested") or {}).items():
        print(
            f"  {show_text(a.get('label') or key)}: {show_text(a.get('answer') or '未回答')}"
            f"  {show_text(a.get('note') or '')}"
        )
    if data.get("override_reason"):
        print(f"オーバーライド理由: {show_text(data['override_reason'])}")


def _print_claim(data: dict) -> None:
    from kyusho.rules.money import format_yen

    b = data["balance"]
    print(
        f"{data['claim_no']}  状態 {data['status']}  代位弁済日 {data['subrogation_date']}  時点 {data['as_of']}"
    )
    print(
        f"残高 元金 {format_yen(b['principal'])} 損害金 {format_yen(b['damages'])} 費用 {format_yen(b['costs'])} 合計 {format_yen(b['total'])}"
    )
    for o in data["obligors"]:
        lim = o["limitation"]
        clock = f"{lim['completes_on'] or '—'} ({lim['state']})" if lim else "—"
        print(f"  {o['id']} {o['role']} {show_text(o['name'])}  時効 {clock}")


def _cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from kyusho.demo import build_demo
    from kyusho.identity import os_login

    if args.claims < 1 or args.claims > 50_000:
        raise CliError("--claims: 1〜50000 の件数を指定してください")
    if args.db is not None:
        from kyusho.files import user_path

        path = user_path(args.db, "--db")
        if path.exists() or path.is_symlink():
            raise CliError(
                f"--db: {show_text(path)} はすでにあります。デモは新しいファイルに作ります"
            )
        if not path.absolute().parent.is_dir():
            raise InputError("--db", f"フォルダ {show_text(path.absolute().parent)} がありません")
    else:
        folder = Path(tempfile.mkdtemp(prefix="kyusho-demo-"))
        os.chmod(folder, 0o770)
        path = folder / "demo.db"
    print(f"デモ用データベースを作成しています: {path}", file=sys.stderr)
    build_demo(path, claims=args.claims, seed=args.seed, admin_login=os_login())
    if args.no_tui:
        print(path)
        return EXIT_OK
    from kyusho.config import Config

    return _run_tui(Config(db_path=path), path, as_of=args.as_of)


def _run_tui(config, db_path: Path | str, as_of: date | None = None) -> int:
    from kyusho.services.session import open_session

    session = open_session(config, db_path)
    if as_of is not None:
        session.view_as_of = as_of
    from kyusho.app import KyushoApp  # the only place Textual is imported

    KyushoApp(session).run()
    return EXIT_OK
