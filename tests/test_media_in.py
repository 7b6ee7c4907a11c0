"""Received files end to end: saved to the local media folder, described in the event.

Real sockets to the bridge double, which serves each message's file under `/api/files/`
(key-protected) and single messages with their file (`downloadMedia=true`); files land in a
temporary local media folder that Home Assistant's media source browses and resolves.
Frozen time moves the daily retention.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import media_source
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from yarl import URL

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway import media_in
from custom_components.whatsapp_gateway.bridge import Me
from custom_components.whatsapp_gateway.bridge.media import main_type
from custom_components.whatsapp_gateway.const import (
    CONF_DOWNLOAD_MEDIA,
    CONF_MEDIA_KEEP_DAYS,
    CONF_MEDIA_MAX_MB,
    EVENT_MESSAGE_RECEIVED,
)
from custom_components.whatsapp_gateway.media_in import (
    RETENTION_FIRST_RUN,
    MediaReceiver,
    account_folder,
    extension_for,
    safe_name,
)

from .conftest import SESSION
from .helpers import CONNECTED, advance, settle, setup_connected, state_of, unload, wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

BOB = "4917612345678@c.us"
GROUP = "120363025246125486@g.us"
ACCOUNT = "491511234567"
LOGGER_NAME = "custom_components.whatsapp_gateway"
# A small JPEG-like payload with every byte value, so any re-encoding would show.
PHOTO = bytes(range(256)) * 40 + b"\xff\xd9"
# The engines as the reliability suite plays them (NOWEB with its store on).
ENGINES = ("GOWS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE", "WEBJS-2026.7.1-CORE")
# Saving goes through the executor: let the loop spin while its threads work.
ROUNDS = 400_000


@pytest.fixture
async def media_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A local media folder of its own, browsed by Home Assistant's media source."""
    folder = tmp_path / "media"
    folder.mkdir()
    hass.config.media_dirs = {"local": str(folder)}
    assert await async_setup_component(hass, "media_source", {})
    return folder


async def received_one(
    hass: HomeAssistant, events: list[Event[dict[str, Any]]], count: int = 1
) -> dict[str, Any]:
    """The last of `count` events, once exactly that many fired."""
    await wait_for(lambda: len(events) >= count, rounds=ROUNDS)
    await settle(hass)
    assert len(events) == count
    return dict(events[-1].data)


def state_of_message(hass: HomeAssistant) -> dict[str, Any]:
    state = hass.states.get("event.alice_phone_message")
    assert state is not None
    return dict(state.attributes)


def chat_folder(media_dir: Path, chat_id: str = BOB) -> Path:
    return media_dir / "whatsapp" / ACCOUNT / safe_name(chat_id)


def files_in(folder: Path) -> list[str]:
    """Every file under `folder` (hidden ones too), relative."""
    if not folder.exists():
        return []
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def file_path_of(message: dict[str, Any]) -> str:
    return URL(message["media"]["url"]).path


