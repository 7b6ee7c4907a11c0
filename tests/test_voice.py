"""Voice notes to text: a real OGG/Opus note, Home Assistant's ffmpeg, test STT entities.

The note is made in the test with a static ffmpeg (`imageio-ffmpeg`), which Home Assistant's
`ffmpeg` component is set up to use. One test entity accepts only WAV/PCM (the note is
converted, as Assist pipelines send audio), another takes OGG/Opus as it is; each checks it
received real audio before answering with a fixed text.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
import logging
from pathlib import Path
import struct
import subprocess
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import ffmpeg as ha_ffmpeg, stt
from homeassistant.components.stt.const import DATA_COMPONENT
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
import imageio_ffmpeg
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway import voice
from custom_components.whatsapp_gateway.const import (
    CONF_CONVERSATION_AGENT,
    CONF_DOWNLOAD_MEDIA,
    CONF_STT_ENTITY,
    EVENT_MESSAGE_RECEIVED,
)
from custom_components.whatsapp_gateway.voice import pick_language

from .conftest import SESSION
from .helpers import advance, settle, setup_connected, unload, wait_for
from .test_assist import StubAgent

pytestmark = pytest.mark.usefixtures("socket_enabled")

BOB = "4917612345678@c.us"
LOGGER_NAME = "custom_components.whatsapp_gateway"
VOICE_TYPE = "audio/ogg; codecs=opus"
SAID = "turn on the kitchen light"
# ffmpeg and the executor run in real time: let the loop spin meanwhile.
ROUNDS = 2_000_000
WAV_ENTITY = "stt.wav_only"
OGG_ENTITY = "stt.ogg_opus"


def record_note(tmp_path_factory: pytest.TempPathFactory, seconds: int) -> bytes:
    """`seconds` of a 440 Hz tone, recorded the way WhatsApp records: OGG/Opus."""
    path = tmp_path_factory.mktemp("voice") / "note.ogg"
    subprocess.run(  # noqa: S603 - the static ffmpeg of the test requirements
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:a",
            "libopus",
            "-ar",
            "16000",
            "-ac",
            "1",
            str(path),
        ],
        check=True,
    )
    data = path.read_bytes()
    assert data.startswith(b"OggS")
    assert b"OpusHead" in data
    return data


@pytest.fixture(scope="module")
def voice_note(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of a tone."""
    return record_note(tmp_path_factory, 1)


@pytest.fixture(scope="module")
def long_voice_note(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Ten seconds: more converted audio than a pipe holds, so ffmpeg waits to be read."""
    return record_note(tmp_path_factory, 10)


class TestSTT(stt.SpeechToTextEntity):
    """Answers `SAID` once it has real audio of its format; `fail` makes it raise."""

    __test__ = False

    def __init__(
        self,
        entity_id: str,
        *,
        ogg: bool,
        languages: list[str],
        codecs: list[stt.AudioCodecs] | None = None,
        sample_rates: list[stt.AudioSampleRates] | None = None,
        channels: list[stt.AudioChannels] | None = None,
    ) -> None:
        self.entity_id = entity_id
        self._attr_name = entity_id
        self._attr_unique_id = entity_id
        self._ogg = ogg
        self._languages = languages
        self._codecs = codecs
        self._sample_rates = sample_rates or [stt.AudioSampleRates.SAMPLERATE_16000]
        self._channels = channels or [stt.AudioChannels.CHANNEL_MONO]
        self.calls: list[tuple[stt.SpeechMetadata, bytes, int]] = []
        self.fail = False
        # `hang`: it never answers; `text`: what it answers; `first_chunk_only`: it stops
        # listening after the first chunk (and answers).
        self.hang = False
        self.text = SAID
        self.first_chunk_only = False
        self.started = 0

    @property
    def supported_languages(self) -> list[str]:
        return self._languages

    @property
    def supported_formats(self) -> list[stt.AudioFormats]:
        return [stt.AudioFormats.OGG if self._ogg else stt.AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        if self._codecs is not None:
            return self._codecs
        return [stt.AudioCodecs.OPUS if self._ogg else stt.AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        return [stt.AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        return self._sample_rates

    @property
    def supported_channels(self) -> list[stt.AudioChannels]:
        return self._channels

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        self.started += 1
        if self.hang:
            await asyncio.Event().wait()
        if self.first_chunk_only:
            first = await anext(aiter(stream), b"")
            self.calls.append((metadata, first, 1))
            return stt.SpeechResult(self.text, stt.SpeechResultState.SUCCESS)
        chunks = [chunk async for chunk in stream]
        audio = b"".join(chunks)
        self.calls.append((metadata, audio, len(chunks)))
        if self.fail:
            raise RuntimeError(f"engine broke, heard {len(audio)} bytes")
        if not self.check_metadata(metadata) or not self._real_audio(audio):
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        return stt.SpeechResult(self.text, stt.SpeechResultState.SUCCESS)

    def _real_audio(self, audio: bytes) -> bool:
        if self._ogg:
            return audio.startswith(b"OggS") and b"OpusHead" in audio
        # About one second of 16 kHz 16-bit mono PCM, and a tone rather than silence.
        if not 28_000 <= len(audio) <= 36_000 or len(audio) % 2:
            return False
        samples = struct.unpack(f"<{len(audio) // 2}h", audio)
        return max(abs(sample) for sample in samples) > 1000


@pytest.fixture
def ffmpeg_bin() -> str | None:
    """The binary Home Assistant's ffmpeg is set up with (None: not set up)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture
async def entities(
    hass: HomeAssistant, tmp_path: Path, ffmpeg_bin: str | None
) -> dict[str, TestSTT]:
    """Home Assistant's ffmpeg (the static one), media folder and the two STT entities."""
    media = tmp_path / "media"
    media.mkdir()
    hass.config.media_dirs = {"local": str(media)}
    hass.config.language = "de"
    if ffmpeg_bin is not None:
        assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {"ffmpeg_bin": ffmpeg_bin}})
    assert await async_setup_component(hass, "stt", {})
    made = {
        WAV_ENTITY: TestSTT(WAV_ENTITY, ogg=False, languages=["en-US", "de-DE"]),
        OGG_ENTITY: TestSTT(OGG_ENTITY, ogg=True, languages=["fr-FR"]),
    }
    await hass.data[DATA_COMPONENT].async_add_entities(list(made.values()))
    return made


