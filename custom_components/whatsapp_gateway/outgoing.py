"""Outgoing messages: send now when the link is up, else queue, persist and flush in order.

Where the bridge honours pre-generated ids (WAHA 2026.4.3 on GOWS and NOWEB), every message
gets one before its first try and keeps it; when an answer is lost, the next try first looks
for that id among the chat's own messages. Elsewhere the retry looks for an own message with
the same text sent since the first try. Either way a message is sent at most once, as long as
the bridge keeps history (a NOWEB session without its store cannot be searched: it is sent
again). Queued messages go out oldest first on reconnect, within
`send_rate` per minute; each later delivery fires `whatsapp_gateway_message_sent` with
`delayed: true`, each expiry or rejection `whatsapp_gateway_message_failed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
import contextlib
from datetime import datetime
import math
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import STORAGE_DIR, Store
from homeassistant.util import dt as dt_util

from .bridge import WahaClient, WahaError, WahaResponseError, WaMessage
from .bridge.decoding import without_lone_surrogates
from .bridge.errors import (
    WahaEditionError,
    WahaNotImplementedError,
    WahaRouteMissingError,
    WahaStoreDisabledError,
)
from .bridge.media import MEDIA_KINDS, MediaKind
from .const import (
    CONF_QUEUE_TTL,
    CONF_SEND_RATE,
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_SENT,
    LOGGER,
    MAX_QUEUED_MEDIA_BYTES,
    entry_option,
)
from .outbox import OutboundQueue, QueuedFile, QueuedMessage, QueueFullError, SendRateLimiter
from .storage import PeriodicSave

STORAGE_VERSION = 1
SAVE_DELAY = 1.0
# After a transient failure, the queue is tried again this much later (or on reconnect).
RETRY_AFTER = 30.0
# A lost answer is looked for among the chat's own messages sent since shortly before.
LOOKBACK = 60
# Without message ids: own messages with the same text, from this long before the first try
# (the clocks of Home Assistant and the bridge may differ a little).
TEXT_MATCH_SLACK = 5
LOOKUP_PAGE = 100

FAILED_EXPIRED = "expired"
FAILED_REJECTED = "rejected"
# Two places closer than this (degrees, about 10 cm) are the same place.
SAME_PLACE = 1e-6


def outbox_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The store of one entry's outgoing queue."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.outbox", private=True)


def outbox_files(hass: HomeAssistant, entry_id: str) -> Path:
    """The folder beside the queue's store that holds its messages' files."""
    return Path(hass.config.path(STORAGE_DIR, f"{DOMAIN}.{entry_id}.outbox.files"))


class OwnSends(Protocol):
    """Told of every message the gateway sends, so it never comes back as a message to you."""

    def sending(self, chat_id: str, text: str, message_id: str | None) -> None:
        """A send is about to go out (under `message_id` when the bridge takes ids)."""

    def sent(self, chat_id: str, message_id: str) -> None:
        """The bridge took the message under `message_id`."""

    def confirmed(self, message_id: str) -> bool:
        """Whether `message_id` is of a send the bridge answered (so not of a lost one)."""


def _send_error(key: str, **placeholders: str) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


class OutgoingMessages:
    """One entry's outgoing queue and sender."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: WahaClient,
        session_name: str,
        *,
        is_connected: Callable[[], bool],
        on_change: Callable[[], None],
        own_sends: OwnSends | None = None,
    ) -> None:
        """Nothing is read until `async_load`."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._session_name = session_name
        self._is_connected = is_connected
        self._own_sends = own_sends
        self._warned_rejected = False
        self._on_change = on_change
        self._ttl = float(entry_option(entry, CONF_QUEUE_TTL))
        self._limiter = SendRateLimiter(int(entry_option(entry, CONF_SEND_RATE)))
        self._store = outbox_store(hass, entry.entry_id)
        self.files = outbox_files(hass, entry.entry_id)
        """Where files wait: `send_media` puts a file here and hands it over to `async_send`."""
        self._saver = PeriodicSave(self._store, self._storage_data, SAVE_DELAY)
        self._queue = OutboundQueue()
        self._flushing = False
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_unsub: CALLBACK_TYPE | None = None
        self._expiry_unsub: CALLBACK_TYPE | None = None
        self._shut_down = False

    def __len__(self) -> int:
        """The number of queued messages."""
        return len(self._queue)

    async def async_load(self) -> None:
        """Restore the queue; messages that expired meanwhile fail now."""
        stored = await self._store.async_load() or {}
        self._queue = OutboundQueue.from_list(stored.get("queue"))
        await self._async_reconcile_files()
        self._expire()
        self._schedule_expiry()

    async def async_shutdown(self) -> None:
        """Cancel the timers and write the queue."""
        self._shut_down = True
        for unsub in (self._flush_unsub, self._expiry_unsub):
            if unsub is not None:
                unsub()
        self._flush_unsub = self._expiry_unsub = None
        # A send in flight must not finish after the queue was written.
        if self._flush_task is not None and not self._flush_task.done():
            self._flush_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush_task
        await self._saver.async_save_now()

    async def async_send(
        self,
        chat_id: str,
        text: str,
        *,
        queue: bool = True,
        ttl: float | None = None,
        reply_to: str | None = None,
        poll_options: Sequence[str] | None = None,
        media: QueuedFile | None = None,
        location: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        """Send now if the link is up and nothing waits; else queue (or raise).

        With `poll_options`, `text` is the question of a poll; with `media` (a file in
        `files`, owned by the queue from now on) its caption; with `location` the place's
        name.
        """
        try:
            return await self._async_send(
                chat_id,
                text,
                queue=queue,
                ttl=ttl,
                reply_to=reply_to,
                poll_options=poll_options,
                media=media,
                location=location,
            )
        except BaseException:
            if media is not None:
                self._discard_file(media)
            raise

    async def _async_send(
        self,
        chat_id: str,
        text: str,
        *,
        queue: bool,
        ttl: float | None,
        reply_to: str | None,
        poll_options: Sequence[str] | None,
        media: QueuedFile | None,
        location: tuple[float, float] | None,
    ) -> dict[str, Any]:
        now = _now()
        message = QueuedMessage(
            queue_id=uuid4().hex,
            chat_id=chat_id,
            # A lone surrogate (a broken emoji from a template) cannot be sent or stored.
            text=without_lone_surrogates(text),
            created=now,
            expires=now + (ttl if ttl is not None else self._ttl),
            reply_to=reply_to,
            poll_options=None
            if poll_options is None
            else tuple(without_lone_surrogates(option) for option in poll_options),
            media=media,
            location=location,
        )
        if media is not None and self._client.capabilities.media_sending is False:
            raise _send_error("media_needs_plus")
        can_send_now = (
            self._is_connected()
            and not self._queue
            and not self._flushing
            and self._limiter.delay(now) == 0
        )
        if can_send_now:
            attempted = [message]
            try:
                message_id = await self._async_deliver(message, attempted.append)
            except WahaError as err:
                if isinstance(err, WahaEditionError):
                    raise _send_error("media_needs_plus") from None
                if isinstance(err, WahaNotImplementedError):
                    # The engine never does this (a poll, a quote): no retry can help.
                    raise _send_error("not_supported", action=_what(message)) from None
                if isinstance(err, WahaResponseError) and err.permanent:
                    raise _send_error("send_rejected", error=str(err)) from None
                if not queue:
                    raise _send_error("send_failed", error=str(err)) from None
                LOGGER.debug("Sending failed (%s); queueing the message", err)
                return self._enqueue(attempted[-1])
            if media is not None:
                self._discard_file(media)
            self._fire_sent(message, message_id, delayed=False)
            return {"status": "sent", "message_id": message_id, "queue_id": message.queue_id}
        if not queue:
            if self._is_connected():
                # Up, but earlier messages wait or the send rate is used up.
                raise _send_error("rate_limited")
            raise _send_error("not_connected")
        return self._enqueue(message)

    @callback
    def async_on_connected(self) -> None:
        """The link is up: flush the queue now."""
        if self._queue:
            self._schedule_flush(0)

    def diagnostics(self) -> dict[str, Any]:
        """Sizes and ages only: no targets or text."""
        oldest = self._queue.head()
        return {
            "queued": len(self._queue),
            "queued_file_bytes": self._queue.file_bytes(),
            "oldest_age_s": None if oldest is None else round(_now() - oldest.created, 1),
            "awaiting_confirmation": sum(1 for m in self._queue if m.attempts),
        }

    # ----------------------------------------------------------------------------------

    def _enqueue(self, message: QueuedMessage) -> dict[str, Any]:
        if (
            message.media is not None
            and self._queue.file_bytes() + message.media.size > MAX_QUEUED_MEDIA_BYTES
        ):
            raise _send_error(
                "queue_full_files", max_mb=str(MAX_QUEUED_MEDIA_BYTES // (1024 * 1024))
            )
        try:
            self._queue.append(message)
        except QueueFullError:
            raise _send_error("queue_full", size=str(len(self._queue))) from None
        self._changed()
        if self._is_connected():
            self._schedule_flush(RETRY_AFTER if message.attempts else 0)
        return {"status": "queued", "queue_id": message.queue_id}

    async def _async_deliver(
        self, message: QueuedMessage, on_attempt: Callable[[QueuedMessage], Any]
    ) -> str:
        """Send `message` (under a pre-generated id where the bridge has them), at most once.

        A message tried before may have arrived though its answer got lost: look first.
        """
        if message.attempts:
            found = await self._async_find_sent(message)
            if found is not None:
                return found
        message_id = message.message_id
        # Files go without a pre-generated id: the bridge's file routes take none.
        if (
            message_id is None
            and message.media is None
            and self._client.capabilities.new_message_ids
        ):
            try:
                message_id = await self._client.new_message_id(self._session_name)
            except WahaRouteMissingError, WahaNotImplementedError:
                LOGGER.debug("The bridge has no message ids; matching retries by text instead")
        attempt = message.with_attempt(message_id, _now())
        on_attempt(attempt)
        if self._own_sends is not None:
            self._own_sends.sending(attempt.chat_id, attempt.text, attempt.message_id)
        if attempt.media is not None:
            message_id = await self._client.send_file(
                self._session_name,
                attempt.chat_id,
                _kind(attempt.media),
                self.files / attempt.media.name,
                mimetype=attempt.media.content_type,
                filename=attempt.media.filename,
                caption=attempt.text or None,
                reply_to=attempt.reply_to,
            )
        elif attempt.location is not None:
            message_id = await self._client.send_location(
                self._session_name,
                attempt.chat_id,
                *attempt.location,
                title=attempt.text,
                message_id=attempt.message_id,
                reply_to=attempt.reply_to,
            )
        elif attempt.poll_options is not None:
            message_id = await self._client.send_poll(
                self._session_name,
                attempt.chat_id,
                attempt.text,
                attempt.poll_options,
                reply_to=attempt.reply_to,
                message_id=attempt.message_id,
            )
        else:
            message_id = await self._client.send_text(
                self._session_name,
                attempt.chat_id,
                attempt.text,
                message_id=attempt.message_id,
                reply_to=attempt.reply_to,
            )
        self._limiter.record(_now())
        if self._own_sends is not None and message_id:
            self._own_sends.sent(attempt.chat_id, message_id)
        return message_id

    async def _async_find_sent(self, message: QueuedMessage) -> str | None:
        """The id under which an earlier try of `message` reached the chat, if it did."""
        if message.message_id is not None:
            since = int(message.created) - LOOKBACK
        else:
            since = int(message.attempted_at or message.created) - TEXT_MATCH_SLACK
        try:
            sent = await self._client.chat_messages(
                self._session_name,
                message.chat_id,
                since=since,
                limit=LOOKUP_PAGE,
                from_me=True,
                newest_first=True,
            )
        except WahaStoreDisabledError:
            LOGGER.debug("The bridge keeps no history to check an earlier try; sending again")
            return None
        for candidate in sent:
            if (
                message.message_id is None
                and self._own_sends is not None
                and self._own_sends.confirmed(candidate.id)
            ):
                # Matched by text: another send with the same text (or a file without a
                # caption) whose answer did come is not this one.
                continue
            if _is_earlier_try(message, candidate):
                LOGGER.debug("A queued message had been sent already; not sending it again")
                return candidate.id
        return None

    def _schedule_flush(self, delay: float) -> None:
        if self._shut_down:
            return
        if self._flush_unsub is not None:
            self._flush_unsub()
            self._flush_unsub = None
        if delay <= 0:
            self._start_flush()
            return
        self._flush_unsub = async_call_later(
            self._hass,
            delay,
            HassJob(self._flush_timer, f"{DOMAIN} flush", cancel_on_shutdown=True),
        )

    @callback
    def _flush_timer(self, _now: datetime) -> None:
        self._flush_unsub = None
        self._start_flush()

    def _start_flush(self) -> None:
        if self._flush_task is not None and not self._flush_task.done():
            return
        self._flush_task = self._entry.async_create_background_task(
            self._hass, self._async_flush(), f"{DOMAIN} flush outgoing messages"
        )

    async def _async_flush(self) -> None:
        """Send the queue oldest first while the link is up, within the send rate."""
        if self._flushing:
            return
        self._flushing = True
        try:
            while self._is_connected() and not self._shut_down:
                self._expire()
                head = self._queue.head()
                if head is None:
                    return
                wait = self._limiter.delay(_now())
                if wait > 0:
                    self._schedule_flush(wait)
                    return
                try:
                    message_id = await self._async_deliver(head, self._record_attempt)
                except WahaResponseError as err:
                    if not err.permanent:
                        self._retry_later(err)
                        return
                    # Each rejection fires message_failed; the log says it once.
                    log = LOGGER.debug if self._warned_rejected else LOGGER.warning
                    self._warned_rejected = True
                    log("The bridge rejected a queued message: %s", err)
                    if self._remove(head):
                        self._fire_failed(head, FAILED_REJECTED)
                    continue
                except WahaError as err:
                    self._retry_later(err)
                    return
                self._remove(head)
                self._fire_sent(head, message_id, delayed=True)
        finally:
            self._flushing = False

    def _remove(self, message: QueuedMessage) -> bool:
        """Take a message off the queue with its file; False when it was gone already."""
        if self._queue.remove(message.queue_id) is None:
            return False
        if message.media is not None:
            self._discard_file(message.media)
        self._changed()
        return True

    def _discard_file(self, media: QueuedFile) -> None:
        """Remove a file that is no longer needed (sent, failed or expired).

        A tracked task (not a background one): Home Assistant waits for it when it stops.
        """
        self._hass.async_create_task(
            self._async_unlink(self.files / media.name),
            f"{DOMAIN} remove a file that left the queue",
        )

    async def _async_unlink(self, path: Path) -> None:
        await self._hass.async_add_executor_job(_unlink, path)

    async def _async_reconcile_files(self) -> None:
        """After a restart: remove files no message needs; fail messages whose file is gone."""
        wanted = {message.media.name for message in self._queue if message.media is not None}
        present = await self._hass.async_add_executor_job(_tidy_folder, self.files, wanted)
        for message in list(self._queue):
            if message.media is not None and message.media.name not in present:
                LOGGER.warning("The file of a queued message is gone; it cannot be sent")
                self._queue.remove(message.queue_id)
                self._fire_failed(message, FAILED_REJECTED)
                self._saver.schedule()

    def _record_attempt(self, attempt: QueuedMessage) -> None:
        if self._queue.update(attempt):
            self._saver.schedule()

    def _retry_later(self, err: WahaError) -> None:
        LOGGER.debug("Sending a queued message failed (%s); trying again later", err)
        self._schedule_flush(RETRY_AFTER)

    def _expire(self) -> None:
        expired = self._queue.remove_expired(_now())
        for message in expired:
            LOGGER.info("A queued message expired before the link came back")
            if message.media is not None:
                self._discard_file(message.media)
            self._fire_failed(message, FAILED_EXPIRED)
        if expired:
            self._changed()

    @callback
    def _expiry_timer(self, _now: datetime) -> None:
        self._expiry_unsub = None
        if self._flushing:
            # The flush expires messages itself, never the one it is sending; look again soon.
            self._schedule_expiry(min_delay=1.0)
        else:
            self._expire()

    def _schedule_expiry(self, *, min_delay: float = 0.0) -> None:
        if self._expiry_unsub is not None:
            self._expiry_unsub()
            self._expiry_unsub = None
        expiry = self._queue.next_expiry()
        if expiry is None or self._shut_down:
            return
        self._expiry_unsub = async_call_later(
            self._hass,
            max(expiry - _now(), min_delay),
            HassJob(self._expiry_timer, f"{DOMAIN} queue expiry", cancel_on_shutdown=True),
        )

    def _changed(self) -> None:
        """The queue changed: persist it, re-arm the expiry timer, update the sensor."""
        self._saver.schedule()
        self._schedule_expiry()
        self._on_change()

    def _fire_sent(self, message: QueuedMessage, message_id: str, *, delayed: bool) -> None:
        self._hass.bus.async_fire(
            EVENT_MESSAGE_SENT,
            {
                "config_entry_id": self._entry.entry_id,
                "queue_id": message.queue_id,
                "message_id": message_id,
                "target": message.chat_id,
                "delayed": delayed,
            },
        )

    def _fire_failed(self, message: QueuedMessage, reason: str) -> None:
        self._hass.bus.async_fire(
            EVENT_MESSAGE_FAILED,
            {
                "config_entry_id": self._entry.entry_id,
                "queue_id": message.queue_id,
                "target": message.chat_id,
                "reason": reason,
            },
        )

    def _storage_data(self) -> dict[str, Any]:
        return {"queue": self._queue.as_list()}


def _is_earlier_try(message: QueuedMessage, candidate: WaMessage) -> bool:
    """Whether `candidate` (an own message of the chat) is an earlier try of `message`."""
    if message.message_id is not None:
        return candidate.id == message.message_id or message.message_id in candidate.id.split("_")
    if message.media is not None:
        # A file's message shows its caption as the body.
        return candidate.has_media and (candidate.body or "") == message.text
    if message.location is not None:
        place = candidate.location
        return place is not None and all(
            math.isclose(a, b, abs_tol=SAME_PLACE)
            for a, b in zip((place.latitude, place.longitude), message.location, strict=True)
        )
    return candidate.body == message.text


def _what(message: QueuedMessage) -> str:
    """What a message is, for `not_supported`."""
    if message.poll_options is not None:
        return "polls"
    if message.media is not None:
        return "files"
    if message.location is not None:
        return "locations"
    return "sending"


def _kind(media: QueuedFile) -> MediaKind:
    """The stored kind, checked (an unknown one from an edited store goes as a document)."""
    for kind in MEDIA_KINDS:
        if kind == media.kind:
            return kind
    return "document"


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _tidy_folder(folder: Path, wanted: set[str]) -> set[str]:
    """Remove the folder's files not in `wanted`; the names of those that remain."""
    if not folder.is_dir():
        return set()
    present = set()
    for path in folder.iterdir():
        if path.name in wanted:
            present.add(path.name)
        elif path.is_file():
            _unlink(path)
    return present


def _now() -> float:
    return dt_util.utcnow().timestamp()
