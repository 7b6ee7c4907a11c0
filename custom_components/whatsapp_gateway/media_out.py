"""Files to send: fetched from a media source, a camera, a URL or a path into the spool folder.

`async_fetch_outgoing_file` turns the one source a `send_media` call names into a new file in
the spool folder (the caller owns it from then on) with its content type, a filename and the
kind WhatsApp shows it as. Bad input is a translated `ServiceValidationError`; a partial file
never stays behind. File I/O runs in the executor; a download is streamed to disk in chunks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import logging
import mimetypes
import os
from pathlib import Path, PurePosixPath
import re
import tempfile
from typing import IO, Any, NoReturn, cast

import aiohttp
from homeassistant.components.media_source import async_resolve_media, is_media_source_id
from homeassistant.core import HomeAssistant, split_entity_id
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from yarl import URL

from .bridge.media import MEDIA_KINDS, MediaKind, kind_for, main_type
from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

# A URL download, all of it (connect, headers and body), in seconds.
URL_TIMEOUT = 30
CHUNK = 64 * 1024
GENERIC_TYPE = "application/octet-stream"
CAMERA_MEDIA_SOURCE = "media-source://camera/"
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file ready to send, in the spool folder."""

    path: Path  # a new file inside spool_dir, owned by the caller from now on
    content_type: str  # e.g. "image/jpeg", without parameters
    filename: str  # shown by WhatsApp for documents
    size: int
    kind: MediaKind


@dataclass(frozen=True, slots=True)
class _Fetched:
    """What a source gave: the spool file and what is known about it."""

    path: Path
    size: int
    content_type: str | None  # as the source says it (header, PlayMedia, camera)
    name: str  # the source's own name for it, may be empty


class _FetchError(Exception):
    """A download or copy failed; `reason` is safe to show (no URL, no contents)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _TooLargeError(Exception):
    """More bytes than allowed."""


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def _too_large(max_bytes: int) -> ServiceValidationError:
    return _invalid("media_too_large", max_mb=f"{max_bytes / _MIB:g}")


def shown_url(url: str) -> str:
    """A URL fit for messages and logs: no credentials, query or fragment."""
    try:
        parsed = URL(url)
        return str(parsed.with_user(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "(invalid URL)"


def _main_type(content_type: str | None) -> str | None:
    """`image/jpeg` of `Image/JPEG; q=1`; None for nothing useful (also the generic type)."""
    main = main_type(content_type)
    if main is None or "/" not in main or main == GENERIC_TYPE:
        return None
    return main


def _guess_type(name: str) -> str | None:
    return _main_type(mimetypes.guess_type(name, strict=False)[0]) if name else None


def _safe_name(name: str) -> str:
    """Only a file name: no folders, no control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return "" if name in (".", "..") else name


def _suffix(name: str) -> str:
    """The extension of `name` for a spool file, if it is a plain one (`.jpg`)."""
    suffix = PurePosixPath(name).suffix
    return suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""


def _extension(content_type: str) -> str:
    return mimetypes.guess_extension(content_type, strict=False) or ""


# --- blocking helpers (executor only) ----------------------------------------------------------


def _new_spool_file(spool_dir: Path, suffix: str) -> Path:
    spool_dir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=spool_dir, prefix="out-", suffix=suffix)
    os.close(handle)
    return Path(name)


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _copy_file(source: Path, destination: Path, max_bytes: int) -> int:
    """Copy in chunks, stopping once over `max_bytes` (the file may grow while read)."""
    size = 0
    with source.open("rb") as reader, destination.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise _TooLargeError
            writer.write(chunk)
    return size


def _allowed_file(hass: HomeAssistant, raw: str) -> tuple[bool, Path | None]:
    """Whether `raw` lies in an allowed folder, and the regular file it names (if any)."""
    if not raw or not os.path.isabs(raw) or not hass.config.is_allowed_path(raw):
        return False, None
    path = Path(raw).resolve()
    return True, path if path.is_file() else None


def _is_file(path: Path) -> bool:
    return path.is_file()


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


# --- sources ------------------------------------------------------------------------------------


async def _into_spool(
    hass: HomeAssistant,
    spool_dir: Path,
    suffix: str,
    fill: Callable[[Path], Awaitable[None]],
) -> Path:
    """A new spool file filled by `fill` (awaitable), removed again if that fails."""
    path = await hass.async_add_executor_job(_new_spool_file, spool_dir, suffix)
    try:
        await fill(path)
    except BaseException:
        await hass.async_add_executor_job(_remove, path)
        raise
    return path


