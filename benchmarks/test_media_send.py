"""Wall-clock time and peak memory of a camera snapshot sent with `send_media` (Plus bridge).

Run with `scripts/bench -k media`; prints figures, asserts nothing about time or size (claims
come from the printed numbers). Real time on purpose: no frozen clock here.

A test camera answers a prepared 5 MB JPEG-like snapshot at once; `send_media` with
`camera_entity_id` takes it, writes it to the queue's folder, and the bridge client streams
it to the double as base64 JSON (`POST /api/sendImage`), then the file is removed.

The double runs in the same process and on the same loop. A real bridge decodes the body in
its own process, so by default the double's media routes here read the body as a stream and
throw the file's data away (`StreamingSendBody`; the JSON around it is parsed as usual and the
data's length checked). What the double's own JSON decode costs is printed apart, from a
second run with the double as it is.

Time: the whole action call (`blocking=True`, until the bridge answered and the call
returned), minus the time the camera's `async_camera_image` took (measured inside it).
Memory: tracemalloc peak during one call minus the traced size just before it. The 5 MB
snapshot the camera holds was allocated before tracing started, so it is not counted.
Everything else in the process is: the integration, Home Assistant, the aiohttp client,
the executor threads, and the double's side of the socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import gc
import json
import statistics
import time
import tracemalloc
from typing import Any

from aiohttp import web
from homeassistant.components.camera import Camera
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    setup_test_component_platform,
)

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus, rest as double_rest
from custom_components.whatsapp_gateway.const import CONF_SEND_RATE, DOMAIN
from custom_components.whatsapp_gateway.outgoing import outbox_files
from tests.conftest import API_KEY, ME_ID, PUSH_NAME, SESSION
from tests.helpers import setup_connected

from .test_message_path import cpu_model, ms

pytestmark = pytest.mark.usefixtures("socket_enabled")

PLUS = "GOWS-2026.7.1-PLUS"
SIZE = 5 * 1024 * 1024
SENDS = 30
WARM_UP = 3
MEMORY_SENDS = 5
DECODING_SENDS = 5
TARGET = "+4917612345678"
MEDIA_ROUTES = ("/api/sendImage", "/api/sendFile", "/api/sendVideo", "/api/sendVoice")
_MIB = 1024 * 1024


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Measure the loop as Home Assistant runs it: without asyncio debug mode."""
    asyncio.get_running_loop().set_debug(False)


