"""Client of the WAHA WhatsApp bridge: REST calls, event stream, models and errors.

Nothing here imports Home Assistant; the caller injects the `aiohttp.ClientSession`.
"""

from .capabilities import BridgeCapabilities
from .client import DEFAULT_STREAM_EVENTS, FileInfo, WahaClient
from .errors import (
    WahaAuthError,
    WahaConnectionError,
    WahaEditionError,
    WahaError,
    WahaFileTooLargeError,
    WahaNotImplementedError,
    WahaResponseError,
    WahaRouteMissingError,
    WahaSessionNotFoundError,
    WahaSessionStatusError,
    WahaStreamClosedError,
)
from .media import MEDIA_KINDS, MediaKind, is_voice_note, kind_for
from .models import (
    ChatSummary,
    Me,
    ServerVersion,
    SessionInfo,
    SessionStatus,
    StreamEvent,
    WaLocation,
    WaMedia,
    WaMessage,
    WaPollVote,
    WaReaction,
    bare_message_id,
)
from .stream import EventStream

__all__ = [
    "DEFAULT_STREAM_EVENTS",
    "MEDIA_KINDS",
    "BridgeCapabilities",
    "ChatSummary",
    "EventStream",
    "FileInfo",
    "Me",
    "MediaKind",
    "ServerVersion",
    "SessionInfo",
    "SessionStatus",
    "StreamEvent",
    "WaLocation",
    "WaMedia",
    "WaMessage",
    "WaPollVote",
    "WaReaction",
    "WahaAuthError",
    "WahaClient",
    "WahaConnectionError",
    "WahaEditionError",
    "WahaError",
    "WahaFileTooLargeError",
    "WahaNotImplementedError",
    "WahaResponseError",
    "WahaRouteMissingError",
    "WahaSessionNotFoundError",
    "WahaSessionStatusError",
    "WahaStreamClosedError",
    "bare_message_id",
    "is_voice_note",
    "kind_for",
]
