"""Secrets in configuration files: ``KEY``, ``KEY_env`` or ``KEY_file``, exactly one
(:func:`tutela.configfile.resolve_secrets`; ``tutela run --config``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import structlog
from pydantic import BaseModel, ConfigDict, SecretStr

from tutela.configfile import SECRET_KEYS, load_config
from tutela.errors import ConfigError
from tutela.live.runner import load_run_config

SECRET = "s3cr3t-Value-9f2c"


class Account(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str
    password: SecretStr | None = None
    access_token: SecretStr | None = None


def _load(tmp_path: Path, body: str) -> Account:
    path = tmp_path / "acc.yaml"
    path.write_text("user: mia\n" + body, encoding="utf-8")
    return load_config(path, Account, what="account", secrets=SECRET_KEYS)


def _refused(tmp_path: Path, body: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, body)
    text = str(info.value)
    assert SECRET not in text
    assert SECRET not in repr(info.value)
    return text


def test_env_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACC_PW", SECRET)
    acc = _load(tmp_path, "password_env: ACC_PW\n")
    assert acc.password is not None and acc.password.get_secret_value() == SECRET
    assert SECRET not in repr(acc) and SECRET not in str(acc)


def test_env_unset_is_an_error_naming_key_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACC_PW", raising=False)
    text = _refused(tmp_path, "password_env: ACC_PW\n")
    path = tmp_path / "acc.yaml"
    assert text == f"{path}:2: password_env: environment variable ACC_PW is not set"


def test_env_empty_and_bad_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACC_PW", "")
    assert "ACC_PW is empty" in _refused(tmp_path, "password_env: ACC_PW\n")
    assert "must name an environment variable" in _refused(tmp_path, "password_env: 'A B'\n")


def test_file_ok_strips_one_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    secret.chmod(0o600)
    acc = _load(tmp_path, "access_token_file: pw.txt\n")  # relative to the YAML's folder
    assert acc.access_token is not None and acc.access_token.get_secret_value() == SECRET
    secret.write_text(SECRET + "\n\n", encoding="utf-8")
    acc = _load(tmp_path, f"access_token_file: {secret}\n")
    assert acc.access_token is not None
    assert acc.access_token.get_secret_value() == SECRET + "\n"  # only one newline stripped


def test_file_missing_unreadable_or_empty(tmp_path: Path) -> None:
    text = _refused(tmp_path, "password_file: nope.txt\n")
    assert text.startswith(f"{tmp_path / 'acc.yaml'}:2: password_file: ")
    assert "nope.txt" in text and "secret file" in text
    (tmp_path / "folder").mkdir()
    assert "secret file" in _refused(tmp_path, "password_file: folder\n")
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    assert "secret file is empty" in _refused(tmp_path, "password_file: empty.txt\n")
    (tmp_path / "latin.txt").write_bytes(b"\xff\xfe")
    assert "not UTF-8" in _refused(tmp_path, "password_file: latin.txt\n")


def test_two_forms_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACC_PW", SECRET)
    text = _refused(tmp_path, f"password: {SECRET}\npassword_env: ACC_PW\n")
    assert "give only one of password, password_env" in text
    assert ":3: password_env:" in text


def test_plain_secret_accepted_with_a_warning_without_the_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs:
        acc = _load(tmp_path, f"password: {SECRET}\n")
    assert acc.password is not None and acc.password.get_secret_value() == SECRET
    warnings = [e for e in logs if e["event"] == "config.plain_secret"]
    assert len(warnings) == 1 and warnings[0]["key"] == "password"
    assert warnings[0]["log_level"] == "warning"
    assert SECRET not in repr(logs) and SECRET not in caplog.text


def test_plain_secret_must_be_text(tmp_path: Path) -> None:
    assert "a secret must be text" in _refused(tmp_path, "password: 123456\n")


def test_group_readable_file_warns(tmp_path: Path) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text(SECRET, encoding="utf-8")
    secret.chmod(0o644)
    with structlog.testing.capture_logs() as logs:
        _load(tmp_path, "password_file: pw.txt\n")
    events = [e for e in logs if e["event"] == "config.secret_file_readable"]
    assert events and events[0]["mode"] == "0o644"
    assert SECRET not in repr(logs)


def _run_yaml(tmp_path: Path, connector: str, top: str = "") -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(
        top + "operation:\n  organisation: O\n  jurisdiction: NL\n  legal_basis: B\n"
        "  authorisation_ref: R\n  officer: X\n  starts_at: 2026-01-01T00:00:00Z\n"
        "personas:\n  - persona: gb-ellie\n    connectors:\n"
        f"      - {connector}\n",
        encoding="utf-8",
    )
    return path


def test_run_config_connector_and_db_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUN_DB", f"postgresql://tutela:{SECRET}@127.0.0.1/tutela")
    monkeypatch.setenv("RUN_PW", SECRET)
    cfg = load_run_config(
        _run_yaml(
            tmp_path,
            "{kind: irc, host: 127.0.0.1, nick: n, password_env: RUN_PW}",
            top="db_env: RUN_DB\nsigning_key_passphrase_env: RUN_PW\n",
        )
    )
    extra = cfg.personas[0].connectors[0].model_extra or {}
    assert extra["password"].get_secret_value() == SECRET
    assert cfg.db is not None and SECRET in cfg.db.get_secret_value()
    assert cfg.signing_key_passphrase is not None
    assert SECRET not in repr(cfg) and SECRET not in str(cfg.model_dump())


def test_run_config_error_is_located_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUN_TOKEN", raising=False)
    path = _run_yaml(
        tmp_path,
        "{kind: matrix, homeserver: 'http://127.0.0.1:8008', user_id: '@e:l', "
        "access_token_env: RUN_TOKEN}",
    )
    with pytest.raises(ConfigError) as info:
        load_run_config(path)
    assert str(info.value) == (
        f"{path}:11: personas.0.connectors.0.access_token_env: "
        "environment variable RUN_TOKEN is not set"
    )


def test_plain_db_url_without_password_does_not_warn(tmp_path: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        cfg = load_run_config(
            _run_yaml(tmp_path, "{kind: irc, host: 127.0.0.1, nick: n}", top="db: sqlite:///x\n")
        )
    assert cfg.db is not None and cfg.db.get_secret_value() == "sqlite:///x"
    assert not [e for e in logs if e["event"] == "config.plain_secret"]
