"""One rule for control characters in message text, shared by the CSV, Telegram, Discord and
Messenger readers.

C0 controls (U+0000-U+001F) other than tab, line feed and carriage return, DEL (U+007F) and C1
controls (U+0080-U+009F) are nobody's words: a NUL or a stray U+0085 in a chat export is debris
of an editor, a copy from a terminal or a broken exporter. Stored as they are they break later
steps (a NUL truncates text in some database drivers and is refused by others). They are
**removed** and every text that held one is named in a :class:`~tutela.ingest._warn.ReadWarning`
(file, line, and the JSON path or CSV column), so nothing is changed silently. Tab, line feed
and carriage return are line layout as written and are kept.

Warnings are per text up to :data:`WARN_EACH`; past that one summary warning gives the count (a
file with thousands of them would otherwise bury every other warning).
"""

from __future__ import annotations

import re

from ._jsondoc import JsonPath, format_path
from ._warn import ReadWarning, WarnFn

__all__ = ["CONTROLS", "WARN_EACH", "Controls", "strip_controls"]

#: The characters removed: C0 but tab, LF and CR; DEL; C1.
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Texts named one by one before the rest are only counted.
WARN_EACH = 20


def strip_controls(text: str) -> tuple[str, list[str]]:
    """``(text without the controls of :data:`CONTROLS`, the code points removed)``.

    ``"hi\\x00there"`` -> ``("hithere", ["U+0000"])``; text without any is returned as it is.
    """
    found = CONTROLS.findall(text)
    if not found:
        return text, []
    return CONTROLS.sub("", text), [f"U+{ord(c):04X}" for c in found]


class Controls:
    """Removes control characters from the texts of one file and warns about each text.

    ``where`` is the file, ``warn`` the reader's callback. Call :meth:`clean` for every text and
    :meth:`finish` once at the end (it gives the summary when more than :data:`WARN_EACH` texts
    were cleaned).
    """

    def __init__(self, where: str, warn: WarnFn) -> None:
        self.where = where
        self.warn = warn
        self.texts = 0
        self.removed = 0

    def clean(self, text: str, line: int | None, what: str | JsonPath) -> str:
        """``text`` without control characters; a warning at ``line`` names ``what`` (a JSON
        path, shown as ``messages[3].content``, or a CSV column) and the code points removed."""
        if CONTROLS.search(text) is None:
            return text
        if isinstance(what, tuple):
            what = format_path(what)
        cleaned, found = strip_controls(text)
        self.texts += 1
        self.removed += len(found)
        if self.texts <= WARN_EACH:
            shown = ", ".join(dict.fromkeys(found))
            self.warn(
                ReadWarning(
                    self.where,
                    line,
                    f"{what}: removed {len(found)} control character"
                    f"{'' if len(found) == 1 else 's'} ({shown}); the rest of the text is kept",
                )
            )
        return cleaned

    def finish(self) -> None:
        """The summary warning, when some texts were only counted."""
        if self.texts > WARN_EACH:
            self.warn(
                ReadWarning(
                    self.where,
                    None,
                    f"control characters removed from {self.texts:,} texts in all "
                    f"({self.removed:,} characters; the first {WARN_EACH} are named above)",
                )
            )
