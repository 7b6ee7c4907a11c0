"""When the link tries again: one timer at a time, capped and jittered by the backoff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from .backoff import BackoffPolicy


class RetrySchedule:
    """The attempt counter and the timer of the next connection attempt."""

    def __init__(
        self,
        hass: HomeAssistant,
        backoff: BackoffPolicy,
        random_fraction: Callable[[], float],
        on_due: Callable[[], None],
    ) -> None:
        """Bind the delay policy, its jitter source, and what to call when an attempt is due."""
        self._hass = hass
        self.backoff = backoff
        self._random_fraction = random_fraction
        self._on_due = on_due
        self.attempt = 0
        self.next_attempt: datetime | None = None
        self._unsub: CALLBACK_TYPE | None = None

    @property
    def scheduled(self) -> bool:
        """Whether an attempt is scheduled."""
        return self._unsub is not None

    def schedule(self, *, at_once: bool = False) -> None:
        """Count the next attempt and run it after its backoff delay (or `at_once`)."""
        self.cancel()
        self.attempt += 1
        delay = 0.0 if at_once else self.backoff.delay(self.attempt, self._random_fraction())
        self.next_attempt = dt_util.utcnow() + timedelta(seconds=delay)
        LOGGER.debug("Next attempt %s in %.1f s", self.attempt, delay)
        self._unsub = async_call_later(
            self._hass,
            delay,
            HassJob(self._due, f"{DOMAIN} reconnect", cancel_on_shutdown=True),
        )

    def cancel(self) -> None:
        """Cancel the scheduled attempt (the counter stays)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self.next_attempt = None

    @callback
    def _due(self, _now: datetime) -> None:
        self._unsub = None
        self.next_attempt = None
        self._on_due()
