"""Fuzz the command line (hypothesis): no input ends in a traceback (issue 10, item 13).

* every command of the Typer/Click tree of :mod:`tutela.cli`, found by walking it (a command added
  later is fuzzed too), with option values drawn by type: huge, negative and non-numeric integers;
  nan, inf and huge floats; odd Unicode, Rich markup (``[/]``), lone surrogates (what Python
  makes of a non-UTF-8 ``argv``); paths to folders, missing folders, binary and deeply nested
  files; database URLs of unsupported or unusable databases;
* every input reader behind ``tutela analyze`` / ``evaluate`` / ``train`` and the configuration,
  scenario and persona readers: random bytes, nested JSON, bad YAML;
* ``tutela verify`` on random bytes and random zip files.

The exit status must be 0, 1, 2 or 3 (70 is the last-resort "internal error", i.e. a bug) and
nothing printed may contain ``Traceback``. Commands that serve or run until stopped (``serve``,
``run``, ``demo``) always get one argument that makes them stop before starting (an unusable
database, a bad configuration or scenario file); ``uvicorn.run`` and ``run_personas`` fail the test
if reached. Everything runs in a temporary folder with ``TUTELA_DB`` on a temporary SQLite file.
"""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from _cli_harness import CliResult, invoke
from tutela.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "chats.jsonl"
OK_CODES = {0, 1, 2, 3}
FUZZ = settings(
    max_examples=int(os.environ.get("TUTELA_FUZZ_EXAMPLES", "10")),
    deadline=None,
    # the tests run in a temporary folder: keep failing examples where a rerun finds them
    database=DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples"),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class ReachedServer(BaseException):
    """A long-running command got past its checks: the fuzz case was not a refusal."""


def _walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in sorted(subs.items()):
            yield from _walk(sub, (*path, name))
    elif path:
        yield path, command


COMMANDS = dict(_walk(typer.main.get_command(app), ()))
LONG_RUNNING = {("serve",), ("run",), ("demo",)}


# -- the environment ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A working folder with the odd files the strategies point at; env and cwd set to it."""
    base = tmp_path_factory.mktemp("fuzz")
    files = {
        "folder": base / "a-folder",
        "missing": base / "no" / "such" / "folder" / "file.json",
        "binary": base / "binary.bin",
        "empty": base / "empty.jsonl",
        "deep_json": base / "deep.json",
        "deep_jsonl": base / "deep.jsonl",
        "deep_yaml": base / "deep.yaml",
        "bomb_yaml": base / "bomb.yaml",
        "markup": base / "[red]mark[" / "]up.jsonl",  # the path holds "[/]"
        "zip": base / "random.zip",
    }
    files["folder"].mkdir()
    files["markup"].parent.mkdir()
    files["binary"].write_bytes(bytes(range(256)) * 8)
    files["empty"].write_bytes(b"")
    files["deep_json"].write_text("[" * 50_000 + "]" * 50_000, "utf-8")
    files["deep_jsonl"].write_text('{"text": ' + "[" * 50_000 + "]" * 50_000 + "}\n", "utf-8")
    files["deep_yaml"].write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n", "utf-8")
    files["bomb_yaml"].write_text(
        "\n".join(
            ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
            + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
        )
        + "\n",
        "utf-8",
    )
    files["markup"].write_bytes(b'{"conversation": "[/]", "author": "[bold]", "text": "[/]"}\n')
    with zipfile.ZipFile(files["zip"], "w") as z:
        z.writestr("manifest.json", "[" * 50_000 + "]" * 50_000)
        z.writestr("../escape.txt", b"\x00\xff")
    files["under_a_file"] = files["binary"] / "below.json"
    mp = pytest.MonkeyPatch()
    mp.chdir(base)
    mp.setenv("TUTELA_DB", f"sqlite:///{base / 'fuzz.db'}")
    mp.setenv("XDG_DATA_HOME", str(base / "data"))
    mp.setenv("XDG_CONFIG_HOME", str(base / "config"))
    for name in ("TUTELA_PASSWORD", "TUTELA_TOTP_CODE", "TUTELA_WEB_COOKIE_SECURE"):
        mp.delenv(name, raising=False)
    import uvicorn

    import tutela.live.runner

    def reached(*a: object, **k: object) -> None:
        raise ReachedServer("a long-running command started")

    mp.setattr(uvicorn, "run", reached)  # serve: past every check
    mp.setattr(tutela.live.runner, "create_connector", reached)  # run: about to connect
    files["base"] = base
    yield files
    mp.undo()


def check(r: CliResult, argv: list[str], stdin: bytes = b"") -> None:
    if r.code == 70:  # the last-resort handler: show the bug's traceback in the failure
        again = invoke(["--verbose", *argv], stdin=stdin)
        pytest.fail(f"tutela {argv!r} (stdin {stdin!r}) exited 70:\n{again.err[-4000:]}")
    assert r.code in OK_CODES, f"tutela {argv!r} exited {r.code}:\n{r.err[-2000:]}"
    assert "Traceback" not in r.text, f"tutela {argv!r} printed a traceback:\n{r.text[-3000:]}"


def run(argv: list[str], stdin: bytes = b"", *, may_start: bool = False) -> CliResult | None:
    """``tutela ARGV``, checked; ``None`` when a long-running command got to its start (allowed
    only with ``may_start``: the input under test was then read and accepted)."""
    try:
        r = invoke(argv, stdin=stdin)
    except ReachedServer:
        if may_start:
            return None
        pytest.fail(f"tutela {argv!r} got past its checks and started")
    check(r, argv, stdin)
    return r


# -- value strategies -----------------------------------------------------------------------------
ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "-",
        "--",
        "[/]",
        "[bold]x[/bold]",
        "[",
        "]",
        "\u202e\u2066evil",
        "\ufeff",
        "x" * 5000,
        "é",
        "名前",
        "\U0001f600",
        "\udcff\udc80",
        "a\nb",
        "%s%n",
        "../..",
        "nan",
    ]
)
TEXT = st.one_of(
    ODD_TEXT,
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20),
    st.text(st.sampled_from("\udc80\udcffa[/]é"), min_size=1, max_size=5),
)
INTS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([10**30, -(10**30), 2**63, 2**63 - 1, 2**31, -(2**31) - 1, 36501, 65536]),
    st.integers(),
).map(str) | st.sampled_from(["abc", "", "1e3", "nan", "0x10", "١٢", "--"])
FLOATS = st.sampled_from(["nan", "inf", "-inf", "1e400", "-1", "0", "5e-324", "abc", ""]) | (
    st.floats(allow_nan=True, allow_infinity=True).map(repr)
)
PATH_KEYS = (
    "folder",
    "missing",
    "binary",
    "empty",
    "deep_json",
    "deep_jsonl",
    "deep_yaml",
    "bomb_yaml",
    "markup",
    "zip",
    "under_a_file",
)
BAD_URLS = (
    "mysql://user:secret@db.example/tutela",
    "oracle://x/y",
    "nonsense",
    "postgresql+pg8000://u:p@127.0.0.1/x",
    "sqlite:///{folder}",
    "sqlite:///{binary}",
    "sqlite:///{under_a_file}",
)


