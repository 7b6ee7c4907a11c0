"""Diagnostics: the link's state and history, with secrets and personal data redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from .coordinator import WhatsAppGatewayConfigEntry

TO_REDACT = {CONF_API_KEY, "id", "push_name", "unique_id", "title", "me"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: WhatsAppGatewayConfigEntry
) -> dict[str, Any]:
    """Return what helps to debug the link, never the key, numbers or names."""
    coordinator = entry.runtime_data
    snapshot = coordinator.data
    server = coordinator.server
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            TO_REDACT,
        ),
        "bridge": {
            "version": server.version if server else None,
            "engine": server.engine if server else None,
            "tier": server.tier if server else None,
            "paired": coordinator.me is not None,
        },
        "link": {
            "state": snapshot.state,
            "bridge_status": snapshot.bridge_status,
            "connected_since": snapshot.connected_since,
            "attempt": snapshot.attempt,
            "next_attempt": snapshot.next_attempt,
            "disconnects": snapshot.disconnects,
            "last_disconnect_reason": snapshot.last_disconnect_reason,
            "last_outage": snapshot.last_outage,
            "availability": snapshot.availability,
        },
        "incoming": coordinator.incoming.diagnostics(),
        "outgoing": coordinator.outgoing.diagnostics(),
        "transitions": [
            {"at": at.isoformat(), "state": state, "reason": reason}
            for at, state, reason in coordinator.transitions
        ],
    }