async def voice_event(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    events: list[Event[dict[str, Any]]],
    note: bytes,
    count: int = 1,
) -> dict[str, Any]:
    await bridge.emit_message(SESSION, chat_id=BOB, body="", media=note, mimetype=VOICE_TYPE)
    await wait_for(lambda: len(events) >= count, rounds=ROUNDS)
    await settle(hass)
    assert len(events) == count
    return dict(events[-1].data)


async def test_a_voice_note_is_converted_for_a_pcm_entity_and_transcribed(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: WAV_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    data = await voice_event(hass, bridge, events, voice_note)
    assert data["media_error"] is None
    assert data["media"]["content_type"].startswith("audio/ogg")
    assert data["media"]["transcript"] == SAID
    assert data["text"] == ""
    assert Path(data["media"]["path"]).read_bytes() == voice_note
    [(metadata, _audio, chunks)] = entities[WAV_ENTITY].calls
    assert metadata == stt.SpeechMetadata(
        language="de-DE",
        format=stt.AudioFormats.WAV,
        codec=stt.AudioCodecs.PCM,
        bit_rate=stt.AudioBitRates.BITRATE_16,
        sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
        channel=stt.AudioChannels.CHANNEL_MONO,
    )
    assert chunks >= 1
    await unload(hass, config_entry)


async def test_an_ogg_opus_entity_gets_the_note_as_it_is(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: OGG_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    data = await voice_event(hass, bridge, events, voice_note)
    assert data["media"]["transcript"] == SAID
    [(metadata, audio, _chunks)] = entities[OGG_ENTITY].calls
    assert audio == voice_note
    # No language of Home Assistant's (de): the entity's first.
    assert (metadata.language, metadata.format, metadata.codec) == (
        "fr-FR",
        stt.AudioFormats.OGG,
        stt.AudioCodecs.OPUS,
    )
    # A photo is no voice note; without the option nothing is transcribed.
    await bridge.emit_message(SESSION, chat_id=BOB, body="", has_media=True)
    await wait_for(lambda: len(events) == 2, rounds=ROUNDS)
    await settle(hass)
    assert events[-1].data["media"]["transcript"] is None
    assert len(entities[OGG_ENTITY].calls) == 1
    await unload(hass, config_entry)


async def test_a_voice_note_is_answered_like_a_text(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
) -> None:
    from homeassistant.components import conversation

    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    agent_entry = MockConfigEntry(domain="test", title="Stub agent")
    agent_entry.add_to_hass(hass)
    agent = StubAgent()
    conversation.async_set_agent(hass, agent_entry, agent)
    hass.config_entries.async_update_entry(
        config_entry,
        options={CONF_STT_ENTITY: WAV_ENTITY, CONF_CONVERSATION_AGENT: agent_entry.entry_id},
    )
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    data = await voice_event(hass, bridge, events, voice_note)
    sent = bridge.session(SESSION).sent
    await wait_for(lambda: len(sent) == 1, rounds=ROUNDS)
    assert agent.texts == [SAID]
    assert sent[0]["text"] == f"re: {SAID}"
    assert sent[0]["reply_to"] == data["message_id"]
    # A voice note without a transcript (the entity fails) is not answered.
    entities[WAV_ENTITY].fail = True
    await voice_event(hass, bridge, events, voice_note, 2)
    await settle(hass)
    assert agent.texts == [SAID]
    await unload(hass, config_entry)


async def test_a_failed_transcription_warns_once_and_never_logs_the_text(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entities[WAV_ENTITY].fail = True
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: WAV_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    first = await voice_event(hass, bridge, events, voice_note)
    second = await voice_event(hass, bridge, events, voice_note, 2)
    assert first["media"]["transcript"] is None
    assert second["media"]["transcript"] is None
    assert first["media_error"] is None
    ours = [r for r in caplog.records if r.name == LOGGER_NAME]
    warnings = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "RuntimeError" in warnings[0]
    # Working again: the text comes, and it is not logged either.
    entities[WAV_ENTITY].fail = False
    third = await voice_event(hass, bridge, events, voice_note, 3)
    assert third["media"]["transcript"] == SAID
    for record in caplog.records:
        if record.name.startswith(LOGGER_NAME):
            text = record.getMessage()
            assert SAID not in text
            assert "heard" not in text
            assert "4917612345678" not in text
    await unload(hass, config_entry)


async def test_a_missing_entity_or_download_off_gives_no_transcript(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: "stt.gone"})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    data = await voice_event(hass, bridge, events, voice_note)
    assert data["media"]["transcript"] is None
    assert data["media_error"] is None
    await unload(hass, config_entry)
    hass.config_entries.async_update_entry(
        config_entry, options={CONF_STT_ENTITY: WAV_ENTITY, CONF_DOWNLOAD_MEDIA: False}
    )
    await setup_connected(hass, config_entry)
    data = await voice_event(hass, bridge, events, voice_note, 2)
    assert data["media"] is None
    assert entities[WAV_ENTITY].calls == []
    await unload(hass, config_entry)


def test_the_language_follows_home_assistant() -> None:
    assert pick_language(["en-US", "de-DE"], "de") == "de-DE"
    assert pick_language(["en", "de"], "de-CH") == "de"
    assert pick_language(["en-GB", "en-US"], "en-US") == "en-US"
    assert pick_language(["fr"], "de") == "fr"
    assert pick_language([], "de") is None


ODD_ENTITY = "stt.odd"


def our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER_NAME and r.levelno == logging.WARNING
    ]


@pytest.mark.parametrize(
    ("kind", "reason", "heard"),
    [
        ("no_language", "the entity names no language", 0),
        ("no_format", "the entity accepts neither OGG/Opus nor WAV/PCM", 0),
        ("blank_text", "the entity returned no text", 2),
    ],
)
async def test_an_entity_that_cannot_give_text_leaves_no_transcript(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    reason: str,
    heard: int,
) -> None:
    if kind == "no_language":
        odd = TestSTT(ODD_ENTITY, ogg=True, languages=[])
    elif kind == "no_format":
        # OGG, but only with PCM inside: neither of what WhatsApp sends nor what ffmpeg makes.
        odd = TestSTT(ODD_ENTITY, ogg=True, languages=["de-DE"], codecs=[stt.AudioCodecs.PCM])
    else:
        odd = TestSTT(ODD_ENTITY, ogg=True, languages=["de-DE"])
        odd.text = "  "
    await hass.data[DATA_COMPONENT].async_add_entities([odd])
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: ODD_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    for count in (1, 2):
        data = await voice_event(hass, bridge, events, voice_note, count)
        # The note itself is kept and described; only its text is missing.
        assert data["media_error"] is None
        assert data["media"]["transcript"] is None
        assert Path(data["media"]["path"]).read_bytes() == voice_note
    assert len(odd.calls) == heard
    # Warned once, not for every note.
    assert our_warnings(caplog) == [
        f"Could not transcribe a voice note with {ODD_ENTITY}: {reason}"
    ]
    await unload(hass, config_entry)


async def test_the_audio_settings_follow_what_the_entity_takes(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
) -> None:
    """An OGG/Opus entity that names other rates than Assist's 16 kHz mono gets its own."""
    odd = TestSTT(
        ODD_ENTITY,
        ogg=True,
        languages=["de-DE"],
        sample_rates=[stt.AudioSampleRates.SAMPLERATE_48000],
        channels=[stt.AudioChannels.CHANNEL_STEREO],
    )
    await hass.data[DATA_COMPONENT].async_add_entities([odd])
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: ODD_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    data = await voice_event(hass, bridge, events, voice_note)
    assert data["media"]["transcript"] == SAID
    [(metadata, audio, _chunks)] = odd.calls
    assert audio == voice_note
    assert (metadata.bit_rate, metadata.sample_rate, metadata.channel) == (
        stt.AudioBitRates.BITRATE_16,
        stt.AudioSampleRates.SAMPLERATE_48000,
        stt.AudioChannels.CHANNEL_STEREO,
    )
    await unload(hass, config_entry)


async def test_an_entity_that_never_answers_is_given_up(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hanging = entities[OGG_ENTITY]
    hanging.hang = True
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: OGG_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    with patch.object(voice, "TRANSCRIBE_TIMEOUT", 30.0):
        for count in (1, 2):
            await bridge.emit_message(
                SESSION, chat_id=BOB, body="", media=voice_note, mimetype=VOICE_TYPE
            )
            await wait_for(lambda: hanging.started == count, rounds=ROUNDS)  # noqa: B023
            # Not given up early: the event waits for the text.
            await advance(hass, freezer, 29)
            assert len(events) == count - 1
            await advance(hass, freezer, 2)
            data = await voice_event_done(hass, events, count)
            assert data["media"]["transcript"] is None
            assert data["media_error"] is None
            assert Path(data["media"]["path"]).read_bytes() == voice_note
    assert our_warnings(caplog) == [f"Transcribing a voice note with {OGG_ENTITY} timed out"]
    await unload(hass, config_entry)


async def voice_event_done(
    hass: HomeAssistant, events: list[Event[dict[str, Any]]], count: int
) -> dict[str, Any]:
    await wait_for(lambda: len(events) >= count, rounds=ROUNDS)
    await settle(hass)
    assert len(events) == count
    return dict(events[-1].data)


@pytest.mark.parametrize(
    ("ffmpeg_bin", "reason", "heard"),
    [
        ("/nonexistent/ffmpeg", "cannot run ffmpeg (FileNotFoundError)", []),
        # Runs, but converts nothing: the entity hears silence, the failure is ffmpeg's.
        ("false", "ffmpeg could not convert it (exit 1)", [b"", b""]),
    ],
)
async def test_a_broken_ffmpeg_leaves_no_transcript(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
    caplog: pytest.LogCaptureFixture,
    reason: str,
    heard: list[bytes],
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: WAV_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    for count in (1, 2):
        data = await voice_event(hass, bridge, events, voice_note, count)
        assert data["media"]["transcript"] is None
        assert data["media_error"] is None
        assert Path(data["media"]["path"]).read_bytes() == voice_note
    assert [audio for _metadata, audio, _chunks in entities[WAV_ENTITY].calls] == heard
    assert our_warnings(caplog) == [
        f"Could not transcribe a voice note with {WAV_ENTITY}: {reason}"
    ]
    await unload(hass, config_entry)


@pytest.mark.parametrize("ffmpeg_bin", [None])
async def test_ffmpeg_that_cannot_be_set_up_leaves_no_transcript(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    voice_note: bytes,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def setup_fails(hass: HomeAssistant, config: Any) -> bool:
        return False

    monkeypatch.setattr(ha_ffmpeg, "async_setup", setup_fails)
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: WAV_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    assert "ffmpeg" not in hass.config.components
    data = await voice_event(hass, bridge, events, voice_note)
    assert data["media"]["transcript"] is None
    assert data["media_error"] is None
    assert entities[WAV_ENTITY].calls == []
    reason = "Home Assistant's ffmpeg is not set up"
    assert our_warnings(caplog) == [
        f"Could not transcribe a voice note with {WAV_ENTITY}: {reason}"
    ]
    await unload(hass, config_entry)


async def test_without_speech_to_text_set_up_there_is_no_transcript(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    tmp_path: Path,
    voice_note: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass.config.media_dirs = {"local": str(tmp_path)}
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: WAV_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    assert "stt" not in hass.config.components
    data = await voice_event(hass, bridge, events, voice_note)
    assert data["media"]["transcript"] is None
    assert Path(data["media"]["path"]).read_bytes() == voice_note
    assert our_warnings(caplog) == [
        f"Could not transcribe a voice note with {WAV_ENTITY}: the entity is not available"
    ]
    await unload(hass, config_entry)


async def test_an_entity_that_stops_listening_early_has_its_text_and_ffmpeg_ends(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    entities: dict[str, TestSTT],
    long_voice_note: bytes,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listener = entities[WAV_ENTITY]
    listener.first_chunk_only = True
    processes: list[asyncio.subprocess.Process] = []
    real_exec = asyncio.create_subprocess_exec

    async def recorded_exec(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await real_exec(*args, **kwargs)
        processes.append(process)
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", recorded_exec)
    hass.config_entries.async_update_entry(config_entry, options={CONF_STT_ENTITY: WAV_ENTITY})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    data = await voice_event(hass, bridge, events, long_voice_note)
    assert data["media"]["transcript"] == SAID
    [(_metadata, heard, _chunks)] = listener.calls
    assert 0 < len(heard) <= voice.CHUNK
    # ffmpeg, still converting the rest, was ended rather than left behind.
    [process] = processes
    assert process.returncode == -9
    assert our_warnings(caplog) == []
    await unload(hass, config_entry)
