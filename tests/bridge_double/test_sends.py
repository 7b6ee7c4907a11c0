"""Sending through the double: new-message-id, sendText, its request log and its faults."""

from __future__ import annotations

import asyncio
import logging
import re

import aiohttp
import pytest

from bridge_double import BridgeDouble, SessionStatus
from bridge_double.cli import fault_command
from tests.bridge_double.support import KEY, Connect, event, get, post

pytestmark = pytest.mark.usefixtures("socket_enabled")

CHAT = "4917612345678@c.us"
KEY_PATTERN = re.compile(r"^3EB0[0-9A-F]{16}$")


def send_url(double: BridgeDouble) -> str:
    return double.url + "/api/sendText"


def text(body: str, *, key: str | None = None, session: str = "default") -> dict[str, str]:
    request = {"session": session, "chatId": CHAT, "text": body}
    if key is not None:
        request["id"] = key
    return request


async def test_new_message_id(double: BridgeDouble, http: aiohttp.ClientSession) -> None:
    url = double.url + "/api/default/new-message-id"
    status, first = await get(http, url)
    assert status == 200
    assert set(first) == {"id"}
    assert KEY_PATTERN.match(first["id"])
    assert (await get(http, url))[1]["id"] != first["id"]
    assert double.count_requests(path_prefix="/api/default/new-message-id", session="default") == 2


