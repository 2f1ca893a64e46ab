"""Shell completion of ``tutela`` (issue 12 item 7): the script, commands and choice values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests._cli_harness import invoke


def _complete(monkeypatch: pytest.MonkeyPatch, words: str) -> list[str]:
    """What bash completion offers after ``words`` (the last word is being completed)."""
    monkeypatch.setenv("_TUTELA_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    r = invoke([])
    assert r.code == 0, r.text
    return r.out.split()


def test_show_completion_prints_a_bash_script() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "tutela", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
    )
    assert r.returncode == 0, r.stderr
    assert "_tutela_completion()" in r.stdout and "complete " in r.stdout
    assert "_TUTELA_COMPLETE=complete_bash" in r.stdout


def test_install_completion_is_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    r = invoke(["--help"])
    assert "--install-completion" in r.out and "--show-completion" in r.out


def test_commands_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _complete(monkeypatch, "tutela ca") == ["cases"]
    assert set(_complete(monkeypatch, "tutela users ")) >= {"add", "grant", "role", "totp"}


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("tutela evaluate x --task e", ["early"]),
        ("tutela evaluate x --task ", ["segments", "authors", "early", "live"]),
        ("tutela users add ana --role s", ["supervisor"]),
        ("tutela analyze x --format whats", ["whatsapp"]),
        ("tutela export 1 --format c", ["cybertip"]),
        ("tutela cases queue --status ref", ["referral_proposed", "referred"]),
    ],
)
def test_choice_values_complete(
    monkeypatch: pytest.MonkeyPatch, words: str, expected: list[str]
) -> None:
    assert _complete(monkeypatch, words) == expected
