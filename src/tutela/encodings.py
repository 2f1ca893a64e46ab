"""Decoding text that declares no encoding, as IRC lines (live and in client logs) do.

IRC has no declared encoding (RFC 2812 section 2.2 only fixes the octets of the protocol);
clients that do not send UTF-8 send their system's code page, mostly Windows-1252, whose
0x80-0x9F are punctuation (0x92 ’, 0x93 “, 0x85 …) where Latin-1 has C1 controls. Used by the IRC
connector (:mod:`tutela.connectors.irc`) and the IRC log reader (:mod:`tutela.ingest.irclog`).
This module imports nothing else of Tutela.
"""

from __future__ import annotations

import re

__all__ = ["decode_utf8_or_cp1252"]

_C1 = re.compile("[\x80-\x9f]")


def decode_utf8_or_cp1252(raw: bytes) -> tuple[str, bool, bool]:
    """``(text, was_windows_1252, had_c1_controls)`` for ``raw``.

    UTF-8 first; otherwise Windows-1252 (``0x92`` → U+2019), where the five bytes that code page
    leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) become U+FFFD. Any C1 control (U+0080 to
    U+009F) left, e.g. from UTF-8-encoded Latin-1 mojibake, is replaced by U+FFFD: the text never
    holds one.
    """
    try:
        text, legacy = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        text, legacy = raw.decode("cp1252", errors="replace"), True
    cleaned, n = _C1.subn("\ufffd", text)
    return cleaned, legacy, n > 0
