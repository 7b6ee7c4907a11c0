"""Async REST client of the WAHA bridge (no Home Assistant import).

The caller injects the `aiohttp.ClientSession`; this module never creates or closes one.
The API key travels in the `X-Api-Key` header for REST and in the query string of the
WebSocket URL, so neither a URL with a query nor the key ever reaches a log line or an
exception message: errors name the bridge by its origin (scheme, host, port).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import aiohttp
from yarl import URL

from . import decoding
from .capabilities import (
    FEATURE_MARK_READ,
    FEATURE_MEDIA,
    FEATURE_POLLS,
    FEATURE_REACTIONS,
    FEATURE_TYPING,
    BridgeCapabilities,
)
from .errors import (
    WahaAuthError,
    WahaConnectionError,
    WahaEditionError,
    WahaFileTooLargeError,
    WahaNotImplementedError,
    WahaResponseError,
    WahaRouteMissingError,
    WahaSessionNameError,
    WahaSessionNotFoundError,
    WahaSessionStatusError,
    WahaStoreDisabledError,
)
from .media import VOICE_NOTE_TYPE, JsonFileBody, MediaKind, main_type
from .models import (
    ChatSummary,
    Me,
    ServerVersion,
    SessionInfo,
    SessionStatus,
    WaMessage,
    WaPollVote,
    WaReaction,
)
from .stream import EventStream

# The bridge holds a call for a session in the wrong status up to 10 s before its 422
# answer (5 s for a stopped one): a client giving up at 10 s would call that unreachable.
DEFAULT_REQUEST_TIMEOUT = 15.0
# Files take longer: the whole upload or download must finish within this.
FILE_TIMEOUT = 300.0
DOWNLOAD_CHUNK = 64 * 1024
# Where each kind of file is sent; voice notes and videos are converted by the bridge unless
# they already are what WhatsApp plays.
_SEND_ROUTES: dict[MediaKind, str] = {
    "image": "/api/sendImage",
    "video": "/api/sendVideo",
    "voice": "/api/sendVoice",
    "document": "/api/sendFile",
}
# New sessions keep their history on NOWEB (its store is off by default); other engines
# ignore the setting.
NEW_SESSION_CONFIG: dict[str, Any] = {"noweb": {"store": {"enabled": True, "fullSync": False}}}
# `*` excludes engine.event; we ask only for these and ignore anything else that arrives.
# `message.any` rather than `message`: it carries incoming messages on every engine (GOWS and
# NOWEB merge "from me" and "from others", WEBJS maps whatsapp-web.js `message_create`,
# which fires for both) plus your own, so the self chat can be heard.
DEFAULT_STREAM_EVENTS: tuple[str, ...] = (
    "session.status",
    "message.any",
    "message.reaction",
    "poll.vote",
    "poll.vote.failed",
)


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
        self.capabilities = BridgeCapabilities()
        """What the bridge said and showed it can do; refined by every answer."""

    def _url(self, path: str) -> URL:
        return self._base.with_path(self._base.path.rstrip("/") + path, encoded=True)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        file_body: JsonFileBody | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON body (None when empty).

        A `file_body` carries a file inside the JSON (see `JsonFileBody`).
        """
        headers = {"X-Api-Key": self._api_key, "Accept": "application/json"}
        data: Any = None
        timeout = self._timeout
        if file_body is not None:
            loop = asyncio.get_running_loop()
            data = await loop.run_in_executor(None, file_body.encode)
            headers |= {"Content-Type": "application/json"}
            timeout = aiohttp.ClientTimeout(total=FILE_TIMEOUT)
        try:
            async with self._http.request(
                method,
                self._url(path),
                json=json,
                data=data,
                params=params,
                headers=headers,
                ssl=self._ssl,
                timeout=timeout,
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
        text = _error_text(data)
        if status == 404:
            # NestJS answers an unknown route "Cannot GET /api/...": an older release.
            if text.startswith("Cannot "):
                raise WahaRouteMissingError(f"{path}: the bridge has no such route", status=404)
            raise WahaSessionNotFoundError(f"{path}: session not found or not running")
        if status == 501:
            raise WahaNotImplementedError(f"{path}: not implemented by the engine", status=501)
        if status == 400 and text.startswith("Enable NOWEB store"):
            self.capabilities = replace(self.capabilities, noweb_store=False)
            raise WahaStoreDisabledError(f"{path}: the NOWEB store is off", status=400)
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
        if status == 422:
            if "does not exist" in text:
                raise WahaSessionNotFoundError(f"{path}: session does not exist")
            if "only 'default' session" in text:
                raise WahaSessionNameError(f"{path}: this edition runs only 'default'", status=422)
            if "only in Plus" in text:
                raise WahaEditionError(f"{path}: needs WAHA Plus", status=422)
        raise WahaResponseError(f"{path}: HTTP {status}", status=status)

    async def version(self) -> ServerVersion:
        """Return the bridge's version, engine and edition (and remember them)."""
        server = ServerVersion.parse(await self._request("GET", "/api/server/version"))
        self.capabilities = replace(
            self.capabilities, version=server.version, edition=server.tier
        ).with_engine(self.capabilities.engine or server.engine)
        return server

    async def ping(self) -> None:
        """Check that the bridge answers at all."""
        await self._request("GET", "/ping")

    async def get_session(self, name: str) -> SessionInfo:
        """Return one session; `WahaSessionNotFoundError` when it does not exist."""
        info = SessionInfo.parse(await self._request("GET", f"/api/sessions/{_seg(name)}"))
        self.capabilities = replace(
            self.capabilities.with_engine(info.engine), noweb_store=info.noweb_store
        )
        return info

    async def start_session(self, name: str) -> SessionInfo:
        """Start a stopped session."""
        return SessionInfo.parse(await self._request("POST", f"/api/sessions/{_seg(name)}/start"))

    async def restart_session(self, name: str) -> SessionInfo:
        """Restart a session (also brings a FAILED one back)."""
        return SessionInfo.parse(await self._request("POST", f"/api/sessions/{_seg(name)}/restart"))

    async def create_session(self, name: str) -> SessionInfo:
        """Create the session (NOWEB with its store on) and start it; 422 when it exists."""
        return SessionInfo.parse(
            await self._request(
                "POST",
                "/api/sessions",
                json={"name": name, "start": True, "config": NEW_SESSION_CONFIG},
            )
        )

    async def enable_history(self, name: str) -> SessionInfo:
        """Turn the NOWEB store on (`PUT` keeps the rest; the bridge restarts a running one)."""
        info = SessionInfo.parse(
            await self._request(
                "PUT", f"/api/sessions/{_seg(name)}", json={"config": NEW_SESSION_CONFIG}
            )
        )
        self.capabilities = replace(self.capabilities, noweb_store=True)
        return info

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
        own_chat_in_from = self.capabilities.own_chat_in_from
        return _parse_list(
            data,
            lambda item: ChatSummary.parse(item, own_chat_in_from=own_chat_in_from),
            "chats overview",
        )

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
        return _parse_list(data, self.parse_message, "chat messages")

    async def get_message(self, session_name: str, chat_id: str, message_id: str) -> WaMessage:
        """One message with its file downloaded by the bridge (`media.url`), e.g. after a gap.

        History pages come without media (downloading every file of a page would be slow);
        a backfilled message that has one is asked for again through this.
        """
        data = await self._request(
            "GET",
            f"/api/{_seg(session_name)}/chats/{_seg(chat_id)}/messages/{_seg(message_id)}",
            params={"downloadMedia": "true"},
        )
        return self.parse_message(data)

    def parse_message(self, data: object) -> WaMessage:
        """Read a message (event payload or history) as this bridge's engine addresses it."""
        return WaMessage.parse(data, own_chat_in_from=self.capabilities.own_chat_in_from)

    async def new_message_id(self, session_name: str) -> str:
        """A message id generated by the bridge, to send a message with a known id.

        Before 2026.4.3 the route is missing (and `sendText` ignores an `id`); WEBJS never
        implements it. Either answer switches `capabilities.new_message_ids` off.
        """
        try:
            data = await self._request("GET", f"/api/{_seg(session_name)}/new-message-id")
        except WahaRouteMissingError, WahaNotImplementedError:
            self.capabilities = replace(self.capabilities, new_message_ids_answered=False)
            raise
        message_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise WahaResponseError("new-message-id: missing id")
        return message_id

    async def send_text(
        self,
        session_name: str,
        chat_id: str,
        text: str,
        *,
        message_id: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Send a text; return the sent message's id (the given one when the answer lacks it).

        `reply_to` (a serialized message id) quotes that message; every engine reads it, NOWEB
        only when it still holds the quoted message (else it sends without the quote).
        """
        body: dict[str, Any] = {"session": session_name, "chatId": chat_id, "text": text}
        if message_id is not None:
            body["id"] = message_id
        if reply_to:
            body["reply_to"] = reply_to
        data = await self._request("POST", "/api/sendText", json=body)
        return _sent_message_id(data) or message_id or ""

    async def send_poll(
        self,
        session_name: str,
        chat_id: str,
        question: str,
        options: Sequence[str],
        *,
        multiple_answers: bool = False,
        reply_to: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Send a poll (Core too); return its id, which votes name as `poll.id`.

        Answers: GOWS `{id, _data}`, NOWEB a `WAMessage` (`id` serialized), WEBJS the
        whatsapp-web.js message (`id._serialized`). A pre-generated `id` is sent like
        `sendText`'s (in the 2026.7.1 OpenAPI; older releases ignore it).
        """
        body: dict[str, Any] = {
            "session": session_name,
            "chatId": chat_id,
            "poll": {
                "name": question,
                "options": list(options),
                "multipleAnswers": multiple_answers,
            },
        }
        if message_id is not None:
            body["id"] = message_id
        if reply_to:
            body["reply_to"] = reply_to
        data = await self._talk(FEATURE_POLLS, self._request("POST", "/api/sendPoll", json=body))
        return _sent_message_id(data) or message_id or ""

    async def send_file(
        self,
        session_name: str,
        chat_id: str,
        kind: MediaKind,
        path: Path,
        *,
        mimetype: str,
        filename: str | None = None,
        caption: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Send a file from disk as a picture, video, voice note or document; return its id.

        Plus only: Core answers 422 "available only in Plus" (`WahaEditionError`, and
        `capabilities.media_sending` turns False); Core's engines answer `sendVideo` 501.
        The bridge takes no pre-generated id for files.
        """
        fields: dict[str, Any] = {"session": session_name, "chatId": chat_id}
        if caption and kind != "voice":
            fields["caption"] = caption
        if reply_to:
            fields["reply_to"] = reply_to
        bare_type = main_type(mimetype)
        if kind == "voice":
            fields["convert"] = bare_type not in ("audio/ogg", "audio/opus")
            mimetype = VOICE_NOTE_TYPE if not fields["convert"] else mimetype
        elif kind == "video":
            fields["convert"] = bare_type != "video/mp4"
        file_fields: dict[str, Any] = {"mimetype": mimetype}
        if filename:
            file_fields["filename"] = filename
        body = JsonFileBody(fields, file_fields, path)
        try:
            data = await self._request("POST", _SEND_ROUTES[kind], file_body=body)
        except WahaEditionError:
            self.capabilities = self.capabilities.refusing(FEATURE_MEDIA)
            raise
        return _sent_message_id(data) or ""

    async def send_location(
        self,
        session_name: str,
        chat_id: str,
        latitude: float,
        longitude: float,
        *,
        title: str = "",
        message_id: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Share a place (Core too); return the sent message's id."""
        body: dict[str, Any] = {
            "session": session_name,
            "chatId": chat_id,
            "latitude": latitude,
            "longitude": longitude,
            "title": title,
        }
        if message_id is not None:
            body["id"] = message_id
        if reply_to:
            body["reply_to"] = reply_to
        data = await self._request("POST", "/api/sendLocation", json=body)
        return _sent_message_id(data) or message_id or ""

    async def download_file(self, url: str, destination: Path, *, max_bytes: int) -> FileInfo:
        """Save a received file the bridge serves (`media.url`) to `destination`, streamed.

        Only the path from `/api/files/` on is taken from `url`: the bridge builds it from
        its own idea of its address, which Home Assistant may not reach. More than
        `max_bytes` raises `WahaFileTooLargeError` and keeps nothing; so does any failure.
        """
        marker = url.find("/api/files/")
        if marker < 0:
            raise WahaResponseError("media: not a file of the bridge")
        target = self._url(URL(url[marker:], encoded=True).path)
        loop = asyncio.get_running_loop()
        try:
            async with self._http.get(
                target,
                headers={"X-Api-Key": self._api_key},
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=FILE_TIMEOUT),
            ) as response:
                if response.status == 404:
                    raise WahaResponseError("media: the bridge no longer has the file", status=404)
                if response.status >= 400:
                    await self._raise_for_status(response, "/api/files/")
                if (response.content_length or 0) > max_bytes:
                    raise WahaFileTooLargeError("media: larger than allowed")
                size = await self._stream_to(response, destination, max_bytes, loop)
                content_type = response.headers.get("Content-Type")
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as err:
            raise WahaConnectionError(
                f"cannot reach the bridge at {self.origin}: {type(err).__name__}"
            ) from None
        return FileInfo(size=size, content_type=content_type)

    @staticmethod
    async def _stream_to(
        response: aiohttp.ClientResponse,
        destination: Path,
        max_bytes: int,
        loop: asyncio.AbstractEventLoop,
    ) -> int:
        handle = await loop.run_in_executor(None, destination.open, "wb")
        size = 0
        too_large = False
        try:
            async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                size += len(chunk)
                if too_large := size > max_bytes:
                    break
                await loop.run_in_executor(None, handle.write, chunk)
        except BaseException:
            await _discard(handle, destination, loop)
            raise
        if too_large:
            await _discard(handle, destination, loop)
            raise WahaFileTooLargeError("media: larger than allowed")
        await loop.run_in_executor(None, handle.close)
        return size

    async def react(self, session_name: str, message_id: str, reaction: str) -> None:
        """Put an emoji on a message (serialized id); an empty `reaction` removes ours.

        `PUT /api/reaction` answers the sent reaction message (GOWS `{id, _data}`, NOWEB the
        raw message, WEBJS nothing); only success matters here.
        """
        body = {"session": session_name, "messageId": message_id, "reaction": reaction}
        await self._talk(FEATURE_REACTIONS, self._request("PUT", "/api/reaction", json=body))

    async def send_seen(
        self, session_name: str, chat_id: str, *, message_ids: Sequence[str] | None = None
    ) -> None:
        """Mark messages read (blue ticks).

        With serialized `message_ids` (own ones are skipped by the bridge) GOWS and NOWEB read
        exactly those; without, the bridge reads the chat's unread messages of the last 7
        days (GOWS/NOWEB answer `{ids}`, NOWEB needs its store for that; WEBJS always reads
        the whole chat).
        """
        body: dict[str, Any] = {"session": session_name, "chatId": chat_id}
        if message_ids:
            body["messageIds"] = list(message_ids)
        await self._talk(FEATURE_MARK_READ, self._request("POST", "/api/sendSeen", json=body))

    async def start_typing(self, session_name: str, chat_id: str) -> None:
        """Show "typing…" in a chat until `stop_typing` (WhatsApp drops it after a while)."""
        body = {"session": session_name, "chatId": chat_id}
        await self._talk(FEATURE_TYPING, self._request("POST", "/api/startTyping", json=body))

    async def stop_typing(self, session_name: str, chat_id: str) -> None:
        """Stop showing "typing…" in a chat."""
        body = {"session": session_name, "chatId": chat_id}
        await self._talk(FEATURE_TYPING, self._request("POST", "/api/stopTyping", json=body))

    async def _talk(self, feature: str, request: Awaitable[Any]) -> Any:
        """Await a talk call; a 501 (engine) or a missing route switches the feature off."""
        try:
            return await request
        except WahaRouteMissingError, WahaNotImplementedError:
            self.capabilities = self.capabilities.refusing(feature)
            raise

    def parse_reaction(self, payload: object) -> WaReaction:
        """Read a `message.reaction` payload; `WahaResponseError` when unreadable."""
        return WaReaction.parse(payload, own_chat_in_from=self.capabilities.own_chat_in_from)

    def parse_poll_vote(self, payload: object, *, failed: bool = False) -> WaPollVote:
        """Read a `poll.vote` (or, with `failed`, `poll.vote.failed`) payload."""
        return WaPollVote.parse(
            payload, failed=failed, own_chat_in_from=self.capabilities.own_chat_in_from
        )

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


async def _discard(handle: BinaryIO, path: Path, loop: asyncio.AbstractEventLoop) -> None:
    """Close and remove a partly written file."""
    await loop.run_in_executor(None, handle.close)
    with contextlib.suppress(OSError):
        await loop.run_in_executor(None, path.unlink)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What a download saved."""

    size: int
    content_type: str | None


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
    """The id of a sent message in the form incoming messages have on the same engine.

    GOWS answers the serialized id in `id`, WEBJS in `id._serialized`; NOWEB answers the raw
    message, whose `key` is serialized here as WAHA does for events.
    """
    if not isinstance(data, dict):
        return None
    key = data.get("key")
    if isinstance(key, dict):
        serialized = _serialize_key(key)
        if serialized is not None:
            return serialized
    candidates: list[object] = [data.get("id")]
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


def _serialize_key(key: dict[str, Any]) -> str | None:
    """A Baileys key as WAHA serializes it: `<fromMe>_<chat>_<id>[_<participant>]`."""
    remote, bare = key.get("remoteJid"), key.get("id")
    if not isinstance(remote, str) or not remote or not isinstance(bare, str) or not bare:
        return None
    parts = ["true" if key.get("fromMe") is True else "false", _cus(remote), bare]
    participant = key.get("participant")
    if isinstance(participant, str) and participant:
        parts.append(_cus(participant))
    return "_".join(parts)


def _cus(jid: str) -> str:
    """WAHA's chat id form of a WhatsApp JID (`@s.whatsapp.net` is `@c.us`)."""
    return jid.removesuffix("@s.whatsapp.net") + "@c.us" if jid.endswith("@s.whatsapp.net") else jid


def _error_text(data: object) -> str:
    """The message of an error answer (`message`, else `error`), or an empty string."""
    if not isinstance(data, dict):
        return ""
    for key in ("message", "error"):
        value = data.get(key)
        if isinstance(value, str):
            return value
    return ""


def _json_loads(body: bytes) -> Any:
    return decoding.loads(body)
