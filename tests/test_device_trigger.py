"""Device triggers through the real automation integration, driven by the bridge double.

"Message received" (with sender and text filters), "link lost" and "link restored" (with `for`)
on the account's device; the editor's list and capabilities; invalid configs rejected.
"""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.components.device_automation.trigger import async_validate_trigger_config
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway import device_trigger
from custom_components.whatsapp_gateway.compat import vol
from custom_components.whatsapp_gateway.const import DOMAIN, EVENT_MESSAGE_RECEIVED

from .conftest import SESSION
from .helpers import CONNECTED, advance, settle, setup_connected, wait_for, wait_for_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

BOB = "4917612345678@c.us"
BOB_E164 = "+49 176 1234-5678"
CAROL = "4917687654321@c.us"
GROUP = "120363025246125486@g.us"


@pytest.fixture
async def device_id(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> str:
    """The account's device, with the link connected."""
    await setup_connected(hass, config_entry)
    [device] = dr.async_entries_for_config_entry(dr.async_get(hass), config_entry.entry_id)
    return device.id


@pytest.fixture
def calls(hass: HomeAssistant) -> list[ServiceCall]:
    """What the automations did: each calls `test.automation` with its alias."""
    return async_mock_service(hass, "test", "automation")


def trigger(device_id: str, trigger_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "platform": "device",
        "domain": DOMAIN,
        "device_id": device_id,
        "type": trigger_type,
    } | fields


async def add_automations(hass: HomeAssistant, **triggers: dict[str, Any]) -> None:
    """One automation per keyword (its alias), reporting what its trigger handed over."""
    automations = [
        {
            "alias": alias,
            "triggers": [config],
            "actions": [
                {
                    "action": "test.automation",
                    "data": {
                        "alias": alias,
                        "platform": "{{ trigger.platform }}",
                        "description": "{{ trigger.description }}",
                        "text": "{{ trigger.event.data.text if trigger.event is defined }}",
                        "event_type": "{{ trigger.event.event_type if trigger.event is defined }}",
                        "to": "{{ trigger.to_state.state if trigger.to_state is defined }}",
                    },
                }
            ],
        }
        for alias, config in triggers.items()
    ]
    assert await async_setup_component(hass, "automation", {"automation": automations})
    await hass.async_block_till_done()


def fired(calls: list[ServiceCall]) -> list[str]:
    return [call.data["alias"] for call in calls]


async def receive(
    hass: HomeAssistant, bridge: BridgeDouble, chat_id: str, body: str, **kwargs: Any
) -> None:
    """The double emits a message; wait until the integration has fired its event."""
    seen: list[str] = []
    remove = hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, lambda e: seen.append(e.data["text"]))
    try:
        await bridge.emit_message(SESSION, chat_id=chat_id, body=body, **kwargs)
        await wait_for(lambda: body in seen)
        await settle(hass)
    finally:
        remove()


async def test_the_device_lists_its_three_triggers(hass: HomeAssistant, device_id: str) -> None:
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device_id)
    ours = [
        {key: value for key, value in t.items() if key != "metadata"}
        for t in triggers
        if t["domain"] == DOMAIN
    ]
    assert ours == [
        trigger(device_id, "message_received"),
        trigger(device_id, "link_lost"),
        trigger(device_id, "link_restored"),
    ]


async def test_capabilities_show_the_extra_fields(
    hass: HomeAssistant, device_id: str, hass_ws_client: WebSocketGenerator
) -> None:
    assert await async_setup_component(hass, "device_automation", {})
    client = await hass_ws_client(hass)
    fields: dict[str, list[dict[str, Any]]] = {}
    for msg_id, trigger_type in enumerate(("message_received", "link_lost", "link_restored"), 1):
        await client.send_json(
            {
                "id": msg_id,
                "type": "device_automation/trigger/capabilities",
                "trigger": trigger(device_id, trigger_type),
            }
        )
        msg = await client.receive_json()
        assert msg["success"], msg
        fields[trigger_type] = msg["result"]["extra_fields"]
    received = fields["message_received"]
    assert [(f["name"], f["optional"], "text" in f["selector"]) for f in received] == [
        ("sender", True, True),
        ("text_contains", True, True),
    ]
    duration = [
        {"name": "for", "optional": True, "required": False, "type": "positive_time_period_dict"}
    ]
    assert fields["link_lost"] == fields["link_restored"] == duration


async def test_message_received_hands_over_the_event(
    hass: HomeAssistant, bridge: BridgeDouble, device_id: str, calls: list[ServiceCall]
) -> None:
    await add_automations(hass, any_message=trigger(device_id, "message_received"))
    await receive(hass, bridge, BOB, "Hello Home")
    assert len(calls) == 1
    assert calls[0].data == {
        "alias": "any_message",
        "platform": "device",
        "description": f"WhatsApp message from {BOB}",
        "text": "Hello Home",
        "event_type": EVENT_MESSAGE_RECEIVED,
        "to": "",
    }


async def test_sender_and_text_filters(
    hass: HomeAssistant, bridge: BridgeDouble, device_id: str, calls: list[ServiceCall]
) -> None:
    await add_automations(
        hass,
        from_bob=trigger(device_id, "message_received", sender=BOB_E164),
        in_group=trigger(device_id, "message_received", sender=GROUP),
        lights=trigger(device_id, "message_received", text_contains="LIGHTS on"),
        bob_door=trigger(device_id, "message_received", sender=BOB, text_contains="door"),
    )
    await receive(hass, bridge, CAROL, "turn the lights ON please")
    assert fired(calls) == ["lights"]
    calls.clear()
    await receive(hass, bridge, BOB, "hi")
    assert fired(calls) == ["from_bob"]
    calls.clear()
    await receive(hass, bridge, BOB, "Open the DOOR")
    assert sorted(fired(calls)) == ["bob_door", "from_bob"]
    calls.clear()
    await receive(hass, bridge, CAROL, "the door")
    assert fired(calls) == []
    # In a group the sender is the participant; the group's id matches the chat.
    await receive(hass, bridge, GROUP, "group door", participant=BOB)
    assert sorted(fired(calls)) == ["bob_door", "from_bob", "in_group"]


