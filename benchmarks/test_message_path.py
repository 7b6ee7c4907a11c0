"""Wall-clock figures of the incoming message path: live throughput, backfill, stalls, memory.

Run with `scripts/bench` (or `scripts/bench -k message`); prints figures, asserts nothing
about time or size (claims come from the printed numbers, not from a timed assertion). Real
time on purpose: no frozen clock here.

The bridge double runs in the same process and on the same event loop as Home Assistant, so
its cost is part of every end-to-end figure; the live benchmark also measures the double's own
cost alone so the figure can be read. Live frames are built beforehand with the double's
public helpers (`payloads`, `ids`) and queued at its WebSocket hub directly: `emit_message`
awaits a flush per message, which measures round trips, not throughput.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Callable
import gc
from itertools import pairwise
import json
import logging
import os
from pathlib import Path
import platform
import time
import tracemalloc
from typing import Any

import aiohttp
from homeassistant.const import __version__ as ha_version
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble, ids, payloads
from custom_components.whatsapp_gateway.const import EVENT_MESSAGE_RECEIVED
from custom_components.whatsapp_gateway.inbox import LIVE_BUFFER_LIMIT, MessageInbox
from tests.conftest import API_KEY, SESSION
from tests.helpers import setup_connected

pytestmark = pytest.mark.usefixtures("socket_enabled")

LIVE_MESSAGES = 20_000
LIVE_CHATS = 50
BACKFILL_MESSAGES = 5_000
MEMORY_MESSAGES = 100_000
# The dedupe window (5,000 ids) fills between the first two checkpoints.
MEMORY_CHECKPOINTS = (2_500, 5_000, 10_000, 50_000, 100_000)
# More chats than the ledger keeps cursors for (2,000), so that bound is exercised too.
MEMORY_CHATS = 3_000
# Frames queued at the double at a time in the memory run (bounds the double's own queue).
MEMORY_CHUNK = 2_000
MONITOR_SLEEP = 0.001


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Measure the loop as Home Assistant runs it: without asyncio debug mode.

    Overrides the harness fixture of the same name, which turns debug mode on (and with it
    per-callback timing and coroutine origin tracking that production does not pay).
    """
    asyncio.get_running_loop().set_debug(False)


class Arrivals:
    """Counts `whatsapp_gateway_message_received` events (ids and times kept only when asked)."""

    def __init__(self, hass: HomeAssistant, *, keep_ids: bool = False) -> None:
        self.count = 0
        self.buffered = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.first_live_at: float | None = None
        self.ids: set[str] | None = set() if keep_ids else None
        self.times: list[float] = []
        self._target = 0
        self._reached = asyncio.Event()
        self._unsub = hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, self._on_event)

    @callback
    def _on_event(self, event: Event[dict[str, Any]]) -> None:
        now = time.perf_counter()
        self.count += 1
        if event.data["buffered"]:
            self.buffered += 1
        elif self.first_live_at is None:
            self.first_live_at = now
        if self.ids is not None:
            self.ids.add(event.data["message_id"])
            self.times.append(now)
        if self.first_at is None:
            self.first_at = now
        self.last_at = now
        if self.count >= self._target:
            self._reached.set()

    async def wait_for(self, target: int) -> None:
        """Until `target` events arrived in all (fails after 50 s)."""
        self._target = target
        if self.count < target:
            self._reached.clear()
            async with asyncio.timeout(50):
                await self._reached.wait()

    def stop(self) -> None:
        self._unsub()


