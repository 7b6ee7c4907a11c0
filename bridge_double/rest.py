"""The HTTP side: REST routes, authentication, the request log and the WebSocket upgrade."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from aiohttp.web_urldispatcher import MatchInfoError

from . import errors, ids, payloads, queries
from .auth import Access
from .control import handle_fault
from .media import parse_file, served_type
from .model import DoubleSession, JsonDict, SessionStatus, Status
from .request_log import RequestRecord
from .streams import ALL, CLOSE_TIMEOUT, StreamClient, parse_events

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from .server import BridgeDouble

DOUBLE: Final = web.AppKey["BridgeDouble"]("bridge_double")
# aiohttp 3.14 added typed request keys; our oldest Home Assistant (2026.5) pins aiohttp 3.13.
if TYPE_CHECKING or hasattr(web, "RequestKey"):
    RECORD: Final = web.RequestKey("bridge_double_record", RequestRecord)
else:
    RECORD: Final = "bridge_double_record"
WS_PATH: Final = "/ws"
CONTROL_PREFIX: Final = "/_double/"
STATUS_POLL: Final = 0.05
"""How often a wait for a session that does not exist looks again (WAHA: every 0.5 s)."""
REQUEST_CODE_WAIT: Final = 2.0
"""How long ``auth/request-code`` waits (at most ``status_wait``) for a STARTING session."""
NO_CHALLENGE: Final = "No passkey challenge is pending for the session"
NO_CONFIRMATION: Final = "No passkey confirmation is pending for the session"
PRESENCES: Final = frozenset({"offline", "online", "typing", "recording", "paused"})
GLOBAL_PRESENCES: Final = frozenset({"online", "offline"})
MEDIA_SENDS: Final = ("image", "file", "voice", "video")
"""``POST /api/send{Image,File,Voice,Video}``: Plus only."""
CONVERTED_SENDS: Final = frozenset({"voice", "video"})
"""Media sends whose request requires ``convert`` (a boolean) in the OpenAPI."""
CLIENT_MAX_SIZE: Final = 100 * 1024 * 1024
"""Request bodies up to 100 MB (a 30 MB base64 file and more)."""
FILES_PREFIX: Final = "/api/files/"


def build_app(double: BridgeDouble) -> web.Application:
    """A fresh application for one listening period of ``double``.

    Routes of a newer release than the profile's are left out: NestJS answers them 404
    ``Cannot GET ...`` like any unknown path.
    """
    profile = double.profile
    app = web.Application(
        middlewares=[_log_and_errors, _authenticate], client_max_size=CLIENT_MAX_SIZE
    )
    app[DOUBLE] = double
    app.router.add_get("/ping", _ping)
    app.router.add_get("/api/server/version", _version)
    app.router.add_get("/api/sessions", _list_sessions)
    app.router.add_post("/api/sessions", _create_session)
    app.router.add_get("/api/sessions/{session}", _get_session)
    app.router.add_put("/api/sessions/{session}", _update_session)
    app.router.add_post("/api/sessions/{session}/{action:start|stop|restart|logout}", _control)
    app.router.add_get("/api/sessions/{session}/me", _me)
    app.router.add_get("/api/{session}/auth/qr", _qr)
    app.router.add_post("/api/{session}/auth/request-code", _request_code)
    if profile.has_passkey_routes:
        app.router.add_get("/api/{session}/auth/passkey/challenge", _passkey_challenge)
        app.router.add_post("/api/{session}/auth/passkey", _submit_passkey)
        app.router.add_get("/api/{session}/auth/passkey/confirmation", _passkey_confirmation)
        app.router.add_post("/api/{session}/auth/passkey/confirm", _confirm_passkey)
    app.router.add_post("/api/{session}/presence", _presence)
    if profile.has_new_message_id_route:
        app.router.add_get("/api/{session}/new-message-id", _new_message_id)
    app.router.add_get("/api/{session}/status/new-message-id", _new_message_id)
    app.router.add_post("/api/sendText", _send_text)
    app.router.add_post("/api/sendLocation", _send_location)
    app.router.add_post("/api/sendPoll", _send_poll)
    app.router.add_put("/api/reaction", _reaction)
    app.router.add_post("/api/sendSeen", _send_seen)
    app.router.add_post("/api/startTyping", _typing)
    app.router.add_post("/api/stopTyping", _typing)
    for kind in MEDIA_SENDS:
        app.router.add_post(f"/api/send{kind.capitalize()}", _send_media)
    app.router.add_get("/api/{session}/chats/overview", _overview)
    app.router.add_post("/api/{session}/chats/overview", _overview_post)
    app.router.add_get("/api/{session}/chats/{chatId}/messages", _chat_messages)
    app.router.add_get("/api/{session}/chats/{chatId}/messages/{messageId}", _chat_message)
    # ServeStaticModule: no session scope check, so the segment is not called "session".
    app.router.add_get(FILES_PREFIX + "{file_session}/{file}", _file)
    app.router.add_get("/api/{session}/lids/pn/{phoneNumber}", _lid_by_phone_number)
    app.router.add_get("/api/{session}/lids/{lid}", _phone_number_by_lid)
    app.router.add_get(WS_PATH, _websocket)
    app.router.add_post(CONTROL_PREFIX + "faults/{fault}", _fault)
    return app


def _double(request: web.Request) -> BridgeDouble:
    return request.app[DOUBLE]


def request_key(request: web.Request) -> str | None:
    """The API key of a REST request: the header, else (from 2026.4.3) the query."""
    key = request.headers.get("X-Api-Key")
    if key or not _double(request).profile.query_api_key:
        return key
    return request.query.get("x-api-key")


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


# ---------------------------------------------------------------- middlewares


@web.middleware
async def _log_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record the request and turn errors into WAHA-style JSON answers."""
    if request.path == WS_PATH:
        return await handler(request)
    record = _double(request).log.add(
        request.method, request.path, request.match_info.get("session")
    )
    request[RECORD] = record
    try:
        failure = _double(request).take_request_failure(request.method, request.path)
        response = _json(*failure) if failure is not None else await handler(request)
    except errors.ApiError as err:
        response = _json(err.body, err.status)
    except errors.AnswerDropped:
        # Close the connection before a byte of the answer is out. aiohttp then fails to
        # write the response below with a ConnectionError, which it ignores quietly as a
        # premature disconnection; the record keeps status 0 (never answered).
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=201)
    except web.HTTPException:
        if not isinstance(request.match_info, MatchInfoError):
            raise
        not_found = errors.route_not_found(request.method, request.path)  # NestJS: 404, no 405
        response = _json(not_found.body, not_found.status)
    record.status = response.status
    return response


