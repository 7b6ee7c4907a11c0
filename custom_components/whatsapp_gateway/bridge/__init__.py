"""Client of the WAHA WhatsApp bridge: REST calls, event stream, models and errors.

Nothing here imports Home Assistant; the caller injects the `aiohttp.ClientSession`.
"""

from .capabilities import BridgeCapabilities
from .client import DEFAULT_STREAM_EVENTS, WahaClient
from .errors import (
    WahaAuthError,
    WahaConnectionError,
    WahaEditionError,
    WahaError,
    WahaNotImplementedError,
    WahaResponseError,
    WahaRouteMissingError,
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
    WaPollVote,
    WaReaction,
    bare_message_id,
)
from .stream import EventStream

__all__ = [
    "DEFAULT_STREAM_EVENTS",
    "BridgeCapabilities",
    "ChatSummary",
    "EventStream",
    "Me",
    "ServerVersion",
    "SessionInfo",
    "SessionStatus",
    "StreamEvent",
    "WaMessage",
    "WaPollVote",
    "WaReaction",
    "WahaAuthError",
    "WahaClient",
    "WahaConnectionError",
    "WahaEditionError",
    "WahaError",
    "WahaNotImplementedError",
    "WahaResponseError",
    "WahaRouteMissingError",
    "WahaSessionNotFoundError",
    "WahaSessionStatusError",
    "WahaStreamClosedError",
    "bare_message_id",
]
