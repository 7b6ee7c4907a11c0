"""Incoming messages: exactly once and in chat order, across stream gaps and restarts.

Live messages come from the event stream. After every gap (the link came back, Home
Assistant started, the stream stalled) a backfill asks the bridge which chats were active
(`chats/overview`, newest first) and reads each one's messages since its cursor, merging the
chats oldest first. While a backfill is due or running, live messages are held back (a bounded
buffer), so nothing overtakes an older message of the same chat; when the buffer overflows it
is dropped and the backfill runs again, since every message is also in the chat history.

No Home Assistant import: the caller supplies the history source, the delivery callback and
the clock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
import heapq
from typing import Protocol

from .bridge import ChatSummary, WahaClient, WaMessage
from .ledger import MessageLedger

# Pages asked of the bridge.
OVERVIEW_PAGE = 50
MESSAGES_PAGE = 100
# Never read more than this many overview pages in one backfill (2,500 chats).
MAX_OVERVIEW_PAGES = 50
# Deliver this many messages, then let the event loop run other work.
DELIVERY_BATCH = 100
# Live messages held back while a backfill is due; beyond this they are re-read from history.
LIVE_BUFFER_LIMIT = 2000
# Clocks of Home Assistant and WhatsApp differ; a finished backfill vouches for less.
CLOCK_MARGIN = 120.0
# Chats that are not conversations.
IGNORED_CHATS = frozenset({"status@broadcast"})

# Delivers one message (`buffered`: it came through a backfill). It may await (to look up a
# sender) but must fire its events synchronously after its last await.
type Deliver = Callable[[WaMessage, bool], Awaitable[None]]
# Which messages become events at all.
type Deliverable = Callable[[WaMessage], bool]


class HistorySource(Protocol):
    """Where a backfill reads what the stream missed (the bridge, for one session)."""

    async def chats_overview(self, *, limit: int, offset: int) -> list[ChatSummary]:
        """A page of chats, newest activity first."""

    async def chat_messages(
        self, chat_id: str, *, since: int, limit: int, offset: int
    ) -> list[WaMessage]:
        """A page of a chat's incoming messages with `timestamp >= since`, oldest first."""


@dataclass(frozen=True, slots=True)
class BridgeHistory:
    """`HistorySource` over the bridge client for one session.

    In your self chat every message is your own: there all of them are read.
    """

    client: WahaClient
    session_name: str
    own_chats: Callable[[], frozenset[str]] = frozenset

    async def chats_overview(self, *, limit: int, offset: int) -> list[ChatSummary]:
        """A page of chats, newest activity first."""
        return await self.client.chats_overview(self.session_name, limit=limit, offset=offset)

    async def chat_messages(
        self, chat_id: str, *, since: int, limit: int, offset: int
    ) -> list[WaMessage]:
        """A page of a chat's incoming messages since `since`, oldest first."""
        return await self.client.chat_messages(
            self.session_name,
            chat_id,
            since=since,
            limit=limit,
            offset=offset,
            from_me=None if chat_id in self.own_chats() else False,
        )


def is_deliverable(message: WaMessage) -> bool:
    """Only incoming conversation messages become events (not our own, not stories)."""
    return not message.from_me and message.chat_id not in IGNORED_CHATS


def self_chat_deliverable(own_chats: Callable[[], frozenset[str]]) -> Deliverable:
    """Incoming conversation messages, and what you write in your own chat."""

    def deliverable(message: WaMessage) -> bool:
        if message.chat_id in IGNORED_CHATS:
            return False
        return not message.from_me or message.chat_id in own_chats()

    return deliverable


