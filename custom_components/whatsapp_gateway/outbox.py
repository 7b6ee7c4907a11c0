"""Outgoing messages waiting for the link: a bounded FIFO with expiry, and the send rate.

A queued message keeps the id the bridge generated for it before its first try, so a send
whose answer was lost can be recognised in the chat's history and is never sent twice.

Pure logic: no Home Assistant, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

DEFAULT_MAX_QUEUED = 500
RATE_WINDOW = 60.0
# Times are float sums, off by femtoseconds: closer than this counts as the same moment.
TIME_RESOLUTION = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedFile:
    """The file of an outgoing media message, kept in the queue's folder until it is gone."""

    name: str
    """The file's name inside the queue's folder."""
    kind: str
    """How WhatsApp shows it: image, video, voice or document."""
    content_type: str
    filename: str
    size: int

    @classmethod
    def from_dict(cls, data: object) -> QueuedFile:
        """Restore from `asdict`; `ValueError` and friends when unreadable."""
        if not isinstance(data, dict):
            raise TypeError("file")
        name = str(data["name"])
        if not name or "/" in name or name.startswith("."):
            raise ValueError("file name")
        return cls(
            name=name,
            kind=str(data["kind"]),
            content_type=str(data["content_type"]),
            filename=str(data["filename"]),
            size=int(data["size"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedMessage:
    """One outgoing message (text, poll, file or place) and what is known about its delivery."""

    queue_id: str
    chat_id: str
    text: str
    created: float
    expires: float
    message_id: str | None = None
    attempts: int = 0
    attempted_at: float | None = None
    """When the first try went out: a bridge without message ids is searched from then on."""
    reply_to: str | None = None
    """The id of the message this one quotes."""
    poll_options: tuple[str, ...] | None = None
    """Set for a poll: `text` is its question."""
    media: QueuedFile | None = None
    """Set for a file: `text` is its caption."""
    location: tuple[float, float] | None = None
    """Latitude and longitude of a place: `text` is its name."""

    def with_attempt(self, message_id: str | None, at: float) -> QueuedMessage:
        """The message about to be tried (again), under `message_id` when the bridge has ids."""
        return replace(
            self,
            message_id=message_id,
            attempts=self.attempts + 1,
            attempted_at=at if self.attempted_at is None else self.attempted_at,
        )

    @classmethod
    def from_dict(cls, data: object) -> QueuedMessage | None:
        """Restore one stored message; None when it cannot be read."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                queue_id=str(data["queue_id"]),
                chat_id=str(data["chat_id"]),
                text=str(data["text"]),
                created=float(data["created"]),
                expires=float(data["expires"]),
                message_id=None if data.get("message_id") is None else str(data["message_id"]),
                attempts=int(data.get("attempts", 0)),
                attempted_at=(
                    None if data.get("attempted_at") is None else float(data["attempted_at"])
                ),
                reply_to=None if data.get("reply_to") is None else str(data["reply_to"]),
                poll_options=_poll_options(data.get("poll_options")),
                media=None if data.get("media") is None else QueuedFile.from_dict(data["media"]),
                location=_location(data.get("location")),
            )
        except KeyError, TypeError, ValueError:
            return None


def _location(data: object) -> tuple[float, float] | None:
    if data is None:
        return None
    # A list from JSON (a tuple before it was written).
    if not isinstance(data, list | tuple) or len(data) != 2:
        raise ValueError("location")
    return float(data[0]), float(data[1])


def _poll_options(data: object) -> tuple[str, ...] | None:
    if data is None:
        return None
    if not isinstance(data, list | tuple) or not all(isinstance(o, str) for o in data):
        raise ValueError("poll options")
    return tuple(data)


class QueueFullError(Exception):
    """The queue holds its maximum; the message was not queued."""


class OutboundQueue:
    """A bounded FIFO of `QueuedMessage`s."""

    def __init__(self, *, max_size: int = DEFAULT_MAX_QUEUED) -> None:
        """Start empty."""
        self._items: deque[QueuedMessage] = deque()
        self._max_size = max_size

    def __len__(self) -> int:
        """The number of waiting messages."""
        return len(self._items)

    def __iter__(self) -> Iterator[QueuedMessage]:
        """The waiting messages, oldest first."""
        return iter(self._items)

    def append(self, message: QueuedMessage) -> None:
        """Queue a message at the end; `QueueFullError` when full."""
        if len(self._items) >= self._max_size:
            raise QueueFullError
        self._items.append(message)

    def head(self) -> QueuedMessage | None:
        """The oldest waiting message."""
        return self._items[0] if self._items else None

    def update(self, message: QueuedMessage) -> bool:
        """Replace the waiting message with the same queue id; False when it is gone."""
        for index, waiting in enumerate(self._items):
            if waiting.queue_id == message.queue_id:
                self._items[index] = message
                return True
        return False

    def remove(self, queue_id: str) -> QueuedMessage | None:
        """Remove and return a waiting message, if it still waits."""
        for waiting in self._items:
            if waiting.queue_id == queue_id:
                self._items.remove(waiting)
                return waiting
        return None

    def remove_expired(self, now: float) -> list[QueuedMessage]:
        """Remove and return the messages whose time ran out, oldest first."""
        expired = [message for message in self._items if message.expires <= now]
        if expired:
            self._items = deque(message for message in self._items if message.expires > now)
        return expired

    def file_bytes(self) -> int:
        """What the waiting messages' files take on disk."""
        return sum(message.media.size for message in self._items if message.media is not None)

    def next_expiry(self) -> float | None:
        """When the next message runs out, if any waits."""
        return min((message.expires for message in self._items), default=None)

    def as_list(self) -> list[dict[str, Any]]:
        """A JSON-able form for `Store`."""
        return [asdict(message) for message in self._items]

    @classmethod
    def from_list(cls, data: object, *, max_size: int = DEFAULT_MAX_QUEUED) -> OutboundQueue:
        """Restore from `as_list`; unreadable entries are dropped."""
        queue = cls(max_size=max_size)
        if isinstance(data, list):
            for item in data[:max_size]:
                message = QueuedMessage.from_dict(item)
                if message is not None:
                    queue._items.append(message)
        return queue


class SendRateLimiter:
    """At most `rate` sends in any `RATE_WINDOW` seconds (to within `TIME_RESOLUTION`)."""

    def __init__(self, rate: int) -> None:
        """Allow `rate` sends per window (at least one)."""
        self._sent: deque[float] = deque(maxlen=max(rate, 1))

    def delay(self, now: float) -> float:
        """Seconds to wait before the next send is allowed (0 when it may go now)."""
        if len(self._sent) < (self._sent.maxlen or 1):
            return 0.0
        wait = self._sent[0] + RATE_WINDOW - now
        return wait if wait > TIME_RESOLUTION else 0.0

    def record(self, now: float) -> None:
        """A send went out at `now`."""
        self._sent.append(now)
