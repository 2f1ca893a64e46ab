"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) for hashed ledger data.

Hashed values are restricted to the JSON types whose canonical form is unambiguous across languages:
objects with string keys, arrays, strings, booleans, null and integers within ±(2**53 - 1)
(I-JSON, RFC 7493). **Floats are refused** (``InputError``): a risk score enters a payload as a
decimal string rounded to 6 places (``format_risk``), so a verifier in any language reproduces the
bytes without implementing ECMAScript number formatting.

The serialiser is the ``rfc8785`` package (Trail of Bits) when it is installed; otherwise a minimal
JCS for the types above is used (keys sorted by UTF-16 code units, no insignificant whitespace,
UTF-8 output, only ``"``, ``\\`` and control characters escaped). Both give identical bytes for
every accepted value (tested).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from tutela.errors import InputError

_rfc8785: ModuleType | None
try:  # pragma: no branch - one of the two is taken per installation
    import rfc8785 as _rfc8785
except ImportError:  # pragma: no cover - exercised through jcs_minimal in tests
    _rfc8785 = None

__all__ = ["MAX_SAFE_INT", "canonical_json", "format_risk", "jcs_minimal", "to_plain"]

MAX_SAFE_INT = 2**53 - 1


def to_plain(value: Any, *, _path: str = "$") -> Any:
    """Return ``value`` as plain ``dict``/``list``/scalars, checking every node is hashable JSON.

    Accepts any ``Mapping`` and ``list``/``tuple``; raises ``InputError`` naming the JSON path of a
    float, an out-of-range integer, a non-string key, a lone surrogate or an unsupported type.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise InputError(f"{_path}: integer {value} outside ±(2**53-1)")
        return int(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InputError(f"{_path}: string is not valid Unicode (lone surrogate)") from e
        return str(value)
    if isinstance(value, float):
        raise InputError(f"{_path}: floats are not allowed in hashed data; use format_risk()")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(f"{_path}: object key {k!r} is not a string")
            out[str(k)] = to_plain(v, _path=f"{_path}.{k}")
        return out
    if isinstance(value, list | tuple):
        return [to_plain(v, _path=f"{_path}[{i}]") for i, v in enumerate(value)]
    raise InputError(f"{_path}: unsupported type {type(value).__name__} in hashed data")


def jcs_minimal(value: Any) -> bytes:
    """RFC 8785 serialisation of an already plain value without floats (see module docstring)."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        inner = b",".join(jcs_minimal(k) + b":" + jcs_minimal(v) for k, v in items)
        return b"{" + inner + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(jcs_minimal(v) for v in value) + b"]"
    # Python's json escapes exactly what JCS escapes when ensure_ascii=False: '"', '\\', and
    # U+0000..U+001F (\b \t \n \f \r short forms, else \u00xx in lowercase hex).
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of ``value``.

    Raises ``InputError`` for values outside the accepted types (see ``to_plain``).
    """
    plain = to_plain(value)
    if _rfc8785 is not None:
        try:
            return _rfc8785.dumps(plain)
        except _rfc8785.CanonicalizationError as e:  # pragma: no cover - to_plain checks first
            raise InputError(f"cannot canonicalise: {e}") from e
    return jcs_minimal(plain)  # pragma: no cover - only without rfc8785


def format_risk(risk: float) -> str:
    """A risk in [0, 1] as the decimal string hashed in ledger payloads, e.g. ``"0.731000"``.

    Raises ``InputError`` for NaN, infinities and values outside [0, 1].
    """
    if isinstance(risk, bool) or not isinstance(risk, int | float):
        raise InputError(f"risk must be a number, got {type(risk).__name__}")
    if not math.isfinite(risk) or not 0.0 <= risk <= 1.0:
        raise InputError(f"risk must be within [0, 1], got {risk!r}")
    return f"{float(risk):.6f}"
