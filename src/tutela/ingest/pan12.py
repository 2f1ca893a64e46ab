"""PAN 2012 Sexual Predator Identification corpus: streaming XML reader and ground-truth files.

Format (Inches & Crestani 2012, "Overview of the International Sexual Predator Identification
Competition at PAN-2012", CLEF)::

    <conversations>
      <conversation id="...">
        <message line="1"><author>...</author><time>16:43</time><text>...</text></message>
        ...

Ground truth: problem 1 (predator identification) is a text file with one predator author id per
line (``...training-corpus-predators-...txt`` for training, ``...groundtruth-problem1.txt`` for
test); problem 2 (predator lines) has ``conversation_id<TAB>line`` per line
(``...groundtruth-problem2.txt`` for test, ``...-diff.txt`` for training).

The reader uses :func:`defusedxml.ElementTree.iterparse` with DTDs, entity declarations and
external references refused, and removes every ``<message>`` and ``<conversation>`` element from
the tree once it is converted, so memory stays flat in corpus size (one conversation at a time).

Two quirks of the real corpus are repaired, each with a warning (never silently):

- **Double escaping.** The distributed PAN12 XML escapes the chat texts twice: the file holds
  ``&amp;apos;``, so after XML parsing a text still reads ``&apos;`` (``don&apos;t``), lexicon
  hits are lost and risk drops. When the raw file contains a quote escaped twice
  (``&amp;apos;``, ``&amp;quot;`` or their numeric forms; nobody types ``&apos;`` in a chat, so a
  typed ``&lt;3`` in a corpus escaped once does not trigger it) the corpus is taken as
  double-escaped and every text is decoded exactly once more
  (the five XML entities and numeric references, in one pass: ``&amp;lt;`` becomes ``&lt;``, not
  ``<``). A corpus escaped once is left as parsed.
- **Control characters.** XML 1.0 forbids C0 controls other than tab, newline and carriage
  return, and expat stops at the first one, losing every later conversation. Such bytes (and
  character references to them) are removed before parsing, with a warning naming each line.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder
from xml.parsers import expat

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from tutela.domain import Conversation, Message
from tutela.errors import InputError

from ._fields import check_length
from ._files import check_file, iter_text_lines, utf8_problem
from ._warn import ReadWarning, WarnFn, ignore_warnings

__all__ = [
    "find_pan12_truth",
    "is_double_escaped",
    "read",
    "read_pan12",
    "read_pan12_lines",
    "read_pan12_predators",
]

_ROOT, _CONVERSATION, _MESSAGE = "conversations", "conversation", "message"


class _LineTarget:
    """Tree-builder target that records the source line of each start tag down to ``<message>``.

    ``iterparse`` reports events only after a whole chunk was fed, so the expat position is read
    here, inside the start callback, where it is exact. Lines of the root, ``<conversation>`` and
    ``<message>`` start tags (depth 1 to 3) are queued in document order and consumed by the
    reader at the matching start events.
    """

    def __init__(self) -> None:
        self._builder = TreeBuilder()
        self.parser: Any = None  # the expat parser, set once the XMLParser exists
        self.lines: deque[int] = deque()
        self._depth = 0
        self.data = self._builder.data  # the C method itself: no Python call per text chunk

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self._depth += 1
        if self._depth <= 3:
            self.lines.append(self.parser.CurrentLineNumber)
        return self._builder.start(tag, attrs)

    def end(self, tag: str) -> Element:
        self._depth -= 1
        return self._builder.end(tag)

    def close(self) -> Element:
        return self._builder.close()


_POSITION_SUFFIX = re.compile(r": line \d+, column \d+$")


def _line_of(path: Path, lineno: int) -> bytes:
    """The raw bytes of 1-based line ``lineno`` (read only on the error path)."""
    with path.open("rb") as f:
        for i, raw in enumerate(f, start=1):
            if i == lineno:
                return raw
    return b""


def _parse_error(path: Path, e: ParseError, *, seen_root: bool) -> InputError:
    where = str(path)
    line, column = e.position
    code = getattr(e, "code", None)
    if code == expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS]:
        if not seen_root:
            return InputError("no conversations (the file holds no XML element)", path=where)
        return InputError(
            "malformed XML: the file ends before the document is complete (truncated?)",
            path=where,
            line=line,
        )
    reason = _POSITION_SUFFIX.sub("", str(e))
    if code == expat.errors.codes[expat.errors.XML_ERROR_INVALID_TOKEN]:
        problem = utf8_problem(_line_of(path, line))
        if problem is not None:
            return InputError(
                f"malformed XML: not valid UTF-8 ({problem}); save the file as UTF-8 or declare "
                'its encoding (<?xml version="1.0" encoding="..."?>)',
                path=where,
                line=line,
            )
    return InputError(f"malformed XML: {reason} (column {column + 1})", path=where, line=line)


#: C0 controls XML 1.0 forbids (all but tab, LF, CR), as raw bytes or character references.
_FORBIDDEN = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]"
    rb"|&#(?:0*(?:[0-8]|1[1-2]|1[4-9]|2[0-9]|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));"
)
#: A quote escaped twice in the raw file (``&amp;apos;``, ``&amp;quot;``, ``&amp;#39;``): chat
#: texts are full of apostrophes and nobody types ``&apos;``, so this tells a double-escaping
#: export apart from a chatter who typed ``&lt;3`` in a corpus escaped once.
_DOUBLE = re.compile(rb"&amp;(?:apos|quot|#39|#34|#[xX]2[27]);")
#: One level of XML escaping in a parsed text.
_ENTITY = re.compile(r"&(apos|quot|amp|lt|gt|#[0-9]+|#[xX][0-9a-fA-F]+);")
_NAMED = {"apos": "'", "quot": '"', "amp": "&", "lt": "<", "gt": ">"}
_SCAN_CHUNK = 1 << 20


def _unescape_once(text: str) -> str:
    """Decode one level of XML escaping: the five entities and numeric references, one pass."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _NAMED:
            return _NAMED[name]
        try:
            code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            return chr(code)
        except (ValueError, OverflowError):
            return m.group(0)

    return _ENTITY.sub(one, text) if "&" in text else text


