"""Test helpers: wait for conditions driven by real socket I/O, read entity states."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from bridge_double import BridgeDouble

CONNECTED = "binary_sensor.alice_phone_connected"
STATE = "sensor.alice_phone_connection_state"
SINCE = "sensor.alice_phone_connected_since"
AVAILABILITY = "sensor.alice_phone_availability"
DISCONNECTS = "sensor.alice_phone_disconnects"
REASON = "sensor.alice_phone_last_disconnect_reason"
OUTAGE = "sensor.alice_phone_last_outage"
RECONNECT_BUTTON = "button.alice_phone_reconnect"


async def wait_for(condition: Callable[[], bool], *, rounds: int = 5000) -> None:
    """Let the loop run (sockets included) until `condition` holds; no wall-clock sleeps."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def settle(hass: HomeAssistant, rounds: int = 200) -> None:
    """Run the loop a while so that in-flight socket traffic is handled."""
    for _ in range(rounds):
        await asyncio.sleep(0)
    await hass.async_block_till_done()


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """The state string of an entity (fails loudly when it does not exist)."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} does not exist"
    return state.state


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move frozen time forward and fire what came due.

    In-flight socket traffic is settled first: moving time past a request would fire its
    client timeout, which is not the fault under test.
    """
    await settle(hass)
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await settle(hass)


async def wait_for_state(hass: HomeAssistant, entity_id: str, expected: str) -> None:
    """Wait until the entity has the expected state."""
    await wait_for(lambda: (s := hass.states.get(entity_id)) is not None and s.state == expected)


async def setup_connected(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set the entry up and wait until the link is connected."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, CONNECTED, "on")


async def unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload the entry (Home Assistant stops it) and let everything settle."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def go_offline(hass: HomeAssistant, bridge: BridgeDouble, session: str = "default") -> None:
    """A WhatsApp blip: the bridge answers, but the session is not WORKING."""
    await bridge.blip(session)
    await wait_for_state(hass, CONNECTED, "off")


async def go_online(hass: HomeAssistant, bridge: BridgeDouble, session: str = "default") -> None:
    """The blip ends: connected again, and what that set off has run."""
    await bridge.end_blip(session)
    await wait_for_state(hass, CONNECTED, "on")
    await settle(hass)
