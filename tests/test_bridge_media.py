"""Files and places through the bridge client alone (no Home Assistant), against the double.

What the client puts on the wire for each kind of file, and how it fetches a received file:
streamed to disk, capped, and nothing kept when it fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus as DoubleStatus
from custom_components.whatsapp_gateway.bridge import (
    WahaClient,
    WahaConnectionError,
    WahaEditionError,
    WahaFileTooLargeError,
    WahaResponseError,
    WaMedia,
    WaMessage,
    is_voice_note,
    kind_for,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

ME = "491511234567@c.us"
BOB = "491700000001@c.us"
KEY = "k"


@pytest.fixture
def profile() -> str:
    return "GOWS-2026.7.1-PLUS"


@pytest.fixture
async def double(profile: str) -> AsyncIterator[BridgeDouble]:
    bridge = BridgeDouble(api_key=KEY, profile=BridgeProfile.parse(profile))
    bridge.add_session("default", status=DoubleStatus.WORKING, paired=True, me_id=ME)
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


@pytest.fixture
async def client(double: BridgeDouble) -> AsyncIterator[WahaClient]:
    async with aiohttp.ClientSession() as http:
        waha = WahaClient(http, double.url, KEY)
        await waha.version()
        yield waha


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("image/jpeg", "image"),
        ("image/png; charset=binary", "image"),
        ("image/gif", "document"),
        ("video/mp4", "video"),
        ("audio/ogg; codecs=opus", "voice"),
        ("audio/mpeg", "voice"),
        ("application/pdf", "document"),
        (None, "document"),
    ],
)
def test_kind_from_the_content_type(content_type: str | None, kind: str) -> None:
    assert kind_for(content_type) == kind


def test_voice_notes_are_ogg_opus() -> None:
    assert is_voice_note("audio/ogg; codecs=opus")
    assert not is_voice_note("audio/mpeg")
    assert not is_voice_note(None)


async def test_each_kind_goes_to_its_route_with_what_the_bridge_needs(
    double: BridgeDouble, client: WahaClient, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.webm"
    clip.write_bytes(b"\x1aE\xdf\xa3 webm")
    mp4 = tmp_path / "clip.mp4"
    mp4.write_bytes(b"ftyp mp4")
    await client.send_file(
        "default", BOB, "video", clip, mimetype="video/webm", caption="look", reply_to="X"
    )
    await client.send_file("default", BOB, "video", mp4, mimetype="video/mp4")
    await client.send_file(
        "default", BOB, "document", clip, mimetype="video/webm", filename="clip.webm"
    )
    webm_video, mp4_video, document = double.sent_files("default")
    # The bridge converts what WhatsApp does not play as it is.
    assert (webm_video["kind"], webm_video["convert"], webm_video["caption"]) == (
        "video",
        True,
        "look",
    )
    assert webm_video["reply_to"] == "X"
    assert (mp4_video["convert"], mp4_video["data"]) == (False, b"ftyp mp4")
    assert (document["kind"], document["filename"]) == ("file", "clip.webm")


@pytest.mark.parametrize("profile", ["GOWS-2026.7.1-CORE"])
async def test_core_refuses_files_and_the_client_remembers(
    client: WahaClient, tmp_path: Path
) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8")
    # Pretend the version answer had not told the edition.
    client.capabilities = client.capabilities.__class__(engine="GOWS", version="2026.7.1")
    assert client.capabilities.media_sending is None
    with pytest.raises(WahaEditionError):
        await client.send_file("default", BOB, "image", photo, mimetype="image/jpeg")
    assert client.capabilities.media_sending is False


async def test_a_place_with_its_id_and_quote(double: BridgeDouble, client: WahaClient) -> None:
    message_id = await client.new_message_id("default")
    sent = await client.send_location(
        "default", BOB, 52.52, 13.405, title="Gate", message_id=message_id, reply_to="Q"
    )
    assert message_id in sent
    [record] = double.session("default").sent
    assert (record["latitude"], record["longitude"], record["title"]) == (52.52, 13.405, "Gate")


async def test_a_received_file_is_saved_and_its_message_asked_for_again(
    double: BridgeDouble, client: WahaClient, tmp_path: Path
) -> None:
    payload = await double.emit_message(
        "default", chat_id=BOB, body="", media=b"%PDF doc", mimetype="application/pdf"
    )
    message = client.parse_message(payload)
    assert message.media is not None
    assert message.media.url is not None
    target = tmp_path / "doc.pdf"
    info = await client.download_file(message.media.url, target, max_bytes=100)
    assert (info.size, target.read_bytes()) == (8, b"%PDF doc")
    again = await client.get_message("default", BOB, message.id)
    assert again.media is not None
    assert again.media.url == message.media.url


async def test_a_download_keeps_nothing_when_it_fails(
    double: BridgeDouble, client: WahaClient, tmp_path: Path
) -> None:
    payload = await double.emit_message(
        "default", chat_id=BOB, body="", media=b"x" * 5000, mimetype="image/jpeg"
    )
    url = WaMessage.parse(payload).media.url  # type: ignore[union-attr]
    assert url is not None
    target = tmp_path / "big.jpeg"
    with pytest.raises(WahaFileTooLargeError):
        await client.download_file(url, target, max_bytes=4999)
    with pytest.raises(WahaResponseError):
        await client.download_file("http://elsewhere/x.jpeg", target, max_bytes=10**6)
    gone = url.rsplit("/", 1)[0] + "/nothing.jpeg"
    with pytest.raises(WahaResponseError) as missing:
        await client.download_file(gone, target, max_bytes=10**6)
    assert missing.value.status == 404
    await double.stop()
    with pytest.raises(WahaConnectionError):
        await client.download_file(url, target, max_bytes=10**6)
    assert not target.exists()


def test_a_failed_download_at_the_bridge_is_read_from_its_stack_trace() -> None:
    media = WaMedia.parse(
        {"url": None, "mimetype": "image/jpeg", "error": {"details": "Error: gone\n    at x"}}
    )
    assert media is not None
    assert media.error == "Error: gone"
    assert WaMedia.parse({"url": None, "error": {"code": 1}}).error == "download failed"  # type: ignore[union-attr]
    assert WaMedia.parse({"url": "u", "error": None}).error is None  # type: ignore[union-attr]
    assert WaMedia.parse("nothing") is None


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ({"latitude": "52.5", "longitude": "13.4", "live": False}, (52.5, 13.4)),  # GOWS/NOWEB
        ({"latitude": 52.5, "longitude": 13.4, "description": "Gate"}, (52.5, 13.4)),  # WEBJS
        ({"latitude": True, "longitude": 13.4}, None),
        ({"latitude": "north", "longitude": 13.4}, None),
        ({"latitude": 91, "longitude": 13.4}, None),
        ({"latitude": 52.5, "longitude": float("nan")}, None),
        ("here", None),
    ],
)
def test_a_place_is_read_as_each_engine_gives_it(
    location: object, expected: tuple[float, float] | None
) -> None:
    message = WaMessage.parse(
        {
            "id": f"false_{BOB}_L1",
            "from": BOB,
            "fromMe": False,
            # WEBJS puts the map's thumbnail (base64) in the body of a location.
            "body": "/9j/4AAQSkZJRg",
            "location": location,
        }
    )
    place = message.location
    assert (None if place is None else (place.latitude, place.longitude)) == expected
    if place is not None:
        assert message.body is None
