"""Pairing with the bridge double: QR images and exhausted QR codes."""

from __future__ import annotations

import base64
import io
from typing import Any

import aiohttp
from PIL import Image
import pytest
import segno

from bridge_double import BridgeDouble, SessionStatus
from bridge_double.payloads import QR_BORDER, QR_SCALE
from tests.bridge_double.support import Connect, auth, event, get, post, statuses

pytestmark = pytest.mark.usefixtures("socket_enabled")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
