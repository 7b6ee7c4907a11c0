"""Catching up after a gap: one backfill at a time, and the history it needs.

The backfill delivers what the stream missed once the link is up. It reads the bridge's chat
history, which a NOWEB session keeps only with its store on: without it the link raises the
fixable `noweb_store_disabled` repair instead of losing messages silently.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..bridge import WahaClient
from ..const import DOMAIN, ISSUE_NOWEB_STORE_DISABLED, LOGGER
from ..incoming import IncomingMessages
from .issues import LinkIssues


class HistoryKeeper:
    """Runs the backfill in the background and watches that the bridge keeps history."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: WahaClient,
        incoming: IncomingMessages,
        issues: LinkIssues,
    ) -> None:
        """Bind the entry (its background tasks), the bridge, the inbox and the issues."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._incoming = incoming
        self._issues = issues
        self._task: asyncio.Task[None] | None = None

    @property
    def backfilling(self) -> bool:
        """Whether a backfill runs now."""
        return self._task is not None and not self._task.done()

    def start_backfill(self) -> None:
        """Deliver what the stream missed, unless a backfill runs or none is due."""
        if self.backfilling or not self._incoming.backfill_due:
            return
        self._task = self._entry.async_create_background_task(
            self._hass, self._async_backfill(), f"{DOMAIN} backfill"
        )

    async def _async_backfill(self) -> None:
        await self._incoming.async_backfill()
        self.check()

    async def async_stream_stalled(self) -> bool:
        """Run a due backfill; else whether the bridge holds messages the stream never sent."""
        if self._incoming.backfill_due or self.backfilling:
            self.start_backfill()
            return False
        if not await self._incoming.async_stream_stalled():
            return False
        LOGGER.info(
            "The event stream from %s stalled (messages arrived but no events); reopening it",
            self._client.origin,
        )
        return True

    def check(self) -> None:
        """A NOWEB session without its store keeps no history: ask the user to turn it on."""
        if self._client.capabilities.history:
            self._issues.delete(ISSUE_NOWEB_STORE_DISABLED)
        else:
            self._issues.raise_issue(ISSUE_NOWEB_STORE_DISABLED)

    async def async_stop(self) -> None:
        """Cancel a running backfill (at shutdown: nothing may be delivered afterwards)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
