"""`kyusho` subcommands for letters (督促状, 催告書, 分割弁済約定書).

Registered by kyusho.cli.build_parser; handlers take the parsed arguments and return the exit
status, like the handlers in kyusho/cli.py (whose helpers they may import).
"""

from __future__ import annotations

from typing import Any


def register(sub: Any, command: Any, group: Any) -> None:
    """Add this module's subcommands to ``sub`` with ``command(parent, name, handler, ...)``."""
