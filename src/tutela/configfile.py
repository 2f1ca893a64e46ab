"""One YAML -> pydantic loader for every configuration and data file, with one error format.

Every failure is a :class:`tutela.errors.ConfigError` whose message is::

    FILE:LINE: KEY.PATH: problem

* ``FILE``: the path as given (or the package name of a shipped file, ``persona/banks/en.yaml``);
* ``LINE``: 1-based line of the offending key: the key itself for a wrong or unknown value, the
  key of the mapping that lacks it for a missing key, the item for a list item, the parser's
  line for a YAML syntax error or a limit of :mod:`tutela.safeload`;
* ``KEY.PATH``: the dotted keys down to the value, list items by their 0-based index
  (``ladder.warnings_before_escalate``, ``personas.0.connectors.1.port``);
* ``problem``: what is wrong, with the offending scalar (``(got 'high')``).

A part that does not apply is left out: ``FILE: problem`` for a file that cannot be read (missing,
a folder or FIFO, over :data:`MAX_CONFIG_BYTES`, not UTF-8) or is empty where a mapping is
needed; ``FILE:LINE: problem`` for a syntax error or a document that is not a mapping. Several
validation errors are joined with ``"; "``, each in the full format. Examples::

    policy.yaml:3: solicitation.risk_threshold: Input should be less than or equal to 1 (got 1.5)
    policy.yaml:5: threats.categoriez: unknown key
    ellie.yaml:7: facts.hobbies: required key missing
    run.yaml:2: not valid YAML: mapping values are not allowed here (column 7)
    bank.yaml: not UTF-8 text (byte 0xff at offset 12)

Public API::

    params = load_config(path, PolicyParams, what="policy file")    # read + parse + validate
    doc = read_yaml(path, what="lexicon")                           # or parse_yaml / read_resource
    model = validate(doc, Model, what="...", data=merged, at=("detection",))
    raise doc.error(("exemplars", "meeting", 2), "repeats an earlier line")

Hand-written checks (lexicons, response banks) raise through :meth:`YamlDocument.error` so they
give the same format. The rule (a message a user can act on names file, line and key) follows
the project's error rules in ``docs/architecture.md``.

**Secrets** (:func:`resolve_secrets`, ``load_config(..., secrets=SECRET_KEYS)``; the run
configuration of ``tutela run``): each secret key (``password``, ``access_token``,
``passphrase``, ``signing_key_passphrase``, ``db``) may be given in exactly one of three forms::

    password: "..."                      # plain text: accepted, logs config.plain_secret
    password_env: TUTELA_XMPP_PASSWORD   # read from the environment
    password_file: secrets/xmpp.txt      # read from a file (relative to the YAML's folder),
                                         # one trailing newline stripped

The value becomes a :class:`pydantic.SecretStr` (``'**********'`` in reprs, logs and pydantic's
error texts). Errors name the key and the variable or file, never the value:
``run.yaml:9: personas.0.connectors.0.password_env: environment variable TUTELA_XMPP_PASSWORD is
not set``. A secret file readable by group or others is read with a ``config.secret_file_readable``
warning (container secret mounts are often 0444). ``db`` counts as plain text only when its URL
carries a password (``postgresql://user:pw@host/db``).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import structlog
import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from tutela.errors import ConfigError
from tutela.files import read_small_file
from tutela.safeload import load_yaml_node

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_SECRET_BYTES",
    "SECRET_KEYS",
    "YamlDocument",
    "config_error",
    "load_config",
    "located",
    "parse_yaml",
    "read_resource",
    "read_yaml",
    "resolve_secrets",
    "validate",
]

MAX_CONFIG_BYTES = 16 * 1024**2
"""Most bytes read from one configuration or data file (16 MiB; shipped files are < 100 KB)."""

MAX_SECRET_BYTES = 64 * 1024
"""Most bytes read from one secret file (``password_file:`` and the like)."""
SECRET_KEYS: frozenset[str] = frozenset(
    {"password", "access_token", "passphrase", "signing_key_passphrase", "db"}
)
"""Keys whose values are secrets, each also accepted as ``KEY_env`` and ``KEY_file``."""

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)
Key = str | int
_MAX_REPORTED = 10
_TYPE_TAG = re.compile(r"^\[key\]$|^[\w-]+\[.*\]$")  # pydantic's own loc items, not user keys


def config_error(
    name: str, problem: str, *, line: int | None = None, key: Sequence[Key] = ()
) -> ConfigError:
    """A ``ConfigError`` in the module's format (``name:line: key.path: problem``)."""
    return ConfigError(_format(name, problem, line=line, key=key))


