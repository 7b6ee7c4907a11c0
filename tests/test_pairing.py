"""Link the phone again from Home Assistant: the pairing_required and session_missing fixes.

Everything runs over real sockets: the bridge double on 127.0.0.1 and Home Assistant's HTTP
views, driven the way the frontend's dialog drives them (see flow_support).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import DOMAIN
from custom_components.whatsapp_gateway.pairing import REANNOUNCE_DELAY

from .conftest import ME_ID, PUSH_NAME, SESSION
from .flow_support import FlowClient, FlowRefreshes, qr_data
from .helpers import CONNECTED, STATE, setup_connected, state_of, wait_for, wait_for_state

RESTART = "/api/sessions/default/restart"
START = "/api/sessions/default/start"


async def reannounce_due(hass: HomeAssistant) -> None:
    """Fire the timer of the second announcement (the session's own clock keeps running)."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=REANNOUNCE_DELAY + 0.1))
    await hass.async_block_till_done()


def issue_id(key: str, entry: MockConfigEntry) -> str:
    return f"{key}_{entry.entry_id}"


def our_issues(hass: HomeAssistant) -> list[str]:
    registry = ir.async_get(hass)
    return sorted(key[1] for key in registry.issues if key[0] == DOMAIN)


async def logged_out(hass: HomeAssistant, bridge: BridgeDouble, entry: MockConfigEntry) -> None:
    """Connected, then logged out from the phone: pairing_required, the QR codes rotate."""
    # As on a real bridge, a restart takes a moment: its statuses arrive one by one.
    bridge.transition_delay = 0.01
    await setup_connected(hass, entry)
    bridge.clear_requests()
    await bridge.logout_from_phone(SESSION)
    await wait_for_state(hass, STATE, "pairing_required")
    await wait_for(lambda: bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE)
    await hass.async_block_till_done()


async def seen_by_integration(entry: MockConfigEntry, status: SessionStatus) -> None:
    """Wait until the integration's stream delivered the session status."""
    await wait_for(lambda: entry.runtime_data.session.status == status)


async def open_fix(
    repairs: FlowClient, refreshes: FlowRefreshes, issue: str
) -> tuple[str, dict[str, Any]]:
    """Open a fix flow; wait out its first progress step; return the flow id and next step."""
    step = await repairs.start({"handler": DOMAIN, "issue_id": issue})
    flow_id: str = step["flow_id"]
    if step["type"] == "progress":
        await refreshes.wait(flow_id)
        step = await repairs.fetch(flow_id)
    return flow_id, step


async def next_step(repairs: FlowClient, refreshes: FlowRefreshes, flow_id: str) -> dict[str, Any]:
    """Wait for the flow to announce a change, then fetch it as the frontend does."""
    await refreshes.wait(flow_id)
    return await repairs.fetch(flow_id)


async def test_logout_fix_with_qr_follows_rotation_and_finishes_by_itself(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    coordinator = config_entry.runtime_data
    # GOWS keeps `me` after a logout from the phone, so FAILED does not say the login is
    # gone: the one restart shows it (it asks for a QR code). pairing_required comes once
    # (an automation on it fires once), and the reason is the logout.
    states = [state for _, state, _ in coordinator.transitions]
    assert states[-3:] == ["connected", "connecting", "pairing_required"]
    assert coordinator.data.last_disconnect_reason == "logged_out"
    # One repair, one restart (the one that brings the QR code), no loop.
    assert our_issues(hass) == [issue_id("pairing_required", config_entry)]
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 1
    assert (
        ir.async_get(hass)
        .async_get_issue(DOMAIN, issue_id("pairing_required", config_entry))
        .is_fixable
    )  # type: ignore[union-attr]

    flow_id, step = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    # The session already shows a QR code: nothing was started or restarted again.
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 1
    assert bridge.count_requests(method="POST", path_prefix=START) == 0
    assert step["type"] == "menu"
    assert step["step_id"] == "method"
    assert set(step["menu_options"]) == {"scan_qr", "pairing_code"}

    step = await repairs.submit(flow_id, {"next_step_id": "scan_qr"})
    assert step["step_id"] == "scan_qr"
    first = qr_data(step)
    assert first == bridge.session(SESSION).qr_value

    # Each new code reaches the open dialog.
    for _ in range(3):
        await bridge.rotate_qr(SESSION)
        step = await next_step(repairs, refreshes, flow_id)
        assert step["step_id"] == "scan_qr"
        assert qr_data(step) == bridge.session(SESSION).qr_value
    assert qr_data(step) != first

    # The phone scans: the dialog finishes by itself, the issue is gone, no reload.
    await bridge.scan_qr(SESSION, me_id=ME_ID, push_name=PUSH_NAME)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["type"] == "create_entry"
    await wait_for_state(hass, CONNECTED, "on")
    assert state_of(hass, STATE) == "connected"
    assert our_issues(hass) == []
    assert config_entry.runtime_data is coordinator
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 1


async def test_a_dialog_that_listens_only_after_the_progress_still_moves_on(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    """The usual case: the repair is opened while the session already shows a QR code."""
    await logged_out(hass, bridge, config_entry)
    step = await repairs.start(
        {"handler": DOMAIN, "issue_id": issue_id("pairing_required", config_entry)}
    )
    assert step["type"] == "progress"
    flow_id = step["flow_id"]
    # Nothing to wait for: the progress is over before the frontend, which subscribes to
    # flow events only once it has drawn the progress step, hears its event.
    await hass.async_block_till_done()
    refreshes.skip(flow_id)
    await reannounce_due(hass)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["type"] == "menu"
    assert step["step_id"] == "method"


async def test_the_second_announcement_spares_a_phone_number_being_typed(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, _ = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    step = await repairs.submit(flow_id, {"next_step_id": "pairing_code"})
    assert step["step_id"] == "pairing_code"
    await reannounce_due(hass)
    assert not refreshes.pending(flow_id)


async def test_logout_fix_with_pairing_code(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, step = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    step = await repairs.submit(flow_id, {"next_step_id": "pairing_code"})
    assert step["step_id"] == "pairing_code"

    step = await repairs.submit(flow_id, {"phone_number": "12345"})
    assert step["errors"] == {"phone_number": "invalid_phone_number"}
    assert bridge.count_requests(path_prefix="/api/default/auth/request-code") == 0

    # A new QR code does not wipe the number the user is typing.
    await bridge.rotate_qr(SESSION)
    await hass.async_block_till_done()
    assert not refreshes.pending(flow_id)

    step = await repairs.submit(flow_id, {"phone_number": "+49 151 1234-5678"})
    assert step["step_id"] == "show_code"
    code = bridge.session(SESSION).pairing_code
    assert code is not None
    assert len(code.replace("-", "")) == 8
    assert step["description_placeholders"]["code"] == code
    request = bridge.requests[-1]
    assert request.path == "/api/default/auth/request-code"

    await bridge.enter_pairing_code(SESSION)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["type"] == "create_entry"
    await wait_for_state(hass, CONNECTED, "on")
    assert our_issues(hass) == []


async def test_qr_codes_run_out_then_start_over(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, step = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    step = await repairs.submit(flow_id, {"next_step_id": "scan_qr"})
    # The remaining five codes pass unscanned: the session fails.
    while bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE:
        await bridge.rotate_qr(SESSION)
    await seen_by_integration(config_entry, SessionStatus.FAILED)
    refreshes.skip(flow_id)
    step = await repairs.fetch(flow_id)
    assert step["step_id"] == "start_over"
    assert step["description_placeholders"]["status"] == "FAILED"
    # The integration itself does not restart again: that is the user's call.
    await hass.async_block_till_done()
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 1
    assert state_of(hass, STATE) == "pairing_required"

    step = await repairs.submit(flow_id, {})
    assert step["type"] == "progress"
    step = await next_step(repairs, refreshes, flow_id)
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 2
    assert step["step_id"] == "method"
    step = await repairs.submit(flow_id, {"next_step_id": "scan_qr"})
    assert qr_data(step) == bridge.session(SESSION).qr_value
    assert bridge.session(SESSION).qr_count == 1

    await bridge.scan_qr(SESSION, me_id=ME_ID, push_name=PUSH_NAME)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["type"] == "create_entry"
    await wait_for_state(hass, CONNECTED, "on")


async def test_fix_opened_after_the_codes_ran_out_restarts_once(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    while bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE:
        await bridge.rotate_qr(SESSION)
    await seen_by_integration(config_entry, SessionStatus.FAILED)
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 1

    flow_id, step = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 2
    assert step["step_id"] == "method"
    step = await repairs.submit(flow_id, {"next_step_id": "scan_qr"})
    assert qr_data(step) == bridge.session(SESSION).qr_value


async def test_passkey_statuses_show_an_honest_instruction(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    flow_id, step = await open_fix(repairs, refreshes, issue_id("pairing_required", config_entry))
    await bridge.require_passkey(SESSION)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["step_id"] == "passkey"
    assert state_of(hass, STATE) == "pairing_required"

    await bridge.require_passkey(SESSION, confirmation=True)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["step_id"] == "passkey"
    # Submitting only checks again.
    step = await repairs.submit(flow_id, {})
    assert step["step_id"] == "passkey"

    await bridge.confirm_passkey(SESSION)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["type"] == "create_entry"
    await wait_for_state(hass, CONNECTED, "on")


async def test_session_missing_fix_creates_starts_and_links(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    bridge.delete_session(SESSION)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await wait_for_state(hass, STATE, "stopped")
    missing = issue_id("session_missing", config_entry)
    assert our_issues(hass) == [missing]

    step = await repairs.start({"handler": DOMAIN, "issue_id": missing})
    flow_id = step["flow_id"]
    assert step["step_id"] == "create_session"
    assert step["description_placeholders"]["session"] == SESSION

    step = await repairs.submit(flow_id, {})
    assert step["type"] == "progress"
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions") == 1
    step = await next_step(repairs, refreshes, flow_id)
    assert step["step_id"] == "method"
    assert SESSION in bridge.sessions
    step = await repairs.submit(flow_id, {"next_step_id": "scan_qr"})
    assert qr_data(step) == bridge.session(SESSION).qr_value

    await bridge.scan_qr(SESSION, me_id=ME_ID, push_name=PUSH_NAME)
    step = await next_step(repairs, refreshes, flow_id)
    assert step["type"] == "create_entry"
    await wait_for_state(hass, CONNECTED, "on")
    assert our_issues(hass) == []


async def test_fix_of_an_unloaded_entry_aborts(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    refreshes: FlowRefreshes,
) -> None:
    await logged_out(hass, bridge, config_entry)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    # Unloading leaves the issue (it is not persistent, so a restart clears it).
    step = await repairs.start(
        {"handler": DOMAIN, "issue_id": issue_id("pairing_required", config_entry)}
    )
    assert step["type"] == "abort"
    assert step["reason"] == "entry_not_loaded"
