"""Files and places out, end to end against the double: send_media and send_location.

The sources themselves (camera, media source, URL, path) are tested in test_media_out.py;
here a file from an allowed folder stands for all of them, and the subject is what happens
to it: Plus sends it as data, Core says at once that it cannot, the queue keeps it on disk
across drops and restarts, and nothing is sent twice or left behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway import outgoing as outgoing_module
from custom_components.whatsapp_gateway.const import (
    CONF_QUEUE_TTL,
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_SENT,
)
from custom_components.whatsapp_gateway.outbox import OutboundQueue, QueuedFile, QueuedMessage
from custom_components.whatsapp_gateway.outgoing import RETRY_AFTER, outbox_files, outbox_store

from .conftest import SESSION
from .helpers import advance, go_offline, go_online, settle, setup_connected, unload, wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

BOB = "4917612345678@c.us"
BOB_NUMBER = "+4917612345678"
PLUS = "GOWS-2026.7.1-PLUS"
CORE = "GOWS-2026.7.1-CORE"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 400 + b"\xff\xd9"


@pytest.fixture
def profile() -> str:
    """The bridge the test plays (parametrize `profile` to play another)."""
    return PLUS


@pytest.fixture
def allowed(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A folder Home Assistant may send files from, with a photo in it."""
    folder = tmp_path / "allowed"
    folder.mkdir()
    (folder / "door.jpg").write_bytes(JPEG)
    (folder / "report.pdf").write_bytes(b"%PDF-1.4 report")
    hass.config.allowlist_external_dirs = {str(folder)}
    return folder