def _paths(sandbox: dict[str, Path], *, valid: bool) -> st.SearchStrategy[str]:
    bad = [str(sandbox[k]) for k in PATH_KEYS]
    return st.sampled_from([*bad, str(EXAMPLE)] if valid else bad)


def _urls(sandbox: dict[str, Path]) -> st.SearchStrategy[str]:
    return st.sampled_from([u.format(**{k: str(v) for k, v in sandbox.items()}) for u in BAD_URLS])


def _value(param: Any, sandbox: dict[str, Path], command: tuple[str, ...]) -> st.SearchStrategy:
    annotation = param.type_descriptor.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    name = param.name
    if name == "db":
        return _urls(sandbox) | st.just(f"sqlite:///{sandbox['base'] / 'fuzz.db'}")
    if command == ("demo",) and name == "scenario":
        return _paths(sandbox, valid=False)
    if name == "task":
        return st.sampled_from(["segments", "authors", "early", "live"]) | TEXT
    if name == "prefix_lengths":
        return st.sampled_from(["5,10", "0", "-1", "1e3", ",", str(10**30), "a,b"]) | TEXT
    if annotation is Path:
        return _paths(sandbox, valid=command in {("analyze",), ("evaluate",)})
    if annotation is int:
        return INTS
    if annotation is float:
        return FLOATS
    return TEXT


