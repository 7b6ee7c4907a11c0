"""Chaos on the stream: 10,000 incoming messages while the link is broken in every known way.

Seeded. Between batches of messages the double closes the stream (1000, 1001, 1011), cuts
it without a close frame, goes half-open, stalls the stream (the session stays WORKING but
no events flow until the client opens a new stream, as the WAHA bug does) or restarts
(unreachable for a few seconds, the abrupt kind: sockets closed with 1001, the session back
on its own). Whatever the stream misses lands in the chat history. Asserted: every message
is delivered exactly once, each chat's in the order sent. On every bridge profile of the
suite (conftest.py): the engines address and serialize messages differently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import EVENT_MESSAGE_RECEIVED

from ..conftest import SESSION
from ..helpers import CONNECTED, advance, setup_connected, state_of
from .conftest import on_profiles

SEED = 10_000
MESSAGES = 10_000
BATCH = 20  # messages per simulated second
FAULT_CHANCE = 0.1  # per batch, while the link is up and no fault is running
CHATS = [f"49151000000{n:02d}@c.us" for n in range(10)] + ["120363000000000001@g.us"]
FAULTS = ["close_1000", "close_1001", "close_1011", "cut", "half_open", "stall", "restart"]

pytestmark = on_profiles()


async def test_ten_thousand_messages_through_chaos(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    report: Callable[[str, object], None],
) -> None:
    rng = random.Random(SEED)  # noqa: S311 (a reproducible schedule, not a secret)
    # The link's backoff jitter draws from the global generator: seed it too, so that the
    # moments the link is up (when faults are injected) repeat from run to run.
    random.seed(SEED)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    coordinator = config_entry.runtime_data
    stalled_at = 0
    sent: list[dict[str, Any]] = []
    injected: Counter[str] = Counter()
    ends_in = 0  # batches until the running fault (stall or restart) is over
    running: str | None = None

    async def end_fault() -> None:
        nonlocal running
        if running == "stall":
            bridge.stall_stream(SESSION, stalled=False)
        elif running == "restart":
            await bridge.bridge_up()
            await bridge.set_status(SESSION, SessionStatus.WORKING)
        running = None

    while len(sent) < MESSAGES:
        if running == "stall" and coordinator.data.disconnects > stalled_at:
            # The client opened a new stream: that one gets events again.
            await end_fault()
        for _ in range(BATCH):
            chat = rng.choice(CHATS)
            group = chat.endswith("@g.us")
            sent.append(
                await bridge.emit_message(
                    SESSION,
                    chat_id=chat,
                    body=f"chaos {len(sent)}",
                    participant=rng.choice(CHATS[:10]) if group else None,
                )
            )
        if running == "stall":
            # A stalled stream stays stalled until the client opens a new one (above).
            ends_in -= 1
            assert ends_in > 0, "the stalled stream was never noticed"
        elif running is not None:
            ends_in -= 1
            if ends_in <= 0:
                await end_fault()
        elif state_of(hass, CONNECTED) == "on" and rng.random() < FAULT_CHANCE:
            fault = rng.choice(FAULTS)
            injected[fault] += 1
            if fault.startswith("close_"):
                await bridge.close_streams(code=int(fault.removeprefix("close_")))
            elif fault == "cut":
                bridge.cut_streams()
            elif fault == "half_open":
                # The socket dies silently; a fresh connection works.
                bridge.half_open()
                bridge.heal()
            elif fault == "stall":
                bridge.stall_stream(SESSION)
                stalled_at = coordinator.data.disconnects
                # Noticed at the first status check that finds a missed message (60 s polls).
                running, ends_in = fault, 200
            else:
                await bridge.bridge_down(1001)
                running, ends_in = fault, rng.randint(3, 30)
        await advance(hass, freezer, 1)
    if running is not None:
        await end_fault()

    # Let the link recover and the last backfill finish: at most five simulated minutes.
    for _ in range(300):
        if len(events) >= MESSAGES and state_of(hass, CONNECTED) == "on":
            break
        await advance(hass, freezer, 1)
    await advance(hass, freezer, 61)  # one more poll: a stalled stream would show now

    ids = [event.data["message_id"] for event in events]
    duplicated = len(ids) - len(set(ids))
    lost = len({message["id"] for message in sent} - set(ids))
    assert duplicated == 0, "a message was delivered twice"
    assert lost == 0, "a message was lost"
    for chat in CHATS:
        got = [event.data["message_id"] for event in events if event.data["chat_id"] == chat]
        assert got == [message["id"] for message in sent if message["from"] == chat], chat
    buffered = sum(1 for event in events if event.data["buffered"])
    assert sum(injected.values()) >= 15, injected  # the chaos really happened
    report(
        "chaos: messages sent / delivered / through backfill",
        f"{len(sent)} / {len(ids)} / {buffered}",
    )
    report("chaos: lost / duplicated / out of order", f"{lost} / {duplicated} / 0")
    report(
        "chaos: faults injected", ", ".join(f"{name} {n}" for name, n in sorted(injected.items()))
    )
