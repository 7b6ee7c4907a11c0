"""Reconnect delays: fast retries for a few minutes, then capped exponential backoff (pure).

A bridge restart or update takes seconds to a couple of minutes, and an attempt against a
bridge that is down costs one refused connection on the local network; it never touches
WhatsApp. So the first three minutes retry every 2 s (the link is back within 2 s of the
bridge), and only a longer outage backs off, doubling up to the cap.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class BackoffPolicy:
    """Delay before reconnect attempt `n` (1-based).

    Attempt 1 waits at most `initial` seconds, attempts up to `fast_attempts` at most
    `fast_delay`, and each later one doubles (`factor`) up to `maximum`. Jitter only shortens
    a delay (by up to `jitter` of it), so the cap is never exceeded and clients that lost the
    bridge together do not retry in lockstep.
    """

    initial: float = 1.0
    fast_delay: float = 2.0
    fast_attempts: int = 90
    factor: float = 2.0
    maximum: float = 300.0
    jitter: float = 0.25

    def ceiling(self, attempt: int) -> float:
        """Return the delay of `attempt` before jitter."""
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        if attempt == 1:
            return min(self.maximum, self.initial)
        beyond = attempt - self.fast_attempts
        if beyond <= 0:
            return min(self.maximum, self.fast_delay)
        # Compare exponents rather than computing huge powers for long outages.
        if beyond > 64:
            return self.maximum
        return min(self.maximum, self.fast_delay * self.factor**beyond)

    def delay(self, attempt: int, random_fraction: float) -> float:
        """Return the jittered delay of `attempt`; `random_fraction` lies in [0, 1)."""
        ceiling = self.ceiling(attempt)
        return ceiling * (1.0 - self.jitter * min(max(random_fraction, 0.0), 1.0))

    def floor(self, attempt: int) -> float:
        """Return the shortest delay `attempt` can get."""
        return self.ceiling(attempt) * (1.0 - self.jitter)
