"""Files to and from the bridge, streamed (no Home Assistant import).

A file is sent as base64 `file.data` inside the JSON body, never as a URL the bridge would
have to reach. The body is produced in chunks from the file on disk, so sending a file holds
only a chunk of it in memory; the exact length is known up front (`Content-Length`).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
import json
import os
from pathlib import Path
from typing import Any, BinaryIO, Literal

type MediaKind = Literal["image", "video", "voice", "document"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("image", "video", "voice", "document")
# WhatsApp plays these as voice notes without conversion.
VOICE_NOTE_TYPE = "audio/ogg; codecs=opus"
# A multiple of 3, so chunks encode to base64 without padding in between.
READ_CHUNK = 3 * 64 * 1024


def kind_for(content_type: str | None) -> MediaKind:
    """What WhatsApp shows a file of this content type as: picture, video, voice or document."""
    main = (content_type or "").split(";", 1)[0].strip().lower()
    if main in ("image/jpeg", "image/png", "image/webp"):
        return "image"
    if main.startswith("video/"):
        return "video"
    if main.startswith("audio/"):
        return "voice"
    return "document"


def is_voice_note(content_type: str | None) -> bool:
    """Whether a received file is a voice note (WhatsApp records them as OGG/Opus)."""
    main = (content_type or "").split(";", 1)[0].strip().lower()
    return main in ("audio/ogg", "audio/opus")


@dataclass(frozen=True, slots=True)
class JsonFileBody:
    """A JSON object whose `file.data` is a file on disk, base64-encoded as it streams."""

    fields: dict[str, Any]
    file_fields: dict[str, Any]
    path: Path

    def _parts(self) -> tuple[bytes, bytes]:
        # `{"a": 1}` minus its closing brace, then the next key: the data string stays open.
        file_head = json.dumps(self.file_fields)[:-1] + (", " if self.file_fields else "")
        head = json.dumps(self.fields)[:-1] + (", " if self.fields else "")
        head += '"file": ' + file_head + '"data": "'
        return head.encode(), b'"}}'

    def size(self) -> int:
        """The body's length in bytes (blocking: reads the file's size)."""
        head, tail = self._parts()
        return len(head) + 4 * ((os.path.getsize(self.path) + 2) // 3) + len(tail)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, a chunk at a time; the file is read off the event loop."""
        loop = asyncio.get_running_loop()
        head, tail = self._parts()
        yield head
        handle: BinaryIO = await loop.run_in_executor(None, self.path.open, "rb")
        try:
            while chunk := await loop.run_in_executor(None, handle.read, READ_CHUNK):
                yield base64.b64encode(chunk)
        finally:
            await loop.run_in_executor(None, handle.close)
        yield tail