@web.middleware
async def _authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 / 403 for REST and control requests, before anything else."""
    if isinstance(request.match_info, MatchInfoError):
        return await handler(request)
    keys = _double(request).keys
    key = request_key(request)
    if request.path.startswith(CONTROL_PREFIX):
        if not keys.is_full(key):
            raise errors.unauthorized()
    elif request.path.startswith("/api/"):
        access = keys.check(key, request.match_info.get("session"))
        if access is Access.UNAUTHORIZED:
            raise errors.unauthorized()
        if access is Access.FORBIDDEN:
            raise errors.forbidden()
    return await handler(request)


# ------------------------------------------------------------------- helpers


def _named(double: BridgeDouble, name: str) -> None:
    """Single-session Core refuses any other session name (OnlyDefaultSessionIsAllowed)."""
    if not double.profile.session_name_allowed(name):
        raise errors.only_default_session(name)


def _existing(double: BridgeDouble, name: str) -> DoubleSession:
    """The session of a ``/api/sessions/{s}`` endpoint; else 404 "Session not found"."""
    _named(double, name)
    session = double.sessions.get(name)
    if session is None:
        raise errors.session_not_found()
    return session


async def _wait_for(session: DoubleSession | None, remaining: float) -> None:
    if session is None:
        await asyncio.sleep(min(STATUS_POLL, remaining))
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(session.changed.wait(), remaining)


async def _running_in(double: BridgeDouble, name: str, *expected: Status) -> DoubleSession:
    """A session in one of ``expected``, as WAHA's ``waitUntilStatus`` finds it, else 422.

    Waits up to ``status_wait_stopped`` for the session to run at all: then 422
    ``Session "x" does not exist`` (no ``expected``) when it does not exist, else 422
    with ``"status": "STOPPED"``; then up to ``status_wait`` for one of ``expected``:
    else 422 with the status it has.
    """
    _named(double, name)
    deadline = time.monotonic() + double.status_wait_stopped
    while True:
        session = double.sessions.get(name)
        if session is not None and session.running:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if session is None:
                raise errors.session_does_not_exist(name)
            raise errors.unexpected_status(name, SessionStatus.STOPPED, expected)
        await _wait_for(session, remaining)
    deadline = time.monotonic() + double.status_wait
    while session.status not in expected:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.unexpected_status(name, session.status, expected)
        await _wait_for(session, remaining)
    return session


def _running(double: BridgeDouble, name: str) -> DoubleSession:
    """The running session (WAHA's SessionPipe, ``getSession``); else 404."""
    _named(double, name)
    session = double.sessions.get(name)
    if session is None or not session.running:
        raise errors.session_not_running(name)
    return session


async def _past_starting(double: BridgeDouble, name: str, within: float) -> DoubleSession:
    """The running session once it is no longer STARTING, waiting up to ``within`` s; else 404."""
    deadline = time.monotonic() + within
    while True:
        session = _running(double, name)
        remaining = deadline - time.monotonic()
        if session.status != SessionStatus.STARTING or remaining <= 0:
            return session
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.changed.wait(), remaining)


