"""Pairing with the bridge double: QR images, pairing codes, passkeys, exhausted QR codes."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import aiohttp
from PIL import Image
import pytest
import segno

from bridge_double import BridgeDouble, SessionStatus
from bridge_double.cli import fault_command
from bridge_double.payloads import QR_BORDER, QR_SCALE
from tests.bridge_double.support import (
    KEY,
    Connect,
    auth,
    event,
    get,
    nothing_arrives,
    post,
    statuses,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

PAIRING_CODE = re.compile(r"^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOT_SCAN_QR_CODE = "Can request code only in SCAN_QR_CODE status. The current status is {}"
ASSERTION = {
    "id": "cred-1",
    "rawId": "Y3JlZC0x",
    "type": "public-key",
    "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
}


async def _pairing(double: BridgeDouble, connect: Connect, name: str = "new") -> Any:
    """A new session in SCAN_QR_CODE with its first code; a socket that saw it get there."""
    double.add_session(name, status=SessionStatus.STOPPED)
    ws = await connect(session=name)
    await double.start_pairing(name)
    assert await statuses(ws, 2) == ["STARTING", "SCAN_QR_CODE"]
    return ws


async def _qr_image(http: aiohttp.ClientSession, url: str) -> bytes:
    async with http.get(url, params={"format": "image"}, headers=auth()) as resp:
        assert resp.status == 200
        assert resp.content_type == "image/png"
        return await resp.read()


async def _qr_image_json(http: aiohttp.ClientSession, url: str) -> bytes:
    headers = {**auth(), "Accept": "application/json"}
    async with http.get(url, params={"format": "image"}, headers=headers) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["mimetype"] == "image/png"
    return base64.b64decode(body["data"], validate=True)


def _modules(png: bytes) -> list[list[bool]]:
    """The QR modules a PNG shows (True: dark), border included, after checking its geometry."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    width, height = image.size
    assert width == height, "a QR image is square"
    assert width % QR_SCALE == 0
    side = width // QR_SCALE
    symbol = side - 2 * QR_BORDER
    assert symbol > 21, "more modules than the smallest QR code"
    assert (symbol - 17) % 4 == 0, "a QR code has 4 * version + 17 modules a side"
    grey = image.convert("L")
    centre = QR_SCALE // 2
    matrix = []
    for row in range(side):
        line = []
        for col in range(side):
            pixel = grey.getpixel((col * QR_SCALE + centre, row * QR_SCALE + centre))
            assert pixel in {0, 255}
            line.append(pixel == 0)
        matrix.append(line)
    return matrix


def _symbol(matrix: list[list[bool]]) -> list[list[bool]]:
    """The modules inside the quiet zone, which must be light all round."""
    side = len(matrix)
    inner = range(QR_BORDER, side - QR_BORDER)
    for row in range(side):
        for col in range(side):
            if row not in inner or col not in inner:
                assert not matrix[row][col], "the quiet zone is light"
    return [matrix[row][QR_BORDER : side - QR_BORDER] for row in inner]


def _has_finder(symbol: list[list[bool]], top: int, left: int) -> bool:
    """A 7x7 finder pattern: dark ring, light ring, dark 3x3 core."""
    for row in range(7):
        for col in range(7):
            ring = max(abs(row - 3), abs(col - 3))
            if symbol[top + row][left + col] != (ring != 2):
                return False
    return True


# ------------------------------------------------------------------------ QR image