class MessageInbox:
    """Delivers each incoming message once, in chat order, live or through backfill."""

    def __init__(
        self,
        ledger: MessageLedger,
        deliver: Deliver,
        *,
        clock: Callable[[], float],
        live_buffer_limit: int = LIVE_BUFFER_LIMIT,
        deliverable: Deliverable = is_deliverable,
    ) -> None:
        """Deliver through `deliver(message, buffered)`; `clock` gives UTC seconds."""
        self.ledger = ledger
        self._deliver = deliver
        self._deliverable = deliverable
        self._clock = clock
        self._held: deque[WaMessage] = deque()
        # Newest messages of chats, undelivered at the last stall check (see find_missed).
        self._stall_suspects: set[str] = set()
        self._held_limit = live_buffer_limit
        self._held_overflowed = False
        self.backfill_due = True
        self.backfilling = False
        self.delivered = 0

    @property
    def held(self) -> int:
        """Live messages waiting for the backfill to finish."""
        return len(self._held)

    def mark_gap(self) -> None:
        """The stream may have missed messages: hold live ones until a backfill ran."""
        self.backfill_due = True

    async def async_on_live(self, message: WaMessage) -> None:
        """A message from the stream: deliver now, or hold it while a backfill is due."""
        if not self._deliverable(message):
            return
        if self.backfill_due or self.backfilling:
            if len(self._held) >= self._held_limit:
                # The backfill will read them from the chat history instead.
                self._held.clear()
                self._held_overflowed = True
            self._held.append(message)
            return
        await self._deliver_once(message, buffered=False)

    async def async_backfill(self, source: HistorySource, *, floor: float) -> int:
        """Deliver what the stream missed since each chat's cursor (not before `floor`).

        Returns the number of messages delivered. On a bridge error the backfill stays due
        and the held live messages stay held; the error propagates.
        """
        if self.backfilling:
            return 0
        self.backfilling = True
        delivered = 0
        try:
            while True:
                self._held_overflowed = False
                started = self._clock()
                delivered += await self._backfill_pass(source, floor)
                if not self._held_overflowed:
                    break
            self.ledger.advance_watermark(started - CLOCK_MARGIN)
            self.backfill_due = False
            await self._release_held()
        finally:
            self.backfilling = False
        return delivered

    async def async_give_up_backfill(self) -> None:
        """Stop waiting for a backfill that keeps failing: deliver the held messages now."""
        self.backfilling = True
        try:
            self.backfill_due = False
            self.ledger.advance_watermark(self._clock() - CLOCK_MARGIN)
            await self._release_held()
        finally:
            self.backfilling = False

    async def async_find_missed(self, source: HistorySource, *, floor: float, grace: float) -> bool:
        """Whether the bridge stored an incoming message that the stream never delivered.

        That is the sign of a stalled stream: the bridge stores messages but emits nothing.
        A chat's newest message counts as missed when it is older than `grace` s, or when it
        was already there, undelivered, at the previous check (under a steady flow the
        newest message is always younger than `grace`).
        """
        if self.backfill_due or self.backfilling:
            self._stall_suspects.clear()
            return False
        if any(not self.ledger.seen(message_id) for message_id in self._stall_suspects):
            self._stall_suspects.clear()
            return True
        latest = self._clock() - grace
        suspects: set[str] = set()
        for chat in await source.chats_overview(limit=OVERVIEW_PAGE, offset=0):
            last = chat.last_message
            if last is None or last.timestamp is None or not self._deliverable(last):
                continue
            if last.timestamp < self.ledger.handled_before(floor):
                break
            if self.ledger.seen(last.id):
                continue
            if last.timestamp <= latest:
                self._stall_suspects.clear()
                return True
            suspects.add(last.id)
        self._stall_suspects = suspects
        return False

    async def _backfill_pass(self, source: HistorySource, floor: float) -> int:
        """Merge the active chats' pages oldest first and deliver the unseen messages."""
        chats = [chat async for chat in self._active_chats(source, floor)]
        readers = [
            _ChatReader(source, chat_id, int(self.ledger.since(chat_id, floor)))
            for chat_id in chats
        ]
        heap: list[tuple[float, int, int, WaMessage]] = []
        sequence = 0
        for index, reader in enumerate(readers):
            first = await reader.next()
            if first is not None:
                heap.append((first.timestamp or 0.0, sequence, index, first))
                sequence += 1
        heapq.heapify(heap)
        delivered = 0
        processed = 0
        while heap:
            _, _, index, message = heapq.heappop(heap)
            if (message.timestamp or 0.0) >= floor and await self._deliver_once(
                message, buffered=True
            ):
                delivered += 1
            processed += 1
            if processed % DELIVERY_BATCH == 0:
                await asyncio.sleep(0)
            following = await readers[index].next()
            if following is not None:
                heapq.heappush(heap, (following.timestamp or 0.0, sequence, index, following))
                sequence += 1
        return delivered

    async def _active_chats(self, source: HistorySource, floor: float) -> AsyncIterator[str]:
        """The chats that may hold undelivered messages, from the newest-first overview."""
        handled_before = self.ledger.handled_before(floor)
        listed: set[str] = set()
        for page in range(MAX_OVERVIEW_PAGES):
            chats = await source.chats_overview(limit=OVERVIEW_PAGE, offset=page * OVERVIEW_PAGE)
            if chats and all(chat.id in listed for chat in chats):
                return  # a bridge that ignores `offset` sends the same page again
            for chat in chats:
                if chat.id in listed:
                    continue
                listed.add(chat.id)
                last = chat.last_message
                if chat.id in IGNORED_CHATS or last is None or last.timestamp is None:
                    continue
                if last.timestamp < handled_before:
                    return
                if self.ledger.needs_backfill(
                    chat.id,
                    newest_id=last.id,
                    newest_timestamp=last.timestamp,
                    newest_from_me=last.from_me,
                    floor=floor,
                ):
                    yield chat.id
            if len(chats) < OVERVIEW_PAGE:
                return

    async def _release_held(self) -> None:
        """Deliver the held live messages; new live ones queue behind them meanwhile."""
        released = 0
        while self._held:
            await self._deliver_once(self._held.popleft(), buffered=False)
            released += 1
            if released % DELIVERY_BATCH == 0:
                await asyncio.sleep(0)

    async def _deliver_once(self, message: WaMessage, *, buffered: bool) -> bool:
        if not self._deliverable(message):
            return False
        if self.ledger.seen(message.id):
            return False
        # `deliver` fires synchronously at its end; record right after, with no await between,
        # so a cancellation either delivers and records, or does neither.
        await self._deliver(message, buffered)
        now = self._clock()
        # A timestamp from the future would move the chat's cursor past messages to come.
        timestamp = now if message.timestamp is None else min(message.timestamp, now)
        self.ledger.record(message.id, message.chat_id, timestamp)
        self.delivered += 1
        return True


class _ChatReader:
    """A chat's messages since `since`, oldest first, one page in memory at a time."""

    def __init__(self, source: HistorySource, chat_id: str, since: int) -> None:
        self._source = source
        self._chat_id = chat_id
        self._since = since
        self._page: deque[WaMessage] = deque()
        self._offset = 0
        self._exhausted = False
        self._read: set[str] = set()

    async def next(self) -> WaMessage | None:
        """The next message, or None when the chat has no more."""
        while not self._page:
            if self._exhausted:
                return None
            page = await self._source.chat_messages(
                self._chat_id, since=self._since, limit=MESSAGES_PAGE, offset=self._offset
            )
            self._offset += len(page)
            fresh = [message for message in page if message.id not in self._read]
            # A short page ends the chat; so does a page of nothing new (a bridge that
            # ignores `offset` would send the same one forever).
            self._exhausted = len(page) < MESSAGES_PAGE or not fresh
            self._read.update(message.id for message in fresh)
            # A bridge that ignores the filter must not replay older messages.
            self._page.extend(
                message
                for message in fresh
                if message.timestamp is None or message.timestamp >= self._since
            )
        return self._page.popleft()