async def _body(request: web.Request) -> JsonDict:
    try:
        body: Any = await request.json()
    except json.JSONDecodeError:
        raise errors.bad_request("body must be JSON") from None
    if not isinstance(body, dict):
        raise errors.bad_request("body must be a JSON object")
    return body


# ------------------------------------------------------------------- handlers


async def _ping(_request: web.Request) -> web.StreamResponse:
    return _json({"message": "pong"})


async def _version(request: web.Request) -> web.StreamResponse:
    return _json(_double(request).environment())


async def _list_sessions(request: web.Request) -> web.StreamResponse:
    double = _double(request)
    everything = request.query.get("all", "").lower() in {"true", "1"}
    key = request_key(request)
    return _json(
        [
            payloads.session_info(session, engine=double.engine)
            for session in double.sessions.values()
            if (everything or session.running)
            and double.profile.session_name_allowed(session.name)
            and double.keys.visible(key, session.name)
        ]
    )


async def _create_session(request: web.Request) -> web.StreamResponse:
    double = _double(request)
    body = await _body(request)
    name = body.get("name") or "default"
    config = body.get("config") or {}
    if not isinstance(name, str) or not isinstance(config, dict):
        raise errors.bad_request("name must be a string and config an object")
    if double.keys.check(request_key(request), name) is Access.FORBIDDEN:
        raise errors.forbidden()
    _named(double, name)
    if name in double.sessions:
        raise errors.session_exists(name)
    answer = await double.rest_create(name, config, start=bool(body.get("start")))
    return _json(answer, 201)


async def _update_session(request: web.Request) -> web.StreamResponse:
    """``PUT /api/sessions/{s}``: a new config; a running session restarts with it."""
    double = _double(request)
    body = await _body(request)
    config = body.get("config")
    if config is not None and not isinstance(config, dict):
        raise errors.bad_request("config must be an object")
    session = _existing(double, request.match_info["session"])
    return _json(await double.rest_update(session, config))


async def _get_session(request: web.Request) -> web.StreamResponse:
    double = _double(request)
    session = _existing(double, request.match_info["session"])
    return _json(payloads.session_info(session, engine=double.engine))


async def _control(request: web.Request) -> web.StreamResponse:
    double = _double(request)
    session = _existing(double, request.match_info["session"])
    action = request.match_info["action"]
    if action == "start":
        answer = await double.rest_start(session)
    elif action == "stop":
        answer = await double.rest_stop(session)
    elif action == "restart":
        answer = await double.rest_restart(session)
    else:
        answer = await double.rest_logout(session)
    return _json(answer, 201)


async def _me(request: web.Request) -> web.StreamResponse:
    """``GET /api/sessions/{s}/me``: SessionPipe, so 404 while the session is not running."""
    session = _running(_double(request), request.match_info["session"])
    return _json(session.me)