def _format(name: str, problem: str, *, line: int | None, key: Sequence[Key]) -> str:
    where = f"{name}:{line}" if line is not None else name
    path = ".".join(str(k) for k in key)
    return f"{where}: {path}: {problem}" if path else f"{where}: {problem}"


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """One parsed YAML document: its value and the composed node tree that locates each key.

    name: the file as shown in messages. data: the value (``None`` for an empty document).
    node: the root node (``None`` for an empty document or data that did not come from YAML).
    """

    name: str
    data: Any
    node: yaml.Node | None = None

    def locate(self, key: Sequence[Key]) -> tuple[int | None, tuple[Key, ...]]:
        """``(line, shown key path)`` for ``key`` (a pydantic ``loc`` or a hand-made path).

        The line is that of the deepest key or item found (1-based; ``None`` without a node).
        pydantic's own loc items (``[key]``, ``function-after[...]``, union branches past a
        scalar) are left out of the shown path.
        """
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        shown: list[Key] = []
        for item in key:
            if node is None:
                if not (isinstance(item, str) and _TYPE_TAG.match(item)):
                    shown.append(item)
                continue
            child = _child(node, item)
            if child is None:
                if isinstance(node, yaml.ScalarNode) or (
                    isinstance(item, str) and _TYPE_TAG.match(item)
                ):
                    continue
                node = None
                shown.append(item)
                continue
            key_node, node = child
            line = key_node.start_mark.line + 1
            shown.append(item)
        return line, tuple(shown)

    def error(self, key: Sequence[Key], problem: str) -> ConfigError:
        """A ``ConfigError`` at ``key`` (``()``: the whole document), located in the file."""
        line, shown = self.locate(key)
        return config_error(self.name, problem, line=line, key=shown)

    def mapping(self, *, what: str, empty_ok: bool = False) -> dict[Any, Any]:
        """The document's value as a mapping; ``{}`` for an empty document when ``empty_ok``.

        Raises ``ConfigError`` ("FILE: the file is empty; a {what} must be a mapping" or
        "FILE:LINE: a {what} must be a mapping, not list").
        """
        if self.data is None and self.node is None:
            if empty_ok:
                return {}
            raise config_error(self.name, f"the file is empty; a {what} must be a mapping")
        if not isinstance(self.data, dict):
            raise self.error((), f"a {what} must be a mapping, not {type(self.data).__name__}")
        return self.data


def located(origin: str | YamlDocument, data: Any = None) -> YamlDocument:
    """``origin`` as a document: a bare name gives one without lines (data checked in memory)."""
    return origin if isinstance(origin, YamlDocument) else YamlDocument(origin, data, None)


