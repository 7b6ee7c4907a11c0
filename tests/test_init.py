"""Setting up and unloading entries against the bridge double."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble

from .helpers import CONNECTED, STATE, state_of, wait_for_state


async def test_setup_connects(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    await wait_for_state(hass, CONNECTED, "on")
    assert state_of(hass, STATE) == "connected"
    assert bridge.stream_count("default") == 1

    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.NOT_LOADED