def is_double_escaped(path: Path) -> bool:
    """True when the raw file holds a quote escaped twice (``&amp;apos;``...), in any chunk.

    Scans the bytes once (C speed; a 500 MB file in well under a second).
    """
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(_SCAN_CHUNK):
            data = tail + chunk
            if _DOUBLE.search(data):
                return True
            tail = data[-16:]
    return False


class _Cleaned:
    """A binary file wrapper that removes what XML 1.0 forbids and reports each line it touched.

    Reads whole lines (a chunk is extended to the next newline) so a reference is never cut, and
    counts newlines so the reported line numbers are the file's own.
    """

    def __init__(self, f: Any, path: Path, warn: WarnFn) -> None:
        self._f = f
        self._path = str(path)
        self._warn = warn
        self._line = 1
        self.removed = 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n if n and n > 0 else _SCAN_CHUNK)
        if data and not data.endswith(b"\n"):
            data += self._f.readline()
        if _FORBIDDEN.search(data):
            out = []
            for i, line in enumerate(data.split(b"\n")):
                found = _FORBIDDEN.findall(line)
                if found:
                    self.removed += len(found)
                    self._warn(
                        ReadWarning(
                            self._path,
                            self._line + i,
                            f"removed {len(found)} control character(s) that XML does not allow "
                            "(the rest of the line is kept)",
                        )
                    )
                    line = _FORBIDDEN.sub(b"", line)
                out.append(line)
            cleaned = b"\n".join(out)
        else:
            cleaned = data
        self._line += data.count(b"\n")
        return cleaned


def read(
    path: Path,
    *,
    max_message_chars: int = 100_000,
    warn: WarnFn = ignore_warnings,
    options: Mapping[str, str] | None = None,
) -> Iterator[Conversation]:
    """The registry's entry point: :func:`read_pan12` with its repairs (``options`` unused)."""
    return read_pan12(path, max_message_chars=max_message_chars, warn=warn)