class StallMonitor:
    """Sleeps 1 ms in a loop and records how late each wake-up was (the loop's stalls).

    Garbage collector pauses are timed too (`gc.callbacks`), so a stall can be told apart
    from one collection of Home Assistant's whole heap.
    """

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self.probe: Callable[[], int] | None = None
        self.probe_max = 0
        self.gc_pauses: list[tuple[float, float, int]] = []
        self._gc_started = 0.0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop after one more wake-up (a stall that is just ending is recorded)."""
        assert self._task is not None
        self._stopping = True
        await self._task
        gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            now = time.perf_counter()
            self.gc_pauses.append((now, now - self._gc_started, info["generation"]))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            before = loop.time()
            await asyncio.sleep(MONITOR_SLEEP)
            late = loop.time() - before - MONITOR_SLEEP
            self.samples.append((time.perf_counter(), late))
            if self.probe is not None:
                self.probe_max = max(self.probe_max, self.probe())

    def worst(self, since: float = 0.0) -> tuple[float, float]:
        """(lateness s, when) of the most delayed wake-up at or after `since` (perf_counter)."""
        late, at = max(((late, at) for at, late in self.samples if at >= since), default=(0, 0))
        return late, at

    def most_events_in_one_stall(self, times: list[float]) -> int:
        """The most bus events (perf_counter `times`, sorted) between two wake-ups."""
        wakes = [at for at, _ in self.samples]
        return max(
            (bisect_right(times, b) - bisect_right(times, a) for a, b in pairwise(wakes)),
            default=0,
        )

    def summary(self) -> str:
        lates = sorted(late for _, late in self.samples)
        p99 = lates[int(len(lates) * 0.99)] if lates else 0.0
        gc_worst = max(self.gc_pauses, key=lambda pause: pause[1], default=(0.0, 0.0, 0))
        return (
            f"{len(lates):,} wake-ups, 99th percentile {ms(p99)},"
            f" {sum(late > 0.01 for late in lates)} over 10 ms;"
            f" longest GC pause {ms(gc_worst[1])} (generation {gc_worst[2]},"
            f" {len(self.gc_pauses)} collections)"
        )


def inbox_of(entry: MockConfigEntry) -> MessageInbox:
    inbox: MessageInbox = entry.runtime_data.incoming.inbox
    return inbox


def chat_id(index: int) -> str:
    return f"49170{index:08d}@c.us"


def message_frames(bridge: BridgeDouble, count: int, *, chats: int) -> list[str]:
    """`count` WebSocket text frames of `message` events, built as the double builds them."""
    me = bridge.session(SESSION).me or {}
    environment = bridge.environment()
    now = int(time.time())
    frames = []
    for index, key in enumerate(ids.message_keys(count)):
        chat = chat_id(index % chats)
        message = payloads.wa_message(
            message_id=f"false_{chat}_{key}",
            addressing=bridge.profile.message_addressing(
                chat_id=chat, me_id=str(me.get("id")), from_me=False
            ),
            body=f"message {index}",
            from_me=False,
            media_url=None,
            timestamp_s=now,
        )
        envelope = payloads.envelope(
            event="message.any",
            session=SESSION,
            payload=message,
            me=me,
            metadata={},
            engine=bridge.engine,
            env=environment,
            timestamp_ms=int(time.time() * 1000),
        )
        frames.append(json.dumps(envelope))
    return frames


def publish(bridge: BridgeDouble, frames: list[str]) -> None:
    """Queue frames at the double's WebSocket writer (what `emit_message` does, minus the flush)."""
    for frame in frames:
        bridge.hub.publish(SESSION, "message.any", frame)


def inject_backlog(bridge: BridgeDouble, chats: int) -> None:
    """Store `BACKFILL_MESSAGES` incoming messages in the history, spread over `chats` chats."""
    start = int(time.time())
    for chat in range(chats):
        bridge.inject_history(
            SESSION, chat_id(chat), BACKFILL_MESSAGES // chats, start_timestamp=start
        )


async def settled_live(hass: HomeAssistant, entry: MockConfigEntry, bridge: BridgeDouble) -> None:
    """Connected, the start-up backfill done: a live message is delivered at once."""
    arrivals = Arrivals(hass)
    await setup_connected(hass, entry)
    await bridge.emit_message(SESSION, chat_id=chat_id(99_999_999), body="warm-up")
    await arrivals.wait_for(1)
    arrivals.stop()
    assert not inbox_of(entry).backfilling


async def known_entry_then_stopped(
    hass: HomeAssistant, entry: MockConfigEntry, bridge: BridgeDouble
) -> None:
    """An entry that ran (its ledger stored), then unloaded: Home Assistant "stopped"."""
    await settled_live(hass, entry, bridge)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} msg/s" if seconds > 0 else "n/a"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def transport_floor(bridge: BridgeDouble, frames: list[str]) -> tuple[float, StallMonitor]:
    """Seconds for the double to write `frames` to a bare aiohttp client that only counts them."""
    monitor = StallMonitor()
    url = bridge.url.replace("http", "ws", 1) + "/ws"
    params = {"x-api-key": API_KEY, "session": SESSION, "events": "message.any"}
    received = 0
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, params=params, max_msg_size=8 * 1024 * 1024) as websocket,
    ):
        async with asyncio.timeout(10):
            await bridge.wait_for_streams(1, session=SESSION)
        monitor.start()
        started = time.perf_counter()
        publish(bridge, frames)
        async with asyncio.timeout(50):
            async for message in websocket:
                if message.type is aiohttp.WSMsgType.TEXT:
                    received += 1
                    if received == len(frames):
                        break
        elapsed = time.perf_counter() - started
        await monitor.stop()
        return elapsed, monitor


