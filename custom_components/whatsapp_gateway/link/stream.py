"""The event stream from the bridge: opened by the link, read in the background.

Messages go to the inbox; session status events go to session control. When the stream
ends, the link hears why (rejected key, closed, heartbeat timeout) and reconnects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..bridge import (
    EventStream,
    Me,
    SessionStatus,
    StreamEvent,
    WahaAuthError,
    WahaClient,
    WahaResponseError,
    WahaStreamClosedError,
)
from ..const import DOMAIN, LOGGER
from ..incoming import IncomingMessages
from ..models import DisconnectReason

# Handle this many buffered stream frames, then let the event loop run other work.
STREAM_BATCH = 100
# The promise: a dead link is noticed within the heartbeat option plus this many seconds...
DEAD_LINK_GRACE = 15.0
# ...with this much to spare. aiohttp pings `h` s after the last frame and gives up when no
# pong came within h/2 more; both timers are rounded up to a whole second (above 5 s).
DEAD_LINK_MARGIN = 3.0
AIOHTTP_TIMER_ROUNDING = 2.0


def ws_heartbeat(heartbeat: float) -> float:
    """The WebSocket ping interval that notices a dead link within heartbeat + 15 s.

    Never pings less often than the option asks; at the default 30 s it pings every 26.7 s,
    so a half-open socket is dropped after at most 42 s.
    """
    budget = heartbeat + DEAD_LINK_GRACE - DEAD_LINK_MARGIN - AIOHTTP_TIMER_ROUNDING
    return max(min(heartbeat - 1, budget / 1.5), 1.0)


class StreamReader:
    """Holds the current event stream and the task reading it."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: WahaClient,
        session_name: str,
        *,
        heartbeat: float,
        incoming: IncomingMessages,
        on_status: Callable[[SessionStatus, str | None, Me | None], Awaitable[None]],
        on_auth_failed: Callable[[], None],
        on_closed: Callable[[DisconnectReason, str], None],
    ) -> None:
        """Bind the session, where messages and statuses go, and who hears of the end."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._session_name = session_name
        self._heartbeat = heartbeat
        self._incoming = incoming
        self._on_status = on_status
        self._on_auth_failed = on_auth_failed
        self._on_closed = on_closed
        self.stream: EventStream | None = None
        self.reader_task: asyncio.Task[None] | None = None
        self._warned_malformed: set[str] = set()

    @property
    def is_open(self) -> bool:
        """Whether a stream is held and not closed."""
        return self.stream is not None and not self.stream.closed

    async def async_open(self) -> None:
        """Open a stream unless one is open, and read it in the background.

        Raises `WahaError` when the bridge does not accept the stream.
        """
        if self.is_open:
            return
        stream = await self._client.connect_stream(
            self._session_name, heartbeat=ws_heartbeat(self._heartbeat)
        )
        self.stream = stream
        self.reader_task = self._entry.async_create_background_task(
            self._hass,
            self._async_read(stream),
            f"{DOMAIN} event stream {self._session_name}",
        )

    async def async_stop(self) -> None:
        """Close the stream and end its reader (at shutdown)."""
        await self.async_close()
        task, self.reader_task = self.reader_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def async_close(self) -> None:
        """Close the stream and wait for it (at shutdown: nothing may outlive the entry)."""
        stream, self.stream = self.stream, None
        if stream is not None:
            await stream.close()

    def drop(self) -> None:
        """Let go of the stream now and close it meanwhile: reconnecting must not wait.

        A half-open socket never answers the close handshake, so waiting for it would add
        the whole close timeout to the outage.
        """
        stream, self.stream = self.stream, None
        if stream is not None:
            self._entry.async_create_background_task(
                self._hass, stream.close(), f"{DOMAIN} close stream"
            )

    async def _async_read(self, stream: EventStream) -> None:
        """Consume events until the stream ends, then hand over to the reconnect logic."""
        try:
            handled = 0
            async for event in stream:
                if stream is not self.stream:
                    return
                await self._async_handle_event(event)
                handled += 1
                if handled % STREAM_BATCH == 0:
                    # Frames already buffered are read without suspending: let others run.
                    await asyncio.sleep(0)
        except WahaAuthError:
            if stream is self.stream:
                self._on_auth_failed()
        except WahaStreamClosedError as err:
            if stream is self.stream:
                self.stream = None
                reason = (
                    DisconnectReason.HEARTBEAT_TIMEOUT
                    if err.heartbeat_timeout
                    else DisconnectReason.STREAM_CLOSED
                )
                self._on_closed(reason, str(err))
        finally:
            await stream.close()

    async def _async_handle_event(self, event: StreamEvent) -> None:
        if event.session not in (None, self._session_name):
            return
        if event.event in ("message", "message.any"):
            # `message.any` also carries your own messages; the inbox sorts them out.
            try:
                message = self._client.parse_message(event.payload)
            except WahaResponseError:
                self._warn_malformed("a message event without an id or a chat")
                return
            await self._incoming.async_on_live(message)
            return
        if event.event == "message.reaction":
            try:
                reaction = self._client.parse_reaction(event.payload)
            except WahaResponseError:
                self._warn_malformed("a reaction event without an id or a chat")
                return
            await self._incoming.async_on_reaction(reaction)
            return
        if event.event in ("poll.vote", "poll.vote.failed"):
            try:
                vote = self._client.parse_poll_vote(
                    event.payload, failed=event.event == "poll.vote.failed"
                )
            except WahaResponseError:
                self._warn_malformed("a poll vote event without a poll or a chat")
                return
            await self._incoming.async_on_poll_vote(vote)
            return
        status = event.session_status
        if status is None:
            return
        raw = event.payload.get("status")
        await self._on_status(status, raw if isinstance(raw, str) else None, event.me)

    def _warn_malformed(self, kind: str) -> None:
        if kind not in self._warned_malformed:
            self._warned_malformed.add(kind)
            LOGGER.warning("Ignoring %s from the bridge at %s", kind, self._client.origin)