@pytest.mark.parametrize("profile", ENGINES)
async def test_a_photo_is_saved_byte_for_byte_and_shown_in_the_media_panel(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, media_dir: Path
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    sent = await bridge.emit_message(
        SESSION,
        chat_id=BOB,
        body="look",
        media=PHOTO,
        mimetype="image/jpeg",
        filename="holiday.jpeg",
    )
    data = await received_one(hass, events)
    name = f"{safe_name(sent['id'])}.jpeg"
    path = chat_folder(media_dir) / name
    assert data["text"] == "look"
    assert data["has_media"] is True
    assert data["media_error"] is None
    assert data["location"] is None
    assert data["media"] == {
        "content_type": "image/jpeg",
        "size": len(PHOTO),
        # The engine's file name where it gives one (documents), else the saved file's.
        "filename": sent["media"].get("filename") or name,
        "media_content_id": (
            f"media-source://media_source/local/whatsapp/{ACCOUNT}/4917612345678_c.us/{name}"
        ),
        "path": str(path),
        "transcript": None,
    }
    assert path.read_bytes() == PHOTO
    # The message entity shows it too, for dashboards (kept out of the recorder).
    assert state_of_message(hass)["media"] == data["media"]
    # Nothing else is left behind (no partial download).
    assert files_in(media_dir) == [f"whatsapp/{ACCOUNT}/4917612345678_c.us/{name}"]

    resolved = await media_source.async_resolve_media(hass, data["media"]["media_content_id"], None)
    assert resolved.mime_type == "image/jpeg"
    assert resolved.path == path
    folder = await media_source.async_browse_media(
        hass, f"media-source://media_source/local/whatsapp/{ACCOUNT}/4917612345678_c.us"
    )
    assert [child.media_content_id for child in folder.children or []] == [
        data["media"]["media_content_id"]
    ]
    await unload(hass, config_entry)


@pytest.mark.parametrize("profile", ENGINES)
async def test_a_group_file_goes_to_the_group_folder_and_a_location_is_described(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, media_dir: Path
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    sent = await bridge.emit_message(
        SESSION,
        chat_id=GROUP,
        participant=BOB,
        body="",
        media=b"%PDF-1.4 minutes",
        mimetype="application/pdf",
        filename="minutes.pdf",
    )
    data = await received_one(hass, events)
    assert data["media"]["path"] == str(
        chat_folder(media_dir, GROUP) / f"{safe_name(sent['id'])}.pdf"
    )
    assert "120363025246125486_g.us" in data["media"]["media_content_id"]
    assert data["media"]["filename"] == "minutes.pdf"
    await bridge.emit_message(
        SESSION,
        chat_id=BOB,
        body="",
        location={
            "latitude": "52.5163",
            "longitude": 13.3777,
            "name": "Brandenburger Tor",
            "address": "Pariser Platz, Berlin",
        },
    )
    data = await received_one(hass, events, 2)
    assert data["location"] == {
        "latitude": 52.5163,
        "longitude": 13.3777,
        "name": "Brandenburger Tor",
        "address": "Pariser Platz, Berlin",
    }
    assert (data["media"], data["media_error"]) == (None, None)
    await unload(hass, config_entry)


async def test_with_download_off_nothing_is_fetched(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, media_dir: Path
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_DOWNLOAD_MEDIA: False})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(SESSION, chat_id=BOB, body="pic", media=PHOTO, mimetype="image/png")
    data = await received_one(hass, events)
    assert (data["has_media"], data["media"], data["media_error"]) == (True, None, None)
    assert bridge.count_requests(path_prefix="/api/files/") == 0
    assert files_in(media_dir) == []
    await unload(hass, config_entry)


async def test_a_file_over_the_limit_is_not_kept_and_the_event_still_fires_once(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, media_dir: Path
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_MEDIA_MAX_MB: 1})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(
        SESSION, chat_id=BOB, body="big", media=b"v" * (1024 * 1024 + 1), mimetype="video/mp4"
    )
    data = await received_one(hass, events)
    assert (data["media"], data["media_error"]) == (None, "too_large")
    assert data["text"] == "big"
    # Exactly at the limit is fine.
    await bridge.emit_message(
        SESSION, chat_id=BOB, body="", media=b"v" * (1024 * 1024), mimetype="video/mp4"
    )
    data = await received_one(hass, events, 2)
    assert data["media"]["size"] == 1024 * 1024
    assert data["media_error"] is None
    assert len(files_in(media_dir)) == 1
    await unload(hass, config_entry)


