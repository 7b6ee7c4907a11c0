"""Edges of the message path: a failing backfill, malformed frames, the logbook, storage."""

from __future__ import annotations

from collections.abc import Callable
import logging
from typing import Any

import aiohttp
from homeassistant.core import Event, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.bridge import WahaClient, WaMessage
from custom_components.whatsapp_gateway.const import (
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_SENT,
)
from custom_components.whatsapp_gateway.incoming import (
    MAX_BACKFILL_FAILURES,
    IncomingMessages,
    inbox_store,
)
from custom_components.whatsapp_gateway.logbook import async_describe_events
from custom_components.whatsapp_gateway.outgoing import outbox_store

from .conftest import API_KEY, SESSION
from .helpers import settle, setup_connected, unload, wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

BOB = "4917612345678@c.us"


async def test_a_backfill_that_keeps_failing_is_given_up_and_held_messages_go_out(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    entry = MockConfigEntry(domain=DOMAIN, title="Alice", data={})
    entry.add_to_hass(hass)
    async with aiohttp.ClientSession() as http:
        # Nothing listens on port 9: every request fails to connect.
        client = WahaClient(http, "http://127.0.0.1:9", API_KEY, request_timeout=2)
        incoming = IncomingMessages(hass, entry, client, SESSION)
        await incoming.async_load()
        assert incoming.backfill_due
        held = WaMessage(id="false_x_1", chat_id=BOB, from_me=False, timestamp=1.0, body="hi")
        await incoming.async_on_live(held)
        assert events == []
        assert not await incoming.async_stream_stalled()
        for _ in range(MAX_BACKFILL_FAILURES - 1):
            await incoming.async_backfill()
            assert incoming.backfill_due
            assert events == []
        with caplog.at_level(logging.WARNING):
            await incoming.async_backfill()
        await hass.async_block_till_done()
        assert not incoming.backfill_due
        assert [e.data["message_id"] for e in events] == ["false_x_1"]
        assert events[0].data["buffered"] is False
        assert "delivering new messages without them" in caplog.text
        assert incoming.diagnostics()["dedupe_window"] == 1
        await incoming.async_save()


async def test_a_message_event_without_an_id_is_skipped_with_one_warning(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    for _ in range(3):
        await bridge.send_event("message.any", {"from": BOB, "body": "no id"}, SESSION)
    await bridge.emit_message(SESSION, chat_id=BOB, body="fine")
    await wait_for(lambda: len(events) == 1)
    await settle(hass)
    warnings = [r for r in caplog.records if "without an id or a chat" in r.getMessage()]
    assert len(warnings) == 1
    assert "no id" not in caplog.text


async def test_removing_the_entry_deletes_its_stores(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.emit_message(SESSION, chat_id=BOB, body="x")
    await unload(hass, config_entry)
    keys = {
        inbox_store(hass, config_entry.entry_id).key,
        outbox_store(hass, config_entry.entry_id).key,
    }
    assert keys <= set(hass_storage)
    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert not keys & set(hass_storage)


def test_logbook_describes_the_events_without_numbers_or_text(hass: HomeAssistant) -> None:
    describers: dict[str, Callable[[Event[Any]], dict[str, str]]] = {}

    def describe(
        domain: str, event_type: str, describer: Callable[[Event[Any]], dict[str, str]]
    ) -> None:
        assert domain == DOMAIN
        describers[event_type] = describer

    async_describe_events(hass, describe)

    def text(event_type: str, data: dict[str, Any]) -> str:
        return describers[event_type](Event(event_type, data))["message"]

    received = {"sender": BOB, "sender_name": "Bob", "text": "secret", "is_group": True}
    assert text(EVENT_MESSAGE_RECEIVED, received) == "received a message from Bob in a group"
    assert text(EVENT_MESSAGE_RECEIVED, {"buffered": True}) == (
        "received a message from someone in a chat (delivered after the link was down)"
    )
    assert text(EVENT_MESSAGE_SENT, {"target": BOB}) == "sent a message"
    assert text(EVENT_MESSAGE_SENT, {"delayed": True}) == (
        "sent a queued message once the link was back"
    )
    assert text(EVENT_MESSAGE_FAILED, {"reason": "expired"}) == (
        "could not send a message: it waited longer than its time to live"
    )
    assert text(EVENT_MESSAGE_FAILED, {}) == "could not send a message: an unknown reason"
    for event_type in describers:
        assert describers[event_type](Event(event_type, received))["name"] == "WhatsApp Gateway"
        assert "secret" not in text(event_type, received)
        assert BOB not in text(event_type, received)