async def _from_file(
    hass: HomeAssistant, spool_dir: Path, source: Path, content_type: str | None, max_bytes: int
) -> _Fetched:
    size = 0

    async def fill(path: Path) -> None:
        nonlocal size
        try:
            size = await hass.async_add_executor_job(_copy_file, source, path, max_bytes)
        except _TooLargeError:
            raise _too_large(max_bytes) from None

    path = await _into_spool(hass, spool_dir, _suffix(source.name), fill)
    return _Fetched(path, size, content_type, source.name)


async def _from_bytes(
    hass: HomeAssistant, spool_dir: Path, data: bytes, content_type: str, name: str
) -> _Fetched:
    async def fill(path: Path) -> None:
        await hass.async_add_executor_job(_write_bytes, path, data)

    path = await _into_spool(hass, spool_dir, _suffix(name), fill)
    return _Fetched(path, len(data), content_type, name)


async def _download(hass: HomeAssistant, spool_dir: Path, url: str, max_bytes: int) -> _Fetched:
    """Stream `url` into a spool file; `_FetchError` or `media_too_large` on failure."""
    session = async_get_clientsession(hass)
    name = URL(url).name
    size = 0
    content_type: str | None = None

    async def fill(path: Path) -> None:
        nonlocal size, content_type
        try:
            async with session.get(
                url, timeout=aiohttp.ClientTimeout(total=URL_TIMEOUT)
            ) as response:
                if response.status >= 400:
                    raise _FetchError(f"HTTP {response.status}")
                if (response.content_length or 0) > max_bytes:
                    raise _too_large(max_bytes)
                content_type = response.headers.get(aiohttp.hdrs.CONTENT_TYPE)
                handle: IO[bytes] = await hass.async_add_executor_job(path.open, "wb")
                try:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        size += len(chunk)
                        if size > max_bytes:
                            raise _too_large(max_bytes)
                        await hass.async_add_executor_job(handle.write, chunk)
                finally:
                    await hass.async_add_executor_job(handle.close)
        except TimeoutError:
            raise _FetchError(f"no answer within {URL_TIMEOUT} seconds") from None
        except aiohttp.ClientError as err:
            raise _FetchError(type(err).__name__) from None

    path = await _into_spool(hass, spool_dir, _suffix(name), fill)
    return _Fetched(path, size, content_type, name)


async def _from_url(hass: HomeAssistant, spool_dir: Path, url: str, max_bytes: int) -> _Fetched:
    shown = shown_url(url)
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise _invalid("media_url_failed", url=shown, error="not an http or https URL")
    try:
        return await _download(hass, spool_dir, url, max_bytes)
    except _FetchError as err:
        _LOGGER.debug("Download of %s failed: %s", shown, err.reason)
        raise _invalid("media_url_failed", url=shown, error=err.reason) from None


async def _from_camera(
    hass: HomeAssistant, spool_dir: Path, entity_id: str, max_bytes: int
) -> _Fetched:
    try:
        domain = split_entity_id(entity_id)[0]
    except ValueError:
        domain = ""
    if domain != "camera" or "camera" not in hass.config.components:
        raise _invalid("media_unknown_camera", entity_id=entity_id)
    # Imported here: the camera package loads its JPEG library on import, which only a
    # camera snapshot needs (and the camera component is loaded by now).
    from homeassistant.components.camera import async_get_image  # noqa: PLC0415

    if hass.states.get(entity_id) is None:
        raise _invalid("media_unknown_camera", entity_id=entity_id)
    try:
        image = await async_get_image(hass, entity_id)
    except HomeAssistantError as err:
        raise _invalid("media_camera_failed", entity_id=entity_id, error=str(err)) from None
    if len(image.content) > max_bytes:
        raise _too_large(max_bytes)
    content_type = _main_type(image.content_type) or "image/jpeg"
    name = "snapshot" + (_extension(content_type) or ".jpg")
    return await _from_bytes(hass, spool_dir, image.content, content_type, name)


