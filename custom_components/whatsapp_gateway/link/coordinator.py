"""The connection manager: owns the link to the WAHA bridge and publishes its health.

The event stream (WebSocket) is the fast path; the coordinator's poll reconciles the session
status and is the watchdog. Transient faults reconnect with capped, jittered backoff; a
rejected key stops every request and asks for reauthentication; a lost WhatsApp login stops
and raises a repair issue instead of looping on start/restart (see `session_control`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
import random
from typing import cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from ..ask import OpenQuestions
from ..assist import AgentResponder
from ..bridge import Me, ServerVersion, WahaAuthError, WahaClient, WahaError, WahaResponseError
from ..bridge.errors import WahaSessionNameError
from ..const import (
    BACKOFF_RESET_AFTER,
    CONF_AUTO_START,
    CONF_BACKOFF_MAX,
    CONF_HEARTBEAT,
    CONF_POLL_INTERVAL,
    CONF_PRESENCE_KEEPALIVE,
    CONF_SESSION,
    DEFAULT_SESSION,
    DOMAIN,
    ISSUE_DEFAULT_SESSION_ONLY,
    ISSUE_SESSION_MISSING,
    LOGGER,
    entry_option,
)
from ..incoming import IncomingMessages
from ..media_in import MediaReceiver
from ..models import ConnectionState, DisconnectReason, LinkSnapshot
from ..outgoing import OutgoingMessages
from .backoff import BackoffPolicy
from .history import HistoryKeeper
from .issues import LinkIssues, UnstableConnection
from .record import LinkRecord
from .retry import RetrySchedule
from .session_control import SessionControl
from .stream import StreamReader

type WhatsAppGatewayConfigEntry = ConfigEntry[WhatsAppGatewayCoordinator]

# Found out during an outage (a key rejected after a bridge restart, a logout noticed through
# a restart on GOWS), these replace the reason the link was first lost for.
OUTAGE_CAUSES = frozenset({DisconnectReason.AUTH_REJECTED, DisconnectReason.LOGGED_OUT})


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
        self._retry = RetrySchedule(
            hass,
            BackoffPolicy(maximum=float(entry_option(entry, CONF_BACKOFF_MAX))),
            random_fraction,
            self._retry_now,
        )
        self._issues = LinkIssues(hass, entry, self.session_name)
        self.session = SessionControl(
            self, self._issues, auto_start=entry_option(entry, CONF_AUTO_START)
        )
        """The session's status and control; the pairing and session fix flows use it."""
        self.unstable_link = UnstableConnection(self._issues)
        """The drops of the last hour and the unstable_connection warning."""
        self._presence_keepalive: bool = entry_option(entry, CONF_PRESENCE_KEEPALIVE)

        self.server: ServerVersion | None = None
        self._me: Me | None = None

        self._state = ConnectionState.CONNECTING
        self._record = LinkRecord(hass, entry.entry_id)
        self._connecting = False
        self._shut_down = False
        self.media = MediaReceiver(hass, entry, client, self.session_name, account=lambda: self._me)
        """Received files: saved to the local media folder, old ones removed daily."""
        self.incoming = IncomingMessages(hass, entry, client, self.session_name, media=self.media)
        self.outgoing = OutgoingMessages(
            hass,
            entry,
            client,
            self.session_name,
            is_connected=lambda: self._state is ConnectionState.CONNECTED,
            on_change=self.publish,
            own_sends=self.incoming.own_sends,
        )
        self._events = StreamReader(
            hass,
            entry,
            client,
            self.session_name,
            heartbeat=float(entry_option(entry, CONF_HEARTBEAT)),
            incoming=self.incoming,
            on_status=self.session.async_on_event,
            on_auth_failed=self.enter_auth_failed,
            on_closed=self._link_lost,
        )
        self._history = HistoryKeeper(hass, entry, client, self.incoming, self._issues)
        # Talking to the home: open questions (ask.py) and the agent's answers (assist.py).
        self.questions = OpenQuestions(hass, entry, client, self.incoming, self.outgoing)
        self.assist = AgentResponder.create(
            hass, entry, client, self.session_name, self.incoming, self.outgoing
        )

    @property
    def me(self) -> Me | None:
        """The WhatsApp account, once the session said who it is."""
        return self._me

    @me.setter
    def me(self, me: Me | None) -> None:
        self._me = me
        if me is not None:
            self.incoming.set_account((me.id, me.lid))

    # ----------------------------------------------------------------------------------
    # Lifecycle

    async def _async_setup(self) -> None:
        """Restore counters and the availability timeline."""
        await self._record.async_load()
        await self.incoming.async_load()
        await self.outgoing.async_load()
        self.media.async_start()

    async def _async_update_data(self) -> LinkSnapshot:
        """Poll: connect when idle, reconcile the session status, keep presence."""
        if self._shut_down or self._state is ConnectionState.AUTH_FAILED:
            return self._snapshot()
        # Write the timeline regularly: the time observed since the last state change counts.
        self._record.schedule_save()
        first = not self._has_data
        if not self._events.is_open:
            if self.session.blocked:
                # A missing or refused session waits for its repair or the reconnect action.
                return self._snapshot()
            if not self._retry.scheduled and not self._connecting:
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
        self._retry.cancel()
        # Nobody would clear the warning once the entry stops watching the link.
        self.unstable_link.stop()
        # Nothing may be delivered after the ledger is written, or a restart repeats it.
        await self._events.async_stop()
        await self._history.async_stop()
        self.questions.shutdown()
        await self.media.async_stop()
        if self.assist is not None:
            # After the last delivery: its answers reach the queue, written next.
            await self.assist.async_shutdown()
        await self.incoming.async_save()
        await self.outgoing.async_shutdown()
        await self._record.async_stop()
        await super().async_shutdown()

    # ----------------------------------------------------------------------------------
    # Connecting

    async def _async_connect(self) -> None:
        """Open the stream, then read the session status (in that order: nothing missed)."""
        if self._connecting or self._shut_down:
            return
        self._connecting = True
        self._retry.cancel()
        try:
            if self._retry.attempt:
                LOGGER.debug(
                    "Reconnecting to the bridge at %s (attempt %s)",
                    self.client.origin,
                    self._retry.attempt,
                )
            try:
                if self.server is None:
                    self.server = await self.client.version()
                if (
                    self.session_name != DEFAULT_SESSION
                    and not self.client.capabilities.multi_session
                ):
                    raise WahaSessionNameError("this edition runs only 'default'", status=422)
                await self._events.async_open()
                info = await self.client.get_session(self.session_name)
            except WahaError as err:
                await self._async_handle_bridge_error(err)
                return
            self._issues.delete(ISSUE_SESSION_MISSING)
            self._issues.delete(ISSUE_DEFAULT_SESSION_ONLY)
            await self.session.async_apply_session(info)
            self._history.check()
        finally:
            self._connecting = False

    async def _async_handle_bridge_error(self, err: WahaError) -> None:
        """A REST call or the stream opening failed: auth, missing session, or link down."""
        if isinstance(err, WahaAuthError):
            self.enter_auth_failed()
            return
        if await self.session.async_on_bridge_error(err, drop_stream=self._events.drop):
            return
        self._events.drop()
        self._link_lost(DisconnectReason.BRIDGE_UNREACHABLE, str(err))

    async def _async_reconcile(self) -> None:
        """Read the session status over REST: catches transitions the stream missed."""
        try:
            info = await self.client.get_session(self.session_name)
        except WahaError as err:
            if isinstance(err, WahaResponseError) and not err.permanent and self._events.is_open:
                # One failed status check (HTTP 500) while the stream is up is no outage.
                LOGGER.debug("The status check failed; the event stream is up: %s", err)
                return
            await self._async_handle_bridge_error(err)
            return
        await self.session.async_apply_session(info)
        if self._presence_keepalive and self._state is ConnectionState.CONNECTED:
            try:
                await self.client.set_presence(self.session_name, online=True)
            except WahaError as err:
                LOGGER.debug("Presence keepalive failed: %s", err)

    # ----------------------------------------------------------------------------------
    # Messages

    async def _async_check_messages(self) -> None:
        """While connected: run a due backfill, else look for a stalled stream."""
        if not await self._history.async_stream_stalled():
            return
        if self._state is not ConnectionState.CONNECTED or self._shut_down:
            return
        self.set_state(ConnectionState.RECONNECTING, DisconnectReason.STREAM_STALLED)
        self._events.drop()
        await self._async_connect()

    @property
    def _backfilling(self) -> bool:
        return self._history.backfilling

    async def async_enable_history(self) -> None:
        """Turn the NOWEB store on (the bridge restarts the session), then backfill."""
        await self.session.async_enable_history()
        self.incoming.mark_gap()
        self._history.check()

    # ----------------------------------------------------------------------------------
    # Terminal and transient states

    def enter_auth_failed(self) -> None:
        """Stop every request until the user acts; Home Assistant shows the reauth repair."""
        self._retry.cancel()
        self._events.drop()
        if self._state is not ConnectionState.AUTH_FAILED:
            LOGGER.warning(
                "The bridge at %s rejected the API key; stopped until it is re-entered",
                self.client.origin,
            )
        self.set_state(ConnectionState.AUTH_FAILED, DisconnectReason.AUTH_REJECTED)
        if self._has_data:
            # At the first refresh, setup raises ConfigEntryAuthFailed instead.
            self.config_entry.async_start_reauth(self.hass)

    def _link_lost(self, reason: DisconnectReason, detail: str) -> None:
        """The bridge link is down: schedule the next attempt with backoff."""
        if self._shut_down or self._state is ConnectionState.AUTH_FAILED:
            return
        was_connected = self._state is ConnectionState.CONNECTED
        if was_connected:
            LOGGER.info("Lost the WhatsApp link to %s (%s): %s", self.client.origin, reason, detail)
        else:
            LOGGER.debug("The bridge at %s is not reachable: %s", self.client.origin, detail)
        self.session.bridge_lost()
        # Leaving a healthy link resets the backoff (set_state); such a link closed by the
        # bridge is tried again at once (the first try is free).
        self.set_state(ConnectionState.RECONNECTING, reason)
        self._retry.schedule(at_once=was_connected and self._retry.attempt == 0)
        self.publish()

    def _retry_now(self) -> None:
        self.config_entry.async_create_background_task(
            self.hass, self._async_connect(), f"{DOMAIN} reconnect {self.session_name}"
        )

    # ----------------------------------------------------------------------------------
    # The reconnect action

    async def async_reconnect(self, *, restart_session: bool = False) -> ConnectionState:
        """Reset the backoff and reconnect now; from a terminal state, check once."""
        if self._shut_down:
            return self._state
        LOGGER.info("Reconnecting to the bridge at %s on request", self.client.origin)
        self._retry.cancel()
        self._retry.attempt = 0
        was_auth_failed = self._state is ConnectionState.AUTH_FAILED
        # Logged out: one check, never a start or restart (each would be one more login).
        was_pairing = self._state is ConnectionState.PAIRING_REQUIRED
        if self._state is ConnectionState.CONNECTED:
            self.set_state(ConnectionState.CONNECTING, DisconnectReason.MANUAL)
        await self._events.async_close()
        if was_auth_failed:
            # Leave the state alone until the check proves the key works.
            self._state = ConnectionState.CONNECTING
        if not was_pairing:
            self.session.new_episode()
        if restart_session and not (was_auth_failed or was_pairing):
            await self.session.async_control("restart")
        await self._async_connect()
        if was_auth_failed and self._state is ConnectionState.AUTH_FAILED:
            self.publish()
        return self._state

    # ----------------------------------------------------------------------------------
    # Bookkeeping

    def set_state(
        self, state: ConnectionState, reason_if_lost: DisconnectReason | None = None
    ) -> None:
        """Move to `state`; count a disconnect when leaving `connected`; log once each way."""
        previous = self._state
        if state is ConnectionState.CONNECTED and self._events.stream is None:
            # WORKING on the bridge but our stream is down: not connected yet.
            state = (
                ConnectionState.RECONNECTING if self._record.lost_at else ConnectionState.CONNECTING
            )
        if state is previous:
            self.publish()
            return
        now = dt_util.utcnow()
        self._state = state
        self._record.move(now, state, reason_if_lost)
        if previous is not ConnectionState.CONNECTED and reason_if_lost in OUTAGE_CAUSES:
            # The outage turned out to have a cause the user must fix: that is its reason.
            self._record.explain_outage(reason_if_lost)
        if previous is ConnectionState.CONNECTED:
            self.incoming.mark_gap()
            since = self._record.connected_since
            if since is not None and (now - since).total_seconds() >= BACKOFF_RESET_AFTER:
                # A healthy link: whatever took it down (a bridge restart goes through the
                # session's STOPPED first), the next outage backs off from the first step.
                self._retry.attempt = 0
            self._record.lost(now, reason_if_lost)
            if reason_if_lost is not DisconnectReason.MANUAL:
                self.unstable_link.track_drop(now.timestamp(), reason_if_lost)
            if state is not ConnectionState.RECONNECTING:
                LOGGER.info("Lost the WhatsApp link to %s (%s)", self.client.origin, reason_if_lost)
        elif state is ConnectionState.CONNECTED:
            self._record.connected_since = now
            self._retry.cancel()
            if not self._shut_down:
                self._history.start_backfill()
            self.outgoing.async_on_connected()
            outage = self._record.end_outage(now)
            if outage is not None:
                LOGGER.info(
                    "The WhatsApp link to %s is back after %.1f s", self.client.origin, outage
                )
        if state is not ConnectionState.RECONNECTING and not self._retry.scheduled:
            self._retry.next_attempt = None
        self._record.schedule_save()
        self.publish()

    def _snapshot(self) -> LinkSnapshot:
        return self._record.snapshot(
            dt_util.utcnow().timestamp(),
            state=self._state,
            bridge_status=self.session.raw_status,
            attempt=self._retry.attempt,
            next_attempt=self._retry.next_attempt,
            outbound_queue=len(self.outgoing),
        )

    @callback
    def publish(self) -> None:
        """Push a new snapshot to the entities without touching the poll schedule."""
        if not self._has_data:
            return
        snapshot = self._snapshot()
        if snapshot != self.data:
            self.data = snapshot
            self.async_update_listeners()

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
        return self._retry.backoff

    @property
    def transitions(self) -> deque[tuple[datetime, ConnectionState, DisconnectReason | None]]:
        """The last 50 state changes, for diagnostics."""
        return self._record.transitions
