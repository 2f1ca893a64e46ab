"""Fixtures for evidence packages: a demo case (the whole live path), an evidential case built
with the Recorder, their exported packages, and an in-process ``tutela`` runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from _evidence_packages import Exported, build_case, copy_db

from tutela.evidence import export_package
from tutela.runtime import load_signer
from tutela.store import open_store


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A ``tutela demo`` database (grooming_en) in a ``tutela-demo-*`` folder and its case id.

    Falls back to a Recorder-built, non-evidential case while ``tutela.live`` is unavailable."""
    folder = tmp_path_factory.mktemp("demo") / "tutela-demo-case"
    folder.mkdir()
    try:
        from tutela.live.demo import load_scenario, run_demo
    except ImportError:  # pragma: no cover - live/ is being reworked by another helper
        _, case_id, _ = build_case(folder, evidential=False)
        return folder, case_id
    result = run_demo(load_scenario("grooming_en"), db_url=f"sqlite:///{folder / 'tutela.db'}")
    assert result["case_id"] is not None
    return folder, int(result["case_id"])


@pytest.fixture(scope="session")
def demo_package(demo_db: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory) -> Exported:
    folder = copy_db(demo_db[0], tmp_path_factory.mktemp("demo-export"))
    url = f"sqlite:///{folder / 'tutela.db'}"
    signer = load_signer(url, create=False)  # the database's own key, as ``tutela export``
    out = folder.parent / "demo-case.zip"
    with open_store(url) as store:
        export_package(store, demo_db[1], out, signer=signer, actor="analyst-a")
    return Exported(out, signer, demo_db[1], url)


@pytest.fixture(scope="session")
def evidential_package(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    folder = tmp_path_factory.mktemp("evidential") / "case-db"
    folder.mkdir()
    url, case_id, signer = build_case(folder, evidential=True)
    out = folder.parent / "evidential-case.zip"
    with open_store(url) as store:
        export_package(store, case_id, out, signer=signer, actor="officer-7")
    return Exported(out, signer, case_id, url)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``tutela ARGS...`` in-process; returns ``(exit status, stdout, stderr)``."""
    from tutela.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        out, err = capsys.readouterr()
        code = exc.value.code
        return (code if isinstance(code, int) else 1), out, err

    return run
