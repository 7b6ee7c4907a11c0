"""Error taxonomy of the WAHA bridge client.

Messages never contain the API key or a URL with its query string: the WebSocket URL carries
the key, so errors name the bridge by scheme, host and port only.
"""

from __future__ import annotations


class WahaError(Exception):
    """Base class of every bridge client error."""


class WahaConnectionError(WahaError):
    """The bridge cannot be reached (refused, reset, timeout, TLS failure)."""


class WahaAuthError(WahaError):
    """The bridge rejects the API key (HTTP 401/403, WebSocket close 1008)."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        """Remember whether the key was unknown (401) or lacks rights (403)."""
        super().__init__(message)
        self.forbidden = forbidden


class WahaSessionNotFoundError(WahaError):
    """The session does not exist (HTTP 404 "Session not found", 422 "does not exist")."""


class WahaSessionStatusError(WahaError):
    """The session runs but is not in the status the endpoint needs (HTTP 422)."""

    def __init__(self, message: str, *, status: str | None, expected: tuple[str, ...]) -> None:
        """Keep the reported and the expected statuses."""
        super().__init__(message)
        self.status = status
        self.expected = expected


class WahaResponseError(WahaError):
    """The bridge answered with something this client cannot use."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        """Keep the HTTP status when there was one."""
        super().__init__(message)
        self.status = status

    @property
    def permanent(self) -> bool:
        """Whether repeating the same request cannot help (a 4xx other than 408/429)."""
        status = self.status
        return status is not None and 400 <= status < 500 and status not in (408, 429)


class WahaStreamClosedError(WahaConnectionError):
    """The event stream ended: closed by the bridge, cut, or silent past the heartbeat."""

    def __init__(self, message: str, *, code: int | None, heartbeat_timeout: bool = False) -> None:
        """Keep the close code (None when no close frame came)."""
        super().__init__(message)
        self.code = code
        self.heartbeat_timeout = heartbeat_timeout


class WahaRouteMissingError(WahaResponseError):
    """The bridge has no such route (an older release): not a missing session (HTTP 404)."""


class WahaNotImplementedError(WahaResponseError):
    """The session's engine does not implement this call (HTTP 501)."""

    @property
    def permanent(self) -> bool:
        """An engine that lacks a call does not gain it on a retry."""
        return True


class WahaStoreDisabledError(WahaResponseError):
    """NOWEB keeps no history for this session: its store is off (HTTP 400)."""


class WahaSessionNameError(WahaResponseError):
    """The edition allows only the session `default` (WAHA Core before 2026.6.1, HTTP 422)."""


class WahaEditionError(WahaResponseError):
    """The call needs WAHA Plus; this bridge runs Core (HTTP 422)."""


class WahaFileTooLargeError(WahaError):
    """A file from the bridge is larger than the caller allows; nothing was kept."""
