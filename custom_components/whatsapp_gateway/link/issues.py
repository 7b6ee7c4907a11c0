"""The repair issues the link raises for one config entry.

`pairing_required` and `session_missing` are fixable: their fix flows find the entry through
the issue's data. `unstable_connection` is a warning raised by too many drops within an hour;
it clears itself after an hour without a drop.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, ISSUE_UNSTABLE_CONNECTION
from ..models import DisconnectReason

# More drops than this within UNSTABLE_WINDOW raise the unstable_connection warning, which
# clears itself after UNSTABLE_WINDOW without a drop.
UNSTABLE_DROPS = 6
UNSTABLE_WINDOW = 3600.0
# The warning lists this many of the latest disconnect reasons.
UNSTABLE_REASONS_SHOWN = 5


class LinkIssues:
    """Raises and deletes one entry's repair issues; their ids end in the entry id."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any], session_name: str) -> None:
        """Bind the entry (its title is read when an issue is raised) and the session."""
        self.hass = hass
        self._entry = entry
        self._session_name = session_name

    def issue_id(self, key: str) -> str:
        """The id of this entry's issue `key`."""
        return f"{key}_{self._entry.entry_id}"

    def raise_issue(
        self,
        key: str,
        *,
        fixable: bool = True,
        severity: ir.IssueSeverity = ir.IssueSeverity.ERROR,
        placeholders: dict[str, str] | None = None,
    ) -> None:
        """Create (or refresh) this entry's repair issue `key`; its fix flow finds the entry."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id(key),
            data={"entry_id": self._entry.entry_id},
            is_fixable=fixable,
            is_persistent=False,
            severity=severity,
            translation_key=key,
            translation_placeholders={
                "title": self._entry.title,
                "session": self._session_name,
                **(placeholders or {}),
            },
        )

    def delete(self, key: str) -> None:
        """Delete this entry's issue `key` (nothing happens when it is not raised)."""
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id(key))

    def is_raised(self, key: str) -> bool:
        """Whether this entry's issue `key` is raised."""
        return ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id(key)) is not None


class UnstableConnection:
    """Counts the drops within the last hour and raises or clears `unstable_connection`."""

    def __init__(self, issues: LinkIssues) -> None:
        """Start with no drops and no clear timer."""
        self._issues = issues
        # When the link dropped within the last UNSTABLE_WINDOW, and why.
        self._recent_drops: deque[tuple[float, DisconnectReason | None]] = deque()
        self._clear_unsub: CALLBACK_TYPE | None = None

    def track_drop(self, at: float, reason: DisconnectReason | None) -> None:
        """Remember a drop; more than UNSTABLE_DROPS within the window raise the warning."""
        self._recent_drops.append((at, reason))
        while self._recent_drops and self._recent_drops[0][0] <= at - UNSTABLE_WINDOW:
            self._recent_drops.popleft()
        if self._clear_unsub is not None:
            # A drop restarts the hour the warning needs to clear itself.
            self._clear_unsub()
            self._clear_unsub = None
        if len(self._recent_drops) > UNSTABLE_DROPS:
            latest = [str(why) for _, why in self._recent_drops if why is not None]
            self._issues.raise_issue(
                ISSUE_UNSTABLE_CONNECTION,
                fixable=False,
                severity=ir.IssueSeverity.WARNING,
                placeholders={
                    "count": str(len(self._recent_drops)),
                    "reasons": ", ".join(latest[-UNSTABLE_REASONS_SHOWN:]),
                },
            )
        if self.unstable:
            self._clear_unsub = async_call_later(
                self._issues.hass,
                UNSTABLE_WINDOW,
                HassJob(self._clear, f"{DOMAIN} unstable clear", cancel_on_shutdown=True),
            )

    @property
    def unstable(self) -> bool:
        """Whether the unstable_connection warning is raised for this entry."""
        return self._issues.is_raised(ISSUE_UNSTABLE_CONNECTION)

    @property
    def recent_drops(self) -> int:
        """How many drops happened within the last hour."""
        since = dt_util.utcnow().timestamp() - UNSTABLE_WINDOW
        return sum(1 for at, _ in self._recent_drops if at > since)

    def stop(self) -> None:
        """Cancel the clear timer and delete the warning: nobody would clear it later."""
        if self._clear_unsub is not None:
            self._clear_unsub()
            self._clear_unsub = None
        self._issues.delete(ISSUE_UNSTABLE_CONNECTION)

    @callback
    def _clear(self, _now: datetime) -> None:
        """An hour without a drop: the link is stable again."""
        self._clear_unsub = None
        self._recent_drops.clear()
        self._issues.delete(ISSUE_UNSTABLE_CONNECTION)
