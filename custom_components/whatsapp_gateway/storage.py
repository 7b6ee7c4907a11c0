"""Writing a store regularly while its data keeps changing.

`Store.async_delay_save` waits for a quiet period: every call moves the write back, so data
that changes more often than the delay is only written at shutdown, and a crash loses it.
`PeriodicSave` schedules one write at a time, so changes reach the disk within `delay`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.storage import Store


class PeriodicSave:
    """At most one pending delayed write of `data` to `store`, `delay` seconds after a change."""

    def __init__(
        self, store: Store[dict[str, Any]], data: Callable[[], dict[str, Any]], delay: float
    ) -> None:
        """Bind the store, the function giving the data to write, and the delay."""
        self.store = store
        self._data = data
        self._delay = delay
        self._pending = False

    @callback
    def schedule(self) -> None:
        """Something changed: write within `delay` (unless a write is already pending)."""
        if not self._pending:
            self._pending = True
            self.store.async_delay_save(self._collect, self._delay)

    async def async_save_now(self) -> None:
        """Write now (at shutdown)."""
        self._pending = False
        await self.store.async_save(self._data())

    def _collect(self) -> dict[str, Any]:
        # Called when the write happens: later changes schedule the next one.
        self._pending = False
        return self._data()
