"""Typed models of the bridge's answers, parsed leniently.

The bridge is generated from classes and evolves: unknown fields are ignored, unknown
session statuses map to `SessionStatus.UNKNOWN`, and nullable fields are allowed to be null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
import math
from typing import Any

from .errors import WahaResponseError


class SessionStatus(StrEnum):
    """Status of a WhatsApp session on the bridge (an open enum)."""

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    SCAN_QR_CODE = "SCAN_QR_CODE"
    PASSKEY_REQUIRED = "PASSKEY_REQUIRED"
    PASSKEY_CONFIRMATION_REQUIRED = "PASSKEY_CONFIRMATION_REQUIRED"
    WORKING = "WORKING"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> SessionStatus:
        """Map a raw status to a member; anything unexpected is UNKNOWN."""
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                return cls.UNKNOWN
        return cls.UNKNOWN


def _expect_object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise WahaResponseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Me:
    """The WhatsApp account a session is logged in as."""

    id: str
    push_name: str | None = None

    @classmethod
    def parse(cls, data: object) -> Me | None:
        """Parse `MeInfo`; null (not logged in) gives None."""
        if data is None:
            return None
        obj = _expect_object(data, "me")
        me_id = obj.get("id")
        if not isinstance(me_id, str) or not me_id:
            return None
        return cls(id=me_id, push_name=_optional_str(obj, "pushName"))


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as `GET /api/sessions/{name}` reports it."""

    name: str
    status: SessionStatus
    raw_status: str | None
    me: Me | None = None
    engine: str | None = None
    noweb_store: bool = False
    """Whether the session's NOWEB store is on (`config.noweb.store.enabled`)."""

    @classmethod
    def parse(cls, data: object) -> SessionInfo:
        """Parse `SessionInfo`/`SessionDTO`; name and status are required."""
        obj = _expect_object(data, "session")
        name = obj.get("name")
        if not isinstance(name, str):
            raise WahaResponseError("session: missing name")
        raw_status = _optional_str(obj, "status")
        engine_info = obj.get("engine")
        engine = engine_info.get("engine") if isinstance(engine_info, dict) else None
        return cls(
            name=name,
            status=SessionStatus.parse(raw_status),
            raw_status=raw_status,
            me=Me.parse(obj.get("me")) if isinstance(obj.get("me"), dict) else None,
            engine=engine if isinstance(engine, str) else None,
            noweb_store=_nested(obj, "config", "noweb", "store", "enabled") is True,
        )


def _nested(data: dict[str, Any], *keys: str) -> object:
    """`data[k1][k2]...`, or None where a level is missing or not an object."""
    value: object = data
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """What `GET /api/server/version` reports."""

    version: str
    engine: str | None = None
    tier: str | None = None

    @classmethod
    def parse(cls, data: object) -> ServerVersion:
        """Parse `WAHAEnvironment`; only the version is required."""
        obj = _expect_object(data, "version")
        version = obj.get("version")
        if not isinstance(version, str):
            raise WahaResponseError("version: missing version")
        return cls(
            version=version, engine=_optional_str(obj, "engine"), tier=_optional_str(obj, "tier")
        )


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event frame from the WebSocket (the webhook envelope)."""

    event: str
    session: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    timestamp_ms: int | None = None
    me: Me | None = None

    @classmethod
    def parse(cls, data: object) -> StreamEvent:
        """Parse an envelope; `event` is required, other fields are optional."""
        obj = _expect_object(data, "event")
        event = obj.get("event")
        if not isinstance(event, str):
            raise WahaResponseError("event: missing event name")
        payload = obj.get("payload")
        timestamp = obj.get("timestamp")
        me = obj.get("me")
        return cls(
            event=event,
            session=_optional_str(obj, "session"),
            payload=payload if isinstance(payload, dict) else {},
            id=_optional_str(obj, "id"),
            timestamp_ms=_whole_number(timestamp),
            me=Me.parse(me) if isinstance(me, dict) else None,
        )

    @property
    def session_status(self) -> SessionStatus | None:
        """The new status for a `session.status` event, else None."""
        if self.event != "session.status":
            return None
        return SessionStatus.parse(self.payload.get("status"))


# Timestamps above this are milliseconds, not seconds (the year 5138 in seconds).
_MILLISECONDS_THRESHOLD = 100_000_000_000


# Larger numbers are no timestamp in any unit (and may not even fit a float).
_LARGEST_RAW = 10**21


def _whole_number(value: object) -> int | None:
    """An int from a JSON number; None for anything else, infinities and absurd sizes."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return value if abs(value) < _LARGEST_RAW else None
    return int(value) if math.isfinite(value) and abs(value) < _LARGEST_RAW else None