async def test_send_text_with_and_without_id(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect()
    _, fresh = await get(http, double.url + "/api/default/new-message-id")
    status, answer = await post(http, send_url(double), text("hello", key=fresh["id"]))
    assert status == 201
    # GOWS (the default profile) answers {id, _data}; the WAMessage is in events and history
    assert answer == {"id": f"true_{CHAT}_{fresh['id']}", "_data": {"conversation": "hello"}}
    sent = double.session("default").history[CHAT][0]
    assert sent["id"] == answer["id"]
    assert (sent["fromMe"], sent["source"], sent["from"], sent["to"]) == (True, "api", CHAT, None)
    assert (sent["body"], sent["ack"], sent["ackName"]) == ("hello", 1, "SERVER")
    assert isinstance(sent["timestamp"], int)

    status, other_answer = await post(http, send_url(double), {"chatId": CHAT, "text": "no id"})
    assert status == 201  # the session defaults to "default"
    key = other_answer["id"].removeprefix(f"true_{CHAT}_")
    assert KEY_PATTERN.match(key)
    other = double.session("default").history[CHAT][1]

    # message.any only, never message; then the blip proves nothing else was queued.
    await double.blip("default")
    first, second, third = await event(ws), await event(ws), await event(ws)
    assert (first["event"], first["payload"]) == ("message.any", sent)
    assert (second["event"], second["payload"]["body"]) == ("message.any", "no id")
    assert third["event"] == "session.status"
    await double.end_blip("default")

    session = double.session("default")
    assert session.history[CHAT] == [sent, other]
    assert session.sent == [
        {
            "chat_id": CHAT,
            "text": "hello",
            "key": fresh["id"],
            "requested_key": fresh["id"],
            "message_id": sent["id"],
            "kind": "text",
        },
        {
            "chat_id": CHAT,
            "text": "no id",
            "key": key,
            "requested_key": None,
            "message_id": other["id"],
            "kind": "text",
        },
    ]
    assert double.count_sends("default", key=fresh["id"]) == 1
    assert double.count_sends(chat_id=CHAT) == 2
    _, own = await get(
        http,
        f"{double.url}/api/default/chats/{CHAT}/messages",
        params={"filter.fromMe": "true", "sortOrder": "asc"},
    )
    assert own == [sent, other]
    _, chats = await get(http, double.url + "/api/default/chats/overview")
    assert chats[0]["lastMessage"] == other
    assert double.count_requests(method="POST", path_prefix="/api/sendText") == 2
    assert double.count_requests(path_prefix="/api/sendText", session="default") == 2


async def test_send_text_same_id_twice_is_sent_twice(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    for _ in range(2):
        assert (await post(http, send_url(double), text("again", key="3EB0AAAA")))[0] == 201
    assert double.count_sends(key="3EB0AAAA") == 2
    assert len(double.session("default").history[CHAT]) == 2


async def test_send_text_errors(double: BridgeDouble, http: aiohttp.ClientSession) -> None:
    for bad in (
        {"session": "default", "text": "x"},
        {"session": "default", "chatId": CHAT},
        {"session": "default", "chatId": "", "text": "x"},
        {"session": "default", "chatId": CHAT, "text": 5},
        {"session": "default", "chatId": CHAT, "text": "x", "id": 7},
        {"session": 3, "chatId": CHAT, "text": "x"},
        ["not", "an", "object"],
    ):
        status, answer = await post(http, send_url(double), bad)
        assert (status, answer["statusCode"], answer["error"]) == (400, 400, "Bad Request"), bad
        assert isinstance(answer["message"], list)
    async with http.post(send_url(double), data=b"{", headers={"X-Api-Key": KEY}) as resp:
        assert resp.status == 400

    await double.blip("default")
    status, answer = await post(http, send_url(double), text("x"))
    assert status == 422
    assert answer["expected"] == ["WORKING"]
    await double.set_status("default", SessionStatus.STOPPED)
    status, answer = await post(http, send_url(double), text("x"))
    assert (status, answer["status"], answer["expected"]) == (422, "STOPPED", ["WORKING"])
    assert await post(http, send_url(double), text("x", session="ghost")) == (
        422,
        {"error": 'Session "ghost" does not exist', "session": "ghost"},
    )
    assert (await post(http, send_url(double), text("x"), key="wrong"))[0] == 401
    double.add_scoped_key("scoped", sessions=["other"])
    assert (await post(http, send_url(double), text("x"), key="scoped"))[0] == 403
    assert double.session("default").sent == []
    assert double.count_requests(path_prefix="/api/sendText", session="ghost") == 1


async def test_send_text_waits_for_working(http: aiohttp.ClientSession) -> None:
    bridge = BridgeDouble(api_key=KEY, status_wait=2.0)
    bridge.add_session("default", status=SessionStatus.STARTING, paired=True)
    await bridge.start()
    try:
        sending = asyncio.create_task(post(http, send_url(bridge), text("late")))
        for _ in range(10_000):  # let the socket traffic through until the request is in
            if bridge.count_requests(path_prefix="/api/sendText") or sending.done():
                break
            await asyncio.sleep(0)
        assert not sending.done()
        await bridge.set_status("default", SessionStatus.WORKING)
        status, _ = await sending
        assert status == 201
        assert bridge.count_sends() == 1
    finally:
        await bridge.stop()


# ---------------------------------------------------------------------- faults


async def test_drop_send_answers(
    double: BridgeDouble,
    http: aiohttp.ClientSession,
    connect: Connect,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws = await connect()
    caplog.set_level(logging.DEBUG)
    assert double.drop_send_answers() == 1
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http, send_url(double), text("lost answer", key="3EB0DROP"))
    assert double.count_sends(key="3EB0DROP") == 1  # performed all the same
    assert double.session("default").history[CHAT][0]["body"] == "lost answer"
    assert (await event(ws))["payload"]["id"] == f"true_{CHAT}_3EB0DROP"
    assert double.requests[-1].status == 0  # never answered

    status, sent = await post(http, send_url(double), text("retry", key="3EB0DROP"))
    assert (status, sent["id"]) == (201, f"true_{CHAT}_3EB0DROP")
    assert double.count_sends(key="3EB0DROP") == 2  # the double send is visible

    assert double.drop_send_answers(count=2) == 2
    for body in ("one", "two"):
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await post(http, send_url(double), text(body))
    assert (await post(http, send_url(double), text("three")))[0] == 201
    assert double.count_sends() == 5
    double.drop_send_answers(1)
    assert double.drop_send_answers(0) == 0  # disarmed
    assert (await post(http, send_url(double), text("four")))[0] == 201
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert problems == []


async def test_fail_sends(double: BridgeDouble, http: aiohttp.ClientSession) -> None:
    assert double.fail_sends(count=2) == 2
    for _ in range(2):
        status, answer = await post(http, send_url(double), text("nope", key="3EB0FAIL"))
        assert status == 500
        assert (answer["statusCode"], answer["error"]) == (500, "Internal Server Error")
    assert double.count_sends() == 0
    assert CHAT not in double.session("default").history
    assert (await post(http, send_url(double), text("ok", key="3EB0FAIL")))[0] == 201
    assert double.count_sends(key="3EB0FAIL") == 1

    double.fail_sends(status=400, message="invalid chat")
    status, answer = await post(http, send_url(double), text("rejected"))
    assert (status, answer) == (
        400,
        {"message": ["invalid chat"], "error": "Bad Request", "statusCode": 400},
    )
    double.fail_sends(status=503)
    assert (await post(http, send_url(double), text("busy")))[0] == 503
    double.fail_sends(1)
    double.drop_send_answers(1)
    assert (await post(http, send_url(double), text("refused first")))[0] == 500
    with pytest.raises(aiohttp.ServerDisconnectedError):  # then the armed drop
        await post(http, send_url(double), text("dropped"))
    await double.blip("default")
    double.fail_sends(1)
    assert (await post(http, send_url(double), text("not working")))[0] == 422
    await double.end_blip("default")
    assert (await post(http, send_url(double), text("armed still")))[0] == 500
    for bad in ({"status": 200}, {"status": 600}, {"count": -1}, {"count": True}):
        with pytest.raises(ValueError):  # noqa: PT011
            double.fail_sends(**bad)
    with pytest.raises(ValueError):  # noqa: PT011
        double.drop_send_answers(-1)


async def test_send_faults_through_control_and_cli(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    control = double.url + "/_double/faults/"
    status, answer = await post(http, control + "drop_send_answers", {"count": 1})
    assert (status, answer) == (200, {"fault": "drop_send_answers", "result": 1})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http, send_url(double), text("x", key="3EB0CTRL"))
    status, answer = await post(http, control + "count_sends", {"key": "3EB0CTRL"})
    assert (status, answer["result"]) == (200, 1)
    assert (await post(http, control + "fail_sends", {"status": 700}))[0] == 400
    base = ["--url", double.url, "--api-key", KEY]
    assert await fault_command([*base, "fail_sends", "count=1", "status=400"]) == 0
    assert (await post(http, send_url(double), text("x")))[0] == 400
    assert await fault_command([*base, "drop_send_answers"]) == 0
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http, send_url(double), text("y"))
    assert double.count_sends() == 2
