"""Diagnostics: the link's state and history, with secrets and personal data redacted.

Diagnostics get attached to public issues, so nothing in them may identify the user: no API
key, no phone number or chat id, no name (the entry title is the WhatsApp push name, each
recipient is titled with a person's name), no message text and no bridge host. Sizes, states,
reasons, times and the bridge's version are what debugging the link needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
import ipaddress
import re
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from yarl import URL

from .const import (
    CONF_ALLOWED_GROUPS,
    CONF_ALLOWED_SENDERS,
    CONF_SESSION,
    DEFAULT_SESSION,
    SUBENTRY_RECIPIENT,
)
from .coordinator import WhatsAppGatewayConfigEntry, WhatsAppGatewayCoordinator

TO_REDACT = {
    CONF_API_KEY,
    "id",
    "push_name",
    "unique_id",
    "title",
    "me",
    "target",
    "text",
    CONF_ALLOWED_SENDERS,
    CONF_ALLOWED_GROUPS,
}

# A WhatsApp address of a person, group, hidden (LID) id or channel: `491511234567@c.us`.
_CHAT_ID = re.compile(
    r"[^\s\"'@,;()\[\]{}]+@(?:c\.us|g\.us|lid|s\.whatsapp\.net|newsletter)\b", re.IGNORECASE
)
# A phone number as people type it: `+49 151 1234567`.
_PHONE = re.compile(r"\+\d[\d ()./-]{5,}\d")
# Shorter known secrets are only redacted where they are a whole value: as a substring they
# would mangle unrelated words (a recipient called "Con" inside "connected").
_MIN_SUBSTRING = 6


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: WhatsAppGatewayConfigEntry
) -> dict[str, Any]:
    """Return what helps to debug the link, never the key, numbers, names or text."""
    coordinator = entry.runtime_data
    snapshot = coordinator.data
    server = coordinator.server
    now = dt_util.utcnow()
    data = dict(entry.data)
    data[CONF_URL] = _describe_url(str(data.get(CONF_URL, "")))
    if data.get(CONF_SESSION) not in (None, DEFAULT_SESSION):
        # The session name is the user's choice (often a person's name); "default" is not.
        data[CONF_SESSION] = REDACTED
    result: dict[str, Any] = {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": data,
                "options": dict(entry.options),
                # Each recipient is a person's name and number: only how many there are.
                "recipients": sum(
                    1
                    for sub in entry.subentries.values()
                    if sub.subentry_type == SUBENTRY_RECIPIENT
                ),
            },
            TO_REDACT,
        ),
        "bridge": {
            "version": server.version if server else None,
            "engine": server.engine if server else None,
            "tier": server.tier if server else None,
            "paired": coordinator.me is not None,
            # Engine, release, edition and what follows: history, message ids, media, ...
            "capabilities": coordinator.client.capabilities.as_dict(),
        },
        "link": {
            "state": snapshot.state,
            "bridge_status": snapshot.bridge_status,
            "connected_since": _iso(snapshot.connected_since),
            "disconnects": snapshot.disconnects,
            "last_disconnect_reason": snapshot.last_disconnect_reason,
            "last_outage": snapshot.last_outage,
            "availability": snapshot.availability,
            "outbound_queue": snapshot.outbound_queue,
            "drops_last_hour": coordinator.unstable_link.recent_drops,
            "unstable": coordinator.unstable_link.unstable,
        },
        "backoff": _backoff(coordinator, now),
        "incoming": coordinator.incoming.diagnostics(),
        "outgoing": coordinator.outgoing.diagnostics(),
        "transitions": _transitions(coordinator, now),
    }
    scrubbed: dict[str, Any] = _scrub(result, _secrets(entry, coordinator))
    return scrubbed


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _describe_url(raw: str) -> dict[str, Any]:
    """The bridge URL as far as debugging needs it: scheme, kind of host, port.

    The host itself stays out (and so does `client.origin`, which is scheme, host and port):
    it is the user's own machine or domain name, which can identify them in a public issue.
    Whether it is loopback, on the LAN or on the internet, TLS or not, and the port explain
    nearly every connection problem. Credentials in the URL (`http://user:pass@host`), a
    path and a query are shown only as being there.
    """
    url = URL(raw)
    return {
        "scheme": url.scheme,
        "host": REDACTED if url.host else None,
        "host_kind": _host_kind(url.host),
        "port": url.port,
        "credentials": REDACTED if url.user or url.password else None,
        "path": REDACTED if url.path not in ("", "/") else None,
        "query": REDACTED if url.query_string else None,
    }


def _host_kind(host: str | None) -> str | None:
    """loopback, private, link_local, public (addresses) or local_name, name (host names)."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        name = host.lower().rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            return "loopback"
        # A name without a dot (a Docker service, a hosts entry) or an mDNS name: the LAN.
        if "." not in name or name.endswith((".local", ".lan", ".home.arpa", ".internal")):
            return "local_name"
        return "name"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_private:
        return "private"
    return "public"


