"""The link's states, disconnect reasons and the coordinator's immutable snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ConnectionState(StrEnum):
    """State of the WhatsApp link, as the `connection_state` sensor shows it."""

    CONNECTED = "connected"
    CONNECTING = "connecting"
    RECONNECTING = "reconnecting"
    PAIRING_REQUIRED = "pairing_required"
    AUTH_FAILED = "auth_failed"
    STOPPED = "stopped"
    FAILED = "failed"


class DisconnectReason(StrEnum):
    """Why the link was last lost, as the `last_disconnect_reason` sensor shows it."""

    BRIDGE_UNREACHABLE = "bridge_unreachable"
    STREAM_CLOSED = "stream_closed"
    HEARTBEAT_TIMEOUT = "heartbeat_timeout"
    STREAM_STALLED = "stream_stalled"
    WHATSAPP_RECONNECTING = "whatsapp_reconnecting"
    LOGGED_OUT = "logged_out"
    AUTH_REJECTED = "auth_rejected"
    SESSION_STOPPED = "session_stopped"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSnapshot:
    """Everything the entities show, captured at one moment."""

    state: ConnectionState
    bridge_status: str | None = None
    connected_since: datetime | None = None
    attempt: int = 0
    next_attempt: datetime | None = None
    disconnects: int = 0
    last_disconnect_reason: DisconnectReason | None = None
    last_outage: float | None = None
    availability: float | None = None
    outbound_queue: int = 0

    @property
    def is_connected(self) -> bool:
        """Whether the link is fully up."""
        return self.state is ConnectionState.CONNECTED