async def _qr(request: web.Request) -> web.StreamResponse:
    double = _double(request)
    fmt = request.query.get("format", "image")
    if fmt not in {"image", "raw"}:
        raise errors.bad_request("format must be one of the following values: image, raw")
    session = await _running_in(double, request.match_info["session"], SessionStatus.SCAN_QR_CODE)
    value = session.qr_value or ""
    if fmt == "raw":
        return _json({"value": value})
    png = payloads.qr_png(value)
    if request.headers.get("Accept") == "application/json":  # exactly, as WAHA compares
        return _json({"mimetype": "image/png", "data": base64.b64encode(png).decode("ascii")})
    return web.Response(body=png, content_type="image/png")


async def _request_code(request: web.Request) -> web.StreamResponse:
    """``POST /api/{s}/auth/request-code``: ``{"code": "ABCD-EFGH"}`` (201) in SCAN_QR_CODE.

    As GOWS: 404 when not running, waits a little while STARTING, else 422 outside
    SCAN_QR_CODE. NOWEB refuses any ``method`` (GOWS ignores it).
    """
    double = _double(request)
    body = await _body(request)
    phone_number, method = body.get("phoneNumber"), body.get("method")
    if not isinstance(phone_number, str) or not phone_number:
        raise errors.bad_request("phoneNumber must be a string")
    if method is not None and not isinstance(method, str):
        raise errors.bad_request("method must be a string")
    name = request.match_info["session"]
    _running(double, name)
    if method and double.profile.refuses_request_code_method:
        raise errors.unprocessable(
            "NOWEB engine doesn't support any 'method', remove it and try again"
        )
    session = await _past_starting(double, name, min(double.status_wait, REQUEST_CODE_WAIT))
    if session.status != SessionStatus.SCAN_QR_CODE:
        raise errors.unprocessable(
            f"Can request code only in SCAN_QR_CODE status. The current status is {session.status}"
        )
    return _json({"code": double.request_code(session, phone_number)}, 201)


async def _passkey_challenge(request: web.Request) -> web.StreamResponse:
    session = _running(_double(request), request.match_info["session"])
    if session.status != SessionStatus.PASSKEY_REQUIRED:
        raise errors.unprocessable(NO_CHALLENGE)
    return _json(session.status_data)


async def _submit_passkey(request: web.Request) -> web.StreamResponse:
    """``POST /api/{s}/auth/passkey``: a PasskeyAssertionRequest finishes the pairing (201)."""
    double = _double(request)
    _check_assertion(await _body(request))
    session = _running(double, request.match_info["session"])
    if session.status != SessionStatus.PASSKEY_REQUIRED:
        raise errors.unprocessable(NO_CHALLENGE)
    await double.confirm_passkey(session.name)
    return web.Response(status=201)


def _check_assertion(body: JsonDict) -> None:
    for field in ("id", "rawId", "type"):
        if not isinstance(body.get(field), str):
            raise errors.bad_request(f"{field} must be a string")
    response = body.get("response")
    if not isinstance(response, dict):
        raise errors.bad_request("response must be an object")
    for field in ("clientDataJSON", "authenticatorData", "signature"):
        if not isinstance(response.get(field), str):
            raise errors.bad_request(f"response.{field} must be a string")


async def _passkey_confirmation(request: web.Request) -> web.StreamResponse:
    session = _running(_double(request), request.match_info["session"])
    if session.status != SessionStatus.PASSKEY_CONFIRMATION_REQUIRED:
        raise errors.unprocessable(NO_CONFIRMATION)
    return _json({"code": (session.status_data or {}).get("code")})


async def _confirm_passkey(request: web.Request) -> web.StreamResponse:
    double = _double(request)
    session = _running(double, request.match_info["session"])
    if session.status != SessionStatus.PASSKEY_CONFIRMATION_REQUIRED:
        raise errors.unprocessable(NO_CONFIRMATION)
    await double.confirm_passkey(session.name)
    return web.Response(status=201)


