"""Corpus readers: each supported file format becomes a stream of ``Conversation`` objects.

Entry points: :func:`read_corpus` (auto-detects the format, or ``fmt=`` forces one of
:data:`FORMATS`), :func:`detect_format`, and the PAN12 ground-truth helpers
:func:`read_pan12_predators`, :func:`read_pan12_lines` and :func:`find_pan12_truth`.

Formats
-------
``pan12``
    PAN 2012 Sexual Predator Identification XML (``<conversations><conversation id>
    <message line><author/><time/><text/></message>...``), streamed with defusedxml; DTDs and
    entities are refused. Labels come from the separate ground-truth files.
``segments``
    JSONL ``{"id", "lang", "text", "label"}``: a segment whose message boundaries were lost; one
    Conversation with one Message (author ``""``, line 1), ``flattened=True``.
``segments-messages``
    JSONL ``{"id", "pair", "lang", "messages": [str, ...], "label"}``; a leading ``"handle: "``
    (no whitespace, at most 40 characters) becomes the author, lower-cased; otherwise author ``""``.
``pj``
    JSONL ``{"id", "offender", "messages": [{"author", "time", "text"}, ...]}``; every chat has
    ``label=1`` and ``author_labels={offender: 1, "decoy": 0}``.
``generic``
    JSONL for your own data, described below.

Generic JSONL (your own chats)
------------------------------
One message per line, UTF-8, one JSON object per line::

    {"conversation": "c1", "author": "alice", "time": "2024-05-01T18:02:00Z", "text": "hi"}
    {"conversation": "c1", "author": "bob", "time": "2024-05-01T18:03:10Z", "text": "hello",
     "label": 1, "author_label": 1, "lang": "en"}

(the second object is shown on two lines here; in the file it is one line.)

=================  ========  ================================================================
field              required  meaning
=================  ========  ================================================================
``conversation``   yes       conversation id (string or integer)
``author``         yes       author id (string or integer)
``text``           yes       the message text (string, may be empty)
``time``           no        the source's time text, kept as given (string or null)
``label``          no        conversation label: 1 = grooming/solicitation, 0 = not (or null)
``lang``           no        ISO 639-1 code of the conversation (string or null)
``author_label``   no        1 = this author is an offender, 0 = not (or null)
=================  ========  ================================================================

Lines are grouped by ``conversation``; conversations keep the order in which they first appear
and messages keep file order (``line`` = 1, 2, ... within the conversation). ``label`` and
``lang`` may be given on any line of a conversation (once is enough); a line that contradicts an
earlier one is an error, as is a contradicting ``author_label`` for the same author. Blank lines
and unknown keys are ignored. The whole file is read before the first conversation is returned.

Errors
------
Every problem with a file is a :class:`tutela.errors.InputError` naming the file and line:
a missing file or a directory, malformed or truncated XML/JSON, refused XML entities/DTDs,
bytes that are not UTF-8, a line that is not a JSON object, a missing or mistyped field, a
message longer than ``max_message_chars``, or a file with no conversations. Readers never write.
"""

from __future__ import annotations

from ._warn import ReadWarning
from .corpus import FORMATS, READERS, ReaderSpec, detect_format, parse_options, read_corpus
from .pan12 import find_pan12_truth, read_pan12_lines, read_pan12_predators

__all__ = [
    "FORMATS",
    "READERS",
    "ReadWarning",
    "ReaderSpec",
    "detect_format",
    "find_pan12_truth",
    "parse_options",
    "read_corpus",
    "read_pan12_lines",
    "read_pan12_predators",
]