def _timestamp_seconds(value: object) -> float | None:
    """A WhatsApp timestamp in seconds; milli-, micro- and nanoseconds are converted."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) >= _LARGEST_RAW:
        return None
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    while seconds > _MILLISECONDS_THRESHOLD:
        seconds /= 1000
    return seconds


def _message_id(value: object) -> str | None:
    """The serialized message id; some engines nest it (`{"_serialized": ...}`)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        for key in ("_serialized", "id"):
            nested = value.get(key)
            if isinstance(nested, str) and nested:
                return nested
    return None


def _push_name(data: object) -> str | None:
    """The sender's push name from the engine-specific `_data` (GOWS, NOWEB, WEBJS)."""
    if not isinstance(data, dict):
        return None
    info = data.get("Info")
    candidates = [
        info.get("PushName") if isinstance(info, dict) else None,
        data.get("pushName"),
        data.get("notifyName"),
    ]
    return next((name for name in candidates if isinstance(name, str) and name), None)


def _own_message_chat(obj: dict[str, Any], chat_in_from: bool | None) -> str | None:
    """The chat of a message you sent, by how the engine addresses it."""
    sent_from = _optional_str(obj, "from") or None
    sent_to = _optional_str(obj, "to") or None
    if chat_in_from is True:
        return sent_from
    if chat_in_from is False:
        return sent_to
    for candidate in (sent_to, sent_from):
        if candidate is not None and candidate.endswith("@g.us"):
            return candidate
    return sent_to or sent_from


@dataclass(frozen=True, slots=True, kw_only=True)
class WaMessage:
    """A WhatsApp message (`WAMessage`), incoming or sent."""

    id: str
    chat_id: str
    from_me: bool
    timestamp: float | None
    body: str | None = None
    has_media: bool = False
    participant: str | None = None
    push_name: str | None = None

    @classmethod
    def parse(cls, data: object, *, own_chat_in_from: bool | None = None) -> WaMessage:
        """Parse a WAMessage; an id and its chat are required.

        The chat of an incoming message is `from`. Of an own message it depends on the
        engine (`own_chat_in_from`): GOWS and NOWEB keep the chat in `from` (`to` is null in
        a direct chat, the sender in a GOWS group), WEBJS has `from` = you, `to` = the chat.
        With the engine unknown, a group on either side wins, then `to`, then `from`.
        """
        obj = _expect_object(data, "message")
        message_id = _message_id(obj.get("id"))
        if message_id is None:
            raise WahaResponseError("message: missing id")
        from_me = obj.get("fromMe") is True
        chat_id = (
            _own_message_chat(obj, own_chat_in_from) if from_me else _optional_str(obj, "from")
        )
        if not chat_id:
            raise WahaResponseError("message: missing chat")
        body = obj.get("body")
        return cls(
            id=message_id,
            chat_id=chat_id,
            from_me=from_me,
            timestamp=_timestamp_seconds(obj.get("timestamp")),
            body=body if isinstance(body, str) else None,
            has_media=obj.get("hasMedia") is True,
            participant=_optional_str(obj, "participant") or None,
            push_name=_push_name(obj.get("_data")),
        )

    @property
    def is_group(self) -> bool:
        """Whether the message was posted in a group."""
        return self.chat_id.endswith("@g.us")

    @property
    def sender(self) -> str:
        """Who wrote it: the participant in a group, else the chat itself."""
        return self.participant if self.is_group and self.participant else self.chat_id


@dataclass(frozen=True, slots=True)
class ChatSummary:
    """One chat of `chats/overview`, with its newest message (any direction)."""

    id: str
    name: str | None
    last_message: WaMessage | None

    @classmethod
    def parse(cls, data: object, *, own_chat_in_from: bool | None = None) -> ChatSummary:
        """Parse a ChatSummary; an unreadable `lastMessage` counts as none."""
        obj = _expect_object(data, "chat")
        chat_id = obj.get("id")
        if isinstance(chat_id, dict):
            chat_id = _message_id(chat_id)
        if not isinstance(chat_id, str) or not chat_id:
            raise WahaResponseError("chat: missing id")
        try:
            last: WaMessage | None = WaMessage.parse(
                obj.get("lastMessage"), own_chat_in_from=own_chat_in_from
            )
        except WahaResponseError:
            last = None
        return cls(id=chat_id, name=_optional_str(obj, "name"), last_message=last)