async def test_a_file_the_bridge_could_not_fetch_is_reported(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, media_dir: Path
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(
        SESSION, chat_id=BOB, body="", mimetype="image/jpeg", media_error="Media not found"
    )
    data = await received_one(hass, events)
    assert (data["has_media"], data["media"], data["media_error"]) == (
        True,
        None,
        "bridge_failed",
    )
    assert files_in(media_dir) == []
    await unload(hass, config_entry)


@pytest.mark.parametrize("status", [404, 500])
async def test_a_failed_download_is_reported_and_leaves_nothing(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    message = await bridge.emit_message(
        SESSION, chat_id=BOB, body="one", media=PHOTO, mimetype="image/jpeg", stream=False
    )
    bridge.fail_requests("GET", file_path_of(message), status=status, count=5)
    await bridge.emit_message(
        SESSION,
        chat_id=BOB,
        body="one",
        media=PHOTO,
        mimetype="image/jpeg",
        message_id=message["id"],
    )
    data = await received_one(hass, events)
    assert (data["media"], data["media_error"]) == (None, "download_failed")
    assert files_in(media_dir) == []
    # The next file works again; the failure was logged once at warning.
    await bridge.emit_message(SESSION, chat_id=BOB, body="two", media=PHOTO, mimetype="image/jpeg")
    data = await received_one(hass, events, 2)
    assert data["media_error"] is None
    assert Path(data["media"]["path"]).read_bytes() == PHOTO
    warnings = [r for r in caplog.records if r.name == LOGGER_NAME and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    await unload(hass, config_entry)


async def test_a_file_the_bridge_removed_already_is_asked_for_again(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, media_dir: Path
) -> None:
    """WAHA deletes received files after WHATSAPP_FILES_LIFETIME (180 s by default)."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    message = await bridge.emit_message(
        SESSION, chat_id=BOB, body="late", media=PHOTO, mimetype="image/jpeg", stream=False
    )
    bridge.fail_requests("GET", file_path_of(message), status=404, count=1)
    await bridge.emit_message(
        SESSION,
        chat_id=BOB,
        body="late",
        media=PHOTO,
        mimetype="image/jpeg",
        message_id=message["id"],
    )
    data = await received_one(hass, events)
    assert data["media_error"] is None
    assert Path(data["media"]["path"]).read_bytes() == PHOTO
    asked_again = f"/api/{SESSION}/chats/{BOB}/messages/"
    assert bridge.count_requests(method="GET", path_prefix=asked_again) == 1
    await unload(hass, config_entry)


@pytest.mark.parametrize("profile", ENGINES)
async def test_a_file_missed_during_a_drop_is_fetched_with_its_message(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    bridge.cut_streams()
    await wait_for(lambda: state_of(hass, CONNECTED) == "off")
    freezer.tick(1)
    missed = await bridge.emit_message(
        SESSION, chat_id=BOB, body="while away", media=PHOTO, mimetype="image/jpeg"
    )
    await advance(hass, freezer, 2)
    data = await received_one(hass, events)
    assert data["buffered"] is True
    assert data["message_id"] == missed["id"]
    assert data["media_error"] is None
    assert Path(data["media"]["path"]).read_bytes() == PHOTO
    # History pages come without files: the message was asked for again, with its file.
    asked = f"/api/{SESSION}/chats/{BOB}/messages/{missed['id']}"
    assert bridge.count_requests(path_prefix=asked) == 1
    assert state_of(hass, CONNECTED) == "on"
    await unload(hass, config_entry)


async def test_an_unexpected_failure_still_fires_the_event_exactly_once(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, media_dir: Path
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    with patch.object(MediaReceiver, "_async_receive", side_effect=RuntimeError("boom")):
        sent = await bridge.emit_message(
            SESSION, chat_id=BOB, body="x", media=PHOTO, mimetype="image/jpeg"
        )
        data = await received_one(hass, events)
    assert (data["media"], data["media_error"]) == (None, "internal_error")
    # A repeat of the frame is recognised as delivered.
    await bridge.emit_message(
        SESSION, chat_id=BOB, body="x", media=PHOTO, mimetype="image/jpeg", message_id=sent["id"]
    )
    await settle(hass)
    assert len(events) == 1
    await unload(hass, config_entry)


async def test_files_older_than_the_retention_are_removed_daily(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_MEDIA_KEEP_DAYS: 30})
    now = dt_util.utcnow().timestamp()
    day = 86400
    chat = chat_folder(media_dir)
    other_chat = chat_folder(media_dir, GROUP)
    other_account = media_dir / "whatsapp" / "4930123456" / "x_c.us"
    ages = {
        chat / "old.jpeg": 40,
        chat / "new.jpeg": 1,
        other_chat / "old.pdf": 35,
        other_account / "old.jpeg": 40,
        media_dir / "mine.jpeg": 400,
    }
    for path, age in ages.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (now - age * day, now - age * day))
    await setup_connected(hass, config_entry)
    # Nothing goes at setup; a few minutes later, what is too old.
    await settle(hass)
    assert all(path.exists() for path in ages)
    await advance(hass, freezer, RETENTION_FIRST_RUN + 1)
    await wait_for(lambda: not (chat / "old.jpeg").exists(), rounds=ROUNDS)
    await wait_for(lambda: not other_chat.exists(), rounds=ROUNDS)
    assert (chat / "new.jpeg").exists()
    # Another account's files and the user's own media are none of its business.
    assert (other_account / "old.jpeg").exists()
    assert (media_dir / "mine.jpeg").exists()
    # Then daily: the day-old file goes once it is over 30 days old.
    for _ in range(28):
        await advance(hass, freezer, day)
    assert (chat / "new.jpeg").exists()
    await advance(hass, freezer, day)
    await wait_for(lambda: not (chat / "new.jpeg").exists(), rounds=ROUNDS)
    assert chat.exists() is False
    await unload(hass, config_entry)


async def test_with_retention_zero_files_are_kept(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_MEDIA_KEEP_DAYS: 0})
    old = chat_folder(media_dir) / "old.jpeg"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x")
    ancient = dt_util.utcnow().timestamp() - 4000 * 86400
    os.utime(old, (ancient, ancient))
    await setup_connected(hass, config_entry)
    await advance(hass, freezer, 2 * 86400)
    await settle(hass)
    assert old.exists()
    assert await config_entry.runtime_data.media.async_remove_old() == 0
    await unload(hass, config_entry)


async def test_nothing_private_is_logged(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_MEDIA_MAX_MB: 1})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    sent = [
        await bridge.emit_message(
            SESSION, chat_id=BOB, body="secret words", media=PHOTO, mimetype="image/jpeg"
        ),
        await bridge.emit_message(
            SESSION, chat_id=BOB, body="secret words", media=b"v" * (2 << 20)
        ),
        await bridge.emit_message(
            SESSION, chat_id=BOB, body="secret words", media_error="could not"
        ),
    ]
    failing = await bridge.emit_message(
        SESSION, chat_id=BOB, body="secret words", media=PHOTO, stream=False
    )
    bridge.fail_requests("GET", file_path_of(failing), status=500)
    await bridge.emit_message(
        SESSION, chat_id=BOB, body="secret words", media=PHOTO, message_id=failing["id"]
    )
    await received_one(hass, events, 4)
    private = ["secret words", "4917612345678", ACCOUNT, "/api/files", "holiday"]
    private += [message["id"] for message in [*sent, failing]]
    for record in caplog.records:
        if record.name.startswith(LOGGER_NAME):
            text = record.getMessage() + str(record.exc_info or "")
            for value in private:
                assert value not in text, f"{record.name} logged private data"
    await unload(hass, config_entry)


def test_names_are_file_system_safe() -> None:
    assert safe_name("491511234567@c.us") == "491511234567_c.us"
    assert safe_name("false_4917612345678@c.us_3EB0/../x") == "false_4917612345678_c.us_3EB0_.._x"
    assert safe_name("..") == "_"
    assert account_folder(Me(id="491511234567@c.us"), "default") == ACCOUNT
    assert account_folder(None, "my phone") == "my_phone"
    assert extension_for("image/jpeg", None) == ".jpeg"
    assert extension_for("audio/ogg; codecs=opus", None) == ".ogg"
    assert extension_for(None, "report.PDF") == ".pdf"
    assert extension_for("application/x-unknown-thing", "a.weird-ext") == ".bin"


@pytest.mark.parametrize("profile", ["GOWS-2026.7.1-CORE"])
async def test_a_backfilled_file_the_bridge_does_not_hand_over_is_reported(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Read from history after a gap, each file is asked for; what the bridge answers counts."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    bridge.cut_streams()
    await wait_for(lambda: state_of(hass, CONNECTED) == "off")
    freezer.tick(1)
    # The bridge keeps the message but no file (its media download is off) ...
    no_file = await bridge.emit_message(SESSION, chat_id=BOB, body="a", media=PHOTO)
    no_file["media"] = None
    # ... or a file without an address and without saying why ...
    no_url = await bridge.emit_message(SESSION, chat_id=BOB, body="b", media=PHOTO)
    no_url["media"] = {"url": None, "mimetype": "image/jpeg"}
    # ... or a file without a type: the type it is served with is taken ...
    untyped = await bridge.emit_message(
        SESSION, chat_id=BOB, body="c", media=b"shopping list", mimetype="text/plain"
    )
    del untyped["media"]["mimetype"]
    # ... or it fails to answer when asked for the message.
    failing = await bridge.emit_message(SESSION, chat_id=BOB, body="d", media=PHOTO)
    bridge.fail_requests("GET", f"/api/{SESSION}/chats/{BOB}/messages/{failing['id']}")
    await advance(hass, freezer, 2)
    await received_one(hass, events, 4)
    by_id = {event.data["message_id"]: dict(event.data) for event in events}
    for message in (no_file, no_url, failing):
        data = by_id[message["id"]]
        assert (data["buffered"], data["has_media"]) == (True, True)
        assert (data["media"], data["media_error"]) == (None, "download_failed")
    data = by_id[untyped["id"]]
    assert data["media_error"] is None
    assert data["media"]["content_type"] == "text/plain"
    assert data["media"]["path"].endswith(".txt")
    assert Path(data["media"]["path"]).read_bytes() == b"shopping list"
    assert files_in(media_dir) == [
        f"whatsapp/{ACCOUNT}/4917612345678_c.us/{safe_name(untyped['id'])}.txt"
    ]
    # Only the bridge failing to answer is worth a warning.
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER_NAME and r.levelno == logging.WARNING
    ]
    assert warnings == ["Could not ask the bridge for a received file (WahaResponseError)"]
    assert state_of(hass, CONNECTED) == "on"
    await unload(hass, config_entry)


async def test_without_a_local_media_folder_the_event_still_fires(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass.config.media_dirs = {}
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    for count in (1, 2):
        await bridge.emit_message(SESSION, chat_id=BOB, body="pic", media=PHOTO)
        data = await received_one(hass, events, count)
        assert (data["text"], data["media"], data["media_error"]) == ("pic", None, "save_failed")
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER_NAME and r.levelno == logging.WARNING
    ]
    assert warnings == ["Home Assistant has no local media folder"]
    assert bridge.count_requests(path_prefix="/api/files/") == 0
    await unload(hass, config_entry)


MESSAGE_ID = "false_4917612345678@c.us_3EB0C0FFEE00"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        # Something else took the name of the account's folder.
        ("folder_taken", "Could not create the media folder (Not a directory)"),
        # The disk fills up while the file is written.
        ("disk_full", "Could not save a received file (No space left on device)"),
        # The file's final name is taken by a folder.
        ("name_taken", "Could not save a received file (Is a directory)"),
    ],
)
async def test_a_file_that_cannot_be_written_is_reported_and_leaves_nothing(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    reason: str,
) -> None:
    chat = chat_folder(media_dir)
    stem = safe_name(MESSAGE_ID)
    if fault == "folder_taken":
        (media_dir / "whatsapp").write_bytes(b"not a folder")
    elif fault == "disk_full":
        chat.mkdir(parents=True)
        (chat / f".{stem}.part").symlink_to("/dev/full")
    else:
        (chat / f"{stem}.jpeg" / "inside").mkdir(parents=True)
    before = files_in(media_dir)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(
        SESSION, chat_id=BOB, body="pic", media=PHOTO, mimetype="image/jpeg", message_id=MESSAGE_ID
    )
    data = await received_one(hass, events)
    assert (data["text"], data["media"], data["media_error"]) == ("pic", None, "save_failed")
    # No partial download left behind (the disk-full one was a link to /dev/full).
    assert not (chat / f".{stem}.part").exists()
    assert not (chat / f".{stem}.part").is_symlink()
    assert files_in(media_dir) == [name for name in before if not name.endswith(".part")]
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER_NAME and r.levelno == logging.WARNING
    ]
    assert warnings == [reason]
    await unload(hass, config_entry)


async def test_stopping_waits_for_a_removal_in_progress(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_MEDIA_KEEP_DAYS: 30})
    old = chat_folder(media_dir) / "old.jpeg"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x")
    ancient = dt_util.utcnow().timestamp() - 40 * 86400
    os.utime(old, (ancient, ancient))
    started, release = threading.Event(), threading.Event()
    runs: list[float] = []
    real_remove_older = media_in._remove_older

    def slow_remove_older(folder: Path, cutoff: float) -> int:
        """A slow disk: the removal blocks until the test lets it go on."""
        runs.append(cutoff)
        started.set()
        release.wait(timeout=30)
        return real_remove_older(folder, cutoff)

    await setup_connected(hass, config_entry)
    media = config_entry.runtime_data.media
    with patch.object(media_in, "_remove_older", slow_remove_older):
        await advance(hass, freezer, RETENTION_FIRST_RUN + 1)
        await wait_for(started.is_set, rounds=ROUNDS)
        # The next daily run comes while the first still runs: it is not started twice.
        await advance(hass, freezer, 86400)
        assert len(runs) == 1
        stopping = asyncio.ensure_future(media.async_stop())
        for _ in range(2000):
            await asyncio.sleep(0)
        assert not stopping.done()
        assert old.exists()
        release.set()
        await stopping
        # Stopping returned only once the removal had finished; no daily run after it.
        assert not old.exists()
        await advance(hass, freezer, 86400)
        assert len(runs) == 1
    await unload(hass, config_entry)


async def test_old_files_that_cannot_be_removed_are_reported_once(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_MEDIA_KEEP_DAYS: 30})
    await setup_connected(hass, config_entry)
    media = config_entry.runtime_data.media
    # No file received yet: nothing to do.
    assert not (media_dir / "whatsapp").exists()
    assert await media.async_remove_old() == 0
    denied = OSError(errno.EACCES, "Permission denied")
    with patch.object(media_in, "_remove_older", side_effect=denied):
        assert await media.async_remove_old() == 0
        assert await media.async_remove_old() == 0
    ours = [r for r in caplog.records if r.name == LOGGER_NAME]
    warnings = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
    assert warnings == ["Could not remove old received files (Permission denied)"]
    debug = [r.getMessage() for r in ours if r.levelno == logging.DEBUG]
    assert "Could not remove old received files (Permission denied)" in debug
    await unload(hass, config_entry)


async def test_removal_copes_with_files_and_folders_changing_meanwhile(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    media_dir: Path,
) -> None:
    """Someone removes a file after it was listed; a new file arrives in an emptied folder."""
    hass.config_entries.async_update_entry(config_entry, options={CONF_MEDIA_KEEP_DAYS: 30})
    chat = chat_folder(media_dir)
    other_chat = chat_folder(media_dir, GROUP)
    ancient = dt_util.utcnow().timestamp() - 40 * 86400
    for path in (chat / "old.jpeg", other_chat / "old.pdf"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (ancient, ancient))
    real_walk = os.walk

    def walk_with_a_vanished_file(top: Any, **kwargs: Any) -> Any:
        for root, dirs, files in real_walk(top, **kwargs):
            yield root, dirs, [*files, "gone.jpeg"] if Path(root) == chat else files

    real_rmdir = Path.rmdir

    def rmdir_with_a_newcomer(self: Path) -> None:
        if self == other_chat:
            raise OSError(errno.ENOTEMPTY, "Directory not empty")
        real_rmdir(self)

    await setup_connected(hass, config_entry)
    with (
        patch.object(media_in.os, "walk", walk_with_a_vanished_file),
        patch.object(Path, "rmdir", rmdir_with_a_newcomer),
    ):
        removed = await config_entry.runtime_data.media.async_remove_old()
    assert removed == 2
    assert not chat.exists()
    # The folder that could not go stays, and nothing else is touched.
    assert other_chat.is_dir()
    assert files_in(media_dir) == []
    await unload(hass, config_entry)


def test_names_and_types_without_an_answer() -> None:
    # An account whose id holds no number yet goes by the session's name.
    assert account_folder(Me(id="unknown@c.us"), "my phone") == "my_phone"
    # A type WhatsApp rarely sends takes the usual extension for it.
    assert extension_for("text/plain", None) == ".txt"
    # Nothing to go by: a neutral extension.
    assert extension_for(None, None) == ".bin"
    assert extension_for("", "") == ".bin"
    # The type a file is served with, when its message names none, without its parameters.
    assert main_type("Text/Plain; charset=UTF-8") == "text/plain"
    assert main_type(None) is None
    assert main_type(";") is None
