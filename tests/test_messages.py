"""Incoming messages end to end: live, after a drop, after a restart, through a stalled stream.

Real sockets to the bridge double; frozen time moves backoff and poll timers.
"""

from __future__ import annotations

from datetime import UTC, datetime
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.const import CONF_BACKFILL_HOURS, EVENT_MESSAGE_RECEIVED
from custom_components.whatsapp_gateway.event import PRIVATE_ATTRIBUTES

from .conftest import ME_ID, SESSION
from .helpers import (
    CONNECTED,
    DISCONNECTS,
    REASON,
    advance,
    settle,
    setup_connected,
    state_of,
    unload,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

MESSAGE_ENTITY = "event.alice_phone_message"
BOB = "4917612345678@c.us"
CAROL = "4917687654321@c.us"
GROUP = "120363025246125486@g.us"


def received(events: list[Event[Any]]) -> list[dict[str, Any]]:
    return [dict(event.data) for event in events]


def assert_exactly_once_in_order(events: list[Event[Any]], sent: list[dict[str, Any]]) -> None:
    """Each sent message id arrives once; within each chat, in the order it was sent."""
    ids = [event.data["message_id"] for event in events]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert set(ids) == {message["id"] for message in sent}, "a message was lost"
    for chat_id in {message["from"] for message in sent}:
        got = [e.data["message_id"] for e in events if e.data["chat_id"] == chat_id]
        assert got == [m["id"] for m in sent if m["from"] == chat_id]


async def test_live_message_fires_one_event_with_the_contract_fields(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    sent = await bridge.emit_message(SESSION, chat_id=BOB, body="hi there", timestamp=1_790_000_000)
    await wait_for(lambda: len(events) == 1)
    [device] = dr.async_entries_for_config_entry(dr.async_get(hass), config_entry.entry_id)
    assert events[0].data == {
        "config_entry_id": config_entry.entry_id,
        "device_id": device.id,
        "message_id": sent["id"],
        "chat_id": BOB,
        "sender": BOB,
        "sender_name": None,
        "text": "hi there",
        "timestamp": datetime.fromtimestamp(1_790_000_000, UTC).isoformat(),
        "is_group": False,
        "has_media": False,
        "buffered": False,
        "from_me": False,
        "reply_to": None,
        "media": None,
        "media_error": None,
        "location": None,
    }
    state = hass.states.get(MESSAGE_ENTITY)
    assert state is not None
    assert state.attributes["event_type"] == "received"
    assert state.attributes["text"] == "hi there"
    assert state.attributes["buffered"] is False


async def test_own_messages_and_stories_are_skipped_groups_name_the_participant(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(SESSION, chat_id=BOB, body="mine", from_me=True)
    await bridge.emit_message(SESSION, chat_id="status@broadcast", body="story")
    await bridge.emit_message(
        SESSION, chat_id=GROUP, body="hello all", participant=CAROL, has_media=True
    )
    await wait_for(lambda: len(events) == 1)
    await settle(hass)
    assert len(events) == 1
    data = events[0].data
    assert (data["chat_id"], data["sender"], data["is_group"], data["has_media"]) == (
        GROUP,
        CAROL,
        True,
        True,
    )


async def test_lid_senders_resolve_when_the_bridge_knows_them(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    bridge.add_lid(SESSION, "11111111111111@lid", BOB)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(SESSION, chat_id="11111111111111@lid", body="known")
    await bridge.emit_message(SESSION, chat_id="22222222222222@lid", body="unknown")
    await bridge.emit_message(SESSION, chat_id=GROUP, body="g", participant="11111111111111@lid")
    await bridge.emit_message(SESSION, chat_id="11111111111111@lid", body="cached")
    await wait_for(lambda: len(events) == 4)
    assert [(e.data["chat_id"], e.data["sender"]) for e in events] == [
        ("11111111111111@lid", BOB),
        ("22222222222222@lid", "22222222222222@lid"),
        (GROUP, BOB),
        ("11111111111111@lid", BOB),
    ]
    # One look-up per hidden id: the known one is cached.
    assert bridge.count_requests(path_prefix=f"/api/{SESSION}/lids/") == 2


async def test_a_duplicate_frame_is_delivered_once(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    first = await bridge.emit_message(SESSION, chat_id=BOB, body="once")
    await bridge.emit_message(SESSION, chat_id=BOB, body="once", message_id=first["id"])
    await bridge.emit_message(SESSION, chat_id=BOB, body="next")
    await wait_for(lambda: len(events) == 2)
    await settle(hass)
    assert [e.data["text"] for e in events] == ["once", "next"]


async def test_messages_during_a_stream_drop_arrive_buffered_once_in_order(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    before = await bridge.emit_message(SESSION, chat_id=BOB, body="before")
    await wait_for(lambda: len(events) == 1)
    bridge.cut_streams()
    await wait_for(lambda: state_of(hass, CONNECTED) == "off")
    missed = []
    for index in range(6):
        freezer.tick(1)
        chat = (BOB, CAROL, GROUP)[index % 3]
        missed.append(
            await bridge.emit_message(
                SESSION,
                chat_id=chat,
                body=f"missed {index}",
                participant=CAROL if chat == GROUP else None,
            )
        )
    await advance(hass, freezer, 2)
    await wait_for(lambda: len(events) == 7)
    await settle(hass)
    assert state_of(hass, CONNECTED) == "on"
    assert events[0].data["buffered"] is False
    assert [e.data["buffered"] for e in events[1:]] == [True] * 6
    assert_exactly_once_in_order(events, [before, *missed])
    # Live messages after the backfill are live again.
    after = await bridge.emit_message(SESSION, chat_id=BOB, body="after")
    await wait_for(lambda: len(events) == 8)
    assert events[-1].data["message_id"] == after["id"]
    assert events[-1].data["buffered"] is False


async def test_messages_while_home_assistant_is_stopped_arrive_after_setup(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    seen = [await bridge.emit_message(SESSION, chat_id=BOB, body=f"seen {i}") for i in range(3)]
    await wait_for(lambda: len(events) == 3)
    await unload(hass, config_entry)
    freezer.tick(600)
    # Stored by the bridge while nobody listens (same second as the last delivered one too).
    missed = [
        await bridge.emit_message(SESSION, chat_id=chat, body="while stopped", stream=False)
        for chat in (BOB, CAROL, BOB)
    ]
    await setup_connected(hass, config_entry)
    await wait_for(lambda: len(events) == 6)
    await settle(hass)
    assert [e.data["buffered"] for e in events] == [False] * 3 + [True] * 3
    assert_exactly_once_in_order(events, seen + missed)


async def test_a_restart_in_the_middle_of_a_backfill_neither_loses_nor_repeats(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await unload(hass, config_entry)
    freezer.tick(60)
    start = int(time.time())
    backlog = bridge.inject_history(SESSION, BOB, 600, start_timestamp=start, step=0)
    backlog += bridge.inject_history(SESSION, CAROL, 600, start_timestamp=start, step=0)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await wait_for(lambda: len(events) >= 250, rounds=100_000)
    await unload(hass, config_entry)
    interrupted_at = len(events)
    assert 250 <= interrupted_at < 1200
    await setup_connected(hass, config_entry)
    await wait_for(lambda: len(events) >= 1200, rounds=100_000)
    await settle(hass)
    assert_exactly_once_in_order(events, backlog)
    assert all(e.data["buffered"] for e in events)


async def test_a_stalled_stream_is_detected_counted_and_backfilled(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    bridge.stall_stream(SESSION)
    stalled = [
        await bridge.emit_message(SESSION, chat_id=BOB, body=f"stalled {i}") for i in range(3)
    ]
    await settle(hass)
    assert events == []
    await advance(hass, freezer, 60)  # the poll notices the bridge holds unseen messages
    await wait_for(lambda: len(events) == 3)
    assert state_of(hass, DISCONNECTS) == "1"
    assert state_of(hass, REASON) == "stream_stalled"
    assert state_of(hass, CONNECTED) == "on"
    assert [e.data["buffered"] for e in events] == [True] * 3
    assert_exactly_once_in_order(events, stalled)
    # Quiet chats are no stall: the next polls change nothing.
    bridge.stall_stream(SESSION, False)
    await advance(hass, freezer, 60)
    await advance(hass, freezer, 60)
    assert state_of(hass, DISCONNECTS) == "1"


async def test_a_brand_new_entry_replays_no_history(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    bridge.inject_history(SESSION, BOB, 20, start_timestamp=int(time.time()) - 3600)
    await setup_connected(hass, config_entry)
    await advance(hass, freezer, 60)
    assert events == []


async def test_nothing_older_than_backfill_hours_is_replayed(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_BACKFILL_HOURS: 1})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await unload(hass, config_entry)
    freezer.tick(3 * 3600)
    now = int(time.time())
    await bridge.emit_message(SESSION, chat_id=BOB, body="too old", timestamp=now - 2 * 3600)
    recent = await bridge.emit_message(SESSION, chat_id=BOB, body="recent", timestamp=now - 600)
    await setup_connected(hass, config_entry)
    await wait_for(lambda: len(events) == 1)
    await settle(hass)
    assert [e.data["message_id"] for e in events] == [recent["id"]]


async def test_the_event_entity_keeps_text_and_sender_out_of_the_recorder(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    entity = hass.data["entity_components"]["event"].get_entity(MESSAGE_ENTITY)
    assert entity is not None
    unrecorded = entity._state_info["unrecorded_attributes"]
    assert {"text", "sender", "sender_name", "chat_id", "message_id"} <= unrecorded
    assert unrecorded >= PRIVATE_ATTRIBUTES


async def test_unload_while_messages_flow_leaves_nothing_running(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    for index in range(50):
        await bridge.emit_message(SESSION, chat_id=BOB, body=f"{index}")
    await unload(hass, config_entry)
    assert config_entry.state is ConfigEntryState.NOT_LOADED
    assert len(events) <= 50
    assert ME_ID not in str(events)
