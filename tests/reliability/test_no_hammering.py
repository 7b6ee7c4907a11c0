"""No hammering, counted at the bridge: a rejected key, a logout, six hours of a dead bridge.

Each on every bridge profile of the suite (conftest.py): GOWS keeps ``me`` after a logout
from the phone, NOWEB and WEBJS do not, so the logout takes a different path on each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import itertools

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import DOMAIN
from custom_components.whatsapp_gateway.link.backoff import BackoffPolicy

from ..conftest import SESSION
from ..helpers import CONNECTED, STATE, advance, settle, setup_connected, wait_for_state
from .conftest import on_profiles

SIX_HOURS = 6 * 3600
NEW_KEY = "rotated-key-5555555555"

pytestmark = on_profiles()


async def six_hours_of_polls(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    for _ in range(SIX_HOURS // 60):
        await advance(hass, freezer, 60)


async def test_rejected_key_zero_requests_until_reauth(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    report: Callable[[str, object], None],
) -> None:
    await setup_connected(hass, config_entry)
    bridge.rotate_api_key(NEW_KEY)
    await bridge.close_streams(code=1001)
    await wait_for_state(hass, STATE, "reconnecting")
    await advance(hass, freezer, 1)
    await wait_for_state(hass, STATE, "auth_failed")
    await settle(hass)
    bridge.clear_requests()

    await six_hours_of_polls(hass, freezer)
    # Not one REST call, not one WebSocket upgrade in six hours.
    report("rejected key for 6 h: requests and upgrades", bridge.count_requests())
    assert bridge.count_requests() == 0

    flow = next(
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    )
    await hass.config_entries.flow.async_configure(flow["flow_id"], {"api_key": NEW_KEY})
    await hass.async_block_till_done()
    await wait_for_state(hass, CONNECTED, "on")
    assert bridge.count_requests() > 0


async def test_logout_at_most_one_restart_in_six_hours(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    report: Callable[[str, object], None],
) -> None:
    await setup_connected(hass, config_entry)
    bridge.clear_requests()
    await bridge.logout_from_phone(SESSION)
    await wait_for_state(hass, STATE, "pairing_required")
    # Nobody scans: the six codes run out and the session fails again.
    await advance(hass, freezer, 1)
    while bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE:
        await bridge.rotate_qr(SESSION)
        await advance(hass, freezer, 20)
    await six_hours_of_polls(hass, freezer)

    control = [
        record.path
        for record in bridge.requests
        if record.method == "POST" and record.path.startswith("/api/sessions/")
    ]
    report(
        "logged out for 6 h: session control calls",
        ", ".join(path.rsplit("/", 1)[-1] for path in control) or "none",
    )
    assert control == [f"/api/sessions/{SESSION}/restart"]
    assert bridge.session(SESSION).status == SessionStatus.FAILED
    assert hass.states.get(STATE).state == "pairing_required"  # type: ignore[union-attr]


async def test_six_hours_of_a_dead_bridge_follow_the_capped_backoff(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    report: Callable[[str, object], None],
) -> None:
    """Connection attempts counted at the bridge's port while it refuses everything."""
    await setup_connected(hass, config_entry)
    await bridge.bridge_down(1001)
    attempts: list[float] = []

    def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts.append(asyncio.get_running_loop().time())
        writer.transport.abort()

    counter = await asyncio.start_server(count, "127.0.0.1", bridge.port)
    try:
        # 1 s steps through the fast phase, then 5 s steps.
        for step in [1] * 240 + [5] * ((SIX_HOURS - 240) // 5):
            freezer.tick(step)
            async_fire_time_changed(hass)
            await settle(hass, rounds=20)
    finally:
        counter.close()
        await counter.wait_closed()

    instants = sorted(set(attempts))  # aiohttp may retry a dropped idempotent GET at once
    policy = BackoffPolicy(maximum=300.0)
    # The bound: attempt n comes no sooner than the sum of the floors of attempts 1..n.
    bound = next(
        n for n in itertools.count(1) if sum(policy.floor(k) for k in range(1, n + 1)) > SIX_HOURS
    )
    assert 90 + 8 + SIX_HOURS // 300 - 10 <= len(instants) <= bound
    assert bound <= 90 + 8 + 94  # fast phase, doublings, then one per 225 s
    gaps = [later - earlier for earlier, later in itertools.pairwise(instants)]
    report("dead bridge for 6 h: connection attempts (bound)", f"{len(instants)} ({bound})")
    assert max(gaps) <= 300 + 5  # never gives up: an attempt at least every cap (+ step)
    assert min(gaps[100:]) >= 225 - 5  # after the doublings, never faster than the cap floor
