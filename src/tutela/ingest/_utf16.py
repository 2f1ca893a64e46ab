"""Refusing UTF-16 (and UTF-32) files by name: :func:`tutela.ingest.read_corpus` and
:func:`~tutela.ingest.detect_format` check every file, and the readers that decode a file
themselves (WhatsApp, IRC, the JSON exports, CSV) check it too when called directly.

Windows tools (Notepad "Unicode", PowerShell ``>`` redirection) save text as UTF-16. Read as
bytes, such a file has a NUL in every other byte; the IRC reader would strip those NULs as
control codes and read the rest as if it were valid, and the WhatsApp reader would report a
confusing "not valid UTF-8" or "continues no message". So the readers check the file's start
first and name the encoding.
"""

from __future__ import annotations

from pathlib import Path

from tutela.errors import InputError

__all__ = ["refuse_utf16"]

#: Byte-order marks of the encodings refused (UTF-32 first: its LE mark starts like UTF-16's).
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
)
#: Bytes of the file's start looked at.
_SAMPLE = 512


def refuse_utf16(path: Path) -> None:
    """Raise :class:`InputError` when the file at ``path`` looks like UTF-16 or UTF-32.

    It does when it starts with one of their byte-order marks, or, without one, when the
    first 512 bytes (at least 8) hold a NUL in nine of ten even or nine of ten odd positions
    (ASCII text in UTF-16 without a BOM). UTF-8 text never has that many NULs. An unreadable
    file is left for the reader to report.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(_SAMPLE)
    except OSError:
        return
    name = next((enc for bom, enc in _BOMS if raw.startswith(bom)), None)
    if name is None and len(raw) >= 8:
        even, odd = raw[0::2], raw[1::2]
        if even.count(0) > 0.9 * len(even):
            name = "UTF-16 (big-endian, no byte-order mark)"
        elif odd.count(0) > 0.9 * len(odd):
            name = "UTF-16 (little-endian, no byte-order mark)"
    if name is not None:
        raise InputError(
            f"the file is {name}, not UTF-8; save it as UTF-8 "
            f"(e.g. iconv -f {name.split()[0]} -t UTF-8)",
            path=str(path),
            line=1,
        )
