"""Bad command-line input ends in ``error: ...`` and exit status 2, never a traceback (issue 10,
item 13): deeply nested YAML/JSON, alias bombs, huge numbers, ``--out`` in the way, unsupported
database URLs, unusable listen addresses, non-finite ``--C``; an unforeseen exception is one line
with exit status 70."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from _cli_harness import CliResult, invoke
from tutela.safeload import MAX_DEPTH, JSONLimitError, YAMLLimitError, load_yaml, loads_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "chats.jsonl"
DEEP = 100_000  # levels, as in the reproducer

ALIAS_BOMB = "\n".join(
    [f"a0: &a0 [{', '.join(['x'] * 9)}]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
)  # 9 ** 9 ≈ 387 million items once expanded, 300 bytes on disk


@pytest.fixture(autouse=True)
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TUTELA_DB", f"sqlite:///{tmp_path / 'tutela.db'}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("TUTELA_PASSWORD", "TUTELA_TOTP_CODE"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve`` must refuse bad input before it would listen."""
    import uvicorn

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("uvicorn.run was reached")

    monkeypatch.setattr(uvicorn, "run", refuse)


def user_error(r: CliResult, *needles: str) -> None:
    """Exit 2, ``error: ...`` on stderr, no traceback, and each needle in the message."""
    assert r.code == 2, (r.code, r.err)
    assert "Traceback" not in r.text, r.err
    assert "internal error" not in r.err, r.err
    for needle in needles:
        assert needle.lower() in r.err.lower(), (needle, r.err)


def usage_error(r: CliResult, option: str) -> None:
    """Exit 2 from Click's own checks (an option's range), no traceback."""
    assert r.code == 2, (r.code, r.err)
    assert "Traceback" not in r.text and option in r.err, r.err


@pytest.fixture
def deep_yaml(tmp_path: Path) -> Path:
    p = tmp_path / "deep.yaml"
    p.write_text("[" * DEEP + "]" * DEEP + "\n", "utf-8")
    return p


@pytest.fixture
def deep_map_yaml(tmp_path: Path) -> Path:
    p = tmp_path / "deep_map.yaml"
    p.write_text("a: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n", "utf-8")
    return p


@pytest.fixture
def bomb_yaml(tmp_path: Path) -> Path:
    p = tmp_path / "bomb.yaml"
    p.write_text(ALIAS_BOMB + "\n", "utf-8")
    return p


@pytest.fixture
def deep_json(tmp_path: Path) -> Path:
    p = tmp_path / "deep.json"
    p.write_text("[" * DEEP + "]" * DEEP, "utf-8")
    return p


# -- the bounded loaders --------------------------------------------------------------------------
def test_load_yaml_refuses_depth_aliases_and_cycles() -> None:
    nested = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(YAMLLimitError, match="nested deeper") as err:
        load_yaml(nested)
    assert isinstance(err.value, yaml.YAMLError) and err.value.problem_mark is not None
    with pytest.raises(YAMLLimitError, match="expands to more than"):
        load_yaml(ALIAS_BOMB)
    with pytest.raises(YAMLLimitError, match="refers to its own anchor"):
        load_yaml("a: &a [*a]\n")
    wide = "\n".join(f"k{i}: &k{i} [[[1]]]" for i in range(40)) + "\nall: [*k1, *k2, *k3]\n"
    assert load_yaml(wide)["all"] == [[[[1]]]] * 3  # ordinary anchors still work
    assert load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert load_yaml("") is None and load_yaml("# only a comment\n") is None


def test_load_yaml_counts_alias_depth() -> None:
    half = MAX_DEPTH // 2 + 1
    doc = "a: &a " + "[" * half + "]" * half + "\nb: " + "[" * half + "*a" + "]" * half + "\n"
    with pytest.raises(YAMLLimitError, match="once aliases are expanded"):
        load_yaml(doc)


def test_loads_json_refuses_depth_with_position() -> None:
    with pytest.raises(JSONLimitError, match="nested deeper") as err:
        loads_json('{"a": "[[[", "b":\n' + "[" * DEEP + "]" * DEEP + "}")
    assert isinstance(err.value, json.JSONDecodeError)
    assert (err.value.lineno, err.value.colno) == (2, MAX_DEPTH)  # "{" counts as the first level
    with pytest.raises(JSONLimitError):
        loads_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))  # parses, still too deep
    assert loads_json('{"a": ["[", {"b": "]]]"}]}') == {"a": ["[", {"b": "]]]"}]}


