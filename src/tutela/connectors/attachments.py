"""Media metadata from what a contact sent: links and out-of-band data, never the bytes.

Hard rule: media from contacts is never downloaded, stored or rendered. These helpers only look at
the URL text (and a declared MIME type, when the platform gives one) to produce
:class:`tutela.domain.Attachment` metadata.
"""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import urlsplit

from tutela.domain import Attachment

__all__ = ["attachment_from_url", "attachments_in_text", "media_kind"]

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_EXTRA_TYPES = {
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".m4a": "audio/mp4",
    ".opus": "audio/ogg",
    ".oga": "audio/ogg",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
}


def _guess_mime(url: str) -> str | None:
    path = urlsplit(url).path.lower()
    for ext, mime in _EXTRA_TYPES.items():
        if path.endswith(ext):
            return mime
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed


def media_kind(mime: str | None) -> str:
    """``"image"``, ``"video"``, ``"audio"`` from the MIME major type, else ``"file"``."""
    major = (mime or "").split("/", 1)[0].lower()
    return major if major in {"image", "video", "audio"} else "file"


def attachment_from_url(
    url: str, *, mime: str | None = None, size: int | None = None
) -> Attachment:
    """Metadata for a media item announced by URL (e.g. XEP-0066 out-of-band data).

    ``mime`` is the platform's declared type; without it the type is guessed from the URL's file
    extension. Nothing is fetched.
    """
    mime = mime or _guess_mime(url)
    return Attachment(kind=media_kind(mime), url=url, mime=mime, size=size)


def attachments_in_text(text: str) -> tuple[Attachment, ...]:
    """Attachments for the bare ``http(s)`` URLs in ``text`` that point at media files.

    Only URLs whose extension names an image, video or audio type count; other links are plain
    text. Trailing punctuation (``.,;:!?)``) is not part of a URL. Order kept, duplicates dropped.
    """
    seen: dict[str, Attachment] = {}
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)]}")
        mime = _guess_mime(url)
        if media_kind(mime) != "file" and url not in seen:
            seen[url] = Attachment(kind=media_kind(mime), url=url, mime=mime)
    return tuple(seen.values())