def read_pan12(
    path: Path, *, max_message_chars: int = 100_000, warn: WarnFn = ignore_warnings
) -> Iterator[Conversation]:
    """Stream the conversations of a PAN12 XML file, one at a time.

    Each ``<message line="k">`` becomes ``Message(line=k, author, text, time)`` (``<text/>`` ->
    ``""``; a missing ``line`` attribute -> its position); ``Message.source`` is
    ``"path:N"`` with N the XML line of the ``<message>`` tag. Conversations carry no label: the
    ground truth lives in separate files (:func:`find_pan12_truth`). Double escaping and control
    characters are repaired as the module describes, each with a ``warn`` call.

    Raises
    ------
    InputError
        Malformed or truncated XML, a DTD, entity declaration or external reference (refused),
        a root element other than ``<conversations>``, a conversation without ``id``, a message
        without ``<author>``, a non-integer ``line``, a text over ``max_message_chars``, or a file
        without conversations.
    """
    where = str(path)
    target = _LineTarget()
    parser = DET.DefusedXMLParser(
        target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    target.parser = parser.parser

    double = is_double_escaped(path)
    if double:
        warn(
            ReadWarning(
                where,
                None,
                "this corpus escapes its texts twice (&amp;apos; in the file): every text is "
                "decoded once more (&apos; -> ')",
            )
        )
    depth = 0
    root: Element | None = None
    conv: Element | None = None
    conv_id = ""
    messages: list[Message] = []
    message_line = 0
    n_conversations = 0
    try:
        with path.open("rb") as raw:
            f = _Cleaned(raw, path, warn)
            for event, elem in DET.iterparse(f, events=("start", "end"), parser=parser):
                if event == "start":
                    depth += 1
                    if depth > 3:
                        continue
                    tag_line = target.lines.popleft()
                    if depth == 1:
                        root = elem
                        if elem.tag != _ROOT:
                            raise InputError(
                                f"not a PAN12 corpus: the root element is <{elem.tag}>, "
                                f"expected <{_ROOT}>",
                                path=where,
                                line=tag_line,
                            )
                    elif depth == 2:
                        if elem.tag != _CONVERSATION:
                            raise InputError(
                                f"unexpected <{elem.tag}> inside <{_ROOT}>",
                                path=where,
                                line=tag_line,
                            )
                        cid = elem.get("id")
                        if not cid:
                            raise InputError(
                                "a <conversation> has no id attribute", path=where, line=tag_line
                            )
                        conv, conv_id, messages = elem, cid, []
                    else:
                        if elem.tag != _MESSAGE:
                            raise InputError(
                                f"unexpected <{elem.tag}> inside <{_CONVERSATION}>",
                                path=where,
                                line=tag_line,
                            )
                        message_line = tag_line
                    continue

                depth -= 1
                if depth == 2 and conv is not None:
                    messages.append(
                        _message(
                            elem,
                            conv_id,
                            len(messages) + 1,
                            where,
                            message_line,
                            max_message_chars,
                            double=double,
                        )
                    )
                    conv.remove(elem)
                elif depth == 1 and root is not None:
                    n_conversations += 1
                    root.remove(elem)
                    conv = None
                    yield Conversation(id=conv_id, messages=messages, source=where)
    except ParseError as e:
        raise _parse_error(path, e, seen_root=root is not None) from e
    except DefusedXmlException as e:
        raise InputError(
            f"refused: XML entities/DTD are not allowed ({type(e).__name__})",
            path=where,
            line=parser.parser.CurrentLineNumber,
        ) from e
    except OSError as e:
        raise InputError(f"cannot read the file: {e.strerror or e}", path=where) from e
    if n_conversations == 0:
        raise InputError(f"no conversations (<{_ROOT}> is empty)", path=where)


def _message(
    elem: Element,
    conv_id: str,
    position: int,
    where: str,
    xml_line: int,
    max_chars: int,
    *,
    double: bool = False,
) -> Message:
    raw_line = elem.get("line")
    if raw_line is None:
        line = position
    else:
        try:
            line = int(raw_line)
        except ValueError:
            line = 0
        if line < 1:
            raise InputError(
                f'<message line="{raw_line}">: line must be a positive integer',
                path=where,
                line=xml_line,
            )
    author_el = elem.find("author")
    author = (author_el.text or "").strip() if author_el is not None else ""
    if not author:
        raise InputError("a <message> has no <author>", path=where, line=xml_line)
    time_el = elem.find("time")
    time = (time_el.text or "").strip() or None if time_el is not None else None
    text_el = elem.find("text")
    text = "".join(text_el.itertext()) if text_el is not None else ""
    if double:
        text = _unescape_once(text)

    def error(message: str) -> InputError:
        return InputError(message, path=where, line=xml_line)

    check_length(text, max_chars, error)
    return Message(
        conversation=conv_id,
        author=author,
        text=text,
        line=line,
        time=time,
        source=f"{where}:{xml_line}",
    )


def read_pan12_predators(path: str | os.PathLike[str]) -> set[str]:
    """Read a PAN12 problem-1 file (or the training predators file): one author id per line.

    Blank lines and surrounding whitespace are ignored.

    Raises
    ------
    InputError
        Missing or unreadable file, bad encoding, a line holding more than one field (e.g. a
        problem-2 file given by mistake), or no ids at all.
    """
    p = check_file(path)
    ids: set[str] = set()
    for lineno, text in iter_text_lines(p):
        value = text.strip()
        if not value:
            continue
        if len(value.split()) != 1:
            raise InputError(
                "expected one author id per line (is this a problem-2 file?)",
                path=str(p),
                line=lineno,
            )
        ids.add(value)
    if not ids:
        raise InputError("no author ids in the predators file", path=str(p))
    return ids


def read_pan12_lines(path: str | os.PathLike[str]) -> dict[str, set[int]]:
    """Read a PAN12 problem-2 file: ``conversation_id<TAB>line`` per line.

    Returns ``{conversation id: {line, ...}}``. Blank lines are ignored; any whitespace separates
    the two fields.

    Raises
    ------
    InputError
        Missing or unreadable file, bad encoding, a line without exactly two fields, a line
        number that is not a positive integer, or no entries at all.
    """
    p = check_file(path)
    out: dict[str, set[int]] = {}
    for lineno, text in iter_text_lines(p):
        fields = text.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise InputError(
                f"expected 'conversation_id<TAB>line', got {len(fields)} field(s)",
                path=str(p),
                line=lineno,
            )
        cid, raw = fields
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise InputError(
                f"line number must be a positive integer, got {raw!r}", path=str(p), line=lineno
            )
        out.setdefault(cid, set()).add(number)
    if not out:
        raise InputError("no entries in the problem-2 file", path=str(p))
    return out


_PROBLEM1 = ("*predators*.txt", "*groundtruth-problem1.txt")
_PROBLEM2 = ("*groundtruth-problem2.txt", "*-diff.txt")


def _find_one(folder: Path, patterns: tuple[str, ...]) -> Path | None:
    found = sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(
            f"several ground-truth files match {' or '.join(patterns)}: {names}; "
            "name the one to use explicitly",
            path=str(folder),
        )
    return found[0] if found else None


def find_pan12_truth(xml_path: str | os.PathLike[str]) -> tuple[Path | None, Path | None]:
    """Locate the ground-truth files next to a PAN12 XML file by the official naming.

    Returns ``(problem1, problem2)``, each ``None`` when absent. Problem 1: ``*predators*.txt``
    (training) or ``*groundtruth-problem1.txt`` (test). Problem 2: ``*groundtruth-problem2.txt``
    (test) or ``*-diff.txt`` (training).

    Raises
    ------
    InputError
        ``xml_path`` is not a readable file, or more than one file matches for a problem.
    """
    folder = check_file(xml_path).resolve().parent
    return _find_one(folder, _PROBLEM1), _find_one(folder, _PROBLEM2)
