"""Helpers shared by the bridge double's tests: constants, waits and small HTTP calls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
import time
from typing import Any

import aiohttp
import pytest

KEY = "test-key"
ME = "491511234567@c.us"

type Connect = Callable[..., Awaitable[aiohttp.ClientWebSocketResponse]]


async def until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def event(ws: aiohttp.ClientWebSocketResponse, within: float = 2.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=within)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def statuses(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[str]:
    found = []
    for _ in range(count):
        envelope = await event(ws)
        assert envelope["event"] == "session.status"
        found.append(envelope["payload"]["status"])
    return found


async def nothing_arrives(ws: aiohttp.ClientWebSocketResponse, within: float = 0.1) -> None:
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=within)


def auth(key: str = KEY) -> dict[str, str]:
    return {"X-Api-Key": key}


async def get(
    http: aiohttp.ClientSession, url: str, key: str = KEY, **kwargs: Any
) -> tuple[int, Any]:
    async with http.get(url, headers=auth(key), **kwargs) as resp:
        return resp.status, await resp.json()


async def post(
    http: aiohttp.ClientSession, url: str, body: Any = None, key: str = KEY
) -> tuple[int, Any]:
    async with http.post(url, json=body, headers=auth(key)) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None
