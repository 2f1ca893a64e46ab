"""examples/run.yaml, examples/policy.yaml and examples/detection.yaml load through the real
loaders (``tutela run --config``, ``--shadow-policy``, ``detection:``) and set every key.

Nothing connects: the connectors are only constructed (their options checked by their classes).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from tutela.connectors import create_connector
from tutela.detect.config import load_detection_config
from tutela.live.runner import RunConfig, load_run_config
from tutela.policy import PolicyParams, load_policy
from tutela.runtime import load_shadow_policy
from tutela.safeload import load_yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENV = {
    "TUTELA_KEY_PASSPHRASE": "example-key-passphrase",
    "TUTELA_DAAN_XMPP_PASSWORD": "example-xmpp-password",
    "TUTELA_ELLIE_MATRIX_TOKEN": "example-matrix-token",
}
IRC_PASSWORD = "example-irc-password"


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example files in a temporary folder with the secrets run.yaml names."""
    for name in ("run.yaml", "policy.yaml", "detection.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    secret = secrets / "irc-password.txt"
    secret.write_text(IRC_PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def _missing(model: BaseModel, prefix: str = "") -> list[str]:
    """Dotted names of the model's fields (and its sub-models' fields) the file left out."""
    out = []
    for name in type(model).model_fields:
        if name not in model.model_fields_set:
            out.append(prefix + name)
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out += _missing(value, f"{prefix}{name}.")
    return out


def _reveal(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in options.items()}


def test_run_yaml_loads_with_every_key(examples: Path) -> None:
    cfg = load_run_config(examples / "run.yaml")
    assert _missing(cfg) == []
    assert _missing(cfg.operation) == []
    assert cfg.policy == examples / "policy.yaml"
    assert cfg.detection == examples / "detection.yaml"
    assert cfg.signing_key_passphrase is not None
    assert cfg.signing_key_passphrase.get_secret_value() == ENV["TUTELA_KEY_PASSPHRASE"]
    kinds = [cc.kind for pr in cfg.personas for cc in pr.connectors]
    assert sorted(kinds) == ["irc", "matrix", "xmpp"]
    secrets = {}
    for pr in cfg.personas:
        for cc in pr.connectors:
            options = dict(cc.model_extra or {})
            secrets[cc.kind] = options.get("password") or options.get("access_token")
            assert isinstance(secrets[cc.kind], SecretStr)
            if "host" in options:
                assert options["host"] == "127.0.0.1"
            # the connector's own class checks every option (an unknown key is a ConfigError)
            create_connector(cc.kind, **_reveal(options))
    assert secrets["xmpp"].get_secret_value() == ENV["TUTELA_DAAN_XMPP_PASSWORD"]
    assert secrets["irc"].get_secret_value() == IRC_PASSWORD
    assert secrets["matrix"].get_secret_value() == ENV["TUTELA_ELLIE_MATRIX_TOKEN"]
    shown = repr(cfg)
    assert all(value not in shown for value in (*ENV.values(), IRC_PASSWORD))


def test_run_yaml_unknown_key_is_refused(examples: Path) -> None:
    from tutela.errors import ConfigError

    path = examples / "run.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "reply_delay: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"run\.yaml:\d+: reply_delay: unknown key"):
        load_run_config(path)


def _keys(model: type[BaseModel], data: dict[str, Any], prefix: str = "") -> list[str]:
    """Fields of ``model`` (recursively) absent from the YAML mapping ``data``."""
    out = []
    for name, field in model.model_fields.items():
        if name not in data:
            out.append(prefix + name)
            continue
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out += _keys(sub, data[name], f"{prefix}{name}.")
    return out


def test_policy_yaml_loads_and_lists_every_parameter(examples: Path) -> None:
    path = examples / "policy.yaml"
    params = load_policy(path)
    assert _keys(PolicyParams, load_yaml(path.read_text(encoding="utf-8"))) == []
    assert params == load_policy(None)  # the example is the packaged defaults, commented
    shadow = load_shadow_policy(path)  # what --shadow-policy reads
    assert shadow.policy.params == params
    assert len(shadow.sha256) == 64


def test_detection_yaml_loads(examples: Path) -> None:
    cfg = load_detection_config(examples / "detection.yaml")
    data = load_yaml((examples / "detection.yaml").read_text(encoding="utf-8"))
    assert set(data) <= set(type(cfg).model_fields)
    assert cfg.warning_rule.k == data["warning_rule"]["k"]


def test_run_config_fields_are_documented_in_the_example() -> None:
    text = (EXAMPLES / "run.yaml").read_text(encoding="utf-8")
    for name in RunConfig.model_fields:
        assert f"\n{name}" in text, name
