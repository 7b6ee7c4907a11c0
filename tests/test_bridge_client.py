"""The bridge client on its own: error taxonomy and lenient models (no Home Assistant)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp
from aiohttp import web
import pytest

from bridge_double import BridgeDouble, SessionStatus as DoubleStatus
from custom_components.whatsapp_gateway.bridge import (
    ChatSummary,
    Me,
    ServerVersion,
    SessionInfo,
    SessionStatus,
    StreamEvent,
    WahaAuthError,
    WahaClient,
    WahaConnectionError,
    WahaResponseError,
    WahaSessionNotFoundError,
    WahaSessionStatusError,
    WaMessage,
)

from .conftest import API_KEY

pytestmark = pytest.mark.usefixtures("socket_enabled")

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def serve(handler: Handler) -> tuple[web.AppRunner, str]:
    """A one-route server on 127.0.0.1 answering every path with `handler`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)  # a bridge logs its own URLs, keys and all
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_rest_calls_against_the_double(
    http: aiohttp.ClientSession, bridge: BridgeDouble
) -> None:
    client = WahaClient(http, bridge.url + "/", API_KEY)
    await client.ping()
    version = await client.version()
    assert (version.version, version.engine) == ("2026.7.1", "GOWS")
    info = await client.get_session("default")
    assert info.status is SessionStatus.WORKING
    assert info.me is not None
    me = await client.get_me("default")
    assert me is not None
    assert me.id == info.me.id
    await client.set_presence("default", online=False)
    bridge.add_session("cold", status=DoubleStatus.STOPPED)
    started = await client.start_session("cold")
    assert started.status is SessionStatus.STARTING
    assert await client.get_me("cold") is None


async def test_error_taxonomy(http: aiohttp.ClientSession, bridge: BridgeDouble) -> None:
    wrong = WahaClient(http, bridge.url, "wrong-key")
    with pytest.raises(WahaAuthError) as auth:
        await wrong.version()
    assert "wrong-key" not in str(auth.value)
    client = WahaClient(http, bridge.url, API_KEY)
    with pytest.raises(WahaSessionNotFoundError):
        await client.get_session("missing")
    bridge.add_session("booting", status=DoubleStatus.STARTING)
    with pytest.raises(WahaSessionStatusError) as status:
        await client.set_presence("booting", online=True)
    assert status.value.status == "STARTING"
    assert status.value.expected == ("WORKING",)
    bridge.add_scoped_key("scoped-key", sessions={"booting"})
    with pytest.raises(WahaAuthError) as forbidden:
        await WahaClient(http, bridge.url, "scoped-key").get_session("default")
    assert forbidden.value.forbidden
    await bridge.stop()
    with pytest.raises(WahaConnectionError) as unreachable:
        await client.version()
    assert API_KEY not in str(unreachable.value)
    with pytest.raises(WahaConnectionError):
        await client.connect_stream("default", heartbeat=30)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b"<html>not json</html>", WahaResponseError),
        (500, b'{"message": "boom"}', WahaResponseError),
        (422, b"not json at all", WahaResponseError),
        (200, b"[]", WahaResponseError),
        (200, b'{"status": "WORKING"}', WahaResponseError),
    ],
)
async def test_bad_answers_are_response_errors(
    http: aiohttp.ClientSession, status: int, body: bytes, error: type[Exception]
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    runner, url = await serve(handler)
    try:
        with pytest.raises(error) as raised:
            await WahaClient(http, url, API_KEY).get_session("default")
        if status == 500:
            assert raised.value.status == 500  # type: ignore[attr-defined]
    finally:
        await runner.cleanup()


async def test_stream_handshake_refusals(http: aiohttp.ClientSession) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=int(request.query.get("session", "500")))

    runner, url = await serve(handler)
    try:
        client = WahaClient(http, url, API_KEY)
        with pytest.raises(WahaAuthError):
            await client.connect_stream("401", heartbeat=30)
        with pytest.raises(WahaConnectionError) as refused:
            await client.connect_stream("502", heartbeat=30)
        assert API_KEY not in str(refused.value)
    finally:
        await runner.cleanup()