async def _presence(request: web.Request) -> web.StreamResponse:
    """``POST /api/{s}/presence``: the session waits first, then the ``chatId`` rules (400)."""
    double = _double(request)
    body = await _body(request)
    presence = body.get("presence")
    if presence not in PRESENCES:
        raise errors.bad_request(f"presence must be one of: {', '.join(sorted(PRESENCES))}")
    session = await _running_in(double, request.match_info["session"], SessionStatus.WORKING)
    chat_id = body.get("chatId")
    if presence in GLOBAL_PRESENCES and chat_id:
        raise errors.bad_request_detail(
            f"'{presence}' presence works on the global scope and doesn't require 'chatId' field."
        )
    if presence not in GLOBAL_PRESENCES and not chat_id:
        raise errors.bad_request_detail(f"'{presence}' presence requires 'chatId' field.")
    session.presence = str(presence)
    return web.Response(status=201)


async def _new_message_id(request: web.Request) -> web.StreamResponse:
    """``new-message-id`` (2026.4.3) and ``status/new-message-id``: 501 on WEBJS."""
    double = _double(request)
    await _running_in(double, request.match_info["session"], SessionStatus.WORKING)
    if not double.profile.new_message_id_supported:
        raise errors.not_implemented(double.engine)
    return _json({"id": double.profile.new_message_key()})


def _send_target(request: web.Request, body: JsonDict) -> tuple[BridgeDouble, str, str]:
    """The session name and chat id of a send, checked as WAHA does (400, then 403)."""
    double = _double(request)
    name = body.get("session", "default")
    if not isinstance(name, str) or not name:
        raise errors.bad_request("session must be a string")
    request[RECORD].session = name
    chat_id = body.get("chatId")
    if not isinstance(chat_id, str) or not chat_id:
        raise errors.bad_request("chatId must be a string")
    return double, name, chat_id


async def _send_text(request: web.Request) -> web.StreamResponse:
    """``POST /api/sendText``: 400, 403, 422 (session), an armed fault, else send (201)."""
    body = await _body(request)
    double, name, chat_id = _send_target(request, body)
    text, key = body.get("text"), _send_id(body)
    if not isinstance(text, str):
        raise errors.bad_request("text must be a string")
    reply_to = _reply_to(request, body)
    session = await _sending_session(double, request, name)
    if (failure := double.send_faults.take_failure()) is not None:
        raise failure
    message = await double.rest_send_text(
        session, chat_id=chat_id, text=text, key=key, reply_to=reply_to
    )
    return _sent(double, message)


def _send_id(body: JsonDict) -> str | None:
    """A send's pre-generated ``id``: absent, or a non-empty string (else 400)."""
    key = body.get("id")
    if key is not None and (not isinstance(key, str) or not key):
        raise errors.bad_request("id must be a string")
    return key


async def _sending_session(double: BridgeDouble, request: web.Request, name: str) -> DoubleSession:
    """The session a send goes through: 403 for a key without rights, 422 unless WORKING."""
    if double.keys.check(request_key(request), name) is Access.FORBIDDEN:
        raise errors.forbidden()
    return await _running_in(double, name, SessionStatus.WORKING)


def _sent(double: BridgeDouble, answer: JsonDict) -> web.StreamResponse:
    """201 with the engine's answer, unless an armed ``drop_send_answers`` drops it."""
    if double.send_faults.take_drop():
        raise errors.AnswerDropped
    return _json(answer, 201)


def _coordinate(body: JsonDict, field: str, bound: float) -> float:
    value = body.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > bound:
        raise errors.bad_request(f"{field} must be a number")
    return float(value)


async def _send_location(request: web.Request) -> web.StreamResponse:
    """``POST /api/sendLocation`` (Core and Plus, every engine): as sendText.

    WAHA has no validation pipe here (a bad body fails in the engine); the double answers
    400 as it does for sendText. ``id`` is honoured where sendText's is.
    """
    body = await _body(request)
    double, name, chat_id = _send_target(request, body)
    latitude = _coordinate(body, "latitude", 90)
    longitude = _coordinate(body, "longitude", 180)
    title, key = body.get("title"), _send_id(body)
    if title is None:
        title = ""
    if not isinstance(title, str):
        raise errors.bad_request("title must be a string")
    reply_to = _reply_to(request, body)
    session = await _sending_session(double, request, name)
    if (failure := double.send_faults.take_failure()) is not None:
        raise failure
    answer = await double.rest_send_location(
        session,
        chat_id=chat_id,
        latitude=latitude,
        longitude=longitude,
        title=title,
        key=key,
        reply_to=reply_to,
    )
    return _sent(double, answer)