async def _from_media(
    hass: HomeAssistant, spool_dir: Path, media: str | dict[str, Any], max_bytes: int
) -> _Fetched:
    hint: str | None = None
    if isinstance(media, dict):
        media_id = media.get("media_content_id")
        hint = _main_type(str(media.get("media_content_type") or ""))
    else:
        media_id = media
    if not isinstance(media_id, str) or not media_id:
        raise _invalid("media_source_failed", media_content_id=str(media_id), error="no id")
    if not is_media_source_id(media_id):
        if media_id.startswith(("http://", "https://")):
            fetched = await _from_url(hass, spool_dir, media_id, max_bytes)
            return _typed(fetched, hint)
        raise _invalid(
            "media_source_failed", media_content_id=media_id, error="not a media-source:// id"
        )
    if media_id.startswith(CAMERA_MEDIA_SOURCE):
        # A camera's media source is its live stream: a snapshot is what a message can carry.
        return await _from_camera(
            hass, spool_dir, media_id.removeprefix(CAMERA_MEDIA_SOURCE), max_bytes
        )

    def failed(error: str) -> NoReturn:
        raise _invalid("media_source_failed", media_content_id=media_id, error=error)

    try:
        play = await async_resolve_media(hass, media_id, None)
    except HomeAssistantError as err:  # MediaSourceError, Unresolvable among them
        failed(str(err) or type(err).__name__)
    content_type = _main_type(play.mime_type) or hint
    # `path` is set for files on this machine (local media); older releases lack it.
    local: Path | None = getattr(play, "path", None)
    if local is not None:
        if not await hass.async_add_executor_job(_is_file, local):
            failed("the file does not exist")
        return await _from_file(hass, spool_dir, local, content_type, max_bytes)
    # Anything else is served over HTTP, often by Home Assistant itself (a relative, signed URL).
    from homeassistant.components.media_player.browse_media import (  # noqa: PLC0415
        async_process_play_media_url,
    )

    try:
        url = async_process_play_media_url(hass, play.url)
    except HomeAssistantError as err:
        failed(str(err))
    try:
        fetched = await _download(hass, spool_dir, url, max_bytes)
    except _FetchError as err:
        failed(f"download failed: {err.reason}")
    return _typed(fetched, content_type)


def _typed(fetched: _Fetched, fallback: str | None) -> _Fetched:
    """`fetched`, with `fallback` as its type when the server named none (or a generic one)."""
    if _main_type(fetched.content_type) or not fallback:
        return fetched
    return _Fetched(fetched.path, fetched.size, fallback, fetched.name)


async def _from_path(hass: HomeAssistant, spool_dir: Path, raw: str, max_bytes: int) -> _Fetched:
    allowed, file = await hass.async_add_executor_job(_allowed_file, hass, raw)
    if not allowed:
        raise _invalid("media_path_not_allowed", path=raw)
    if file is None:
        raise _invalid("media_file_missing", path=raw)
    return await _from_file(hass, spool_dir, file, None, max_bytes)


# --- the one entry point ------------------------------------------------------------------------


async def async_fetch_outgoing_file(
    hass: HomeAssistant,
    spool_dir: Path,
    *,
    media: str | dict[str, Any] | None = None,
    camera_entity_id: str | None = None,
    url: str | None = None,
    path: str | None = None,
    filename: str | None = None,
    kind: str = "auto",
    max_bytes: int,
) -> OutgoingFile:
    """Fetch the one given source into a new file in `spool_dir`.

    Raises a translated `ServiceValidationError` naming what is wrong; then no file is left.
    """
    if kind != "auto" and kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {kind!r}")
    given = {
        name: value
        for name, value in (
            ("media", media),
            ("camera_entity_id", camera_entity_id),
            ("url", url),
            ("path", path),
        )
        if value not in (None, "", {})
    }
    if not given:
        raise _invalid("media_no_source")
    if len(given) > 1:
        raise _invalid("media_many_sources", sources=", ".join(given))

    if media is not None and "media" in given:
        fetched = await _from_media(hass, spool_dir, media, max_bytes)
    elif camera_entity_id:
        fetched = await _from_camera(hass, spool_dir, camera_entity_id, max_bytes)
    elif url:
        fetched = await _from_url(hass, spool_dir, url, max_bytes)
    else:
        fetched = await _from_path(hass, spool_dir, path or "", max_bytes)

    own_name = _safe_name(filename or "")
    source_name = _safe_name(fetched.name)
    content_type = (
        _main_type(fetched.content_type)
        or _guess_type(source_name)
        or _guess_type(own_name)
        or GENERIC_TYPE
    )
    if not (name := own_name):
        name = source_name or "file"
        if not PurePosixPath(name).suffix and content_type != GENERIC_TYPE:
            name += _extension(content_type)
    chosen = kind_for(content_type) if kind == "auto" else cast("MediaKind", kind)
    return OutgoingFile(
        path=fetched.path, content_type=content_type, filename=name, size=fetched.size, kind=chosen
    )