async def test_every_rotation_serves_the_png_of_its_code(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await _pairing(double, connect)
    url = double.url + "/api/new/auth/qr"
    images: list[bytes] = []
    for count in range(1, 7):
        if count > 1:
            await double.rotate_qr("new")
            assert (await event(ws))["payload"]["status"] == "SCAN_QR_CODE"
        current = double.qr_png("new")
        assert current == double.qr_png("new")  # the same code, the same bytes
        assert await _qr_image(http, url) == current
        assert await _qr_image_json(http, url) == current
        images.append(current)
    assert len(set(images)) == 6

    await double.rotate_qr("new")  # the sixth code expired
    assert await statuses(ws, 1) == ["FAILED"]
    with pytest.raises(ValueError, match="no current QR code"):
        double.qr_png("new")
    status, body = await get(http, url, params={"format": "image"})
    assert (status, body["status"], body["expected"]) == (422, "FAILED", ["SCAN_QR_CODE"])
    with pytest.raises(KeyError):
        double.qr_png("ghost")


async def test_qr_png_is_a_qr_code_of_the_current_value(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    await _pairing(double, connect)
    png = double.qr_png("new")
    assert png.startswith(PNG_SIGNATURE)
    symbol = _symbol(_modules(png))
    size = len(symbol)
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        assert _has_finder(symbol, top, left), (top, left)
    assert not _has_finder(symbol, size - 7, size - 7)  # three finders, not four
    value = (await get(http, double.url + "/api/new/auth/qr", params={"format": "raw"}))[1]
    expected = segno.make_qr(value["value"], error="m", boost_error=False)
    assert symbol == [[bool(module) for module in row] for row in expected.matrix]


# ------------------------------------------------------------------- pairing code


async def test_request_code_then_enter_it_on_the_phone(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await _pairing(double, connect)
    url = double.url + "/api/new/auth/request-code"
    status, first = await post(http, url, {"phoneNumber": "+49 151 7654321"})
    assert (status, set(first)) == (201, {"code"})
    assert PAIRING_CODE.match(first["code"])
    status, body = await post(http, url, {"phoneNumber": "491517654321", "method": None})
    assert status == 201
    code = body["code"]
    session = double.session("new")
    assert (session.pairing_code, session.status) == (code, SessionStatus.SCAN_QR_CODE)
    assert code != first["code"]
    with pytest.raises(ValueError, match="is not the pairing code"):  # replaced, so void
        await double.enter_pairing_code("new", code=first["code"])
    await double.rotate_qr("new")  # the code outlives a QR rotation
    assert await statuses(ws, 1) == ["SCAN_QR_CODE"]

    await double.enter_pairing_code("new", code=code)
    envelope = await event(ws)
    me = {"id": "491517654321@c.us", "pushName": "Alice"}
    assert (envelope["payload"]["status"], envelope["me"]) == ("WORKING", me)
    _, info = await get(http, double.url + "/api/sessions/new")
    assert (info["status"], info["me"]) == ("WORKING", me)
    assert (session.paired, session.pairing_code, session.qr_value) == (True, None, None)
    with pytest.raises(ValueError, match="no pairing code"):
        await double.enter_pairing_code("new")


async def test_enter_pairing_code_needs_a_requested_code(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await _pairing(double, connect)
    with pytest.raises(ValueError, match="no pairing code"):
        await double.enter_pairing_code("new")
    control = double.url + "/_double/faults/enter_pairing_code"
    status, body = await post(http, control, {"name": "new"})
    assert (status, body["statusCode"]) == (400, 400)
    assert "request-code" in body["message"]
    assert (await post(http, control, {"name": "ghost"}))[0] == 404

    url = double.url + "/api/new/auth/request-code"
    assert (await post(http, url, {"phoneNumber": "491517654321"}))[0] == 201
    for _ in range(6):
        await double.rotate_qr("new")
    assert (await statuses(ws, 6))[-1] == "FAILED"
    assert double.session("new").pairing_code is None  # the attempt is over, so is its code
    with pytest.raises(ValueError, match="no pairing code"):
        await double.enter_pairing_code("new")
    assert double.session("new").status == SessionStatus.FAILED


async def test_request_code_answers_like_gows(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    await _pairing(double, connect)
    double.add_session("idle")
    url = double.url + "/api/{}/auth/request-code"
    status, body = await post(http, url.format("idle"), {"phoneNumber": "49151"})
    assert status == 404
    assert body["message"].startswith("We didn't find a session with name 'idle'.")
    assert await post(http, url.format("default"), {"phoneNumber": "49151"}) == (
        422,
        {
            "message": NOT_SCAN_QR_CODE.format("WORKING"),
            "error": "Unprocessable Entity",
            "statusCode": 422,
        },
    )
    assert (await post(http, url.format("new"), {}))[0] == 400
    assert (await post(http, url.format("new"), {"phoneNumber": 49151}))[0] == 400
    assert (await post(http, url.format("new"), {"phoneNumber": "1", "method": 1}))[0] == 400
    status, body = await post(http, url.format("new"), {"phoneNumber": "1", "method": "sms"})
    assert status == 201  # GOWS ignores the method
    assert PAIRING_CODE.match(body["code"])


async def test_request_code_waits_for_a_starting_session(http: aiohttp.ClientSession) -> None:
    bridge = BridgeDouble(api_key=KEY, engine="NOWEB", status_wait=2.0, transition_delay=0.05)
    bridge.add_session("default")
    await bridge.start()
    try:
        url = bridge.url + "/api/default/auth/request-code"
        status, body = await post(http, bridge.url + "/api/sessions/default/start")
        assert (status, body["status"]) == (201, "STARTING")
        status, body = await post(http, url, {"phoneNumber": "1", "method": "sms"})
        assert (status, body["message"]) == (
            422,
            "NOWEB engine doesn't support any 'method', remove it and try again",
        )
        assert bridge.session("default").status == SessionStatus.STARTING
        status, body = await post(http, url, {"phoneNumber": "491517654321"})
        assert status == 201  # answered once the session reached SCAN_QR_CODE
        assert bridge.session("default").pairing_code == body["code"]
    finally:
        await bridge.stop()


# ------------------------------------------------------------------------ passkeys


async def test_passkey_statuses_in_session_info_and_events(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await _pairing(double, connect)
    info_url = double.url + "/api/sessions/new"
    challenge = await double.require_passkey("new")
    envelope = await event(ws)
    assert envelope["event"] == "session.status"
    assert (envelope["payload"]["status"], envelope["me"]) == ("PASSKEY_REQUIRED", None)
    assert envelope["payload"]["data"] == challenge
    assert set(challenge) >= {"challenge", "timeout", "rpId", "allowCredentials"}
    assert challenge["rpId"] == "web.whatsapp.com"
    _, info = await get(http, info_url)
    assert (info["status"], info["me"]) == ("PASSKEY_REQUIRED", None)
    status, body = await get(http, double.url + "/api/new/auth/qr", params={"format": "raw"})
    assert (status, body["status"], body["expected"]) == (422, "PASSKEY_REQUIRED", ["SCAN_QR_CODE"])
    with pytest.raises(ValueError, match="no current QR code"):
        double.qr_png("new")
    assert await get(http, double.url + "/api/new/auth/passkey/challenge") == (200, challenge)

    confirmation = await double.require_passkey("new", confirmation=True)
    envelope = await event(ws)
    assert envelope["payload"]["status"] == "PASSKEY_CONFIRMATION_REQUIRED"
    assert envelope["me"] is None
    assert envelope["payload"]["data"] == confirmation
    assert re.match(r"^\d{4}$", confirmation["code"])
    _, info = await get(http, info_url)
    assert (info["status"], info["me"]) == ("PASSKEY_CONFIRMATION_REQUIRED", None)
    assert await get(http, double.url + "/api/new/auth/passkey/confirmation") == (
        200,
        confirmation,
    )

    await double.confirm_passkey("new", me_id="4917000@c.us")
    envelope = await event(ws)
    assert envelope["payload"]["status"] == "WORKING"
    assert envelope["payload"]["data"] is None
    assert envelope["me"] == {"id": "4917000@c.us", "pushName": "Alice"}
    assert [point["status"] for point in envelope["payload"]["statuses"]] == [
        "PASSKEY_REQUIRED",
        "PASSKEY_CONFIRMATION_REQUIRED",
        "WORKING",
    ]
    with pytest.raises(ValueError, match="waits for no passkey"):
        await double.confirm_passkey("new")


async def test_passkey_over_rest(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await _pairing(double, connect)
    auth_url = double.url + "/api/new/auth/passkey"
    no_challenge = {
        "message": "No passkey challenge is pending for the session",
        "error": "Unprocessable Entity",
        "statusCode": 422,
    }
    no_confirmation = {
        **no_challenge,
        "message": "No passkey confirmation is pending for the session",
    }
    assert await get(http, auth_url + "/challenge") == (422, no_challenge)
    assert await post(http, auth_url, ASSERTION) == (422, no_challenge)
    assert await get(http, auth_url + "/confirmation") == (422, no_confirmation)
    assert await post(http, auth_url + "/confirm") == (422, no_confirmation)

    await double.require_passkey("new")
    assert await statuses(ws, 1) == ["PASSKEY_REQUIRED"]
    assert (await post(http, auth_url, {**ASSERTION, "response": None}))[0] == 400
    assert (await post(http, auth_url, {**ASSERTION, "response": {}}))[0] == 400
    assert (await post(http, auth_url, {"id": "x"}))[0] == 400
    assert await post(http, auth_url, ASSERTION) == (201, None)
    envelope = await event(ws)
    assert (envelope["payload"]["status"], envelope["me"]["id"]) == ("WORKING", "491511234567@c.us")

    await double.require_passkey("new", confirmation=True)
    assert await statuses(ws, 1) == ["PASSKEY_CONFIRMATION_REQUIRED"]
    assert await get(http, auth_url + "/challenge") == (422, no_challenge)
    assert await post(http, auth_url + "/confirm") == (201, None)
    assert await statuses(ws, 1) == ["WORKING"]
    double.add_session("idle")
    status, body = await get(http, double.url + "/api/idle/auth/passkey/challenge")
    assert status == 404
    assert body["message"].startswith("We didn't find a session with name 'idle'.")


async def test_scan_qr_and_the_requested_phone_finish_a_passkey(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await _pairing(double, connect)
    await double.require_passkey("new")
    await double.scan_qr("new", me_id="4917111@c.us", push_name="Carol")
    assert await statuses(ws, 2) == ["PASSKEY_REQUIRED", "WORKING"]
    assert double.session("new").me == {"id": "4917111@c.us", "pushName": "Carol"}

    await double.start_pairing("new")  # a pairing code, then WhatsApp asks for a passkey
    assert await statuses(ws, 2) == ["STARTING", "SCAN_QR_CODE"]
    url = double.url + "/api/new/auth/request-code"
    assert (await post(http, url, {"phoneNumber": "4917222"}))[0] == 201
    await double.require_passkey("new")
    with pytest.raises(ValueError, match="no pairing code"):
        await double.enter_pairing_code("new")
    await double.confirm_passkey("new")
    assert await statuses(ws, 2) == ["PASSKEY_REQUIRED", "WORKING"]
    assert double.session("new").me == {"id": "4917222@c.us", "pushName": "Alice"}


# ------------------------------------------------------------- exhausted QR codes


async def test_restart_after_exhaustion_starts_a_new_attempt(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await _pairing(double, connect)
    session = double.session("new")
    attempt = session.pairing_attempt
    values, images = [session.qr_value], [double.qr_png("new")]
    for _ in range(5):
        await double.rotate_qr("new")
        values.append(session.qr_value)
        images.append(double.qr_png("new"))
    await double.rotate_qr("new")
    assert await statuses(ws, 6) == ["SCAN_QR_CODE"] * 5 + ["FAILED"]
    _, info = await get(http, double.url + "/api/sessions/new")
    assert (info["status"], info["me"]) == ("FAILED", None)

    status, body = await post(http, double.url + "/api/sessions/new/restart")
    assert (status, body["status"]) == (201, "STARTING")
    assert await statuses(ws, 3) == ["STOPPED", "STARTING", "SCAN_QR_CODE"]
    assert (session.qr_count, session.pairing_attempt) == (1, attempt + 1)
    _, raw = await get(http, double.url + "/api/new/auth/qr", params={"format": "raw"})
    assert raw["value"] == session.qr_value
    assert raw["value"] not in values
    assert double.qr_png("new") not in images
    assert await _qr_image(http, double.url + "/api/new/auth/qr") == double.qr_png("new")
    for count in range(2, 7):  # the new attempt has six codes of its own
        await double.rotate_qr("new")
        assert session.qr_count == count
    await double.rotate_qr("new")
    assert await statuses(ws, 6) == ["SCAN_QR_CODE"] * 5 + ["FAILED"]


async def test_timed_pairing_runs_out_again_after_a_restart(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    double.pairing_timeouts = (0.02, 0.01)
    ws = await _pairing(double, connect)
    assert await statuses(ws, 6) == ["SCAN_QR_CODE"] * 5 + ["FAILED"]
    assert (await post(http, double.url + "/api/sessions/new/restart"))[0] == 201
    expected = ["STOPPED", "STARTING", "SCAN_QR_CODE", *["SCAN_QR_CODE"] * 5, "FAILED"]
    assert await statuses(ws, 9) == expected
    assert double.session("new").qr_count == 6


# ------------------------------------------------------------- control and CLI


async def test_pairing_faults_through_control_and_cli(
    double: BridgeDouble, http: aiohttp.ClientSession, connect: Connect
) -> None:
    ws = await _pairing(double, connect)
    control = double.url + "/_double/faults/"
    status, body = await post(http, control + "require_passkey", {"name": "new"})
    assert (status, body["fault"]) == (200, "require_passkey")
    assert body["result"]["rpId"] == "web.whatsapp.com"
    status, body = await post(
        http, control + "require_passkey", {"name": "new", "confirmation": True}
    )
    assert (status, set(body["result"])) == (200, {"code"})
    assert await statuses(ws, 2) == ["PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED"]
    assert (await post(http, control + "confirm_passkey", {"name": "new"}))[0] == 200
    assert await statuses(ws, 1) == ["WORKING"]
    assert (await post(http, control + "confirm_passkey", {"name": "new"}))[0] == 400

    await double.start_pairing("new")
    assert await statuses(ws, 2) == ["STARTING", "SCAN_QR_CODE"]
    cli = ["--url", double.url, "--api-key", KEY]
    assert await fault_command([*cli, "enter_pairing_code", "name=new"]) == 1
    code = (await post(http, double.url + "/api/new/auth/request-code", {"phoneNumber": "4917"}))[1]
    assert (
        await fault_command([*cli, "enter_pairing_code", "name=new", f"code={code['code']}"]) == 0
    )
    assert await statuses(ws, 1) == ["WORKING"]
    assert await fault_command([*cli, "require_passkey", "name=new", "confirmation=true"]) == 0
    assert await statuses(ws, 1) == ["PASSKEY_CONFIRMATION_REQUIRED"]


async def test_pairing_clock_stops_when_a_passkey_finishes(
    double: BridgeDouble, connect: Connect
) -> None:
    double.pairing_timeouts = (0.1, 0.01)
    ws = await _pairing(double, connect)
    await double.require_passkey("new")
    await double.confirm_passkey("new")
    assert await statuses(ws, 2) == ["PASSKEY_REQUIRED", "WORKING"]
    await nothing_arrives(ws, 0.15)  # past the first code's end
    assert double.session("new").status == SessionStatus.WORKING
