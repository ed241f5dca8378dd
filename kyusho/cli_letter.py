"""`kyusho` subcommands for letters (督促状, 催告書, 分割弁済約定書).

Registered by kyusho.cli.build_parser; handlers take the parsed arguments and return the exit
status, like the handlers in kyusho/cli.py (whose helpers they may import).

    kyusho letter KIND NO --obligor N [--date D] [--format F] --out FILE [--force] [--record]
    kyusho letter KIND --worklist [--within DAYS] ... --out FILE [--record]

The file is written first; ``--record`` then records the letters as sent (a 文書 contact per
obligor, and for a 催告書 a demand on the send date). A demand that would do nothing is
refused before anything is written unless ``--confirm-no-effect`` says to record it anyway.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kyusho.documents.letters import LETTER_KINDS


def register(sub: Any, command: Any, group: Any) -> None:
    """Add this module's subcommands to ``sub`` with ``command(parent, name, handler, ...)``."""
    kinds = "、".join(f"{k}（{v}）" for k, v in LETTER_KINDS.items())
    lt = command(sub, "letter", _cmd_letter, help="督促状・催告書・分割弁済約定書を書き出す")
    lt.add_argument("kind", metavar="KIND", choices=list(LETTER_KINDS), help=f"種類: {kinds}")
    lt.add_argument(
        "claim_no", metavar="NO", nargs="?", help="求償権番号（--worklist のときは不要）"
    )
    lt.add_argument("file", metavar="F", nargs="?", help="出力ファイル（--out でも可）")
    lt.add_argument("--obligor", metavar="N", help="関係人番号（宛先）")
    lt.add_argument(
        "--worklist",
        action="store_true",
        help="ワークリストの関係人あて（時効のアラートが先）に 1 ファイルで 1 通 1 ページ",
    )
    lt.add_argument(
        "--within",
        type=int,
        default=None,
        metavar="DAYS",
        help="--worklist: 時効の完成がこの日数以内の関係人だけ",
    )
    lt.add_argument("--date", metavar="D", help="文書の日付・送付日（既定: 今日）")
    lt.add_argument(
        "--format", choices=["pdf", "html", "md"], help="形式（省略時はファイルの拡張子から）"
    )
    lt.add_argument("--out", metavar="FILE", help="出力ファイル")
    lt.add_argument("--force", action="store_true", help="既存のファイルを置き換える")
    lt.add_argument(
        "--record",
        action="store_true",
        help="送付を記録する（交渉記録「文書」、催告書は時効事由「催告」も）",
    )
    lt.add_argument(
        "--confirm-no-effect",
        action="store_true",
        help="--record: 時効に効力のない催告もそのまま記録する",
    )


def _cmd_letter(args: argparse.Namespace) -> int:
    from kyusho.cli import (
        EXIT_FAIL,
        EXIT_OK,
        CliError,
        _config,
        _protected,
        _session,
    )
    from kyusho.errors import InputError, KyushoError
    from kyusho.files import output_path, show_text
    from kyusho.rules.dates import format_date, parse_date
    from kyusho.services import letters
    from kyusho.services.printing import document_format, write_letters

    claim_no, out = args.claim_no, args.file
    if args.worklist:
        if claim_no is not None and out is None:
            claim_no, out = None, claim_no  # `letter demand --worklist out.pdf`
        if claim_no is not None:
            raise CliError("--worklist と求償権番号は同時に指定できません")
        if args.obligor is not None:
            raise CliError("--worklist と --obligor は同時に指定できません")
    else:
        if claim_no is None:
            raise CliError("求償権番号を指定するか、--worklist を付けてください")
        if args.obligor is None:
            raise CliError("--obligor: 宛先の関係人番号を指定してください")
        if args.within is not None:
            raise CliError("--within は --worklist と一緒に使います")
    if args.out is not None and out is not None and args.out != out:
        raise CliError("出力ファイルは --out か位置引数の一方で指定してください")
    out = args.out or out
    if out is None:
        raise CliError("--out: 出力ファイルを指定してください")
    if args.confirm_no_effect and not args.record:
        raise CliError("--confirm-no-effect は --record と一緒に使います")
    fmt = document_format(out, args.format, "--format")
    config = _config(args)  # refused before the database is opened, as for every output
    output_path(out, "--out", force=args.force, protect=_protected(args, config))
    session = _session(args)
    on = session.today() if args.date is None else parse_date(args.date, "--date")

    if args.worklist:
        targets = letters.targets_from_worklist(session, args.within)
        if not targets:
            print("ワークリストに宛先がありません（何も書き出していません）。", file=sys.stderr)
            return EXIT_FAIL
    else:
        raw = str(args.obligor).strip()
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 999:
            raise InputError(
                "--obligor", f"関係人番号は 1 以上の整数で指定してください（値: {raw!r}）"
            )
        targets = [(claim_no, int(raw))]

    style = session.config.dates
    found = letters.effects(session, args.kind, targets, on) if args.record else []
    blocked = [e for e in found if e.no_effect]
    if blocked and not args.confirm_no_effect:
        for e in blocked:
            print(
                f"{e.claim_no} 関係人{e.obligor_no} {show_text(e.name)}: {e.no_effect}",
                file=sys.stderr,
            )
        raise InputError(
            "--record",
            "効力のない催告があります。記録するなら --confirm-no-effect を付けてください"
            "（何も書き出していません）",
        )
    try:
        dest = write_letters(
            session, args.kind, targets, on, out, fmt=fmt, force=args.force, field="--out"
        )
    except KyushoError as exc:
        if isinstance(exc, InputError):
            raise
        print(f"kyusho: {show_text(exc)}", file=sys.stderr)
        return EXIT_FAIL
    label = LETTER_KINDS[args.kind]
    print(f"{show_text(dest)} に{label}を {len(targets)} 通書き出しました。")
    if args.record:
        count = letters.record_sent(
            session, args.kind, targets, on, confirm_no_effect=args.confirm_no_effect
        )
        for e in found:
            change = ""
            if args.kind == "demand" and (e.completes_before or e.completes_after):
                before = format_date(e.completes_before, style) or "—"
                after = format_date(e.completes_after, style) or "—"
                change = f"　時効 {before} → {after}"
            warn = f"　（効力なし: {e.no_effect}）" if e.no_effect else ""
            print(f"{e.claim_no} 関係人{e.obligor_no} {show_text(e.name)}{change}{warn}")
        print(f"{count} 通を {format_date(on, style)} の送付として記録しました。")
    return EXIT_OK
