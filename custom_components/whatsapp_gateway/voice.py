"""Voice notes to text with a speech-to-text entity (the `stt_entity` option).

WhatsApp records voice notes as OGG/Opus. An entity that accepts OGG/Opus gets the file as
it is; any other gets it converted by Home Assistant's ffmpeg to what Assist pipelines send:
raw PCM, 16 kHz, mono, 16-bit (WAV/PCM metadata). Either way the audio streams in chunks
(from the file, or from ffmpeg's output), so memory does not grow with the note's length.

The language is the entity's first one matching Home Assistant's language, else its first.
A failed transcription gives no transcript: a warning once per kind of failure, then debug
lines. The transcript and file names (they hold phone numbers) are never logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
from typing import BinaryIO

from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from .const import LOGGER

# Audio is handed to the entity in chunks of this many bytes.
CHUNK = 32 * 1024
# The whole transcription (conversion included) must finish within this many seconds.
TRANSCRIBE_TIMEOUT = 120.0
# What Assist pipelines send: raw 16-bit PCM, 16 kHz, mono.
PCM_RATE = stt.AudioSampleRates.SAMPLERATE_16000
PCM_BITS = stt.AudioBitRates.BITRATE_16
PCM_CHANNELS = stt.AudioChannels.CHANNEL_MONO
FFMPEG_DOMAIN = "ffmpeg"

FAILURE_MISSING = "missing"
FAILURE_UNSUPPORTED = "unsupported"
FAILURE_RAISED = "raised"
FAILURE_NO_TEXT = "no_text"
FAILURE_FFMPEG = "ffmpeg"
FAILURE_TIMEOUT = "timeout"


class TranscriptionError(Exception):
    """A voice note could not be turned into text; the message says why (no content)."""

    def __init__(self, kind: str, message: str) -> None:
        """`kind` picks whether the warning was already shown."""
        super().__init__(message)
        self.kind = kind


class VoiceTranscriber:
    """Turns voice note files into text with one speech-to-text entity."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Nothing is checked before the first voice note (the entity may load later)."""
        self._hass = hass
        self.entity_id = entity_id
        self._warned: set[str] = set()

    async def async_transcribe(self, path: Path) -> str | None:
        """The text of the voice note at `path`, or None (the failure logged)."""
        try:
            async with asyncio.timeout(TRANSCRIBE_TIMEOUT):
                return await self._async_transcribe(path)
        except TranscriptionError as err:
            self._warn(err.kind, "Could not transcribe a voice note with %s: %s", err)
        except TimeoutError:
            self._warn(FAILURE_TIMEOUT, "Transcribing a voice note with %s timed out", None)
        except Exception as err:  # noqa: BLE001 - an STT entity is any integration's code
            # Only the kind: an entity's message may quote what it heard.
            self._warn(
                FAILURE_RAISED,
                "The speech-to-text entity %s failed on a voice note (%s)",
                type(err).__name__,
            )
        return None

    async def _async_transcribe(self, path: Path) -> str:
        entity = self._entity()
        if entity is None:
            raise TranscriptionError(FAILURE_MISSING, "the entity is not available")
        language = pick_language(entity.supported_languages, self._hass.config.language)
        if language is None:
            raise TranscriptionError(FAILURE_UNSUPPORTED, "the entity names no language")
        if (
            stt.AudioFormats.OGG in entity.supported_formats
            and stt.AudioCodecs.OPUS in entity.supported_codecs
        ):
            metadata = stt.SpeechMetadata(
                language=language,
                format=stt.AudioFormats.OGG,
                codec=stt.AudioCodecs.OPUS,
                bit_rate=_prefer(entity.supported_bit_rates, PCM_BITS),
                sample_rate=_prefer(entity.supported_sample_rates, PCM_RATE),
                channel=_prefer(entity.supported_channels, PCM_CHANNELS),
            )
            result = await entity.async_process_audio_stream(metadata, _file_chunks(path))
        elif (
            stt.AudioFormats.WAV in entity.supported_formats
            and stt.AudioCodecs.PCM in entity.supported_codecs
        ):
            metadata = stt.SpeechMetadata(
                language=language,
                format=stt.AudioFormats.WAV,
                codec=stt.AudioCodecs.PCM,
                bit_rate=PCM_BITS,
                sample_rate=PCM_RATE,
                channel=PCM_CHANNELS,
            )
            audio = await _PcmConversion.async_start(await self._async_ffmpeg_binary(), path)
            try:
                result = await entity.async_process_audio_stream(metadata, audio.chunks())
                await audio.async_check()
            finally:
                await audio.async_close()
        else:
            raise TranscriptionError(
                FAILURE_UNSUPPORTED, "the entity accepts neither OGG/Opus nor WAV/PCM"
            )
        text = (result.text or "").strip()
        if result.result is not stt.SpeechResultState.SUCCESS or not text:
            raise TranscriptionError(FAILURE_NO_TEXT, "the entity returned no text")
        return text

    def _entity(self) -> stt.SpeechToTextEntity | None:
        if stt.DOMAIN not in self._hass.config.components:
            return None
        return stt.async_get_speech_to_text_entity(self._hass, self.entity_id)

    async def _async_ffmpeg_binary(self) -> str:
        """Home Assistant's ffmpeg (set up here when nothing did: an after dependency)."""
        if FFMPEG_DOMAIN not in self._hass.config.components and not await async_setup_component(
            self._hass, FFMPEG_DOMAIN, {}
        ):
            raise TranscriptionError(FAILURE_FFMPEG, "Home Assistant's ffmpeg is not set up")
        from homeassistant.components.ffmpeg import get_ffmpeg_manager  # noqa: PLC0415

        return get_ffmpeg_manager(self._hass).binary

    def _warn(self, kind: str, message: str, detail: object) -> None:
        log = LOGGER.debug if kind in self._warned else LOGGER.warning
        self._warned.add(kind)
        if detail is None:
            log(message, self.entity_id)
        else:
            log(message, self.entity_id, detail)


