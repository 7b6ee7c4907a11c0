"""The connection manager: owns the link to the WAHA bridge and publishes its health.

The event stream (WebSocket) is the fast path; the coordinator's poll reconciles the session
status and is the watchdog. Transient faults reconnect with capped, jittered backoff; a
rejected key stops every request and asks for reauthentication; a lost WhatsApp login stops
and raises a repair issue instead of looping on start/restart.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import contextlib
from datetime import datetime, timedelta
from http import HTTPStatus
import random
from typing import Any, cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .availability import AvailabilityTimeline
from .backoff import BackoffPolicy
from .bridge import (
    EventStream,
    Me,
    ServerVersion,
    SessionInfo,
    SessionStatus,
    StreamEvent,
    WahaAuthError,
    WahaClient,
    WahaError,
    WahaResponseError,
    WahaSessionNotFoundError,
    WahaStreamClosedError,
    WaMessage,
)
from .const import (
    AVAILABILITY_WINDOW,
    BACKOFF_RESET_AFTER,
    CONF_AUTO_START,
    CONF_BACKOFF_MAX,
    CONF_HEARTBEAT,
    CONF_POLL_INTERVAL,
    CONF_PRESENCE_KEEPALIVE,
    CONF_SESSION,
    DOMAIN,
    ISSUE_PAIRING_REQUIRED,
    ISSUE_SESSION_MISSING,
    ISSUE_UNSTABLE_CONNECTION,
    LOGGER,
    entry_option,
)
from .incoming import IncomingMessages
from .listeners import Listeners
from .models import ConnectionState, DisconnectReason, LinkSnapshot
from .outgoing import OutgoingMessages
from .storage import PeriodicSave

type WhatsAppGatewayConfigEntry = ConfigEntry[WhatsAppGatewayCoordinator]

STORAGE_VERSION = 1
# The availability sensor stays unknown until this much time was observed.
AVAILABILITY_MIN_OBSERVED = 60.0
# Handle this many buffered stream frames, then let the event loop run other work.
STREAM_BATCH = 100
# Write the availability timeline and counters at most this often (and at shutdown).
STORAGE_SAVE_DELAY = 60.0
# More drops than this within UNSTABLE_WINDOW raise the unstable_connection warning, which
# clears itself after UNSTABLE_WINDOW without a drop.
UNSTABLE_DROPS = 6
UNSTABLE_WINDOW = 3600.0
# The warning lists this many of the latest disconnect reasons.
UNSTABLE_REASONS_SHOWN = 5


def link_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The store of one entry's availability timeline and counters."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", private=True)


class WhatsAppGatewayCoordinator(DataUpdateCoordinator[LinkSnapshot]):
    """Owns one session's link to the bridge; its data is a `LinkSnapshot`."""

    config_entry: WhatsAppGatewayConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: WhatsAppGatewayConfigEntry,
        client: WahaClient,
        *,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        """Set up the state; nothing is sent to the bridge before the first refresh."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(seconds=entry_option(entry, CONF_POLL_INTERVAL)),
        )
        self.client = client
        self.session_name: str = entry.data[CONF_SESSION]
        self._heartbeat = float(entry_option(entry, CONF_HEARTBEAT))
        self._backoff = BackoffPolicy(maximum=float(entry_option(entry, CONF_BACKOFF_MAX)))
        self._auto_start: bool = entry_option(entry, CONF_AUTO_START)
        self._presence_keepalive: bool = entry_option(entry, CONF_PRESENCE_KEEPALIVE)
        self._random_fraction = random_fraction
        self._store = link_store(hass, entry.entry_id)
        self._saver = PeriodicSave(self._store, self._storage_data, STORAGE_SAVE_DELAY)

        self.server: ServerVersion | None = None
        self.me: Me | None = None

        self._state = ConnectionState.CONNECTING
        self._session_status: SessionStatus | None = None
        self._raw_status: str | None = None
        self._stream: EventStream | None = None
        self._connecting = False
        self._attempt = 0
        self._next_attempt: datetime | None = None
        self._retry_unsub: CALLBACK_TYPE | None = None
        self._connected_since: datetime | None = None
        self._lost_at: datetime | None = None
        self._disconnects = 0
        self._last_reason: DisconnectReason | None = None
        self._last_outage: float | None = None
        self._restarted_this_episode = False
        self._started_this_episode = False
        self._shut_down = False
        self._timeline = AvailabilityTimeline(window=AVAILABILITY_WINDOW)
        # The last 50 state changes, for diagnostics.
        self.transitions: deque[tuple[datetime, ConnectionState, DisconnectReason | None]] = deque(
            maxlen=50
        )
        self.incoming = IncomingMessages(hass, entry, client, self.session_name)
        self.outgoing = OutgoingMessages(
            hass,
            entry,
            client,
            self.session_name,
            is_connected=lambda: self._state is ConnectionState.CONNECTED,
            on_change=self._publish,
        )
        self._reader_task: asyncio.Task[None] | None = None
        self._backfill_task: asyncio.Task[None] | None = None
        self._warned_malformed: set[str] = set()
        self._session_watchers = Listeners()
        # Counts status events from the stream: a REST answer older than one is stale.
        self._status_events = 0
        # When the link dropped within the last UNSTABLE_WINDOW, and why.
        self._recent_drops: deque[tuple[float, DisconnectReason | None]] = deque()
        self._unstable_clear_unsub: CALLBACK_TYPE | None = None

    # ----------------------------------------------------------------------------------
    # Lifecycle

    async def _async_setup(self) -> None:
        """Restore counters and the availability timeline."""
        stored = await self._store.async_load() or {}
        now = dt_util.utcnow().timestamp()
        self._timeline = AvailabilityTimeline.from_dict(
            stored.get("availability"), window=AVAILABILITY_WINDOW, now=now
        )
        disconnects = stored.get("disconnects")
        self._disconnects = disconnects if isinstance(disconnects, int) else 0
        reason = stored.get("last_disconnect_reason")
        if isinstance(reason, str) and reason in set(DisconnectReason):
            self._last_reason = DisconnectReason(reason)
        outage = stored.get("last_outage")
        if isinstance(outage, int | float):
            self._last_outage = float(outage)
        self._timeline.mark(now, connected=False)
        await self.incoming.async_load()
        await self.outgoing.async_load()

    async def _async_update_data(self) -> LinkSnapshot:
        """Poll: connect when idle, reconcile the session status, keep presence."""
        if self._shut_down or self._state is ConnectionState.AUTH_FAILED:
            return self._snapshot()
        # Write the timeline regularly: the time observed since the last state change counts.
        self._saver.schedule()
        first = not self._has_data
        if self._stream is None or self._stream.closed:
            if self._retry_unsub is None and not self._connecting:
                # The watchdog: nothing is scheduled, so the link is idle: connect now.
                await self._async_connect()
                if first and self.state is ConnectionState.AUTH_FAILED:
                    raise ConfigEntryAuthFailed(
                        translation_domain=DOMAIN, translation_key="invalid_auth"
                    )
            return self._snapshot()
        await self._async_reconcile()
        if self._state is ConnectionState.CONNECTED:
            await self._async_check_messages()
        return self._snapshot()

    async def async_shutdown(self) -> None:
        """Close the stream, stop delivering, cancel every timer; save what must survive."""
        self._shut_down = True
        self._cancel_retry()
        if self._unstable_clear_unsub is not None:
            self._unstable_clear_unsub()
            self._unstable_clear_unsub = None
        # Nobody would clear the warning once the entry stops watching the link.
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_UNSTABLE_CONNECTION))
        await self._async_close_stream()
        # Nothing may be delivered after the ledger is written, or a restart repeats it.
        for task in (self._backfill_task, self._reader_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.incoming.async_save()
        await self.outgoing.async_shutdown()
        self._timeline.stop(dt_util.utcnow().timestamp())
        await self._saver.async_save_now()
        await super().async_shutdown()

    # ----------------------------------------------------------------------------------
    # Connecting

    async def _async_connect(self) -> None:
        """Open the stream, then read the session status (in that order: nothing missed)."""
        if self._connecting or self._shut_down:
            return
        self._connecting = True
        self._cancel_retry()
        try:
            if self._attempt:
                LOGGER.debug(
                    "Reconnecting to the bridge at %s (attempt %s)",
                    self.client.origin,
                    self._attempt,
                )
            try:
                if self.server is None:
                    self.server = await self.client.version()
                if self._stream is None or self._stream.closed:
                    # aiohttp rounds timer deadlines above 5 s up to the next whole second;
                    # one second less keeps "a dead link is noticed within heartbeat + 15 s".
                    stream = await self.client.connect_stream(
                        self.session_name, heartbeat=max(self._heartbeat - 1, 1.0)
                    )
                    self._stream = stream
                    self._reader_task = self.config_entry.async_create_background_task(
                        self.hass,
                        self._async_read_stream(stream),
                        f"{DOMAIN} event stream {self.session_name}",
                    )
                info = await self.client.get_session(self.session_name)
            except WahaError as err:
                await self._async_handle_bridge_error(err)
                return
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_SESSION_MISSING))
            await self._async_apply_session(info)
        finally:
            self._connecting = False

    async def _async_handle_bridge_error(self, err: WahaError) -> None:
        """A REST call or the stream opening failed: auth, missing session, or link down."""
        if isinstance(err, WahaAuthError):
            self._enter_auth_failed()
            return
        self._drop_stream()
        if isinstance(err, WahaSessionNotFoundError):
            self._enter_session_missing()
        else:
            self._link_lost(DisconnectReason.BRIDGE_UNREACHABLE, str(err))

    async def _async_reconcile(self) -> None:
        """Read the session status over REST: catches transitions the stream missed."""
        try:
            info = await self.client.get_session(self.session_name)
        except WahaError as err:
            await self._async_handle_bridge_error(err)
            return
        await self._async_apply_session(info)
        if self._presence_keepalive and self._state is ConnectionState.CONNECTED:
            try:
                await self.client.set_presence(self.session_name, online=True)
            except WahaError as err:
                LOGGER.debug("Presence keepalive failed: %s", err)

    async def _async_read_stream(self, stream: EventStream) -> None:
        """Consume events until the stream ends, then hand over to the reconnect logic."""
        try:
            handled = 0
            async for event in stream:
                if stream is not self._stream:
                    return
                await self._async_handle_event(event)
                handled += 1
                if handled % STREAM_BATCH == 0:
                    # Frames already buffered are read without suspending: let others run.
                    await asyncio.sleep(0)
        except WahaAuthError:
            if stream is self._stream:
                self._enter_auth_failed()
        except WahaStreamClosedError as err:
            if stream is self._stream:
                self._stream = None
                reason = (
                    DisconnectReason.HEARTBEAT_TIMEOUT
                    if err.heartbeat_timeout
                    else DisconnectReason.STREAM_CLOSED
                )
                self._link_lost(reason, str(err))
        finally:
            await stream.close()

    async def _async_handle_event(self, event: StreamEvent) -> None:
        if event.session not in (None, self.session_name):
            return
        if event.event == "message":
            try:
                message = WaMessage.parse(event.payload)
            except WahaResponseError:
                self._warn_malformed("a message event without an id or a chat")
                return
            await self.incoming.async_on_live(message)
            return
        status = event.session_status
        if status is None:
            return
        raw = event.payload.get("status")
        self._status_events += 1
        await self._async_apply_status(status, raw if isinstance(raw, str) else None, event.me)
        # Every status event is news to a pairing flow: SCAN_QR_CODE again means a new code.
        self._session_watchers.notify()

    def _warn_malformed(self, kind: str) -> None:
        if kind not in self._warned_malformed:
            self._warned_malformed.add(kind)
            LOGGER.warning("Ignoring %s from the bridge at %s", kind, self.client.origin)

    # ----------------------------------------------------------------------------------
    # Messages

    async def _async_check_messages(self) -> None:
        """While connected: run a due backfill, else look for a stalled stream."""
        if self.incoming.backfill_due or self._backfilling:
            self._start_backfill()
            return
        if not await self.incoming.async_stream_stalled():
            return
        if self._state is not ConnectionState.CONNECTED or self._shut_down:
            return
        LOGGER.info(
            "The event stream from %s stalled (messages arrived but no events); reopening it",
            self.client.origin,
        )
        self._set_state(ConnectionState.RECONNECTING, DisconnectReason.STREAM_STALLED)
        self._drop_stream()
        await self._async_connect()

    @property
    def _backfilling(self) -> bool:
        return self._backfill_task is not None and not self._backfill_task.done()

    def _start_backfill(self) -> None:
        """Deliver what the stream missed, once the link is up (one backfill at a time)."""
        if self._backfilling or not self.incoming.backfill_due or self._shut_down:
            return
        self._backfill_task = self.config_entry.async_create_background_task(
            self.hass, self.incoming.async_backfill(), f"{DOMAIN} backfill {self.session_name}"
        )

    async def _async_close_stream(self) -> None:
        """Close the stream and wait for it (at shutdown: nothing may outlive the entry)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.close()

    def _drop_stream(self) -> None:
        """Let go of the stream now and close it meanwhile: reconnecting must not wait.

        A half-open socket never answers the close handshake, so waiting for it would add
        the whole close timeout to the outage.
        """
        stream, self._stream = self._stream, None
        if stream is not None:
            self.config_entry.async_create_background_task(
                self.hass, stream.close(), f"{DOMAIN} close stream"
            )

    # ----------------------------------------------------------------------------------
    # Session status -> connection state

    async def _async_apply_session(self, info: SessionInfo) -> None:
        """Apply a status read over REST; watchers hear of it only when it changed."""
        changed = info.status is not self._session_status
        await self._async_apply_status(info.status, info.raw_status, info.me)
        if changed:
            self._session_watchers.notify()

    async def _async_apply_status(
        self, status: SessionStatus, raw: str | None, me: Me | None
    ) -> None:
        """Map the session status (and the stream being up) to a connection state."""
        self._session_status = status
        self._raw_status = raw
        if me is not None:
            self.me = me
        match status:
            case SessionStatus.WORKING:
                self._restarted_this_episode = False
                self._started_this_episode = False
                ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_PAIRING_REQUIRED))
                self._set_state(ConnectionState.CONNECTED)
            case SessionStatus.STARTING | SessionStatus.UNKNOWN:
                if self._state is ConnectionState.PAIRING_REQUIRED:
                    # Starting cannot bring the login back: it stays gone until a QR scan.
                    self._publish()
                else:
                    self._set_state(
                        ConnectionState.CONNECTING, DisconnectReason.WHATSAPP_RECONNECTING
                    )
            case (
                SessionStatus.SCAN_QR_CODE
                | SessionStatus.PASSKEY_REQUIRED
                | SessionStatus.PASSKEY_CONFIRMATION_REQUIRED
            ):
                self._enter_pairing_required()
            case SessionStatus.FAILED:
                await self._async_handle_failed(me)
            case SessionStatus.STOPPED:
                await self._async_handle_stopped()

    async def _async_handle_failed(self, me: Me | None) -> None:
        """FAILED: one restart per episode; then pairing (login gone) or failed."""
        login_gone = me is None
        if self._restarted_this_episode:
            if login_gone:
                self._enter_pairing_required()
            else:
                self._set_state(ConnectionState.FAILED, DisconnectReason.SESSION_STOPPED)
            return
        self._restarted_this_episode = True
        if login_gone:
            self._enter_pairing_required()
        else:
            self._set_state(ConnectionState.CONNECTING, DisconnectReason.SESSION_STOPPED)
        LOGGER.info("The WhatsApp session %s failed; restarting it once", self.session_name)
        await self._async_control("restart")

    async def _async_handle_stopped(self) -> None:
        """STOPPED: start once per episode when `auto_start`, else stay stopped."""
        if self._state is ConnectionState.PAIRING_REQUIRED and self._started_this_episode:
            # Our own restart passes through STOPPED; the login is still gone.
            self._publish()
            return
        if self._auto_start and not self._started_this_episode:
            self._started_this_episode = True
            self._set_state(ConnectionState.CONNECTING, DisconnectReason.SESSION_STOPPED)
            LOGGER.info("The WhatsApp session %s is stopped; starting it", self.session_name)
            await self._async_control("start")
            return
        self._set_state(ConnectionState.STOPPED, DisconnectReason.SESSION_STOPPED)

    async def _async_control(self, action: str) -> None:
        """Start or restart the session; its new status arrives as an event or poll."""
        # A restart passes through STOPPED: that is not an episode to start on our own.
        self._started_this_episode = True
        try:
            if action == "start":
                info = await self.client.start_session(self.session_name)
            else:
                info = await self.client.restart_session(self.session_name)
        except WahaAuthError:
            self._enter_auth_failed()
            return
        except WahaError as err:
            LOGGER.warning(
                "Could not %s the WhatsApp session %s: %s", action, self.session_name, err
            )
            if self._session_status is SessionStatus.STOPPED:
                self._set_state(ConnectionState.STOPPED, DisconnectReason.SESSION_STOPPED)
            elif self.me is not None and self._state is not ConnectionState.PAIRING_REQUIRED:
                self._set_state(ConnectionState.FAILED, DisconnectReason.SESSION_STOPPED)
            return
        # The answer is usually STARTING; later statuses come through the stream or poll.
        if info.status is SessionStatus.STARTING:
            self._session_status = info.status
            self._raw_status = info.raw_status

    # ----------------------------------------------------------------------------------
    # Terminal and transient states

    def _raise_issue(
        self,
        key: str,
        *,
        fixable: bool = True,
        severity: ir.IssueSeverity = ir.IssueSeverity.ERROR,
        placeholders: dict[str, str] | None = None,
    ) -> None:
        """Create (or refresh) this entry's repair issue `key`; its fix flow finds the entry."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(key),
            data={"entry_id": self.config_entry.entry_id},
            is_fixable=fixable,
            is_persistent=False,
            severity=severity,
            translation_key=key,
            translation_placeholders={
                "title": self.config_entry.title,
                "session": self.session_name,
                **(placeholders or {}),
            },
        )

    def _enter_pairing_required(self) -> None:
        self._raise_issue(ISSUE_PAIRING_REQUIRED)
        self._set_state(ConnectionState.PAIRING_REQUIRED, DisconnectReason.LOGGED_OUT)

    def _enter_session_missing(self) -> None:
        self._session_status = None
        self._raw_status = None
        self._raise_issue(ISSUE_SESSION_MISSING)
        self._set_state(ConnectionState.STOPPED, DisconnectReason.SESSION_STOPPED)

    def _enter_auth_failed(self) -> None:
        """Stop every request until the user acts; Home Assistant shows the reauth repair."""
        self._cancel_retry()
        self._drop_stream()
        if self._state is not ConnectionState.AUTH_FAILED:
            LOGGER.warning(
                "The bridge at %s rejected the API key; stopped until it is re-entered",
                self.client.origin,
            )
        self._set_state(ConnectionState.AUTH_FAILED, DisconnectReason.AUTH_REJECTED)
        if self._has_data:
            # At the first refresh, setup raises ConfigEntryAuthFailed instead.
            self.config_entry.async_start_reauth(self.hass)

    def _link_lost(self, reason: DisconnectReason, detail: str) -> None:
        """The bridge link is down: schedule the next attempt with backoff."""
        if self._shut_down or self._state is ConnectionState.AUTH_FAILED:
            return
        now = dt_util.utcnow()
        if (
            self._connected_since is not None
            and (now - self._connected_since).total_seconds() >= BACKOFF_RESET_AFTER
        ):
            self._attempt = 0
        if self._state is ConnectionState.CONNECTED:
            LOGGER.info("Lost the WhatsApp link to %s (%s): %s", self.client.origin, reason, detail)
        else:
            LOGGER.debug("The bridge at %s is not reachable: %s", self.client.origin, detail)
        self._set_state(ConnectionState.RECONNECTING, reason)
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        self._cancel_retry()
        self._attempt += 1
        delay = self._backoff.delay(self._attempt, self._random_fraction())
        self._next_attempt = dt_util.utcnow() + timedelta(seconds=delay)
        LOGGER.debug("Next attempt %s in %.1f s", self._attempt, delay)
        self._retry_unsub = async_call_later(
            self.hass,
            delay,
            HassJob(self._retry_now, f"{DOMAIN} reconnect", cancel_on_shutdown=True),
        )
        self._publish()

    @callback
    def _retry_now(self, _now: datetime) -> None:
        self._retry_unsub = None
        self._next_attempt = None
        self.config_entry.async_create_background_task(
            self.hass, self._async_connect(), f"{DOMAIN} reconnect {self.session_name}"
        )

    def _cancel_retry(self) -> None:
        if self._retry_unsub is not None:
            self._retry_unsub()
            self._retry_unsub = None
        self._next_attempt = None

    # ----------------------------------------------------------------------------------
    # The unstable_connection warning

    def _track_drop(self, at: float, reason: DisconnectReason | None) -> None:
        """Remember a drop; more than UNSTABLE_DROPS within the window raise the warning."""
        self._recent_drops.append((at, reason))
        while self._recent_drops and self._recent_drops[0][0] <= at - UNSTABLE_WINDOW:
            self._recent_drops.popleft()
        if self._unstable_clear_unsub is not None:
            # A drop restarts the hour the warning needs to clear itself.
            self._unstable_clear_unsub()
            self._unstable_clear_unsub = None
        if len(self._recent_drops) > UNSTABLE_DROPS:
            latest = [str(why) for _, why in self._recent_drops if why is not None]
            self._raise_issue(
                ISSUE_UNSTABLE_CONNECTION,
                fixable=False,
                severity=ir.IssueSeverity.WARNING,
                placeholders={
                    "count": str(len(self._recent_drops)),
                    "reasons": ", ".join(latest[-UNSTABLE_REASONS_SHOWN:]),
                },
            )
        if self.unstable:
            self._unstable_clear_unsub = async_call_later(
                self.hass,
                UNSTABLE_WINDOW,
                HassJob(self._clear_unstable, f"{DOMAIN} unstable clear", cancel_on_shutdown=True),
            )

    @property
    def unstable(self) -> bool:
        """Whether the unstable_connection warning is raised for this entry."""
        issue_id = self._issue_id(ISSUE_UNSTABLE_CONNECTION)
        return ir.async_get(self.hass).async_get_issue(DOMAIN, issue_id) is not None

    @callback
    def _clear_unstable(self, _now: datetime) -> None:
        """An hour without a drop: the link is stable again."""
        self._unstable_clear_unsub = None
        self._recent_drops.clear()
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_UNSTABLE_CONNECTION))

    @property
    def recent_drops(self) -> int:
        """How many drops happened within the last hour."""
        since = dt_util.utcnow().timestamp() - UNSTABLE_WINDOW
        return sum(1 for at, _ in self._recent_drops if at > since)

    # ----------------------------------------------------------------------------------
    # Pairing and session repair (the fix flows drive these)

    @property
    def session_status(self) -> SessionStatus | None:
        """The session status last reported by the bridge (None: unknown or missing)."""
        return self._session_status

    @callback
    def async_watch_session(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` on every session status event (a new QR code too) and change."""
        return self._session_watchers.add(listener)

    async def async_update_session(self, *, start: bool) -> None:
        """Read the session status; with `start`, start it when stopped, restart it when failed.

        One control action per call, and only a user's pairing flow asks for it, so it cannot
        loop. Raises `WahaError` when the bridge cannot be asked.
        """
        events_before = self._status_events
        info = await self.client.get_session(self.session_name)
        if start and info.status in (SessionStatus.STOPPED, SessionStatus.FAILED):
            # Our own action: the STOPPED and FAILED it passes through must not start another.
            self._started_this_episode = True
            self._restarted_this_episode = True
            LOGGER.info("Starting the WhatsApp session %s for pairing", self.session_name)
            info = await self.client.revive_session(self.session_name, info)
        # The stream may have reported newer statuses while the answer was on its way.
        if self._status_events == events_before:
            await self._async_apply_session(info)

    async def async_create_session(self) -> None:
        """Create and start the missing session on the bridge, then reconnect to it.

        Raises `WahaError` when the bridge refuses; a session that exists by now is fine.
        """
        try:
            await self.client.create_session(self.session_name)
        except WahaResponseError as err:
            if err.status != HTTPStatus.UNPROCESSABLE_ENTITY:
                raise
        LOGGER.info("Created the WhatsApp session %s on the bridge", self.session_name)
        await self.async_reconnect()

    # ----------------------------------------------------------------------------------
    # The reconnect action

    async def async_reconnect(self, *, restart_session: bool = False) -> ConnectionState:
        """Reset the backoff and reconnect now; from a terminal state, check once."""
        if self._shut_down:
            return self._state
        LOGGER.info("Reconnecting to the bridge at %s on request", self.client.origin)
        self._cancel_retry()
        self._attempt = 0
        was_auth_failed = self._state is ConnectionState.AUTH_FAILED
        if self._state is ConnectionState.CONNECTED:
            self._set_state(ConnectionState.CONNECTING, DisconnectReason.MANUAL)
        await self._async_close_stream()
        if was_auth_failed:
            # Leave the state alone until the check proves the key works.
            self._state = ConnectionState.CONNECTING
        self._restarted_this_episode = False
        self._started_this_episode = False
        if restart_session and not was_auth_failed:
            await self._async_control("restart")
        await self._async_connect()
        if was_auth_failed and self._state is ConnectionState.AUTH_FAILED:
            self._publish()
        return self._state

    # ----------------------------------------------------------------------------------
    # Bookkeeping

    def _set_state(
        self, state: ConnectionState, reason_if_lost: DisconnectReason | None = None
    ) -> None:
        """Move to `state`; count a disconnect when leaving `connected`; log once each way."""
        previous = self._state
        if state is ConnectionState.CONNECTED and self._stream is None:
            # WORKING on the bridge but our stream is down: not connected yet.
            state = ConnectionState.RECONNECTING if self._lost_at else ConnectionState.CONNECTING
        if state is previous:
            self._publish()
            return
        now = dt_util.utcnow()
        self._state = state
        self.transitions.append((now, state, reason_if_lost))
        self._timeline.mark(now.timestamp(), connected=state is ConnectionState.CONNECTED)
        if previous is ConnectionState.CONNECTED:
            self.incoming.mark_gap()
            self._disconnects += 1
            self._last_reason = reason_if_lost
            self._lost_at = now
            self._connected_since = None
            if reason_if_lost is not DisconnectReason.MANUAL:
                self._track_drop(now.timestamp(), reason_if_lost)
            if state is not ConnectionState.RECONNECTING:
                LOGGER.info("Lost the WhatsApp link to %s (%s)", self.client.origin, reason_if_lost)
        elif state is ConnectionState.CONNECTED:
            self._connected_since = now
            self._cancel_retry()
            self._start_backfill()
            self.outgoing.async_on_connected()
            if self._lost_at is not None:
                self._last_outage = round((now - self._lost_at).total_seconds(), 1)
                LOGGER.info(
                    "The WhatsApp link to %s is back after %.1f s",
                    self.client.origin,
                    self._last_outage,
                )
                self._lost_at = None
        if state is not ConnectionState.RECONNECTING and self._retry_unsub is None:
            self._next_attempt = None
        self._saver.schedule()
        self._publish()

    def _snapshot(self) -> LinkSnapshot:
        now = dt_util.utcnow().timestamp()
        availability = self._timeline.percentage(now, min_observed=AVAILABILITY_MIN_OBSERVED)
        return LinkSnapshot(
            state=self._state,
            bridge_status=self._raw_status,
            connected_since=self._connected_since,
            # The backoff counter survives a short connection (reset after 60 s up), but
            # while connected there is no attempt to show.
            attempt=0 if self._state is ConnectionState.CONNECTED else self._attempt,
            next_attempt=self._next_attempt,
            disconnects=self._disconnects,
            last_disconnect_reason=self._last_reason,
            last_outage=self._last_outage,
            availability=None if availability is None else round(availability, 2),
            outbound_queue=len(self.outgoing),
        )

    @callback
    def _publish(self) -> None:
        """Push a new snapshot to the entities without touching the poll schedule."""
        if not self._has_data:
            return
        snapshot = self._snapshot()
        if snapshot != self.data:
            self.data = snapshot
            self.async_update_listeners()

    def _storage_data(self) -> dict[str, Any]:
        return {
            "availability": self._timeline.as_dict(dt_util.utcnow().timestamp()),
            "disconnects": self._disconnects,
            "last_disconnect_reason": self._last_reason,
            "last_outage": self._last_outage,
        }

    @property
    def _has_data(self) -> bool:
        """Whether the first refresh has finished (before it, `data` is None)."""
        return cast("LinkSnapshot | None", self.data) is not None

    @property
    def state(self) -> ConnectionState:
        """The current connection state."""
        return self._state

    @property
    def backoff(self) -> BackoffPolicy:
        """The reconnect delay policy (its cap is the `backoff_max` option)."""
        return self._backoff

    def _issue_id(self, key: str) -> str:
        return f"{key}_{self.config_entry.entry_id}"
