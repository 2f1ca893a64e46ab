"""``tutela.runtime``: the one builder; the signing-key rule and the recorders that sign with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutela.ledger import Signer, SigningKeyError
from tutela.runtime import (
    build_live,
    load_detection,
    load_signer,
    open_runtime,
    select_persona,
    signing_key_path,
)
from tutela.store import iter_checkpoints


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's ledger key, pointed into ``tmp_path``."""
    path = tmp_path / "data" / "ledger-signing-key.pem"
    monkeypatch.setattr("tutela.ledger.signing.default_key_path", lambda: path)
    return path


def _demo_url(tmp_path: Path) -> tuple[str, Path]:
    folder = tmp_path / "tutela-demo-rt"
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / 'tutela.db'}", folder / "signing-key.pem"


def test_signing_key_rule(tmp_path: Path, production: Path) -> None:
    demo_url, beside = _demo_url(tmp_path)
    plain = tmp_path / "plain" / "tutela.db"
    plain_url = f"sqlite:///{plain}"
    explicit = tmp_path / "mine.pem"
    # 1. an explicit key file wins
    assert signing_key_path(demo_url, explicit) == explicit
    # 2. the key beside a demo database
    assert signing_key_path(demo_url) == beside
    assert signing_key_path(demo_url, demo=True) == beside
    # 3. a demonstration run elsewhere: the demo key beside the file, never the production key
    assert signing_key_path(plain_url, demo=True) == plain.with_name(
        "tutela.db.demo-signing-key.pem"
    )
    # 4. otherwise the user's ledger key
    assert signing_key_path(plain_url) == production
    assert signing_key_path("postgresql+psycopg://u@h/db") == production
    # ... until a demo has run against that file: then it keeps its demo key (step 2)
    load_signer(plain_url, demo=True)
    assert signing_key_path(plain_url) == plain.with_name("tutela.db.demo-signing-key.pem")


def test_default_url_is_the_environments(
    tmp_path: Path, production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, beside = _demo_url(tmp_path)
    monkeypatch.setenv("TUTELA_DB", url)
    assert signing_key_path(None) == beside


def test_load_signer_creates_or_only_loads(tmp_path: Path, production: Path) -> None:
    url, beside = _demo_url(tmp_path)
    with pytest.raises(SigningKeyError):
        load_signer(url, create=False)
    assert not beside.exists()
    made = load_signer(url)
    assert beside.exists() and load_signer(url, create=False).fingerprint() == made.fingerprint()
    protected = tmp_path / "protected.pem"
    Signer.create(protected, passphrase="pass phrase")
    secret = tmp_path / "secret.txt"
    secret.write_text("pass phrase\n")
    with pytest.raises(SigningKeyError, match="passphrase"):
        load_signer(url, protected)
    assert load_signer(url, protected, passphrase_file=secret).fingerprint() == (
        Signer.load(protected, passphrase="pass phrase").fingerprint()
    )
    assert not production.exists()


def test_open_runtime_signs_checkpoints_with_the_rules_key(
    tmp_path: Path, production: Path
) -> None:
    url, beside = _demo_url(tmp_path)
    with open_runtime(url, checkpoint_every=2) as rt:
        assert rt.signer is not None
        rt.recorder.append_entry("review", None, {"case_id": 1, "action": "note"})
        rt.recorder.append_entry("review", None, {"case_id": 1, "action": "note"})
        fps = {c.key_fingerprint for c in iter_checkpoints(rt.store)}
    assert fps == {Signer.load(beside).fingerprint()}
    assert not production.exists()
    with open_runtime(url, signer=None) as rt:  # read-only use: no key loaded
        assert rt.signer is None


def test_an_unusable_key_leaves_no_database(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    bad.chmod(0o600)
    db = tmp_path / "never.db"
    with pytest.raises(SigningKeyError):
        open_runtime(f"sqlite:///{db}", key=bad)
    assert not db.exists()


def test_cli_recorders_sign_checkpoints(tmp_path: Path, production: Path) -> None:
    """Issue 8: the case commands' recorders had no signer, so they never signed a checkpoint."""
    from tutela.cli.cases import _recorder

    url, _ = _demo_url(tmp_path)
    rec = _recorder(url)
    try:
        assert rec.signer is not None
        assert rec.signer.fingerprint() == load_signer(url, create=False).fingerprint()
        rec.append_entry("review", None, {"case_id": 1, "action": "note"})
        assert rec.checkpoint() is not None
    finally:
        rec.store.close()
    listing = _recorder(url, sign=False)
    try:
        assert listing.signer is None
    finally:
        listing.store.close()


def test_dashboard_recorder_signs_checkpoints(tmp_path: Path, production: Path) -> None:
    """Issue 8: the dashboard's recorder had no signer; it signs with the export key now."""
    from tutela.web.services import Services
    from tutela.web.settings import WebSettings

    key = tmp_path / "dashboard-key.pem"
    settings = WebSettings(
        db_url=f"sqlite:///{tmp_path / 'web.db'}", session_secret="s" * 64, signing_key_path=key
    )
    services = Services.from_settings(settings)
    try:
        assert services.recorder.signer is not None
        assert services.signer.fingerprint() == Signer.load(key).fingerprint()
        services.recorder.append_entry("review", None, {"case_id": 1, "action": "note"})
        cp = services.recorder.checkpoint()
        assert cp is not None and cp.key_fingerprint == Signer.load(key).fingerprint()
    finally:
        services.close()
    assert not production.exists()


def test_build_live_loads_before_it_opens(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    with pytest.raises(Exception, match="nowhere"):
        build_live(f"sqlite:///{db}", policy=tmp_path / "nowhere.yaml", signer=None)
    assert not db.exists()
    detection = load_detection()
    system = build_live(f"sqlite:///{db}", detection=detection, signer=None)
    try:
        assert system.assigner.issued == 0
        assert system.detection.rule == detection.config.warning_rule

        class Engine:
            def __init__(self, **kwargs: object) -> None:
                self.kwargs = kwargs

        built = system.engine(
            Engine,
            connector="c",
            persona=select_persona(lang="en"),
            operation_id=1,
            lang="en",
        )
        assert built.kwargs["assigner"] is system.assigner
        assert built.kwargs["tables"] is detection.tables
        assert built.kwargs["lang"] == "en"
    finally:
        system.close()