# -- nested configuration, policy, persona, scenario files -----------------------------------------
@pytest.mark.parametrize("kind", ["deep_yaml", "deep_map_yaml", "bomb_yaml"])
def test_analyze_config_nested_or_bomb(kind: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(kind)
    r = invoke(["analyze", str(EXAMPLE), "--config", str(path)])
    user_error(r, str(path), "nested deeper" if kind != "bomb_yaml" else "expands to more than")


@pytest.mark.parametrize("kind", ["deep_yaml", "deep_map_yaml", "bomb_yaml"])
def test_run_config_nested_or_bomb(kind: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(kind)
    user_error(invoke(["run", "--config", str(path)]), str(path))


def _run_config(tmp_path: Path, **overrides: object) -> Path:
    cfg: dict[str, object] = {
        "operation": {
            "organisation": "Test NGO",
            "jurisdiction": "NL",
            "legal_basis": "test",
            "authorisation_ref": "T-1",
            "officer": "Tester",
            "starts_at": "2020-01-01T00:00:00Z",
        },
        "personas": [
            {
                "persona": "nl-daan",
                "connectors": [{"kind": "irc", "host": "127.0.0.1", "port": 1, "nick": "daan13"}],
            }
        ],
    }
    cfg.update(overrides)
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(cfg), "utf-8")
    return p


def test_run_persona_file_nested(tmp_path: Path, deep_yaml: Path) -> None:
    persona = [{"persona": str(deep_yaml), "connectors": [{"kind": "irc", "host": "127.0.0.1"}]}]
    r = invoke(["run", "--config", str(_run_config(tmp_path, personas=persona))])
    user_error(r, str(deep_yaml), "nested deeper")


def test_run_policy_file_nested(tmp_path: Path, bomb_yaml: Path) -> None:
    r = invoke(["run", "--config", str(_run_config(tmp_path, policy=str(bomb_yaml)))])
    user_error(r, str(bomb_yaml), "expands to more than")


@pytest.mark.parametrize("port", [0, 70000, "abc", True, 10**30])
def test_run_connector_port_checked_when_loading(tmp_path: Path, port: object) -> None:
    persona = [{"persona": "nl-daan",
                "connectors": [{"kind": "irc", "host": "127.0.0.1", "port": port}]}]  # fmt: skip
    r = invoke(["run", "--config", str(_run_config(tmp_path, personas=persona))])
    user_error(r, "port must be an integer from 1 to 65535")


def test_demo_scenario_nested(deep_json: Path) -> None:
    user_error(invoke(["demo", "--scenario", str(deep_json)]), str(deep_json), "nested deeper")


def test_evaluate_live_scenario_nested(deep_json: Path) -> None:
    r = invoke(["evaluate", str(deep_json), "--task", "live", "--json"])
    user_error(r, str(deep_json), "nested deeper")


def test_analyze_jsonl_nested(tmp_path: Path) -> None:
    chat = tmp_path / "deep.jsonl"
    chat.write_text('{"conversation": "c", "author": "a", "text": ' + "[" * DEEP + "]" * DEEP
                    + "}\n", "utf-8")  # fmt: skip
    user_error(invoke(["analyze", str(chat)]), f"{chat}:1", "nested too deeply")


# -- huge numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("days", [str(10**30), "1000000", "999999999", "36501"])
def test_retention_days_out_of_range(days: str) -> None:
    usage_error(invoke(["cases", "retention", "--days", days, "--dry-run"]), "--days")


def test_retention_days_at_the_limit_works() -> None:
    r = invoke(["cases", "retention", "--days", "36500", "--dry-run", "--json"])
    assert r.code == 0, r.err
    assert json.loads(r.out)["days"] == 36500


def test_queue_limit_out_of_range() -> None:
    usage_error(invoke(["cases", "queue", "--limit", str(10**30)]), "--limit")


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_operation_time_out_of_range_in_utc(start: str) -> None:
    r = invoke(["operations", "add", "--organisation", "o", "--jurisdiction", "NL",
                "--legal-basis", "l", "--authorisation-ref", "a", "--officer", "x",
                "--start", start])  # fmt: skip
    user_error(r, "--start", "out of range")


# -- --out in the way -----------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_train_out_refused_before_training(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    target = tmp_path if where == "folder" else blocker / "m.skops"
    r = invoke(["train", str(EXAMPLE), "--out", str(target), "--folds", "0"])
    user_error(r, "--out")
    assert blocker.read_text("utf-8") == "x"


def test_train_out_in_missing_folders_is_created(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "m.skops"
    r = invoke(["train", str(EXAMPLE), "--out", str(target), "--folds", "0", "--json"])
    assert r.code == 0, r.err
    assert target.is_file() and target.with_name("m.provenance.json").is_file()


def test_research_export_out_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    r = invoke(["research", "export", "--out", str(blocker / "x"), "--key-file",
                str(tmp_path / "key")])  # fmt: skip
    user_error(r, "--out", "not a folder")


# -- --C -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("c", ["nan", "inf", "-inf", "1e400", "-1", "0"])
def test_train_c_must_be_positive_and_finite(tmp_path: Path, c: str) -> None:
    out = tmp_path / "m.skops"
    r = invoke(["train", str(EXAMPLE), "--out", str(out), "--folds", "0", "--C", c])
    user_error(r, "--C must be a positive finite number")
    assert not out.exists()


# -- database URLs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["cases", "queue"],
        ["operations", "list"],
        ["research", "stats"],
        ["demo", "--json"],
        ["serve"],  # on a free port: refused for the URL before it listens
    ],
)
def test_unsupported_database_url(argv: list[str], tmp_path: Path) -> None:
    if argv[0] == "serve":
        argv = ["serve", "--port", str(_free_port())]
    if argv[0] == "research":
        argv = [*argv, "--key-file", str(tmp_path / "key")]
    r = invoke([*argv, "--db", "mysql://user:secret@db.example/tutela"])
    user_error(r, "unsupported database 'mysql'")
    assert "secret" not in r.err  # the password is never shown


