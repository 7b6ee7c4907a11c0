"""Received files: saved to Home Assistant's local media folder, described in the event.

A received photo, video, document or voice note is fetched from the bridge (streamed to disk
by the client, never held in memory) into `<local media>/whatsapp/<account>/<chat>/`, where
the Media panel shows it. The message event's `media` then describes it (`content_type`,
`size`, `filename`, `media_content_id`, `path`, and `transcript` for voice notes when an STT
entity is set); a file over `media_max_mb`, or one that failed, leaves `media` null and says
why in `media_error`. Messages read from history after a gap come without their file: the
bridge is asked for that one message with its file.

Files older than `media_keep_days` are removed under the account's folder a few minutes
after setup, then daily.
File names and paths hold phone numbers, URLs hold nothing but the bridge's path: none of
them is logged, nor is any message text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import mimetypes
import os
from pathlib import Path
import re
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util import dt as dt_util

from .bridge import (
    Me,
    WahaClient,
    WahaError,
    WahaFileTooLargeError,
    WahaResponseError,
    WaLocation,
    WaMedia,
    WaMessage,
    is_voice_note,
)
from .bridge.media import main_type
from .const import (
    CONF_DOWNLOAD_MEDIA,
    CONF_MEDIA_KEEP_DAYS,
    CONF_MEDIA_MAX_MB,
    CONF_STT_ENTITY,
    DOMAIN,
    LOGGER,
    MEDIA_FOLDER,
    entry_option,
)
from .voice import VoiceTranscriber

# `media_error` codes.
ERROR_TOO_LARGE = "too_large"
"""Larger than `media_max_mb`: nothing was kept."""
ERROR_DOWNLOAD_FAILED = "download_failed"
"""The bridge did not hand the file over (unreachable, 404, 500, no file address)."""
ERROR_BRIDGE_FAILED = "bridge_failed"
"""The bridge itself could not fetch the file from WhatsApp (`media.error`)."""
ERROR_SAVE_FAILED = "save_failed"
"""The file could not be written to the media folder."""
ERROR_INTERNAL = "internal_error"
"""Anything else went wrong; the event still fires."""

MEDIA_SOURCE_PREFIX = "media-source://media_source/local"
LOCAL_MEDIA_DIR = "local"
RETENTION_INTERVAL = timedelta(days=1)
# The first removal comes this long after setup (not at startup's busiest moment), so that
# files also go when Home Assistant restarts more often than daily.
RETENTION_FIRST_RUN = 300.0
MEGABYTE = 1024 * 1024
# A file name keeps room for an extension within the usual 255-byte limit.
_MAX_STEM = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_PARTIAL_SUFFIX = ".part"
# WhatsApp's usual types, with the extension people expect (mimetypes says .oga, .jpg...).
_EXTENSIONS = {
    "image/jpeg": ".jpeg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/ogg": ".ogg",
    "audio/opus": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "application/pdf": ".pdf",
}
_FALLBACK_EXTENSION = ".bin"


def safe_name(value: str) -> str:
    """`value` as one file-system-safe path segment (`491511234567@c.us` -> `..._c.us`)."""
    safe = _UNSAFE.sub("_", value).lstrip(".")[:_MAX_STEM]
    return safe or "_"


def account_folder(me: Me | None, session_name: str) -> str:
    """The account's folder: its number, or the session name while the number is unknown."""
    if me is not None:
        digits = "".join(char for char in me.id.split("@", 1)[0] if char.isdigit())
        if digits:
            return digits
    return safe_name(session_name)


def extension_for(content_type: str | None, filename: str | None) -> str:
    """A file extension from the content type, else from the bridge's file name."""
    main = main_type(content_type) or ""
    if main in _EXTENSIONS:
        return _EXTENSIONS[main]
    if main and (guessed := mimetypes.guess_extension(main)):
        return guessed
    if filename:
        suffix = Path(filename).suffix.lower()
        # Only an extension Home Assistant's media source can give a type to.
        if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) and mimetypes.guess_type(f"x{suffix}")[0]:
            return suffix
    return _FALLBACK_EXTENSION


def location_data(location: WaLocation | None) -> dict[str, Any] | None:
    """The event's `location` field."""
    if location is None:
        return None
    return {
        "latitude": location.latitude,
        "longitude": location.longitude,
        "name": location.name,
        "address": location.address,
    }


@dataclass(frozen=True, slots=True)
class ReceivedMedia:
    """What the event says about a message's file: `media` and `media_error`."""

    media: dict[str, Any] | None = None
    error: str | None = None


NO_MEDIA = ReceivedMedia()


