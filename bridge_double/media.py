"""Files: what the media sends take, what WAHA stores of received media and how it serves it.

Modelled on WAHA 2026.2.1 (``src/...`` paths):

- ``core/media/MediaManager.ts``: a received file is saved as ``<session>/<id>.<ext>``, the
  extension from the ``mime-types`` package (``mime.extension``: the first extension
  ``mime-db`` lists, ``false`` for an unknown type); ``media`` starts as ``{url: null,
  filename: null, mimetype: null}``; ``filename`` and ``mimetype`` come from the engine, then
  the storage's ``{url}`` is merged in. A failed download leaves ``url`` null and puts the
  thrown Error in ``error`` (``error.details`` = the stack; ``message`` is not enumerable,
  so JSON shows only ``details`` and whatever the engine's error adds).
- ``core/media/local/*``: files are served by ``ServeStaticModule`` under ``/api/files``
  (``express.static``: Content-Type from the file's extension), behind the same
  ``ApiKeyAuthMiddleware`` as the rest of ``/api`` (header ``X-Api-Key``; any valid key, no
  session scope check). An unknown file falls to the module's render handler: 404.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
import mimetypes
from typing import Any, Final

from . import errors

# mime-db's first extension per type (what ``mime.extension`` answers), for the usual ones.
_EXTENSIONS: Final = {
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "audio/ogg": "oga",
    "audio/mpeg": "mpga",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/wav": "wav",
    "audio/webm": "weba",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/webm": "webm",
    "video/quicktime": "qt",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/octet-stream": "bin",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/plain": "txt",
    "text/csv": "csv",
    "text/vcard": "vcard",
    "application/json": "json",
}
# What ``send`` (express.static, ``mime`` 1.x) answers as Content-Type for an extension.
_TYPES: Final = {extension: kind for kind, extension in _EXTENSIONS.items()}
UNKNOWN_EXTENSION: Final = "false"
"""``mime.extension`` of an unknown type is ``false``: WAHA names the file ``<id>.false``."""

VOICE_TYPE: Final = "audio/ogg; codecs=opus"
"""``WAMimeType.VOICE`` (``core/media/WAMimeType.ts``): what a voice note (ptt) carries."""

TINY_JPEG: Final = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwc"
    "KDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAA"
    "AAAAAAAAAAD/2gAIAQEAAD8AKp//2Q=="
)
"""A 1x1 JPEG: the file of ``emit_message(has_media=True)``, and location thumbnails."""

MEDIA_KINDS: Final = ("image", "video", "audio", "voice", "document")
"""Kinds of received media: which proto message carries it."""


def base_type(mimetype: str) -> str:
    """``audio/ogg; codecs=opus`` -> ``audio/ogg`` (what ``mime-types`` looks up)."""
    return mimetype.split(";", 1)[0].strip().lower()


def extension(mimetype: str) -> str:
    """The extension WAHA gives a file of ``mimetype`` (``oga`` for a voice note)."""
    kind = base_type(mimetype)
    if kind in _EXTENSIONS:
        return _EXTENSIONS[kind]
    guessed = mimetypes.guess_extension(kind, strict=False)
    return guessed.lstrip(".") if guessed else UNKNOWN_EXTENSION


def served_type(file_name: str) -> str:
    """The Content-Type ``express.static`` answers for ``file_name`` (by its extension)."""
    ext = file_name.rpartition(".")[2].lower() if "." in file_name else ""
    kind = _TYPES.get(ext) or mimetypes.guess_type(f"x.{ext}", strict=False)[0]
    kind = kind or "application/octet-stream"
    return f"{kind}; charset=UTF-8" if kind.startswith("text/") else kind


def media_kind(mimetype: str, filename: str | None, kind: str | None = None) -> str:
    """The received media's kind: given, else by type (``audio/ogg`` opus without a name: voice)."""
    if kind is not None:
        if kind not in MEDIA_KINDS:
            raise ValueError(f"media_kind must be one of {', '.join(MEDIA_KINDS)}, got {kind!r}")
        return kind
    main = base_type(mimetype)
    if main.startswith("image/"):
        return "image"
    if main.startswith("video/"):
        return "video"
    if main.startswith("audio/"):
        return "voice" if "opus" in mimetype.lower() and filename is None else "audio"
    return "document"


def proto_content(
    kind: str, *, mimetype: str, caption: str | None, filename: str | None
) -> dict[str, Any]:
    """The proto message (camelCase, as Baileys and GOWS' JSON have it) of a file."""
    name = {"voice": "audio", "file": "document"}.get(kind, kind)
    inner: dict[str, Any] = {"mimetype": mimetype}
    if kind in {"voice", "audio"}:
        inner["ptt"] = kind == "voice"
    elif caption:
        inner["caption"] = caption
    if name == "document" and filename:
        inner["fileName"] = filename
    return {f"{name}Message": inner}


_MANAGER_JS: Final = "/app/dist/core/media/MediaManager.js"


def download_error(message: str, engine: str) -> dict[str, Any]:
    """``media.error`` after a failed download: the Error's enumerable properties as JSON.

    ``MediaManager.processMedia`` sets ``error.details`` to the stack; GOWS' gRPC error adds
    ``code`` and ``metadata``, NOWEB's Boom error ``isBoom`` / ``output``.
    """
    stack = f"Error: {message}\n    at MediaManager.fetchMedia ({_MANAGER_JS})"
    error: dict[str, Any] = {"details": stack}
    if engine == "GOWS":
        error = {"code": 2, "details": stack, "metadata": {}}
    elif engine == "NOWEB":
        error = {
            "data": None,
            "isBoom": True,
            "isServer": True,
            "output": {
                "statusCode": 500,
                "payload": {
                    "statusCode": 500,
                    "error": "Internal Server Error",
                    "message": "An internal server error occurred",
                },
                "headers": {},
            },
            "details": stack,
        }
    return error


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """The ``file`` of a media send, checked: bytes from ``data``, or a ``url`` to fetch."""

    mimetype: str
    filename: str | None
    data: bytes | None
    url: str | None


DEFAULT_TYPES: Final = {"voice": VOICE_TYPE, "video": "video/mp4"}
"""The ``mimetype`` defaults of Voice/VideoRemoteFile and Voice/VideoBinaryFile."""


def parse_file(value: object, kind: str = "file") -> OutgoingFile:
    """``file`` per the OpenAPI (Remote/BinaryFile): ``mimetype`` (voice and video have a
    default) and ``data`` (base64) or ``url``; 400 otherwise, and for ``data`` that is not
    base64."""
    if not isinstance(value, dict):
        raise errors.bad_request("file must be an object")
    mimetype = value.get("mimetype", DEFAULT_TYPES.get(kind))
    filename = value.get("filename")
    if not isinstance(mimetype, str) or not mimetype:
        raise errors.bad_request("file.mimetype must be a string")
    if filename is not None and not isinstance(filename, str):
        raise errors.bad_request("file.filename must be a string")
    data, url = value.get("data"), value.get("url")
    if data is not None and url is not None:
        raise errors.bad_request("file must have either data or url, not both")
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise errors.bad_request("file.url must be an http(s) URL")
        return OutgoingFile(mimetype, filename or None, None, url)
    if not isinstance(data, str):
        raise errors.bad_request("file must have data (base64) or url")
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise errors.bad_request("file.data must be base64 encoded") from None
    return OutgoingFile(mimetype, filename or None, decoded, None)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file the bridge serves under ``/api/files/<session>/<name>``."""

    data: bytes
    mimetype: str
