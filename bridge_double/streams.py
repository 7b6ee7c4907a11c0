"""Connected WebSocket clients: filters, ordered sending, closing, cutting, half-open."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiohttp import web

_LOGGER = logging.getLogger(__name__)

ALL: Final = "*"
EXCLUDED_FROM_ALL: Final = frozenset({"engine.event"})
FLUSH_TIMEOUT: Final = 1.0
CLOSE_TIMEOUT: Final = 1.0

type Frame = str | bytes


def parse_events(values: Iterable[str]) -> frozenset[str]:
    """Events from repeated and/or comma-separated ``events`` query values."""
    events = {part.strip() for value in values for part in value.split(",")}
    events.discard("")
    return frozenset(events) or frozenset({ALL})


class StreamClient:
    """One upgraded WebSocket with its filters and a writer task keeping frame order."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        *,
        session: str,
        events: frozenset[str],
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.session = session
        self.events = events
        self.half_open = False
        self._queue: asyncio.Queue[Frame] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write(), name="bridge-double-ws-writer")

    @property
    def open(self) -> bool:
        """Whether the socket is still up from the server's point of view."""
        transport = self.transport
        return not self.ws.closed and not (transport is not None and transport.is_closing())

    def wants(self, session: str, event: str) -> bool:
        """Whether this client's filters let ``event`` of ``session`` through."""
        if self.session not in (ALL, session):
            return False
        if event in self.events:
            return True
        return ALL in self.events and event not in EXCLUDED_FROM_ALL

    def watches(self, session: str) -> bool:
        """Whether this client gets events of ``session`` at all."""
        return self.session in (ALL, session)

    def enqueue(self, frame: Frame) -> None:
        """Queue a frame; nothing is sent on a half-open or closed socket."""
        if not self.half_open and self.open:
            self._queue.put_nowait(frame)

    async def drained(self) -> None:
        """Wait until every queued frame was handed to the transport."""
        await self._queue.join()

    def go_half_open(self) -> None:
        """Stop reading (no pong to client pings), stop pinging and stop sending."""
        self.half_open = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self.silence()

    def silence(self) -> None:
        """Cancel the server heartbeat for good (aiohttp re-arms it when a late frame arrives)."""
        self.ws._cancel_heartbeat()  # noqa: SLF001

    def cut(self) -> None:
        """Drop the TCP connection without a close frame."""
        if self.transport is not None:
            self.transport.abort()

    async def close(self, code: int, reason: str) -> None:
        """Send a close frame; a half-open socket gets nothing (it stays dead)."""
        if self.half_open:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=code, message=reason.encode())

    async def stop_writer(self) -> None:
        """End the writer task (and the heartbeat: the socket is done)."""
        self.silence()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer

    async def _write(self) -> None:
        while True:
            frame = await self._queue.get()
            try:
                if self.half_open or not self.open:
                    continue
                if isinstance(frame, str):
                    await self.ws.send_str(frame)
                else:
                    await self.ws.send_bytes(frame)
            except (ConnectionError, RuntimeError) as err:
                _LOGGER.debug("dropping a frame for a closing socket: %s", err)
            finally:
                self._queue.task_done()


class StreamHub:
    """All connected, authorised clients."""

    def __init__(self) -> None:
        self.clients: set[StreamClient] = set()
        self.half_open_mode = False
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def add(self, client: StreamClient) -> None:
        """Register a client (half-open at once while the link is half-open)."""
        self.clients.add(client)
        if self.half_open_mode:
            client.go_half_open()
        self._notify()

    def discard(self, client: StreamClient) -> None:
        """Forget a client."""
        self.clients.discard(client)
        self._notify()

    async def wait_for(self, count: int, session: str | None = None) -> None:
        """Wait until :meth:`count` reaches ``count``."""
        while self.count(session) < count:
            await self._changed.wait()

    def count(self, session: str | None = None) -> int:
        """Open clients, all or those that get events of ``session``."""
        return sum(
            1
            for client in self.clients
            if client.open and (session is None or client.watches(session))
        )

    def publish(self, session: str, event: str, frame: Frame) -> None:
        """Queue ``frame`` for every client whose filters match."""
        for client in self.clients:
            if client.wants(session, event):
                client.enqueue(frame)

    def publish_all(self, frame: Frame) -> None:
        """Queue ``frame`` for every client regardless of filters."""
        for client in self.clients:
            client.enqueue(frame)

    async def flush(self) -> None:
        """Wait (bounded) until queued frames are written."""
        waits = [asyncio.ensure_future(client.drained()) for client in self.clients]
        if not waits:
            return
        _done, pending = await asyncio.wait(waits, timeout=FLUSH_TIMEOUT)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    def go_half_open(self) -> None:
        """Make every open socket half-open, and new ones too until :meth:`heal`."""
        self.half_open_mode = True
        for client in self.clients:
            client.go_half_open()

    def heal(self) -> None:
        """New sockets work again; the dead ones stay dead."""
        self.half_open_mode = False

    async def close_all(self, code: int, reason: str = "") -> None:
        """Flush, then close every socket with ``code`` (half-open ones are left alone)."""
        await self.flush()
        clients = list(self.clients)
        if clients:
            await asyncio.gather(*(client.close(code, reason) for client in clients))

    def cut_all(self) -> None:
        """Cut every socket without a close frame."""
        for client in list(self.clients):
            client.cut()