def _reply_to(request: web.Request, body: JsonDict) -> str | None:
    """``reply_to``: a message id (serialized or bare); anything else fails in the engine."""
    reply_to = body.get("reply_to")
    if reply_to is None or reply_to == "":
        return None
    if not isinstance(reply_to, str):
        raise _engine_error(request, "serialized.includes is not a function", "TypeError")
    return reply_to


def _engine_error(request: web.Request, message: str, name: str = "Error") -> errors.ApiError:
    """500: the routes without a validation pipe fail inside the engine on a bad body."""
    return errors.internal(message, method=request.method, path=request.path, name=name)


async def _talk_session(
    request: web.Request, body: JsonDict, call: str
) -> tuple[BridgeDouble, DoubleSession]:
    """The WORKING session of a talk call (403, 422 as sendText); 501 where refused."""
    double = _double(request)
    name = body.get("session", "default")
    if not isinstance(name, str) or not name:
        raise errors.bad_request("session must be a string")
    request[RECORD].session = name
    session = await _sending_session(double, request, name)
    if call in double.refused_calls:
        raise errors.not_implemented(double.engine)
    return double, session


def _chat_id(request: web.Request, body: JsonDict) -> str:
    chat_id = body.get("chatId")
    if not isinstance(chat_id, str) or not chat_id:
        raise _engine_error(request, "Cannot read properties of undefined", "TypeError")
    return chat_id


async def _send_poll(request: web.Request) -> web.StreamResponse:
    """``POST /api/sendPoll`` (Core too): 201 with the engine's answer; a bad poll: 500."""
    body = await _body(request)
    double, session = await _talk_session(request, body, "sendPoll")
    chat_id = _chat_id(request, body)
    poll = body.get("poll")
    if not isinstance(poll, dict):
        raise _engine_error(request, "Cannot read properties of undefined (reading 'name')")
    name, options = poll.get("name"), poll.get("options")
    if (
        not isinstance(name, str)
        or not isinstance(options, list)
        or not all(isinstance(option, str) for option in options)
    ):
        raise _engine_error(request, "poll.name and poll.options are required", "TypeError")
    key = body.get("id")
    if not isinstance(key, str) or not key:
        key = None
    answer = await double.rest_send_poll(
        session,
        chat_id=chat_id,
        name=name,
        options=options,
        multiple=poll.get("multipleAnswers") is True,
        key=key,
        reply_to=_reply_to(request, body),
    )
    return _json(answer, 201)


async def _reaction(request: web.Request) -> web.StreamResponse:
    """``PUT /api/reaction``: 200 with the engine's answer (WEBJS: empty); a bare id: 500."""
    body = await _body(request)
    double, session = await _talk_session(request, body, "reaction")
    message_id, reaction = body.get("messageId"), body.get("reaction")
    if not isinstance(message_id, str) or not ids.is_serialized(message_id):
        raise _engine_error(request, errors.BAD_MESSAGE_ID)
    if not isinstance(reaction, str):
        raise _engine_error(request, "reaction must be a string", "TypeError")
    answer = double.rest_react(session, message_id=message_id, reaction=reaction)
    return web.Response(status=200) if answer is None else _json(answer, 200)


async def _send_seen(request: web.Request) -> web.StreamResponse:
    """``POST /api/sendSeen``: given ids (201, empty) or the chat's unread ones (``{ids}``)."""
    body = await _body(request)
    double, session = await _talk_session(request, body, "sendSeen")
    chat_id = _chat_id(request, body)
    message_ids = body.get("messageIds")
    wanted: list[str] = list(message_ids) if isinstance(message_ids, list) else []
    if isinstance(body.get("messageId"), str) and body["messageId"]:
        wanted.append(body["messageId"])
    if not wanted:
        if not double.profile.history_available(session.config):
            raise errors.store_disabled()  # NOWEB reads the chat through its store
        answer = double.rest_send_seen(session, chat_id=chat_id, message_ids=None)
        return _json(answer, 201)
    if not all(ids.is_serialized(item) for item in wanted):
        raise _engine_error(request, errors.BAD_MESSAGE_ID)
    double.rest_send_seen(session, chat_id=chat_id, message_ids=[str(i) for i in wanted])
    return web.Response(status=201)