async def test_empty_answer_is_none(http: aiohttp.ClientSession) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=201)

    runner, url = await serve(handler)
    try:
        await WahaClient(http, url, API_KEY).set_presence("default", online=True)
    finally:
        await runner.cleanup()


def test_models_are_lenient() -> None:
    assert SessionStatus.parse("NEW_THING") is SessionStatus.UNKNOWN
    assert SessionStatus.parse(None) is SessionStatus.UNKNOWN
    assert Me.parse(None) is None
    assert Me.parse({"id": ""}) is None
    assert Me.parse({"id": "1@c.us", "pushName": 5}) == Me(id="1@c.us", push_name=None)
    info = SessionInfo.parse(
        {"name": "s", "status": "WORKING", "me": None, "engine": {"engine": "NOWEB"}, "x": 1}
    )
    assert info == SessionInfo(
        name="s", status=SessionStatus.WORKING, raw_status="WORKING", engine="NOWEB"
    )
    with pytest.raises(WahaResponseError):
        ServerVersion.parse({"engine": "GOWS"})
    event = StreamEvent.parse(
        {"event": "message", "timestamp": True, "payload": [], "me": {"id": "1@c.us"}}
    )
    assert event.timestamp_ms is None
    assert event.payload == {}
    assert event.session_status is None
    assert event.me == Me(id="1@c.us")
    with pytest.raises(WahaResponseError):
        StreamEvent.parse({"payload": {}})


async def test_message_calls_against_the_double(
    http: aiohttp.ClientSession, bridge: BridgeDouble
) -> None:
    client = WahaClient(http, bridge.url, API_KEY)
    chat = "4917612345678@c.us"
    first = await bridge.emit_message("default", chat_id=chat, body="one", timestamp=1000)
    await bridge.emit_message("default", chat_id=chat, body="two", timestamp=2000)
    [summary] = await client.chats_overview("default", limit=10)
    assert summary.id == chat
    assert summary.last_message is not None
    assert summary.last_message.body == "two"
    page = await client.chat_messages("default", chat, since=1500, limit=10)
    assert [m.body for m in page] == ["two"]
    everything = await client.chat_messages("default", chat, since=None, limit=10, from_me=None)
    assert [m.id for m in everything] == [first["id"], everything[1].id]
    key = await client.new_message_id("default")
    sent_id = await client.send_text("default", chat, "reply", message_id=key)
    assert key in sent_id
    mine = await client.chat_messages(
        "default", chat, since=None, limit=10, from_me=True, newest_first=True
    )
    assert [m.id for m in mine] == [sent_id]
    assert mine[0].from_me
    assert await client.lid_to_phone("default", "999@lid") is None
    bridge.add_lid("default", "123@lid", chat)
    assert await client.lid_to_phone("default", "123@lid") == chat