async def test_message_path_machine() -> None:
    print(
        f"\nmachine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()};"
        f" Home Assistant {ha_version}; aiohttp {aiohttp.__version__}; asyncio debug mode off"
    )


async def test_message_path_live_throughput(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await settled_live(hass, config_entry, bridge)
    started = time.perf_counter()
    frames = message_frames(bridge, LIVE_MESSAGES, chats=LIVE_CHATS)
    build = time.perf_counter() - started

    arrivals = Arrivals(hass, keep_ids=True)
    monitor = StallMonitor()
    monitor.start()
    started = time.perf_counter()
    publish(bridge, frames)
    queued = time.perf_counter() - started
    await arrivals.wait_for(LIVE_MESSAGES)
    await monitor.stop()
    assert arrivals.last_at is not None
    elapsed = arrivals.last_at - started
    await hass.async_block_till_done()
    assert arrivals.count == len(arrivals.ids or ()) == LIVE_MESSAGES
    assert arrivals.buffered == 0
    arrivals.stop()
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    # The double alone (the entry unloaded): fresh frames to a bare client that only counts.
    floor, floor_monitor = await transport_floor(
        bridge, message_frames(bridge, LIVE_MESSAGES, chats=LIVE_CHATS)
    )

    worst, _ = monitor.worst()
    print(
        f"\nlive throughput, double -> WebSocket -> bus event ({LIVE_MESSAGES:,} messages,"
        f" {LIVE_CHATS} chats): {elapsed:.2f} s = {rate(LIVE_MESSAGES, elapsed)}"
        f" (first publish to last bus event; includes the double's writer on the same loop)"
        f"\n  the double alone: building the frames {build:.2f} s (not included), queueing"
        f" them {ms(queued)} (included), writing them to a bare aiohttp client that only counts"
        f" them {floor:.2f} s = {rate(LIVE_MESSAGES, floor)}"
        f"\n  longest event-loop stall meanwhile (1 ms sleeper): {ms(worst)}; {monitor.summary()};"
        f" up to {monitor.most_events_in_one_stall(arrivals.times):,} bus events between two"
        f" wake-ups"
        f"\n  (the double alone: longest stall {ms(floor_monitor.worst()[0])};"
        f" {floor_monitor.summary()})"
    )


@pytest.mark.parametrize("chats", [5, 500])
async def test_message_path_backfill_and_loop_stalls(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, chats: int
) -> None:
    await known_entry_then_stopped(hass, config_entry, bridge)
    inject_backlog(bridge, chats)
    bridge.clear_requests()

    arrivals = Arrivals(hass, keep_ids=True)
    monitor = StallMonitor()
    monitor.start()
    started = time.perf_counter()
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    set_up = time.perf_counter()
    await arrivals.wait_for(BACKFILL_MESSAGES)
    await monitor.stop()
    assert arrivals.last_at is not None
    assert arrivals.first_at is not None
    elapsed = arrivals.last_at - started
    delivering = arrivals.last_at - arrivals.first_at
    await hass.async_block_till_done()
    assert arrivals.count == arrivals.buffered == len(arrivals.ids or ()) == BACKFILL_MESSAGES
    overview = bridge.count_requests(path_prefix=f"/api/{SESSION}/chats/overview")
    pages = bridge.count_requests(path_prefix=f"/api/{SESSION}/chats/") - overview
    arrivals.stop()
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    worst, _ = monitor.worst()
    worst_delivering, _ = monitor.worst(since=arrivals.first_at)
    print(
        f"\nbackfill of {BACKFILL_MESSAGES:,} buffered messages ({chats} chats):"
        f" {elapsed:.2f} s from async_setup to the {BACKFILL_MESSAGES:,}th bus event"
        f" (first event after {arrivals.first_at - started:.2f} s; first to last"
        f" {delivering:.2f} s = {rate(BACKFILL_MESSAGES, delivering)}; the setup call itself"
        f" {ms(set_up - started)}; {overview} overview and {pages} chat message pages read)"
        f"\n  longest event-loop stall (1 ms sleeper): {ms(worst)} from setup to the last event,"
        f" {ms(worst_delivering)} while delivering; {monitor.summary()};"
        f" up to {monitor.most_events_in_one_stall(arrivals.times):,} bus events between two"
        f" wake-ups"
    )


async def test_message_path_backfill_with_live_messages_held(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """Live messages arriving during a backfill are held, then all released at its end."""
    await known_entry_then_stopped(hass, config_entry, bridge)
    inject_backlog(bridge, 5)
    # As many as the inbox holds without dropping them (more are re-read from the history).
    held = LIVE_BUFFER_LIMIT
    live = message_frames(bridge, held, chats=LIVE_CHATS)

    arrivals = Arrivals(hass, keep_ids=True)
    monitor = StallMonitor()
    monitor.start()
    started = time.perf_counter()
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    inbox = inbox_of(config_entry)
    monitor.probe = lambda: inbox.held
    async with asyncio.timeout(10):
        await bridge.wait_for_streams(1, session=SESSION)
    publish(bridge, live)
    await arrivals.wait_for(BACKFILL_MESSAGES + held)
    await monitor.stop()
    assert arrivals.last_at is not None
    assert arrivals.first_live_at is not None
    elapsed = arrivals.last_at - started
    await hass.async_block_till_done()
    assert arrivals.count == len(arrivals.ids or ()) == BACKFILL_MESSAGES + held
    assert arrivals.buffered == BACKFILL_MESSAGES
    arrivals.stop()
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    worst, worst_at = monitor.worst()
    release, _ = monitor.worst(since=arrivals.first_live_at)
    print(
        f"\nbackfill of {BACKFILL_MESSAGES:,} (5 chats) while {held:,} live messages arrive:"
        f" {elapsed:.2f} s to the last bus event; at most {monitor.probe_max:,} live messages"
        f" held at once; releasing them: {ms(arrivals.last_at - arrivals.first_live_at)}"
        f" first to last live event"
        f"\n  longest event-loop stall (1 ms sleeper): {ms(worst)}"
        f" ({ms(arrivals.last_at - worst_at)} before the last event);"
        f" {ms(release)} from the first released live event on; {monitor.summary()};"
        f" up to {monitor.most_events_in_one_stall(arrivals.times):,} bus events between two"
        f" wake-ups"
    )


async def test_message_path_memory_is_bounded(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    # The harness logs every store write at debug level with the data itself, and the log
    # capture keeps those records (and every ledger snapshot in them) alive.
    logging.getLogger("pytest_homeassistant_custom_component.common").setLevel(logging.INFO)
    await settled_live(hass, config_entry, bridge)
    ledger = inbox_of(config_entry).ledger
    # Built before tracing starts: the benchmark's own frames are not the integration's growth.
    started = time.perf_counter()
    frames = message_frames(bridge, MEMORY_MESSAGES, chats=MEMORY_CHATS)
    build = time.perf_counter() - started
    arrivals = Arrivals(hass)
    retained: list[tuple[int, int, int, int]] = []
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        sent = 0
        for checkpoint in MEMORY_CHECKPOINTS:
            while sent < checkpoint:
                chunk = frames[sent : min(sent + MEMORY_CHUNK, checkpoint)]
                publish(bridge, chunk)
                sent += len(chunk)
                await arrivals.wait_for(sent)
            await hass.async_block_till_done()
            # The test harness keeps a decoded copy of each store write in `hass_storage`, and
            # its mock of `Store._async_write_data` records every call with the data written;
            # a real Home Assistant writes to disk instead. Drop both before measuring.
            hass_storage.clear()
            Store._async_write_data.reset_mock()  # type: ignore[attr-defined]  # noqa: SLF001
            gc.collect()
            size = tracemalloc.get_traced_memory()[0] - baseline
            retained.append((checkpoint, size, len(ledger), ledger.chat_count))
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - baseline
        top = tracemalloc.take_snapshot().statistics("filename")[:4]
    finally:
        tracemalloc.stop()
    del frames
    assert arrivals.count == MEMORY_MESSAGES
    arrivals.stop()
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    lines = "".join(
        f"\n  after {count:>7,} messages: {size / 1024:6,.0f} KiB retained"
        f" (dedupe window {window:,} ids, cursors of {cursors:,} chats)"
        for count, size, window, cursors in retained
    )
    sources = "".join(
        f"\n    {stat.size / 1024:6,.0f} KiB in {stat.count:>6,} blocks allocated in"
        f" {stat.traceback[0].filename.rsplit('/', 2)[-2:][-1]}"
        for stat in top
    )
    print(
        f"\nmemory over {MEMORY_MESSAGES:,} live messages ({MEMORY_CHATS:,} chats; tracemalloc,"
        f" growth over the start only; {elapsed:.1f} s under tracing, frames built beforehand in"
        f" {build:.1f} s):{lines}"
        f"\n  peak growth while pushing: {peak / 1024:,.0f} KiB"
        f"\n  largest retained growth after {MEMORY_MESSAGES:,}, by file:{sources}"
    )
