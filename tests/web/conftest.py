"""Dashboard fixtures: a store filled by ``tutela demo`` (grooming_en), users of every role, an app
and TestClients logged in as each of them."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

with warnings.catch_warnings():
    # Starlette warns that its TestClient prefers the ``httpx2`` package; plain httpx works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from browser_support import launch_chromium, serve
from web_support import PASSWORD, csrf_of

from tutela.accounts.users import UserStore
from tutela.store import open_store
from tutela.web.app import create_app
from tutela.web.services import Services
from tutela.web.settings import WebSettings

USERS = {
    "ana": "analyst",
    "ben": "analyst",
    "sue": "supervisor",
    "sam": "supervisor",
    "root": "admin",
}


@pytest.fixture(scope="session")
def demo_dir() -> Iterator[Path]:
    """A folder (named ``tutela-demo-*`` so the demo keeps its signing key beside the database)
    holding ``tutela.db`` after one run of the shipped ``grooming_en`` scenario."""
    from tutela.live.demo import load_scenario, run_demo

    folder = Path(tempfile.mkdtemp(prefix="tutela-demo-"))
    out = run_demo(load_scenario("grooming_en"), db_url=f"sqlite:///{folder / 'tutela.db'}")
    assert out["case_id"] is not None
    (folder / "case_id").write_text(str(out["case_id"]))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Web:
    app: object
    services: Services
    settings: WebSettings
    case_id: int
    folder: Path
    client: Callable[..., TestClient]
    login: Callable[..., TestClient]


def fast_users(services: Services) -> UserStore:
    users = UserStore(
        services.store,
        recorder=services.recorder,
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    services.users = users  # type: ignore[misc]  # replaces the cached default
    return users


def copy_demo(demo_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "tutela-demo-copy"
    shutil.copytree(demo_dir, folder)
    return folder


def make_settings(folder: Path, **overrides: object) -> WebSettings:
    return WebSettings(
        db_url=f"sqlite:///{folder / 'tutela.db'}",
        session_secret="s" * 64,
        signing_key_path=folder / "signing-key.pem",
        **overrides,
    )


@pytest.fixture
def make_web(demo_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Web]]:
    made: list[Services] = []

    def _make(**overrides: object) -> Web:
        folder = copy_demo(demo_dir, tmp_path / f"w{len(made)}")
        settings = make_settings(folder, **overrides)
        services = Services.from_settings(settings, store=open_store(settings.db_url))
        made.append(services)
        users = fast_users(services)
        for name, role in USERS.items():
            users.add(name, role, PASSWORD)
        app = create_app(settings, services=services)

        def client(**kw: object) -> TestClient:
            return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False, **kw)

        def login(name: str, password: str = PASSWORD) -> TestClient:
            c = client()
            r = c.get("/login")
            assert r.status_code == 200
            r = c.post(
                "/login",
                data={"name": name, "password": password, "csrf_token": csrf_of(c)},
            )
            assert r.status_code == 303, r.text
            assert r.headers["location"] in ("/queue", "/audit")
            return c

        return Web(
            app=app,
            services=services,
            settings=settings,
            case_id=int((demo_dir / "case_id").read_text()),
            folder=folder,
            client=client,
            login=login,
        )

    yield _make
    for s in made:
        s.close()


@pytest.fixture
def web(make_web: Callable[..., Web]) -> Web:
    return make_web()


@pytest.fixture
def server(web: Web) -> Iterator[str]:
    """The ``web`` fixture's dashboard served on 127.0.0.1 (its base URL), for browser tests."""
    with serve(web.app) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian Chromium for one test (skipped without it; ``tests/web/browser_support.py``)."""
    with launch_chromium() as b:
        yield b