@pytest.fixture
async def bridge(socket_enabled: None) -> AsyncGenerator[BridgeDouble]:
    """A Plus double (media sends work), one paired, working session."""
    double = BridgeDouble(api_key=API_KEY, profile=BridgeProfile.parse(PLUS))
    double.add_session(
        SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    await double.start()
    yield double
    await double.stop()


def jpeg_like(size: int) -> bytes:
    """`size` bytes that start and end like a JPEG, not all alike (base64 has work to do)."""
    body = bytes((index * 7 + index // 251) & 0xFF for index in range(65_536))
    middle = (body * (size // len(body) + 1))[: size - 6]
    return b"\xff\xd8\xff\xe0" + middle + b"\xff\xd9"


class TimedCamera(Camera):
    """Answers a prepared snapshot at once; records how long each answer took."""

    def __init__(self, image: bytes) -> None:
        super().__init__()
        self._attr_name = "Door"
        self._attr_unique_id = "bench-door"
        self._image = image
        self.content_type = "image/jpeg"
        self.durations: list[float] = []

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        started = time.perf_counter()
        image = self._image
        self.durations.append(time.perf_counter() - started)
        return image


class StreamingSendBody:
    """The double's body reader, but a media send's `file.data` is streamed to nowhere.

    The JSON before and after the data string is parsed as usual; the data becomes a short
    placeholder, and its length (base64 characters) is recorded, to check the whole file came.
    """

    PLACEHOLDER = "c3RyZWFtZWQ="  # base64 of b"streamed"

    def __init__(self, original: Callable[[web.Request], Awaitable[dict[str, Any]]]) -> None:
        self._original = original
        self.lengths: list[int] = []
        self.enabled = True

    async def __call__(self, request: web.Request) -> dict[str, Any]:
        if not self.enabled or request.path not in MEDIA_ROUTES:
            return await self._original(request)
        marker = b'"data": "'
        head = b""
        tail = b""
        length = 0
        in_data = False
        async for received in request.content.iter_any():
            chunk = received
            if not in_data:
                head += chunk
                at = head.find(marker)
                if at < 0:
                    continue
                chunk = head[at + len(marker) :]
                head = head[: at + len(marker)]
                in_data = True
            if tail:
                tail += chunk
                continue
            end = chunk.find(b'"')
            if end < 0:
                length += len(chunk)
            else:
                length += end
                tail = chunk[end:]
        self.lengths.append(length)
        body: dict[str, Any] = json.loads(head + self.PLACEHOLDER.encode() + tail)
        return body


async def send_snapshot(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "send_media",
        {"config_entry_id": entry.entry_id, "target": TARGET, "camera_entity_id": "camera.door"},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    assert response["status"] == "sent", response
    return response


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def mib(size: float) -> str:
    return f"{size / _MIB:.2f} MiB"


async def test_camera_snapshot_send(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = jpeg_like(SIZE)
    camera = TimedCamera(image)
    setup_test_component_platform(hass, "camera", [camera])
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    hass.config_entries.async_update_entry(config_entry, options={CONF_SEND_RATE: 100_000})
    await setup_connected(hass, config_entry)
    await hass.async_block_till_done()
    assert hass.states.get("camera.door") is not None

    # Bench only: the double's body reader for its send routes.
    streaming = StreamingSendBody(double_rest._body)  # noqa: SLF001
    monkeypatch.setattr(double_rest, "_body", streaming)
    base64_length = 4 * ((SIZE + 2) // 3)

    # Time: no tracing (tracemalloc slows every allocation down).
    added: list[float] = []
    totals: list[float] = []
    for index in range(WARM_UP + SENDS):
        before = len(camera.durations)
        started = time.perf_counter()
        await send_snapshot(hass, config_entry)
        total = time.perf_counter() - started
        camera_time = sum(camera.durations[before:])
        if index >= WARM_UP:
            totals.append(total)
            added.append(total - camera_time)
        await hass.async_block_till_done()
    assert streaming.lengths == [base64_length] * (WARM_UP + SENDS), "a file came incomplete"

    # Memory: peak during one call, over the traced size just before it.
    gc.collect()
    tracemalloc.start()
    peaks: list[int] = []
    try:
        for _ in range(MEMORY_SENDS):
            await hass.async_block_till_done()
            gc.collect()
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            await send_snapshot(hass, config_entry)
            peaks.append(tracemalloc.get_traced_memory()[1] - baseline)
        await hass.async_block_till_done()
        gc.collect()

        # The same with the double decoding the body as JSON, as it is: its share.
        streaming.enabled = False
        decoding_peaks: list[int] = []
        decoding_times: list[float] = []
        for _ in range(DECODING_SENDS):
            await hass.async_block_till_done()
            gc.collect()
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            await send_snapshot(hass, config_entry)
            decoding_peaks.append(tracemalloc.get_traced_memory()[1] - baseline)
    finally:
        tracemalloc.stop()
    gc.collect()
    for _ in range(DECODING_SENDS):
        started = time.perf_counter()
        await send_snapshot(hass, config_entry)
        decoding_times.append(time.perf_counter() - started)
        await hass.async_block_till_done()

    await hass.async_block_till_done()
    records = bridge.sent_files(SESSION)
    assert len(records) == WARM_UP + SENDS + MEMORY_SENDS + 2 * DECODING_SENDS
    decoded = records[-2 * DECODING_SENDS :]
    assert all(record["data"] == image for record in decoded), "a file arrived changed"
    assert all(record["kind"] == "image" for record in records)
    folder = outbox_files(hass, config_entry.entry_id)
    left = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    peak = statistics.median(peaks)
    print(
        f"\nmachine: {cpu_model()}; send_media with camera_entity_id, a {mib(SIZE)} snapshot"
        f" (the test camera answers at once), Plus double ({PLUS}), connected, one call at a"
        f" time, send rate limit lifted; the double's media routes stream the body to nowhere:"
        f"\n  time added by the integration (action call minus the camera's own"
        f" {statistics.median(camera.durations) * 1e6:.1f} µs), {SENDS} sends after {WARM_UP} warm-up:"
        f" median {ms(statistics.median(added))}, p95 {ms(percentile(added, 0.95))},"
        f" max {ms(max(added))} (whole call: median {ms(statistics.median(totals))})"
        f"\n  peak memory during one call over the level before it (tracemalloc, whole process"
        f" incl. the double's socket side; the camera's snapshot not counted), {MEMORY_SENDS}"
        f" sends: median {mib(peak)} = {peak / SIZE:.2f}x the file, max {mib(max(peaks))}"
        f" = {max(peaks) / SIZE:.2f}x"
        f"\n  for comparison, the double decoding the body as JSON in-process (what the bridge"
        f" pays, not the integration): peak median {mib(statistics.median(decoding_peaks))}"
        f" = {statistics.median(decoding_peaks) / SIZE:.2f}x, call median"
        f" {ms(statistics.median(decoding_times))}"
        f"\n  files left in the queue's folder after the sends: {len(left)}"
    )
