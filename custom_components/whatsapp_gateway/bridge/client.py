"""Async REST client of the WAHA bridge (no Home Assistant import).

The caller injects the `aiohttp.ClientSession`; this module never creates or closes one.
The API key travels in the `X-Api-Key` header for REST and in the query string of the
WebSocket URL, so neither a URL with a query nor the key ever reaches a log line or an
exception message: errors name the bridge by its origin (scheme, host, port).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from . import decoding
from .errors import (
    WahaAuthError,
    WahaConnectionError,
    WahaResponseError,
    WahaSessionNotFoundError,
    WahaSessionStatusError,
)
from .models import ChatSummary, Me, ServerVersion, SessionInfo, SessionStatus, WaMessage
from .stream import EventStream

DEFAULT_REQUEST_TIMEOUT = 10.0
# `*` excludes engine.event; we only need these two and ignore anything else that arrives.
DEFAULT_STREAM_EVENTS: tuple[str, ...] = ("session.status", "message")


class WahaClient:
    """REST calls and the event stream of one WAHA bridge."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        *,
        verify_ssl: bool = True,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        """Bind the client to a bridge; nothing is sent until a call is made."""
        self._http = session
        self._base = URL(base_url.rstrip("/"))
        self._api_key = api_key
        self._ssl = verify_ssl
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self.origin = str(self._base.origin())

    def _url(self, path: str) -> URL:
        return self._base.with_path(self._base.path.rstrip("/") + path, encoded=True)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON body (None when empty)."""
        try:
            async with self._http.request(
                method,
                self._url(path),
                json=json,
                params=params,
                headers={"X-Api-Key": self._api_key, "Accept": "application/json"},
                ssl=self._ssl,
                timeout=self._timeout,
            ) as response:
                if response.status >= 400:
                    await self._raise_for_status(response, path)
                body = await response.read()
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as err:
            raise WahaConnectionError(
                f"cannot reach the bridge at {self.origin}: {type(err).__name__}"
            ) from None
        if not body.strip():
            return None
        try:
            return _json_loads(body)
        except ValueError:
            raise WahaResponseError(f"{method} {path}: answer is not JSON") from None

    async def _raise_for_status(self, response: aiohttp.ClientResponse, path: str) -> None:
        status = response.status
        try:
            data = _json_loads(await response.read())
        except ValueError:
            data = None
        if status in (401, 403):
            raise WahaAuthError(
                f"the bridge at {self.origin} rejected the API key (HTTP {status})",
                forbidden=status == 403,
            )
        if status == 404:
            raise WahaSessionNotFoundError(f"{path}: session not found or not running")
        if status == 422 and isinstance(data, dict) and "expected" in data:
            expected = data.get("expected")
            current = data.get("status")
            raise WahaSessionStatusError(
                f"{path}: session status is {current}, expected {expected}",
                status=current if isinstance(current, str) else None,
                expected=tuple(str(item) for item in expected)
                if isinstance(expected, list)
                else (),
            )
        raise WahaResponseError(f"{path}: HTTP {status}", status=status)

    async def version(self) -> ServerVersion:
        """Return the bridge's version and engine."""
        return ServerVersion.parse(await self._request("GET", "/api/server/version"))

    async def ping(self) -> None:
        """Check that the bridge answers at all."""
        await self._request("GET", "/ping")

    async def get_session(self, name: str) -> SessionInfo:
        """Return one session; `WahaSessionNotFoundError` when it does not exist."""
        return SessionInfo.parse(await self._request("GET", f"/api/sessions/{_seg(name)}"))

    async def start_session(self, name: str) -> SessionInfo:
        """Start a stopped session."""
        return SessionInfo.parse(await self._request("POST", f"/api/sessions/{_seg(name)}/start"))

    async def restart_session(self, name: str) -> SessionInfo:
        """Restart a session (also brings a FAILED one back)."""
        return SessionInfo.parse(await self._request("POST", f"/api/sessions/{_seg(name)}/restart"))

    async def create_session(self, name: str) -> SessionInfo:
        """Create the session and start it; HTTP 422 (`WahaResponseError`) when it exists."""
        return SessionInfo.parse(
            await self._request("POST", "/api/sessions", json={"name": name, "start": True})
        )

    async def pairing_qr(self, name: str) -> str:
        """The current pairing QR code's text (only while the session is `SCAN_QR_CODE`)."""
        data = await self._request("GET", f"/api/{_seg(name)}/auth/qr", params={"format": "raw"})
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(value, str) or not value:
            raise WahaResponseError("auth/qr: answer has no QR value")
        return value

    async def pairing_qr_image(self, name: str) -> bytes:
        """The current pairing QR code as PNG bytes, as the bridge renders it."""
        data = await self._request("GET", f"/api/{_seg(name)}/auth/qr", params={"format": "image"})
        encoded = data.get("data") if isinstance(data, dict) else None
        if not isinstance(encoded, str):
            raise WahaResponseError("auth/qr: answer has no image")
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise WahaResponseError("auth/qr: image is not base64") from None

    async def request_pairing_code(self, name: str, phone_number: str) -> str:
        """Ask for an 8-character code to type on the phone instead of scanning the QR."""
        data = await self._request(
            "POST", f"/api/{_seg(name)}/auth/request-code", json={"phoneNumber": phone_number}
        )
        code = data.get("code") if isinstance(data, dict) else None
        if not isinstance(code, str) or not code:
            raise WahaResponseError("auth/request-code: answer has no code")
        return code

    async def revive_session(self, name: str, info: SessionInfo) -> SessionInfo:
        """Start a STOPPED session or restart a FAILED one (`info` is its last read)."""
        if info.status is SessionStatus.STOPPED:
            return await self.start_session(name)
        if info.status is SessionStatus.FAILED:
            return await self.restart_session(name)
        return info

    async def get_me(self, name: str) -> Me | None:
        """Return the logged-in account, or None when the session is not paired."""
        return Me.parse(await self._request("GET", f"/api/sessions/{_seg(name)}/me"))

    async def set_presence(self, name: str, *, online: bool) -> None:
        """Mark the account online or offline."""
        await self._request(
            "POST",
            f"/api/{_seg(name)}/presence",
            json={"presence": "online" if online else "offline"},
        )

    async def chats_overview(
        self, session_name: str, *, limit: int, offset: int = 0
    ) -> list[ChatSummary]:
        """One page of chats, newest activity first; unreadable entries are skipped."""
        data = await self._request(
            "GET",
            f"/api/{_seg(session_name)}/chats/overview",
            params={"limit": str(limit), "offset": str(offset)},
        )
        return _parse_list(data, ChatSummary.parse, "chats overview")

    async def chat_messages(
        self,
        session_name: str,
        chat_id: str,
        *,
        since: int | None,
        limit: int,
        offset: int = 0,
        from_me: bool | None = False,
        newest_first: bool = False,
    ) -> list[WaMessage]:
        """One page of a chat's messages with `timestamp >= since` (seconds), without media."""
        params = {
            "limit": str(limit),
            "offset": str(offset),
            "sortOrder": "desc" if newest_first else "asc",
            "downloadMedia": "false",
        }
        if since is not None:
            params["filter.timestamp.gte"] = str(since)
        if from_me is not None:
            params["filter.fromMe"] = "true" if from_me else "false"
        data = await self._request(
            "GET",
            f"/api/{_seg(session_name)}/chats/{_seg(chat_id)}/messages",
            params=params,
        )
        return _parse_list(data, WaMessage.parse, "chat messages")

    async def new_message_id(self, session_name: str) -> str:
        """A message id generated by the bridge, to send a message with a known id."""
        data = await self._request("GET", f"/api/{_seg(session_name)}/new-message-id")
        message_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise WahaResponseError("new-message-id: missing id")
        return message_id

    async def send_text(
        self, session_name: str, chat_id: str, text: str, *, message_id: str | None = None
    ) -> str:
        """Send a text; return the sent message's id (the given one when the answer lacks it)."""
        body: dict[str, Any] = {"session": session_name, "chatId": chat_id, "text": text}
        if message_id is not None:
            body["id"] = message_id
        data = await self._request("POST", "/api/sendText", json=body)
        return _sent_message_id(data) or message_id or ""

    async def lid_to_phone(self, session_name: str, lid: str) -> str | None:
        """The phone chat id (`...@c.us`) behind a hidden `@lid` id, when the bridge knows it."""
        data = await self._request("GET", f"/api/{_seg(session_name)}/lids/{_seg(lid)}")
        phone = data.get("pn") if isinstance(data, dict) else None
        return phone if isinstance(phone, str) and phone else None

    async def connect_stream(
        self,
        session_name: str,
        *,
        heartbeat: float,
        events: tuple[str, ...] = DEFAULT_STREAM_EVENTS,
    ) -> EventStream:
        """Open the event stream of one session.

        A key the bridge rejects still gets the upgrade and is closed at once with 1008;
        `EventStream` turns that close into `WahaAuthError` on the first read.
        """
        ws_base = self._base.with_scheme("wss" if self._base.scheme == "https" else "ws")
        url = ws_base.with_path(ws_base.path.rstrip("/") + "/ws").with_query(
            [("x-api-key", self._api_key), ("session", session_name)]
            + [("events", event) for event in events]
        )
        try:
            websocket = await self._http.ws_connect(
                url,
                heartbeat=heartbeat,
                ssl=self._ssl,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=self._timeout.total),
                max_msg_size=8 * 1024 * 1024,
            )
        except aiohttp.WSServerHandshakeError as err:
            if err.status in (401, 403):
                raise WahaAuthError(
                    f"the bridge at {self.origin} rejected the API key (HTTP {err.status})",
                    forbidden=err.status == 403,
                ) from None
            raise WahaConnectionError(
                f"event stream refused by {self.origin} (HTTP {err.status})"
            ) from None
        except (TimeoutError, aiohttp.ClientError) as err:
            raise WahaConnectionError(
                f"cannot open the event stream at {self.origin}: {type(err).__name__}"
            ) from None
        return EventStream(websocket, origin=self.origin)


def _seg(value: str) -> str:
    """Quote a path segment (session names are user input)."""
    return quote(value, safe="")


def _parse_list[T](data: object, parse: Callable[[object], T], what: str) -> list[T]:
    """Parse each entry of a JSON list, skipping the ones that cannot be read."""
    if not isinstance(data, list):
        raise WahaResponseError(f"{what}: expected a JSON list")
    parsed: list[T] = []
    for item in data:
        try:
            parsed.append(parse(item))
        except WahaResponseError:
            continue
    return parsed


def _sent_message_id(data: object) -> str | None:
    """The id of a sent message: `id`, or nested in `key.id` / `_data.id.id` by some engines."""
    if not isinstance(data, dict):
        return None
    candidates: list[object] = [data.get("id")]
    key = data.get("key")
    if isinstance(key, dict):
        candidates.append(key.get("id"))
    raw = data.get("_data")
    if isinstance(raw, dict) and isinstance(raw.get("id"), dict):
        candidates.append(raw["id"].get("id"))
    for candidate in candidates:
        found = candidate.get("_serialized") if isinstance(candidate, dict) else candidate
        if isinstance(found, str) and found:
            return found
    return None


def _json_loads(body: bytes) -> Any:
    return decoding.loads(body)
