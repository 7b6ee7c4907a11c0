"""The shipped blueprint, loaded by Home Assistant and driven by a real link going down."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.const import DOMAIN

from .conftest import SESSION
from .helpers import CONNECTED, REASON, advance, setup_connected, wait_for_state

ROOT = Path(__file__).parent.parent
BLUEPRINT = ROOT / "blueprints" / "automation" / DOMAIN / "notify_when_disconnected.yaml"


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A configuration directory of this test's own, to install the blueprint into."""
    return hass_tmp_config_dir


def install(hass: HomeAssistant) -> str:
    """Put the blueprint where the UI's import puts it; return its path for `use_blueprint`."""
    installed = Path(hass.config.path("blueprints", "automation", DOMAIN))
    installed.mkdir(parents=True)
    shutil.copy(BLUEPRINT, installed)
    return f"{DOMAIN}/{BLUEPRINT.name}"


@pytest.fixture
async def phone(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> list[ServiceCall]:
    """The blueprint installed and used with 5 minutes and `notify.my_phone`."""
    path = install(hass)
    calls = async_mock_service(hass, "notify", "my_phone")
    await setup_connected(hass, config_entry)
    automation = {
        "alias": "WhatsApp link down and back",
        "use_blueprint": {
            "path": path,
            "input": {
                "connected_sensor": CONNECTED,
                "reason_sensor": REASON,
                "minutes": 5,
                "notify_action": "notify.my_phone",
            },
        },
    }
    assert await async_setup_component(hass, "automation", {"automation": automation})
    await hass.async_block_till_done()
    assert hass.states.get("automation.whatsapp_link_down_and_back") is not None
    return calls


async def test_the_blueprint_is_valid_and_asks_for_our_entities(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "automation", {})
    blueprint = await async_get_blueprints(hass).async_get_blueprint(install(hass))
    inputs = blueprint.inputs
    assert set(inputs) == {"connected_sensor", "reason_sensor", "minutes", "notify_action"}
    for name in ("connected_sensor", "reason_sensor"):
        (entity_filter,) = inputs[name]["selector"]["entity"]["filter"]
        assert entity_filter["integration"] == DOMAIN
    # It claims the same oldest release as hacs.json.
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert blueprint.metadata["homeassistant"]["min_version"] == hacs["homeassistant"]


async def test_a_long_outage_is_reported_with_its_reason_and_its_end(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    freezer: FrozenDateTimeFactory,
    phone: list[ServiceCall],
) -> None:
    await bridge.blip(SESSION)
    await wait_for_state(hass, CONNECTED, "off")
    await advance(hass, freezer, 4 * 60)
    assert phone == []
    await advance(hass, freezer, 61)
    (down,) = phone
    assert down.data["title"] == "WhatsApp is disconnected"
    assert "down for 5 minutes" in down.data["message"]
    assert "Reason: WhatsApp reconnecting." in down.data["message"]
    assert "Repairs" not in down.data["message"]
    await advance(hass, freezer, 60)
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")
    await hass.async_block_till_done()
    assert len(phone) == 2
    back = phone[1]
    assert back.data["title"] == "WhatsApp is back"
    assert "connected again after 6 minutes" in back.data["message"]


async def test_a_short_drop_stays_quiet(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    freezer: FrozenDateTimeFactory,
    phone: list[ServiceCall],
) -> None:
    await bridge.blip(SESSION)
    await wait_for_state(hass, CONNECTED, "off")
    await advance(hass, freezer, 2 * 60)
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")
    await advance(hass, freezer, 10 * 60)
    assert phone == []


async def test_a_logout_points_to_repairs(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    freezer: FrozenDateTimeFactory,
    phone: list[ServiceCall],
) -> None:
    await bridge.logout_from_phone(SESSION)
    await wait_for_state(hass, CONNECTED, "off")
    await advance(hass, freezer, 5 * 60 + 1)
    (down,) = phone
    assert "Reason: Logged out." in down.data["message"]
    assert "open Settings → Repairs" in down.data["message"]