async def test_messages_of_another_device_do_not_fire(
    hass: HomeAssistant, device_id: str, calls: list[ServiceCall]
) -> None:
    await add_automations(hass, any_message=trigger(device_id, "message_received"))
    hass.bus.async_fire(
        EVENT_MESSAGE_RECEIVED,
        {"device_id": "another-device", "sender": BOB, "chat_id": BOB, "text": "hi"},
    )
    await hass.async_block_till_done()
    assert calls == []


async def test_link_lost_and_restored_when_the_stream_drops(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    device_id: str,
    calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
) -> None:
    await add_automations(
        hass,
        lost=trigger(device_id, "link_lost"),
        restored=trigger(device_id, "link_restored"),
    )
    await bridge.close_streams(code=1000)
    await wait_for_state(hass, CONNECTED, "off")
    await settle(hass)
    assert fired(calls) == ["lost"]
    assert (calls[0].data["platform"], calls[0].data["to"]) == ("device", "off")
    await advance(hass, freezer, 1.0)
    await wait_for_state(hass, CONNECTED, "on")
    await settle(hass)
    assert fired(calls) == ["lost", "restored"]
    assert calls[1].data["to"] == "on"


async def test_link_lost_for_a_while(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    device_id: str,
    calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
) -> None:
    await add_automations(
        hass,
        lost_10s=trigger(device_id, "link_lost", **{"for": {"seconds": 10}}),
        restored_5s=trigger(device_id, "link_restored", **{"for": {"seconds": 5}}),
    )
    await bridge.blip(SESSION)  # WhatsApp reconnects: the link is down
    await wait_for_state(hass, CONNECTED, "off")
    await advance(hass, freezer, 5)
    await bridge.end_blip(SESSION)  # back before 10 s: never "lost"
    await wait_for_state(hass, CONNECTED, "on")
    await advance(hass, freezer, 2)
    assert fired(calls) == []  # nor "restored" yet: up for 2 s only
    await advance(hass, freezer, 4)
    assert fired(calls) == ["restored_5s"]
    await bridge.blip(SESSION)
    await wait_for_state(hass, CONNECTED, "off")
    await advance(hass, freezer, 6)
    assert fired(calls) == ["restored_5s"]
    await advance(hass, freezer, 5)
    assert fired(calls) == ["restored_5s", "lost_10s"]


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "message_sent"},
        {"type": "message_received", "sender": "bob"},
        {"type": "message_received", "sender": "+0049 176"},
        {"type": "message_received", "for": {"seconds": 5}},
        {"type": "link_lost", "sender": BOB},
        {"type": "link_restored", "text_contains": "x"},
        {"type": "link_lost", "for": {"seconds": -5}},
    ],
    ids=[
        "unknown_type",
        "sender_not_a_number",
        "sender_bad_number",
        "for_on_message",
        "sender_on_link",
        "text_on_link",
        "negative_for",
    ],
)
async def test_invalid_configs_are_rejected(
    hass: HomeAssistant, device_id: str, fields: dict[str, Any]
) -> None:
    config = {"platform": "device", "domain": DOMAIN, "device_id": device_id} | fields
    with pytest.raises(vol.Invalid):
        await async_validate_trigger_config(hass, config)


async def test_an_invalid_automation_is_not_set_up(
    hass: HomeAssistant, device_id: str, calls: list[ServiceCall]
) -> None:
    await add_automations(hass, broken=trigger(device_id, "message_received", sender="bob"))
    hass.bus.async_fire(
        EVENT_MESSAGE_RECEIVED, {"device_id": device_id, "sender": BOB, "chat_id": BOB, "text": ""}
    )
    await hass.async_block_till_done()
    assert calls == []
    state = hass.states.get("automation.broken")
    assert state is not None
    assert state.state == "unavailable"


async def test_valid_config_is_normalised(hass: HomeAssistant, device_id: str) -> None:
    config = trigger(device_id, "message_received", sender=BOB_E164, text_contains="x")
    assert await async_validate_trigger_config(hass, config) == config | {"sender": BOB}
    config = trigger(device_id, "link_lost", **{"for": {"minutes": 2}})
    validated = await async_validate_trigger_config(hass, config)
    assert validated["for"].total_seconds() == 120


async def test_a_device_without_the_connectivity_sensor_has_no_link_triggers(
    hass: HomeAssistant, device_id: str, config_entry: MockConfigEntry
) -> None:
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, "other")}
    )
    # A sensor, and a binary sensor of ours that is not the `connected` one.
    registry = er.async_get(hass)
    for domain in ("sensor", "binary_sensor"):
        registry.async_get_or_create(
            domain, DOMAIN, f"{domain}_other", device_id=other.id, config_entry=config_entry
        )
    triggers = await device_trigger.async_get_triggers(hass, other.id)
    assert [t["type"] for t in triggers] == ["message_received"]
    with pytest.raises(InvalidDeviceAutomationConfig):
        await async_validate_trigger_config(hass, trigger(other.id, "link_lost"))
    assert await async_validate_trigger_config(hass, trigger(other.id, "message_received"))
