"""Files to send, fetched from each kind of source into the spool folder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import logging
from pathlib import Path
from typing import Any
from unittest.mock import Mock

from aiohttp import web
from homeassistant.components.camera import Camera
from homeassistant.components.media_source import MediaSource, MediaSourceItem, PlayMedia
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockModule,
    mock_integration,
    mock_platform,
    setup_test_component_platform,
)

from custom_components.whatsapp_gateway import media_out
from custom_components.whatsapp_gateway.const import DOMAIN
from custom_components.whatsapp_gateway.media_out import OutgoingFile, async_fetch_outgoing_file

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"png-data" * 100
PDF = b"%PDF-1.7\n" + b"report " * 500
CAP = 1024 * 1024
SECRET = "token=very-secret-query"
GENERIC = "application/octet-stream"


def spool_files(spool: Path) -> list[Path]:
    return sorted(spool.iterdir()) if spool.exists() else []


async def fetch(hass: HomeAssistant, spool: Path, **kwargs: Any) -> OutgoingFile:
    kwargs.setdefault("max_bytes", CAP)
    return await async_fetch_outgoing_file(hass, spool, **kwargs)


async def refused(hass: HomeAssistant, spool: Path, **kwargs: Any) -> ServiceValidationError:
    """The translated error a call raises; it leaves no file in the spool folder."""
    with pytest.raises(ServiceValidationError) as caught:
        await fetch(hass, spool, **kwargs)
    err = caught.value
    assert err.translation_domain == DOMAIN
    assert spool_files(spool) == []
    return err


async def read(hass: HomeAssistant, path: Path) -> bytes:
    return await hass.async_add_executor_job(path.read_bytes)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


# --- a web server on 127.0.0.1 ------------------------------------------------------------------


class FileServer:
    """Serves the test files, a 404, a stall and files too large, and remembers queries."""

    def __init__(self) -> None:
        self.url = ""
        self.queries: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self._released = asyncio.Event()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/files/photo.jpg", self._photo)
        app.router.add_get("/files/download", self._pdf_no_extension)
        app.router.add_get("/files/untyped.png", self._untyped)
        app.router.add_get("/stall", self._stall)
        app.router.add_get("/big-streamed", self._big_streamed)
        app.router.add_get("/big-declared", self._big_declared)
        app.router.add_get("/api/clips/clip.mp4", self._clip)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _photo(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def _pdf_no_extension(self, request: web.Request) -> web.Response:
        return web.Response(body=PDF, content_type="application/pdf")

    async def _untyped(self, request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="application/octet-stream")

    async def _stall(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        await response.prepare(request)
        await response.write(JPEG[:1000])
        await self._released.wait()  # until the test ends
        return response

    async def _big_streamed(self, request: web.Request) -> web.StreamResponse:
        # Chunked: no Content-Length, the cap is only noticed while streaming.
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(40):
            await response.write(b"v" * 64 * 1024)
        await response.write_eof()
        return response

    async def _big_declared(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (CAP + 1), content_type="application/zip")

    async def _clip(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        return web.Response(
            body=b"mp4-clip" * 100, content_type=request.query.get("type", "video/mp4")
        )


@pytest.fixture
async def server(socket_enabled: None) -> AsyncGenerator[FileServer]:
    files = FileServer()
    await files.start()
    yield files
    await files.stop()


# --- cameras ------------------------------------------------------------------------------------


class SnapshotCamera(Camera):
    """A camera that answers a fixed snapshot (or none)."""

    def __init__(self, name: str, image: bytes | None, content_type: str = "image/jpeg") -> None:
        super().__init__()
        self._attr_name = name
        self._attr_unique_id = name
        self._image = image
        self.content_type = content_type

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        return self._image


@pytest.fixture
async def cameras(hass: HomeAssistant) -> None:
    setup_test_component_platform(
        hass,
        "camera",
        [
            SnapshotCamera("Door", JPEG),
            SnapshotCamera("Garden", PNG, content_type="image/png"),
            SnapshotCamera("Broken", None),
        ],
    )
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    await hass.async_block_till_done()
    assert hass.states.get("camera.door") is not None


@pytest.fixture
async def media_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Home Assistant's local media folder with a picture, and the media source set up."""
    folder = tmp_path / "media"
    (folder / "holiday").mkdir(parents=True)
    (folder / "holiday" / "beach.jpg").write_bytes(JPEG)
    (folder / "doorbell.png").write_bytes(PNG)
    hass.config.media_dirs = {"local": str(folder)}
    assert await async_setup_component(hass, "media_source", {})
    return folder


