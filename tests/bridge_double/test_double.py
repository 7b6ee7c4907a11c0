"""The bridge double itself: REST, WebSocket, every fault 1-11, the request log and the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
import json
from pathlib import Path
import re
import signal
import ssl
import sys
import time

import aiohttp
import pytest

from bridge_double import BridgeDouble, SessionStatus
from bridge_double.cli import fault_command, parse_arguments
from tests.bridge_double.support import (
    KEY,
    ME,
    Connect,
    auth,
    event,
    get,
    nothing_arrives,
    post,
    statuses,
    until,
)
from tests.tls import self_signed

pytestmark = pytest.mark.usefixtures("socket_enabled")

EVENT_ID = re.compile(r"^evt_[0-9a-hjkmnp-tv-z]{26}$")
REPO = Path(__file__).parents[2]


# -------------------------------------------------------------------- basic REST


async def test_ping_version_and_auth(double: BridgeDouble, http: aiohttp.ClientSession) -> None:
    async with http.get(double.url + "/ping") as resp:
        assert (resp.status, await resp.json()) == (200, {"message": "pong"})
    status, body = await get(http, double.url + "/api/server/version")
    assert status == 200
    assert body == {
        "version": "2026.7.1",
        "engine": "GOWS",
        "tier": "CORE",
        "browser": None,
        "platform": "linux/x64",
        "worker": {"id": None},
    }
    unauthorized = {"message": "Unauthorized", "statusCode": 401}
    assert await get(http, double.url + "/api/server/version", key="wrong") == (401, unauthorized)
    async with http.get(double.url + "/api/sessions") as resp:
        assert (resp.status, await resp.json()) == (401, unauthorized)
    async with http.get(double.url + "/api/sessions", params={"x-api-key": KEY}) as resp:
        assert resp.status == 200
    status, body = await get(http, double.url + "/api/nothing/here")
    assert (status, body["message"]) == (404, "Cannot GET /api/nothing/here")
    async with http.delete(double.url + "/api/sessions/default", headers=auth()) as resp:
        assert resp.status == 404


async def test_sessions_list_get_create(double: BridgeDouble, http: aiohttp.ClientSession) -> None:
    double.add_session("idle")
    status, listed = await get(http, double.url + "/api/sessions")
    assert status == 200
    assert [item["name"] for item in listed] == ["default"]
    _, listed = await get(http, double.url + "/api/sessions", params={"all": "true"})
    assert [item["name"] for item in listed] == ["default", "idle"]
    status, info = await get(http, double.url + "/api/sessions/default")
    assert status == 200
    assert info["status"] == "WORKING"
    assert info["me"] == {"id": ME, "pushName": "Alice"}
    assert info["engine"] == {"engine": "GOWS"}
    assert isinstance(info["timestamps"]["activity"], int)
    assert await get(http, double.url + "/api/sessions/default/me") == (
        200,
        {"id": ME, "pushName": "Alice"},
    )
    status, body = await get(http, double.url + "/api/sessions/idle/me")  # SessionPipe: 404
    assert status == 404
    assert body["message"].startswith("We didn't find a session with name 'idle'.")

    create = double.url + "/api/sessions"
    status, created = await post(http, create, {"name": "new", "start": False})
    assert (status, created) == (201, {"name": "new", "status": "STOPPED", "config": {}})
    status, err = await post(http, double.url + "/api/sessions", {"name": "new"})
    assert status == 422
    assert err["statusCode"] == 422
    status, created = await post(http, create, {"name": "lazy", "config": {}})
    assert (status, created["status"]) == (201, "STOPPED")  # no "start": not started
    status, created = await post(http, create, {"name": "go", "config": {}, "start": True})
    assert (status, created["status"]) == (201, "STARTING")
    await until(lambda: double.session("go").status == SessionStatus.SCAN_QR_CODE)
    assert double.session("go").qr_value is not None


async def test_start_stop_restart_answers(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect(session="default")
    status, body = await post(http, double.url + "/api/sessions/default/stop")
    assert (status, body["status"]) == (201, "STOPPED")
    assert await statuses(ws, 1) == ["STOPPED"]
    assert (await post(http, double.url + "/api/sessions/default/stop"))[1]["status"] == "STOPPED"
    status, body = await post(http, double.url + "/api/sessions/default/start")
    assert (status, body["status"]) == (201, "STARTING")  # the REST answer still says STARTING
    assert await statuses(ws, 2) == ["STARTING", "WORKING"]
    already = {
        "message": "Session 'default' is already started.",
        "error": "Unprocessable Entity",
        "statusCode": 422,
    }
    assert await post(http, double.url + "/api/sessions/default/start") == (422, already)
    status, body = await post(http, double.url + "/api/sessions/default/restart")
    assert (status, body["status"]) == (201, "STARTING")
    assert await statuses(ws, 3) == ["STOPPED", "STARTING", "WORKING"]
    assert double.session("default").me == {"id": ME, "pushName": "Alice"}


async def test_transition_delay(http: aiohttp.ClientSession) -> None:
    bridge = BridgeDouble(api_key=KEY, transition_delay=0.15)
    bridge.add_session("default", status=SessionStatus.STOPPED, paired=True)
    await bridge.start()
    try:
        started = time.monotonic()
        status, body = await post(http, bridge.url + "/api/sessions/default/start")
        assert (status, body["status"]) == (201, "STARTING")
        await asyncio.sleep(0.05)
        assert bridge.session("default").status == SessionStatus.STARTING
        await until(lambda: bridge.session("default").status == SessionStatus.WORKING)
        assert time.monotonic() - started >= 0.15
    finally:
        await bridge.stop()


# ------------------------------------------------------------------ WS envelope


async def test_status_envelope(double: BridgeDouble, connect: Connect) -> None:
    ws = await connect()
    before = int(time.time() * 1000)
    await double.set_status("default", SessionStatus.STARTING)
    await double.set_status("default", SessionStatus.WORKING)
    await double.set_status("default", "SOMETHING_NEW")  # the open enum
    first = await event(ws)
    assert EVENT_ID.match(first["id"])
    assert first["timestamp"] >= before
    assert first["event"] == "session.status"
    assert first["session"] == "default"
    assert first["metadata"] == {}
    assert first["me"] == {"id": ME, "pushName": "Alice"}
    assert first["engine"] == "GOWS"
    assert first["environment"]["version"] == "2026.7.1"
    environment_fields = {"version", "engine", "tier", "browser", "platform", "worker"}
    assert set(first["environment"]) == environment_fields
    assert first["payload"]["name"] == "default"
    assert first["payload"]["status"] == "STARTING"
    assert [p["status"] for p in first["payload"]["statuses"]] == ["WORKING", "STARTING"]
    await event(ws)
    third = await event(ws)
    assert third["payload"]["status"] == "SOMETHING_NEW"
    assert [p["status"] for p in third["payload"]["statuses"]] == [
        "STARTING",
        "WORKING",
        "SOMETHING_NEW",
    ]
    assert first["id"] != third["id"]


async def test_event_and_session_filters(double: BridgeDouble, connect: Connect) -> None:
    double.add_session("other", status=SessionStatus.WORKING, paired=True)
    everything = await connect()
    repeated = await connect(events=["message", "session.status"])
    commas = await connect(events=["message,session.status"])
    engine = await connect(events=["engine.event"])
    only_other = await connect(session="other", events=["session.status"])
    assert double.stream_count() == 5
    assert double.stream_count("other") == 5
    assert double.stream_count("default") == 4

    await double.send_event("engine.event", {"raw": True})
    await double.send_event("presence.update", {"id": ME})
    await double.blip("default")
    await double.blip("other")
    assert (await event(everything))["event"] == "presence.update"  # not engine.event
    assert (await event(everything))["payload"]["name"] == "default"
    for ws in (repeated, commas):  # no presence.update, no engine.event
        assert (await event(ws))["payload"]["name"] == "default"
        assert (await event(ws))["payload"]["name"] == "other"
    assert (await event(engine))["event"] == "engine.event"
    await nothing_arrives(engine, 0.05)
    assert (await event(only_other))["payload"]["name"] == "other"


# -------------------------------------------------------------------- faults


async def test_fault1_boot_paired(double: BridgeDouble, connect: Connect) -> None:
    double.add_session("fresh", status=SessionStatus.STOPPED)
    ws = await connect(session="fresh")
    await double.boot_paired("fresh", me_id="4917000@c.us", push_name="Bob")
    first, second = await event(ws), await event(ws)
    assert first["payload"]["status"] == "STARTING"
    assert second["payload"]["status"] == "WORKING"
    assert second["me"] == {"id": "4917000@c.us", "pushName": "Bob"}
    session = double.session("fresh")
    assert (session.status, session.paired, session.me) == (
        SessionStatus.WORKING,
        True,
        {"id": "4917000@c.us", "pushName": "Bob"},
    )
    await double.boot_paired("default")  # from WORKING: STOPPED is emitted first
    default = await connect(session="default")
    await double.boot_paired("default")
    assert await statuses(default, 3) == ["STOPPED", "STARTING", "WORKING"]


async def test_fault2_pairing_qr_rotation(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    double.add_session("new", status=SessionStatus.STOPPED)
    ws = await connect(session="new")
    await double.start_pairing("new")
    assert await statuses(ws, 2) == ["STARTING", "SCAN_QR_CODE"]
    session = double.session("new")
    assert (session.qr_count, session.paired, session.me) == (1, False, None)
    qr_url = double.url + "/api/new/auth/qr"
    values = [(await get(http, qr_url, params={"format": "raw"}))[1]["value"]]
    assert values[0] == session.qr_value
    assert values[0].startswith("2@")
    for count in range(2, 7):
        await double.rotate_qr("new")
        assert (await event(ws))["payload"]["status"] == "SCAN_QR_CODE"
        assert session.qr_count == count
        values.append((await get(http, qr_url, params={"format": "raw"}))[1]["value"])
    assert len(set(values)) == 6
    await double.rotate_qr("new")  # the sixth code expired
    assert await statuses(ws, 1) == ["FAILED"]
    assert session.qr_value is None
    status, body = await get(http, qr_url, params={"format": "raw"})
    assert status == 422
    assert body == {
        "error": "Session status is not as expected. Try again later or restart the session",
        "session": "new",
        "status": "FAILED",
        "expected": ["SCAN_QR_CODE"],
    }

    await double.start_pairing("new")
    assert await statuses(ws, 2) == ["STARTING", "SCAN_QR_CODE"]
    assert session.qr_count == 1
    async with http.get(qr_url, headers={**auth(), "Accept": "application/json"}) as resp:
        image = await resp.json()
    assert image["mimetype"] == "image/png"
    status, code = await post(
        http, double.url + "/api/new/auth/request-code", {"phoneNumber": "491511234567"}
    )
    assert status == 201
    assert re.match(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$", code["code"])
    await double.scan_qr("new", me_id="4917111@c.us", push_name="Carol")
    envelope = await event(ws)
    assert envelope["payload"]["status"] == "WORKING"
    assert envelope["me"] == {"id": "4917111@c.us", "pushName": "Carol"}
    assert session.paired


async def test_fault2_timed_pairing_timeout(double: BridgeDouble, connect: Connect) -> None:
    double.add_session("slow", status=SessionStatus.STOPPED)
    ws = await connect(session="slow")
    await double.run_pairing_timeout("slow", first=0.02, every=0.01)
    assert await statuses(ws, 8) == ["STARTING", *["SCAN_QR_CODE"] * 6, "FAILED"]


async def test_fault3_blip_and_status_wait(http: aiohttp.ClientSession) -> None:
    bridge = BridgeDouble(api_key=KEY, status_wait=0.3)
    bridge.add_session("default", status=SessionStatus.WORKING, paired=True)
    await bridge.start()
    try:
        presence_url = bridge.url + "/api/default/presence"
        await bridge.blip("default")
        assert bridge.session("default").status == SessionStatus.STARTING
        loop = asyncio.get_running_loop()
        started = loop.time()
        ending = asyncio.create_task(_later(0.05, bridge.end_blip("default")))
        status, _ = await post(http, presence_url, {"presence": "online"})
        await ending
        assert status == 201  # the bridge waited for WORKING
        assert loop.time() - started < 0.3
        await bridge.blip("default")
        started = loop.time()
        status, body = await post(http, presence_url, {"presence": "online"})
        assert status == 422
        assert loop.time() - started >= 0.3
        assert (body["status"], body["expected"]) == ("STARTING", ["WORKING"])
        assert (await post(http, presence_url, {"presence": "away"}))[0] == 400
        await bridge.run_blip("default", 0.01)
        assert bridge.session("default").status == SessionStatus.WORKING
        assert bridge.session("default").me is not None
    finally:
        await bridge.stop()


async def _later(delay: float, coro: Awaitable[None]) -> None:
    await asyncio.sleep(delay)
    await coro


async def test_fault4_logout_from_phone(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect(session="default")
    await double.logout_from_phone("default")
    envelope = await event(ws)
    assert envelope["payload"]["status"] == "FAILED"
    alice = {"id": ME, "pushName": "Alice"}
    assert envelope["me"] == alice  # GOWS (the default profile) still reports the lost account
    assert (double.session("default").paired, double.session("default").me) == (False, alice)
    _, info = await get(http, double.url + "/api/sessions/default")
    assert (info["status"], info["me"]) == ("FAILED", alice)
    status, body = await post(http, double.url + "/api/sessions/default/restart")
    assert (status, body["status"]) == (201, "STARTING")
    assert await statuses(ws, 3) == ["STOPPED", "STARTING", "SCAN_QR_CODE"]
    assert (await get(http, double.url + "/api/sessions/default"))[1]["me"] is None
    await double.rotate_qr("default")
    for _ in range(5):
        await double.rotate_qr("default")
    assert await statuses(ws, 6) == ["SCAN_QR_CODE"] * 5 + ["FAILED"]
    status, body = await post(http, double.url + "/api/sessions/default/start")
    assert (status, body["message"]) == (422, "Session 'default' is already started.")
    status, body = await post(http, double.url + "/api/sessions/default/restart")
    assert (status, body["status"]) == (201, "STARTING")  # restart revives a FAILED session
    assert await statuses(ws, 3) == ["STOPPED", "STARTING", "SCAN_QR_CODE"]


async def test_fault5_logout_through_api(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect(session="default")
    status, body = await post(http, double.url + "/api/sessions/default/logout")
    assert (status, body["status"]) == (201, "STARTING")
    assert await statuses(ws, 3) == ["STOPPED", "STARTING", "SCAN_QR_CODE"]
    session = double.session("default")
    assert (session.paired, session.me, session.qr_count) == (False, None, 1)


async def test_fault6_key_rotation(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    old = await connect()
    double.rotate_api_key("new-key")
    assert double.api_key == "new-key"
    assert await get(http, double.url + "/api/sessions") == (
        401,
        {"message": "Unauthorized", "statusCode": 401},
    )
    assert (await get(http, double.url + "/api/sessions", key="new-key"))[0] == 200
    rejected = await connect(registered=False)  # the upgrade succeeds ...
    msg = await rejected.receive(timeout=2)
    assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1008, "Unauthorized")
    await double.blip("default")  # ... and the old socket stays up
    assert (await event(old))["payload"]["status"] == "STARTING"
    assert double.stream_count() == 1
    fresh = await connect(key="new-key")
    await double.end_blip("default")
    assert (await event(fresh))["payload"]["status"] == "WORKING"
    upgrades = [r for r in double.requests if r.method == "WS"]
    assert [r.status for r in upgrades] == [101, 101, 101]


async def test_fault6_scoped_key(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    double.add_session("other", status=SessionStatus.WORKING, paired=True)
    double.add_scoped_key("scoped", sessions={"other"})
    forbidden = {"message": "Forbidden", "statusCode": 403}
    assert await get(http, double.url + "/api/sessions/default", key="scoped") == (403, forbidden)
    assert (await post(http, double.url + "/api/sessions/default/stop", key="scoped"))[0] == 403
    assert (await get(http, double.url + "/api/sessions/other", key="scoped"))[0] == 200
    _, listed = await get(http, double.url + "/api/sessions", key="scoped")
    assert [item["name"] for item in listed] == ["other"]
    for session in ("default", "*"):
        ws = await connect(key="scoped", session=session, registered=False)
        msg = await ws.receive(timeout=2)
        assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1008, "Forbidden")
    allowed = await connect(key="scoped", session="other")
    await double.blip("other")
    assert (await event(allowed))["session"] == "other"


async def test_fault7_bridge_down_and_up(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    double.add_session("idle", status=SessionStatus.STOPPED)
    ws = await connect()
    url, port = double.url, double.port
    await double.bridge_down()
    msg = await ws.receive(timeout=2)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    assert not double.listening
    with pytest.raises(aiohttp.ClientConnectorError):
        await get(http, url + "/api/sessions")
    await double.bridge_up()
    assert (double.url, double.port) == (url, port)
    _, info = await get(http, url + "/api/sessions/default")
    assert info["status"] == "STARTING"
    assert double.session("idle").status == SessionStatus.STOPPED
    ws = await connect()
    await double.set_status("default", SessionStatus.WORKING)
    assert (await event(ws))["payload"]["status"] == "WORKING"

    await double.bridge_down(close_code=None)  # cut without a close frame
    msg = await ws.receive(timeout=2)
    assert msg.type in {aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
    assert ws.close_code == 1006
    await double.bridge_up()
    await double.bridge_up()  # already up: nothing happens


async def test_fault7_timed_restart_via_control(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect(session="default")
    generation = double.session("default").generation
    restart = double.url + "/_double/faults/bridge_restart"
    status, body = await post(http, restart, {"downtime": 0.1})
    assert (status, body) == (202, {"fault": "bridge_restart", "result": None})
    msg = await ws.receive(timeout=2)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    await until(lambda: double.session("default").generation == generation + 2)
    assert [str(p.status) for p in double.session("default").statuses[-2:]] == [
        "STARTING",
        "WORKING",
    ]
    assert double.listening
    assert (await get(http, double.url + "/api/sessions/default"))[1]["status"] == "WORKING"


async def test_fault8_half_open(double: BridgeDouble, connect: Connect) -> None:
    ws = await connect(heartbeat=0.2)
    # Pings are answered while the link is healthy. Read meanwhile, as a real client does:
    # aiohttp 3.13 (our oldest Home Assistant's) sees a pong only while reading.
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await ws.receive()
    assert not ws.closed
    double.half_open()
    await double.blip("default")
    msg = await ws.receive(timeout=2)  # no event, and the client's ping gets no pong
    assert msg.type is aiohttp.WSMsgType.ERROR
    assert isinstance(ws.exception(), aiohttp.ServerTimeoutError)
    assert double.stream_count() == 1  # the server still thinks it is open
    await double.close_streams(code=1000)  # nothing reaches a half-open socket
    assert double.stream_count() == 1

    dead = await connect(heartbeat=0.2)  # still half-open for new sockets
    await double.end_blip("default")
    assert (await dead.receive(timeout=2)).type is aiohttp.WSMsgType.ERROR
    double.heal()
    healthy = await connect()
    await double.blip("default")
    assert (await event(healthy))["payload"]["status"] == "STARTING"


async def test_fault9_stalled_stream(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    double.add_session("other", status=SessionStatus.WORKING, paired=True)
    ws = await connect()
    double.stall_stream("default")
    message = await double.emit_message("default", chat_id="4917@c.us", body="lost")
    await double.blip("other")
    assert (await event(ws))["session"] == "other"  # nothing of "default" came first
    assert double.session("default").history["4917@c.us"] == [message]
    assert (await get(http, double.url + "/api/sessions/default"))[1]["status"] == "WORKING"
    double.stall_stream("default", stalled=False)
    await double.emit_message("default", chat_id="4917@c.us", body="seen")
    assert (await event(ws))["payload"]["body"] == "seen"


async def test_fault10_deleted_session(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect(session="default")
    double.delete_session("default")
    not_found = {"message": "Session not found", "error": "Not Found", "statusCode": 404}
    assert await get(http, double.url + "/api/sessions/default") == (404, not_found)
    status, body = await get(http, double.url + "/api/sessions/default/me")
    assert status == 404
    assert body["message"].startswith("We didn't find a session with name 'default'.")
    for action in ("start", "stop", "restart", "logout"):
        assert await post(http, double.url + f"/api/sessions/default/{action}") == (404, not_found)
    status, body = await get(http, double.url + "/api/default/auth/qr", params={"format": "raw"})
    assert (status, body) == (
        422,
        {"error": 'Session "default" does not exist', "session": "default"},
    )
    assert await get(http, double.url + "/api/sessions") == (200, [])
    assert double.stream_count() == 1
    assert not ws.closed
    with pytest.raises(KeyError):
        double.session("default")


async def test_not_running_session_answers_422_or_404(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    """Status-waiting endpoints: 422 STOPPED; those with WAHA's SessionPipe: 404."""
    double.add_session("idle")
    status, body = await post(http, double.url + "/api/idle/presence", {"presence": "online"})
    assert (status, body["status"], body["expected"]) == (422, "STOPPED", ["WORKING"])
    status, body = await post(
        http, double.url + "/api/idle/auth/request-code", {"phoneNumber": "1"}
    )
    assert status == 404
    assert body["message"].startswith("We didn't find a session with name 'idle'.")