async def _typing(request: web.Request) -> web.StreamResponse:
    """``POST /api/startTyping`` / ``stopTyping``: 201 ``{"result": true}``."""
    call = request.path.removeprefix("/api/")
    body = await _body(request)
    double, session = await _talk_session(request, body, call)
    chat_id = _chat_id(request, body)
    double.rest_typing(session, chat_id=chat_id, on=call == "startTyping")
    return _json({"result": True}, 201)


async def _send_media(request: web.Request) -> web.StreamResponse:
    """``POST /api/send{Image,File,Voice,Video}``: Core 422 (video 501), Plus sends (201)."""
    kind = request.path.removeprefix("/api/send").lower()
    body = await _body(request)
    double, name, chat_id = _send_target(request, body)
    file = parse_file(body.get("file"), kind)
    caption = body.get("caption")
    if caption is not None and not isinstance(caption, str):
        raise errors.bad_request("caption must be a string")
    convert = body.get("convert")
    if kind in CONVERTED_SENDS and not isinstance(convert, bool):
        raise errors.bad_request("convert must be a boolean value")
    if convert is not None and not isinstance(convert, bool):
        raise errors.bad_request("convert must be a boolean value")
    reply_to = _reply_to(request, body)
    session = await _sending_session(double, request, name)
    if not double.profile.media_sending:
        if kind == "video" and double.profile.core_video_not_implemented:
            raise errors.not_implemented(double.engine)
        raise errors.plus_only(double.engine)
    if (failure := double.send_faults.take_failure()) is not None:
        raise failure
    answer = await double.rest_send_media(
        session,
        kind=kind,
        chat_id=chat_id,
        caption=caption or "",
        key=None,
        file=file,
        convert=convert,
        reply_to=reply_to,
    )
    return _sent(double, answer)


async def _overview(request: web.Request) -> web.StreamResponse:
    limit, offset, chat_ids = queries.overview_query(request.query)
    return await _overview_answer(request, limit, offset, chat_ids, 200)


async def _overview_post(request: web.Request) -> web.StreamResponse:
    limit, offset, chat_ids = queries.overview_body(await _body(request))
    return await _overview_answer(request, limit, offset, chat_ids, 201)


async def _overview_answer(
    request: web.Request, limit: int, offset: int, chat_ids: list[str] | None, status: int
) -> web.StreamResponse:
    double = _double(request)
    session = await _with_history(double, request.match_info["session"])
    history = session.history
    chats = history.newest_first(chat_ids)[offset : offset + limit]
    return _json(
        [
            payloads.chat_summary(chat, history.names.get(chat), history.last_message(chat))
            for chat in chats
        ],
        status,
    )


async def _chat_messages(request: web.Request) -> web.StreamResponse:
    """``GET .../messages``: ``downloadMedia=false`` (default true) leaves ``media`` null."""
    query = queries.message_query(request.query)
    download = queries.download_media(request.query)
    double = _double(request)
    session = await _with_history(double, request.match_info["session"])
    page = session.history.page(request.match_info["chatId"], query)
    return _json(page if download else [_without_media(message) for message in page])


async def _chat_message(request: web.Request) -> web.StreamResponse:
    """``GET .../messages/{messageId}`` (``downloadMedia`` default true); 404 when unknown.

    Looked up as the engines do: GOWS by the bare id alone (``GetMessageById``), NOWEB in
    its store by chat and bare id, WEBJS by the serialized id (``getMessageById``).
    """
    download = queries.download_media(request.query)
    double = _double(request)
    session = await _with_history(double, request.match_info["session"])
    message = _find_message(
        double, session, request.match_info["chatId"], request.match_info["messageId"]
    )
    if message is None:
        raise errors.message_not_found()
    return _json(message if download else _without_media(message))


def _find_message(
    double: BridgeDouble, session: DoubleSession, chat_id: str, message_id: str
) -> JsonDict | None:
    engine = double.engine
    bare = ids.bare_message_id(message_id)
    if engine == "NOWEB":
        chats = [session.history.get(chat_id, [])]
    else:
        chats = list(session.history.values())
    for messages in chats:
        for message in reversed(messages):
            found = str(message.get("id"))
            if (engine == "WEBJS" and found == message_id) or (
                engine != "WEBJS" and ids.bare_message_id(found) == bare
            ):
                return message
    return None


