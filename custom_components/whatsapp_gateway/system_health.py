"""System health: does each bridge answer, what runs there, how the link is, what waits.

Home Assistant shows this on Settings > System > Repairs > System information, a page people
copy into public issues, so it names no entry, number or host.

Keys: `loaded_entries` (how many entries are loaded and described by the other keys), then,
when at least one is: `bridge_reachable`, `bridge_version`, `bridge_engine`,
`bridge_edition`, `bridge_features`, `connection_state` and `outbound_queue`. With several
entries each value lists the entries' values in the order the entries were added, joined
by ", " (two entries: "connected, reconnecting"; "unknown" where a bridge never answered the
version request). With one entry it is just that entry's value.

`bridge_reachable` pings every bridge when the page is opened (the page awaits it): "ok"
when all answered, otherwise Home Assistant's failed form, `{"type": "failed", "error": ...}`,
whose error lists each entry's result in the same order ("ok", "unreachable", "timeout",
"key rejected" or "bad response").
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from homeassistant.components import system_health
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback

from .bridge import WahaAuthError, WahaConnectionError, WahaError
from .const import DOMAIN
from .coordinator import WhatsAppGatewayConfigEntry, WhatsAppGatewayCoordinator

# As long as Home Assistant's own reachability check waits (`async_check_can_reach_url`).
PING_TIMEOUT = 5.0
OK = "ok"


@callback
def async_register(hass: HomeAssistant, register: system_health.SystemHealthRegistration) -> None:
    """Register the info callback."""
    register.async_register_info(system_health_info)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    """Describe every loaded entry; `bridge_reachable` is awaited by the page."""
    # All entries keep the order they were added in; one domain's index is reordered when an
    # entry's unique id changes (older entries adopt their account's id).
    entries: list[WhatsAppGatewayConfigEntry] = [
        entry
        for entry in hass.config_entries.async_entries()
        if entry.domain == DOMAIN and entry.state is ConfigEntryState.LOADED
    ]
    coordinators = [entry.runtime_data for entry in entries]
    info: dict[str, Any] = {"loaded_entries": len(coordinators)}
    if not coordinators:
        return info
    info["bridge_reachable"] = _async_reachable(coordinators)
    info["bridge_version"] = _joined(c.server.version if c.server else None for c in coordinators)
    # The session's own engine wins over the bridge's default one.
    info["bridge_engine"] = _joined(c.client.capabilities.engine for c in coordinators)
    info["bridge_edition"] = _joined(c.client.capabilities.edition for c in coordinators)
    info["bridge_features"] = _joined(_features(c) for c in coordinators)
    info["connection_state"] = _joined(c.state for c in coordinators)
    info["outbound_queue"] = _joined(len(c.outgoing) for c in coordinators)
    return info


def _features(coordinator: WhatsAppGatewayCoordinator) -> str:
    """What the bridge can do for this entry, e.g. "history: yes; message ids: no; ..."."""
    caps = coordinator.client.capabilities
    if caps.version is None:
        return "unknown"
    media = caps.media_sending
    flags = {
        "history": "yes" if caps.history else "no",
        "message ids": "yes" if caps.new_message_ids else "no",
        "media": "unknown" if media is None else ("yes" if media else "no"),
        "sessions": "several" if caps.multi_session else "default only",
    }
    return "; ".join(f"{name}: {value}" for name, value in flags.items())


def _joined(values: Iterable[object]) -> str:
    """The values in entry order, "unknown" for a missing one."""
    return ", ".join("unknown" if value is None else str(value) for value in values)


async def _async_reachable(
    coordinators: Sequence[WhatsAppGatewayCoordinator],
) -> str | dict[str, str]:
    """Ping every bridge at once: "ok", or the failed form with each entry's result."""
    results = await asyncio.gather(*(_async_ping(coordinator) for coordinator in coordinators))
    if all(result == OK for result in results):
        return OK
    return {"type": "failed", "error": ", ".join(results)}


async def _async_ping(coordinator: WhatsAppGatewayCoordinator) -> str:
    """One bridge's answer to `/ping`, as a short word."""
    try:
        async with asyncio.timeout(PING_TIMEOUT):
            await coordinator.client.ping()
    except TimeoutError:
        return "timeout"
    except WahaAuthError:
        return "key rejected"
    except WahaConnectionError:
        return "unreachable"
    except WahaError:
        return "bad response"
    return OK
