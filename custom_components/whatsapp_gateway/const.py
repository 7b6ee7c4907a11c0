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
# Talking to the home: who may, and who answers.
CONF_ALLOWED_SENDERS: Final = "allowed_senders"
CONF_GROUP_POLICY: Final = "group_policy"
CONF_ALLOWED_GROUPS: Final = "allowed_groups"
CONF_SELF_CHAT: Final = "self_chat"
CONF_CONVERSATION_AGENT: Final = "conversation_agent"
CONF_DEBOUNCE: Final = "debounce"
CONF_ANSWER_BUFFERED: Final = "answer_buffered"
# Rich messages: what is kept of received files, and who turns voice notes into text.
CONF_DOWNLOAD_MEDIA: Final = "download_media"
CONF_MEDIA_MAX_MB: Final = "media_max_mb"
CONF_MEDIA_KEEP_DAYS: Final = "media_keep_days"
CONF_STT_ENTITY: Final = "stt_entity"
GROUP_POLICY_ALL: Final = "all"
GROUP_POLICY_ALLOWLIST: Final = "allowlist"
GROUP_POLICY_NONE: Final = "none"
GROUP_POLICIES: Final = (GROUP_POLICY_ALL, GROUP_POLICY_ALLOWLIST, GROUP_POLICY_NONE)

DEFAULT_OPTIONS: Final[dict[str, Any]] = {
    CONF_HEARTBEAT: 30,
    CONF_POLL_INTERVAL: 60,
    CONF_BACKOFF_MAX: 300,
    CONF_AUTO_START: True,
    CONF_PRESENCE_KEEPALIVE: False,
    CONF_BACKFILL_HOURS: 24,
    CONF_QUEUE_TTL: 86400,
    CONF_SEND_RATE: 20,
    CONF_ALLOWED_SENDERS: [],
    CONF_GROUP_POLICY: GROUP_POLICY_ALL,
    CONF_ALLOWED_GROUPS: [],
    CONF_SELF_CHAT: False,
    CONF_CONVERSATION_AGENT: None,
    CONF_DEBOUNCE: 0,
    CONF_ANSWER_BUFFERED: False,
    CONF_DOWNLOAD_MEDIA: True,
    CONF_MEDIA_MAX_MB: 50,
    CONF_MEDIA_KEEP_DAYS: 30,
    CONF_STT_ENTITY: None,
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
ATTR_REPLY_TO: Final = "reply_to"
SERVICE_REACT: Final = "react"
ATTR_MESSAGE_ID: Final = "message_id"
ATTR_REACTION: Final = "reaction"
SERVICE_MARK_READ: Final = "mark_read"
ATTR_CHAT_ID: Final = "chat_id"
SERVICE_ASK: Final = "ask"
ATTR_QUESTION: Final = "question"
ATTR_OPTIONS: Final = "options"
ATTR_TIMEOUT: Final = "timeout"
ASK_DEFAULT_TIMEOUT: Final = 300
ASK_MAX_TIMEOUT: Final = 86400

SERVICE_SEND_MEDIA: Final = "send_media"
ATTR_MEDIA: Final = "media"
ATTR_CAMERA_ENTITY_ID: Final = "camera_entity_id"
ATTR_URL: Final = "url"
ATTR_PATH: Final = "path"
ATTR_CAPTION: Final = "caption"
ATTR_KIND: Final = "kind"
ATTR_FILENAME: Final = "filename"
KIND_AUTO: Final = "auto"
SERVICE_SEND_LOCATION: Final = "send_location"
ATTR_LATITUDE: Final = "latitude"
ATTR_LONGITUDE: Final = "longitude"
ATTR_NAME: Final = "name"
ATTR_ENTITY_ID: Final = "entity_id"
# The largest file `send_media` takes (WhatsApp's own limit for documents is higher, but the
# bridge receives files base64-encoded in one JSON body).
MAX_SEND_BYTES: Final = 64 * 1024 * 1024
# Queued files together may take this much disk next to the queue's store.
MAX_QUEUED_MEDIA_BYTES: Final = 256 * 1024 * 1024
# Received files go under this folder of the local media source: whatsapp/<account>/<chat>/.
MEDIA_FOLDER: Final = "whatsapp"

EVENT_MESSAGE_RECEIVED: Final = "whatsapp_gateway_message_received"
EVENT_MESSAGE_SENT: Final = "whatsapp_gateway_message_sent"
EVENT_MESSAGE_FAILED: Final = "whatsapp_gateway_message_failed"
EVENT_REACTION_RECEIVED: Final = "whatsapp_gateway_reaction_received"
EVENT_POLL_VOTE: Final = "whatsapp_gateway_poll_vote"

SUBENTRY_RECIPIENT: Final = "recipient"
