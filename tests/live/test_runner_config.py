"""``tutela run`` refuses bad configurations before it touches the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

OP = {
    "organisation": "Test NGO",
    "jurisdiction": "NL",
    "legal_basis": "test",
    "authorisation_ref": "TEST-1",
    "officer": "T. Officer",
}
PERSONAS = [
    {
        "persona": "gb-ellie",
        "connectors": [{"kind": "irc", "host": "127.0.0.1", "port": 1, "nick": "e"}],
    }
]


def run(tmp_path: Path, cfg: dict | str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "run.yaml"
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    return subprocess.run(
        [sys.executable, "-m", "tutela", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "operation, message",
    [
        ({"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-02-01T00:00:00Z"}, "not active"),
        ({"starts_at": "2020-02-01T00:00:00Z", "ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "2020-01-01T00:00:00"}, "timezone"),
    ],
)
def test_refused_operation_leaves_no_record(tmp_path: Path, operation: dict, message: str) -> None:
    db = tmp_path / "run.db"
    r = run(
        tmp_path, {"db": f"sqlite:///{db}", "operation": {**OP, **operation}, "personas": PERSONAS}
    )
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not db.exists()


def test_unknown_persona_and_bad_yaml(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    r = run(
        tmp_path,
        {
            "db": f"sqlite:///{db}",
            "operation": {**OP, "starts_at": "2020-01-01T00:00:00Z"},
            "personas": [{"persona": "nobody", "connectors": [{"kind": "irc"}]}],
        },
    )
    assert r.returncode == 2 and "nobody" in r.stderr and not db.exists()
    r = run(tmp_path, "operation: [unclosed\n")
    assert r.returncode == 2 and "run.yaml:" in r.stderr and "not valid YAML" in r.stderr


def test_run_refuses_a_second_key_on_one_ledger(tmp_path: Path) -> None:
    """A ``tutela run`` whose ``signing_key:`` is not the key its database's ledger is signed with
    stops before it connects: its checkpoints would make the ledger read as tampered."""
    from tutela.runtime import open_runtime
    from tutela.store import iter_checkpoints, open_store

    db = tmp_path / "run.db"
    first = tmp_path / "first-key.pem"
    with open_runtime(f"sqlite:///{db}", key=first) as rt:
        rt.recorder.append_entry("review", None, {"case_id": 1, "action": "note"})
        rt.recorder.checkpoint()
    cfg = {
        "db": f"sqlite:///{db}",
        "signing_key": str(tmp_path / "second-key.pem"),
        "operation": {**OP, "starts_at": "2020-01-01T00:00:00Z"},
        "personas": PERSONAS,
    }
    r = run(tmp_path, cfg)
    assert r.returncode == 2 and "signed by another key" in r.stderr, r.stderr
    assert "rotate-key" in r.stderr and "Traceback" not in r.stderr
    with open_store(f"sqlite:///{db}") as store:
        assert len(iter_checkpoints(store)) == 1  # nothing signed by the second key
    assert not (tmp_path / "second-key.pem").exists()  # the refused run leaves no key behind
