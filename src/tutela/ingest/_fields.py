"""Typed access to the fields of one decoded JSON object, raising :class:`InputError` on misuse.

A :class:`Row` knows its file and line, so every error names both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tutela.errors import InputError

from ._files import json_type_name

__all__ = ["Row", "check_length"]


@dataclass(frozen=True, slots=True)
class Row:
    """One JSON object read from ``path`` at 1-based ``line``."""

    obj: dict[str, Any]
    path: str
    line: int

    def error(self, message: str) -> InputError:
        """An :class:`InputError` for this row."""
        return InputError(message, path=self.path, line=self.line)

    def _get(self, key: str, *, required: bool) -> Any:
        if key not in self.obj:
            if required:
                raise self.error(f'missing required field "{key}"')
            return None
        return self.obj[key]

    def _wrong(self, key: str, expected: str, value: object) -> InputError:
        return self.error(f'field "{key}" must be {expected}, got a JSON {json_type_name(value)}')

    def ident(self, key: str) -> str:
        """A required identifier: a non-empty string, or an integer (as its decimal string)."""
        value = self._get(key, required=True)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self._wrong(key, "a string", value)
        if not value.strip():
            raise self.error(f'field "{key}" must not be empty')
        return value

    def text(self, key: str, *, max_chars: int | None = None) -> str:
        """A required string (may be empty), at most ``max_chars`` characters when given."""
        value = self._get(key, required=True)
        if not isinstance(value, str):
            raise self._wrong(key, "a string", value)
        if max_chars is not None:
            check_length(value, max_chars, self.error)
        return value

    def opt_text(self, key: str) -> str | None:
        """An optional string; ``None`` when absent or null."""
        value = self._get(key, required=False)
        if value is not None and not isinstance(value, str):
            raise self._wrong(key, "a string or null", value)
        return value

    def opt_label(self, key: str) -> int | None:
        """An optional binary label: the integer 0 or 1; ``None`` when absent or null."""
        value = self._get(key, required=False)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
            shown = (
                str(value)
                if isinstance(value, int) and not isinstance(value, bool)
                else (f"a JSON {json_type_name(value)}")
            )
            raise self.error(f'field "{key}" must be 0, 1 or null, got {shown}')
        return value

    def array(self, key: str) -> list[Any]:
        """A required JSON array."""
        value = self._get(key, required=True)
        if not isinstance(value, list):
            raise self._wrong(key, "an array", value)
        return value


def check_length(text: str, max_chars: int, error: Any) -> None:
    """Raise ``error(message)`` when ``text`` is longer than ``max_chars`` characters."""
    if len(text) > max_chars:
        raise error(
            f"message of {len(text):,} characters exceeds the limit of {max_chars:,} "
            "(max_message_chars)"
        )