def pick_language(supported: list[str], wanted: str) -> str | None:
    """The first supported language matching `wanted` (exactly, then by its base).

    Else the entity's first language.
    """
    if not supported:
        return None
    lowered = wanted.lower().replace("_", "-")
    for language in supported:
        if language.lower().replace("_", "-") == lowered:
            return language
    base = lowered.split("-", 1)[0]
    for language in supported:
        if language.lower().replace("_", "-").split("-", 1)[0] == base:
            return language
    return supported[0]


def _prefer[T](supported: list[T], preferred: T) -> T:
    if preferred in supported or not supported:
        return preferred
    return supported[0]


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    """The file, a chunk at a time, read off the event loop."""
    loop = asyncio.get_running_loop()
    handle: BinaryIO = await loop.run_in_executor(None, path.open, "rb")
    try:
        while chunk := await loop.run_in_executor(None, handle.read, CHUNK):
            yield chunk
    finally:
        await loop.run_in_executor(None, handle.close)


class _PcmConversion:
    """ffmpeg turning a file into raw 16 kHz mono 16-bit PCM on its stdout."""

    def __init__(self, process: asyncio.subprocess.Process, stdout: asyncio.StreamReader) -> None:
        self._process = process
        self._stdout = stdout
        self._bytes = 0
        self._ended = False

    @classmethod
    async def async_start(cls, binary: str, path: Path) -> _PcmConversion:
        """Run ffmpeg on `path`."""
        try:
            process = await asyncio.create_subprocess_exec(
                binary,
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-i",
                str(path),
                "-f",
                "s16le",
                "-ac",
                str(int(PCM_CHANNELS)),
                "-ar",
                str(int(PCM_RATE)),
                "-",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as err:
            raise TranscriptionError(
                FAILURE_FFMPEG, f"cannot run ffmpeg ({type(err).__name__})"
            ) from None
        if process.stdout is None:  # never: stdout is a pipe
            raise TranscriptionError(FAILURE_FFMPEG, "ffmpeg gave no output")
        return cls(process, process.stdout)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The converted audio as ffmpeg produces it."""
        while chunk := await self._stdout.read(CHUNK):
            self._bytes += len(chunk)
            yield chunk
        self._ended = True

    async def async_check(self) -> None:
        """Raise when ffmpeg failed or produced no audio.

        Only once its output was read to the end: an entity that stopped listening early
        has its text, and ffmpeg is ended by `async_close`.
        """
        if not self._ended:
            return
        code = await self._process.wait()
        if code != 0 or self._bytes == 0:
            raise TranscriptionError(FAILURE_FFMPEG, f"ffmpeg could not convert it (exit {code})")

    async def async_close(self) -> None:
        """End ffmpeg if it still runs."""
        if self._process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        await self._process.wait()
