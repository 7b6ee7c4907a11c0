"""The connection coordinator against the bridge double, fault by fault (waha-bridge.md 1-11).

Every test drives the real integration over real sockets on 127.0.0.1; time is frozen and
moved with `advance`, so backoff, heartbeat and poll timers fire deterministically.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import DOMAIN

from .conftest import API_KEY, SESSION
from .helpers import (
    CONNECTED,
    DISCONNECTS,
    OUTAGE,
    REASON,
    SINCE,
    STATE,
    advance,
    settle,
    setup_connected,
    state_of,
    wait_for,
    wait_for_state,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")


def issue(hass: HomeAssistant, key: str, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The repair issue `key` of `entry`, if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{key}_{entry.entry_id}")


async def test_fault1_boot_paired_starts_a_stopped_session_once(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.add_session(
        SESSION,
        status=SessionStatus.STOPPED,
        paired=True,
        me_id="491511234567@c.us",
        push_name="Alice Phone",
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, CONNECTED, "on")
    assert bridge.count_requests(method="POST", path_prefix=f"/api/sessions/{SESSION}/start") == 1
    assert state_of(hass, DISCONNECTS) == "0"


async def test_fault2_unpaired_boot_requires_pairing_without_a_restart_loop(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    bridge.add_session(SESSION, status=SessionStatus.STOPPED, paired=False)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, STATE, "pairing_required")
    assert issue(hass, "pairing_required", config_entry) is not None
    # Six QR codes expire, the session fails; one restart, then it stays put.
    for _ in range(2):
        for _ in range(6):
            await bridge.rotate_qr(SESSION)
            await settle(hass)
        await advance(hass, freezer, 60)
    for _ in range(60):
        await advance(hass, freezer, 60)
    assert state_of(hass, STATE) == "pairing_required"
    assert state_of(hass, CONNECTED) == "off"
    posts = bridge.count_requests(method="POST")
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/default/start") == 1
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/default/restart") == 1
    assert posts == 2
    # Scanning the code brings the link back without a reload; the repair goes away.
    await bridge.scan_qr(SESSION, me_id="491511234567@c.us", push_name="Alice Phone")
    await wait_for_state(hass, CONNECTED, "on")
    assert issue(hass, "pairing_required", config_entry) is None


async def test_fault3_whatsapp_blip_counts_a_disconnect(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await setup_connected(hass, config_entry)
    assert state_of(hass, SINCE) != "unknown"
    await bridge.blip(SESSION)
    await wait_for_state(hass, STATE, "connecting")
    assert state_of(hass, CONNECTED) == "off"
    assert state_of(hass, SINCE) == "unknown"
    assert state_of(hass, DISCONNECTS) == "1"
    assert state_of(hass, REASON) == "whatsapp_reconnecting"
    freezer.tick(12)
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")
    assert float(state_of(hass, OUTAGE)) == 12.0
    lost = [r for r in caplog.records if "Lost the WhatsApp link" in r.getMessage()]
    back = [r for r in caplog.records if "is back after" in r.getMessage()]
    assert [r.levelno for r in lost] == [logging.INFO]
    assert [r.levelno for r in back] == [logging.INFO]


async def test_fault4_logout_from_phone_restarts_once_and_raises_a_repair(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.clear_requests()
    await bridge.logout_from_phone(SESSION)
    await wait_for_state(hass, STATE, "pairing_required")
    await wait_for(lambda: bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE)
    assert state_of(hass, REASON) == "logged_out"
    repair = issue(hass, "pairing_required", config_entry)
    assert repair is not None
    assert repair.severity is ir.IssueSeverity.ERROR
    for _ in range(60):  # a simulated hour of polls
        await advance(hass, freezer, 60)
    assert state_of(hass, STATE) == "pairing_required"
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/default/restart") == 1
    assert bridge.count_requests(method="POST") == 1
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/default/logout") == 0


async def test_fault5_logout_through_the_api_ends_in_pairing(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    async with aiohttp.ClientSession() as client:
        response = await client.post(
            f"{bridge.url}/api/sessions/{SESSION}/logout", headers={"X-Api-Key": API_KEY}
        )
        assert response.status == 201
    await wait_for(lambda: bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE)
    await wait_for_state(hass, STATE, "pairing_required")
    for _ in range(10):
        await advance(hass, freezer, 60)
    assert state_of(hass, STATE) == "pairing_required"
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/default/start") <= 1
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/default/restart") == 0


async def test_fault6_rotated_key_stops_every_request_and_reauth_recovers(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.rotate_api_key("rotated-key-9876543210")
    # The open stream stays up; the next poll is rejected.
    await advance(hass, freezer, 60)
    await wait_for_state(hass, STATE, "auth_failed")
    assert state_of(hass, REASON) == "auth_rejected"
    assert state_of(hass, CONNECTED) == "off"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    await settle(hass)
    bridge.clear_requests()
    for _ in range(60):  # a simulated hour
        await advance(hass, freezer, 60)
    assert bridge.count_requests() == 0
    assert bridge.stream_count(SESSION) == 0

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"api_key": "rotated-key-9876543210"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    await wait_for_state(hass, CONNECTED, "on")


async def test_fault6_new_stream_closed_1008_is_auth_failed(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.rotate_api_key("rotated-key-9876543210")
    await bridge.close_streams(code=1001)
    await advance(hass, freezer, 1)
    await wait_for_state(hass, STATE, "auth_failed")
    bridge.clear_requests()
    for _ in range(60):
        await advance(hass, freezer, 60)
    assert bridge.count_requests() == 0


async def test_rejected_key_at_start_goes_to_reauth(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.rotate_api_key("another-key-000000000")
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize("close_code", [1001, None])
async def test_fault7_bridge_restart_reconnects_with_backoff(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    close_code: int | None,
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.bridge_down(close_code=close_code)
    await wait_for_state(hass, STATE, "reconnecting")
    assert state_of(hass, REASON) == "stream_closed"
    attributes = hass.states.get(STATE).attributes  # type: ignore[union-attr]
    assert attributes["attempt"] == 1
    assert attributes["next_attempt"] is not None
    for _ in range(5):  # attempts 1-5 fail against a closed port
        await advance(hass, freezer, 20)
    assert hass.states.get(STATE).attributes["attempt"] >= 5  # type: ignore[union-attr]
    await bridge.bridge_up()
    await advance(hass, freezer, 40)
    await wait_for_state(hass, STATE, "connecting")
    await bridge.set_status(SESSION, SessionStatus.WORKING)
    await wait_for_state(hass, CONNECTED, "on")
    assert state_of(hass, DISCONNECTS) == "1"
    assert hass.states.get(STATE).attributes["attempt"] == 0  # type: ignore[union-attr]


async def test_server_side_close_is_back_within_two_seconds(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.close_streams(code=1000)
    await wait_for_state(hass, STATE, "reconnecting")
    await advance(hass, freezer, 1.0)
    await wait_for_state(hass, CONNECTED, "on")
    assert float(state_of(hass, OUTAGE)) <= 2.0
    assert state_of(hass, REASON) == "stream_closed"


async def test_fault8_half_open_link_is_noticed_within_heartbeat_plus_15s(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.half_open()
    await advance(hass, freezer, 30)  # the client's ping goes out, no pong comes
    assert state_of(hass, CONNECTED) == "on"
    await advance(hass, freezer, 15)
    await wait_for_state(hass, STATE, "reconnecting")
    assert state_of(hass, REASON) == "heartbeat_timeout"
    bridge.heal()
    await advance(hass, freezer, 1)
    await wait_for_state(hass, CONNECTED, "on")


async def test_fault10_missing_session_is_stopped_with_a_repair(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    bridge.delete_session(SESSION)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, STATE, "stopped")
    assert issue(hass, "session_missing", config_entry) is not None
    bridge.add_session(
        SESSION,
        status=SessionStatus.WORKING,
        paired=True,
        me_id="491511234567@c.us",
        push_name="Alice Phone",
    )
    # No polling through new sockets: the link waits for the repair or a reconnect.
    bridge.clear_requests()
    for _ in range(5):
        await advance(hass, freezer, 60)
    assert bridge.count_requests() == 0
    assert state_of(hass, STATE) == "stopped"
    await hass.services.async_call(
        DOMAIN, "reconnect", {"config_entry_id": config_entry.entry_id}, blocking=True
    )
    await wait_for_state(hass, CONNECTED, "on")
    assert issue(hass, "session_missing", config_entry) is None


async def test_fault11_malformed_frames_are_ignored(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_connected(hass, config_entry)
    for _ in range(3):
        await bridge.send_raw_text("{not json")
        await bridge.send_binary(b"\x00\x01")
        await bridge.send_event("totally.unknown", {"x": 1})
        await bridge.send_event("session.status", {"status": 42})
        await bridge.send_raw_text('{"payload": {}}')
        await bridge.send_raw_text("[1, 2, 3]")
    await bridge.send_huge()
    await settle(hass)
    # A status of a wrong type maps to an unknown status (connecting), never a crash.
    await bridge.set_status(SESSION, SessionStatus.WORKING)
    await wait_for_state(hass, CONNECTED, "on")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    malformed = [m for m in warnings if "malformed frame" in m]
    assert len(malformed) == 3  # one per kind: not JSON, binary, not an envelope
    assert bridge.stream_count(SESSION) == 1


async def test_unknown_status_is_shown_raw(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.set_status(SESSION, "SOMETHING_NEW")
    await wait_for_state(hass, STATE, "connecting")
    assert hass.states.get(STATE).attributes["bridge_status"] == "SOMETHING_NEW"  # type: ignore[union-attr]


async def test_unreachable_at_start_loads_and_backs_off(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A dead bridge for a simulated hour: attempts counted at the bridge's port."""
    await bridge.stop()
    attempts: list[float] = []

    def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts.append(asyncio.get_running_loop().time())
        writer.transport.abort()

    counter = await asyncio.start_server(count, "127.0.0.1", bridge.port)
    try:
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
        assert config_entry.state is ConfigEntryState.LOADED
        await wait_for_state(hass, STATE, "reconnecting")
        assert state_of(hass, CONNECTED) == "off"
        # An hour: 1 s steps through the fast phase, then 5 s steps.
        for step in [1] * 240 + [5] * 672:
            freezer.tick(step)
            async_fire_time_changed(hass)
            await settle(hass, rounds=20)
    finally:
        counter.close()
        await counter.wait_closed()
    # aiohttp retries an idempotent GET once when a fresh connection drops before answering,
    # so one attempt is up to two connections at the same instant: count the instants.
    instants = sorted(set(attempts))
    assert len(attempts) <= 2 * len(instants)
    # 90 attempts within the first 3 minutes (1 s, then every 2 s), then 4, 8, ... 256 s and
    # 300 s (jitter only shortens, by 25 % at most): 8 doublings in at most 383 s and one per
    # 225 s after. That is at most 90 + 8 + 14 = 112 in the hour.
    assert 90 + 8 <= len(instants) <= 112
    gaps = [later - earlier for earlier, later in itertools.pairwise(instants)]
    assert max(gaps[:89]) <= 2 + 1  # fast phase (plus the 1 s step of this simulation)
    assert max(gaps) <= 300 + 5  # the cap (plus the 5 s step of this simulation)


async def test_unload_with_a_missing_session_closes_everything(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.delete_session(SESSION)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, STATE, "stopped")
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await settle(hass)
    assert bridge.stream_count() == 0


async def test_session_deleted_while_connected_is_found_by_the_poll(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.delete_session(SESSION)
    await advance(hass, freezer, 60)
    await wait_for_state(hass, STATE, "stopped")
    assert state_of(hass, REASON) == "session_stopped"
    assert issue(hass, "session_missing", config_entry) is not None
    assert bridge.stream_count(SESSION) == 0


async def test_stopped_by_someone_else_is_started_once(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.set_status(SESSION, SessionStatus.STOPPED)
    await wait_for(lambda: bridge.count_requests(method="POST") == 1)
    await wait_for_state(hass, CONNECTED, "on")
    assert state_of(hass, REASON) == "session_stopped"