async def test_odd_message_answers(http: aiohttp.ClientSession) -> None:
    answers: dict[str, object] = {
        "/api/default/new-message-id": {"nope": 1},
        "/api/sendText": {"key": {"id": "NESTED"}},
        "/api/default/chats/overview": {"not": "a list"},
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(answers[request.path])

    runner, url = await serve(handler)
    try:
        client = WahaClient(http, url, API_KEY)
        with pytest.raises(WahaResponseError):
            await client.new_message_id("default")
        assert await client.send_text("default", "1@c.us", "x") == "NESTED"
        answers["/api/sendText"] = {"_data": {"id": {"id": "DEEP"}}}
        assert await client.send_text("default", "1@c.us", "x") == "DEEP"
        answers["/api/sendText"] = {"id": {"_serialized": "SERIAL"}}
        assert await client.send_text("default", "1@c.us", "x") == "SERIAL"
        answers["/api/sendText"] = []
        assert await client.send_text("default", "1@c.us", "x", message_id="MINE") == "MINE"
        with pytest.raises(WahaResponseError):
            await client.chats_overview("default", limit=5)
    finally:
        await runner.cleanup()


def test_message_models_are_lenient() -> None:
    base = {"id": "false_1@c.us_A", "from": "1@c.us", "timestamp": 1_700_000_000}
    message = WaMessage.parse(base)
    assert (message.chat_id, message.sender, message.is_group) == ("1@c.us", "1@c.us", False)
    assert WaMessage.parse({**base, "timestamp": 1_700_000_000_123}).timestamp == 1_700_000_000.123
    for bad in (None, True, float("nan"), -5, "soon"):
        assert WaMessage.parse({**base, "timestamp": bad}).timestamp is None
    nested = WaMessage.parse({**base, "id": {"_serialized": "S", "id": "x"}})
    assert nested.id == "S"
    assert WaMessage.parse({**base, "id": {"id": "X"}}).id == "X"
    own = WaMessage.parse({**base, "fromMe": True, "to": "2@c.us"})
    assert (own.from_me, own.chat_id) == (True, "2@c.us")
    group = WaMessage.parse(
        {**base, "from": "5@g.us", "participant": "7@lid", "_data": {"Info": {"PushName": "P"}}}
    )
    assert (group.sender, group.is_group, group.push_name) == ("7@lid", True, "P")
    assert WaMessage.parse({**base, "_data": {"notifyName": "N"}}).push_name == "N"
    assert WaMessage.parse({**base, "_data": {"pushName": "Q"}}).push_name == "Q"
    assert WaMessage.parse({**base, "_data": "junk"}).push_name is None
    for broken in ({**base, "id": None}, {**base, "id": {}}, {"id": "x"}, []):
        with pytest.raises(WahaResponseError):
            WaMessage.parse(broken)
    chat = ChatSummary.parse({"id": {"_serialized": "1@c.us"}, "lastMessage": {"junk": 1}})
    assert (chat.id, chat.last_message) == ("1@c.us", None)
    with pytest.raises(WahaResponseError):
        ChatSummary.parse({"id": 5})


def test_permanent_errors() -> None:
    assert WahaResponseError("x", status=400).permanent
    assert not WahaResponseError("x", status=429).permanent
    assert not WahaResponseError("x", status=500).permanent
    assert not WahaResponseError("x").permanent


async def test_pairing_calls_against_the_double(
    http: aiohttp.ClientSession, bridge: BridgeDouble
) -> None:
    client = WahaClient(http, bridge.url, API_KEY)
    created = await client.create_session("fresh")
    assert created.name == "fresh"
    await bridge.start_pairing("fresh")
    assert await client.pairing_qr("fresh") == bridge.session("fresh").qr_value
    assert await client.pairing_qr_image("fresh") == bridge.qr_png("fresh")
    code = await client.request_pairing_code("fresh", "491511234567")
    assert code == bridge.session("fresh").pairing_code
    with pytest.raises(WahaResponseError) as exists:
        await client.create_session("fresh")
    assert exists.value.status == 422
    with pytest.raises(WahaSessionStatusError):
        await client.pairing_qr("default")


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/api/default/auth/qr", {"value": ""}),
        ("/api/default/auth/qr", ["not", "an", "object"]),
        ("/api/default/auth/request-code", {"code": None}),
    ],
)
async def test_odd_pairing_answers(http: aiohttp.ClientSession, path: str, answer: object) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(answer)

    runner, url = await serve(handler)
    try:
        client = WahaClient(http, url, API_KEY)
        call = (
            client.pairing_qr("default")
            if path.endswith("qr")
            else client.request_pairing_code("default", "491511234567")
        )
        with pytest.raises(WahaResponseError):
            await call
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("answer", [{"mimetype": "image/png"}, {"data": "not base64!"}])
async def test_odd_qr_images(http: aiohttp.ClientSession, answer: object) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(answer)

    runner, url = await serve(handler)
    try:
        with pytest.raises(WahaResponseError):
            await WahaClient(http, url, API_KEY).pairing_qr_image("default")
    finally:
        await runner.cleanup()