async def test_fault11_malformed_frames(double: BridgeDouble, connect: Connect) -> None:
    ws = await connect()
    await double.send_raw_text("this is {not json")
    msg = await ws.receive(timeout=2)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.TEXT, "this is {not json")
    await double.send_binary(b"\x00\x01binary")
    msg = await ws.receive(timeout=2)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.BINARY, b"\x00\x01binary")
    await double.send_event("label.brand_new", {"whatever": 1}, extra_field="surprise")
    unknown = await event(ws)
    assert (unknown["event"], unknown["extra_field"]) == ("label.brand_new", "surprise")
    await double.send_event("message", {"id": "x"}, omit=["payload", "me"], timestamp="soon")
    broken = await event(ws)
    assert "payload" not in broken
    assert "me" not in broken
    assert broken["timestamp"] == "soon"
    await double.send_huge()
    msg = await ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.TEXT
    assert len(msg.data) == 1_048_576
    assert json.loads(msg.data)["event"] == "message"


async def test_stream_close_cut_and_stop(double: BridgeDouble, connect: Connect) -> None:
    for code in (1000, 1011):
        ws = await connect()
        await double.close_streams(code=code, reason="bye")
        msg = await ws.receive(timeout=2)
        assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, code, "bye")
        await until(lambda: double.stream_count() == 0)
    ws = await connect()
    double.cut_streams()
    msg = await ws.receive(timeout=2)
    assert msg.type in {aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
    await until(lambda: double.stream_count() == 0)
    ws = await connect()
    await double.stop()
    msg = await ws.receive(timeout=2)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    await double.stop()  # idempotent


async def test_message_event(double: BridgeDouble, connect: Connect) -> None:
    ws = await connect()
    message = await double.emit_message(
        "default", chat_id="4917612345678@c.us", body="hi", timestamp=1_700_000_000
    )
    first, second = await event(ws), await event(ws)
    assert (first["event"], second["event"]) == ("message", "message.any")
    assert first["payload"] == message
    assert re.match(r"^false_4917612345678@c\.us_3EB0[0-9A-F]{16}$", message["id"])
    assert message["from"] == "4917612345678@c.us"
    assert message["to"] is None  # GOWS: no "to" outside groups
    assert (message["timestamp"], message["fromMe"], message["hasMedia"]) == (
        1_700_000_000,
        False,
        False,
    )
    own = await double.emit_message("default", chat_id="4917@c.us", body="mine", from_me=True)
    assert (await event(ws))["event"] == "message.any"  # own messages: message.any only
    assert own["id"].startswith("true_4917@c.us_")
    group = await double.emit_message(
        "default", chat_id="1203@g.us", body="pic", participant="4917@c.us", has_media=True
    )
    assert group["participant"] == "4917@c.us"
    assert group["media"]["url"] == group["mediaUrl"]
    assert group["mediaUrl"].startswith(double.url)
    chats = ["4917612345678@c.us", "4917@c.us", "1203@g.us"]
    assert list(double.session("default").history) == chats


# ------------------------------------------------------------------ request log


async def test_request_log(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    now = [100.0]
    double.clock = lambda: now[0]
    await get(http, double.url + "/api/sessions/default")
    now[0] = 200.0
    await get(http, double.url + "/api/sessions/default", key="wrong")
    await post(http, double.url + "/api/default/presence", {"presence": "offline"})
    await connect(session="default")
    assert double.count_requests() == 4
    assert double.count_requests(method="GET") == 2
    assert double.count_requests(method="WS") == 1
    assert double.count_requests(path_prefix="/api/sessions") == 2
    assert double.count_requests(session="default") == 4
    assert double.count_requests(since=150.0) == 3
    first = double.requests[0]
    assert (first.method, first.path, first.session, first.status, first.time) == (
        "GET",
        "/api/sessions/default",
        "default",
        200,
        100.0,
    )
    assert [r.status for r in double.requests] == [200, 401, 201, 101]
    double.clear_requests()
    assert double.count_requests() == 0


# ------------------------------------------------------------- control and CLI


async def test_control_endpoint(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await connect(session="default")
    control = double.url + "/_double/faults/"
    assert (await post(http, control + "blip", {"name": "default"}))[0] == 200
    assert await statuses(ws, 1) == ["STARTING"]
    assert (await post(http, control + "end_blip", {"name": "default"}, key="wrong"))[0] == 401
    assert (await post(http, control + "no_such_fault", {}))[0] == 404
    assert (await post(http, control + "blip", {"nme": "default"}))[0] == 400
    assert (await post(http, control + "blip", {"name": "ghost"}))[0] == 404
    status, body = await post(http, control + "run_blip", {"name": "default", "duration": 0.01})
    assert status == 202
    assert body["fault"] == "run_blip"
    assert await statuses(ws, 2) == ["STARTING", "WORKING"]
    status, body = await post(http, control + "stream_count", {})
    assert (status, body) == (200, {"fault": "stream_count", "result": 1})
    assert (await post(http, control + "send_binary", {"data": "abc"}))[0] == 200
    assert (await ws.receive(timeout=2)).data == b"abc"
    assert (await post(http, control + "rotate_api_key", {"new_key": "k2"}))[0] == 200
    assert double.api_key == "k2"


async def test_cli_fault_command(
    double: BridgeDouble, connect: Connect, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = await connect(session="default")
    code = await fault_command(
        ["--url", double.url, "--api-key", KEY, "stall_stream", "name=default", "stalled=false"]
    )
    assert code == 0
    code = await fault_command(["--url", double.url, "--api-key", KEY, "blip", "name=default"])
    assert code == 0
    assert await statuses(ws, 1) == ["STARTING"]
    assert capsys.readouterr().out.splitlines()[-1].startswith("200 ")
    assert await fault_command(["--url", double.url, "--api-key", "bad", "heal"]) == 1
    assert await fault_command(["--url", double.url, "heal", "oops"]) == 2
    assert parse_arguments(["a=1", "b=x", 'c=["s"]', "d=true"]) == {
        "a": 1,
        "b": "x",
        "c": ["s"],
        "d": True,
    }


@pytest.mark.parametrize(
    ("options", "status"),
    [
        (["--blip-every", "0.05", "--blip-duration", "0.05"], "WORKING"),
        (["--unpaired", "--session", "phone"], "SCAN_QR_CODE"),
    ],
)
async def test_cli_serves_until_sigterm(
    http: aiohttp.ClientSession, options: list[str], status: str
) -> None:
    secret = "cli-secret-key-42"
    name = "phone" if "--unpaired" in options else "default"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge_double",
        "--port",
        "0",
        "--api-key",
        secret,
        "--transition-delay",
        "0",
        *options,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        found = re.match(
            r"^bridge double listening on (http://127\.0\.0\.1:\d+) as GOWS-2026\.7\.1-CORE "
            r"\(session (\w+), (\w+)\)$",
            line.strip(),
        )
        assert found, line
        assert found.groups()[1:] == (name, status)
        url = found.group(1)
        _, info = await get(http, url + f"/api/sessions/{name}", key=secret)
        assert info["name"] == name
        await asyncio.sleep(0.15)
        assert (
            await fault_command(
                ["--url", url, "--api-key", secret, "rotate_api_key", f"new_key={secret}-2"]
            )
            == 0
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0
    assert secret not in (out + err).decode()
    assert "rotate_api_key" in err.decode()
    if "--blip-every" in options:
        assert "fault: blip default" in err.decode()


# ------------------------------------------------------------------------ TLS


async def test_tls(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    cert, key = self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    bridge = BridgeDouble(api_key=KEY, ssl_context=server_ctx)
    bridge.add_session("default", status=SessionStatus.WORKING, paired=True)
    await bridge.start()
    try:
        assert bridge.url.startswith("https://127.0.0.1:")
        status, _ = await get(http, bridge.url + "/api/sessions", ssl=client_ctx)
        assert status == 200
        ws_url = bridge.url.replace("https", "wss") + "/ws"
        async with http.ws_connect(ws_url, params={"x-api-key": KEY}, ssl=client_ctx) as ws:
            async with asyncio.timeout(2):
                await bridge.wait_for_streams(1)
            await bridge.blip("default")
            assert (await event(ws))["payload"]["status"] == "STARTING"
    finally:
        await bridge.stop()
