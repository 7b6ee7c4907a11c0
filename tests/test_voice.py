"""Voice notes to text: a real OGG/Opus note, Home Assistant's ffmpeg, test STT entities.

The note is made in the test with a static ffmpeg (`imageio-ffmpeg`), which Home Assistant's
`ffmpeg` component is set up to use. One test entity accepts only WAV/PCM (the note is
converted, as Assist pipelines send audio), another takes OGG/Opus as it is; each checks it
received real audio before answering with a fixed text.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
import logging
from pathlib import Path
import struct
import subprocess
from typing import Any

from homeassistant.components import stt
from homeassistant.components.stt.const import DATA_COMPONENT
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
import imageio_ffmpeg
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.const import (
    CONF_CONVERSATION_AGENT,
    CONF_DOWNLOAD_MEDIA,
    CONF_STT_ENTITY,
    EVENT_MESSAGE_RECEIVED,
)
from custom_components.whatsapp_gateway.voice import pick_language

from .conftest import SESSION
from .helpers import settle, setup_connected, unload, wait_for
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


@pytest.fixture(scope="module")
def voice_note(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of a 440 Hz tone, recorded the way WhatsApp records: OGG/Opus."""
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
            "sine=frequency=440:duration=1",
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


class TestSTT(stt.SpeechToTextEntity):
    """Answers `SAID` once it has real audio of its format; `fail` makes it raise."""

    __test__ = False

    def __init__(self, entity_id: str, *, ogg: bool, languages: list[str]) -> None:
        self.entity_id = entity_id
        self._attr_name = entity_id
        self._attr_unique_id = entity_id
        self._ogg = ogg
        self._languages = languages
        self.calls: list[tuple[stt.SpeechMetadata, bytes, int]] = []
        self.fail = False

    @property
    def supported_languages(self) -> list[str]:
        return self._languages

    @property
    def supported_formats(self) -> list[stt.AudioFormats]:
        return [stt.AudioFormats.OGG if self._ogg else stt.AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        return [stt.AudioCodecs.OPUS if self._ogg else stt.AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        return [stt.AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        return [stt.AudioSampleRates.SAMPLERATE_16000]

    @property
    def supported_channels(self) -> list[stt.AudioChannels]:
        return [stt.AudioChannels.CHANNEL_MONO]

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        chunks = [chunk async for chunk in stream]
        audio = b"".join(chunks)
        self.calls.append((metadata, audio, len(chunks)))
        if self.fail:
            raise RuntimeError(f"engine broke, heard {len(audio)} bytes")
        if not self.check_metadata(metadata) or not self._real_audio(audio):
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        return stt.SpeechResult(SAID, stt.SpeechResultState.SUCCESS)

    def _real_audio(self, audio: bytes) -> bool:
        if self._ogg:
            return audio.startswith(b"OggS") and b"OpusHead" in audio
        # About one second of 16 kHz 16-bit mono PCM, and a tone rather than silence.
        if not 28_000 <= len(audio) <= 36_000 or len(audio) % 2:
            return False
        samples = struct.unpack(f"<{len(audio) // 2}h", audio)
        return max(abs(sample) for sample in samples) > 1000


@pytest.fixture
async def entities(hass: HomeAssistant, tmp_path: Path) -> dict[str, TestSTT]:
    """Home Assistant's ffmpeg (the static one), media folder and the two STT entities."""
    media = tmp_path / "media"
    media.mkdir()
    hass.config.media_dirs = {"local": str(media)}
    hass.config.language = "de"
    assert await async_setup_component(
        hass, "ffmpeg", {"ffmpeg": {"ffmpeg_bin": imageio_ffmpeg.get_ffmpeg_exe()}}
    )
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
