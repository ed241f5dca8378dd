"""`kyusho` subcommands for 求償権放棄 (the resolver, the walk-through record).

Registered by kyusho.cli.build_parser; handlers take the parsed arguments and return the exit
status, like the handlers in kyusho/cli.py (whose helpers they may import).

    kyusho waiver resolve NO --scheme KEY [--json]
    kyusho waiver record ID --format {md,html,pdf} --out F [--force]   (or F positionally)
    kyusho waiver municipality add NAME --status S [--covers-closure] [--note T]
    kyusho waiver schemes
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any, command: Any, group: Any) -> None:
    """Add this module's subcommands to ``sub`` with ``command(parent, name, handler, ...)``."""
    from kyusho.cli import _cmd_help

    w = command(sub, "waiver", _cmd_help, help="求償権放棄（条例の判定・記録の出力・団体の登録）")
    wsub = group(w, "waiver_command", required=True)
    r = command(wsub, "resolve", _cmd_resolve, reads=True, help="団体ごとの条例の判定")
    r.add_argument("claim_no", metavar="NO", help="求償権番号")
    r.add_argument(
        "--scheme", metavar="KEY", required=True, help="スキーム（waiver schemes で一覧）"
    )
    r.add_argument("--json", action="store_true", help="JSON で出力する")
    rc = command(
        wsub, "record", _cmd_record, reads=True, help="チェックリストと申請書の記録を書き出す"
    )
    rc.add_argument("id", metavar="ID", help="放棄案件の番号")
    rc.add_argument("file", metavar="F", nargs="?", help="出力ファイル（--out でも可）")
    rc.add_argument("--out", metavar="FILE", help="出力ファイル")
    rc.add_argument(
        "--format", choices=["md", "html", "pdf"], help="形式（省略時はファイルの拡張子から）"
    )
    rc.add_argument("--force", action="store_true", help="既存のファイルを置き換える")
    command(wsub, "schemes", _cmd_schemes, reads=True, help="スキームの一覧")
    m = command(wsub, "municipality", _cmd_help, help="損失補償団体（市町村など）の登録")
    msub = group(m, "municipality_command", required=True)
    ma = command(msub, "add", _cmd_municipality_add, help="団体を登録する (admin のみ)")
    ma.add_argument("name", metavar="NAME", help="団体名（例: 久留米市）")
    ma.add_argument(
        "--status",
        required=True,
        choices=["enacted", "not_required", "not_enacted"],
        help="条例の状況: enacted（制定済）/ not_required（対応不要）/ not_enacted（未制定）",
    )
    ma.add_argument("--covers-closure", action="store_true", help="条例が廃業型も対象とする")
    ma.add_argument("--note", default="", help="備考")


def _cmd_resolve(args: argparse.Namespace) -> int:
    from kyusho.cli import EXIT_OK, _session
    from kyusho.rules.waiver import STATUSES
    from kyusho.services import waiver

    session = _session(args)
    answers = waiver.resolutions(session, args.claim_no, args.scheme)
    if args.json:
        print(json.dumps([a.as_json() for a in answers], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not answers:
        print("この求償権には損失補償団体がありません。")
    for a in answers:
        assembly = "議会の議決が必要" if a.assembly_resolution_needed else "議会の議決は不要"
        print(f"{a.municipality}: {STATUSES.get(a.status, a.status)}（{assembly}）")
        for note in a.notes:
            print(f"  - {note}")
    return EXIT_OK


def _case_id(text: str) -> int:
    from kyusho.errors import InputError

    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError("ID", "放棄案件の番号を1以上の整数で指定してください")
    return value


def _cmd_record(args: argparse.Namespace) -> int:
    from kyusho.cli import EXIT_FAIL, EXIT_OK, _config, _protected, _session
    from kyusho.errors import InputError, KyushoError
    from kyusho.files import output_path, show_text
    from kyusho.services.printing import document_format
    from kyusho.services.waiver import write_waiver_record

    out = args.out or args.file
    if out is None or (args.out and args.file):
        raise InputError("--out", "出力ファイルを F か --out のどちらか一方で指定してください")
    fmt = document_format(out, args.format, "--format")
    config = _config(args)
    output_path(out, "--out", force=args.force, protect=_protected(args, config))
    number = _case_id(args.id)
    session = _session(args)
    try:
        dest = write_waiver_record(session, number, out, fmt=fmt, force=args.force, field="--out")
    except KyushoError as exc:
        if isinstance(exc, InputError):
            raise
        print(f"kyusho: {show_text(exc)}", file=sys.stderr)
        return EXIT_FAIL
    print(f"{show_text(dest)} に放棄の記録を書き出しました。")
    return EXIT_OK


def _cmd_schemes(args: argparse.Namespace) -> int:
    from kyusho.cli import EXIT_OK
    from kyusho.rules.waiver import schemes

    for key, name, kind in schemes():
        print(f"{key}\t{name}\t{'廃業型' if kind == 'closure' else '再生型'}")
    return EXIT_OK


def _cmd_municipality_add(args: argparse.Namespace) -> int:
    from kyusho.cli import EXIT_OK, _session
    from kyusho.services import waiver

    session = _session(args)
    waiver.add_municipality(
        session, args.name, status=args.status, covers_closure=args.covers_closure, note=args.note
    )
    print(f"{args.name} を損失補償団体として登録しました。")
    return EXIT_OK
