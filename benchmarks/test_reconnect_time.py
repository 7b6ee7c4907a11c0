"""Wall-clock reconnect time of the real integration after a server-side close.

Run with `scripts/bench`; prints figures, asserts nothing about time (claims come from the
printed numbers, not from a timed assertion). Real time on purpose: no frozen clock here.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble
from tests.helpers import CONNECTED, setup_connected

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROUNDS = 20


async def wait_for_connected(hass: HomeAssistant, *, on: bool) -> None:
    """Poll the binary sensor every millisecond, for 10 s at most."""
    async with asyncio.timeout(10):
        while (hass.states.get(CONNECTED).state == "on") != on:  # type: ignore[union-attr]
            await asyncio.sleep(0.001)


async def test_reconnect_time_after_server_close(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    durations: list[float] = []
    for code in [1000, 1001, 1011, None] * (ROUNDS // 4):
        # A fresh entry each round: a link up for less than 60 s keeps its backoff step
        # (by design), and a stable link is what "a healthy link" means here.
        await setup_connected(hass, config_entry)
        started = time.perf_counter()
        if code is None:
            bridge.cut_streams()
        else:
            await bridge.close_streams(code=code)
        await wait_for_connected(hass, on=False)
        await wait_for_connected(hass, on=True)
        durations.append(time.perf_counter() - started)
        assert await hass.config_entries.async_unload(config_entry.entry_id)
    durations.sort()
    print(
        f"\nreconnect after a server-side close ({len(durations)} rounds, codes 1000/1001/1011/cut):"
        f" min {durations[0]:.3f} s, median {statistics.median(durations):.3f} s,"
        f" max {durations[-1]:.3f} s"
    )
    assert len(durations) == ROUNDS
