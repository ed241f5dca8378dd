"""Paths given by users: turned into Path objects or refused with the argument's name.

The OS can refuse a path in ways Path does not report as an error but raises for: a name over
255 bytes (ENAMETOOLONG), '~user' of no such user, a NUL byte. Every path a user types goes
through here, so those answers name the argument instead of surfacing as a traceback.

Every file the product writes goes through ``output_path`` and ``write_atomically``: a typo
or a careless argument must never overwrite the live database (or any file without --force),
and a write interrupted half-way must never leave a half-written file under the real name.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kyusho.errors import InputError, KyushoError

# Files SQLite (and kyusho's writer queue) keep next to a database: overwriting any of them
# destroys or corrupts the database as surely as overwriting the database itself.
DB_COMPANIONS = ("", "-wal", "-shm", "-journal", "-lock")

_USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EISDIR}


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
            f"{show_text(raw)} のホームフォルダが見つかりません"
            "（~ のあとのユーザー名を確認してください）",
        ) from None
    except OSError as exc:
        raise InputError(field, f"このパスは使えません（{exc.strerror}）") from None
    return path


def show_text(text: object) -> str:
    """User text made safe to print: control characters shown as escapes, never sent raw.

    A name or argument holding ESC could recolour or rewrite the user's terminal, and one
    holding a tab or newline could forge a line of tabular output; ``\\x1b``, ``\\t`` and
    ``\\n`` are shown instead.
    """
    out: list[str] = []
    for ch in str(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or 0x7F <= code < 0xA0 or ch in "\u2028\u2029":
            out.append(
                {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(ch)
                or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
            )
        elif 0xD800 <= code < 0xE000:  # lone surrogates from undecodable bytes
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _protected(protect: Iterable[Path]) -> set[str]:
    real: set[str] = set()
    for db in protect:
        base = os.path.realpath(Path(db).expanduser())
        for suffix in DB_COMPANIONS:
            real.add(base + suffix)
            real.add(os.path.realpath(f"{Path(db).expanduser()}{suffix}"))
    return real


def _file_path(text: str | Path, field: str) -> Path:
    """``user_path`` for a file to write: text that names a folder ("x/", "x/.", "..") is
    refused as it was typed, before Path() turns "no-such-folder/." into a file name."""
    raw = str(text)
    trimmed = raw.rstrip("/")
    if raw.endswith("/") or trimmed.rsplit("/", 1)[-1] in (".", ".."):
        raise InputError(
            field, f"{show_text(raw)} はフォルダを指しています。ファイル名まで指定してください"
        )
    return user_path(text, field)


def output_path(
    text: str | Path, field: str, *, force: bool = False, protect: Iterable[Path] = ()
) -> Path:
    """A path the product may write to, or InputError naming ``field``.

    Refused: an existing file unless ``force``; a folder; a dangling symlink (and a symlink to
    an existing file unless ``force``); a missing or unwritable parent folder; and, by real
    path even when the file does not exist yet and even with ``force``, any database in
    ``protect`` and its -wal/-shm/-journal/-lock files. With ``force`` a symlink resolves to
    its target, so the target is replaced rather than the link.
    """
    path = _file_path(text, field)
    shown = show_text(path)
    real = os.path.realpath(path)
    if real in _protected(protect):
        raise InputError(
            field,
            f"{shown} は使用中のデータベース（またはその付属ファイル）です。"
            "上書きするとデータが失われるため書き込めません。別のファイル名を指定してください",
        )
    if path.is_symlink():
        if not os.path.exists(real):
            raise InputError(
                field,
                f"{shown} はリンク先のないシンボリックリンクです。別のファイル名を指定してください",
            )
        if not force:
            raise InputError(
                field,
                f"{shown} はシンボリックリンクです（リンク先 {show_text(real)}）。"
                "上書きするには --force を付けてください",
            )
        path = Path(real)
    if path.is_dir():
        raise InputError(field, f"{shown} はフォルダです。ファイル名を指定してください")
    if path.exists():
        if not path.is_file():
            raise InputError(field, f"{shown} は通常のファイルではありません")
        if not force:
            raise InputError(
                field,
                f"{shown} はすでにあります。上書きするには --force を付けるか、"
                "新しいファイル名を指定してください",
            )
    parent = path.parent
    folder = show_text(parent)
    if not parent.exists():
        raise InputError(field, f"フォルダ {folder} がありません")
    if not parent.is_dir():
        raise InputError(field, f"{folder} はフォルダではありません")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(field, f"フォルダ {folder} に書き込む権限がありません")
    return path


@contextmanager
def atomic_output(dest: Path, *, field: str) -> Iterator[Path]:
    """A hidden temporary file next to ``dest`` that becomes ``dest`` when the block succeeds.

    Readers see either the old file or the whole new one; it is fsynced, renamed into place
    (mode 0660) and the rename made durable; on any error the temporary file is removed.
    """
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        os.fchmod(fd, 0o660)
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        tmp = None
        try:  # make the rename itself durable
            dir_fd = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
    except OSError as exc:
        message = f"{show_text(dest)} に書き込めません（{exc.strerror}）"
        if exc.errno in _USER_ERRNOS:
            raise InputError(field, message) from None
        raise KyushoError(f"{field}: {message}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def write_atomically(dest: Path, data: bytes, *, field: str) -> Path:
    """``data`` written to ``dest`` through ``atomic_output``."""
    with atomic_output(dest, field=field) as tmp:
        tmp.write_bytes(data)
    return dest


def append_path(text: str | Path, field: str, *, protect: Iterable[Path] = ()) -> Path:
    """A file the product may append to (a log), or InputError naming ``field``.

    Appending never destroys what is there, so an existing file is fine; a folder, a
    dangling symlink, a missing folder and, by real path, a protected database are not.
    """
    path = _file_path(text, field)
    shown = show_text(path)
    real = os.path.realpath(path)
    if real in _protected(protect):
        raise InputError(
            field, f"{shown} は使用中のデータベース（またはその付属ファイル）です。書き込めません"
        )
    if path.is_symlink() and not os.path.exists(real):
        raise InputError(field, f"{shown} はリンク先のないシンボリックリンクです")
    if path.is_dir():
        raise InputError(field, f"{shown} はフォルダです。ファイル名を指定してください")
    if path.exists() and not path.is_file():
        raise InputError(field, f"{shown} は通常のファイルではありません")
    parent = Path(real).parent
    if not parent.is_dir():
        raise InputError(field, f"フォルダ {show_text(parent)} がありません")
    return path


def append_line(dest: Path, line: str, *, field: str) -> None:
    """Append one line (created 0640 if missing) and fsync, so a crash cannot lose it."""
    try:
        existed = dest.exists()
        fd = os.open(dest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            if not existed:
                os.fchmod(fd, 0o640)
            os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        message = f"{show_text(dest)} に書き込めません（{exc.strerror}）"
        if exc.errno in _USER_ERRNOS:
            raise InputError(field, message) from None
        raise KyushoError(f"{field}: {message}") from None
