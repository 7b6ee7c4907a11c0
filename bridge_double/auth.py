"""API keys: the current full key and keys scoped to some sessions."""

from __future__ import annotations

from enum import Enum
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


class Access(Enum):
    """Outcome of checking a key against a session."""

    ALLOWED = "allowed"
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"


def mask(key: str | None) -> str:
    """A key as it may appear in logs: never its characters."""
    return "<none>" if not key else "***"


class KeyRing:
    """Holds the current key (all rights) and scoped keys."""

    def __init__(self, api_key: str) -> None:
        self._key = api_key
        self._scoped: dict[str, frozenset[str]] = {}

    @property
    def current(self) -> str:
        """The current full key."""
        return self._key

    def rotate(self, new_key: str) -> None:
        """Replace the full key; the old one stops working."""
        self._key = new_key

    def add_scoped(self, key: str, sessions: Iterable[str]) -> None:
        """Add a key that only has rights on ``sessions``."""
        self._scoped[key] = frozenset(sessions)

    def is_full(self, key: str | None) -> bool:
        """Whether ``key`` is the current full key."""
        return key is not None and hmac.compare_digest(key.encode(), self._key.encode())

    def check(self, key: str | None, session: str | None) -> Access:
        """Access of ``key`` to ``session`` (None: no session in the request; "*": all)."""
        if self.is_full(key):
            return Access.ALLOWED
        if key is None or key not in self._scoped:
            return Access.UNAUTHORIZED
        if session is None:
            return Access.ALLOWED
        allowed = self._scoped[key]
        return Access.ALLOWED if session in allowed else Access.FORBIDDEN

    def visible(self, key: str | None, session: str) -> bool:
        """Whether ``key`` may see ``session`` in a listing."""
        return self.check(key, session) is Access.ALLOWED
