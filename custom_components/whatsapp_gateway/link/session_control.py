"""Session control: what the WhatsApp session's status means for the link, and what we do.

The bridge reports the session's status (over the stream, or read over REST). WORKING makes
the link connected; a lost login asks for pairing. A FAILED session is restarted once per
episode and a STOPPED one started once (with the `auto_start` option), so a session that
cannot come back never makes the link loop on start/restart. An episode ends when the
session is WORKING again or the user reconnects. The pairing and session_missing fix flows
follow the status (`async_watch`) and drive `async_update_session` and `async_create_session`.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Literal, Protocol

from homeassistant.core import CALLBACK_TYPE, callback

from ..bridge import (
    Me,
    SessionInfo,
    SessionStatus,
    WahaAuthError,
    WahaClient,
    WahaError,
    WahaResponseError,
    WahaSessionNotFoundError,
    WahaSessionStatusError,
)
from ..bridge.errors import WahaSessionNameError
from ..const import (
    ISSUE_DEFAULT_SESSION_ONLY,
    ISSUE_PAIRING_REQUIRED,
    ISSUE_SESSION_MISSING,
    LOGGER,
)
from ..listeners import Listeners
from ..models import ConnectionState, DisconnectReason
from .issues import LinkIssues


class SessionHost(Protocol):
    """What session control needs from the link that owns it."""

    client: WahaClient
    session_name: str
    me: Me | None

    @property
    def state(self) -> ConnectionState:
        """The current connection state."""

    def set_state(
        self, state: ConnectionState, reason_if_lost: DisconnectReason | None = None
    ) -> None:
        """Move to `state`."""

    def enter_auth_failed(self) -> None:
        """The bridge rejected the API key."""

    def publish(self) -> None:
        """Push a new snapshot to the entities."""

    async def async_reconnect(self, *, restart_session: bool = False) -> ConnectionState:
        """Reset the backoff and reconnect now."""


class SessionControl:
    """Maps the session status to the link's state; starts and restarts once per episode."""

    def __init__(self, link: SessionHost, issues: LinkIssues, *, auto_start: bool) -> None:
        """Bind the link and its issues; `auto_start` starts a stopped session once."""
        self._link = link
        self._issues = issues
        self._auto_start = auto_start
        self.status: SessionStatus | None = None
        self.raw_status: str | None = None
        # Counts status events from the stream: a REST answer older than one is stale.
        self._status_events = 0
        self._watchers = Listeners()
        self._restarted_this_episode = False
        self._started_this_episode = False
        self.blocked = False
        """The session is missing or not allowed: the link waits for the user, no polling."""
        # Our own restart is under way: the STOPPED it passes through is no news.
        self._restarting = False
        # The session's NOWEB store was on (seen, or turned on by the repair): keep it on.
        self._store_wanted = False

    @callback
    def async_watch(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` on every session status event (a new QR code too) and change."""
        return self._watchers.add(listener)

    def new_episode(self) -> None:
        """The session works again, or the user asked: start and restart once more each."""
        self._restarted_this_episode = False
        self._started_this_episode = False

    def bridge_lost(self) -> None:
        """The link to the bridge went down: a restarted bridge leaves its session STOPPED.

        WAHA stops the session as it shuts down (a STOPPED event while it still answers) and
        starts none when it comes back, so the STOPPED seen during a shutdown must not use up
        the one start: a bridge restart or update would end in a stopped link.
        """
        self._started_this_episode = False

    # ----------------------------------------------------------------------------------
    # Session status -> connection state

    async def async_on_event(self, status: SessionStatus, raw: str | None, me: Me | None) -> None:
        """Apply a status event from the stream."""
        self._status_events += 1
        await self._async_apply_status(status, raw, me)
        # Every status event is news to a pairing flow: SCAN_QR_CODE again means a new code.
        self._watchers.notify()

    async def async_apply_session(self, info: SessionInfo) -> None:
        """Apply a status read over REST; watchers hear of it only when it changed."""
        # A stopped session read over REST is stopped, whatever we asked of it before.
        self._restarting = False
        self._store_wanted = self._store_wanted or info.noweb_store
        changed = info.status is not self.status
        await self._async_apply_status(info.status, info.raw_status, info.me)
        if changed:
            self._watchers.notify()

    async def _async_apply_status(
        self, status: SessionStatus, raw: str | None, me: Me | None
    ) -> None:
        """Map the session status (and the stream being up) to a connection state."""
        link = self._link
        self.status = status
        self.raw_status = raw
        self.blocked = False
        if me is not None:
            link.me = me
        if status is SessionStatus.STOPPED and self._restarting:
            link.publish()
            return
        self._restarting = False
        match status:
            case SessionStatus.WORKING:
                self.new_episode()
                self._issues.delete(ISSUE_PAIRING_REQUIRED)
                link.set_state(ConnectionState.CONNECTED)
            case SessionStatus.STARTING | SessionStatus.UNKNOWN:
                if link.state is ConnectionState.PAIRING_REQUIRED:
                    # Starting cannot bring the login back: it stays gone until a QR scan.
                    link.publish()
                else:
                    link.set_state(
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

    async def async_on_bridge_error(
        self, err: WahaError, *, drop_stream: Callable[[], None]
    ) -> bool:
        """Whether `err` is about the session (handled here), not about the link to the bridge.

        A 422 after the bridge's status wait tells the session's status: the bridge is up. A
        missing session, or one the edition refuses, waits for the user (without the stream).
        """
        if isinstance(err, WahaSessionStatusError) and err.status:
            await self.async_on_event(SessionStatus.parse(err.status), err.status, None)
            return True
        if isinstance(err, WahaSessionNotFoundError):
            drop_stream()
            self.enter_missing()
            return True
        if isinstance(err, WahaSessionNameError):
            drop_stream()
            self.enter_not_allowed()
            return True
        return False

    def enter_missing(self) -> None:
        """The bridge has no such session: raise the repair issue and wait for it."""
        self._enter_blocked(ISSUE_SESSION_MISSING)

    def enter_not_allowed(self) -> None:
        """WAHA Core before 2026.6.1 runs only `default`: say so instead of retrying."""
        self._enter_blocked(ISSUE_DEFAULT_SESSION_ONLY, fixable=False)

    def _enter_blocked(self, issue: str, *, fixable: bool = True) -> None:
        """Stay stopped until the user acts (fix, reconfigure, reconnect): no polling."""
        self.status = None
        self.raw_status = None
        self.blocked = True
        self._issues.raise_issue(issue, fixable=fixable)
        self._link.set_state(ConnectionState.STOPPED, DisconnectReason.SESSION_STOPPED)

    def _enter_pairing_required(self) -> None:
        self._issues.raise_issue(ISSUE_PAIRING_REQUIRED)
        self._link.set_state(ConnectionState.PAIRING_REQUIRED, DisconnectReason.LOGGED_OUT)

    # ----------------------------------------------------------------------------------
    # Start and restart, once per episode

    async def _async_handle_failed(self, me: Me | None) -> None:
        """FAILED: one restart per episode; then pairing (login gone) or failed.

        GOWS keeps `me` after a logout from the phone: there the restart shows whether the
        login is gone (it asks for a QR code). While pairing is required the login is gone,
        whatever `me` says.
        """
        login_gone = me is None or self._link.state is ConnectionState.PAIRING_REQUIRED
        if self._restarted_this_episode:
            if login_gone:
                self._enter_pairing_required()
            else:
                self._link.set_state(ConnectionState.FAILED, DisconnectReason.SESSION_STOPPED)
            return
        self._restarted_this_episode = True
        if login_gone:
            self._enter_pairing_required()
        else:
            self._link.set_state(ConnectionState.CONNECTING, DisconnectReason.SESSION_STOPPED)
        LOGGER.info("The WhatsApp session %s failed; restarting it once", self._link.session_name)
        await self.async_control("restart")

    async def _async_handle_stopped(self) -> None:
        """STOPPED: start once per episode when `auto_start`, else stay stopped."""
        link = self._link
        if link.state is ConnectionState.PAIRING_REQUIRED and self._started_this_episode:
            # Our own restart passes through STOPPED; the login is still gone.
            link.publish()
            return
        if self._auto_start and not self._started_this_episode:
            self._started_this_episode = True
            link.set_state(ConnectionState.CONNECTING, DisconnectReason.SESSION_STOPPED)
            LOGGER.info("The WhatsApp session %s is stopped; starting it", link.session_name)
            if self._store_wanted and not link.client.capabilities.history:
                # WAHA Core before 2026.6.1 forgets the session's config when it restarts:
                # the store that was on goes on again with the start (PUT, then start).
                await self._async_restore_store()
            await self.async_control("start")
            return
        link.set_state(ConnectionState.STOPPED, DisconnectReason.SESSION_STOPPED)

    async def _async_restore_store(self) -> None:
        link = self._link
        try:
            await link.client.enable_history(link.session_name)
        except WahaError as err:
            LOGGER.debug("Could not turn the NOWEB store on again: %s", err)
        else:
            LOGGER.info("Turned the NOWEB store of session %s on again", link.session_name)

    async def async_control(self, action: Literal["start", "restart"]) -> None:
        """Start or restart the session; its new status arrives as an event or poll."""
        link = self._link
        # A restart passes through STOPPED: that is not an episode to start on our own.
        self._started_this_episode = True
        # Its STOPPED may come over the stream before the answer does.
        self._restarting = action == "restart"
        try:
            if action == "start":
                info = await link.client.start_session(link.session_name)
            else:
                info = await link.client.restart_session(link.session_name)
        except WahaAuthError:
            self._restarting = False
            link.enter_auth_failed()
            return
        except WahaError as err:
            self._restarting = False
            LOGGER.warning(
                "Could not %s the WhatsApp session %s: %s", action, link.session_name, err
            )
            if self.status is SessionStatus.STOPPED:
                link.set_state(ConnectionState.STOPPED, DisconnectReason.SESSION_STOPPED)
            elif link.me is not None and link.state is not ConnectionState.PAIRING_REQUIRED:
                link.set_state(ConnectionState.FAILED, DisconnectReason.SESSION_STOPPED)
            return
        # The answer is usually STARTING; later statuses come through the stream or poll.
        if info.status is SessionStatus.STARTING:
            self.status = info.status
            self.raw_status = info.raw_status

    # ----------------------------------------------------------------------------------
    # Pairing and session repair (the fix flows drive these)

    async def async_update_session(self, *, start: bool) -> None:
        """Read the session status; with `start`, start it when stopped, restart it when failed.

        One control action per call, and only a user's pairing flow asks for it, so it cannot
        loop. Raises `WahaError` when the bridge cannot be asked.
        """
        link = self._link
        events_before = self._status_events
        info = await link.client.get_session(link.session_name)
        if start and info.status in (SessionStatus.STOPPED, SessionStatus.FAILED):
            # Our own action: the STOPPED and FAILED it passes through must not start another.
            self._started_this_episode = True
            self._restarted_this_episode = True
            LOGGER.info("Starting the WhatsApp session %s for pairing", link.session_name)
            info = await link.client.revive_session(link.session_name, info)
        # The stream may have reported newer statuses while the answer was on its way.
        if self._status_events == events_before:
            await self.async_apply_session(info)

    async def async_enable_history(self) -> None:
        """Turn the session's NOWEB store on; the bridge restarts a running session for it.

        Our own restart: the STOPPED it passes through must not start the session again.
        Raises `WahaError` when the bridge refuses.
        """
        link = self._link
        self._started_this_episode = True
        info = await link.client.enable_history(link.session_name)
        self._store_wanted = True
        if info.status is SessionStatus.STOPPED:
            # The bridge restarts only a running session; the store needs a start to work.
            info = await link.client.start_session(link.session_name)
        LOGGER.info("Turned the NOWEB store of session %s on", link.session_name)
        await self.async_apply_session(info)

    async def async_create_session(self) -> None:
        """Create and start the missing session on the bridge, then reconnect to it.

        Raises `WahaError` when the bridge refuses; a session that exists by now is fine.
        """
        link = self._link
        try:
            await link.client.create_session(link.session_name)
        except WahaResponseError as err:
            if err.status != HTTPStatus.UNPROCESSABLE_ENTITY:
                raise
        LOGGER.info("Created the WhatsApp session %s on the bridge", link.session_name)
        await link.async_reconnect()
