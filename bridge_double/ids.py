"""Identifiers the bridge hands out: event ids, message ids, QR values, pairing codes."""

from __future__ import annotations

import base64
import secrets
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_LINKING_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
"""WhatsApp's linking-code alphabet (whatsmeow and Baileys): no 0, I, O or U."""


def ulid(timestamp_ms: int | None = None) -> str:
    """A lower-case ULID: 48 bits of milliseconds and 80 random bits, 26 characters."""
    ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    value = (ms & ((1 << 48) - 1)) << 80 | secrets.randbits(80)
    chars = [_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5)]
    return "".join(chars)


def event_id(timestamp_ms: int | None = None) -> str:
    """An event id as WAHA sends it: ``evt_<ulid>``."""
    return f"evt_{ulid(timestamp_ms)}"


def message_keys(count: int) -> list[str]:
    """``count`` distinct message keys, cheaply (one random prefix and a counter)."""
    prefix = "3EB0" + secrets.token_hex(4).upper()
    return [f"{prefix}{index:08X}" for index in range(count)]


def qr_value() -> str:
    """A QR payload shaped like WhatsApp's ``2@<ref>,<noise>,<identity>,<secret>``."""

    def b64(size: int) -> str:
        return base64.b64encode(secrets.token_bytes(size)).decode("ascii")

    return f"2@{b64(48)},{b64(32)},{b64(32)},{b64(32)}"


def pairing_code() -> str:
    """An eight character pairing code as WAHA shows it, ``ABCD-EFGH``."""
    chars = "".join(secrets.choice(_LINKING_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def b64url(size: int) -> str:
    """``size`` random bytes, base64url without padding (WebAuthn ids and challenges)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(size)).decode("ascii").rstrip("=")


def passkey_confirmation_code() -> str:
    """The code a passkey confirmation asks to compare with the phone's (``1234``)."""
    return f"{secrets.randbelow(10_000):04d}"


def bare_message_id(message_id: str) -> str:
    """``true_<chat>_<KEY>[_<participant>]`` -> ``KEY``; anything else as it is."""
    parts = message_id.split("_")
    if len(parts) in (3, 4) and parts[0] in ("true", "false"):
        return parts[2]
    return message_id


def is_serialized(message_id: object) -> bool:
    """Whether WAHA's ``parseMessageIdSerialized`` reads it (3 or 4 ``_``-separated parts)."""
    return isinstance(message_id, str) and len(message_id.split("_")) in (3, 4)
