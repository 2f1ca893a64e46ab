"""Saving and loading models with skops (never pickle: a model file can come from outside).

``load_model`` refuses any type in the file that is not on :data:`TRUSTED_TYPES` (raises
:class:`~tutela.errors.ModelError`) and warns when the file was written by another Tutela version
(as scikit-learn's ``InconsistentVersionWarning`` does).
"""

from __future__ import annotations

import os
import tempfile
import warnings
import zipfile
from importlib import resources
from pathlib import Path

import skops.io as sio

from tutela import __version__
from tutela.detect.model import GroomingClassifier
from tutela.errors import ModelError

__all__ = [
    "DEFAULT_MODEL",
    "TRUSTED_TYPES",
    "ModelVersionWarning",
    "default_model_path",
    "load_model",
    "save_model",
]

DEFAULT_MODEL = "default.skops"

#: Types a Tutela model file may contain beyond skops' own defaults.
TRUSTED_TYPES: tuple[str, ...] = (
    "tutela.detect.model.GroomingClassifier",
    "sklearn.preprocessing._data.StandardScaler",
    "numpy.dtype",
    "builtins.float",
    "builtins.int",
)


class ModelVersionWarning(UserWarning):
    """The model file was written by a different Tutela version."""


def default_model_path() -> Path:
    """Path of the model shipped inside the package (``tutela/detect/models/default.skops``)."""
    return Path(str(resources.files("tutela.detect") / "models" / DEFAULT_MODEL))


def save_model(model: GroomingClassifier, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` atomically (temp file + rename); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.tutela_version_ = __version__
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        sio.dump(model, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_model(path: str | os.PathLike[str] | None = None) -> GroomingClassifier:
    """Load a model written by :func:`save_model`; ``None`` loads the shipped default.

    Raises
    ------
    ModelError
        The file is missing, is not a skops file, or holds a type outside :data:`TRUSTED_TYPES`.
    """
    p = Path(path) if path is not None else default_model_path()
    if not p.is_file():
        raise ModelError(f"model file not found: {p}")
    try:
        untrusted = sio.get_untrusted_types(file=p)
    except Exception as e:  # skops raises several types for a non-skops file
        raise ModelError(f"{p}: not a readable skops model file ({e})") from e
    refused = [t for t in untrusted if t not in TRUSTED_TYPES]
    if refused:
        raise ModelError(f"{p}: refusing untrusted types in model file: {', '.join(refused)}")
    try:
        model = sio.load(p, trusted=list(untrusted))
    except Exception as e:
        raise ModelError(f"{p}: could not load model ({e})") from e
    if not isinstance(model, GroomingClassifier):
        raise ModelError(f"{p}: holds {type(model).__name__}, not a GroomingClassifier")
    saved = getattr(model, "tutela_version_", None)
    if saved != __version__:
        warnings.warn(
            f"{p} was written by Tutela {saved}, this is {__version__}; "
            "re-train if scores look off",
            ModelVersionWarning,
            stacklevel=2,
        )
    return model