@pytest.fixture
def allowed_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    for name, data in {
        "photo.jpg": JPEG,
        "plan.png": PNG,
        "clip.mp4": b"mp4" * 100,
        "note.ogg": b"OggS" * 100,
        "report.pdf": PDF,
        "blob": PDF,
    }.items():
        (folder / name).write_bytes(data)
    hass.config.allowlist_external_dirs = {str(folder)}
    return folder


# --- the call itself ----------------------------------------------------------------------------


async def test_no_source(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool)
    assert err.translation_key == "media_no_source"
    err = await refused(hass, spool, media="", url="", path=None)
    assert err.translation_key == "media_no_source"


async def test_two_sources(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool, camera_entity_id="camera.door", url="http://x/a.jpg")
    assert err.translation_key == "media_many_sources"
    assert err.translation_placeholders == {"sources": "camera_entity_id, url"}


async def test_unknown_kind_is_a_programming_error(hass: HomeAssistant, spool: Path) -> None:
    with pytest.raises(ValueError, match="sticker"):
        await fetch(hass, spool, url="http://x/a.jpg", kind="sticker")


# --- path ---------------------------------------------------------------------------------------


async def test_path_in_an_allowed_folder(
    hass: HomeAssistant, spool: Path, allowed_dir: Path
) -> None:
    sent = await fetch(hass, spool, path=str(allowed_dir / "photo.jpg"))
    assert sent.content_type == "image/jpeg"
    assert sent.kind == "image"
    assert sent.filename == "photo.jpg"
    assert sent.size == len(JPEG)
    assert sent.path.parent == spool
    assert await read(hass, sent.path) == JPEG
    # A copy: the caller may delete it, the original stays.
    assert (allowed_dir / "photo.jpg").exists()
    assert sent.path != allowed_dir / "photo.jpg"


@pytest.mark.parametrize(
    ("name", "content_type", "kind"),
    [
        ("photo.jpg", "image/jpeg", "image"),
        ("plan.png", "image/png", "image"),
        ("clip.mp4", "video/mp4", "video"),
        ("note.ogg", "audio/ogg", "voice"),
        ("report.pdf", "application/pdf", "document"),
    ],
)
async def test_kind_auto_from_the_content_type(
    hass: HomeAssistant,
    spool: Path,
    allowed_dir: Path,
    name: str,
    content_type: str,
    kind: str,
) -> None:
    sent = await fetch(hass, spool, path=str(allowed_dir / name), kind="auto")
    assert (sent.content_type, sent.kind, sent.filename) == (content_type, kind, name)


async def test_explicit_kind_and_filename_win(
    hass: HomeAssistant, spool: Path, allowed_dir: Path
) -> None:
    sent = await fetch(
        hass, spool, path=str(allowed_dir / "photo.jpg"), kind="document", filename="door.jpg"
    )
    assert (sent.kind, sent.filename, sent.content_type) == ("document", "door.jpg", "image/jpeg")


async def test_filename_gives_the_type_when_the_source_has_none(
    hass: HomeAssistant, spool: Path, allowed_dir: Path
) -> None:
    sent = await fetch(hass, spool, path=str(allowed_dir / "blob"))
    assert (sent.content_type, sent.kind, sent.filename) == (GENERIC, "document", "blob")
    named = await fetch(hass, spool, path=str(allowed_dir / "blob"), filename="../x/report.pdf")
    assert (named.content_type, named.filename) == ("application/pdf", "report.pdf")


