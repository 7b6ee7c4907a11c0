"""Talking back on the double, per profile: replies, polls, reactions, read marks, typing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus
from tests.bridge_double.support import KEY, ME, event, nothing_arrives

pytestmark = pytest.mark.usefixtures("socket_enabled")

PROFILES = [
    "GOWS-2026.2.1-CORE",
    "GOWS-2026.7.1-PLUS",
    "NOWEB-2026.5.1-CORE",
    "NOWEB-2026.5.1-CORE-nostore",
    "WEBJS-2026.7.1-CORE",
]
CHAT = "4917612345678@c.us"
GROUP = "120363000000000001@g.us"
BOB = "4917000000001@c.us"
LID = "123456789012345@lid"
HEADERS = {"X-Api-Key": KEY}


@pytest.fixture(params=PROFILES)
async def bridge(request: pytest.FixtureRequest) -> AsyncIterator[BridgeDouble]:
    double = BridgeDouble(api_key=KEY, profile=BridgeProfile.parse(request.param))
    double.add_session("default", status=SessionStatus.WORKING, paired=True, me_id=ME)
    await double.start()
    try:
        yield double
    finally:
        await double.stop()


@pytest.fixture
async def ws(
    bridge: BridgeDouble, http: aiohttp.ClientSession
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    events = ["message.any", "message", "message.reaction", "poll.vote", "poll.vote.failed"]
    socket = await http.ws_connect(
        bridge.url + "/ws",
        params=[("x-api-key", KEY), ("session", "default")] + [("events", e) for e in events],
    )
    async with asyncio.timeout(2):
        await bridge.wait_for_streams(1)
    try:
        yield socket
    finally:
        await socket.close()


async def call(
    http: aiohttp.ClientSession, bridge: BridgeDouble, method: str, route: str, body: Any
) -> tuple[int, Any]:
    async with http.request(method, bridge.url + route, json=body, headers=HEADERS) as resp:
        text = await resp.text()
        return resp.status, (await resp.json()) if text else None


async def test_poll_is_sent_stored_and_answered_per_engine(
    bridge: BridgeDouble, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    body = {
        "session": "default",
        "chatId": CHAT,
        "poll": {"name": "Lights?", "options": ["On", "Off"], "multipleAnswers": False},
    }
    status, answer = await call(http, bridge, "POST", "/api/sendPoll", body)
    assert status == 201
    stored = bridge.session("default").history[CHAT][-1]
    engine = bridge.engine
    if engine == "GOWS":
        assert answer["id"] == stored["id"]
        assert set(answer) == {"id", "_data"}
    elif engine == "NOWEB":
        assert answer["id"] == stored["id"]
        assert answer["fromMe"] is True
        assert answer["_data"]["key"]["id"] == stored["id"].split("_")[2]
    else:
        assert answer["id"]["_serialized"] == stored["id"]
        assert answer["type"] == "poll_creation"
    assert stored["fromMe"] is True
    assert stored["body"] is None
    own = await event(ws)
    assert (own["event"], own["payload"]["id"]) == ("message.any", stored["id"])
    polls = bridge.talk_state()["polls"]
    assert [(p["question"], p["options"], p["multiple"]) for p in polls] == [
        ("Lights?", ["On", "Off"], False)
    ]


async def test_poll_with_id_and_reply(bridge: BridgeDouble, http: aiohttp.ClientSession) -> None:
    incoming = await bridge.emit_message("default", chat_id=CHAT, body="lights?")
    body = {
        "session": "default",
        "chatId": CHAT,
        "id": "3EB0AAAAAAAAAAAAAAAA",
        "reply_to": incoming["id"],
        "poll": {"name": "Q", "options": ["A", "B", "C"], "multipleAnswers": True},
    }
    status, _answer = await call(http, bridge, "POST", "/api/sendPoll", body)
    assert status == 201
    stored = bridge.session("default").history[CHAT][-1]
    honoured = bridge.profile.honours_send_id
    assert stored["id"].endswith("3EB0AAAAAAAAAAAAAAAA") is honoured
    assert stored["replyTo"]["id"] == incoming["id"].split("_")[2]
    assert stored["replyTo"]["body"] == "lights?"
    assert bridge.talk_state()["polls"][0]["reply_to"] == incoming["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"chatId": CHAT},
        {"chatId": CHAT, "poll": {"name": "Q"}},
        {"chatId": CHAT, "poll": {"name": "Q", "options": [1, 2]}},
        {"poll": {"name": "Q", "options": ["a", "b"]}},
    ],
)
async def test_bad_polls_fail_inside_the_engine(
    bridge: BridgeDouble, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    request = {"session": "default"} | body
    status, answer = await call(http, bridge, "POST", "/api/sendPoll", request)
    assert status == 500
    assert answer["statusCode"] == 500
    assert "exception" in answer
    assert bridge.talk_state()["polls"] == []


async def test_reply_to_on_send_text(bridge: BridgeDouble, http: aiohttp.ClientSession) -> None:
    incoming = await bridge.emit_message("default", chat_id=GROUP, body="hi", participant=BOB)
    body = {"session": "default", "chatId": GROUP, "text": "hello", "reply_to": incoming["id"]}
    status, _ = await call(http, bridge, "POST", "/api/sendText", body)
    assert status == 201
    stored = bridge.session("default").history[GROUP][-1]
    assert stored["replyTo"] == {
        "id": incoming["id"].split("_")[2],
        "participant": BOB,
        "body": "hi",
        "_data": {},
    }
    assert bridge.session("default").sent[-1]["reply_to"] == incoming["id"]


async def test_reaction_is_recorded_and_answered_per_engine(
    bridge: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    incoming = await bridge.emit_message("default", chat_id=CHAT, body="hi")
    body = {"session": "default", "messageId": incoming["id"], "reaction": "👍"}
    status, answer = await call(http, bridge, "PUT", "/api/reaction", body)
    assert status == 200
    if bridge.engine == "GOWS":
        assert answer["id"].startswith(f"true_{CHAT}_")
    elif bridge.engine == "NOWEB":
        assert answer["message"]["reactionMessage"]["text"] == "👍"
    else:
        assert answer is None
    body["reaction"] = ""
    assert (await call(http, bridge, "PUT", "/api/reaction", body))[0] == 200
    assert bridge.talk_state()["reactions"] == [
        {"message_id": incoming["id"], "chat_id": CHAT, "reaction": "👍"},
        {"message_id": incoming["id"], "chat_id": CHAT, "reaction": ""},
    ]
    bare = {"session": "default", "messageId": "3EB0ABC", "reaction": "👍"}
    status, answer = await call(http, bridge, "PUT", "/api/reaction", bare)
    assert status == 500
    assert "Message id be in format" in answer["exception"]["message"]


async def test_send_seen_with_ids_and_without(
    bridge: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    first = await bridge.emit_message("default", chat_id=CHAT, body="1")
    second = await bridge.emit_message("default", chat_id=CHAT, body="2")
    body = {"session": "default", "chatId": CHAT, "messageIds": [first["id"]]}
    status, answer = await call(http, bridge, "POST", "/api/sendSeen", body)
    assert (status, answer) == (201, None)
    assert bridge.talk_state()["seen"] == [{"chat_id": CHAT, "message_ids": [first["id"]]}]
    assert first["ackName"] == "READ"
    status, answer = await call(
        http, bridge, "POST", "/api/sendSeen", {"session": "default", "chatId": CHAT}
    )
    if not bridge.profile.history_available(bridge.session("default").config):
        assert status == 400
        assert answer["message"].startswith("Enable NOWEB store")
        return
    assert status == 201
    if bridge.engine == "WEBJS":
        assert answer == {"ids": None}
    else:
        assert answer == {"ids": [second["id"]]}
    assert second["ackName"] == "READ"
    bad = {"session": "default", "chatId": CHAT, "messageIds": ["3EB0ABC"]}
    assert (await call(http, bridge, "POST", "/api/sendSeen", bad))[0] == 500


async def test_typing_on_and_off(bridge: BridgeDouble, http: aiohttp.ClientSession) -> None:
    body = {"session": "default", "chatId": CHAT}
    assert await call(http, bridge, "POST", "/api/startTyping", body) == (201, {"result": True})
    assert bridge.talk_state()["typing"] == {CHAT: True}
    assert await call(http, bridge, "POST", "/api/stopTyping", body) == (201, {"result": True})
    assert bridge.session("default").typing_log == [(CHAT, True), (CHAT, False)]


async def test_refused_calls_answer_501(bridge: BridgeDouble, http: aiohttp.ClientSession) -> None:
    bridge.refuse_calls(["sendPoll", "startTyping"])
    body = {"session": "default", "chatId": CHAT, "poll": {"name": "Q", "options": ["a", "b"]}}
    status, answer = await call(http, bridge, "POST", "/api/sendPoll", body)
    assert (status, answer["error"]) == (501, "Not Implemented")
    status, _ = await call(http, bridge, "POST", "/api/startTyping", body)
    assert status == 501
    assert (await call(http, bridge, "POST", "/api/stopTyping", body))[0] == 201
    bridge.refuse_calls()
    assert (await call(http, bridge, "POST", "/api/sendPoll", body))[0] == 201
    with pytest.raises(ValueError, match="unknown calls"):
        bridge.refuse_calls(["sendList"])


async def test_talk_calls_wait_for_the_session(
    bridge: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    bridge.status_wait_stopped = 0.05
    await bridge.set_status("default", SessionStatus.STOPPED)
    status, answer = await call(
        http, bridge, "POST", "/api/startTyping", {"session": "default", "chatId": CHAT}
    )
    assert (status, answer["status"]) == (422, "STOPPED")


async def test_contact_reacts(bridge: BridgeDouble, ws: aiohttp.ClientWebSocketResponse) -> None:
    mine = await bridge.send_from_phone("default", chat_id=GROUP, body="dinner?")
    await event(ws)  # the own message
    payload = await bridge.emit_reaction(
        "default", message_id=mine["id"], reaction="❤️", participant=BOB
    )
    got = await event(ws)
    assert got["event"] == "message.reaction"
    assert got["payload"] == payload
    assert payload["reaction"] == {"text": "❤️", "messageId": mine["id"]}
    if bridge.engine == "WEBJS":
        assert (payload["from"], payload["to"]) == (BOB, GROUP)
    else:
        assert payload["from"] == GROUP
    assert payload["participant"] == BOB
    await nothing_arrives(ws)  # never a message as well


async def test_contact_votes(
    bridge: BridgeDouble, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    body = {"session": "default", "chatId": CHAT, "poll": {"name": "Q", "options": ["A", "B"]}}
    await call(http, bridge, "POST", "/api/sendPoll", body)
    await event(ws)
    poll_id = bridge.talk_state()["polls"][0]["message_id"]
    payload = await bridge.emit_poll_vote("default", poll_id=poll_id, options=["B"])
    got = await event(ws)
    assert (got["event"], got["payload"]) == ("poll.vote", payload)
    assert payload is not None
    assert payload["poll"]["id"] == poll_id
    assert payload["vote"]["selectedOptions"] == ["B"]
    assert payload["vote"]["id"].split("_")[1] == CHAT
    failed = await bridge.emit_poll_vote("default", poll_id=poll_id, options=[], failed=True)
    if bridge.engine == "WEBJS":
        assert failed is None
        await nothing_arrives(ws)
        return
    got = await event(ws)
    assert (got["event"], got["payload"]) == ("poll.vote.failed", failed)
    assert failed is not None
    assert not failed["vote"]["selectedOptions"]


async def test_incoming_quote(bridge: BridgeDouble, ws: aiohttp.ClientWebSocketResponse) -> None:
    mine = await bridge.send_from_phone("default", chat_id=CHAT, body="question")
    await event(ws)
    await bridge.emit_message("default", chat_id=CHAT, body="answer", reply_to=mine["id"])
    got = [await event(ws) for _ in range(2)]
    assert [e["event"] for e in got] == ["message", "message.any"]
    assert got[0]["payload"]["replyTo"] == {
        "id": mine["id"].split("_")[2],
        "participant": ME,
        "body": "question",
        "_data": {},
    }


async def test_self_chat(bridge: BridgeDouble, ws: aiohttp.ClientWebSocketResponse) -> None:
    message = await bridge.write_in_self_chat("turn on the lights")
    got = await event(ws)
    assert (got["event"], got["payload"]) == ("message.any", message)
    assert message["fromMe"] is True
    assert message["from"] == ME
    assert bridge.session("default").history[ME][-1] is message
    await nothing_arrives(ws)
    bridge.set_me_lid("default", LID)
    me = bridge.session("default").me
    assert me is not None
    if bridge.profile.has_me_lid:
        assert me["lid"] == LID
        assert bridge.self_chat_id() == LID
        lid_message = await bridge.write_in_self_chat("again")
        assert lid_message["from"] == LID
    else:
        assert "lid" not in me
        assert bridge.self_chat_id() == ME
