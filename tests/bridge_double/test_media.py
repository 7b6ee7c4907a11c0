"""Files and locations in the double: sendLocation, Plus media sends, received media,
``/api/files``, history with and without media, the CLI."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus
from bridge_double.cli import attach_files, fault_command
from bridge_double.media import TINY_JPEG, VOICE_TYPE
from tests.bridge_double.support import KEY, ME, auth, event, get, post

pytestmark = pytest.mark.usefixtures("socket_enabled")

CHAT = "4917612345678@c.us"
GROUP = "120363012345678901@g.us"
BOB = "4917699999999@c.us"
ENGINES = ["GOWS", "NOWEB", "WEBJS"]
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4
OGG = b"OggS\x00\x02" + b"\x01" * 500

type Make = Callable[..., Awaitable[BridgeDouble]]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    started: list[BridgeDouble] = []

    async def _make(profile: str = "GOWS-2026.7.1-CORE", **kwargs: Any) -> BridgeDouble:
        bridge = BridgeDouble(api_key=KEY, profile=BridgeProfile.parse(profile), **kwargs)
        bridge.add_session("default", status=SessionStatus.WORKING, paired=True, me_id=ME)
        await bridge.start()
        started.append(bridge)
        return bridge

    yield _make
    for bridge in started:
        await bridge.stop()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def messages(
    http: aiohttp.ClientSession, bridge: BridgeDouble, chat: str, **params: str
) -> list[dict[str, Any]]:
    url = f"{bridge.url}/api/default/chats/{chat}/messages"
    status, page = await get(http, url, params=params)
    assert status == 200, page
    assert isinstance(page, list)
    return page


# --------------------------------------------------------------------- sendLocation


LOCATION = {"session": "default", "chatId": CHAT, "latitude": 52.52, "longitude": 13.405}


@pytest.mark.parametrize("edition", ["CORE", "PLUS"])
@pytest.mark.parametrize("engine", ENGINES)
async def test_send_location_on_every_profile(
    make: Make, http: aiohttp.ClientSession, engine: str, edition: str
) -> None:
    bridge = await make(f"{engine}-2026.7.1-{edition}")
    request = {**LOCATION, "title": "Home", "id": "3EB0AAAABBBBCCCCDDDD"}
    status, answer = await post(http, bridge.url + "/api/sendLocation", request)
    assert status == 201, answer
    sent = bridge.session("default").sent[-1]
    assert (sent["kind"], sent["latitude"], sent["longitude"], sent["title"]) == (
        "location",
        52.52,
        13.405,
        "Home",
    )
    honoured = engine != "WEBJS"
    assert (sent["key"] == "3EB0AAAABBBBCCCCDDDD") is honoured
    mine = await messages(http, bridge, CHAT, **{"filter.fromMe": "true"})
    assert mine[0]["id"] == sent["message_id"]
    location = mine[0]["location"]
    assert location["name"] == "Home"
    assert location["live"] is False
    if engine == "WEBJS":  # whatsapp-web.js numbers; body is the thumbnail
        assert (location["latitude"], location["longitude"]) == (52.52, 13.405)
        assert mine[0]["body"] == ""
        assert answer["type"] == "location"
        assert answer["id"]["_serialized"] == sent["message_id"]
    else:  # extractWALocation: degreesLatitude?.toString()
        assert (location["latitude"], location["longitude"]) == ("52.52", "13.405")
        assert ("body" in mine[0]) is (engine == "NOWEB")
        assert mine[0].get("body") is None
    if engine == "GOWS":
        assert answer == {
            "id": sent["message_id"],
            "_data": {
                "locationMessage": {
                    "degreesLatitude": 52.52,
                    "degreesLongitude": 13.405,
                    "name": "Home",
                }
            },
        }
    if engine == "NOWEB":
        assert answer["key"]["id"] == sent["key"]
        assert answer["message"]["locationMessage"]["degreesLatitude"] == 52.52
    assert mine[0]["hasMedia"] is False


async def test_send_location_reply_and_stream(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("NOWEB-2026.7.1-CORE")
    incoming = await bridge.emit_message("default", chat_id=CHAT, body="where?")
    async with http.ws_connect(
        bridge.url + "/ws", params={"x-api-key": KEY, "session": "*", "events": "message.any"}
    ) as ws:
        await bridge.wait_for_streams(1)
        request = {**LOCATION, "title": "", "reply_to": incoming["id"]}
        status, _ = await post(http, bridge.url + "/api/sendLocation", request)
        assert status == 201
        payload = (await event(ws))["payload"]
    assert payload["fromMe"] is True
    assert payload["location"] == {"live": False, "latitude": "52.52", "longitude": "13.405"}
    assert payload["replyTo"]["id"] == incoming["id"].split("_")[2]
    assert bridge.session("default").sent[-1]["reply_to"] == incoming["id"]


async def test_send_location_bad_bodies(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make()
    for bad in (
        {"session": "default", "latitude": 1, "longitude": 2, "title": "x"},
        {**LOCATION, "latitude": "52.5", "title": "x"},
        {**LOCATION, "longitude": 200, "title": "x"},
        {**LOCATION, "title": 5},
    ):
        status, _ = await post(http, bridge.url + "/api/sendLocation", bad)
        assert status == 400, bad
    assert bridge.session("default").sent == []


async def test_send_location_faults(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make()
    bridge.fail_sends(1, status=500)
    request = {**LOCATION, "title": "Home"}
    status, _ = await post(http, bridge.url + "/api/sendLocation", request)
    assert status == 500
    assert bridge.session("default").sent == []
    bridge.drop_send_answers(1)
    with pytest.raises(aiohttp.ClientError):
        await post(http, bridge.url + "/api/sendLocation", request)
    assert [sent["kind"] for sent in bridge.session("default").sent] == ["location"]
    status, _ = await post(http, bridge.url + "/api/sendLocation", request)
    assert status == 201
    assert bridge.count_sends() == 2


# ---------------------------------------------------------------------- media sends


def media_request(route: str, data: bytes, mimetype: str, **extra: Any) -> dict[str, Any]:
    file: dict[str, Any] = {"mimetype": mimetype, "data": b64(data)}
    if "filename" in extra:
        file["filename"] = extra.pop("filename")
    return {"session": "default", "chatId": CHAT, "file": file, **extra}


@pytest.mark.parametrize("engine", ENGINES)
async def test_core_refuses_media_sends(
    make: Make, http: aiohttp.ClientSession, engine: str
) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    for route, status in (("sendImage", 422), ("sendFile", 422), ("sendVoice", 422)):
        request = media_request(route, TINY_JPEG, "image/jpeg", convert=False)
        answer_status, answer = await post(http, f"{bridge.url}/api/{route}", request)
        assert answer_status == status
        assert "available only in Plus version" in answer["message"]
    request = media_request("sendVideo", b"\x00" * 10, "video/mp4", convert=False)
    assert (await post(http, bridge.url + "/api/sendVideo", request))[0] == 501
    assert bridge.sent_files() == []


@pytest.mark.parametrize("engine", ENGINES)
async def test_plus_sends_record_the_exact_bytes(
    make: Make, http: aiohttp.ClientSession, engine: str
) -> None:
    bridge = await make(f"{engine}-2026.7.1-PLUS")
    big = bytes(range(256)) * 4096  # 1 MiB
    cases = [
        ("sendImage", big, "image/jpeg", {"caption": "the door"}),
        ("sendFile", PDF, "application/pdf", {"filename": "bill.pdf", "caption": "pay"}),
        ("sendVoice", OGG, VOICE_TYPE, {"convert": False}),
        ("sendVideo", b"\x00\x00\x00\x18ftypmp42", "video/mp4", {"convert": True}),
    ]
    for route, data, mimetype, extra in cases:
        status, answer = await post(
            http, f"{bridge.url}/api/{route}", media_request(route, data, mimetype, **extra)
        )
        assert status == 201, (route, answer)
    files = bridge.sent_files()
    assert [f["kind"] for f in files] == ["image", "file", "voice", "video"]
    assert [f["data"] for f in files] == [case[1] for case in cases]
    assert [f["mimetype"] for f in files] == [case[2] for case in cases]
    assert [f["caption"] for f in files] == ["the door", "pay", None, None]
    assert [f["convert"] for f in files] == [None, None, False, True]
    assert files[1]["filename"] == "bill.pdf"
    assert all(f["chat_id"] == CHAT and f["reply_to"] is None for f in files)
    history = {m["id"]: m for m in await messages(http, bridge, CHAT)}
    image = history[files[0]["message_id"]]
    assert image["hasMedia"] is True
    assert image["fromMe"] is True
    assert image["body"] == "the door"  # extractBody: the caption
    assert image["media"]["mimetype"] == "image/jpeg"
    async with http.get(image["media"]["url"], headers=auth()) as resp:
        assert resp.status == 200
        assert await resp.read() == big
    voice = history[files[2]["message_id"]]
    assert voice["media"]["url"].endswith(".oga")
    document = history[files[1]["message_id"]]
    assert document["media"]["filename"] == "bill.pdf"
    if engine == "GOWS":
        assert "body" not in voice
        assert "filename" not in image["media"]
    elif engine == "NOWEB":
        assert voice["body"] is None
        assert image["media"]["filename"] is None
    else:
        assert voice["body"] == ""


async def test_media_send_validation(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("GOWS-2026.7.1-PLUS")
    base = bridge.url + "/api/"
    bad_requests = [
        ("sendImage", {"session": "default", "chatId": CHAT, "file": "x"}),
        ("sendImage", {"session": "default", "chatId": CHAT, "file": {"data": b64(b"x")}}),
        ("sendImage", media_request("sendImage", b"x", "image/jpeg") | {"file": {}}),
        (
            "sendImage",
            {"session": "default", "chatId": CHAT, "file": {"mimetype": "image/jpeg"}},
        ),
        (
            "sendImage",
            {
                "session": "default",
                "chatId": CHAT,
                "file": {"mimetype": "image/jpeg", "data": "not base64!!"},
            },
        ),
        ("sendVoice", media_request("sendVoice", OGG, VOICE_TYPE)),  # no convert
        ("sendVideo", media_request("sendVideo", b"v", "video/mp4", convert="yes")),
    ]
    for route, request in bad_requests:
        status, _ = await post(http, base + route, request)
        assert status == 400, (route, request)
    remote = {
        "session": "default",
        "chatId": CHAT,
        "file": {"mimetype": "image/png", "url": "https://example.com/a.png"},
    }
    assert (await post(http, base + "sendImage", remote))[0] == 201
    assert bridge.sent_files()[0]["data"] is None
    assert bridge.sent_files()[0]["url"] == "https://example.com/a.png"


async def test_large_media_body_is_accepted(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("NOWEB-2026.7.1-PLUS")
    data = bytes(range(256)) * (22 * 4096)  # 22.5 MB, 30 MB in base64
    body = json.dumps(media_request("sendFile", data, "application/zip", filename="a.zip"))
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.post(bridge.url + "/api/sendFile", data=body, headers=headers) as resp:
        assert resp.status == 201, await resp.text()
    assert bridge.sent_files()[0]["data"] == data


@pytest.mark.parametrize("engine", ENGINES)
async def test_media_send_faults_and_retry_by_caption(
    make: Make, http: aiohttp.ClientSession, engine: str
) -> None:
    bridge = await make(f"{engine}-2026.7.1-PLUS")
    request = media_request("sendImage", TINY_JPEG, "image/jpeg", caption="snapshot 1")
    bridge.fail_sends(1, status=503)
    assert (await post(http, bridge.url + "/api/sendImage", request))[0] == 503
    assert bridge.sent_files() == []
    bridge.drop_send_answers(1)
    with pytest.raises(aiohttp.ClientError):
        await post(http, bridge.url + "/api/sendImage", request)
    assert len(bridge.sent_files()) == 1
    own = await messages(http, bridge, CHAT, **{"filter.fromMe": "true", "downloadMedia": "false"})
    assert [(m["hasMedia"], m["body"]) for m in own] == [(True, "snapshot 1")]


# ------------------------------------------------------------------- received media


@pytest.mark.parametrize("engine", ENGINES)
async def test_received_file_is_served_and_shaped_per_engine(
    make: Make, http: aiohttp.ClientSession, engine: str
) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    async with http.ws_connect(
        bridge.url + "/ws", params={"x-api-key": KEY, "session": "*", "events": "message"}
    ) as ws:
        await bridge.wait_for_streams(1)
        message = await bridge.emit_message(
            "default",
            chat_id=CHAT,
            body="the bill",
            media=PDF,
            mimetype="application/pdf",
            filename="bill.pdf",
        )
        payload = (await event(ws))["payload"]
    assert payload == message
    key = message["id"] if engine == "WEBJS" else message["id"].split("_")[2]
    url = f"{bridge.url}/api/files/default/{key}.pdf"
    assert message["media"] == {"url": url, "filename": "bill.pdf", "mimetype": "application/pdf"}
    assert message["hasMedia"] is True
    assert message["body"] == "the bill"
    assert message["mediaUrl"] == url
    async with http.get(url, headers=auth()) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/pdf"
        assert await resp.read() == PDF


@pytest.mark.parametrize("engine", ENGINES)
async def test_received_voice_note(make: Make, http: aiohttp.ClientSession, engine: str) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    message = await bridge.emit_message(
        "default", chat_id=CHAT, body="", media=OGG, mimetype=VOICE_TYPE
    )
    media = message["media"]
    assert media["mimetype"] == VOICE_TYPE
    assert media["url"].endswith(".oga")
    assert media.get("filename") is None
    assert ("filename" in media) is (engine != "GOWS")
    data = message["_data"]
    if engine == "GOWS":
        assert "body" not in message
        assert data["Info"]["MediaType"] == "ptt"
        assert data["Message"]["audioMessage"] == {"mimetype": VOICE_TYPE, "ptt": True}
    elif engine == "NOWEB":
        assert message["body"] is None
        assert data["message"]["audioMessage"]["ptt"] is True
    else:
        assert message["body"] == ""
        assert data["type"] == "ptt"
    async with http.get(media["url"], headers=auth()) as resp:
        assert resp.headers["Content-Type"] == "audio/ogg"
        assert await resp.read() == OGG


@pytest.mark.parametrize("engine", ENGINES)
async def test_failed_download(make: Make, engine: str) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    message = await bridge.emit_message(
        "default", chat_id=CHAT, body="", mimetype="image/jpeg", media_error="media expired"
    )
    media = message["media"]
    assert media["url"] is None
    assert media["mimetype"] == "image/jpeg"
    assert media["error"]["details"].startswith("Error: media expired")
    assert "message" not in media["error"]  # Error.message is not enumerable
    assert bridge.session("default").files == {}


async def test_has_media_still_sends_a_small_jpeg(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make()
    message = await bridge.emit_message("default", chat_id=CHAT, body="pic", has_media=True)
    assert message["media"]["mimetype"] == "image/jpeg"
    assert message["media"]["url"] == message["mediaUrl"]
    async with http.get(message["media"]["url"], headers=auth()) as resp:
        assert await resp.read() == TINY_JPEG


# ------------------------------------------------------------------------ locations


@pytest.mark.parametrize("engine", ENGINES)
async def test_received_location_per_engine(make: Make, engine: str) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    place = {"latitude": 48.8584, "longitude": 2.2945, "name": "Tour Eiffel", "address": "Paris"}
    message = await bridge.emit_message(
        "default", chat_id=GROUP, body="", participant=BOB, location=place
    )
    location = message["location"]
    assert message["hasMedia"] is False
    if engine == "WEBJS":
        thumbnail = base64.b64encode(TINY_JPEG).decode()
        assert location == {
            "live": False,
            "latitude": 48.8584,
            "longitude": 2.2945,
            "name": "Tour Eiffel",
            "address": "Paris",
            "description": "Tour Eiffel\nParis",
            "thumbnail": thumbnail,
        }
        assert message["body"] == thumbnail
        assert message["_data"]["type"] == "location"
    else:
        assert location == {
            "live": False,
            "latitude": "48.8584",
            "longitude": "2.2945",
            "name": "Tour Eiffel",
            "address": "Paris",
        }
        assert ("body" in message) is (engine == "NOWEB")
    whole = await bridge.emit_message(
        "default", chat_id=CHAT, body="", location={"latitude": 10, "longitude": -20}
    )
    expected = (10.0, -20.0) if engine == "WEBJS" else ("10", "-20")
    assert (whole["location"]["latitude"], whole["location"]["longitude"]) == expected


# ----------------------------------------------------------------- files and history


async def test_files_route_needs_the_key(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("GOWS-2026.7.1-CORE")
    bridge.add_scoped_key("scoped", sessions=["other"])
    message = await bridge.emit_message("default", chat_id=CHAT, body="", has_media=True)
    url = message["media"]["url"]
    async with http.get(url) as resp:
        assert resp.status == 401
        assert await resp.json() == {"message": "Unauthorized", "statusCode": 401}
    async with http.get(url, headers=auth("wrong")) as resp:
        assert resp.status == 401
    async with http.get(url, params={"x-api-key": KEY}) as resp:
        assert resp.status == 200  # the query parameter works from 2026.4.3
    async with http.get(url, headers=auth("scoped")) as resp:
        assert resp.status == 200  # ServeStaticModule: any valid key, no session scope
    async with http.get(bridge.url + "/api/files/default/nothing.jpeg", headers=auth()) as resp:
        assert resp.status == 404
    async with http.get(bridge.url + "/api/files/ghost/nothing.jpeg", headers=auth()) as resp:
        assert resp.status == 404


async def test_files_query_key_not_before_2026_4_3(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("GOWS-2026.2.1-CORE")
    message = await bridge.emit_message("default", chat_id=CHAT, body="", has_media=True)
    async with http.get(message["media"]["url"], params={"x-api-key": KEY}) as resp:
        assert resp.status == 401
    async with http.get(message["media"]["url"], headers=auth()) as resp:
        assert resp.status == 200


async def test_a_20_mb_file_is_streamed(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("NOWEB-2026.7.1-CORE")
    data = hashlib.sha256(b"seed").digest() * (20 * 1024 * 1024 // 32)
    message = await bridge.emit_message(
        "default", chat_id=CHAT, body="", media=data, mimetype="video/mp4"
    )
    digest = hashlib.sha256()
    size = 0
    async with http.get(message["media"]["url"], headers=auth()) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "video/mp4"
        assert resp.content_length == len(data)
        async for chunk in resp.content.iter_chunked(65536):
            digest.update(chunk)
            size += len(chunk)
    assert (size, digest.digest()) == (len(data), hashlib.sha256(data).digest())


@pytest.mark.parametrize("engine", ENGINES)
async def test_history_without_media_and_single_message_with_media(
    make: Make, http: aiohttp.ClientSession, engine: str
) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    message = await bridge.emit_message(
        "default", chat_id=CHAT, body="cap", media=TINY_JPEG, mimetype="image/jpeg", stream=False
    )
    await bridge.emit_message(
        "default", chat_id=CHAT, body="", location={"latitude": 1.5, "longitude": 2}, stream=False
    )
    page = await messages(http, bridge, CHAT, downloadMedia="false")
    assert [m["hasMedia"] for m in page] == [False, True]
    assert page[1]["media"] is None
    assert page[0]["location"]["latitude"] in {"1.5", 1.5}
    full = await messages(http, bridge, CHAT)  # downloadMedia defaults to true
    assert full[1]["media"] == message["media"]
    chat = CHAT.replace("@", "%40")
    url = f"{bridge.url}/api/default/chats/{chat}/messages/{message['id']}"
    status, single = await get(http, url, params={"downloadMedia": "true"})
    assert status == 200
    assert single["media"]["url"] == message["media"]["url"]
    status, bare = await get(http, url, params={"downloadMedia": "false"})
    assert (status, bare["media"], bare["hasMedia"]) == (200, None, True)
    missing = f"{bridge.url}/api/default/chats/{chat}/messages/false_{CHAT}_3EB0FFFF"
    status, answer = await get(http, missing)
    assert (status, answer["message"]) == (404, "Message not found")


async def test_single_message_needs_the_noweb_store(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make("NOWEB-2026.7.1-CORE-nostore")
    message = await bridge.emit_message("default", chat_id=CHAT, body="", has_media=True)
    url = f"{bridge.url}/api/default/chats/{CHAT}/messages/{message['id']}"
    assert (await get(http, url))[0] == 400


# ---------------------------------------------------------------------------- the CLI


async def test_cli_emits_a_file_and_lists_sent_files(
    make: Make,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bridge = await make("GOWS-2026.7.1-PLUS")
    path = tmp_path / "door.jpg"
    path.write_bytes(TINY_JPEG)
    assert attach_files({"media": f"@{path}"})["mimetype"] == "image/jpeg"
    argv = ["--url", bridge.url, "--api-key", KEY, "emit_message", "name=default"]
    argv += [f"chat_id={CHAT}", "body=door", f"media=@{path}"]
    assert await fault_command(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("200 ")
    url = json.loads(out[4:])["result"]["media"]["url"]
    async with http.get(url, headers=auth()) as resp:
        assert await resp.read() == TINY_JPEG
    argv = ["--url", bridge.url, "--api-key", KEY, "emit_message", "name=default"]
    argv += [f"chat_id={CHAT}", "body=", 'location={"latitude": 52.5, "longitude": 13.4}']
    assert await fault_command(argv) == 0
    assert json.loads(capsys.readouterr().out[4:])["result"]["location"]["latitude"] == "52.5"
    request = media_request("sendFile", PDF, "application/pdf", filename="bill.pdf")
    assert (await post(http, bridge.url + "/api/sendFile", request))[0] == 201
    assert await fault_command(["--url", bridge.url, "--api-key", KEY, "sent_files"]) == 0
    listed = json.loads(capsys.readouterr().out[4:])["result"]
    assert listed[0]["size"] == len(PDF)
    assert listed[0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert "data" not in listed[0]
    assert listed[0]["filename"] == "bill.pdf"
