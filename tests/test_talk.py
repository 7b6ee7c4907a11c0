"""Talking to the home, end to end against the double: who may, self chat, replies,
reactions, poll votes, and the react / mark_read actions."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.const import (
    CONF_ALLOWED_GROUPS,
    CONF_ALLOWED_SENDERS,
    CONF_GROUP_POLICY,
    CONF_SELF_CHAT,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_POLL_VOTE,
    EVENT_REACTION_RECEIVED,
)

from .conftest import SESSION
from .helpers import CONNECTED, advance, settle, setup_connected, unload, wait_for, wait_for_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

BOB = "4917612345678@c.us"
BOB_LID = "98765432109876@lid"
CAROL = "4917687654321@c.us"
FAMILY = "120363025246125486@g.us"
CLUB = "120363099999999999@g.us"
ME_LID = "55555555555555@lid"


@pytest.fixture
def profile() -> str:
    """The bridge the test plays (parametrize `profile` to play another)."""
    return "GOWS-2026.7.1-CORE"


def with_options(hass: HomeAssistant, entry: MockConfigEntry, **options: Any) -> None:
    hass.config_entries.async_update_entry(entry, options=options)


def texts(events: list[Event[Any]]) -> list[str]:
    return [event.data["text"] for event in events]


async def call(
    hass: HomeAssistant, entry: MockConfigEntry, service: str, **data: Any
) -> dict[str, Any] | None:
    return await hass.services.async_call(  # type: ignore[return-value]
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=service in ("send_message",),
    )


# ------------------------------------------------------------------ who may talk to the home


async def test_allowlist_refuses_others_without_replaying_them_after_a_gap(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    with_options(hass, config_entry, **{CONF_ALLOWED_SENDERS: ["+4917612345678"]})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(SESSION, chat_id=CAROL, body="let me in")
    await bridge.emit_message(SESSION, chat_id=BOB, body="hello")
    await wait_for(lambda: len(events) == 1)
    assert events[0].data["sender"] == BOB
    # A gap: the backfill reads both chats again; the refused message stays refused.
    await bridge.close_streams(code=1006)
    await wait_for_state(hass, CONNECTED, "off")
    await advance(hass, freezer, 3)
    await wait_for_state(hass, CONNECTED, "on")
    await settle(hass)
    assert texts(events) == ["hello"]
    await unload(hass, config_entry)


async def test_a_hidden_sender_matches_the_number_it_resolves_to(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    with_options(hass, config_entry, **{CONF_ALLOWED_SENDERS: ["+4917612345678"]})
    bridge.add_lid(SESSION, BOB_LID, BOB)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(SESSION, chat_id="11112222333344@lid", body="unknown")
    await bridge.emit_message(SESSION, chat_id=BOB_LID, body="from bob")
    await wait_for(lambda: len(events) == 1)
    assert events[0].data["sender"] == BOB
    assert events[0].data["chat_id"] == BOB_LID
    await settle(hass)
    assert texts(events) == ["from bob"]
    await unload(hass, config_entry)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({CONF_GROUP_POLICY: "none"}, ["direct"]),
        ({CONF_GROUP_POLICY: "allowlist", CONF_ALLOWED_GROUPS: [FAMILY]}, ["family", "direct"]),
        ({}, ["family", "club", "direct"]),
        (
            {CONF_ALLOWED_SENDERS: [BOB]},
            ["family", "club", "direct"],
        ),
        ({CONF_ALLOWED_SENDERS: [CAROL]}, []),
    ],
)
async def test_group_policy(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    options: dict[str, Any],
    expected: list[str],
) -> None:
    with_options(hass, config_entry, **options)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.emit_message(SESSION, chat_id=FAMILY, participant=BOB, body="family")
    await bridge.emit_message(SESSION, chat_id=CLUB, participant=BOB, body="club")
    await bridge.emit_message(SESSION, chat_id=BOB, body="direct")
    await settle(hass)
    await wait_for(lambda: len(events) >= len(expected))
    await settle(hass)
    assert texts(events) == expected
    await unload(hass, config_entry)


# ------------------------------------------------------------------------------ self chat


@pytest.mark.parametrize(
    "profile", ["GOWS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE", "WEBJS-2026.7.1-CORE"]
)
async def test_self_chat_fires_your_messages_there_and_nowhere_else(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, profile: str
) -> None:
    with_options(hass, config_entry, **{CONF_SELF_CHAT: True, CONF_ALLOWED_SENDERS: [BOB]})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.send_from_phone(SESSION, chat_id=CAROL, body="to carol")
    await bridge.write_in_self_chat("turn on the kitchen light")
    await wait_for(lambda: len(events) == 1)
    await settle(hass)
    [event] = events
    assert event.data["text"] == "turn on the kitchen light"
    assert event.data["from_me"] is True
    assert event.data["chat_id"] == bridge.self_chat_id(SESSION)
    await unload(hass, config_entry)


async def test_self_chat_through_your_hidden_id(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.set_me_lid(SESSION, ME_LID)
    with_options(hass, config_entry, **{CONF_SELF_CHAT: True})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.write_in_self_chat("hello me")
    await wait_for(lambda: len(events) == 1)
    assert events[0].data["chat_id"] == ME_LID
    await unload(hass, config_entry)


async def test_without_self_chat_your_messages_fire_nothing(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await bridge.write_in_self_chat("note to self")
    await bridge.emit_message(SESSION, chat_id=BOB, body="after")
    await wait_for(lambda: len(events) == 1)
    await settle(hass)
    assert texts(events) == ["after"]
    await unload(hass, config_entry)


@pytest.mark.parametrize("profile", ["GOWS-2026.7.1-CORE", "WEBJS-2026.7.1-CORE"])
async def test_what_the_gateway_sends_to_your_self_chat_never_comes_back(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, profile: str
) -> None:
    """With ids (GOWS 2026.7.1) the ledger knows the send; without (WEBJS) its echo is taken."""
    with_options(hass, config_entry, **{CONF_SELF_CHAT: True})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    response = await call(
        hass, config_entry, "send_message", target="+491511234567", message="Garage open"
    )
    assert response is not None
    assert response["status"] == "sent"
    await bridge.write_in_self_chat("close it")
    await wait_for(lambda: len(events) == 1)
    await settle(hass)
    assert texts(events) == ["close it"]
    await unload(hass, config_entry)


async def test_self_chat_written_while_home_assistant_was_down_arrives_once(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    with_options(hass, config_entry, **{CONF_SELF_CHAT: True})
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await call(hass, config_entry, "send_message", target="+491511234567", message="sent by HA")
    await bridge.write_in_self_chat("before")
    await wait_for(lambda: len(events) == 1)
    await unload(hass, config_entry)
    await bridge.write_in_self_chat("while down")
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await wait_for_state(hass, CONNECTED, "on")
    await wait_for(lambda: len(events) == 2)
    await settle(hass)
    assert texts(events) == ["before", "while down"]
    assert [event.data["buffered"] for event in events] == [False, True]
    await unload(hass, config_entry)


# ------------------------------------------------------------------- replies and reactions


async def test_a_quoted_message_says_what_it_replies_to(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    first = await bridge.emit_message(SESSION, chat_id=BOB, body="question")
    await bridge.emit_message(SESSION, chat_id=BOB, body="answer", reply_to=first["id"])
    await wait_for(lambda: len(events) == 2)
    assert [event.data["reply_to"] for event in events] == [None, first["id"]]
    await unload(hass, config_entry)


async def test_send_message_quotes_with_reply_to(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    incoming = await bridge.emit_message(SESSION, chat_id=BOB, body="is it done?")
    await call(
        hass, config_entry, "send_message", target=BOB, message="yes", reply_to=incoming["id"]
    )
    [record] = bridge.session(SESSION).sent
    assert record["reply_to"] == incoming["id"]
    await unload(hass, config_entry)


@pytest.mark.parametrize(
    "profile", ["GOWS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE", "WEBJS-2026.7.1-CORE"]
)
async def test_reactions_fire_once_and_respect_the_policy(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, profile: str
) -> None:
    with_options(hass, config_entry, **{CONF_ALLOWED_SENDERS: [BOB]})
    events = async_capture_events(hass, EVENT_REACTION_RECEIVED)
    await setup_connected(hass, config_entry)
    response = await call(hass, config_entry, "send_message", target=BOB, message="dinner?")
    assert response is not None
    sent_id = response["message_id"]
    await bridge.emit_reaction(SESSION, message_id=sent_id, reaction="👍")
    await bridge.emit_reaction(SESSION, message_id=sent_id, reaction="")
    await bridge.emit_reaction(SESSION, message_id=sent_id, reaction="😂", chat_id=CAROL)
    await wait_for(lambda: len(events) == 2)
    await settle(hass)
    assert [event.data["reaction"] for event in events] == ["👍", ""]
    assert events[0].data["config_entry_id"] == config_entry.entry_id
    assert events[0].data["message_id"] == sent_id
    assert events[0].data["chat_id"] == BOB
    assert events[0].data["sender"] == BOB
    await unload(hass, config_entry)


@pytest.mark.parametrize(
    "profile", ["GOWS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE", "WEBJS-2026.7.1-CORE"]
)
async def test_poll_votes_fire_with_the_chosen_options(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, profile: str
) -> None:
    events = async_capture_events(hass, EVENT_POLL_VOTE)
    await setup_connected(hass, config_entry)
    coordinator = config_entry.runtime_data
    result = await coordinator.outgoing.async_send(BOB, "Pizza?", poll_options=["Yes", "No"])
    poll_id = result["message_id"]
    [poll] = bridge.talk_state(SESSION)["polls"]
    assert poll["options"] == ["Yes", "No"]
    await bridge.emit_poll_vote(SESSION, poll_id=poll_id, options=["No"])
    await bridge.emit_poll_vote(SESSION, poll_id=poll_id, options=["Yes"], failed=True)
    await wait_for(lambda: len(events) == 1)
    await settle(hass)
    [event] = events
    assert event.data["poll_id"] == poll_id
    assert event.data["options"] == ["No"]
    assert event.data["sender"] == BOB
    assert event.data["chat_id"] == BOB
    await unload(hass, config_entry)


# --------------------------------------------------------------------- react and mark_read


async def test_react_and_mark_read_reach_the_bridge(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    incoming = await bridge.emit_message(SESSION, chat_id=BOB, body="done!")
    await call(hass, config_entry, "react", message_id=incoming["id"], reaction="🎉")
    await call(hass, config_entry, "react", message_id=incoming["id"])
    await call(hass, config_entry, "mark_read", chat_id="+4917612345678")
    state = bridge.talk_state(SESSION)
    assert [(r["message_id"], r["reaction"]) for r in state["reactions"]] == [
        (incoming["id"], "🎉"),
        (incoming["id"], ""),
    ]
    assert [seen["chat_id"] for seen in state["seen"]] == [BOB]
    await unload(hass, config_entry)


async def test_react_while_offline_or_refused_says_why(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    bridge.fail_requests("PUT", "/api/reaction", status=501)
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, config_entry, "react", message_id=f"false_{BOB}_ABC", reaction="👍")
    assert caught.value.translation_key == "not_supported"
    bridge.fail_requests("POST", "/api/sendSeen", status=500)
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, config_entry, "mark_read", chat_id=BOB)
    assert caught.value.translation_key == "send_failed"
    await bridge.blip(SESSION)
    await wait_for_state(hass, CONNECTED, "off")
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, config_entry, "mark_read", chat_id=BOB)
    assert caught.value.translation_key == "not_connected"
    await unload(hass, config_entry)