@st.composite
def _argv(draw: Callable, command: tuple[str, ...], sandbox: dict[str, Path]) -> list[str]:
    params = COMMANDS[command].params
    options: list[str] = []
    positionals: list[str] = []
    for p in params:
        is_argument = not getattr(p, "opts", [""])[0].startswith("-")
        if getattr(p, "is_flag", False):
            if draw(st.booleans()):
                options.append(p.opts[0])
            continue
        if not p.required and not draw(st.booleans()):
            continue
        values = _value(p, sandbox, command)
        many = p.nargs == -1 or getattr(p, "multiple", False)
        drawn = draw(st.lists(values, min_size=1, max_size=3)) if many else [draw(values)]
        if is_argument:
            positionals.extend(drawn)
        else:
            for v in drawn:
                options += [p.opts[0], v]
    if command in LONG_RUNNING:  # one argument that stops it before it starts
        if command == ("serve",):
            options += ["--db", draw(_urls(sandbox))]
        elif command == ("run",):
            options += ["--config", draw(_paths(sandbox, valid=False))]
        else:
            options += ["--scenario", draw(_paths(sandbox, valid=False))]
    if positionals and draw(st.booleans()):
        positionals.insert(0, "--")
    return [*command, *options, *positionals]


# -- every command's options ----------------------------------------------------------------------
@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_command_options(command: tuple[str, ...], sandbox: dict[str, Path]) -> None:
    @FUZZ
    @given(argv=_argv(command, sandbox), stdin=st.binary(max_size=40))
    def fuzz(argv: list[str], stdin: bytes) -> None:
        run(argv, stdin)

    fuzz()


def test_every_command_is_fuzzed() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {
        "analyze",
        "evaluate",
        "train",
        "export",
        "verify",
        "demo",
        "run",
        "serve",
        "cases queue",
        "cases retention",
        "research export",
        "users add",
    } <= names


# -- every reader ---------------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=10,
)
FIELDS = ("conversation", "author", "text", "time", "line", "label", "lang", "id")
JSONL_LINES = st.lists(
    st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6).map(json.dumps)
    | JSON_VALUES.map(json.dumps)
    | st.sampled_from(
        ["[" * 3000 + "]" * 3000, '{"a": ' + "[" * 3000 + "]" * 3000 + "}", "{", "\ufeff{}", "null"]
    ),
    max_size=5,
).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))
XML_DOCS = st.sampled_from(
    [
        b"<conversations>" + b"<a>" * 3000 + b"</a>" * 3000 + b"</conversations>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
        b"<conversations><conversation id='1'><message line='x'><author>a</author><time>"
        b"99:99</time><text>[/]</text></message></conversation></conversations>",
        b"<conversations><conversation id='1'><message line='1'><author>a</author></message>",
    ]
)
YAML_DOCS = st.one_of(
    st.sampled_from(
        [
            b"a: [" * 2000,
            b"- " * 3000 + b"x",
            b"a: &a [*a]",
            b"!!python/object:os.system x",
            b"{a: 1, a: 2}",
            b"\t- x",
            b"detection: 5",
            b"- [/]",
            b"a: !!binary ???",
        ]
    ),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
)
CONTENTS = st.one_of(st.binary(max_size=300), JSONL_LINES, XML_DOCS, YAML_DOCS)

