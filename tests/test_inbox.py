"""The inbox's exactly-once, in-order delivery, against an in-memory chat history.

The end-to-end tests drive the same code over real sockets; here hypothesis explores random
interleavings of messages, stream drops, duplicate frames, Home Assistant restarts (also in
the middle of a backfill) and overflowing live buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.whatsapp_gateway.bridge import ChatSummary, WaMessage
from custom_components.whatsapp_gateway.inbox import (
    CLOCK_MARGIN,
    MESSAGES_PAGE,
    OVERVIEW_PAGE,
    MessageInbox,
    is_deliverable,
)
from custom_components.whatsapp_gateway.ledger import MessageLedger

CHATS = ("111@c.us", "222@c.us", "333@g.us", "444@lid")


class StopInTheMiddleError(Exception):
    """Home Assistant stops in the middle of a delivery."""


@dataclass
class FakeHistory:
    """The bridge's chat history, with the overview and messages endpoints' semantics."""

    chats: dict[str, list[WaMessage]] = field(default_factory=dict)
    on_page: list[WaMessage] = field(default_factory=list)
    inbox: MessageInbox | None = None
    requests: int = 0

    def add(self, message: WaMessage) -> None:
        self.chats.setdefault(message.chat_id, []).append(message)

    async def chats_overview(self, *, limit: int, offset: int) -> list[ChatSummary]:
        self.requests += 1
        await self._while_reading()
        summaries = [
            ChatSummary(id=chat_id, name=None, last_message=messages[-1])
            for chat_id, messages in self.chats.items()
            if messages
        ]
        summaries.sort(key=lambda chat: chat.last_message.timestamp or 0, reverse=True)  # type: ignore[union-attr]
        return summaries[offset : offset + limit]

    async def chat_messages(
        self, chat_id: str, *, since: int, limit: int, offset: int
    ) -> list[WaMessage]:
        self.requests += 1
        await self._while_reading()
        matching = [
            message
            for message in self.chats.get(chat_id, [])
            if not message.from_me and (message.timestamp or 0) >= since
        ]
        return matching[offset : offset + limit]

    async def _while_reading(self) -> None:
        """Messages that arrive live while a backfill reads the history."""
        await asyncio.sleep(0)
        while self.on_page:
            message = self.on_page.pop(0)
            self.add(message)
            assert self.inbox is not None
            await self.inbox.async_on_live(message)


class Harness:
    """An inbox with a clock, a history and a record of what was delivered."""

    def __init__(self, *, live_buffer_limit: int = 1000) -> None:
        self.now = 1_000_000.0
        self.history = FakeHistory()
        self.delivered: list[tuple[WaMessage, bool]] = []
        self.live_buffer_limit = live_buffer_limit
        self.interrupt_after: int | None = None
        self.inbox = self._new_inbox(MessageLedger(watermark=self.now))
        self.sequence = 0
        self.stream_up = True
        self.sent: list[WaMessage] = []

    def _new_inbox(self, ledger: MessageLedger) -> MessageInbox:
        inbox = MessageInbox(
            ledger,
            self._deliver,
            clock=lambda: self.now,
            live_buffer_limit=self.live_buffer_limit,
        )
        self.history.inbox = inbox
        return inbox

    async def _deliver(self, message: WaMessage, buffered: bool) -> None:
        if self.interrupt_after is not None:
            if self.interrupt_after == 0:
                raise StopInTheMiddleError
            self.interrupt_after -= 1
        self.delivered.append((message, buffered))

    def message(self, chat_id: str, *, from_me: bool = False) -> WaMessage:
        self.sequence += 1
        return WaMessage(
            id=f"{'true' if from_me else 'false'}_{chat_id}_{self.sequence:08X}",
            chat_id=chat_id,
            from_me=from_me,
            timestamp=float(int(self.now)),
            body=f"m{self.sequence}",
        )

    async def arrive(self, chat_id: str, *, from_me: bool = False) -> WaMessage:
        message = self.message(chat_id, from_me=from_me)
        self.history.add(message)
        self.sent.append(message)
        if self.stream_up:
            await self.inbox.async_on_live(message)
        return message

    async def reconnect(self, live_during_backfill: int = 0) -> None:
        self.stream_up = True
        for index in range(live_during_backfill):
            message = self.message(CHATS[index % len(CHATS)])
            self.sent.append(message)
            self.history.on_page.append(message)
        await self.inbox.async_backfill(self.history, floor=0)

    def drop(self) -> None:
        self.stream_up = False
        self.inbox.mark_gap()

    def restart(self) -> None:
        """Home Assistant stops (held live messages are gone) and starts from storage."""
        stored = self.inbox.ledger.as_dict()
        self.stream_up = False
        self.history.on_page.clear()
        self.inbox = self._new_inbox(MessageLedger.from_dict(stored, default_watermark=0))

    def check(self) -> None:
        ids = [message.id for message, _ in self.delivered]
        assert len(ids) == len(set(ids)), "a message was delivered twice"
        expected = {message.id for message in self.sent if is_deliverable(message)}
        assert set(ids) == expected, "a message was lost"
        for chat_id in CHATS:
            in_chat = [m.id for m, _ in self.delivered if m.chat_id == chat_id]
            in_history = [m.id for m in self.history.chats.get(chat_id, []) if is_deliverable(m)]
            assert in_chat == in_history, f"out of order in {chat_id}"


OPERATIONS = st.one_of(
    st.tuples(st.just("message"), st.sampled_from(CHATS), st.integers(0, 3)),
    st.tuples(st.just("own"), st.sampled_from(CHATS), st.integers(0, 3)),
    st.tuples(st.just("drop"), st.just(""), st.integers(0, 30)),
    st.tuples(st.just("reconnect"), st.just(""), st.integers(0, 5)),
    # The stream is open again but the backfill has not started yet.
    st.tuples(st.just("reopen"), st.just(""), st.just(0)),
    st.tuples(st.just("duplicate"), st.just(""), st.integers(0, 50)),
    st.tuples(st.just("restart"), st.just(""), st.integers(0, 600)),
    st.tuples(st.just("restart_mid_backfill"), st.just(""), st.integers(0, 5)),
)


async def run_operations(harness: Harness, operations: list[tuple[str, str, int]]) -> None:
    for kind, chat_id, number in operations:
        match kind:
            case "message" | "own":
                harness.now += number
                await harness.arrive(chat_id, from_me=kind == "own")
            case "drop":
                harness.now += number
                harness.drop()
            case "reconnect":
                await harness.reconnect(live_during_backfill=number)
            case "reopen":
                harness.stream_up = True
            case "duplicate" if harness.sent and harness.stream_up:
                # The bridge re-emits a frame it already sent.
                await harness.inbox.async_on_live(harness.sent[number % len(harness.sent)])
            case "restart":
                harness.now += number
                harness.restart()
            case "restart_mid_backfill":
                harness.interrupt_after = number
                with contextlib.suppress(StopInTheMiddleError):
                    await harness.reconnect()
                harness.interrupt_after = None
                harness.restart()
    await harness.reconnect()


@settings(max_examples=300, deadline=None)
@given(
    operations=st.lists(OPERATIONS, max_size=40),
    live_buffer_limit=st.sampled_from([2, 1000]),
)
def test_every_message_exactly_once_in_chat_order(
    operations: list[tuple[str, str, int]], live_buffer_limit: int
) -> None:
    """Whatever happens, each message id is delivered once, in order within its chat."""
    harness = Harness(live_buffer_limit=live_buffer_limit)
    asyncio.run(run_operations(harness, operations))
    harness.check()


async def test_live_messages_are_delivered_at_once_when_no_gap() -> None:
    harness = Harness()
    await harness.reconnect()
    message = await harness.arrive(CHATS[0])
    assert harness.delivered == [(message, False)]
    assert harness.inbox.delivered == 1


async def test_backfill_flags_buffered_and_delivers_oldest_first_across_chats() -> None:
    harness = Harness()
    await harness.reconnect()
    harness.drop()
    for chat_id in (CHATS[1], CHATS[0], CHATS[1]):
        harness.now += 5
        await harness.arrive(chat_id)
    live = harness.message(CHATS[0])
    harness.history.on_page.append(live)
    harness.sent.append(live)
    await harness.reconnect()
    # The live one reached the history before the backfill read it: it may come either way.
    assert [buffered for _, buffered in harness.delivered][:3] == [True, True, True]
    assert harness.delivered[3][0] == live
    timestamps = [m.timestamp for m, _ in harness.delivered[:3]]
    assert timestamps == sorted(timestamps)
    harness.check()


async def test_a_brand_new_inbox_replays_no_history() -> None:
    harness = Harness()
    harness.now -= 3600
    old = harness.message(CHATS[0])
    harness.history.add(old)
    harness.now += 3600
    await harness.reconnect()
    assert harness.delivered == []


async def test_nothing_older_than_the_floor_is_replayed() -> None:
    harness = Harness()
    harness.inbox.ledger = MessageLedger(watermark=0)
    harness.stream_up = False
    old = await harness.arrive(CHATS[0])
    harness.now += 100
    recent = await harness.arrive(CHATS[0])
    await harness.inbox.async_backfill(harness.history, floor=harness.now - 50)
    assert [m for m, _ in harness.delivered] == [recent]
    assert old.id not in {m.id for m, _ in harness.delivered}


async def test_long_backlogs_are_paged_and_yield() -> None:
    harness = Harness()
    await harness.reconnect()
    harness.drop()
    count = MESSAGES_PAGE * 3 + 7
    for index in range(count):
        harness.now += index % 2
        await harness.arrive(CHATS[index % 2])
    requests_before = harness.history.requests
    await harness.reconnect()
    assert len(harness.delivered) == count
    # 1 overview page + per chat ceil(count/2 / page) pages (+ the last, short one).
    assert harness.history.requests - requests_before <= 1 + 2 * (count // 2 // MESSAGES_PAGE + 1)
    harness.check()


async def test_overview_pages_until_chats_are_older_than_the_watermark() -> None:
    harness = Harness()
    await harness.reconnect()
    harness.drop()
    for index in range(OVERVIEW_PAGE + 5):
        harness.now += 1
        await harness.arrive(f"{100000 + index}@c.us")
    harness.history.requests = 0
    await harness.reconnect()
    assert len(harness.delivered) == OVERVIEW_PAGE + 5
    # Two overview pages and one messages page per chat.
    assert harness.history.requests == 2 + OVERVIEW_PAGE + 5


async def test_a_finished_backfill_moves_the_watermark_with_a_margin() -> None:
    harness = Harness()
    harness.now += 1000
    await harness.reconnect()
    assert harness.inbox.ledger.watermark == harness.now - CLOCK_MARGIN
    assert not harness.inbox.backfill_due


async def test_a_failing_backfill_keeps_live_messages_held() -> None:
    harness = Harness()
    await harness.reconnect()
    harness.drop()
    harness.stream_up = True
    held = await harness.arrive(CHATS[0])
    assert harness.inbox.held == 1

    class Broken(FakeHistory):
        async def chats_overview(self, *, limit: int, offset: int) -> list[ChatSummary]:
            raise ConnectionError

    with pytest.raises(ConnectionError):
        await harness.inbox.async_backfill(Broken(), floor=0)
    assert harness.inbox.backfill_due
    assert harness.delivered == []
    await harness.inbox.async_give_up_backfill()
    assert harness.delivered == [(held, False)]
    assert not harness.inbox.backfill_due


async def test_a_second_backfill_while_one_runs_does_nothing() -> None:
    harness = Harness()
    harness.inbox.backfilling = True
    assert await harness.inbox.async_backfill(harness.history, floor=0) == 0


async def test_find_missed_sees_an_undelivered_newest_message() -> None:
    harness = Harness()
    await harness.reconnect()
    delivered = await harness.arrive(CHATS[0])
    assert not await harness.inbox.async_find_missed(harness.history, floor=0, grace=10)
    # The stream stalls: the bridge stores a message but emits nothing.
    harness.stream_up = False
    harness.now += 1
    await harness.arrive(CHATS[1])
    assert not await harness.inbox.async_find_missed(harness.history, floor=0, grace=10)
    harness.now += 10
    assert await harness.inbox.async_find_missed(harness.history, floor=0, grace=10)
    # Our own messages and chats older than the watermark are no sign of a stall.
    assert delivered.id in {m.id for m, _ in harness.delivered}
    harness.inbox.mark_gap()
    assert not await harness.inbox.async_find_missed(harness.history, floor=0, grace=10)


async def test_find_missed_ignores_own_messages_and_stories() -> None:
    harness = Harness()
    await harness.reconnect()
    harness.stream_up = False
    await harness.arrive(CHATS[0], from_me=True)
    story = harness.message("status@broadcast")
    harness.history.add(story)
    harness.now += 60
    assert not await harness.inbox.async_find_missed(harness.history, floor=0, grace=10)


async def test_stories_and_own_messages_are_never_delivered() -> None:
    harness = Harness()
    await harness.reconnect()
    await harness.inbox.async_on_live(harness.message("status@broadcast"))
    await harness.inbox.async_on_live(harness.message(CHATS[0], from_me=True))
    assert harness.delivered == []


class PagingBlindHistory(FakeHistory):
    """A bridge that ignores `offset`: every request answers the first page again."""

    async def chats_overview(self, *, limit: int, offset: int) -> list[ChatSummary]:
        return await super().chats_overview(limit=limit, offset=0)

    async def chat_messages(
        self, chat_id: str, *, since: int, limit: int, offset: int
    ) -> list[WaMessage]:
        return await super().chat_messages(chat_id, since=since, limit=limit, offset=0)


@pytest.mark.parametrize(("chats", "per_chat"), [(120, 1), (1, 250)], ids=["overview", "messages"])
async def test_a_bridge_that_ignores_paging_ends_the_backfill(chats: int, per_chat: int) -> None:
    harness = Harness()
    harness.history = PagingBlindHistory()
    harness.inbox = harness._new_inbox(MessageLedger(watermark=harness.now))
    harness.drop()
    for chat in range(chats):
        for _ in range(per_chat):
            await harness.arrive(f"{chat}@c.us")
    await harness.reconnect()
    # One full first page is all such a bridge can give; it is delivered once, and the
    # backfill ends after one repeated page instead of looping.
    delivered = [message.id for message, _ in harness.delivered]
    assert len(delivered) == len(set(delivered)) == min(chats, 50) * min(per_chat, 100)
    assert harness.history.requests <= 2 + min(chats, 50) * 2
    assert not harness.inbox.backfill_due
