"""Typed models of the bridge's answers, parsed leniently.

The bridge is generated from classes and evolves: unknown fields are ignored, unknown
session statuses map to `SessionStatus.UNKNOWN`, and nullable fields are allowed to be null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
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
        )


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
            timestamp_ms=int(timestamp)
            if isinstance(timestamp, int | float) and not isinstance(timestamp, bool)
            else None,
            me=Me.parse(me) if isinstance(me, dict) else None,
        )

    @property
    def session_status(self) -> SessionStatus | None:
        """The new status for a `session.status` event, else None."""
        if self.event != "session.status":
            return None
        return SessionStatus.parse(self.payload.get("status"))
