"""``tutela --help`` and every command's help read as plain text for people (issue 12 item 7).

Each command's help is printed at 80 columns through the console entry point and checked: no
type label on a flag (``<bool>``), no ``<str>``-style labels at all, no reST markup, no line over
80 columns, an ``Examples:`` section, and the fixed value sets shown as choices.
"""

from __future__ import annotations

import re

import pytest
import typer
from tests._cli_harness import invoke

from tutela.cli import app


def _paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _paths(sub, (*prefix, name))
    return found


COMMANDS = _paths(typer.main.get_command(app))


def _help(monkeypatch: pytest.MonkeyPatch, *path: str) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    r = invoke([*path, "--help"])
    assert r.code == 0, r.text
    return r.out


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {"analyze", "evaluate", "cases queue", "users add", "ledger verify"} <= names
    assert len(COMMANDS) > 30


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "tutela")
def test_help_is_plain_and_has_examples(monkeypatch: pytest.MonkeyPatch, path: tuple) -> None:
    text = _help(monkeypatch, *path)
    assert "<bool>" not in text
    assert not re.search(r"<(str|path|int|float|int range|list\[\w+\])>", text), text
    assert "``" not in text and not re.search(r":(func|class|mod|data|meth):", text), text
    assert "`" not in text, text
    assert "{" not in text.split("\n\n", 2)[1] if "Usage:" in text else True
    too_long = [line for line in text.splitlines() if len(line) > 80]
    assert not too_long, too_long
    assert "Examples:" in text, f"tutela {' '.join(path)} --help has no examples"
    assert "tutela" in text.split("Examples:", 1)[1]


def test_flags_show_no_type_but_values_do(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _help(monkeypatch, "analyze")
    json_line = next(line for line in text.splitlines() if "--json" in line)
    assert re.search(r"--json\s+Print JSON", json_line), json_line
    assert re.search(r"--db\s+URL", text) and re.search(r"--top\s+N", text)
    assert "Usage: tutela analyze [OPTIONS] PATH" in text


def _option_block(text: str, option: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^│\s+(\*\s+)?{option}\s", line))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if re.match(r"^│\s+(\*\s+)?--", line) or line.startswith("╰"):
            break
        block.append(line)
    return " ".join(re.sub(r"[│*]", " ", line) for line in block)


@pytest.mark.parametrize(
    ("path", "option", "values"),
    [
        (("evaluate",), "--task", ("segments", "authors", "early", "live")),
        (("users", "add"), "--role", ("analyst", "supervisor", "admin")),
        (("users", "role"), "--role", ("analyst", "supervisor", "admin")),
        (("export",), "--format", ("package", "cybertip")),
        (("cases", "queue"), "--status", ("open", "watching", "referral_proposed", "referred")),
        (("analyze",), "--format", ("whatsapp", "telegram", "csv", "pan12", "generic")),
    ],
)
def test_choices_are_shown(
    monkeypatch: pytest.MonkeyPatch, path: tuple, option: str, values: tuple
) -> None:
    block = " ".join(_option_block(_help(monkeypatch, *path), option).split())
    for value in values:
        assert value in block, (option, value, block)


def test_roles_and_statuses_match_the_domain() -> None:
    from tutela.accounts.users import Role
    from tutela.cases.transitions import CaseStatus
    from tutela.cli.cases import ROLES, STATUSES

    assert tuple(r.value for r in Role) == ROLES
    assert tuple(s.value for s in CaseStatus) == STATUSES


def test_choices_are_still_validated() -> None:
    assert invoke(["evaluate", "x.jsonl", "--task", "nope"]).code == 2
    r = invoke(["users", "add", "ana", "--role", "root", "--db", "sqlite://"])
    assert r.code == 2


def test_humanize_removes_rest_and_keeps_brackets() -> None:
    from tutela.cli._help import humanize

    text = humanize(
        "Run ``tutela users add`` via :func:`~tutela.runtime.open_runtime`\nand `x` [bold]."
    )
    assert text == "Run tutela users add via open_runtime and x \\[bold]."
    assert humanize(None) is None
