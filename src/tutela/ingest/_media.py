"""The kind of a media item (``image``/``video``/``audio``/``file``) from its declared MIME type or
its file name. Metadata only: no reader opens, fetches or hashes a media file (hard rule 2).
"""

from __future__ import annotations

from typing import Any

__all__ = ["declared_size", "kind_from_mime", "kind_from_name"]

_EXTENSIONS = {
    "image": "apng avif bmp gif heic heif jpeg jpg png svg tif tiff webp",
    "video": "3gp avi m4v mkv mov mp4 mpeg mpg webm wmv",
    "audio": "aac amr flac m4a mp3 oga ogg opus wav weba wma",
}
_KIND_BY_EXT = {ext: kind for kind, exts in _EXTENSIONS.items() for ext in exts.split()}


def kind_from_mime(mime: str | None) -> str | None:
    """``"image/png"`` -> ``"image"``; ``video/``, ``audio/`` likewise; anything else ``None``."""
    if not mime:
        return None
    top = mime.split("/", 1)[0].strip().lower()
    return top if top in ("image", "video", "audio") else None


def kind_from_name(name: str | None) -> str:
    """Kind from a file name's (or URL path's) extension; ``"file"`` when unknown."""
    if not name:
        return "file"
    base = name.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    _, dot, ext = base.rpartition(".")
    return _KIND_BY_EXT.get(ext.lower(), "file") if dot else "file"


def declared_size(value: Any) -> int | None:
    """A declared byte size; anything but a non-negative integer is ignored (metadata only)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
