"""Warnings a reader gives about a file it could still read (a repaired line, a guessed date order).

A reader never stops for these: it calls ``warn(ReadWarning(...))`` and goes on. The command line
prints them on stderr and puts them in the JSON result, so nothing is repaired silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ReadWarning", "WarnFn", "ignore_warnings"]


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """One warning about ``path`` (at 1-based ``line`` when it applies)."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """``{"path", "line", "message"}`` for JSON output."""
        return {"path": self.path, "line": self.line, "message": self.message}


#: What a reader calls with each warning.
WarnFn = Callable[[ReadWarning], None]


def ignore_warnings(_: ReadWarning) -> None:
    """The default ``warn``: drop the warning (library callers that do not ask for them)."""