def _backoff(coordinator: WhatsAppGatewayCoordinator, now: datetime) -> dict[str, Any]:
    """Where the reconnect backoff stands; `ceiling`/`floor` bound the current delay."""
    policy = coordinator.backoff
    snapshot = coordinator.data
    next_attempt = snapshot.next_attempt
    result: dict[str, Any] = {
        "attempt": snapshot.attempt,
        "next_attempt": _iso(next_attempt),
        "next_attempt_in": None
        if next_attempt is None
        else round((next_attempt - now).total_seconds(), 1),
        "initial": policy.initial,
        "factor": policy.factor,
        "maximum": policy.maximum,
        "jitter": policy.jitter,
    }
    if snapshot.attempt > 0:
        result["ceiling"] = round(policy.ceiling(snapshot.attempt), 3)
        result["floor"] = round(policy.floor(snapshot.attempt), 3)
    return result


def _transitions(coordinator: WhatsAppGatewayCoordinator, now: datetime) -> list[dict[str, Any]]:
    """The last 50 state changes, oldest first, with the seconds spent in each state.

    A state lasted until the next change; the current one (the last) until now.
    """
    changes = list(coordinator.transitions)
    ends = [at for at, _, _ in changes[1:]] + [now]
    return [
        {
            "at": at.isoformat(),
            "state": state,
            "reason": reason,
            "duration": round((end - at).total_seconds(), 1),
        }
        for (at, state, reason), end in zip(changes, ends, strict=True)
    ]


def _secrets(
    entry: WhatsAppGatewayConfigEntry, coordinator: WhatsAppGatewayCoordinator
) -> set[str]:
    """Values that must not appear anywhere: the key, names, numbers, the session name."""
    values: list[Any] = [
        entry.data.get(CONF_API_KEY),
        entry.title,
        entry.unique_id,
        entry.data.get(CONF_URL),
    ]
    if entry.data.get(CONF_SESSION) != DEFAULT_SESSION:
        values.append(entry.data.get(CONF_SESSION))
    if (me := coordinator.me) is not None:
        values += [me.id, me.id.partition("@")[0], me.push_name]
    for sub in entry.subentries.values():
        values += [sub.title, sub.unique_id, *_strings(sub.data.values())]
    return {value for value in values if isinstance(value, str) and value}


def _strings(values: Iterable[Any]) -> list[str]:
    return [value for value in values if isinstance(value, str)]


def _scrub(value: Any, secrets: set[str]) -> Any:
    """Redact known secrets and anything shaped like a chat id or phone number, everywhere.

    The sections above carry no such data today; this pass keeps it so when a field that
    could (a raw bridge status, a reason detail) is added later.
    """
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if not isinstance(value, str) or value == REDACTED:
        return value
    if value in secrets:
        return REDACTED
    for secret in secrets:
        if len(secret) >= _MIN_SUBSTRING:
            value = value.replace(secret, REDACTED)
    value = _CHAT_ID.sub(REDACTED, value)
    return _PHONE.sub(REDACTED, value)
