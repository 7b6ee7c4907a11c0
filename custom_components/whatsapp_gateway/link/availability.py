"""Share of a sliding window the link spent connected (pure, no I/O).

Only time Home Assistant observed counts: a restart leaves a gap between the last saved
moment and the next start, and that gap is neither up nor down.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

type Segment = tuple[float, float, bool]


@dataclass(slots=True)
class AvailabilityTimeline:
    """Observed segments (start, end, connected) within `window` seconds, plus the open one."""

    window: float
    segments: deque[Segment] = field(default_factory=deque)
    open_since: float | None = None
    open_connected: bool = False

    def mark(self, now: float, *, connected: bool) -> None:
        """Record the link's state from `now` on (repeating the same state is a no-op)."""
        if self.open_since is not None:
            if connected == self.open_connected:
                return
            self._close_open(now)
        self.open_since = now
        self.open_connected = connected

    def stop(self, now: float) -> None:
        """Stop observing (Home Assistant stops or the entry unloads)."""
        if self.open_since is not None:
            self._close_open(now)
            self.open_since = None

    def _close_open(self, now: float) -> None:
        if self.open_since is not None and now > self.open_since:
            last = self.segments[-1] if self.segments else None
            if last is not None and last[1] == self.open_since and last[2] == self.open_connected:
                self.segments[-1] = (last[0], now, last[2])
            else:
                self.segments.append((self.open_since, now, self.open_connected))
        self.open_since = now
        self._prune(now)

    def _prune(self, now: float) -> None:
        horizon = now - self.window
        while self.segments and self.segments[0][1] <= horizon:
            self.segments.popleft()

    def percentage(self, now: float, *, min_observed: float = 0.0) -> float | None:
        """Return the connected share of the observed window in %.

        None until `min_observed` seconds were observed: a share of a few seconds (the
        first connect) would read as a near-zero availability.
        """
        horizon = now - self.window
        observed = connected = 0.0
        spans: list[Segment] = list(self.segments)
        if self.open_since is not None and now > self.open_since:
            spans.append((self.open_since, now, self.open_connected))
        for start, end, up in spans:
            overlap = min(end, now) - max(start, horizon)
            if overlap > 0:
                observed += overlap
                if up:
                    connected += overlap
        if observed <= 0 or observed < min_observed:
            return None
        return 100.0 * connected / observed

    def as_dict(self, now: float) -> dict[str, Any]:
        """Serialise, with the open segment closed at `now` (what a restart would keep)."""
        spans = [list(segment) for segment in self.segments]
        if self.open_since is not None and now > self.open_since:
            spans.append([self.open_since, now, self.open_connected])
        return {"segments": spans}

    @classmethod
    def from_dict(cls, data: object, *, window: float, now: float) -> AvailabilityTimeline:
        """Restore from `as_dict`; malformed or future entries are dropped."""
        timeline = cls(window=window)
        raw = data.get("segments") if isinstance(data, dict) else None
        for item in raw if isinstance(raw, list) else []:
            if (
                isinstance(item, list)
                and len(item) == 3
                and all(isinstance(value, int | float) for value in item[:2])
                and isinstance(item[2], bool)
                and item[0] < item[1] <= now
            ):
                timeline.segments.append((float(item[0]), float(item[1]), item[2]))
        timeline._prune(now)
        return timeline
