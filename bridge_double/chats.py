"""Chat histories: messages per chat kept in timestamp order, pages, filters and the overview."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import islice, pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

type _Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """What ``GET /api/{s}/chats/{chatId}/messages`` asks for (filters are inclusive)."""

    limit: int = 10
    offset: int = 0
    descending: bool = True
    gte: float | None = None
    lte: float | None = None
    from_me: bool | None = None
    ack_name: str | None = None


class ChatHistory(dict[str, list[_Message]]):
    """chat id -> WAMessage dicts sorted by ``timestamp`` (seconds), then by arrival.

    A plain dict to read (``history[chat_id]``, ``list(history)`` in order of first
    message), with a timestamp index per chat so pages and timestamp filters stay
    O(log n + page) on long chats. Write through :meth:`add` / :meth:`add_many`; a list
    replaced or appended to from outside is re-indexed (stably sorted) on next use.
    """

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, str] = {}
        """chat id -> chat name shown in the overview (``name`` is null otherwise)."""
        self._stamps: dict[str, tuple[list[_Message], list[float]]] = {}
        self._last_seq: dict[str, int] = {}
        self._seq = 0

    # ------------------------------------------------------------------ writing

    def add(self, chat_id: str, message: _Message) -> None:
        """Store ``message``: after every message with a timestamp <= its own."""
        messages, stamps = self._index(chat_id, create=True)
        stamp = message["timestamp"]
        self._seq += 1
        if not stamps or stamp >= stamps[-1]:
            messages.append(message)
            stamps.append(stamp)
            self._last_seq[chat_id] = self._seq
            return
        position = bisect_right(stamps, stamp)
        messages.insert(position, message)
        stamps.insert(position, stamp)

    def add_many(self, chat_id: str, batch: list[_Message]) -> None:
        """Store ``batch`` (already in timestamp order) in O(len(batch)) when it comes last."""
        if not batch:
            return
        messages, stamps = self._index(chat_id, create=True)
        new_stamps = [message["timestamp"] for message in batch]
        self._seq += len(batch)
        in_order = all(a <= b for a, b in pairwise(new_stamps))
        if in_order and (not stamps or new_stamps[0] >= stamps[-1]):
            messages.extend(batch)
            stamps.extend(new_stamps)
        else:
            messages.extend(batch)
            messages.sort(key=_timestamp)  # stable: arrival order among equal timestamps
            stamps[:] = [message["timestamp"] for message in messages]
        if messages[-1] is batch[-1]:
            self._last_seq[chat_id] = self._seq

    def set_name(self, chat_id: str, name: str | None) -> None:
        """Name a chat (None: no name)."""
        if name is None:
            self.names.pop(chat_id, None)
        else:
            self.names[chat_id] = name

    # ------------------------------------------------------------------ reading

    def page(self, chat_id: str, query: MessageQuery) -> list[_Message]:
        """The messages of one chat that ``query`` selects; [] for an unknown chat."""
        if chat_id not in self:
            return []
        messages, stamps = self._index(chat_id)
        low = 0 if query.gte is None else bisect_left(stamps, query.gte)
        high = len(stamps) if query.lte is None else bisect_right(stamps, query.lte)
        if low >= high or query.limit <= 0:
            return []
        window = range(high - 1, low - 1, -1) if query.descending else range(low, high)
        if query.from_me is None and query.ack_name is None:
            return [messages[i] for i in window[query.offset : query.offset + query.limit]]
        selected = _matching(messages, window, query)
        return list(islice(selected, query.offset, query.offset + query.limit))

    def newest_first(self, ids: Iterable[str] | None = None) -> list[str]:
        """Chat ids with messages, newest last message first (ties: latest arrival first)."""
        chats = [chat for chat in (self if ids is None else dict.fromkeys(ids)) if self.get(chat)]
        for chat in chats:
            self._index(chat)  # re-index lists changed from outside
        return sorted(
            chats,
            key=lambda chat: (self[chat][-1]["timestamp"], self._last_seq.get(chat, 0)),
            reverse=True,
        )

    def last_message(self, chat_id: str) -> _Message | None:
        """The newest message of a chat, either direction."""
        if not self.get(chat_id):
            return None
        return self._index(chat_id)[0][-1]

    # ----------------------------------------------------------------- indexing

    def _index(self, chat_id: str, *, create: bool = False) -> tuple[list[_Message], list[float]]:
        messages = self.setdefault(chat_id, []) if create else self[chat_id]
        entry = self._stamps.get(chat_id)
        if entry is not None and entry[0] is messages and len(entry[1]) == len(messages):
            return entry
        messages.sort(key=_timestamp)  # changed from outside: sort stably, index again
        entry = (messages, [message["timestamp"] for message in messages])
        self._stamps[chat_id] = entry
        self._seq += 1
        self._last_seq[chat_id] = self._seq
        return entry


def _timestamp(message: _Message) -> float:
    stamp: float = message["timestamp"]
    return stamp


def _matching(messages: list[_Message], window: range, query: MessageQuery) -> Iterator[_Message]:
    for position in window:
        message = messages[position]
        if query.from_me is not None and message.get("fromMe") is not query.from_me:
            continue
        if query.ack_name is not None and message.get("ackName") != query.ack_name:
            continue
        yield message
