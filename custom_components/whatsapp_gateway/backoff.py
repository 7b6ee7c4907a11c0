"""Reconnect delays: capped exponential backoff with jitter (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class BackoffPolicy:
    """Delay before reconnect attempt `n` (1-based).

    Attempt 1 waits at most `initial` seconds, each further attempt doubles it up to
    `maximum`. Jitter only shortens a delay (by up to `jitter` of it), so the cap is never
    exceeded and clients that lost the bridge together do not retry in lockstep.
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 300.0
    jitter: float = 0.25

    def ceiling(self, attempt: int) -> float:
        """Return the delay of `attempt` before jitter."""
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        # Compare exponents rather than computing huge powers for long outages.
        if attempt > 64:
            return self.maximum
        return min(self.maximum, self.initial * self.factor ** (attempt - 1))

    def delay(self, attempt: int, random_fraction: float) -> float:
        """Return the jittered delay of `attempt`; `random_fraction` lies in [0, 1)."""
        ceiling = self.ceiling(attempt)
        return ceiling * (1.0 - self.jitter * min(max(random_fraction, 0.0), 1.0))

    def floor(self, attempt: int) -> float:
        """Return the shortest delay `attempt` can get."""
        return self.ceiling(attempt) * (1.0 - self.jitter)
