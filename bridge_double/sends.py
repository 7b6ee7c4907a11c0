"""Fault switches of ``POST /api/sendText``: answers dropped after the send, sends refused."""

from __future__ import annotations

from dataclasses import dataclass

from . import errors


@dataclass(slots=True)
class SendFaults:
    """Counters of the armed send faults (a refusal wins over a dropped answer)."""

    drop_answers: int = 0
    """The next ``drop_answers`` sends are performed, then the connection is closed."""
    failures: int = 0
    """The next ``failures`` sends are not performed and answer ``failure_status``."""
    failure_status: int = 500
    failure_message: str | None = None

    def arm_drops(self, count: int) -> int:
        """Drop the answers of the next ``count`` sends (0 disarms); returns ``count``."""
        self.drop_answers = _count(count)
        return self.drop_answers

    def arm_failures(self, count: int, status: int, message: str | None) -> int:
        """Refuse the next ``count`` sends with ``status`` (0 disarms); returns ``count``."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {status}")
        self.failures = _count(count)
        self.failure_status = status
        self.failure_message = message
        return self.failures

    def take_failure(self) -> errors.ApiError | None:
        """The error to answer instead of sending, consuming one armed failure; else None."""
        if self.failures <= 0:
            return None
        self.failures -= 1
        return errors.send_failed(self.failure_status, self.failure_message)

    def take_drop(self) -> bool:
        """Whether to drop this answer, consuming one armed drop."""
        if self.drop_answers <= 0:
            return False
        self.drop_answers -= 1
        return True


def _count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    return count
