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
    lid: str | None = None
    """The account's hidden id (`<digits>@lid`): GOWS and NOWEB report it, WEBJS does not."""

    @classmethod
    def parse(cls, data: object) -> Me | None:
        """Parse `MeInfo`; null (not logged in) gives None."""
        if data is None:
            return None
        obj = _expect_object(data, "me")
        me_id = obj.get("id")
        if not isinstance(me_id, str) or not me_id:
            return None
        return cls(
            id=me_id,
            push_name=_optional_str(obj, "pushName"),
            lid=_optional_str(obj, "lid") or None,
        )


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
class WaMedia:
    """A received message's file as the bridge stored it (`WAMedia`).

    The bridge downloads incoming files itself (Core too) and serves them under
    `/api/files/...` to callers with the API key; `url` is absolute, built from the bridge's
    own idea of its base URL. `error` is set when the bridge could not download the file.
    """

    url: str | None
    mimetype: str | None = None
    filename: str | None = None
    error: str | None = None

    @classmethod
    def parse(cls, data: object) -> WaMedia | None:
        """Read `media`; None when the message carries none."""
        if not isinstance(data, dict):
            return None
        error = data.get("error")
        return cls(
            url=_optional_str(data, "url") or None,
            mimetype=_optional_str(data, "mimetype") or None,
            filename=_optional_str(data, "filename") or None,
            error=None if error in (None, False, "") else _error_summary(error),
        )


