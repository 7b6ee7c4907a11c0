"""What the link remembers: state changes, disconnect counters and the availability timeline.

The counters and the timeline survive a restart in the entry's link store, written at most
every STORAGE_SAVE_DELAY and at shutdown; the last state changes are kept in memory for
diagnostics.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import AVAILABILITY_WINDOW, DOMAIN
from ..models import ConnectionState, DisconnectReason, LinkSnapshot
from ..storage import PeriodicSave
from .availability import AvailabilityTimeline

STORAGE_VERSION = 1
# The availability sensor stays unknown until this much time was observed.
AVAILABILITY_MIN_OBSERVED = 60.0
# Write the availability timeline and counters at most this often (and at shutdown).
STORAGE_SAVE_DELAY = 60.0


def link_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The store of one entry's availability timeline and counters."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", private=True)


class LinkRecord:
    """The bookkeeping behind the link's state: when it changed, how often it dropped."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Start empty (nothing observed, no disconnects) until `async_load`."""
        self._store = link_store(hass, entry_id)
        self._saver = PeriodicSave(self._store, self._storage_data, STORAGE_SAVE_DELAY)
        self.timeline = AvailabilityTimeline(window=AVAILABILITY_WINDOW)
        # The last 50 state changes, for diagnostics.
        self.transitions: deque[tuple[datetime, ConnectionState, DisconnectReason | None]] = deque(
            maxlen=50
        )
        self.connected_since: datetime | None = None
        self.lost_at: datetime | None = None
        self.disconnects = 0
        self.last_reason: DisconnectReason | None = None
        self.last_outage: float | None = None

    async def async_load(self) -> None:
        """Take over what the store kept (ignoring what is malformed); we are not connected."""
        stored = await self._store.async_load() or {}
        now = dt_util.utcnow().timestamp()
        self.timeline = AvailabilityTimeline.from_dict(
            stored.get("availability"), window=AVAILABILITY_WINDOW, now=now
        )
        disconnects = stored.get("disconnects")
        self.disconnects = disconnects if isinstance(disconnects, int) else 0
        reason = stored.get("last_disconnect_reason")
        if isinstance(reason, str) and reason in set(DisconnectReason):
            self.last_reason = DisconnectReason(reason)
        outage = stored.get("last_outage")
        if isinstance(outage, int | float):
            self.last_outage = float(outage)
        self.timeline.mark(now, connected=False)

    def schedule_save(self) -> None:
        """Something changed (or time passed): write within STORAGE_SAVE_DELAY."""
        self._saver.schedule()

    async def async_stop(self) -> None:
        """Stop observing and write now (at shutdown)."""
        self.timeline.stop(dt_util.utcnow().timestamp())
        await self._saver.async_save_now()

    def _storage_data(self) -> dict[str, Any]:
        return {
            "availability": self.timeline.as_dict(dt_util.utcnow().timestamp()),
            "disconnects": self.disconnects,
            "last_disconnect_reason": self.last_reason,
            "last_outage": self.last_outage,
        }

    def move(self, now: datetime, state: ConnectionState, reason: DisconnectReason | None) -> None:
        """Note a state change and whether the time from now on counts as connected."""
        self.transitions.append((now, state, reason))
        self.timeline.mark(now.timestamp(), connected=state is ConnectionState.CONNECTED)

    def lost(self, now: datetime, reason: DisconnectReason | None) -> None:
        """The link left `connected`: count a disconnect and start timing the outage."""
        self.disconnects += 1
        self.last_reason = reason
        self.lost_at = now
        self.connected_since = None

    def explain_outage(self, reason: DisconnectReason | None) -> None:
        """The current outage's cause became clear: it is the last disconnect reason now."""
        if self.lost_at is not None:
            self.last_reason = reason

    def end_outage(self, now: datetime) -> float | None:
        """The link is connected again: the outage it ends in seconds (None: there was none)."""
        if self.lost_at is None:
            return None
        self.last_outage = round((now - self.lost_at).total_seconds(), 1)
        self.lost_at = None
        return self.last_outage

    def snapshot(
        self,
        now: float,
        *,
        state: ConnectionState,
        bridge_status: str | None,
        attempt: int,
        next_attempt: datetime | None,
        outbound_queue: int,
    ) -> LinkSnapshot:
        """What the entities show."""
        availability = self.timeline.percentage(now, min_observed=AVAILABILITY_MIN_OBSERVED)
        return LinkSnapshot(
            state=state,
            bridge_status=bridge_status,
            connected_since=self.connected_since,
            # The backoff counter survives a short connection (reset after 60 s up), but
            # while connected there is no attempt to show.
            attempt=0 if state is ConnectionState.CONNECTED else attempt,
            next_attempt=next_attempt,
            disconnects=self.disconnects,
            last_disconnect_reason=self.last_reason,
            last_outage=self.last_outage,
            availability=None if availability is None else round(availability, 2),
            outbound_queue=outbound_queue,
        )
