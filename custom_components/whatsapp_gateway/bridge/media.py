"""Files to and from the bridge, streamed (no Home Assistant import).

A file is sent as base64 `file.data` inside the JSON body, never as a URL the bridge would
have to reach. The body is encoded from the file on disk straight into one buffer, so
sending a file holds its base64 once (4/3 of its size) and never the file's bytes as well.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
import json
import os
from pathlib import Path
from typing import Any, Literal

type MediaKind = Literal["image", "video", "voice", "document"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("image", "video", "voice", "document")
# WhatsApp plays these as voice notes without conversion.
VOICE_NOTE_TYPE = "audio/ogg; codecs=opus"
# A multiple of 3, so chunks encode to base64 without padding in between.
READ_CHUNK = 3 * 64 * 1024


def main_type(content_type: str | None) -> str | None:
    """The bare type of a content type (`image/jpeg` of `Image/JPEG; q=1`); None if empty."""
    return (content_type or "").split(";", 1)[0].strip().lower() or None


def kind_for(content_type: str | None) -> MediaKind:
    """What WhatsApp shows a file of this content type as: picture, video, voice or document."""
    main = main_type(content_type) or ""
    if main in ("image/jpeg", "image/png", "image/webp"):
        return "image"
    if main.startswith("video/"):
        return "video"
    if main.startswith("audio/"):
        return "voice"
    return "document"


def is_voice_note(content_type: str | None) -> bool:
    """Whether a received file is a voice note (WhatsApp records them as OGG/Opus)."""
    return main_type(content_type) in ("audio/ogg", "audio/opus")


@dataclass(frozen=True, slots=True)
class JsonFileBody:
    """A JSON object whose `file.data` is a file on disk, base64-encoded."""

    fields: dict[str, Any]
    file_fields: dict[str, Any]
    path: Path

    def _parts(self) -> tuple[bytes, bytes]:
        # `{"a": 1}` minus its closing brace, then the next key: the data string stays open.
        file_head = json.dumps(self.file_fields)[:-1] + (", " if self.file_fields else "")
        head = json.dumps(self.fields)[:-1] + (", " if self.fields else "")
        head += '"file": ' + file_head + '"data": "'
        return head.encode(), b'"}}'

    def encode(self) -> bytearray:
        """The whole body (blocking: run it in an executor).

        Encoded chunk by chunk into one buffer of the exact size, so building it holds the
        body once (4/3 of the file) and never the file itself. Sent as one buffer, the body
        reaches the bridge whole even when the bridge answers early (an error) or the call is
        cancelled halfway; a streamed body could leave a connection half-written.
        """
        head, tail = self._parts()
        size = os.path.getsize(self.path)
        body = bytearray(len(head) + 4 * ((size + 2) // 3) + len(tail))
        body[: len(head)] = head
        position = len(head)
        with self.path.open("rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                encoded = base64.b64encode(chunk)
                body[position : position + len(encoded)] = encoded
                position += len(encoded)
        body[position:] = tail
        return body
