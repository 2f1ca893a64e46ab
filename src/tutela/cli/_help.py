"""How ``tutela --help`` reads: plain text for people, choices as choices, examples everywhere.

Typer (0.29) renders Rich help panels from the Click command tree. Left alone it shows a
``<bool>`` type beside every flag (its Rich panel asks each option for a type label, flags
included), ``<str>`` / ``<path>`` labels, argument names in braces, docstring line breaks in the
command list and, in its ``rich`` markup mode, would read ``[word]`` in a help text as a style
tag. :class:`TutelaGroup` (the root group's class) tidies the whole tree once, before the
arguments are parsed:

* a flag gets no type label; any other option a metavar in capitals (``FILE``, ``N``, ``TEXT``)
  unless the command gave one, and a choice lists its values, ``[a|b|c]``;
* an argument is shown by its name in capitals (``CASE_ID``);
* every help text and docstring is made readable: reST roles (``:func:`x` ``) and double
  backticks become plain words, single line breaks inside a paragraph are joined, and Rich markup
  characters are escaped, so the text prints exactly as written;
* each command's epilog (see :func:`examples`) keeps its line breaks.

Help text is written for people reading a terminal: what the command does, its units and
defaults, no internal names. ``tests/cli/test_help.py`` walks every command and checks it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperArgument, TyperGroup, TyperOption

__all__ = ["TutelaGroup", "choice_metavar", "complete_from", "examples", "humanize"]

_ROLE = re.compile(r":(?:func|class|mod|data|meth|attr|exc|obj|ref|py:\w+):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
_SINGLE = re.compile(r"(?<![`\w])`([^`\n]+)`(?!`)")

_TYPE_METAVARS = {
    "path": "PATH",
    "file": "FILE",
    "directory": "DIR",
    "str": "TEXT",
    "int": "N",
    "int range": "N",
    "float": "NUMBER",
    "float range": "NUMBER",
    "datetime": "TIME",
    "bool": "BOOL",
}


def humanize(text: str | None) -> str | None:
    """``text`` as a person should read it in a terminal.

    reST roles keep the last dotted name (``:func:`~tutela.runtime.open_runtime` `` ->
    ``open_runtime``), double or single backticks are dropped, single line breaks inside a
    paragraph become spaces (a paragraph starting with ``\\b`` keeps its lines, Click's
    convention), and Rich markup characters are escaped. ``None`` stays ``None``.
    """
    if text is None:
        return None
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    text = _LITERAL.sub(r"\1", text)
    text = _SINGLE.sub(r"\1", text)
    paragraphs = []
    for para in _dedent(text).split("\n\n"):
        if para.startswith("\b"):
            paragraphs.append(para)
        else:
            paragraphs.append(" ".join(line.strip() for line in para.splitlines()).strip())
    return escape("\n\n".join(p for p in paragraphs if p))


def _dedent(text: str) -> str:
    import inspect

    return inspect.cleandoc(text)


def examples(*lines: str, note: str | None = None) -> str:
    """The epilog ``Examples:`` with one command line per entry (kept as written).

    A line starting with ``#`` is a comment. ``note`` adds a paragraph after the examples.
    """
    body = "\n".join(f"  {_literal(line)}" for line in lines)
    text = f"\b\nExamples:\n{body}"
    if note:
        text += "\n\n" + (humanize(note) or "")
    return text


def _literal(line: str) -> str:
    """``line`` printed as written by Rich (only an opening bracket can start markup)."""
    return line.replace("[", "\\[")


CHOICES_INLINE = 18
"""Longest ``[a|b|c]`` shown in the option's type column; longer sets show ``fallback`` there
and list their values in the help text (the column would otherwise fold mid-word)."""


def choice_metavar(values: Iterable[str], fallback: str = "CHOICE") -> str:
    """``[a|b|c]``: how a choice is shown in ``--help`` (``fallback`` when that is longer than
    :data:`CHOICES_INLINE` characters: then the help text must list the values)."""
    shown = "[" + "|".join(values) + "]"
    return shown if len(shown) <= CHOICES_INLINE else fallback


def complete_from(values: Sequence[str]) -> Callable[..., list[str]]:
    """A shell-completion callback offering ``values`` (for ``typer.Option(autocompletion=...)``
    where a command keeps its own validation and error message)."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete


def _metavar(param: TyperOption | TyperArgument, ctx: Any) -> str:
    if isinstance(param, TyperArgument):
        return (param.name or "value").upper()
    desc = param.type_descriptor
    if desc.is_choice and desc.choices:
        return choice_metavar((str(getattr(c, "value", c)) for c in desc.choices), "CHOICE")
    label = param.display_type(ctx).strip("<>")
    inner = re.fullmatch(r"list\[(.+)\]", label)
    if inner:
        label = inner.group(1)
    if "|" in label:
        return choice_metavar(label.split("|"), "CHOICE")
    return _TYPE_METAVARS.get(label, label.upper())


class _Argument(TyperArgument):
    """An argument shown as ``NAME`` (required) or ``[NAME]`` in the usage line, Click's
    convention, and without a second type column (its name says what it is)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")


class _Option(TyperOption):
    """An option whose number range hides a technical upper bound (a 32- or 64-bit database
    integer): ``N [x>=1]``, not ``N [1<=x<=2147483647]``."""

    def _get_number_range_help_str(self) -> str | None:
        if self.max is not None and self.max >= _TECHNICAL_MAX:
            saved, self.max = self.max, None
            try:
                return super()._get_number_range_help_str()
            finally:
                self.max = saved
        return super()._get_number_range_help_str()


_TECHNICAL_MAX = 1_000_000


def _tidy_param(param: Any, ctx: Any) -> None:
    if getattr(param, "_tutela_tidy", False):
        return
    param._tutela_tidy = True
    if type(param) is TyperArgument:
        param.__class__ = _Argument  # a subclass adding no state: only how it is shown
    elif type(param) is TyperOption:
        param.__class__ = _Option
    if isinstance(param, TyperOption) and param.is_flag and not param.count:
        param.metavar = ""  # a flag takes no value: no type label
    elif isinstance(param, TyperOption | TyperArgument) and param.metavar is None:
        param.metavar = _metavar(param, ctx)
    if getattr(param, "help", None):
        param.help = humanize(param.help)


def _tidy(command: Any, ctx: Any) -> None:
    """Tidy ``command`` (whose context is ``ctx``) and every command below it, once each."""
    if getattr(command, "_tutela_tidy", False):
        return
    command._tutela_tidy = True
    command.help = humanize(command.help)
    command.short_help = humanize(command.short_help)
    for param in command.params:
        _tidy_param(param, ctx)
    help_option = command.get_help_option(ctx)  # made once and cached by the command
    if help_option is not None:
        _tidy_param(help_option, ctx)
    for name, sub in getattr(command, "commands", {}).items():
        _tidy(sub, typer.Context(sub, info_name=name, parent=ctx))


class TutelaGroup(TyperGroup):
    """The root ``tutela`` group: tidies the help of the whole command tree (module docstring)
    before parsing, once the completion options Typer appends after construction are in place."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _tidy(self, ctx)
        return super().parse_args(ctx, args)
