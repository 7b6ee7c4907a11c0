"""Wall-clock figures of an `ask` answered by a poll vote: vote frame on the double to the
action returning its answer.

Run with `scripts/bench -k ask`; prints figures, asserts nothing about time (claims come from
the printed numbers). Real time on purpose: no frozen clock here.

Each round calls `whatsapp_gateway.ask` with options through the service registry (as an
automation does), waits until the poll went out and the bridge named it, then the double
emits a `poll.vote` on it; the time runs from the emit until the service call returns. That
covers the double's frame, the stream, the vote parsing, the incoming hook, the open
question and the return through the service layer, all on one event loop with the double.
Asks go one at a time (latency, not throughput), round robin over a few chats.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.const import CONF_SEND_RATE, DOMAIN, EVENT_MESSAGE_SENT
from tests.conftest import SESSION
from tests.helpers import setup_connected

from .test_agent_answer import percentile
from .test_message_path import cpu_model, ms

pytestmark = pytest.mark.usefixtures("socket_enabled")

ASKS = 200
WARM_UP = 20
CHATS = 10
OPTIONS = ["Yes", "No", "Later"]
BUDGET = 0.020


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Measure the loop as Home Assistant runs it: without asyncio debug mode."""
    asyncio.get_running_loop().set_debug(False)


def chat(index: int) -> str:
    return f"49176{index % CHATS:08d}@c.us"


async def test_ask_answered_by_a_poll_vote(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    # The send rate (20 a minute by default) would queue all but the first questions.
    hass.config_entries.async_update_entry(config_entry, options={CONF_SEND_RATE: 100_000})
    await setup_connected(hass, config_entry)
    assert config_entry.runtime_data.client.capabilities.polls is True

    polls_sent: list[str] = []
    poll_out = asyncio.Event()

    @callback
    def on_sent(event: Event[dict[str, Any]]) -> None:
        polls_sent.append(event.data["message_id"])
        poll_out.set()

    unsub = hass.bus.async_listen(EVENT_MESSAGE_SENT, on_sent)
    latencies: list[float] = []
    for index in range(WARM_UP + ASKS):
        poll_out.clear()
        call = hass.loop.create_task(
            hass.services.async_call(
                DOMAIN,
                "ask",
                {
                    "config_entry_id": config_entry.entry_id,
                    "target": chat(index),
                    "question": "Close the garage door?",
                    "options": OPTIONS,
                    "timeout": 60,
                },
                blocking=True,
                return_response=True,
            )
        )
        async with asyncio.timeout(10):
            await poll_out.wait()
        started = time.perf_counter()
        await bridge.emit_poll_vote(SESSION, poll_id=polls_sent[-1], options=["No"])
        async with asyncio.timeout(10):
            response = await call
        elapsed = time.perf_counter() - started
        assert response is not None
        assert response["option"] == "No"
        assert response["timed_out"] is False
        if index >= WARM_UP:
            latencies.append(elapsed)
    unsub()
    polls = [sent for sent in bridge.session(SESSION).sent if sent["kind"] == "poll"]
    assert len(polls) == WARM_UP + ASKS
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(
        f"\nmachine: {cpu_model()}; ask answered by a poll vote, vote frame emitted by the"
        f" double -> service call returned ({ASKS} asks after {WARM_UP} warm-up, one at a"
        f" time, {CHATS} chats, {bridge.profile}):"
        f"\n  median {ms(median)}, p95 {ms(p95)}, max {ms(max(latencies))}"
        f" (budget {ms(BUDGET)}: {'met' if p95 <= BUDGET else 'MISSED'} at p95)"
    )
