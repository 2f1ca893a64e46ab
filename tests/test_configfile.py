"""tutela.configfile: one YAML -> pydantic loader with one error format, ``FILE:LINE: KEY: ...``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from tutela.configfile import (
    MAX_CONFIG_BYTES,
    load_config,
    located,
    parse_yaml,
    read_resource,
    read_yaml,
    validate,
)
from tutela.errors import ConfigError
from tutela.safeload import MAX_DEPTH


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Port(_Strict):
    host: str
    port: int = Field(ge=1, le=65535)


class Settings(_Strict):
    name: str = "x"
    rate: float = Field(default=0.5, ge=0.0, le=1.0)
    servers: list[Port] = []
    inner: Port | None = None


def write(tmp_path: Path, text: str | bytes, name: str = "conf.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def error_of(path: Path, model: type[BaseModel] = Settings, **kw: bool) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, model, what="test config", **kw)
    assert type(info.value) is ConfigError
    return str(info.value)


def test_valid_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\nservers:\n  - host: h\n    port: 6667\n")
    got = load_config(path, Settings, what="test config")
    assert got == Settings(name="a", servers=[Port(host="h", port=6667)])


def test_syntax_error_gives_the_parsers_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\nrate: b: c\n")
    message = f"{path}:2: not valid YAML: mapping values are not allowed here (column 8)"
    assert error_of(path) == message


def test_wrong_type_at_a_nested_key_names_its_line_and_path(tmp_path: Path) -> None:
    text = "name: a\nservers:\n  - host: h\n    port: 1\n  - host: g\n    port: high\n"
    message = error_of(write(tmp_path, text))
    assert re.fullmatch(
        rf"{re.escape(str(tmp_path))}/conf\.yaml:6: servers\.1\.port: Input should be a valid "
        r"integer.* \(got 'high'\)",
        message,
    ), message


def test_value_out_of_range_names_the_key_line(tmp_path: Path) -> None:
    path = write(tmp_path, "# comment\n\nrate: 1.5\n")
    message = error_of(path)
    assert message.startswith(f"{path}:3: rate: Input should be less than or equal to 1"), message
    assert message.endswith("(got 1.5)")


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\ninner:\n  host: h\n  port: 2\n  colour: red\n")
    assert error_of(path) == f"{path}:5: inner.colour: unknown key"


def test_missing_key_names_the_mapping_that_lacks_it(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\ninner:\n  port: 2\n")
    assert error_of(path) == f"{path}:2: inner.host: required key missing"


def test_several_errors_each_in_the_format(tmp_path: Path) -> None:
    path = write(tmp_path, "rate: 2\nextra: 1\n")
    parts = error_of(path).split("; ")
    assert parts[0].startswith(f"{path}:1: rate: ")
    assert parts[1] == f"{path}:2: extra: unknown key"


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b"name: caf\xe9\n")
    assert error_of(path) == f"{path}: not UTF-8 text (byte 0xe9 at offset 9)"


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing but a comment\n")
    assert error_of(path) == f"{path}: the file is empty; a test config must be a mapping"
    assert load_config(path, Settings, what="test config", empty_ok=True) == Settings()


def test_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "\n- 1\n- 2\n")
    assert error_of(path) == f"{path}:2: a test config must be a mapping, not list"


def test_huge_nesting_is_refused_by_safeload(tmp_path: Path) -> None:
    depth = MAX_DEPTH + 5
    path = write(tmp_path, "a:\n  " + "[" * depth + "]" * depth + "\n")
    message = error_of(path)
    assert message.startswith(f"{path}:2: not valid YAML: nested deeper than {MAX_DEPTH} levels")


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [" + ", ".join(["x"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    message = error_of(write(tmp_path, "\n".join(lines) + "\n"))
    assert "not valid YAML: expands to more than" in message


def test_a_value_yaml_cannot_build_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "name: 2020-02-30\n")
    assert error_of(path) == f"{path}: not valid YAML: day is out of range for month"


def test_control_character_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\nrate: \x01\n")
    assert error_of(path).startswith(f"{path}:2: not valid YAML: special characters")


def test_missing_file_folder_and_oversized_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert error_of(missing) == f"{missing}: cannot read test config: No such file or directory"
    assert error_of(tmp_path) == f"{tmp_path}: test config is a folder, not a regular file"
    big = write(tmp_path, b"#" * (MAX_CONFIG_BYTES + 1), "big.yaml")
    assert "larger than the limit" in error_of(big)


def test_hand_written_checks_use_the_same_format(tmp_path: Path) -> None:
    doc = read_yaml(write(tmp_path, "items:\n  - a\n  - b\n"), what="list file")
    assert str(doc.error(("items", 1), "repeats")) == f"{doc.name}:3: items.1: repeats"
    assert str(doc.error(("items", 7), "no such")) == f"{doc.name}:1: items.7: no such"
    assert str(doc.error((), "bad")) == f"{doc.name}:1: bad"
    bare = located("memory.yaml", {"items": []})
    assert str(bare.error(("items", 0), "bad")) == "memory.yaml: items.0: bad"


def test_validate_a_section_reports_lines_under_it() -> None:
    doc = parse_yaml("detection:\n  inner:\n    host: h\n    port: 0\n", name="d.yaml")
    with pytest.raises(ConfigError) as info:
        validate(doc, Settings, what="x", data=doc.data["detection"], at=("detection",))
    assert str(info.value).startswith("d.yaml:4: detection.inner.port: Input should be greater")


def test_shipped_resource_is_named_by_package_path() -> None:
    doc = read_resource("tutela.persona", "banks", "en.yaml")
    assert doc.name == "persona/banks/en.yaml" and doc.data["lang"] == "en"
    with pytest.raises(ConfigError, match=r"^persona/no-such\.yaml: cannot read"):
        read_resource("tutela.persona", "no-such.yaml")


# -- the loaders that use it -----------------------------------------------------------------------
def test_policy_file(tmp_path: Path) -> None:
    from tutela.policy import load_policy

    path = write(tmp_path, "version: 1\nsolicitation:\n  risk_threshold: high\n", "policy.yaml")
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}:3: solicitation.risk_threshold: ")


def test_detection_config(tmp_path: Path) -> None:
    from tutela.detect.config import load_detection_config

    path = write(tmp_path, "detection:\n  lines:\n    gate: 2\n", "det.yaml")
    with pytest.raises(ConfigError) as info:
        load_detection_config(path)
    assert str(info.value).startswith(f"{path}:3: detection.lines.gate: ")
    path = write(tmp_path, "model: null\nline_indicator_weightt: 1\n", "det2.yaml")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:2: line_indicator_weightt: "):
        load_detection_config(path)


def test_persona_profile(tmp_path: Path) -> None:
    from tutela.persona import load_persona

    text = (Path(__file__).parents[1] / "src/tutela/persona/profiles/gb-ellie.yaml").read_text()
    path = write(tmp_path, text.replace("age: 13", "age: 30"), "ellie.yaml")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("age:"))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:{line}: age: "):
        load_persona(path)


def test_exemplars_file(tmp_path: Path) -> None:
    from tutela.detect.exemplars import load_exemplars

    text = "language: en\nexemplars:\n  meeting:\n    - lets meet\n    - lets  MEET\n"
    path = write(tmp_path, text, "ex.yaml")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:5: exemplars\.meeting\.1: "):
        load_exemplars(path=path)


def test_bank_file(tmp_path: Path) -> None:
    from tutela.persona import load_bank_file

    path = write(tmp_path, "version: 1\n", "bank.yaml")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:1: missing or malformed"):
        load_bank_file(path)
