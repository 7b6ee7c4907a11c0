"""A list of change callbacks: who wants to hear about a session's status events."""

from __future__ import annotations

from collections.abc import Callable
import contextlib

from homeassistant.core import CALLBACK_TYPE, callback


class Listeners:
    """Callbacks to call on a change; adding one returns the function that removes it."""

    def __init__(self) -> None:
        """Start with nobody listening."""
        self._callbacks: list[Callable[[], None]] = []

    @callback
    def add(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` on every change until the returned function is called."""
        self._callbacks.append(listener)

        @callback
        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(listener)

        return remove

    @callback
    def notify(self) -> None:
        """Call every listener (one may remove itself meanwhile)."""
        for listener in list(self._callbacks):
            listener()