def _child(node: yaml.Node, item: Key) -> tuple[yaml.Node, yaml.Node] | None:
    """``(node marking the line, child node)`` for one path item, or ``None``."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(item):
                return key_node, value_node
        return None
    index = item if isinstance(item, int) and not isinstance(item, bool) else -1
    if isinstance(node, yaml.SequenceNode) and 0 <= index < len(node.value):
        return node.value[index], node.value[index]
    return None


def parse_yaml(text: str | bytes, *, name: str) -> YamlDocument:
    """Parse one YAML document (bounded by :mod:`tutela.safeload`); ``name`` names it in errors.

    Bytes must be UTF-8. Raises ``ConfigError``: ``"NAME: not UTF-8 text (...)"``,
    ``"NAME:LINE: not valid YAML: problem (column C)"`` (syntax errors, the nesting and alias
    limits, a value YAML cannot construct such as ``2020-02-30``).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            problem = f"not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})"
            raise config_error(name, problem) from e
    try:
        data, node = load_yaml_node(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "malformed document"
        if mark is None:
            raise config_error(name, f"not valid YAML: {problem}") from e
        raise config_error(
            name, f"not valid YAML: {problem} (column {mark.column + 1})", line=mark.line + 1
        ) from e
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        problem = f"not valid YAML: {e.reason} (#x{e.character:04x})"
        raise config_error(name, problem, line=line) from e
    except yaml.YAMLError as e:
        raise config_error(name, f"not valid YAML: {e}") from e
    except (ValueError, TypeError, OverflowError) as e:  # a timestamp or number YAML cannot build
        raise config_error(name, f"not valid YAML: {e}") from e
    return YamlDocument(name, data, node)


def read_yaml(path: str | os.PathLike[str], *, what: str) -> YamlDocument:
    """Read and parse the YAML file ``path``; ``what`` names it in messages ("policy file").

    Only a regular file of at most :data:`MAX_CONFIG_BYTES` is read (a FIFO or device is refused,
    never waited on). Raises ``ConfigError``: ``"FILE: cannot read {what}: ..."`` and those of
    :func:`parse_yaml`.
    """
    name = os.fspath(path)
    data = read_small_file(path, what=what, limit=MAX_CONFIG_BYTES, error=ConfigError)
    return parse_yaml(data, name=name)


def read_resource(package: str, *parts: str, name: str | None = None) -> YamlDocument:
    """Parse a YAML file shipped in ``package`` (``read_resource("tutela.persona", "banks",
    "en.yaml")``); ``name`` shows it in messages (default ``"persona/banks/en.yaml"``).

    Raises ``ConfigError`` as :func:`parse_yaml`, or ``"NAME: cannot read: ..."``.
    """
    shown = name or "/".join((package.split(".", 1)[-1], *parts))
    try:
        data = resources.files(package).joinpath(*parts).read_bytes()
    except OSError as e:
        raise config_error(shown, f"cannot read: {e.strerror or e}") from e
    return parse_yaml(data, name=shown)


def validate(
    doc: YamlDocument,
    model: type[M],
    *,
    what: str,
    data: Any = None,
    at: Sequence[Key] = (),
    empty_ok: bool = False,
) -> M:
    """Validate ``data`` (default: the document's mapping) as ``model``; errors located in ``doc``.

    ``at`` is where ``data`` sits in the document (``("detection",)`` for a section), so error
    locations are found under it. ``empty_ok`` lets an empty document stand for ``{}`` (all
    defaults). Raises ``ConfigError`` in the module's format, one part per pydantic error (at
    most ten, then "and N more").
    """
    if data is None:
        data = doc.mapping(what=what, empty_ok=empty_ok)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(doc, e, at)) from e


def load_config(
    path: str | os.PathLike[str],
    model: type[M],
    *,
    what: str,
    empty_ok: bool = False,
    secrets: Collection[str] = (),
) -> M:
    """Read ``path`` (YAML), check it is a mapping and validate it as ``model``.

    ``what`` names the file in messages ("policy file", "persona profile"); ``empty_ok``: an
    empty file gives the model's defaults; ``secrets``: secret keys resolved first
    (:func:`resolve_secrets`, e.g. :data:`SECRET_KEYS`). Raises ``ConfigError`` in the
    module's format.
    """
    doc = read_yaml(path, what=what)
    data = doc.mapping(what=what, empty_ok=empty_ok)
    if secrets:
        data = resolve_secrets(doc, data, keys=secrets)
    return validate(doc, model, what=what, data=data)


