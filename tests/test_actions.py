"""The reconnect action and button, options and persistence."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import DOMAIN

from .conftest import ME_ID, PUSH_NAME, SESSION, entry_data
from .helpers import (
    AVAILABILITY,
    CONNECTED,
    DISCONNECTS,
    REASON,
    RECONNECT_BUTTON,
    STATE,
    advance,
    settle,
    setup_connected,
    state_of,
    wait_for,
    wait_for_state,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_reconnect_action_returns_the_state(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    response = await hass.services.async_call(
        DOMAIN,
        "reconnect",
        {"config_entry_id": config_entry.entry_id, "restart_session": True},
        blocking=True,
        return_response=True,
    )
    # The double restarts a paired session at once, so WORKING may already be back.
    assert response in ({"state": "connecting"}, {"state": "connected"})
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/default/restart") == 1
    await wait_for_state(hass, CONNECTED, "on")
    assert state_of(hass, REASON) == "manual"
    assert state_of(hass, DISCONNECTS) == "1"
    assert bridge.stream_count(SESSION) == 1


async def test_reconnect_button(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await hass.services.async_call(
        "button", "press", {ATTR_ENTITY_ID: RECONNECT_BUTTON}, blocking=True
    )
    await wait_for_state(hass, CONNECTED, "on")
    assert bridge.count_requests(method="WS") == 2
    assert bridge.count_requests(method="POST") == 0


async def test_reconnect_from_auth_failed_checks_once_and_stays(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.rotate_api_key("rotated-key-9876543210")
    await advance(hass, freezer, 60)
    await wait_for_state(hass, STATE, "auth_failed")
    bridge.clear_requests()
    response = await hass.services.async_call(
        DOMAIN,
        "reconnect",
        {"config_entry_id": config_entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response == {"state": "auth_failed"}
    assert state_of(hass, STATE) == "auth_failed"
    # One check: a stream attempt (closed 1008) and nothing after it.
    assert 1 <= bridge.count_requests() <= 2
    await advance(hass, freezer, 600)
    assert bridge.count_requests() <= 2


async def test_reconnect_from_pairing_required_stays_put(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.add_session(SESSION, status=SessionStatus.SCAN_QR_CODE, paired=False)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, STATE, "pairing_required")
    response = await hass.services.async_call(
        DOMAIN,
        "reconnect",
        {"config_entry_id": config_entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response == {"state": "pairing_required"}
    assert bridge.count_requests(method="POST") == 0


async def test_reconnect_action_rejects_unknown_and_unloaded_entries(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN, "reconnect", {"config_entry_id": "nope"}, blocking=True
        )
    assert error.value.translation_key == "entry_not_found"
    other = MockConfigEntry(domain=DOMAIN, title="Other", data=entry_data(bridge, session="x"))
    other.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN, "reconnect", {"config_entry_id": other.entry_id}, blocking=True
        )
    assert error.value.translation_key == "entry_not_loaded"


async def test_two_entries_run_side_by_side(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.add_session(
        "work",
        status=SessionStatus.WORKING,
        paired=True,
        me_id="491700000000@c.us",
        push_name="Work Phone",
    )
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Work Phone",
        data=entry_data(bridge, session="work"),
        unique_id=f"{bridge.url}#work",
    )
    second.add_to_hass(hass)
    await setup_connected(hass, config_entry)  # sets up every entry of the domain
    await wait_for_state(hass, "binary_sensor.work_phone_connected", "on")
    await bridge.blip("work")
    await wait_for_state(hass, "sensor.work_phone_connection_state", "connecting")
    await settle(hass)
    assert state_of(hass, CONNECTED) == "on"
    assert state_of(hass, DISCONNECTS) == "0"
    await bridge.logout_from_phone(SESSION)
    await wait_for_state(hass, STATE, "pairing_required")
    await bridge.end_blip("work")
    await wait_for_state(hass, "binary_sensor.work_phone_connected", "on")
    assert bridge.count_requests(method="POST", session="work") == 0


async def test_stopped_session_without_auto_start_stays_stopped(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    bridge.add_session(
        SESSION, status=SessionStatus.STOPPED, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=PUSH_NAME,
        data=entry_data(bridge),
        options={"auto_start": False},
        unique_id=f"{bridge.url}#{SESSION}",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, STATE, "stopped")
    assert bridge.count_requests(method="POST") == 0


async def test_failed_session_with_login_restarts_once_then_failed(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.transition_delay = 3600  # the restart stays in STARTING: it does not help
    me = {"id": ME_ID, "pushName": PUSH_NAME}
    await bridge.set_status(SESSION, SessionStatus.FAILED, me=me)
    await wait_for(lambda: bridge.count_requests(method="POST") == 1)
    await settle(hass)
    await bridge.set_status(SESSION, SessionStatus.FAILED, me=me)
    await wait_for_state(hass, STATE, "failed")
    for _ in range(10):
        await advance(hass, freezer, 60)
    assert state_of(hass, STATE) == "failed"
    assert bridge.count_requests(method="POST") == 1


async def test_presence_keepalive_marks_online_each_poll(
    hass: HomeAssistant, bridge: BridgeDouble, freezer: FrozenDateTimeFactory
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=PUSH_NAME,
        data=entry_data(bridge),
        options={"presence_keepalive": True},
        unique_id=f"{bridge.url}#{SESSION}",
    )
    entry.add_to_hass(hass)
    await setup_connected(hass, entry)
    for _ in range(3):
        await advance(hass, freezer, 60)
    assert bridge.count_requests(method="POST", path_prefix=f"/api/{SESSION}/presence") == 3


async def test_presence_keepalive_is_off_by_default(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    for _ in range(3):
        await advance(hass, freezer, 60)
    assert bridge.count_requests(path_prefix=f"/api/{SESSION}/presence") == 0


async def test_counters_and_availability_survive_a_restart(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    await advance(hass, freezer, 300)
    await bridge.blip(SESSION)
    await wait_for_state(hass, STATE, "connecting")
    await advance(hass, freezer, 100)
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")
    await advance(hass, freezer, 60)
    assert state_of(hass, DISCONNECTS) == "1"
    before = float(state_of(hass, AVAILABILITY))
    assert 70 < before < 90
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(3600)  # Home Assistant is down for an hour: not counted
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, CONNECTED, "on")
    assert state_of(hass, DISCONNECTS) == "1"
    assert state_of(hass, REASON) == "whatsapp_reconnecting"
    assert float(state_of(hass, AVAILABILITY)) == pytest.approx(before, abs=0.5)


async def test_availability_is_unknown_for_the_first_minute(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    assert state_of(hass, AVAILABILITY) == "unknown"
    await advance(hass, freezer, 61)
    assert float(state_of(hass, AVAILABILITY)) == pytest.approx(100.0)
