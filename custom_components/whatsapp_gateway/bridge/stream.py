"""The bridge's event stream: one WebSocket, one JSON envelope per text frame.

Malformed frames (not JSON, binary, an envelope without an event name) are skipped and
counted, with one warning per kind and stream; they never end the stream. Frame contents are
never logged: they carry message bodies and phone numbers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Self

import aiohttp

from . import decoding
from .errors import WahaAuthError, WahaResponseError, WahaStreamClosedError
from .models import StreamEvent

_LOGGER = logging.getLogger(__name__)

CLOSE_POLICY_VIOLATION = 1008


class EventStream:
    """Reads `StreamEvent`s from an open WebSocket until it ends."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse, *, origin: str) -> None:
        """Wrap an open WebSocket."""
        self._websocket = websocket
        self._origin = origin
        self.malformed: dict[str, int] = {}
        self._closing = False

    def _skip(self, kind: str) -> None:
        count = self.malformed.get(kind, 0) + 1
        self.malformed[kind] = count
        if count == 1:
            _LOGGER.warning(
                "Ignoring a malformed frame from the bridge at %s: %s", self._origin, kind
            )

    async def receive(self) -> StreamEvent:
        """Return the next event; raise when the stream ends.

        Raises `WahaAuthError` for a 1008 close (the bridge rejected the key), else
        `WahaStreamClosedError` with the close code (None when the link was cut) and whether
        the client heartbeat timed out.
        """
        while True:
            message = await self._websocket.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                try:
                    return StreamEvent.parse(decoding.loads(message.data))
                except ValueError:
                    self._skip("not JSON")
                except WahaResponseError:
                    self._skip("not an event envelope")
                continue
            if message.type is aiohttp.WSMsgType.BINARY:
                self._skip("binary frame")
                continue
            if message.type is aiohttp.WSMsgType.ERROR:
                timed_out = isinstance(message.data, aiohttp.ServerTimeoutError)
                raise WahaStreamClosedError(
                    f"event stream from {self._origin} failed"
                    + (": no pong within the heartbeat" if timed_out else ""),
                    code=None,
                    heartbeat_timeout=timed_out,
                )
            # CLOSE, CLOSING, CLOSED
            code = self._websocket.close_code
            if message.type is aiohttp.WSMsgType.CLOSE and isinstance(message.data, int):
                code = message.data
            reason = message.extra if isinstance(message.extra, str) else ""
            if code == CLOSE_POLICY_VIOLATION:
                raise WahaAuthError(
                    f"the bridge at {self._origin} closed the event stream: {reason or 1008}",
                    forbidden=reason == "Forbidden",
                )
            # aiohttp reports a connection cut without a close frame as 1006.
            raise WahaStreamClosedError(
                f"event stream from {self._origin} closed (code {code})",
                code=None if code in (None, aiohttp.WSCloseCode.ABNORMAL_CLOSURE) else code,
            )

    def __aiter__(self) -> Self:
        """Iterate over events until the stream ends (the end raises, see `receive`)."""
        return self

    async def __anext__(self) -> StreamEvent:
        """Return the next event."""
        return await self.receive()

    @property
    def closed(self) -> bool:
        """Whether the WebSocket is closed."""
        return self._websocket.closed

    async def close(self) -> None:
        """Close the WebSocket once (later calls return at once); no timer outlives it."""
        if self._closing:
            return
        self._closing = True
        try:
            await self._websocket.close()
            # aiohttp 3.14 re-arms the heartbeat when the close reply arrives: the reset is
            # queued with call_soon after close() cancelled it. Let it run, then cancel it.
            await asyncio.sleep(0)
        finally:
            # Also when the close itself is cancelled (an entry unloading meanwhile).
            self._websocket._cancel_heartbeat()  # noqa: SLF001
