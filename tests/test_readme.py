"""The README's example automations are valid automations for Home Assistant."""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import yaml

README = Path(__file__).parent.parent / "README.md"


def yaml_blocks() -> list[Any]:
    return [
        yaml.safe_load(block)
        for block in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    ]


def example_automations() -> list[dict[str, Any]]:
    return [block for block in yaml_blocks() if isinstance(block, dict) and "triggers" in block]


async def test_every_example_automation_loads(hass: HomeAssistant) -> None:
    automations = example_automations()
    # One per entity, action and event at least (see the README's sections).
    assert len(automations) >= 15
    aliases = [automation["alias"] for automation in automations]
    assert len(set(aliases)) == len(aliases)
    assert await async_setup_component(hass, "automation", {"automation": automations})
    await hass.async_block_till_done()
    try:
        states = hass.states.async_all("automation")
        assert {state.attributes["friendly_name"] for state in states} == set(aliases)
        # An automation whose configuration is invalid is created unavailable.
        assert [s.entity_id for s in states if s.state == STATE_UNAVAILABLE] == []
    finally:
        # Detach the time triggers, so that no timer outlives the test.
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
        )


def test_every_event_and_action_has_an_example() -> None:
    text = yaml.safe_dump(example_automations())
    for name in (
        "whatsapp_gateway_message_received",
        "whatsapp_gateway_message_sent",
        "whatsapp_gateway_message_failed",
        "whatsapp_gateway_reaction_received",
        "whatsapp_gateway_poll_vote",
        "whatsapp_gateway.reconnect",
        "whatsapp_gateway.send_message",
        "whatsapp_gateway.send_media",
        "whatsapp_gateway.send_location",
        "whatsapp_gateway.react",
        "whatsapp_gateway.mark_read",
        "whatsapp_gateway.ask",
        "notify.send_message",
    ):
        assert name in text, name
    for entity in (
        "binary_sensor.alice_connected",
        "sensor.alice_connection_state",
        "sensor.alice_connected_since",
        "sensor.alice_availability",
        "sensor.alice_disconnects",
        "sensor.alice_last_disconnect_reason",
        "sensor.alice_last_outage",
        "sensor.alice_outbound_queue",
        "button.alice_reconnect",
        "event.alice_message",
        "image.alice_pairing_qr",
    ):
        assert entity in text, entity


def test_the_dashboard_view_is_the_one_scripts_develop_ships() -> None:
    dashboard = yaml.safe_load((README.parent / "develop" / "dashboard.yaml").read_text())
    views = [block for block in yaml_blocks() if isinstance(block, dict) and "sections" in block]
    assert views == dashboard["views"]
    text = yaml.safe_dump(views)
    for entity in ("image.alice_pairing_qr", "button.alice_reconnect", "sensor.alice_availability"):
        assert entity in text, entity


def test_links_and_images_point_to_something() -> None:
    text = README.read_text()
    headings = {
        re.sub(r"[^\w\- ]", "", title).strip().lower().replace(" ", "-")
        for title in re.findall(r"^#+ (.+)$", text, re.M)
    }
    for anchor in re.findall(r"\]\(#([\w\-]+)\)", text):
        assert anchor in headings, anchor
    for path in re.findall(r"\]\((?!https?:|#)([^)\s]+)\)", text):
        assert (README.parent / path).exists(), path
    assert "docs/screenshots/pairing_repair.png" in text