def _without_media(message: JsonDict) -> JsonDict:
    """A message as read with ``downloadMedia=false``: ``media`` null (``hasMedia`` kept)."""
    if not message.get("hasMedia"):
        return message
    return dict(message, media=None, mediaUrl=None)


async def _file(request: web.Request) -> web.StreamResponse:
    """``GET /api/files/{session}/{file}``: a file the bridge kept (any valid key); else 404."""
    double = _double(request)
    name, file_name = request.match_info["file_session"], request.match_info["file"]
    session = double.sessions.get(name)
    stored = session.files.get(file_name) if session is not None else None
    if stored is None:
        raise errors.file_not_found()
    return web.Response(
        body=stored.data,
        headers={
            "Content-Type": served_type(file_name),
            "Accept-Ranges": "bytes",
            "Cache-Control": "public, max-age=0",
        },
    )


async def _with_history(double: BridgeDouble, name: str) -> DoubleSession:
    """The WORKING session whose store answers; NOWEB without a store: 400."""
    session = await _running_in(double, name, SessionStatus.WORKING)
    if not double.profile.history_available(session.config):
        raise errors.store_disabled()
    return session


async def _phone_number_by_lid(request: web.Request) -> web.StreamResponse:
    """``GET /api/{s}/lids/{lid}``: 422 unless an ``@lid`` (a bare number gets the suffix)."""
    double = _double(request)
    session = await _running_in(double, request.match_info["session"], SessionStatus.WORKING)
    lid = request.match_info["lid"]
    lid = lid if "@" in lid else lid + "@lid"
    if not lid.endswith("@lid"):
        raise errors.invalid_lid()
    if not double.profile.history_available(session.config):
        raise errors.store_disabled()
    return _json(payloads.lid_to_phone_number(lid, session.lids.get(lid)))


async def _lid_by_phone_number(request: web.Request) -> web.StreamResponse:
    """``GET /api/{s}/lids/pn/{pn}``: an ``@lid`` comes back as it is, with ``pn`` null."""
    double = _double(request)
    session = await _running_in(double, request.match_info["session"], SessionStatus.WORKING)
    pn = request.match_info["phoneNumber"]
    if pn.endswith("@lid"):
        return _json({"lid": pn, "pn": None})
    if not double.profile.history_available(session.config):
        raise errors.store_disabled()
    pn = pn if "@" in pn else pn + "@c.us"
    lid = next((lid for lid, known in session.lids.items() if known == pn), None)
    return _json({"lid": lid, "pn": pn})


async def _fault(request: web.Request) -> web.StreamResponse:
    body = await _body(request) if request.can_read_body else {}
    status, answer = await handle_fault(_double(request), request.match_info["fault"], body)
    return _json(answer, status)


async def _websocket(request: web.Request) -> web.StreamResponse:
    """``GET /ws``: upgrade first, then 1008 for a wrong key; stream events until closed."""
    double = _double(request)
    query = request.query
    session = query.get("session") or ALL
    record = double.log.add("WS", request.path, query.get("session"))
    key = next((value for name, value in query.items() if name.lower() == "x-api-key"), None)
    access = double.keys.check(key, session)
    allowed = access is Access.ALLOWED
    # No heartbeat on a socket about to be refused: aiohttp re-arms it on the close reply.
    heartbeat = (double.server_heartbeat or None) if allowed else None
    ws = web.WebSocketResponse(heartbeat=heartbeat, timeout=CLOSE_TIMEOUT)
    await ws.prepare(request)
    record.status = 101
    if double.shutting_down:  # the WebSocket server is gone: dropped without a close frame
        if request.transport is not None:
            request.transport.abort()
        return ws
    if not allowed:
        await ws.close(code=1008, message=access.value.encode())
        return ws
    client = StreamClient(
        ws, request.transport, session=session, events=parse_events(query.getall("events", []))
    )
    double.hub.add(client)
    try:
        async for _message in ws:
            pass  # the bridge ignores what clients send
    finally:
        double.hub.discard(client)
        await client.stop_writer()
    return ws
