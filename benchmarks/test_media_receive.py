"""Wall-clock time and memory of a received 20 MB video saved to the local media folder.

Run with `scripts/bench -k media`; prints figures, asserts nothing about time or size (claims
come from the printed numbers). Real time on purpose: no frozen clock here.

The double (Plus, in the same process, on the same loop) gets a 20 MB `video/mp4` message
(`emit_message(..., media=...)`) and serves the bytes at its key-protected `/api/files/...`;
the integration sees the frame, downloads the file to `<local media>/whatsapp/...` (streamed
to disk by `WahaClient.download_file`) and fires `whatsapp_gateway_message_received` with
`media` describing the saved file.

Time: from `emit_message` (the frame goes out) to the event (the file is saved and renamed).
Memory: tracemalloc peak during one receive minus the traced size just before it. The bytes
the double holds were made before tracing started and the double keeps that same object (no
copy), so they are not counted; everything else in the process is, including the double's
side of the socket. That share is measured apart: a bare aiohttp client that reads the
same file and throws the chunks away, and the same download with the integration.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import gc
from pathlib import Path
import statistics
import time
import tracemalloc
from typing import Any

import aiohttp
from homeassistant.core import Event, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus
from custom_components.whatsapp_gateway.const import EVENT_MESSAGE_RECEIVED
from tests.conftest import API_KEY, ME_ID, PUSH_NAME, SESSION
from tests.helpers import setup_connected

from .test_message_path import cpu_model, ms

pytestmark = pytest.mark.usefixtures("socket_enabled")

PLUS = "GOWS-2026.7.1-PLUS"
SIZE = 20 * 1024 * 1024
TIMED = 5
TRACED = 3
CONTACT = "4917612345678@c.us"
_MIB = 1024 * 1024


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Measure the loop as Home Assistant runs it: without asyncio debug mode."""
    asyncio.get_running_loop().set_debug(False)


@pytest.fixture
async def bridge(socket_enabled: None) -> AsyncGenerator[BridgeDouble]:
    """A Plus double, one paired, working session."""
    double = BridgeDouble(api_key=API_KEY, profile=BridgeProfile.parse(PLUS))
    double.add_session(
        SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    await double.start()
    yield double
    await double.stop()


def video(size: int, seed: int) -> bytes:
    """`size` bytes, different per `seed`, starting like an MP4 (`ftyp`)."""
    block = bytes((index * 13 + seed) & 0xFF for index in range(65_536))
    return (b"\x00\x00\x00\x18ftypmp42" + block * (size // len(block) + 1))[:size]


def mib(size: float) -> str:
    return f"{size / _MIB:.2f} MiB"


async def bare_read(url: str) -> int:
    """Read a file of the double with a bare aiohttp client, keeping nothing."""
    size = 0
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"X-Api-Key": API_KEY}) as response,
    ):
        assert response.status == 200
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
    return size


async def test_received_video_saved(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, tmp_path: Path
) -> None:
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    hass.config.media_dirs = {"local": str(media_dir)}
    await setup_connected(hass, config_entry)

    saved: list[tuple[float, dict[str, Any]]] = []
    arrived = asyncio.Event()

    @callback
    def on_event(event: Event[dict[str, Any]]) -> None:
        saved.append((time.perf_counter(), dict(event.data)))
        arrived.set()

    unsub = hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, on_event)
    # WhatsApp timestamps are whole seconds, and the entry handles nothing of its first one.
    await asyncio.sleep(1.1)

    async def receive(data: bytes, index: int) -> tuple[float, dict[str, Any]]:
        arrived.clear()
        count = len(saved)
        started = time.perf_counter()
        message = await bridge.emit_message(
            SESSION,
            chat_id=CONTACT,
            body=f"video {index}",
            media=data,
            mimetype="video/mp4",
            filename=f"clip{index}.mp4",
        )
        async with asyncio.timeout(60):
            while len(saved) == count:
                arrived.clear()
                await arrived.wait()
        at, event = saved[-1]
        assert event["message_id"] == message["id"]
        assert event["media"] is not None, event.get("media_error")
        assert event["media"]["size"] == len(data)
        await hass.async_block_till_done()
        return at - started, event

    # Time: no tracing. A warm-up first.
    videos = [video(SIZE, seed) for seed in range(1 + TIMED + TRACED)]
    await receive(videos[0], 0)
    times: list[float] = []
    for index in range(1, 1 + TIMED):
        elapsed, event = await receive(videos[index], index)
        times.append(elapsed)
    saved_path = Path(event["media"]["path"])
    same = await hass.async_add_executor_job(saved_path.read_bytes) == videos[TIMED]
    assert same, "the saved file differs"
    stored = [file.data for file in bridge.session(SESSION).files.values()]
    kept_same_object = any(data is videos[TIMED] for data in stored)

    # Memory: peak during one receive over the traced size just before it.
    peaks: list[int] = []
    bare_peaks: list[int] = []
    gc.collect()
    tracemalloc.start()
    try:
        for index in range(1 + TIMED, 1 + TIMED + TRACED):
            gc.collect()
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            _, event = await receive(videos[index], index)
            peaks.append(tracemalloc.get_traced_memory()[1] - baseline)
            # The double's share: the same file read by a bare client that keeps nothing.
            gc.collect()
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            file_name = next(
                name
                for name, file in bridge.session(SESSION).files.items()
                if file.data is videos[index]
            )
            url = f"{bridge.url}/api/files/{SESSION}/{file_name}"
            assert await bare_read(url) == SIZE
            bare_peaks.append(tracemalloc.get_traced_memory()[1] - baseline)
    finally:
        tracemalloc.stop()
    unsub()
    assert await hass.config_entries.async_unload(config_entry.entry_id)

    peak = statistics.median(peaks)
    bare = statistics.median(bare_peaks)
    print(
        f"\nmachine: {cpu_model()}; a received {mib(SIZE)} video/mp4 saved to the local media"
        f" folder, Plus double ({PLUS}) in the same process, one at a time:"
        f"\n  time from emit_message to the message_received event with the file saved,"
        f" {TIMED} receives after 1 warm-up: median {ms(statistics.median(times))},"
        f" max {ms(max(times))} (= {SIZE / _MIB / statistics.median(times):.0f} MiB/s)"
        f"\n  memory growth while saving (tracemalloc peak over the level before, whole"
        f" process incl. the double's serving side; the double's copy of the bytes not"
        f" counted: {'it keeps the same object' if kept_same_object else 'IT COPIED THEM'}),"
        f" {TRACED} receives: median {mib(peak)}, max {mib(max(peaks))}"
        f"\n  of which the double's serving and a bare reading client (the same file read and"
        f" thrown away): median {mib(bare)}; the integration's share about"
        f" {mib(max(peak - bare, 0))}"
    )
