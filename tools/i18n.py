"""The dashboard's translation catalogues: extract, update, check, and a JSON round trip.

    python tools/i18n.py extract [--out FILE]   # the template (POT) of every marked string
    python tools/i18n.py update                 # merge it into locale/{nl,de}/.../messages.po
    python tools/i18n.py check                  # exit 1: untranslated, fuzzy, stale, bad %()s
                                                #   or markup (< &) not in the msgid
    python tools/i18n.py todo [--out FILE]      # JSON {lang: {msgid: ""}} of what is missing
    python tools/i18n.py apply FILE             # write translations from such a JSON file
    python tools/i18n.py sync                   # update, then check (one command after edits)

Sources (``docs/i18n.md``): every ``src/tutela/web/templates/*.html`` through Jinja2's Babel
extractor (``jinja2.ext:babel_extract``, with ``trim_blocks``/``lstrip_blocks`` as the
dashboard's environment in ``tutela.web.render``), and every ``src/tutela/web/**/*.py`` through
Babel's Python extractor with its default keywords (``_``, ``gettext``, ``ngettext``, ``N_``,
...). Catalogues are written without line numbers (an edit elsewhere in a template does not
touch them), sorted by msgid, without obsolete entries. English is the source language and has
no catalogue. Exit status: 0 ok, 1 a check failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "src" / "tutela" / "web"
LOCALE = WEB / "locale"
LANGS = ("nl", "de")
"""Languages with a catalogue (English is the source)."""
JINJA_OPTIONS = {"trim_blocks": "true", "lstrip_blocks": "true", "silent": "false"}
PROJECT = "Tutela"
CREATED = datetime(2026, 12, 1, tzinfo=UTC)
"""A fixed ``POT-Creation-Date``, so the header changes only when someone edits it."""


def _sources(web: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted((web / "templates").glob("*.html")):
        yield "jinja2.ext:babel_extract", path
    for path in sorted(web.rglob("*.py")):
        yield "python", path


def extract(web: Path = WEB) -> Catalog:
    """Every marked message under ``web`` (module docstring), as a template catalogue."""
    catalog = Catalog(
        project=PROJECT,
        version="",
        copyright_holder="Tutela contributors",
        msgid_bugs_address="",
        charset="utf-8",
        creation_date=CREATED,
    )
    catalog.fuzzy = False
    for method, path in _sources(web):
        options = JINJA_OPTIONS if method.startswith("jinja2") else {}
        found = extract_from_file(
            method, str(path), keywords=DEFAULT_KEYWORDS, comment_tags=("i18n:",), options=options
        )
        rel = path.relative_to(web).as_posix()
        for lineno, message, comments, context in found:
            catalog.add(message, None, [(rel, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(lang: str, locale: Path = LOCALE) -> Path:
    return locale / lang / "LC_MESSAGES" / "messages.po"


def read(lang: str, locale: Path = LOCALE) -> Catalog:
    """The catalogue of ``lang`` (an empty one when the file is missing)."""
    path = po_path(lang, locale)
    if not path.is_file():
        return Catalog(
            locale=lang,
            project=PROJECT,
            version="",
            copyright_holder="Tutela contributors",
            msgid_bugs_address="",
            last_translator="Tutela contributors",
            language_team=f"Tutela ({lang})",
            charset="utf-8",
            creation_date=CREATED,
            revision_date=CREATED,
            fuzzy=False,
        )
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def _dump(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(
        buf,
        catalog,
        width=100,
        no_location=False,
        omit_header=False,
        sort_output=True,
        ignore_obsolete=True,
        include_lineno=False,
    )
    return buf.getvalue()


def write(lang: str, catalog: Catalog, locale: Path = LOCALE) -> bool:
    """Write ``catalog`` as ``lang``'s ``messages.po``; ``False`` when the file already held
    exactly that."""
    path = po_path(lang, locale)
    data = _dump(catalog)
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def update(
    template: Catalog, langs: Iterable[str] = LANGS, locale: Path = LOCALE, fuzzy: bool = False
) -> list[str]:
    """Merge ``template`` into each catalogue (new msgids empty, gone ones dropped; with
    ``fuzzy`` Babel guesses new ones from similar old ones and marks them fuzzy); returns the
    languages whose file changed."""
    changed = []
    for lang in langs:
        catalog = read(lang, locale)
        catalog.update(template, no_fuzzy_matching=not fuzzy, update_creation_date=True)
        catalog.obsolete.clear()
        if write(lang, catalog, locale):
            changed.append(lang)
    return changed


def _key(message: Message) -> str:
    mid = message.id
    return mid[0] if isinstance(mid, tuple | list) else mid


def _translated(message: Message) -> bool:
    s = message.string
    if isinstance(s, tuple | list):
        return bool(s) and all(s)
    return bool(s)


_MARKUP = re.compile(r"<[^>]*>?|&[^;\s]*;?")
"""A tag (or a stray ``<``) or a character reference (or a stray ``&``)."""


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [v for v in value if v]


def new_markup(message: Message) -> list[str]:
    """The tags and ``&`` references in ``message``'s translation that its msgid (singular or
    plural) does not contain, in order of appearance. A ``{% trans %}`` block is marked safe
    (Jinja2's old-style gettext), so such markup would be rendered unescaped."""
    allowed = {t for form in _forms(message.id) for t in _MARKUP.findall(form)}
    return [t for form in _forms(message.string) for t in _MARKUP.findall(form) if t not in allowed]


def problems(template: Catalog, langs: Iterable[str] = LANGS, locale: Path = LOCALE) -> list[str]:
    """What is wrong with the catalogues against ``template``: one line per msgid that is
    missing, untranslated or fuzzy, per stale msgid (no longer in the sources) and per
    translation whose ``%(name)s`` placeholders differ (``Catalog.check``) or that holds markup
    its msgid does not (:func:`new_markup`)."""
    wanted = {_key(m) for m in template if m.id}
    out = []
    for lang in langs:
        catalog = read(lang, locale)
        have = {_key(m): m for m in catalog if m.id}
        for mid in sorted(wanted - have.keys()):
            out.append(f"{lang}: missing: {mid!r}")
        for mid in sorted(have.keys() - wanted):
            out.append(f"{lang}: stale (not in the sources): {mid!r}")
        for mid in sorted(wanted & have.keys()):
            m = have[mid]
            if m.fuzzy:
                out.append(f"{lang}: fuzzy: {mid!r}")
            elif not _translated(m):
                out.append(f"{lang}: untranslated: {mid!r}")
            if markup := new_markup(m):
                out.append(f"{lang}: markup not in the msgid {markup!r}: {mid!r}")
        for message, errors in catalog.check():
            for error in errors:
                out.append(f"{lang}: {error}: {_key(message)!r}")
    return out


def todo(langs: Iterable[str] = LANGS, locale: Path = LOCALE) -> dict[str, dict[str, object]]:
    """``{lang: {msgid: ""}}`` of the untranslated or fuzzy msgids (``["", ""]`` for a
    plural), the input :func:`apply` takes once filled in. Run ``update`` first."""
    out: dict[str, dict[str, object]] = {}
    for lang in langs:
        catalog = read(lang, locale)
        missing: dict[str, object] = {}
        for m in catalog:
            if m.id and (m.fuzzy or not _translated(m)):
                plural = isinstance(m.id, tuple | list)
                missing[_key(m)] = [""] * catalog.num_plurals if plural else ""
        out[lang] = missing
    return out


def apply(data: dict[str, dict[str, object]], locale: Path = LOCALE) -> dict[str, int]:
    """Write translations ``{lang: {msgid: text or [forms]}}`` into the catalogues (fuzzy flags
    cleared); returns how many were set per language. ``KeyError`` for a msgid not in the
    catalogue (run ``update`` first); ``ValueError`` for an empty text."""
    counts = {}
    for lang, entries in data.items():
        if lang not in LANGS:
            raise ValueError(f"no catalogue for {lang!r} (languages: {', '.join(LANGS)})")
        catalog = read(lang, locale)
        by_key = {_key(m): m for m in catalog if m.id}
        n = 0
        for mid, text in entries.items():
            message = by_key[mid]
            if isinstance(text, list):
                if not all(isinstance(t, str) and t for t in text):
                    raise ValueError(f"{lang}: empty plural form for {mid!r}")
                message.string = tuple(text)
            elif isinstance(text, str) and text:
                message.string = text
            else:
                raise ValueError(f"{lang}: empty translation for {mid!r}")
            message.flags.discard("fuzzy")
            n += 1
        write(lang, catalog, locale)
        counts[lang] = n
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/i18n.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("extract", help="write the template catalogue (POT)")
    p.add_argument("--out", type=Path, help="file to write (default: standard output)")
    p = sub.add_parser("update", help="merge the sources' msgids into the .po files")
    p.add_argument("--fuzzy", action="store_true", help="let Babel guess new msgids (fuzzy)")
    sub.add_parser("check", help="exit 1 on any untranslated, fuzzy or stale msgid")
    p = sub.add_parser("todo", help="JSON of the msgids still to translate")
    p.add_argument("--out", type=Path, help="file to write (default: standard output)")
    p = sub.add_parser("apply", help="write translations from a JSON file made by todo")
    p.add_argument("file", type=Path)
    sub.add_parser("sync", help="update, then check")
    args = parser.parse_args(argv)

    template = extract()
    if args.cmd == "extract":
        data = _dump(template)
        if args.out:
            args.out.write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
        print(f"{sum(1 for m in template if m.id)} msgids", file=sys.stderr)
        return 0
    if args.cmd in ("update", "sync"):
        changed = update(template, fuzzy=getattr(args, "fuzzy", False))
        print(f"{sum(1 for m in template if m.id)} msgids; changed: {', '.join(changed) or '-'}")
        if args.cmd == "update":
            return 0
    if args.cmd in ("check", "sync"):
        found = problems(template)
        for line in found:
            print(line)
        n = sum(1 for m in template if m.id)
        print(
            f"{n} msgids, {len(LANGS)} languages: " + (f"{len(found)} problems" if found else "ok")
        )
        return 1 if found else 0
    if args.cmd == "todo":
        text = json.dumps(todo(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    if args.cmd == "apply":
        counts = apply(json.loads(args.file.read_text(encoding="utf-8")))
        print(", ".join(f"{lang}: {n} set" for lang, n in counts.items()))
        return 0
    return 2  # pragma: no cover (argparse refuses other commands)


if __name__ == "__main__":
    sys.exit(main())
