"""Every ```python block of docs/api.md runs: in order, in one namespace, from the repository
root (its relative paths), writing only into temporary folders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def blocks() -> list[str]:
    return _BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_doc_has_the_promised_examples() -> None:
    code = "\n".join(blocks())
    for name in (
        "analyze(",
        "IncrementalScorer(",
        "cross_val_score(",
        "make_pipeline(",
        "get_params()",
        "predict_proba(",
        "verify_package(",
        "tutela.__version__",
    ):
        assert name in code, name


def test_every_python_block_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # tempfile.mkdtemp() in the examples
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace: dict[str, object] = {"__name__": "docs_api"}
    found = blocks()
    assert len(found) >= 5
    for n, code in enumerate(found, start=1):
        try:
            exec(compile(code, f"{DOC}:block{n}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the failure message
            pytest.fail(f"docs/api.md python block {n} failed: {type(e).__name__}: {e}")
    out = capsys.readouterr().out
    assert "refused:" in out
    assert "3-fold ROC AUC" in out
