"""Chat history endpoints of the double: overview, chat messages, LIDs and history injection."""

from __future__ import annotations

import time

import aiohttp
import pytest

from bridge_double import BridgeDouble, SessionStatus
from bridge_double.chats import ChatHistory, MessageQuery
from tests.bridge_double.support import KEY, Connect, event, get, post

pytestmark = pytest.mark.usefixtures("socket_enabled")

ALICE = "4917612345678@c.us"
BOB = "4917000000001@c.us"
GROUP = "120363000000000001@g.us"
LID = "123456789012345@lid"


def overview_url(double: BridgeDouble, session: str = "default") -> str:
    return f"{double.url}/api/{session}/chats/overview"


def messages_url(double: BridgeDouble, chat_id: str, session: str = "default") -> str:
    encoded = chat_id.replace("@", "%40")
    return f"{double.url}/api/{session}/chats/{encoded}/messages"


async def bodies(
    http: aiohttp.ClientSession, double: BridgeDouble, chat_id: str, **params: str | int
) -> list[str]:
    status, answer = await get(
        http, messages_url(double, chat_id), params={k: str(v) for k, v in params.items()}
    )
    assert status == 200, answer
    return [message["body"] for message in answer]


# ------------------------------------------------------------------- overview


async def test_overview_order_paging_and_ids(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    await double.emit_message("default", chat_id=ALICE, body="a1", timestamp=100)
    await double.emit_message("default", chat_id=BOB, body="b1", timestamp=300, chat_name="Bob")
    await double.emit_message("default", chat_id=GROUP, body="g1", timestamp=200)
    await double.emit_message("default", chat_id=ALICE, body="a0", timestamp=50)  # older
    own = await double.emit_message(
        "default", chat_id=GROUP, body="mine", timestamp=300, from_me=True
    )
    double.set_chat_name("default", GROUP, "Family")

    status, chats = await get(http, overview_url(double))
    assert status == 200
    # GROUP and BOB both end at 300: the later arrival (GROUP's own message) comes first.
    assert [chat["id"] for chat in chats] == [GROUP, BOB, ALICE]
    assert chats[0] == {
        "id": GROUP,
        "name": "Family",
        "picture": None,
        "lastMessage": own,
        "_chat": {"id": GROUP},
    }
    assert chats[1]["name"] == "Bob"
    assert chats[2]["name"] is None
    assert chats[2]["lastMessage"]["body"] == "a1"  # the newest, not the latest arrival

    def ids(answer: list[dict[str, object]]) -> list[object]:
        return [chat["id"] for chat in answer]

    url = overview_url(double)
    assert ids((await get(http, url, params={"limit": "1"}))[1]) == [GROUP]
    assert ids((await get(http, url, params={"limit": "2", "offset": "1"}))[1]) == [BOB, ALICE]
    assert (await get(http, url, params={"offset": "3"}))[1] == []
    repeated = [("ids", ALICE), ("ids", GROUP), ("ids", "0@c.us")]
    assert ids((await get(http, url, params=repeated))[1]) == [GROUP, ALICE]
    assert ids((await get(http, url, params={"ids": f"{BOB},{ALICE}"}))[1]) == [BOB, ALICE]
    status, answer = await post(
        http, url, {"pagination": {"limit": 1, "offset": 1}, "filter": {"ids": [ALICE, BOB]}}
    )
    assert (status, ids(answer)) == (201, [ALICE])
    assert (await post(http, url, {"pagination": {}}))[0] == 201
    for bad in ({"limit": "x"}, {"offset": "-1"}, {"limit": "1.5"}):
        status, answer = await get(http, url, params=bad)
        assert (status, answer["statusCode"]) == (400, 400)
    assert (await post(http, url, {"filter": {"ids": "x"}}))[0] == 400


async def test_overview_default_limit_is_20(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    for index in range(25):
        double.inject_history("default", f"49{index:03d}@c.us", 1, start_timestamp=index)
    _, chats = await get(http, overview_url(double))
    assert [chat["id"] for chat in chats] == [f"49{index:03d}@c.us" for index in range(24, 4, -1)]
    assert (await get(http, overview_url(double), params={"limit": "0"}))[1] == []


async def test_chat_endpoints_need_a_working_session(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    await double.emit_message("default", chat_id=ALICE, body="hi")
    urls = [
        overview_url(double),
        messages_url(double, ALICE),
        f"{double.url}/api/default/new-message-id",
        f"{double.url}/api/default/lids/{LID.replace('@', '%40')}",
    ]
    await double.blip("default")
    for url in urls:
        status, body = await get(http, url)
        assert status == 422, url
        assert (body["status"], body["expected"]) == ("STARTING", ["WORKING"])
    await double.set_status("default", SessionStatus.STOPPED)
    for url in urls:  # WAHA's waitUntilStatus: a stopped session is 422 STOPPED, not 404
        status, body = await get(http, url)
        assert status == 422, url
        assert (body["status"], body["expected"]) == ("STOPPED", ["WORKING"])
    status, body = await get(http, overview_url(double, "ghost"))
    assert (status, body) == (422, {"error": 'Session "ghost" does not exist', "session": "ghost"})
    assert (await get(http, overview_url(double), key="wrong"))[0] == 401


# -------------------------------------------------------------- chat messages


async def test_chat_messages_sort_paging_and_filters(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    double.inject_history("default", ALICE, 12, start_timestamp=1000, step=10)  # m0..m11
    await double.emit_message("default", chat_id=ALICE, body="mine", timestamp=1055, from_me=True)
    await double.emit_message("default", chat_id=ALICE, body="same", timestamp=1050)
    history = double.session("default").history[ALICE]
    assert [m["timestamp"] for m in history] == sorted(m["timestamp"] for m in history)
    assert [m["body"] for m in history[4:8]] == ["m4", "m5", "same", "mine"]

    newest = await bodies(http, double, ALICE)  # limit 10, newest first
    assert newest == ["m11", "m10", "m9", "m8", "m7", "m6", "mine", "same", "m5", "m4"]
    assert await bodies(http, double, ALICE, sortOrder="asc", limit=3) == ["m0", "m1", "m2"]
    assert await bodies(http, double, ALICE, limit=2, offset=12) == ["m1", "m0"]
    assert await bodies(http, double, ALICE, offset=14) == []
    assert await bodies(http, double, ALICE, limit=0) == []
    gte = {"filter.timestamp.gte": 1050, "filter.timestamp.lte": 1070}  # inclusive
    assert await bodies(http, double, ALICE, **gte) == ["m7", "m6", "mine", "same", "m5"]
    assert await bodies(http, double, ALICE, sortOrder="asc", **gte) == [
        "m5",
        "same",
        "mine",
        "m6",
        "m7",
    ]
    assert await bodies(http, double, ALICE, **{"filter.timestamp.gte": 1110}) == ["m11"]
    assert await bodies(http, double, ALICE, **{"filter.timestamp.gte": 1111}) == []
    assert await bodies(http, double, ALICE, **{"filter.timestamp.lte": 999}) == []
    assert await bodies(http, double, ALICE, **{"filter.fromMe": "true"}) == ["mine"]
    incoming = await bodies(http, double, ALICE, limit=3, offset=5, **{"filter.fromMe": "false"})
    assert incoming == ["m6", "same", "m5"]
    assert len(await bodies(http, double, ALICE, limit=100, **{"filter.ack": "DEVICE"})) == 14
    assert await bodies(http, double, ALICE, **{"filter.ack": "READ"}) == []
    params = {"downloadMedia": "false", "sortBy": "messageTimestamp", "merge": "true"}
    assert len(await bodies(http, double, ALICE, **params)) == 10
    assert await bodies(http, double, "0@c.us") == []  # unknown chat

    for bad in (
        {"sortOrder": "up"},
        {"limit": "-1"},
        {"offset": "x"},
        {"filter.timestamp.gte": "soon"},
        {"filter.fromMe": "maybe"},
        {"downloadMedia": "nope"},
        {"filter.ack": "SEEN"},
        {"sortBy": "body"},
    ):
        status, answer = await get(http, messages_url(double, ALICE), params=bad)
        assert (status, answer["error"]) == (400, "Bad Request"), bad


async def test_chat_id_arrives_url_encoded(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    message = await double.emit_message("default", chat_id=LID, body="from a lid", timestamp=5)
    assert message["from"] == LID
    assert message["id"].startswith(f"false_{LID}_")
    _, answer = await get(http, f"{double.url}/api/default/chats/{LID}/messages")
    assert answer == [message]
    assert (await get(http, messages_url(double, LID)))[1] == [message]


async def test_emit_message_sender_and_id_overrides(double: BridgeDouble) -> None:
    message = await double.emit_message(
        "default", chat_id=ALICE, body="hi", sender=LID, message_id="false_x_1"
    )
    # GOWS (the default profile): no ``to`` on a direct chat's message
    assert (message["from"], message["to"], message["id"]) == (LID, None, "false_x_1")
    assert double.session("default").history[ALICE] == [message]


async def test_stream_false_is_history_only(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect()
    quiet = await double.emit_message("default", chat_id=ALICE, body="offline", stream=False)
    await double.emit_message("default", chat_id=ALICE, body="live")
    first = await event(ws)
    assert (first["event"], first["payload"]["body"]) == ("message", "live")
    assert double.session("default").history[ALICE][0] is quiet
    assert await bodies(http, double, ALICE, sortOrder="asc") == ["offline", "live"]


async def test_emit_while_the_bridge_is_down_or_stalled(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    await double.bridge_down()
    missed = await double.emit_message("default", chat_id=BOB, body="while down", timestamp=10)
    await double.bridge_up()
    await double.set_status("default", SessionStatus.WORKING)
    ws = await connect()
    double.stall_stream("default")
    stalled = await double.emit_message("default", chat_id=BOB, body="stalled", timestamp=11)
    double.stall_stream("default", stalled=False)
    await double.blip("default")
    assert (await event(ws))["event"] == "session.status"  # nothing of the two messages
    await double.end_blip("default")
    _, answer = await get(http, messages_url(double, BOB), params={"sortOrder": "asc"})
    assert answer == [missed, stalled]
    _, chats = await get(http, overview_url(double))
    assert chats[0]["lastMessage"] == stalled


# ------------------------------------------------------------------ injection


async def test_inject_history_bulk_and_fast_pages(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect()
    started = time.perf_counter()
    batch = double.inject_history("default", ALICE, 100_000, start_timestamp=1_000_000)
    assert time.perf_counter() - started < 2.0
    assert len({message["id"] for message in batch}) == 100_000
    assert (batch[0]["body"], batch[0]["timestamp"]) == ("m0", 1_000_000)
    assert (batch[-1]["body"], batch[-1]["timestamp"]) == ("m99999", 1_099_999)
    assert batch[0]["id"].startswith(f"false_{ALICE}_3EB0")
    assert double.session("default").history[ALICE] is not batch

    queries = [
        {},
        {"sortOrder": "asc", "limit": "50"},
        {"filter.timestamp.gte": "1050000", "sortOrder": "asc", "limit": "100"},
        {"filter.timestamp.gte": "1099990", "filter.fromMe": "false"},
        {"offset": "99990", "limit": "100"},
    ]
    await get(http, messages_url(double, ALICE))  # warm the connection up
    for params in queries:
        fastest = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            status, _ = await get(http, messages_url(double, ALICE), params=params)
            fastest = min(fastest, time.perf_counter() - started)
            assert status == 200
        assert fastest < 0.05, (params, fastest)
    _, page = await get(http, messages_url(double, ALICE), params=queries[2])
    assert [m["body"] for m in page[:2]] == ["m50000", "m50001"]
    _, page = await get(http, messages_url(double, ALICE), params=queries[3])
    assert [m["body"] for m in page] == [f"m{index}" for index in range(99999, 99989, -1)]

    await double.emit_message("default", chat_id=ALICE, body="live", timestamp=2_000_000)
    assert (await event(ws))["payload"]["body"] == "live"  # the bulk was never streamed


async def test_inject_history_merges_older_and_equal_timestamps(double: BridgeDouble) -> None:
    double.inject_history("default", BOB, 3, start_timestamp=100, body_prefix="new")
    same = double.inject_history("default", BOB, 2, start_timestamp=50, step=0, from_me=True)
    assert [m["timestamp"] for m in same] == [50, 50]
    assert same[0]["id"].startswith(f"true_{BOB}_")
    assert same[0]["fromMe"] is True
    history = double.session("default").history
    assert [m["body"] for m in history[BOB]] == ["m0", "m1", "new0", "new1", "new2"]
    last = history.last_message(BOB)
    assert last is not None
    assert last["body"] == "new2"
    assert double.inject_history("default", BOB, 0, start_timestamp=1) == []
    with pytest.raises(ValueError, match="negative"):
        double.inject_history("default", BOB, -1, start_timestamp=1)


def test_history_written_from_outside_is_reindexed() -> None:
    history = ChatHistory()
    history.add("c", {"timestamp": 5, "body": "b"})
    history["c"].append({"timestamp": 1, "body": "a"})  # bypasses the index
    history.setdefault("d", []).append({"timestamp": 9, "body": "d"})
    assert [m["body"] for m in history.page("c", MessageQuery(descending=False))] == ["a", "b"]
    assert history.newest_first() == ["d", "c"]
    assert history.newest_first(["c", "nope"]) == ["c"]
    assert history.last_message("nope") is None
    history.set_name("c", "C")
    history.set_name("c", None)
    assert history.names == {}


# ----------------------------------------------------------------------- LIDs


async def test_lids(double: BridgeDouble, http: aiohttp.ClientSession) -> None:
    double.add_lid("default", LID, "4917612345678@c.us")
    double.add_lid("default", "42", "4915")  # suffixes added
    base = f"{double.url}/api/default/lids/"
    known = {"lid": LID, "pn": "4917612345678@c.us"}
    assert await get(http, base + LID.replace("@", "%40")) == (200, known)
    assert await get(http, base + LID) == (200, known)
    assert await get(http, base + "123456789012345") == (200, known)
    assert await get(http, base + "999%40lid") == (200, {"lid": "999@lid", "pn": None})
    assert (await get(http, base + "42%40lid"))[1] == {"lid": "42@lid", "pn": "4915@c.us"}
    assert await get(http, base + "pn/4917612345678%40c.us") == (200, known)
    assert await get(http, base + "pn/4917612345678") == (200, known)
    assert await get(http, base + "pn/1%40c.us") == (200, {"lid": None, "pn": "1@c.us"})
    with pytest.raises(KeyError):
        double.add_lid("ghost", LID, "1@c.us")


# -------------------------------------------------------------- control, CLI


async def test_history_faults_through_the_control_endpoint(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    control = double.url + "/_double/faults/"
    args = {"name": "default", "chat_id": BOB, "count": 3, "start_timestamp": 7}
    status, answer = await post(http, control + "inject_history", args)
    assert status == 200
    assert answer["result"]["count"] == 3
    assert answer["result"]["last"] == double.session("default").history[BOB][-1]["id"]
    args = {"name": "default", "chat_id": BOB, "chat_name": "Bob"}
    assert (await post(http, control + "set_chat_name", args))[0] == 200
    args = {"name": "default", "lid": LID, "pn": BOB}
    assert (await post(http, control + "add_lid", args))[0] == 200
    args = {"name": "default", "chat_id": BOB, "body": "q", "stream": False}
    assert (await post(http, control + "emit_message", args))[0] == 200
    _, chats = await get(http, overview_url(double))
    assert (chats[0]["name"], chats[0]["lastMessage"]["body"]) == ("Bob", "q")
    assert double.session("default").lids == {LID: BOB}
    assert (await post(http, control + "inject_history", {"name": "default"}))[0] == 400
    assert (await get(http, overview_url(double), key=KEY))[0] == 200
