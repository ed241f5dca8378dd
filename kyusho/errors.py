"""Errors that carry the name of the field at fault, so every input path can say what is wrong."""

from __future__ import annotations


class KyushoError(Exception):
    """Base for errors shown to the user (never a traceback)."""


class InputError(KyushoError, ValueError):
    """A value given by the user is not acceptable.

    ``field`` is the user-facing name of the input (e.g. "金額", "入金日", "policy.damages_rate");
    ``message`` says what is expected. ``str(err)`` is "field: message".
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class PermissionDenied(KyushoError):
    """The acting user may not do this (role, registration, file permissions)."""


class ConflictError(KyushoError):
    """Someone else changed the record since it was read (optimistic concurrency)."""

    def __init__(self, message: str, changed_by: str = "", changed_at: str = "") -> None:
        self.changed_by = changed_by
        self.changed_at = changed_at
        super().__init__(message)


class NotFound(KyushoError):
    """A claim, obligor or entry that was named does not exist."""
