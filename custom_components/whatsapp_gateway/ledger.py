"""What has been delivered: a bounded dedupe window of message ids and per-chat cursors.

Exactly-once delivery rests on three facts kept here and persisted across restarts:
- `seen`: the ids of the most recently delivered messages (bounded, oldest evicted first);
- `cursors`: per chat, the WhatsApp timestamp (s) of the newest delivered message, so a
  backfill asks the bridge only for `timestamp >= cursor` and the window covers the overlap;
- `watermark`: every in-scope message older than it was handled (delivered live or by a
  finished backfill), so chats whose newest activity is older need no backfill at all.

Pure logic: no Home Assistant, no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

DEFAULT_MAX_IDS = 5000
DEFAULT_MAX_CHATS = 2000


class MessageLedger:
    """Delivered message ids (bounded) and the per-chat cursors."""

    def __init__(
        self,
        *,
        watermark: float,
        max_ids: int = DEFAULT_MAX_IDS,
        max_chats: int = DEFAULT_MAX_CHATS,
    ) -> None:
        """Start empty; nothing older than `watermark` will be asked for."""
        self.watermark = watermark
        self._max_ids = max_ids
        self._max_chats = max_chats
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._cursors: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        """The number of ids in the dedupe window."""
        return len(self._seen)

    @property
    def chat_count(self) -> int:
        """The number of chats with a cursor."""
        return len(self._cursors)

    def seen(self, message_id: str) -> bool:
        """Whether the message was delivered (as far as the window remembers)."""
        return message_id in self._seen

    def cursor(self, chat_id: str) -> float | None:
        """The timestamp of the newest message delivered from the chat, if any."""
        return self._cursors.get(chat_id)

    def record(self, message_id: str, chat_id: str, timestamp: float) -> bool:
        """Remember a delivery; False (and nothing changes) when it was already delivered."""
        if message_id in self._seen:
            return False
        self._seen[message_id] = None
        if len(self._seen) > self._max_ids:
            self._seen.popitem(last=False)
        current = self._cursors.pop(chat_id, None)
        # Most recently active chats stay at the end; the least recently active go first.
        self._cursors[chat_id] = timestamp if current is None else max(current, timestamp)
        if len(self._cursors) > self._max_chats:
            self._cursors.popitem(last=False)
        return True

    def mark_handled(self, message_id: str) -> None:
        """Remember a message that must never be delivered (one the gateway sent itself).

        No cursor moves: the chat's incoming messages around it are still to be read.
        """
        self._seen.pop(message_id, None)
        self._seen[message_id] = None
        if len(self._seen) > self._max_ids:
            self._seen.popitem(last=False)

    def since(self, chat_id: str, floor: float) -> float:
        """The oldest timestamp a backfill of the chat must ask for (`gte`)."""
        start = self._cursors.get(chat_id, self.watermark)
        return max(start, floor)

    def needs_backfill(
        self,
        chat_id: str,
        *,
        newest_id: str,
        newest_timestamp: float,
        newest_from_me: bool,
        floor: float,
    ) -> bool:
        """Whether a chat, given its newest message, may hold undelivered incoming ones."""
        if not newest_from_me and newest_id in self._seen:
            # Its newest message was delivered, so every older one was handled too.
            return False
        return newest_timestamp >= self.since(chat_id, floor)

    def handled_before(self, floor: float) -> float:
        """Chats whose newest activity is older than this need no backfill at all."""
        return max(self.watermark, floor)

    def advance_watermark(self, timestamp: float) -> None:
        """Everything in scope before `timestamp` has been handled; never moves back."""
        self.watermark = max(self.watermark, timestamp)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form for `Store`."""
        return {
            "watermark": self.watermark,
            "seen": list(self._seen),
            "cursors": dict(self._cursors),
        }

    @classmethod
    def from_dict(
        cls,
        data: object,
        *,
        default_watermark: float,
        max_ids: int = DEFAULT_MAX_IDS,
        max_chats: int = DEFAULT_MAX_CHATS,
    ) -> MessageLedger:
        """Restore from `as_dict`; unreadable parts are dropped, never fatal."""
        stored: dict[str, Any] = data if isinstance(data, dict) else {}
        watermark = stored.get("watermark")
        ledger = cls(
            watermark=float(watermark)
            if isinstance(watermark, int | float) and not isinstance(watermark, bool)
            else default_watermark,
            max_ids=max_ids,
            max_chats=max_chats,
        )
        seen = stored.get("seen")
        if isinstance(seen, list):
            for message_id in seen[-max_ids:]:
                if isinstance(message_id, str):
                    ledger._seen[message_id] = None
        cursors = stored.get("cursors")
        if isinstance(cursors, dict):
            for chat_id, timestamp in list(cursors.items())[-max_chats:]:
                if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
                    ledger._cursors[str(chat_id)] = float(timestamp)
        return ledger