async def test_path_outside_the_allowlist(
    hass: HomeAssistant, spool: Path, allowed_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(JPEG)
    for refused_path in (str(outside), "photo.jpg", str(allowed_dir / ".." / "secret.jpg")):
        err = await refused(hass, spool, path=refused_path)
        assert err.translation_key == "media_path_not_allowed"
        assert err.translation_placeholders == {"path": refused_path}


async def test_path_missing(hass: HomeAssistant, spool: Path, allowed_dir: Path) -> None:
    for missing in (allowed_dir / "gone.jpg", allowed_dir):
        err = await refused(hass, spool, path=str(missing))
        assert err.translation_key == "media_file_missing"
        assert err.translation_placeholders == {"path": str(missing)}


async def test_path_over_the_size_limit(
    hass: HomeAssistant, spool: Path, allowed_dir: Path
) -> None:
    err = await refused(hass, spool, path=str(allowed_dir / "report.pdf"), max_bytes=1024)
    assert err.translation_key == "media_too_large"
    assert err.translation_placeholders == {"max_mb": "0.000976562"}
    exact = await fetch(hass, spool, path=str(allowed_dir / "report.pdf"), max_bytes=len(PDF))
    assert exact.size == len(PDF)


# --- camera -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("cameras")
async def test_camera_snapshot(hass: HomeAssistant, spool: Path) -> None:
    sent = await fetch(hass, spool, camera_entity_id="camera.door")
    assert (sent.content_type, sent.kind, sent.filename) == ("image/jpeg", "image", "snapshot.jpg")
    assert sent.size == len(JPEG)
    assert await read(hass, sent.path) == JPEG
    png = await fetch(hass, spool, camera_entity_id="camera.garden", filename="garden now.png")
    assert (png.content_type, png.filename) == ("image/png", "garden now.png")
    assert await read(hass, png.path) == PNG
    plain = await fetch(hass, spool, camera_entity_id="camera.garden")
    assert plain.filename == "snapshot.png"
    assert len(spool_files(spool)) == 3


@pytest.mark.usefixtures("cameras")
async def test_unknown_camera(hass: HomeAssistant, spool: Path) -> None:
    for entity_id in ("camera.nope", "light.kitchen", "nonsense"):
        err = await refused(hass, spool, camera_entity_id=entity_id)
        assert err.translation_key == "media_unknown_camera"
        assert err.translation_placeholders == {"entity_id": entity_id}


async def test_camera_without_the_camera_component(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool, camera_entity_id="camera.door")
    assert err.translation_key == "media_unknown_camera"


@pytest.mark.usefixtures("cameras")
async def test_camera_without_an_image(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool, camera_entity_id="camera.broken")
    assert err.translation_key == "media_camera_failed"
    assert err.translation_placeholders == {
        "entity_id": "camera.broken",
        "error": "Unable to get image",
    }


@pytest.mark.usefixtures("cameras")
async def test_camera_over_the_size_limit(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool, camera_entity_id="camera.door", max_bytes=100)
    assert err.translation_key == "media_too_large"


# --- media sources ------------------------------------------------------------------------------


async def test_local_media(hass: HomeAssistant, spool: Path, media_dir: Path) -> None:
    sent = await fetch(hass, spool, media="media-source://media_source/local/holiday/beach.jpg")
    assert (sent.content_type, sent.kind, sent.filename) == ("image/jpeg", "image", "beach.jpg")
    assert await read(hass, sent.path) == JPEG
    assert sent.path.parent == spool


async def test_local_media_as_a_selector_value(
    hass: HomeAssistant, spool: Path, media_dir: Path
) -> None:
    selected = {
        "media_content_id": "media-source://media_source/local/doorbell.png",
        "media_content_type": "image/png",
        "metadata": {"title": "doorbell.png", "media_class": "image"},
    }
    sent = await fetch(hass, spool, media=selected, kind="document")
    assert (sent.content_type, sent.kind, sent.filename) == (
        "image/png",
        "document",
        "doorbell.png",
    )
    assert await read(hass, sent.path) == PNG


async def test_local_media_over_the_size_limit(
    hass: HomeAssistant, spool: Path, media_dir: Path
) -> None:
    err = await refused(
        hass, spool, media="media-source://media_source/local/holiday/beach.jpg", max_bytes=10
    )
    assert err.translation_key == "media_too_large"


@pytest.mark.usefixtures("media_dir")
@pytest.mark.parametrize(
    "media",
    [
        "media-source://media_source/local/holiday/gone.jpg",
        "media-source://no_such_source/x",
        "media-source://media_source/local/../../etc/passwd",
        "/local/some/file.jpg",
        {"media_content_type": "image/jpeg"},
    ],
)
async def test_media_that_cannot_be_resolved(
    hass: HomeAssistant, spool: Path, media: str | dict[str, Any]
) -> None:
    err = await refused(hass, spool, media=media)
    assert err.translation_key == "media_source_failed"
    placeholders = err.translation_placeholders or {}
    assert placeholders["error"]
    if isinstance(media, str):
        assert placeholders["media_content_id"] == media


async def test_media_source_not_loaded(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool, media="media-source://media_source/local/a.jpg")
    assert err.translation_key == "media_source_failed"


@pytest.mark.usefixtures("cameras", "media_dir")
async def test_camera_media_source_is_a_snapshot(hass: HomeAssistant, spool: Path) -> None:
    sent = await fetch(hass, spool, media={"media_content_id": "media-source://camera/camera.door"})
    assert (sent.content_type, sent.filename, sent.kind) == ("image/jpeg", "snapshot.jpg", "image")
    assert await read(hass, sent.path) == JPEG
    err = await refused(hass, spool / "other", media="media-source://camera/camera.gone")
    assert err.translation_key == "media_unknown_camera"


class ClipSource(MediaSource):
    """A media source whose items Home Assistant serves over HTTP (no local path)."""

    def __init__(self) -> None:
        super().__init__("clips")

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        if item.identifier == "untyped.mp4":
            # Served as application/octet-stream: the source's own type stands.
            return PlayMedia("/api/clips/clip.mp4?type=application/octet-stream", "video/mp4")
        return PlayMedia(f"/api/clips/{item.identifier}", "video/mp4")


@pytest.fixture
async def clip_source(hass: HomeAssistant, media_dir: Path, server: FileServer) -> None:
    mock_integration(hass, MockModule("clips"))
    mock_platform(
        hass, "clips.media_source", Mock(async_get_media_source=Mock(side_effect=_clip_source))
    )
    assert await async_setup_component(hass, "clips", {})
    # Home Assistant's own address: here the test server stands in for it.
    hass.config.internal_url = server.url


async def _clip_source(hass: HomeAssistant) -> MediaSource:
    return ClipSource()


@pytest.mark.usefixtures("clip_source")
async def test_media_source_served_over_http(
    hass: HomeAssistant, spool: Path, server: FileServer
) -> None:
    sent = await fetch(hass, spool, media="media-source://clips/clip.mp4")
    assert (sent.content_type, sent.kind, sent.filename) == ("video/mp4", "video", "clip.mp4")
    assert await read(hass, sent.path) == b"mp4-clip" * 100
    # The relative URL was made absolute and signed, so Home Assistant lets the download in.
    assert "authSig" in server.queries[-1]
    untyped = await fetch(hass, spool, media="media-source://clips/untyped.mp4")
    assert (untyped.content_type, untyped.kind) == ("video/mp4", "video")


@pytest.mark.usefixtures("clip_source")
async def test_media_source_without_a_home_assistant_url(hass: HomeAssistant, spool: Path) -> None:
    hass.config.internal_url = None
    hass.config.external_url = None
    hass.config.api = None  # no address of its own at all
    err = await refused(hass, spool, media="media-source://clips/clip.mp4")
    assert err.translation_key == "media_source_failed"
    assert "URL" in (err.translation_placeholders or {})["error"]


@pytest.mark.usefixtures("clip_source")
async def test_media_source_download_failing(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool, media="media-source://clips/missing.mp4")
    assert err.translation_key == "media_source_failed"
    placeholders = err.translation_placeholders or {}
    assert placeholders["error"] == "download failed: HTTP 404"
    assert "authSig" not in str(placeholders)


# --- URL ----------------------------------------------------------------------------------------


async def test_url(hass: HomeAssistant, spool: Path, server: FileServer) -> None:
    sent = await fetch(hass, spool, url=f"{server.url}/files/photo.jpg?{SECRET}")
    assert (sent.content_type, sent.kind, sent.filename) == ("image/jpeg", "image", "photo.jpg")
    assert sent.size == len(JPEG)
    assert await read(hass, sent.path) == JPEG
    assert server.queries[-1] == {"token": "very-secret-query"}


async def test_url_query_and_contents_never_logged(
    hass: HomeAssistant, spool: Path, server: FileServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await fetch(hass, spool / "ok", url=f"{server.url}/files/photo.jpg?{SECRET}")
    await refused(hass, spool / "missing", url=f"{server.url}/files/nothing.jpg?{SECRET}")
    assert "very-secret" not in caplog.text


async def test_url_type_from_the_header_name_from_the_type(
    hass: HomeAssistant, spool: Path, server: FileServer
) -> None:
    sent = await fetch(hass, spool, url=f"{server.url}/files/download")
    assert (sent.content_type, sent.kind, sent.filename) == (
        "application/pdf",
        "document",
        "download.pdf",
    )
    assert await read(hass, sent.path) == PDF


async def test_url_type_from_the_name_when_the_header_is_generic(
    hass: HomeAssistant, spool: Path, server: FileServer
) -> None:
    sent = await fetch(hass, spool, url=f"{server.url}/files/untyped.png")
    assert (sent.content_type, sent.kind) == ("image/png", "image")


async def test_url_as_media(hass: HomeAssistant, spool: Path, server: FileServer) -> None:
    sent = await fetch(hass, spool, media={"media_content_id": f"{server.url}/files/photo.jpg"})
    assert (sent.content_type, sent.filename) == ("image/jpeg", "photo.jpg")
    selected = {"media_content_id": f"{server.url}/files/untyped.png", "media_content_type": "x"}
    assert (await fetch(hass, spool, media=selected)).content_type == "image/png"
    hinted = {
        "media_content_id": f"{server.url}/files/untyped.png",
        "media_content_type": "image/webp",
    }
    assert (await fetch(hass, spool, media=hinted)).content_type == "image/webp"


async def test_url_not_found(
    hass: HomeAssistant, spool: Path, server: FileServer, caplog: pytest.LogCaptureFixture
) -> None:
    err = await refused(hass, spool, url=f"{server.url}/files/nothing.jpg?{SECRET}")
    assert err.translation_key == "media_url_failed"
    assert err.translation_placeholders == {
        "url": f"{server.url}/files/nothing.jpg",
        "error": "HTTP 404",
    }
    assert "very-secret" not in caplog.text


async def test_url_that_times_out(
    hass: HomeAssistant,
    spool: Path,
    server: FileServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert media_out.URL_TIMEOUT == 30
    monkeypatch.setattr(media_out, "URL_TIMEOUT", 0.3)
    err = await refused(hass, spool, url=f"{server.url}/stall?{SECRET}")
    assert err.translation_key == "media_url_failed"
    assert err.translation_placeholders == {
        "url": f"{server.url}/stall",
        "error": "no answer within 0.3 seconds",
    }
    assert "very-secret" not in caplog.text


async def test_url_over_the_cap_while_streaming(
    hass: HomeAssistant, spool: Path, server: FileServer
) -> None:
    err = await refused(hass, spool, url=f"{server.url}/big-streamed")
    assert err.translation_key == "media_too_large"
    assert err.translation_placeholders == {"max_mb": "1"}


async def test_url_over_the_cap_by_its_length(
    hass: HomeAssistant, spool: Path, server: FileServer
) -> None:
    err = await refused(hass, spool, url=f"{server.url}/big-declared")
    assert err.translation_key == "media_too_large"


@pytest.mark.usefixtures("socket_enabled")
async def test_url_nobody_answers(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool, url="http://127.0.0.1:1/a.jpg")
    assert err.translation_key == "media_url_failed"
    assert (err.translation_placeholders or {})["error"].startswith("Client")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "not a url", "file:///etc/passwd", "http://[bad/a.jpg"]
)
async def test_url_not_http(hass: HomeAssistant, spool: Path, url: str) -> None:
    err = await refused(hass, spool, url=url)
    assert err.translation_key == "media_url_failed"
    assert (err.translation_placeholders or {})["error"] == "not an http or https URL"


async def test_url_credentials_never_shown(hass: HomeAssistant, spool: Path) -> None:
    err = await refused(hass, spool, url="ftp://user:pw@example.com/a.jpg?key=1#frag")
    assert (err.translation_placeholders or {})["url"] == "ftp://example.com/a.jpg"


def test_every_key_has_english_text() -> None:
    import json

    source = Path(media_out.__file__).read_text()
    strings = json.loads((Path(media_out.__file__).parent / "translations" / "en.json").read_text())
    used = {
        "media_no_source",
        "media_many_sources",
        "media_path_not_allowed",
        "media_file_missing",
        "media_unknown_camera",
        "media_camera_failed",
        "media_url_failed",
        "media_source_failed",
        "media_too_large",
    }
    for key in used:
        assert f'"{key}"' in source, key
        assert strings["exceptions"][key]["message"], key
    assert "{max_mb}" in strings["exceptions"]["media_too_large"]["message"]
    assert "allowlist_external_dirs" in strings["exceptions"]["media_path_not_allowed"]["message"]
