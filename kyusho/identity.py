"""Who is acting: the OS login (SPEC 6.2).

The login comes from the process's real user id, not from environment variables a user could
set. Tests (in-process) may act as someone else through ``acting_as``.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from contextlib import contextmanager

_override: list[str] = []


def os_login() -> str:
    if _override:
        return _override[-1]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        return f"uid{os.getuid()}"


@contextmanager
def acting_as(login: str) -> Iterator[None]:
    """Act as ``login`` inside this process (tests and the demo's role switch)."""
    _override.append(login)
    try:
        yield
    finally:
        _override.pop()
