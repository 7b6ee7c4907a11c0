"""The pairing steps when the bridge misbehaves: races, outages, a rejected key, odd statuses."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.bridge import WahaClient
from custom_components.whatsapp_gateway.const import DOMAIN

from .conftest import ME_ID, PUSH_NAME, SESSION
from .flow_support import FlowClient, FlowRefreshes, qr_data
from .helpers import wait_for
from .test_config_flow import configure, pairing_flow, refreshed, start_user_flow, user_input
from .test_pairing import issue_id, logged_out, next_step, open_fix


async def qr_step(
    repairs: FlowClient, refreshes: FlowRefreshes, entry: MockConfigEntry
) -> tuple[str, dict[str, Any]]:
    flow_id, _ = await open_fix(repairs, refreshes, issue_id("pairing_required", entry))
    return flow_id, await repairs.submit(flow_id, {"next_step_id": "scan_qr"})


async def exhaust_unseen(bridge: BridgeDouble) -> None:
    """The codes run out while no event reaches Home Assistant (a stalled stream)."""
    bridge.stall_stream(SESSION)
    while bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE:
        await bridge.rotate_qr(SESSION)


async def test_a_session_restarting_meanwhile_is_waited_for(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, step = await qr_step(repairs, refreshes, config_entry)
    await bridge.set_status(SESSION, SessionStatus.STARTING)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["type"] == "progress"
    # An odd status wakes the wait, which goes on waiting.
    await bridge.set_status(SESSION, "BOOTING")
    await bridge.set_status(SESSION, SessionStatus.SCAN_QR_CODE)
    step = await next_step(repairs, refreshes, flow_id)
    # The user had chosen the QR code: it comes back without the menu.
    assert step["step_id"] == "scan_qr"
    assert qr_data(step) == bridge.session(SESSION).qr_value


async def test_a_stale_qr_step_shows_what_the_session_moved_on_to(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, step = await qr_step(repairs, refreshes, config_entry)
    await exhaust_unseen(bridge)
    # Submitting the QR step asks for the code: 422, so the status is read again.
    step = await repairs.submit(flow_id, {})
    assert step["step_id"] == "start_over"
    assert step["description_placeholders"]["status"] == "FAILED"
    # A refresh of the start-over step shows it again.
    assert (await repairs.fetch(flow_id))["step_id"] == "start_over"


async def test_a_stale_code_request_shows_what_the_session_moved_on_to(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, _ = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    await repairs.submit(flow_id, {"next_step_id": "pairing_code"})
    await exhaust_unseen(bridge)
    step = await repairs.submit(flow_id, {"phone_number": "+491511234567"})
    assert step["step_id"] == "start_over"


async def test_a_code_request_while_the_bridge_is_down_is_a_form_error(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, _ = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    await repairs.submit(flow_id, {"next_step_id": "pairing_code"})
    bridge.stall_stream(SESSION)
    await bridge.bridge_down()
    step = await repairs.submit(flow_id, {"phone_number": "+491511234567"})
    assert step["step_id"] == "pairing_code"
    assert step["errors"] == {"base": "cannot_connect"}


async def test_fix_while_the_bridge_is_down_aborts(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    await bridge.bridge_down()
    _, step = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    assert step["type"] == "abort"
    assert step["reason"] == "cannot_connect"


async def test_fix_of_a_deleted_session_aborts(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    bridge.delete_session(SESSION)
    _, step = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    assert step["type"] == "abort"
    assert step["reason"] == "session_not_found"


async def test_fix_with_a_rotated_key_aborts(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, _ = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    bridge.rotate_api_key("rotated-key-1234567890")
    step = await repairs.submit(flow_id, {"next_step_id": "scan_qr"})
    assert step["type"] == "abort"
    assert step["reason"] == "invalid_auth"


async def missing_session_fix(
    hass: HomeAssistant, bridge: BridgeDouble, entry: MockConfigEntry, repairs: FlowClient
) -> str:
    """Set the entry up without its session on the bridge; open the session_missing fix."""
    bridge.delete_session(SESSION)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    missing = issue_id("session_missing", entry)
    flow_id: str = (await repairs.start({"handler": DOMAIN, "issue_id": missing}))["flow_id"]
    return flow_id


async def test_session_missing_fix_errors(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
) -> None:
    flow_id = await missing_session_fix(hass, bridge, config_entry, repairs)
    await bridge.bridge_down()
    step = await repairs.submit(flow_id, {})
    assert step["errors"] == {"base": "cannot_connect"}
    await bridge.bridge_up()

    bridge.rotate_api_key("rotated-key-1234567890")
    step = await repairs.submit(flow_id, {})
    assert step["type"] == "abort"
    assert step["reason"] == "invalid_auth"

    # Opened again after the entry was unloaded: nothing to work with.
    missing = issue_id("session_missing", config_entry)
    flow_id = (await repairs.start({"handler": DOMAIN, "issue_id": missing}))["flow_id"]
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    step = await repairs.submit(flow_id, {})
    assert step["type"] == "abort"
    assert step["reason"] == "entry_not_loaded"


async def test_session_created_meanwhile_is_fine(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    """Someone created the session in the bridge's UI while the dialog was open."""
    flow_id = await missing_session_fix(hass, bridge, config_entry, repairs)
    bridge.add_session(SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID)
    step = await repairs.submit(flow_id, {})
    step = await next_step(repairs, refreshes, flow_id)
    assert step["type"] == "create_entry"


# ---------------------------------------------------------------- the config flow's own stream


async def test_config_flow_session_deleted_while_pairing_aborts(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    refreshes = FlowRefreshes(hass)
    bridge.add_session("fresh", status=SessionStatus.SCAN_QR_CODE)
    flow_id, _ = await pairing_flow(hass, bridge, refreshes, "fresh")
    bridge.delete_session("fresh")
    result = await configure(hass, flow_id, {"next_step_id": "scan_qr"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_config_flow_title_when_the_bridge_vanishes_at_the_end(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    refreshes = FlowRefreshes(hass)
    bridge.add_session("fresh", status=SessionStatus.SCAN_QR_CODE)
    flow_id, _ = await pairing_flow(hass, bridge, refreshes, "fresh")
    await configure(hass, flow_id, {"next_step_id": "scan_qr"})
    await bridge.scan_qr("fresh", me_id=ME_ID, push_name=PUSH_NAME)
    await refreshes.wait(flow_id)
    await bridge.bridge_down()
    with patch("custom_components.whatsapp_gateway.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "WhatsApp fresh"


async def test_config_flow_closed_while_waiting(hass: HomeAssistant, bridge: BridgeDouble) -> None:
    bridge.add_session("fresh", status=SessionStatus.STARTING)
    flow_id = await start_user_flow(hass)
    result = await configure(hass, flow_id, user_input(bridge, session="fresh"))
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await wait_for(lambda: bridge.stream_count("fresh") == 1)
    hass.config_entries.flow.async_abort(flow_id)
    await wait_for(lambda: bridge.stream_count("fresh") == 0)
    assert not hass.config_entries.flow.async_progress()


async def test_config_flow_unexpected_error_aborts(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    refreshes = FlowRefreshes(hass)
    bridge.add_session("fresh", status=SessionStatus.STOPPED)
    flow_id = await start_user_flow(hass)
    with patch.object(WahaClient, "start_session", side_effect=RuntimeError("boom")):
        await configure(hass, flow_id, user_input(bridge, session="fresh"))
        result = await refreshed(hass, refreshes, flow_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unknown"
