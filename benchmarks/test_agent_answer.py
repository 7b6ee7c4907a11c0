"""Wall-clock figures of an Assist answer: incoming frame on the double to the answer's sendText.

Run with `scripts/bench -k agent`; prints figures, asserts nothing about time (claims come
from the printed numbers). Real time on purpose: no frozen clock here.

A stub agent answers at once, so the figure is the gateway's own cost: the stream, the inbox,
the event, the responder, `conversation.async_converse`, the outgoing queue (with its new
message id request where the bridge takes ids) and the HTTP send, all on one event loop with
the double. Messages go one at a time (latency, not throughput), round robin over a few chats.
The time to the `whatsapp_gateway_message_received` event is printed alongside, so the
agent's share can be read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
import statistics
import time
from typing import Any, Literal

from homeassistant.components import conversation
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.const import (
    CONF_CONVERSATION_AGENT,
    CONF_SEND_RATE,
    EVENT_MESSAGE_RECEIVED,
)
from tests.conftest import SESSION
from tests.helpers import setup_connected

from .test_message_path import cpu_model, message_frames, ms

pytestmark = pytest.mark.usefixtures("socket_enabled")

MESSAGES = 300
WARM_UP = 20
CHATS = 10


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Measure the loop as Home Assistant runs it: without asyncio debug mode."""
    asyncio.get_running_loop().set_debug(False)


class InstantAgent(conversation.AbstractConversationAgent):
    """Answers every text at once."""

    @property
    def supported_languages(self) -> Literal["*"]:
        return "*"

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech("done")
        return conversation.ConversationResult(
            response=response, conversation_id=user_input.conversation_id
        )


def incoming_frames(bridge: BridgeDouble, count: int, *, chats: int) -> list[str]:
    """The message path benchmark's frames as `message.any` (what the stream subscribes to)."""
    frames = []
    for frame in message_frames(bridge, count, chats=chats):
        envelope = json.loads(frame)
        envelope["event"] = "message.any"
        frames.append(json.dumps(envelope))
    return frames


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def test_agent_answer_latency(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    agent_entry = MockConfigEntry(domain="test", title="Instant agent")
    agent_entry.add_to_hass(hass)
    conversation.async_set_agent(hass, agent_entry, InstantAgent())
    hass.config_entries.async_update_entry(
        config_entry,
        # The send rate (20 a minute by default) would queue all but the first answers.
        options={CONF_CONVERSATION_AGENT: agent_entry.entry_id, CONF_SEND_RATE: 100_000},
    )
    await setup_connected(hass, config_entry)

    # The moment the double takes each sendText, and each message event.
    sends: list[float] = []
    events: list[float] = []
    answered = asyncio.Event()
    original: Callable[..., Awaitable[dict[str, Any]]] = bridge.rest_send_text

    async def timed_send(*args: Any, **kwargs: Any) -> dict[str, Any]:
        sends.append(time.perf_counter())
        answered.set()
        return await original(*args, **kwargs)

    bridge.rest_send_text = timed_send  # type: ignore[method-assign]

    @callback
    def on_event(_event: Event[dict[str, Any]]) -> None:
        events.append(time.perf_counter())

    unsub = hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, on_event)
    # WhatsApp timestamps are whole seconds, and the entry handles nothing of its first one.
    await asyncio.sleep(1.1)
    frames = incoming_frames(bridge, WARM_UP + MESSAGES, chats=CHATS)
    latencies: list[float] = []
    to_event: list[float] = []
    for index, frame in enumerate(frames):
        answered.clear()
        count = len(sends)
        started = time.perf_counter()
        bridge.hub.publish(SESSION, "message.any", frame)
        async with asyncio.timeout(10):
            await answered.wait()
        assert len(sends) == count + 1
        if index >= WARM_UP:
            latencies.append(sends[-1] - started)
            to_event.append(events[-1] - started)
        # Let the send's answer and the echo settle before the next message.
        await hass.async_block_till_done()
    unsub()
    assert len(bridge.session(SESSION).sent) == WARM_UP + MESSAGES
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    print(
        f"\nmachine: {cpu_model()}; agent answer, frame on the double -> sendText taken by the"
        f" double ({MESSAGES} messages after {WARM_UP} warm-up, one at a time, {CHATS} chats,"
        f" stub agent answering at once, send rate limit lifted):"
        f"\n  median {ms(statistics.median(latencies))}, p95 {ms(percentile(latencies, 0.95))},"
        f" max {ms(max(latencies))}"
        f"\n  of which frame -> message_received event: median"
        f" {ms(statistics.median(to_event))}, p95 {ms(percentile(to_event, 0.95))}"
    )
