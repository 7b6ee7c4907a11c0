"""Event entity `message`: one `received` event per incoming message.

The text, the sender and the ids are event attributes for automations, but they are not
written to the recorder's history.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import WhatsAppGatewayConfigEntry
from .entity import WhatsAppGatewayEntity

PARALLEL_UPDATES = 0

EVENT_TYPE_RECEIVED = "received"
# The bus event's fields the entity carries, and those kept out of the recorder.
EVENT_ATTRIBUTES = (
    "message_id",
    "chat_id",
    "sender",
    "sender_name",
    "text",
    "timestamp",
    "is_group",
    "has_media",
    "buffered",
    "from_me",
    "reply_to",
    "media",
    "media_error",
    "location",
)
# Kept out of the recorder: who, what, where (a saved file's path names the chat).
PRIVATE_ATTRIBUTES = frozenset(
    {"message_id", "chat_id", "sender", "sender_name", "text", "reply_to", "media", "location"}
)

MESSAGE = EventEntityDescription(
    key="message", translation_key="message", event_types=[EVENT_TYPE_RECEIVED]
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppGatewayConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the message event entity."""
    async_add_entities([MessageEventEntity(entry.runtime_data, MESSAGE)])


class MessageEventEntity(WhatsAppGatewayEntity, EventEntity):
    """Fires `received` for each incoming message, live or buffered."""

    _unrecorded_attributes = PRIVATE_ATTRIBUTES

    async def async_added_to_hass(self) -> None:
        """Listen to the entry's incoming messages."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.incoming.async_add_listener(self._on_message))

    @callback
    def _on_message(self, data: dict[str, Any]) -> None:
        self._trigger_event(EVENT_TYPE_RECEIVED, {key: data[key] for key in EVENT_ATTRIBUTES})
        self.async_write_ha_state()