READERS: dict[str, tuple[str, Callable[[Path, Path], list[str]]]] = {
    "analyze jsonl": (".jsonl", lambda f, b: ["analyze", str(f), "--json"]),
    "analyze xml": (".xml", lambda f, b: ["analyze", str(f), "--json"]),
    "analyze other suffix": (".txt", lambda f, b: ["analyze", str(f)]),
    "evaluate jsonl": (".jsonl", lambda f, b: ["evaluate", str(f), "--json"]),
    "evaluate truth file": (".txt", lambda f, b: ["evaluate", str(EXAMPLE), "--truth", str(f)]),
    "evaluate live scenario": (".json", lambda f, b: ["evaluate", str(f), "--task", "live"]),
    "train corpus": (
        ".jsonl",
        lambda f, b: ["train", str(f), "--out", str(b / "m.skops"), "--folds", "0"],
    ),
    "detection config": (".yaml", lambda f, b: ["analyze", str(EXAMPLE), "--config", str(f)]),
    "run config": (".yaml", lambda f, b: ["run", "--config", str(f)]),
    "demo scenario": (".json", lambda f, b: ["demo", "--scenario", str(f)]),
    "model file": (".skops", lambda f, b: ["analyze", str(EXAMPLE), "--model", str(f)]),
    "pseudonym key": (".key", lambda f, b: ["research", "stats", "--key-file", str(f)]),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_readers(reader: str, sandbox: dict[str, Path]) -> None:
    suffix, make = READERS[reader]
    target = sandbox["base"] / f"input{suffix}"

    @FUZZ
    @given(content=CONTENTS)
    def fuzz(content: bytes) -> None:
        target.write_bytes(content)
        run(make(target, sandbox["base"]))

    fuzz()


def test_persona_and_policy_readers(sandbox: dict[str, Path]) -> None:
    """A persona profile or policy file named by a run configuration: read inside ``run`` after
    the operation check and before any connector is made (reaching that is an accepted file)."""
    persona = sandbox["base"] / "persona.yaml"
    policy = sandbox["base"] / "policy.yaml"
    config = sandbox["base"] / "run-persona.yaml"

    @FUZZ
    @given(
        content=YAML_DOCS | st.binary(max_size=200), which=st.sampled_from(["persona", "policy"])
    )
    def fuzz(content: bytes, which: str) -> None:
        (persona if which == "persona" else policy).write_bytes(content)
        data: dict[str, Any] = {
            "operation": {
                "organisation": "o",
                "jurisdiction": "NL",
                "legal_basis": "l",
                "authorisation_ref": "F-1",
                "officer": "x",
                "starts_at": "2020-01-01T00:00:00Z",
            },
            "personas": [
                {
                    "persona": str(persona) if which == "persona" else "nl-daan",
                    "connectors": [{"kind": "irc", "host": "127.0.0.1", "port": 1}],
                }
            ],
        }
        if which == "policy":
            data["policy"] = str(policy)
        config.write_text(json.dumps(data), "utf-8")
        run(["run", "--config", str(config)], may_start=True)

    fuzz()


# -- verify ---------------------------------------------------------------------------------------
def _zip_of(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as z:
        warnings.simplefilter("ignore")  # duplicate names on purpose
        for name, data in members:
            # zipfile cuts a name at NUL: keep what it will store, never an empty name
            z.writestr(name.split("\x00", 1)[0] or "unnamed", data)
    return buf.getvalue()


MEMBER_NAMES = st.sampled_from(
    [
        "manifest.json",
        "ledger.jsonl",
        "signature.json",
        "operations.json",
        "messages.jsonl",
        "../x",
        "/abs",
        "a\\b",
        "[/]",
        "report.html",
        "manifest.json",
    ]
) | st.text(max_size=12)
MEMBER_DATA = st.one_of(
    st.binary(max_size=100),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.just(("[" * 5000 + "]" * 5000).encode()),
)
PACKAGES = st.one_of(
    st.binary(max_size=400),
    st.lists(st.tuples(MEMBER_NAMES, MEMBER_DATA), max_size=6).map(_zip_of),
)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_verify_random_packages(as_json: bool, sandbox: dict[str, Path]) -> None:
    package = sandbox["base"] / "[" / "]package.zip"  # a path holding "[/]" (issue 10 item 12)
    package.parent.mkdir(exist_ok=True)

    @FUZZ
    @given(content=PACKAGES)
    def fuzz(content: bytes) -> None:
        package.write_bytes(content)
        run(["verify", str(package), *(["--json"] if as_json else [])])

    fuzz()
