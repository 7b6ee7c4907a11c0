"""Client of the WAHA WhatsApp bridge: REST calls, event stream, models and errors.

Nothing here imports Home Assistant; the caller injects the `aiohttp.ClientSession`.
"""

from .client import DEFAULT_STREAM_EVENTS, WahaClient
from .errors import (
    WahaAuthError,
    WahaConnectionError,
    WahaError,
    WahaResponseError,
    WahaSessionNotFoundError,
    WahaSessionStatusError,
    WahaStreamClosedError,
)
from .models import (
    ChatSummary,
    Me,
    ServerVersion,
    SessionInfo,
    SessionStatus,
    StreamEvent,
    WaMessage,
)
from .stream import EventStream

__all__ = [
    "DEFAULT_STREAM_EVENTS",
    "ChatSummary",
    "EventStream",
    "Me",
    "ServerVersion",
    "SessionInfo",
    "SessionStatus",
    "StreamEvent",
    "WaMessage",
    "WahaAuthError",
    "WahaClient",
    "WahaConnectionError",
    "WahaError",
    "WahaResponseError",
    "WahaSessionNotFoundError",
    "WahaSessionStatusError",
    "WahaStreamClosedError",
]
