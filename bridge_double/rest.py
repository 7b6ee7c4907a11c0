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

from . import errors, ids, payloads
from .auth import Access
from .control import handle_fault
from .model import DoubleSession, JsonDict, SessionStatus, Status
from .streams import ALL, CLOSE_TIMEOUT, StreamClient, parse_events

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from .server import BridgeDouble

DOUBLE: Final = web.AppKey["BridgeDouble"]("bridge_double")
WS_PATH: Final = "/ws"
CONTROL_PREFIX: Final = "/_double/"
PRESENCES: Final = frozenset({"offline", "online", "typing", "recording", "paused"})
CHAT_PRESENCES: Final = frozenset({"typing", "recording", "paused"})


def build_app(double: BridgeDouble) -> web.Application:
    """A fresh application for one listening period of ``double``."""
    app = web.Application(middlewares=[_log_and_errors, _authenticate])
    app[DOUBLE] = double
    app.router.add_get("/ping", _ping)
    app.router.add_get("/api/server/version", _version)
    app.router.add_get("/api/sessions", _list_sessions)
    app.router.add_post("/api/sessions", _create_session)
    app.router.add_get("/api/sessions/{session}", _get_session)
    app.router.add_post("/api/sessions/{session}/{action:start|stop|restart|logout}", _control)
    app.router.add_get("/api/sessions/{session}/me", _me)
    app.router.add_get("/api/{session}/auth/qr", _qr)
    app.router.add_post("/api/{session}/auth/request-code", _request_code)
    app.router.add_post("/api/{session}/presence", _presence)
    app.router.add_get(WS_PATH, _websocket)
    app.router.add_post(CONTROL_PREFIX + "faults/{fault}", _fault)
    return app


def _double(request: web.Request) -> BridgeDouble:
    return request.app[DOUBLE]


def request_key(request: web.Request) -> str | None:
    """The API key of a REST request: header, else query."""
    return request.headers.get("X-Api-Key") or request.query.get("x-api-key")


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
    try:
        response = await handler(request)
    except errors.ApiError as err:
        response = _json(err.body, err.status)
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


def _existing(double: BridgeDouble, name: str) -> DoubleSession:
    session = double.sessions.get(name)
    if session is None:
        raise errors.session_not_found()
    return session


async def _running_in(double: BridgeDouble, name: str, *expected: Status) -> DoubleSession:
    """The running session in one of ``expected``, waiting up to ``status_wait``; else 404/422."""
    deadline = time.monotonic() + double.status_wait
    while True:
        session = double.sessions.get(name)
        if session is None or not session.running:
            raise errors.session_not_running(name)
        if session.status in expected:
            return session
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.unexpected_status(name, session.status, expected)
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
            if (everything or session.running) and double.keys.visible(key, session.name)
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
    if name in double.sessions:
        raise errors.session_exists(name)
    answer = await double.rest_create(name, config, start=body.get("start", True) is not False)
    return _json(answer, 201)


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
    session = _existing(_double(request), request.match_info["session"])
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
    if "application/json" in request.headers.get("Accept", ""):
        data = base64.b64encode(payloads.QR_PNG).decode("ascii")
        return _json({"mimetype": "image/png", "data": data})
    return web.Response(body=payloads.QR_PNG, content_type="image/png")


async def _request_code(request: web.Request) -> web.StreamResponse:
    double = _double(request)
    body = await _body(request)
    if not isinstance(body.get("phoneNumber"), str) or not body["phoneNumber"]:
        raise errors.bad_request("phoneNumber must be a string")
    session = await _running_in(double, request.match_info["session"], SessionStatus.SCAN_QR_CODE)
    session.pairing_code = ids.pairing_code()
    return _json({"code": session.pairing_code}, 201)


async def _presence(request: web.Request) -> web.StreamResponse:
    double = _double(request)
    body = await _body(request)
    presence = body.get("presence")
    if presence not in PRESENCES:
        raise errors.bad_request(f"presence must be one of: {', '.join(sorted(PRESENCES))}")
    if presence in CHAT_PRESENCES and not isinstance(body.get("chatId"), str):
        raise errors.bad_request("chatId is required for chat presences")
    session = await _running_in(double, request.match_info["session"], SessionStatus.WORKING)
    session.presence = str(presence)
    return web.Response(status=201)


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
    access = double.keys.check(query.get("x-api-key"), session)
    allowed = access is Access.ALLOWED
    # No heartbeat on a socket about to be refused: aiohttp re-arms it on the close reply.
    heartbeat = (double.server_heartbeat or None) if allowed else None
    ws = web.WebSocketResponse(heartbeat=heartbeat, timeout=CLOSE_TIMEOUT)
    await ws.prepare(request)
    record.status = 101
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