def test_missing_driver_and_unreachable_database(tmp_path: Path) -> None:
    r = invoke(["cases", "queue", "--db", "postgresql+pg8000://u:secret@127.0.0.1/x"])
    user_error(r, "driver is not installed", "pg8000")
    assert "secret" not in r.err
    folder = tmp_path / "a-folder"
    folder.mkdir()
    user_error(invoke(["cases", "queue", "--db", f"sqlite:///{folder}"]), "cannot open database")


# -- serve ----------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = invoke(["serve", "--port", str(port)])
    user_error(r, f"cannot listen on 127.0.0.1 port {port}")


@pytest.mark.parametrize("host", ["not a host!!", "[/]", "a" * 70, "[bold]x"])
def test_serve_bad_host(host: str) -> None:
    user_error(invoke(["serve", "--host", host, "--port", str(_free_port())]), "--host")


@pytest.mark.parametrize("port", ["0", "70000", "-1", "abc", str(10**30)])
def test_serve_bad_port(port: str) -> None:
    usage_error(invoke(["serve", "--port", port]), "--port")


# -- the last-resort handler ---------------------------------------------------------------------
def test_unexpected_exception_is_one_line_with_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    from tutela.cases import workflow

    def boom(*a: object, **k: object) -> None:
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(workflow.CaseWorkflow, "review_queue", boom)
    r = invoke(["cases", "queue"])
    assert r.code == 70
    assert r.err == (
        "error: internal error (ZeroDivisionError); run with --verbose for the traceback\n"
    )
    r = invoke(["--verbose", "cases", "queue"])
    assert r.code == 70
    assert "Traceback" in r.err and "simulated bug" in r.err


def test_no_traceback_in_a_real_process(tmp_path: Path, deep_yaml: Path) -> None:
    env = {"TUTELA_DB": f"sqlite:///{tmp_path / 'p.db'}", "XDG_DATA_HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-m", "tutela", "run", "--config", str(deep_yaml)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


NOT_UTF8 = [["users", "deactivate", "\udc80"], ["operations", "add", "--organisation", "caf\udce9"]]


@pytest.mark.parametrize("argv", NOT_UTF8)
def test_argument_that_is_not_utf8(argv: list[str]) -> None:
    # bytes that are not UTF-8 arrive as lone surrogates (PEP 383): SQLite and stdout refuse them
    user_error(invoke(argv), "not valid UTF-8", "\\udc")


def test_export_case_id_out_of_range(tmp_path) -> None:
    """A case id beyond the database's integer range is a usage error, not an OverflowError."""
    for case in ("1000000000000000000000000000000", "0", "-3"):
        r = invoke(["export", case, "--out", str(tmp_path / "x.zip")])
        assert r.code == 2 and "Traceback" not in r.text, (case, r.text)