async def act(
    hass: HomeAssistant, entry: MockConfigEntry, action: str, **data: Any
) -> dict[str, Any]:
    """Call one of the send actions for Bob and return its response."""
    response = await hass.services.async_call(
        DOMAIN,
        action,
        {"config_entry_id": entry.entry_id, "target": BOB_NUMBER, **data},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


async def send_media(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> dict[str, Any]:
    return await act(hass, entry, "send_media", **data)


async def send_location(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> dict[str, Any]:
    return await act(hass, entry, "send_location", **data)


def spooled(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    folder = outbox_files(hass, entry.entry_id)
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


async def no_files_left(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await hass.async_block_till_done()
    assert spooled(hass, entry) == []


# ---------------------------------------------------------------------------- send_media


@pytest.mark.parametrize(
    "profile", ["GOWS-2026.7.1-PLUS", "NOWEB-2026.7.1-PLUS", "WEBJS-2026.7.1-PLUS"]
)
async def test_a_photo_goes_to_the_bridge_as_data(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, allowed: Path
) -> None:
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    response = await send_media(
        hass, config_entry, path=str(allowed / "door.jpg"), caption="Someone is at the door"
    )
    assert response["status"] == "sent"
    [record] = bridge.sent_files(SESSION)
    assert record["kind"] == "image"
    assert record["chat_id"] == BOB
    assert record["data"] == JPEG
    assert record["mimetype"] == "image/jpeg"
    assert record["caption"] == "Someone is at the door"
    assert response["message_id"] == record["message_id"]
    await settle(hass)
    assert [event.data["delayed"] for event in sent_events] == [False]
    await no_files_left(hass, config_entry)


@pytest.mark.parametrize(
    ("kind", "route_kind"), [("auto", "file"), ("document", "file"), ("image", "image")]
)
async def test_kind_picks_the_bridge_route(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    allowed: Path,
    kind: str,
    route_kind: str,
) -> None:
    await setup_connected(hass, config_entry)
    await send_media(
        hass, config_entry, path=str(allowed / "report.pdf"), kind=kind, filename="May.pdf"
    )
    [record] = bridge.sent_files(SESSION)
    assert record["kind"] == route_kind
    assert record["filename"] == "May.pdf"


async def test_a_voice_note_is_converted_by_the_bridge_unless_it_is_opus(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, allowed: Path
) -> None:
    (allowed / "bell.mp3").write_bytes(b"ID3 not really")
    (allowed / "note.ogg").write_bytes(b"OggS not really")
    await setup_connected(hass, config_entry)
    await send_media(hass, config_entry, path=str(allowed / "bell.mp3"), kind="voice")
    await send_media(hass, config_entry, path=str(allowed / "note.ogg"))
    first, second = bridge.sent_files(SESSION)
    assert (first["kind"], first["convert"]) == ("voice", True)
    assert (second["kind"], second["convert"]) == ("voice", False)
    assert second["mimetype"] == "audio/ogg; codecs=opus"


async def test_a_retry_is_not_taken_for_an_earlier_file_without_caption(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    allowed: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Two snapshots without a caption; the second's first try fails (not performed).

    Its retry looks in the chat for an earlier try and must not take the first snapshot,
    whose answer did come, for it: the second is sent.
    """
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    bridge.fail_sends(1, status=500)
    second = await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    assert second["status"] == "queued"
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 2)
    first_file, second_file = bridge.sent_files(SESSION)
    assert [event.data["message_id"] for event in sent_events] == [
        first_file["message_id"],
        second_file["message_id"],
    ]
    await no_files_left(hass, config_entry)


@pytest.mark.parametrize("profile", ["WEBJS-2026.7.1-CORE"])
async def test_a_retried_text_is_not_taken_for_an_earlier_one_with_the_same_text(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """WEBJS has no message ids: retries are matched by text, never to a confirmed send."""
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    data = {"config_entry_id": config_entry.entry_id, "target": BOB_NUMBER, "message": "ding"}
    await hass.services.async_call(DOMAIN, "send_message", data, blocking=True)
    bridge.fail_sends(1, status=500)
    await hass.services.async_call(DOMAIN, "send_message", data, blocking=True)
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 2)
    assert [record["text"] for record in bridge.session(SESSION).sent] == ["ding", "ding"]


async def test_a_captioned_voice_note_whose_answer_was_lost_goes_once(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    allowed: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    (allowed / "note.ogg").write_bytes(b"OggS not really")
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    bridge.drop_send_answers(1)
    response = await send_media(hass, config_entry, path=str(allowed / "note.ogg"), caption="hi")
    assert response["status"] == "queued"
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 1)
    [record] = bridge.sent_files(SESSION)
    assert (record["kind"], record["caption"]) == ("voice", None)
    await no_files_left(hass, config_entry)


@pytest.mark.parametrize("profile", [CORE])
async def test_core_says_at_once_that_files_need_plus(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, allowed: Path
) -> None:
    await setup_connected(hass, config_entry)
    bridge.clear_requests()
    with pytest.raises(HomeAssistantError) as caught:
        await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    assert caught.value.translation_key == "media_needs_plus"
    # Known from the bridge's tier: not even tried, and nothing queued or kept.
    assert not [r for r in bridge.requests if r.path.startswith("/api/send")]
    await go_offline(hass, bridge)
    with pytest.raises(HomeAssistantError) as caught:
        await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    assert caught.value.translation_key == "media_needs_plus"
    await no_files_left(hass, config_entry)


@pytest.mark.parametrize("profile", [CORE])
async def test_a_422_from_a_bridge_of_unknown_edition_is_media_needs_plus(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, allowed: Path
) -> None:
    await setup_connected(hass, config_entry)
    coordinator = config_entry.runtime_data
    # As if the version answer had not told the tier.
    coordinator.client.capabilities = coordinator.client.capabilities.__class__(
        engine="GOWS", version="2026.7.1"
    )
    with pytest.raises(HomeAssistantError) as caught:
        await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    assert caught.value.translation_key == "media_needs_plus"
    assert coordinator.client.capabilities.media_sending is False
    await no_files_left(hass, config_entry)


async def test_queued_files_wait_on_disk_survive_a_restart_and_go_once(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, allowed: Path
) -> None:
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    first = await send_media(hass, config_entry, path=str(allowed / "door.jpg"), caption="1")
    second = await send_media(hass, config_entry, path=str(allowed / "report.pdf"))
    assert first["status"] == second["status"] == "queued"
    # The files wait beside the queue's store, not inside it.
    assert len(spooled(hass, config_entry)) == 2
    await unload(hass, config_entry)
    assert len(spooled(hass, config_entry)) == 2
    await bridge.end_blip(SESSION)
    await setup_connected(hass, config_entry)
    await wait_for(lambda: len(sent_events) == 2)
    records = bridge.sent_files(SESSION)
    assert [(r["kind"], r["data"]) for r in records] == [
        ("image", JPEG),
        ("file", b"%PDF-1.4 report"),
    ]
    assert [e.data["queue_id"] for e in sent_events] == [first["queue_id"], second["queue_id"]]
    await no_files_left(hass, config_entry)


@pytest.mark.parametrize(
    "profile", ["GOWS-2026.7.1-PLUS", "NOWEB-2026.7.1-PLUS", "WEBJS-2026.7.1-PLUS"]
)
async def test_a_lost_answer_for_a_file_is_recognised_and_not_sent_twice(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    allowed: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    bridge.drop_send_answers(1)
    response = await send_media(
        hass, config_entry, path=str(allowed / "door.jpg"), caption="exactly once"
    )
    assert response["status"] == "queued"
    assert len(bridge.sent_files(SESSION)) == 1
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 1)
    assert len(bridge.sent_files(SESSION)) == 1
    assert sent_events[0].data["message_id"] == bridge.sent_files(SESSION)[0]["message_id"]
    await no_files_left(hass, config_entry)


async def test_expired_and_rejected_files_are_removed(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    allowed: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_QUEUE_TTL: 600})
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    await send_media(hass, config_entry, path=str(allowed / "door.jpg"), ttl=30)
    await send_media(hass, config_entry, path=str(allowed / "report.pdf"))
    await advance(hass, freezer, 31)
    assert [event.data["reason"] for event in failed] == ["expired"]
    assert len(spooled(hass, config_entry)) == 1
    bridge.fail_sends(1, status=400)
    await go_online(hass, bridge)
    await wait_for(lambda: len(failed) == 2)
    assert failed[1].data["reason"] == "rejected"
    await no_files_left(hass, config_entry)


async def test_the_queue_caps_the_size_of_its_files(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    allowed: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outgoing_module, "MAX_QUEUED_MEDIA_BYTES", len(JPEG) + 10)
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    with pytest.raises(HomeAssistantError) as caught:
        await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    assert caught.value.translation_key == "queue_full_files"
    await hass.async_block_till_done()
    assert len(spooled(hass, config_entry)) == 1


async def test_queue_false_while_offline_fails_and_keeps_nothing(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, allowed: Path
) -> None:
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    with pytest.raises(HomeAssistantError) as caught:
        await send_media(hass, config_entry, path=str(allowed / "door.jpg"), queue=False)
    assert caught.value.translation_key == "not_connected"
    await no_files_left(hass, config_entry)


async def test_after_a_restart_stray_files_go_and_a_message_without_its_file_fails(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, allowed: Path
) -> None:
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    await unload(hass, config_entry)
    folder = outbox_files(hass, config_entry.entry_id)
    [waiting] = spooled(hass, config_entry)
    (folder / waiting).unlink()
    (folder / "stray").write_bytes(b"left over")
    await bridge.end_blip(SESSION)
    await setup_connected(hass, config_entry)
    await settle(hass)
    assert [event.data["reason"] for event in failed] == ["rejected"]
    await no_files_left(hass, config_entry)


async def test_removing_the_entry_removes_its_waiting_files(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, allowed: Path
) -> None:
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    await send_media(hass, config_entry, path=str(allowed / "door.jpg"))
    assert outbox_files(hass, config_entry.entry_id).is_dir()
    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert not outbox_files(hass, config_entry.entry_id).exists()


@pytest.mark.parametrize(
    ("action", "route", "data", "what"),
    [
        ("send_media", "/api/sendVideo", {"kind": "video"}, "files"),
        ("send_location", "/api/sendLocation", {"latitude": 1.0, "longitude": 2.0}, "locations"),
    ],
)
async def test_an_engine_without_the_call_is_told_in_words(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    allowed: Path,
    action: str,
    route: str,
    data: dict[str, Any],
    what: str,
) -> None:
    """A 501 (the engine lacks the call) fails at once, naming what cannot be sent."""
    await setup_connected(hass, config_entry)
    bridge.fail_requests("POST", route, status=501)
    if action == "send_media":
        data = {**data, "path": str(allowed / "door.jpg")}
    with pytest.raises(HomeAssistantError) as caught:
        await act(hass, config_entry, action, **data)
    assert caught.value.translation_key == "not_supported"
    assert caught.value.translation_placeholders == {"action": what}
    await no_files_left(hass, config_entry)


@pytest.mark.parametrize("profile", [CORE])
async def test_the_queue_itself_refuses_files_for_core(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """Whoever hands the queue a file for a Core bridge gets media_needs_plus, file gone."""
    await setup_connected(hass, config_entry)
    outgoing = config_entry.runtime_data.outgoing
    outgoing.files.mkdir(parents=True, exist_ok=True)
    (outgoing.files / "out-x.jpg").write_bytes(JPEG)
    file = QueuedFile(
        name="out-x.jpg", kind="image", content_type="image/jpeg", filename="x.jpg", size=9
    )
    with pytest.raises(HomeAssistantError) as caught:
        await outgoing.async_send(BOB, "", media=file)
    assert caught.value.translation_key == "media_needs_plus"
    await no_files_left(hass, config_entry)


async def test_a_stored_file_of_an_unknown_kind_goes_as_a_document(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A queue written by another version (or edited) still sends what it can."""
    folder = outbox_files(hass, config_entry.entry_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "out-s.webp").write_bytes(b"RIFF sticker")
    waiting = QueuedMessage(
        queue_id="q1",
        chat_id=BOB,
        text="",
        created=dt_util.utcnow().timestamp(),
        expires=dt_util.utcnow().timestamp() + 3600,
        media=QueuedFile(
            name="out-s.webp",
            kind="sticker",
            content_type="image/webp",
            filename="s.webp",
            size=12,
        ),
    )
    stored = OutboundQueue()
    stored.append(waiting)
    key = outbox_store(hass, config_entry.entry_id).key
    hass_storage[key] = {"version": 1, "key": key, "data": {"queue": stored.as_list()}}
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    await wait_for(lambda: len(sent_events) == 1)
    [record] = bridge.sent_files(SESSION)
    assert (record["kind"], record["data"]) == ("file", b"RIFF sticker")
    await no_files_left(hass, config_entry)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"caption": "   "}, "media_no_source"),
        ({"caption": "x" * 65537, "path": "/x"}, "invalid_message"),
    ],
)
async def test_bad_media_calls_are_validation_errors(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    data: dict[str, Any],
    key: str,
) -> None:
    await setup_connected(hass, config_entry)
    with pytest.raises(ServiceValidationError) as caught:
        await send_media(hass, config_entry, **data)
    assert caught.value.translation_key == key


# -------------------------------------------------------------------------- send_location


@pytest.mark.parametrize(
    "profile", ["GOWS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE", "WEBJS-2026.7.1-CORE"]
)
async def test_a_location_goes_out_on_core(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    response = await send_location(
        hass, config_entry, latitude=52.52, longitude=13.405, name="Brandenburg Gate"
    )
    assert response["status"] == "sent"
    [record] = bridge.session(SESSION).sent
    assert record["kind"] == "location"
    assert (record["latitude"], record["longitude"], record["title"]) == (
        52.52,
        13.405,
        "Brandenburg Gate",
    )
    assert response["message_id"] == record["message_id"]


async def test_a_location_from_an_entity_uses_its_position_and_name(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    hass.states.async_set(
        "person.anna",
        "not_home",
        {"latitude": 48.137, "longitude": 11.575, "friendly_name": "Anna"},
    )
    hass.states.async_set("device_tracker.car", "home", {"friendly_name": "Car"})
    await setup_connected(hass, config_entry)
    await send_location(hass, config_entry, entity_id="person.anna")
    [record] = bridge.session(SESSION).sent
    assert (record["latitude"], record["longitude"], record["title"]) == (48.137, 11.575, "Anna")
    with pytest.raises(ServiceValidationError) as caught:
        await send_location(hass, config_entry, entity_id="device_tracker.car")
    assert caught.value.translation_key == "location_unknown"
    with pytest.raises(ServiceValidationError) as caught:
        await send_location(hass, config_entry, entity_id="zone.nowhere")
    assert caught.value.translation_key == "location_unknown"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"latitude": 1.0, "longitude": 2.0, "entity_id": "person.anna"},
    ],
)
async def test_a_location_needs_one_source(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    data: dict[str, Any],
) -> None:
    await setup_connected(hass, config_entry)
    with pytest.raises(ServiceValidationError) as caught:
        await send_location(hass, config_entry, **data)
    assert caught.value.translation_key == "location_source"


@pytest.mark.parametrize("profile", [CORE, "WEBJS-2026.7.1-CORE"])
async def test_a_queued_location_whose_answer_was_lost_goes_once(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    queued = await send_location(hass, config_entry, latitude=1.5, longitude=2.5, name="Here")
    assert queued["status"] == "queued"
    bridge.drop_send_answers(1)
    await go_online(hass, bridge)
    await wait_for(lambda: len(bridge.session(SESSION).sent) == 1)
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 1)
    assert len(bridge.session(SESSION).sent) == 1
    assert sent_events[0].data["delayed"] is True
