"""A test double of the WAHA WhatsApp bridge (REST + WebSocket) with fault switches."""

from .model import UNCHANGED, DoubleSession, SessionStatus
from .profile import BridgeProfile
from .request_log import RequestRecord
from .server import BridgeDouble

__all__ = [
    "UNCHANGED",
    "BridgeDouble",
    "BridgeProfile",
    "DoubleSession",
    "RequestRecord",
    "SessionStatus",
]