def resolve_secrets(
    doc: YamlDocument, data: Any, *, keys: Collection[str] = SECRET_KEYS, at: Sequence[Key] = ()
) -> Any:
    """``data`` (a mapping or list from ``doc``, at ``at``) with every secret key of ``keys``,
    in any mapping at any depth, resolved to ``KEY: SecretStr`` (the module docstring's three
    forms; ``KEY_env``/``KEY_file`` removed). ``KEY: null`` stays ``None``.

    Raises ``ConfigError`` at the key: two forms of one secret, a variable that is not set or
    empty, a file that cannot be read (missing, not a regular file, over
    :data:`MAX_SECRET_BYTES`, not UTF-8) or is empty, a form whose value is not text. The
    message names the key and the variable or file, never the secret.
    """
    base = Path(doc.name).parent
    if isinstance(data, list):
        return [resolve_secrets(doc, v, keys=keys, at=(*at, i)) for i, v in enumerate(data)]
    if not isinstance(data, dict):
        return data
    out = {k: resolve_secrets(doc, v, keys=keys, at=(*at, k)) for k, v in data.items()}
    for key in sorted(keys):
        forms = [f for f in (key, f"{key}_env", f"{key}_file") if f in out]
        if len(forms) > 1:
            raise doc.error((*at, forms[1]), f"give only one of {', '.join(forms)}")
        if not forms:
            continue
        form = forms[0]
        value = out.pop(form)
        where = (*at, form)
        if form == key:
            out[key] = _plain_secret(doc, where, key, value)
        elif form.endswith("_env"):
            out[key] = _env_secret(doc, where, value)
        else:
            out[key] = _file_secret(doc, where, value, base)
    return out


def _plain_secret(doc: YamlDocument, where: tuple[Key, ...], key: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise doc.error(where, "a secret must be text (put it in quotes)")
    if key != "db" or _url_has_password(value):
        line, shown = doc.locate(where)
        log.warning(
            "config.plain_secret",
            file=doc.name,
            line=line,
            key=".".join(str(k) for k in shown),
            hint=f"a plain-text secret; use {key}_env or {key}_file",
        )
    return SecretStr(value)


def _url_has_password(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def _env_secret(doc: YamlDocument, where: tuple[Key, ...], name: Any) -> SecretStr:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise doc.error(where, "must name an environment variable (letters, digits, _)")
    value = os.environ.get(name)
    if value is None:
        raise doc.error(where, f"environment variable {name} is not set")
    if value == "":
        raise doc.error(where, f"environment variable {name} is empty")
    return SecretStr(value)


def _file_secret(doc: YamlDocument, where: tuple[Key, ...], name: Any, base: Path) -> SecretStr:
    if not isinstance(name, str) or not name:
        raise doc.error(where, "must be the path of a file")
    path = Path(name) if Path(name).is_absolute() else base / name
    try:
        raw = read_small_file(path, what="secret file", limit=MAX_SECRET_BYTES, error=ConfigError)
    except ConfigError as e:
        raise doc.error(where, str(e)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise doc.error(where, f"{path}: secret file is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise doc.error(where, f"{path}: secret file is empty")
    try:
        mode = path.stat().st_mode
    except OSError:  # pragma: no cover - read a moment ago
        mode = 0
    if stat.S_IMODE(mode) & 0o077:
        line, shown = doc.locate(where)
        log.warning(
            "config.secret_file_readable",
            file=doc.name,
            line=line,
            key=".".join(str(k) for k in shown),
            secret_file=str(path),
            mode=oct(stat.S_IMODE(mode)),
            hint="readable by group or others; chmod 600",
        )
    return SecretStr(text)


def _describe(doc: YamlDocument, error: ValidationError, at: Sequence[Key]) -> str:
    parts = []
    errors = error.errors()
    for err in errors[:_MAX_REPORTED]:
        line, shown = doc.locate((*at, *err["loc"]))
        parts.append(_format(doc.name, _problem(err), line=line, key=shown))
    if len(errors) > _MAX_REPORTED:
        parts.append(f"and {len(errors) - _MAX_REPORTED} more")
    return "; ".join(parts)


def _problem(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        shown = repr(value)
        msg = f"{msg} (got {shown[:77] + '...' if len(shown) > 80 else shown})"
    return msg
