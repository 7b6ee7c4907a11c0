"""JSON shapes the bridge answers and emits (per the WAHA OpenAPI schemas)."""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Final

import segno

from . import ids

if TYPE_CHECKING:
    from .model import DoubleSession, JsonDict
    from .profile import Addressing

QR_SCALE: Final = 5
"""Pixels per module of the QR image."""
QR_BORDER: Final = 4
"""Light modules around the QR code (the standard's quiet zone)."""
ACK_NAMES = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}


def session_info(session: DoubleSession, *, engine: str) -> JsonDict:
    """SessionInfo for ``GET /api/sessions[/{s}]``; a stopped one has no ``me``, no activity."""
    return {
        "name": session.name,
        "status": str(session.status),
        "config": session.config,
        "me": session.me if session.running else None,
        "presence": None,
        "timestamps": {"activity": session.last_activity if session.running else None},
        "engine": {"engine": engine},
    }


def session_dto(session: DoubleSession) -> JsonDict:
    """SessionDTO for create/start/stop/restart/logout answers."""
    return {"name": session.name, "status": str(session.status), "config": session.config}


def status_payload(session: DoubleSession, *, with_data: bool = True) -> JsonDict:
    """WASessionStatusBody for a ``session.status`` event.

    ``data`` is null except for the passkey statuses: the WebAuthn challenge for
    PASSKEY_REQUIRED, ``{"code"}`` for PASSKEY_CONFIRMATION_REQUIRED; without
    ``with_data`` (2026.2.1) there is no ``data`` at all.
    """
    payload: JsonDict = {
        "name": session.name,
        "status": str(session.status),
        "statuses": [
            {"status": str(point.status), "timestamp": point.timestamp}
            for point in session.statuses
        ],
    }
    if with_data:
        payload["data"] = session.status_data
    return payload


def envelope(
    *,
    event: str,
    session: str,
    payload: object,
    me: JsonDict | None,
    metadata: JsonDict | None,
    engine: str,
    env: JsonDict,
    timestamp_ms: int,
) -> JsonDict:
    """The event envelope shared by webhooks and the WebSocket (no ``metadata`` when None)."""
    env_: JsonDict = {
        "id": ids.event_id(timestamp_ms),
        "timestamp": timestamp_ms,
        "event": event,
        "session": session,
        "metadata": metadata,
        "me": me,
        "payload": payload,
        "engine": engine,
        "environment": env,
    }
    if metadata is None:
        del env_["metadata"]
    return env_


def wa_message(
    *,
    message_id: str,
    addressing: Addressing,
    body: str,
    from_me: bool,
    media_url: str | None,
    timestamp_s: int,
    source: str = "app",
    ack: int = 2,
) -> JsonDict:
    """A WAMessage as WAHA puts it in a ``message`` payload, the history and the overview.

    ``from`` / ``to`` / ``participant`` as the engine addresses the message (see
    :meth:`BridgeProfile.message_addressing`); the keys in ``addressing.absent`` are left out.
    """
    media = (
        {"url": media_url, "mimetype": "image/jpeg", "filename": "image.jpeg"}
        if media_url
        else None
    )
    message: JsonDict = {
        "id": message_id,
        "timestamp": timestamp_s,
        "from": addressing.sender,
        "fromMe": from_me,
        "source": source,
        "to": addressing.to,
        "participant": addressing.participant,
        "body": body,
        "hasMedia": media is not None,
        "media": media,
        "mediaUrl": media_url,
        "ack": ack,
        "ackName": ACK_NAMES.get(ack, "UNKNOWN"),
        "replyTo": None,
        "_data": {},
    }
    for key in addressing.absent:
        del message[key]
    return message


def chat_summary(chat_id: str, name: str | None, last_message: JsonDict | None) -> JsonDict:
    """ChatSummary, one entry of ``GET /api/{s}/chats/overview``."""
    return {
        "id": chat_id,
        "name": name,
        "picture": None,
        "lastMessage": last_message,
        "_chat": {"id": chat_id},
    }


def lid_to_phone_number(lid: str, pn: str | None) -> JsonDict:
    """LidToPhoneNumber (``pn`` null when the bridge does not know the LID)."""
    return {"lid": lid, "pn": pn}


@functools.lru_cache(maxsize=32)
def qr_png(value: str) -> bytes:
    """A scannable PNG of the QR code of ``value``: the same bytes for the same value.

    Error correction M (the ``qrcode`` renderer's default), 5 pixels a module and the 4-module
    quiet zone the QR standard asks for; black on white.
    """
    buffer = io.BytesIO()
    code = segno.make_qr(value, error="m", boost_error=False)
    code.save(buffer, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return buffer.getvalue()


def passkey_challenge() -> JsonDict:
    """A PasskeyChallenge: what PASSKEY_REQUIRED carries as ``data`` (WebAuthn request options)."""
    return {
        "challenge": ids.b64url(32),
        "timeout": 60_000,
        "rpId": "web.whatsapp.com",
        "allowCredentials": [
            {"id": ids.b64url(20), "type": "public-key", "transports": ["internal", "hybrid"]}
        ],
        "userVerification": "required",
    }