def _error_summary(error: object) -> str:
    # WAHA serializes the thrown Error: no message or name, the stack trace in `details`,
    # whose first line is "Error: <message>".
    if isinstance(error, dict):
        for key in ("message", "name", "details"):
            text = error.get(key)
            if isinstance(text, str) and text.strip():
                return text.strip().splitlines()[0][:200]
    if isinstance(error, str):
        return error[:200]
    return "download failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class WaLocation:
    """A shared place (`WALocation`): the engines give the coordinates as strings or numbers."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None

    @classmethod
    def parse(cls, data: object) -> WaLocation | None:
        """Read `location`; None when absent or without usable coordinates."""
        if not isinstance(data, dict):
            return None
        latitude = _coordinate(data.get("latitude"), 90)
        longitude = _coordinate(data.get("longitude"), 180)
        if latitude is None or longitude is None:
            return None
        return cls(
            latitude=latitude,
            longitude=longitude,
            name=_optional_str(data, "name") or None,
            address=_optional_str(data, "address") or None,
        )


def _coordinate(value: object, bound: float) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > bound:
        return None
    return float(value)


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
    media: WaMedia | None = None
    """Where the bridge keeps the message's file, when it has one (`media`)."""
    location: WaLocation | None = None
    """The place a location message shares (`location`)."""
    reply_to: str | None = None
    """The quoted message's id as the bridge reports it (`replyTo.id`).

    Every engine gives the bare WhatsApp id here (GOWS `contextInfo.stanzaID`, NOWEB
    `contextInfo.stanzaId`, WEBJS `quotedMsg.id.id`), not the serialized
    `<fromMe>_<chat>_<id>` form of `id`: compare with `bare_message_id(...)`.
    """

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
        location = WaLocation.parse(obj.get("location"))
        if location is not None:
            # WEBJS puts the map thumbnail (base64 JPEG) in the body of a location.
            body = None
        return cls(
            id=message_id,
            chat_id=chat_id,
            from_me=from_me,
            timestamp=_timestamp_seconds(obj.get("timestamp")),
            body=body if isinstance(body, str) else None,
            has_media=obj.get("hasMedia") is True,
            participant=_optional_str(obj, "participant") or None,
            push_name=_push_name(obj.get("_data")),
            reply_to=_reply_to(obj.get("replyTo")),
            media=WaMedia.parse(obj.get("media")),
            location=location,
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


def _reply_to(data: object) -> str | None:
    """The quoted message's id from `replyTo` (`{id, participant, body}`; null when none)."""
    if isinstance(data, str):
        return data or None
    if not isinstance(data, dict):
        return None
    return _message_id(data.get("id"))


def bare_message_id(message_id: str) -> str:
    """The WhatsApp id inside a serialized id: `true_123@c.us_ABC[_456@c.us]` gives `ABC`.

    Quoted messages (`WaMessage.reply_to`) carry only this part on every engine; an id that
    is not serialized is returned as it is.
    """
    parts = message_id.split("_")
    if len(parts) in (3, 4) and parts[0] in ("true", "false") and parts[2]:
        return parts[2]
    return message_id


def _chat_of_serialized(message_id: str | None) -> str | None:
    """The chat inside a serialized id `<fromMe>_<chat>_<id>[_<participant>]`, else None."""
    if not message_id:
        return None
    parts = message_id.split("_")
    if len(parts) in (3, 4) and parts[0] in ("true", "false") and "@" in parts[1]:
        return parts[1]
    return None


def _event_chat(
    obj: dict[str, Any], own_id: str | None, chat_in_from: bool | None, from_me: bool
) -> str | None:
    """The chat of a reaction or a vote.

    Its own serialized id names the chat from our side on every engine. Otherwise: GOWS and
    NOWEB keep the chat in `from`; WEBJS has the chat in `to` (and the reactor in `from`);
    NOWEB votes say `"me"` for you. A group on either side wins.
    """
    chat = _chat_of_serialized(own_id)
    if chat is not None:
        return chat
    sent_from = _optional_str(obj, "from") or None
    sent_to = _optional_str(obj, "to") or None
    candidates = [c for c in (sent_from, sent_to) if c is not None and c != "me"]
    for candidate in candidates:
        if candidate.endswith("@g.us"):
            return candidate
    if chat_in_from is True and sent_from not in (None, "me"):
        return sent_from
    if chat_in_from is False and sent_to not in (None, "me"):
        return sent_to
    if from_me:
        return sent_to if sent_to not in (None, "me") else sent_from
    return candidates[0] if candidates else None


def _event_sender(obj: dict[str, Any], chat_id: str, from_me: bool) -> str:
    """Who acted: the participant in a group, else the chat (also for your own actions)."""
    if from_me or not chat_id.endswith("@g.us"):
        return chat_id
    return _optional_str(obj, "participant") or chat_id


@dataclass(frozen=True, slots=True, kw_only=True)
class WaReaction:
    """A `message.reaction` event: an emoji put on (or taken off) a message.

    Payload (`WAMessageReaction`, all engines): `{id, timestamp, from, fromMe, source, to,
    participant, reaction: {text, messageId}}`; `text` is empty when the reaction was
    removed. GOWS/NOWEB address it like a message (chat in `from`), WEBJS puts the reactor in
    `from` and the chat in `to`.
    """

    id: str
    """The reaction's own message id."""
    message_id: str
    """The serialized id of the message reacted to."""
    chat_id: str
    sender: str
    from_me: bool
    reaction: str
    """The emoji; empty = removed."""
    timestamp: float | None

    @classmethod
    def parse(cls, data: object, *, own_chat_in_from: bool | None = None) -> WaReaction:
        """Parse a `message.reaction` payload; id, reacted-to id and chat are required."""
        obj = _expect_object(data, "reaction")
        reaction_id = _message_id(obj.get("id"))
        inner = obj.get("reaction")
        if reaction_id is None or not isinstance(inner, dict):
            raise WahaResponseError("reaction: missing id or reaction")
        message_id = _message_id(inner.get("messageId"))
        if message_id is None:
            raise WahaResponseError("reaction: missing the reacted-to message")
        text = inner.get("text")
        from_me = obj.get("fromMe") is True
        chat_id = _event_chat(obj, reaction_id, own_chat_in_from, from_me)
        if chat_id is None:
            chat_id = _chat_of_serialized(message_id)
        if not chat_id:
            raise WahaResponseError("reaction: missing chat")
        return cls(
            id=reaction_id,
            message_id=message_id,
            chat_id=chat_id,
            sender=_event_sender(obj, chat_id, from_me),
            from_me=from_me,
            reaction=text if isinstance(text, str) else "",
            timestamp=_timestamp_seconds(obj.get("timestamp")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WaPollVote:
    """A `poll.vote` (or `poll.vote.failed`) event: someone's choice on a poll.

    Payload (`PollVotePayload`): `{vote: {id, from, to, fromMe, participant,
    selectedOptions: [names], timestamp (ms)}, poll: {id, from, to, fromMe, participant}}`.
    `poll.vote.failed` (GOWS, NOWEB) comes when the bridge could not decrypt the vote: no
    options (GOWS `null`, NOWEB `[]`).
    """

    poll_id: str
    chat_id: str
    sender: str
    from_me: bool
    options: tuple[str, ...]
    timestamp: float | None
    failed: bool = False

    @classmethod
    def parse(
        cls, data: object, *, failed: bool = False, own_chat_in_from: bool | None = None
    ) -> WaPollVote:
        """Parse a poll vote payload; the poll's id and the chat are required."""
        obj = _expect_object(data, "poll vote")
        vote, poll = obj.get("vote"), obj.get("poll")
        if not isinstance(vote, dict) or not isinstance(poll, dict):
            raise WahaResponseError("poll vote: missing vote or poll")
        poll_id = _message_id(poll.get("id"))
        if poll_id is None:
            raise WahaResponseError("poll vote: missing poll id")
        from_me = vote.get("fromMe") is True
        chat_id = _event_chat(vote, _message_id(vote.get("id")), own_chat_in_from, from_me)
        if chat_id is None:
            chat_id = _chat_of_serialized(poll_id)
        if not chat_id:
            raise WahaResponseError("poll vote: missing chat")
        selected = vote.get("selectedOptions")
        options: list[str] = []
        for option in selected if isinstance(selected, list) else ():
            name = option.get("name") if isinstance(option, dict) else option
            if isinstance(name, str) and name:
                options.append(name)
        return cls(
            poll_id=poll_id,
            chat_id=chat_id,
            sender=_event_sender(vote, chat_id, from_me),
            from_me=from_me,
            options=tuple(options),
            timestamp=_timestamp_seconds(vote.get("timestamp")),
            failed=failed,
        )
