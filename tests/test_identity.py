"""An entry is its WhatsApp account: moving the bridge keeps the device and the entity ids."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import DOMAIN

from .conftest import API_KEY, ME_ID, PUSH_NAME, SESSION
from .helpers import CONNECTED, STATE, state_of, wait_for_state

OLD_STATE_ENTITY = "sensor.my_whatsapp_link"


@pytest.fixture
async def moved_bridge() -> AsyncGenerator[BridgeDouble]:
    """The same account's bridge after a move to another host and port."""
    double = BridgeDouble(api_key=API_KEY)
    double.add_session(
        SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    await double.start()
    yield double
    await double.stop()


def registry_of(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """entity_id -> unique_id of the entry's entities."""
    return {
        item.entity_id: item.unique_id
        for item in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }


async def test_an_older_entry_adopts_its_account_keeping_every_entity_id(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Entries made before 1.2 are known by URL: they move, entity ids and device stay."""
    old_id = config_entry.unique_id
    assert old_id is not None
    assert "://" in old_id
    devices = dr.async_get(hass)
    device = devices.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, old_id)}, name=PUSH_NAME
    )
    # A user renamed one entity before the update.
    er.async_get(hass).async_get_or_create(
        "sensor",
        DOMAIN,
        f"{old_id}_connection_state",
        config_entry=config_entry,
        device_id=device.id,
        suggested_object_id="my_whatsapp_link",
    )

    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.unique_id == ME_ID
    assert config_entry.minor_version == 2
    entities = registry_of(hass, config_entry)
    assert entities[OLD_STATE_ENTITY] == f"{ME_ID}_connection_state"
    assert all(unique_id.startswith(f"{ME_ID}_") for unique_id in entities.values())
    assert not any(entity_id.endswith("_2") for entity_id in entities)
    assert state_of(hass, OLD_STATE_ENTITY) == "connected"
    # One device, the same one, now known by the account.
    assert [d.id for d in dr.async_entries_for_config_entry(devices, config_entry.entry_id)] == [
        device.id
    ]
    assert devices.async_get(device.id).identifiers == {(DOMAIN, ME_ID)}  # type: ignore[union-attr]


async def test_an_entry_adopts_its_account_once_the_bridge_says_who(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """Bridge down at start: the old identity stays until a later start can ask."""
    old_id = config_entry.unique_id
    await bridge.bridge_down()
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.unique_id == old_id
    entity_ids = set(registry_of(hass, config_entry))

    await bridge.bridge_up()
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.unique_id == ME_ID
    assert set(registry_of(hass, config_entry)) == entity_ids


async def test_another_entry_of_the_same_account_keeps_its_old_id(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """Two sessions linked to one phone: only one entry can be the account."""
    old_id = config_entry.unique_id
    # The other entry is not set up; only its identity matters here.
    MockConfigEntry(domain=DOMAIN, title="first", data={}, unique_id=ME_ID).add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.unique_id == old_id


async def test_reconfiguring_the_url_keeps_the_device_and_entity_ids(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    moved_bridge: BridgeDouble,
    config_entry: MockConfigEntry,
) -> None:
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    before = registry_of(hass, config_entry)
    devices = dr.async_get(hass)
    [device] = dr.async_entries_for_config_entry(devices, config_entry.entry_id)

    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: moved_bridge.url, "session": SESSION, "verify_ssl": True},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    await wait_for_state(hass, STATE, "connected")

    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.data[CONF_URL] == moved_bridge.url
    assert registry_of(hass, config_entry) == before
    assert [d.id for d in dr.async_entries_for_config_entry(devices, config_entry.entry_id)] == [
        device.id
    ]
    assert devices.async_get(device.id).configuration_url == moved_bridge.url  # type: ignore[union-attr]
    assert state_of(hass, CONNECTED) == "on"
    assert hass.states.get(f"{STATE}_2") is None
    await hass.config_entries.async_unload(config_entry.entry_id)
