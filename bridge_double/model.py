"""State of the double: session statuses, sessions and constants."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Final

from .chats import ChatHistory
from .media import StoredFile

DEFAULT_ME_ID: Final = "491511234567@c.us"
DEFAULT_SESSION: Final = "default"
DEFAULT_PUSH_NAME: Final = "Alice"
MAX_QR_CODES: Final = 6
STATUS_HISTORY: Final = 3


class SessionStatus(StrEnum):
    """The seven WAHA session statuses."""

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    SCAN_QR_CODE = "SCAN_QR_CODE"
    PASSKEY_REQUIRED = "PASSKEY_REQUIRED"
    PASSKEY_CONFIRMATION_REQUIRED = "PASSKEY_CONFIRMATION_REQUIRED"
    WORKING = "WORKING"
    FAILED = "FAILED"


PASSKEY_STATUSES: Final = frozenset(
    {SessionStatus.PASSKEY_REQUIRED, SessionStatus.PASSKEY_CONFIRMATION_REQUIRED}
)
"""The statuses of a pairing that waits for a passkey (GOWS since 2026.7.1)."""


class Unchanged(Enum):
    """Sentinel type for "leave this value as it is"."""

    UNCHANGED = "UNCHANGED"


UNCHANGED: Final = Unchanged.UNCHANGED

type Status = SessionStatus | str
"""A known status, or any other string to exercise the open enum."""

type JsonDict = dict[str, Any]


def coerce_status(value: Status) -> Status:
    """Return the enum member for a known status string, else the string itself."""
    try:
        return SessionStatus(value)
    except ValueError:
        return str(value)


def make_me(me_id: str | None, push_name: str | None) -> JsonDict:
    """Build a MeInfo dict, filling in the defaults."""
    return {"id": me_id or DEFAULT_ME_ID, "pushName": push_name or DEFAULT_PUSH_NAME}


@dataclass(eq=False)
class StatusPoint:
    """One entry of a session's status history."""

    status: Status
    timestamp: int


@dataclass(eq=False)
class DoubleSession:
    """One WAHA session as the double holds it."""

    name: str
    status: Status = SessionStatus.STOPPED
    paired: bool = False
    me: JsonDict | None = None
    config: JsonDict = field(default_factory=dict)
    qr_value: str | None = None
    qr_count: int = 0
    pairing_code: str | None = None
    """The code ``auth/request-code`` handed out; valid while the session is SCAN_QR_CODE."""
    pairing_phone: str | None = None
    """Digits of the phone number the code was requested for (the account it pairs)."""
    status_data: JsonDict | None = None
    """``data`` of the current status: the passkey challenge or ``{"code"}``, else None."""
    presence: str | None = None
    stalled: bool = False
    last_activity: int | None = None
    statuses: list[StatusPoint] = field(default_factory=list)
    history: ChatHistory = field(default_factory=ChatHistory)
    """chat id -> messages in timestamp order (see :class:`ChatHistory`)."""
    sent: list[JsonDict] = field(default_factory=list)
    """Every performed send, oldest first: ``chat_id``, ``text``, ``key``, ``message_id``,
    ``kind`` (``text``, ``poll``, ``location``, media) and ``reply_to``; polls add ``options``,
    ``multiple``; locations ``latitude``, ``longitude``, ``title``; files ``data`` (bytes, None
    for a ``url``), ``url``, ``mimetype``, ``filename``, ``caption``, ``convert``.

    A send performed twice (the same ``key`` again) is recorded twice.
    """
    files: dict[str, StoredFile] = field(default_factory=dict)
    """``<id>.<ext>`` -> the file served at ``/api/files/<session>/<id>.<ext>``."""
    lids: dict[str, str] = field(default_factory=dict)
    """``<id>@lid`` -> ``<digits>@c.us``, for ``GET /api/{s}/lids/{lid}``."""
    reactions: list[JsonDict] = field(default_factory=list)
    """Every ``PUT /api/reaction``, oldest first: ``message_id``, ``chat_id``, ``reaction``."""
    seen: list[JsonDict] = field(default_factory=list)
    """Every ``sendSeen``: ``chat_id`` and ``message_ids`` (the ids it read; None: all, WEBJS)."""
    typing: dict[str, bool] = field(default_factory=dict)
    """chat id -> whether "typing…" shows now (``startTyping`` / ``stopTyping``)."""
    typing_log: list[tuple[str, bool]] = field(default_factory=list)
    """Every typing call in order: ``(chat_id, on)``."""
    generation: int = 0
    pairing_attempt: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def running(self) -> bool:
        """Whether the bridge holds the session open (anything but STOPPED)."""
        return self.status != SessionStatus.STOPPED

    def record_status(self, status: Status, timestamp_ms: int) -> None:
        """Set the status, keep the last three points and wake status waiters."""
        self.status = status
        self.statuses.append(StatusPoint(status, timestamp_ms))
        del self.statuses[:-STATUS_HISTORY]
        self.last_activity = timestamp_ms
        self.generation += 1
        self.changed.set()
        self.changed = asyncio.Event()
