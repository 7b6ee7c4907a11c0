"""Constants of the WhatsApp Gateway integration."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

DOMAIN: Final = "whatsapp_gateway"
LOGGER = logging.getLogger(__package__)

CONF_SESSION: Final = "session"

DEFAULT_URL: Final = "http://localhost:3000"
DEFAULT_SESSION: Final = "default"

# Options (seconds unless said otherwise) and their defaults, as in the product contract.
CONF_HEARTBEAT: Final = "heartbeat"
CONF_POLL_INTERVAL: Final = "poll_interval"
CONF_BACKOFF_MAX: Final = "backoff_max"
CONF_AUTO_START: Final = "auto_start"
CONF_PRESENCE_KEEPALIVE: Final = "presence_keepalive"
CONF_BACKFILL_HOURS: Final = "backfill_hours"
CONF_QUEUE_TTL: Final = "queue_ttl"
CONF_SEND_RATE: Final = "send_rate"

DEFAULT_OPTIONS: Final[dict[str, int | bool]] = {
    CONF_HEARTBEAT: 30,
    CONF_POLL_INTERVAL: 60,
    CONF_BACKOFF_MAX: 300,
    CONF_AUTO_START: True,
    CONF_PRESENCE_KEEPALIVE: False,
    CONF_BACKFILL_HOURS: 24,
    CONF_QUEUE_TTL: 86400,
    CONF_SEND_RATE: 20,
}


def entry_option(entry: ConfigEntry, key: str) -> Any:
    """Return an option of the entry, or its default."""
    return entry.options.get(key, DEFAULT_OPTIONS[key])


# Connected this long, the next loss starts the backoff from the first step again.
BACKOFF_RESET_AFTER: Final = 60.0
# The availability sensor covers this window.
AVAILABILITY_WINDOW: Final = 24 * 3600.0

SERVICE_RECONNECT: Final = "reconnect"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_RESTART_SESSION: Final = "restart_session"

ISSUE_PAIRING_REQUIRED: Final = "pairing_required"
ISSUE_SESSION_MISSING: Final = "session_missing"
ISSUE_UNSTABLE_CONNECTION: Final = "unstable_connection"
ISSUE_NOWEB_STORE_DISABLED: Final = "noweb_store_disabled"
ISSUE_DEFAULT_SESSION_ONLY: Final = "default_session_only"
SERVICE_SEND_MESSAGE: Final = "send_message"
ATTR_TARGET: Final = "target"
ATTR_MESSAGE: Final = "message"
ATTR_QUEUE: Final = "queue"
ATTR_TTL: Final = "ttl"

EVENT_MESSAGE_RECEIVED: Final = "whatsapp_gateway_message_received"
EVENT_MESSAGE_SENT: Final = "whatsapp_gateway_message_sent"
EVENT_MESSAGE_FAILED: Final = "whatsapp_gateway_message_failed"

SUBENTRY_RECIPIENT: Final = "recipient"
