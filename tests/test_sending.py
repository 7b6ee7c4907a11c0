"""Outgoing messages end to end: the send action, the queue, its rate and expiry, notify.

Real sockets to the bridge double; frozen time moves the flush and expiry timers.
"""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.const import (
    CONF_QUEUE_TTL,
    CONF_SEND_RATE,
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_SENT,
    SUBENTRY_RECIPIENT,
)
from custom_components.whatsapp_gateway.outgoing import RETRY_AFTER

from .conftest import SESSION
from .helpers import (
    CONNECTED,
    advance,
    go_offline,
    go_online,
    settle,
    setup_connected,
    state_of,
    unload,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

QUEUE = "sensor.alice_phone_outbound_queue"
BOB_NUMBER = "+49 176 12345678"
BOB = "4917612345678@c.us"
GROUP = "120363025246125486@g.us"


async def send(
    hass: HomeAssistant, entry: MockConfigEntry, target: str, message: str, **extra: Any
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": entry.entry_id, "target": target, "message": message, **extra},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


def texts_sent(bridge: BridgeDouble) -> list[str]:
    return [record["text"] for record in bridge.session(SESSION).sent]


async def test_send_while_connected_goes_out_at_once(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    response = await send(hass, config_entry, BOB_NUMBER, "Washing machine is done")
    assert response["status"] == "sent"
    [record] = bridge.session(SESSION).sent
    assert record["chat_id"] == BOB
    assert record["text"] == "Washing machine is done"
    # Sent under the id the bridge generated before the first try.
    assert response["message_id"] == record["message_id"]
    assert record["key"] in response["message_id"]
    await settle(hass)
    assert [e.data["delayed"] for e in sent_events] == [False]
    assert sent_events[0].data["target"] == BOB
    assert sent_events[0].data["message_id"] == response["message_id"]
    assert state_of(hass, QUEUE) == "0"


async def test_group_and_lid_chat_ids_are_accepted(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await send(hass, config_entry, GROUP, "to the group")
    await send(hass, config_entry, "11111111111111@lid", "to a hidden id")
    assert [r["chat_id"] for r in bridge.session(SESSION).sent] == [GROUP, "11111111111111@lid"]


@pytest.mark.parametrize(
    ("target", "message", "key"),
    [
        ("4917612345678", "hi", "invalid_target"),  # no leading +
        ("+0176123", "hi", "invalid_target"),
        ("bob@example.com", "hi", "invalid_target"),
        ("12345@s.whatsapp.net", "hi", "invalid_target"),
        (BOB_NUMBER, "   ", "invalid_message"),
        (BOB_NUMBER, "x" * 65537, "invalid_message"),
    ],
)
async def test_bad_input_gives_a_translated_validation_error(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    target: str,
    message: str,
    key: str,
) -> None:
    await setup_connected(hass, config_entry)
    with pytest.raises(ServiceValidationError) as caught:
        await send(hass, config_entry, target, message)
    assert caught.value.translation_key == key
    assert caught.value.translation_domain == DOMAIN
    assert bridge.session(SESSION).sent == []


async def test_sends_while_offline_are_queued_and_flushed_in_order(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    responses = [await send(hass, config_entry, BOB_NUMBER, f"queued {i}") for i in range(3)]
    assert [r["status"] for r in responses] == ["queued"] * 3
    assert state_of(hass, QUEUE) == "3"
    assert bridge.session(SESSION).sent == []
    await go_online(hass, bridge)
    await wait_for(lambda: len(sent_events) == 3)
    assert texts_sent(bridge) == ["queued 0", "queued 1", "queued 2"]
    assert [e.data["queue_id"] for e in sent_events] == [r["queue_id"] for r in responses]
    assert all(e.data["delayed"] for e in sent_events)
    await wait_for(lambda: state_of(hass, QUEUE) == "0")


async def test_queue_false_while_offline_raises_instead(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    with pytest.raises(HomeAssistantError) as caught:
        await send(hass, config_entry, BOB_NUMBER, "now or never", queue=False)
    assert caught.value.translation_key == "not_connected"
    assert state_of(hass, QUEUE) == "0"


async def test_the_queue_survives_a_restart(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    await send(hass, config_entry, BOB_NUMBER, "survives")
    await unload(hass, config_entry)
    await bridge.end_blip(SESSION)
    await setup_connected(hass, config_entry)
    await wait_for(lambda: len(sent_events) == 1)
    assert texts_sent(bridge) == ["survives"]
    assert sent_events[0].data["delayed"] is True


async def test_the_flush_keeps_to_the_send_rate(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_SEND_RATE: 2})
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    for index in range(5):
        await send(hass, config_entry, BOB_NUMBER, f"m{index}")
    await go_online(hass, bridge)
    await wait_for(lambda: len(bridge.session(SESSION).sent) == 2)
    await advance(hass, freezer, 30)
    assert len(bridge.session(SESSION).sent) == 2
    await advance(hass, freezer, 31)
    await wait_for(lambda: len(bridge.session(SESSION).sent) == 4)
    await advance(hass, freezer, 61)
    await wait_for(lambda: len(bridge.session(SESSION).sent) == 5)
    assert texts_sent(bridge) == [f"m{index}" for index in range(5)]
    # Sends are direct again once the queue is empty, but never beyond the rate.
    assert (await send(hass, config_entry, BOB_NUMBER, "direct"))["status"] == "sent"
    response = await send(hass, config_entry, BOB_NUMBER, "one more")
    assert response["status"] == "queued"
    with pytest.raises(HomeAssistantError) as caught:
        await send(hass, config_entry, BOB_NUMBER, "or fail", queue=False)
    assert caught.value.translation_key == "rate_limited"


async def test_queued_messages_expire_with_a_failure_event(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    hass.config_entries.async_update_entry(config_entry, options={CONF_QUEUE_TTL: 600})
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    short = await send(hass, config_entry, BOB_NUMBER, "short-lived", ttl=30)
    await send(hass, config_entry, BOB_NUMBER, "default ttl")
    await advance(hass, freezer, 31)
    assert [(e.data["queue_id"], e.data["reason"]) for e in failed] == [
        (short["queue_id"], "expired")
    ]
    assert failed[0].data["target"] == BOB
    assert state_of(hass, QUEUE) == "1"
    await advance(hass, freezer, 600)
    assert [e.data["reason"] for e in failed] == ["expired", "expired"]
    assert state_of(hass, QUEUE) == "0"
    await go_online(hass, bridge)
    assert bridge.session(SESSION).sent == []


async def test_a_lost_answer_is_recognised_and_not_sent_twice(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    bridge.drop_send_answers(1)
    response = await send(hass, config_entry, BOB_NUMBER, "exactly once")
    # The bridge sent it, but the answer never came: it waits in the queue with its id.
    assert response["status"] == "queued"
    assert len(bridge.session(SESSION).sent) == 1
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 1)
    key = bridge.session(SESSION).sent[0]["key"]
    assert bridge.count_sends(SESSION, key=key) == 1
    assert sent_events[0].data["delayed"] is True
    assert sent_events[0].data["message_id"] == bridge.session(SESSION).sent[0]["message_id"]
    assert state_of(hass, QUEUE) == "0"


async def test_a_transient_failure_is_retried_under_the_same_id(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.fail_sends(1, status=500)
    response = await send(hass, config_entry, BOB_NUMBER, "retry me")
    assert response["status"] == "queued"
    assert bridge.session(SESSION).sent == []
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(bridge.session(SESSION).sent) == 1)
    assert texts_sent(bridge) == ["retry me"]


async def test_a_rejected_message_fails_instead_of_looping(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    failed = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    await setup_connected(hass, config_entry)
    bridge.fail_sends(1, status=400)
    with pytest.raises(HomeAssistantError) as caught:
        await send(hass, config_entry, BOB_NUMBER, "rejected now")
    assert caught.value.translation_key == "send_rejected"
    # Queued while offline, then rejected by the bridge: a failure event, and the next one goes.
    await go_offline(hass, bridge)
    rejected = await send(hass, config_entry, BOB_NUMBER, "rejected later")
    await send(hass, config_entry, BOB_NUMBER, "fine")
    bridge.fail_sends(1, status=400)
    await go_online(hass, bridge)
    await wait_for(lambda: len(bridge.session(SESSION).sent) == 1)
    assert texts_sent(bridge) == ["fine"]
    assert [(e.data["queue_id"], e.data["reason"]) for e in failed] == [
        (rejected["queue_id"], "rejected")
    ]


async def test_queue_false_with_a_transient_failure_raises(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    bridge.fail_sends(1, status=503)
    with pytest.raises(HomeAssistantError) as caught:
        await send(hass, config_entry, BOB_NUMBER, "no queue", queue=False)
    assert caught.value.translation_key == "send_failed"
    assert state_of(hass, QUEUE) == "0"


async def test_recipients_get_notify_entities_that_use_the_queue(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    result = await hass.config_entries.subentries.async_init(
        (config_entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Bob", "target": "not a number"}
    )
    assert result["errors"] == {"target": "invalid_target"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Bob", "target": BOB_NUMBER}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.states.get("notify.bob") is not None
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": "notify.bob", "message": "Door open", "title": "Alarm"},
        blocking=True,
    )
    assert texts_sent(bridge) == ["*Alarm*\nDoor open"]
    # While offline, notifications wait in the same queue.
    await go_offline(hass, bridge)
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": "notify.bob", "message": "Later"},
        blocking=True,
    )
    assert state_of(hass, QUEUE) == "1"
    await go_online(hass, bridge)
    await wait_for(lambda: texts_sent(bridge) == ["*Alarm*\nDoor open", "Later"])
    # The same recipient twice is refused.
    result = await hass.config_entries.subentries.async_init(
        (config_entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Bob again", "target": BOB}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_recipients_configured_before_setup_get_entities(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_add_subentry(
        config_entry,
        ConfigSubentry(
            data={"target": GROUP},
            subentry_type=SUBENTRY_RECIPIENT,
            title="Family",
            unique_id=GROUP,
        ),
    )
    await setup_connected(hass, config_entry)
    assert hass.states.get("notify.family") is not None
    # Removing the recipient removes its entity and device without a reload.
    [subentry_id] = config_entry.subentries
    hass.config_entries.async_remove_subentry(config_entry, subentry_id)
    await hass.async_block_till_done()
    assert hass.states.get("notify.family") is None
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), config_entry.entry_id)
    assert [device.name for device in devices] == ["Alice Phone"]
    assert state_of(hass, CONNECTED) == "on"
