"""Paths given by users: turned into Path objects or refused with the argument's name.

The OS can refuse a path in ways Path does not report as an error but raises for: a name over
255 bytes (ENAMETOOLONG), '~user' of no such user, a NUL byte. Every path a user types goes
through here, so those answers name the argument instead of surfacing as a traceback.
"""

from __future__ import annotations

from pathlib import Path

from kyusho.errors import InputError


def user_path(text: str | Path, field: str) -> Path:
    raw = str(text)
    if not raw.strip():
        raise InputError(field, "パスを指定してください")
    if "\x00" in raw:
        raise InputError(field, "パスに NUL 文字は使えません")
    try:
        path = Path(raw).expanduser()
        path.exists()  # ENAMETOOLONG and similar are raised here
    except RuntimeError:
        raise InputError(
            field,
            f"{raw} のホームフォルダが見つかりません（~ のあとのユーザー名を確認してください）",
        ) from None
    except OSError as exc:
        raise InputError(field, f"このパスは使えません（{exc.strerror}）") from None
    return path