class MediaReceiver:
    """Saves one entry's received files and removes old ones."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: WahaClient,
        session_name: str,
        *,
        account: Callable[[], Me | None],
    ) -> None:
        """`account` tells who the session is logged in as (None while unknown)."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._session_name = session_name
        self._account = account
        self.enabled = bool(entry_option(entry, CONF_DOWNLOAD_MEDIA))
        self._max_bytes = int(float(entry_option(entry, CONF_MEDIA_MAX_MB)) * MEGABYTE)
        self._keep_days = int(entry_option(entry, CONF_MEDIA_KEEP_DAYS) or 0)
        stt_entity: str | None = entry_option(entry, CONF_STT_ENTITY) or None
        self.transcriber = VoiceTranscriber(hass, stt_entity) if stt_entity else None
        self._unsub_retention: CALLBACK_TYPE | None = None
        self._unsub_first_run: CALLBACK_TYPE | None = None
        self._cleanup: asyncio.Task[None] | None = None
        self._warned: set[str] = set()

    # ----------------------------------------------------------------------------------
    # Receiving

    async def async_receive(self, message: WaMessage) -> ReceivedMedia:
        """Fetch and save the message's file; what the event says about it.

        Never raises but for cancellation: any failure becomes `media_error`.
        """
        if not self.enabled or not (message.has_media or message.media is not None):
            return NO_MEDIA
        try:
            return await self._async_receive(message)
        except Exception as err:  # noqa: BLE001 - the event must fire whatever happened
            self._warn(ERROR_INTERNAL, "Could not save a received file (%s)", type(err).__name__)
            return ReceivedMedia(error=ERROR_INTERNAL)

    async def _async_receive(self, message: WaMessage) -> ReceivedMedia:
        media = message.media
        if media is not None and media.url is not None and media.error is None:
            try:
                return await self._async_download(message, media, media.url, gone_ok=True)
            except _FileGoneError:
                # WAHA removes received files after a while (WHATSAPP_FILES_LIFETIME, 180 s
                # by default); asking for the message again downloads it again.
                LOGGER.debug("The bridge no longer had a received file; asking for it again")
                media = None
        if media is None or (media.url is None and media.error is None):
            # Read from history (pages come without files): ask for this one with its file.
            try:
                media = (
                    await self._client.get_message(self._session_name, message.chat_id, message.id)
                ).media
            except WahaError as err:
                self._warn(
                    ERROR_DOWNLOAD_FAILED,
                    "Could not ask the bridge for a received file (%s)",
                    type(err).__name__,
                )
                return ReceivedMedia(error=ERROR_DOWNLOAD_FAILED)
        if media is None:
            return ReceivedMedia(error=ERROR_DOWNLOAD_FAILED)
        if media.error is not None:
            self._warn(ERROR_BRIDGE_FAILED, "The bridge could not fetch a received file")
            return ReceivedMedia(error=ERROR_BRIDGE_FAILED)
        if media.url is None:
            return ReceivedMedia(error=ERROR_DOWNLOAD_FAILED)
        return await self._async_download(message, media, media.url)

    async def _async_download(
        self, message: WaMessage, media: WaMedia, url: str, *, gone_ok: bool = False
    ) -> ReceivedMedia:
        """Save the file; with `gone_ok`, a 404 raises `_FileGoneError` to ask again."""
        media_dir = self._hass.config.media_dirs.get(LOCAL_MEDIA_DIR)
        if not media_dir:
            self._warn(ERROR_SAVE_FAILED, "Home Assistant has no local media folder")
            return ReceivedMedia(error=ERROR_SAVE_FAILED)
        relative = Path(
            MEDIA_FOLDER,
            account_folder(self._account(), self._session_name),
            safe_name(message.chat_id),
        )
        folder = Path(media_dir, relative)
        stem = safe_name(message.id)
        # Hidden while it downloads: the Media panel skips dot files.
        partial = folder / f".{stem}{_PARTIAL_SUFFIX}"
        try:
            await self._hass.async_add_executor_job(_make_folder, folder)
        except OSError as err:
            self._warn(ERROR_SAVE_FAILED, "Could not create the media folder (%s)", err.strerror)
            return ReceivedMedia(error=ERROR_SAVE_FAILED)
        try:
            info = await self._client.download_file(url, partial, max_bytes=self._max_bytes)
        except WahaFileTooLargeError:
            LOGGER.debug("A received file is over the %s MB limit", self._max_bytes // MEGABYTE)
            return ReceivedMedia(error=ERROR_TOO_LARGE)
        except WahaError as err:
            if gone_ok and isinstance(err, WahaResponseError) and err.status == 404:
                raise _FileGoneError from None
            self._warn(
                ERROR_DOWNLOAD_FAILED,
                "Could not download a received file from the bridge (%s)",
                type(err).__name__,
            )
            return ReceivedMedia(error=ERROR_DOWNLOAD_FAILED)
        except OSError as err:
            self._warn(ERROR_SAVE_FAILED, "Could not save a received file (%s)", err.strerror)
            await self._hass.async_add_executor_job(_remove, partial)
            return ReceivedMedia(error=ERROR_SAVE_FAILED)
        content_type = media.mimetype or main_type(info.content_type)
        name = stem + extension_for(content_type, media.filename)
        try:
            await self._hass.async_add_executor_job(partial.replace, folder / name)
        except OSError as err:
            self._warn(ERROR_SAVE_FAILED, "Could not save a received file (%s)", err.strerror)
            await self._hass.async_add_executor_job(_remove, partial)
            return ReceivedMedia(error=ERROR_SAVE_FAILED)
        path = folder / name
        data: dict[str, Any] = {
            "content_type": content_type,
            "size": info.size,
            "filename": media.filename or name,
            "media_content_id": f"{MEDIA_SOURCE_PREFIX}/{(relative / name).as_posix()}",
            "path": str(path),
            "transcript": None,
        }
        if self.transcriber is not None and is_voice_note(content_type):
            data["transcript"] = await self.transcriber.async_transcribe(path)
        return ReceivedMedia(media=data)

    # ----------------------------------------------------------------------------------
    # Retention

    @callback
    def async_start(self) -> None:
        """Remove old files soon, then daily (with `media_keep_days` 0, they are kept)."""
        if self._keep_days <= 0 or self._unsub_retention is not None:
            return
        self._unsub_first_run = async_call_later(
            self._hass,
            RETENTION_FIRST_RUN,
            HassJob(self._on_first_run, f"{DOMAIN} media retention", cancel_on_shutdown=True),
        )
        self._unsub_retention = async_track_time_interval(
            self._hass,
            self._on_retention_due,
            RETENTION_INTERVAL,
            name=f"{DOMAIN} media retention",
            cancel_on_shutdown=True,
        )

    async def async_stop(self) -> None:
        """Stop the daily removal; wait for one in progress."""
        for unsub in (self._unsub_first_run, self._unsub_retention):
            if unsub is not None:
                unsub()
        self._unsub_first_run = self._unsub_retention = None
        task, self._cleanup = self._cleanup, None
        if task is not None and not task.done():
            await asyncio.wait([task])

    @callback
    def _on_first_run(self, now: datetime) -> None:
        self._unsub_first_run = None
        self._on_retention_due(now)

    @callback
    def _on_retention_due(self, now: datetime) -> None:
        if self._cleanup is not None and not self._cleanup.done():
            return
        # Not an entry task: unloading would cancel it before `async_stop` could wait for it.
        self._cleanup = self._hass.async_create_background_task(
            self._async_retention(now), f"{DOMAIN} media retention"
        )

    async def _async_retention(self, now: datetime) -> None:
        await self.async_remove_old(now)

    async def async_remove_old(self, now: datetime | None = None) -> int:
        """Remove the account's files older than `media_keep_days`; how many were removed."""
        media_dir = self._hass.config.media_dirs.get(LOCAL_MEDIA_DIR)
        if self._keep_days <= 0 or not media_dir:
            return 0
        cutoff = ((now or dt_util.utcnow()) - timedelta(days=self._keep_days)).timestamp()
        folder = Path(media_dir, MEDIA_FOLDER, account_folder(self._account(), self._session_name))
        try:
            removed = await self._hass.async_add_executor_job(_remove_older, folder, cutoff)
        except OSError as err:
            self._warn("retention", "Could not remove old received files (%s)", err.strerror)
            return 0
        if removed:
            LOGGER.debug("Removed %s received files older than %s days", removed, self._keep_days)
        return removed

    def _warn(self, kind: str, message: str, *args: object) -> None:
        """Once per kind at warning, then at debug (a failing bridge fails every file)."""
        log = LOGGER.debug if kind in self._warned else LOGGER.warning
        self._warned.add(kind)
        log(message, *args)


class _FileGoneError(Exception):
    """The bridge no longer has a received file (it removes them after a while)."""


def _make_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _remove_older(folder: Path, cutoff: float) -> int:
    """Remove files under `folder` last changed before `cutoff`, then empty chat folders."""
    if not folder.is_dir():
        return 0
    removed = 0
    for root, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            path = Path(root, name)
            try:
                if path.lstat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        if Path(root) != folder and not any(Path(root).iterdir()):
            try:
                Path(root).rmdir()
            except OSError:
                continue
    return removed
