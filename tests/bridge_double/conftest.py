"""Fixtures of the bridge double's tests: a running double, an HTTP client, WebSockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bridge_double import BridgeDouble, SessionStatus
from tests.bridge_double.support import KEY, ME, Connect


@pytest.fixture
async def double() -> AsyncIterator[BridgeDouble]:
    bridge = BridgeDouble(api_key=KEY)
    bridge.add_session(
        "default", status=SessionStatus.WORKING, paired=True, me_id=ME, push_name="Alice"
    )
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def connect(double: BridgeDouble, http: aiohttp.ClientSession) -> AsyncIterator[Connect]:
    """Open a WebSocket; wait until the double counts it when the key is good."""
    opened: list[aiohttp.ClientWebSocketResponse] = []

    async def _connect(
        *,
        key: str = KEY,
        session: str = "*",
        events: list[str] | None = None,
        heartbeat: float | None = None,
        registered: bool = True,
    ) -> aiohttp.ClientWebSocketResponse:
        params = [("x-api-key", key), ("session", session)]
        params += [("events", event) for event in events or []]
        before = double.stream_count()
        ws = await http.ws_connect(double.url + "/ws", params=params, heartbeat=heartbeat)
        opened.append(ws)
        if registered:
            async with asyncio.timeout(2):
                await double.wait_for_streams(before + 1)
        return ws

    yield _connect
    for ws in opened:
        await ws.close()
        # aiohttp 3.13 (our oldest Home Assistant's) re-arms the heartbeat of a socket
        # whose pong timed out when receive() hands out that error; the harness fails a test
        # that leaves the timer behind. A no-op on later aiohttp.
        ws._cancel_heartbeat()
