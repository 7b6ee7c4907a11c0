"""Notify entities: one per recipient configured on the entry (config subentries).

Their `send_message` goes through the same queue as the `send_message` action, so a
notification sent while the link is down goes out when it is back.
"""

from __future__ import annotations

from homeassistant.components.notify import NotifyEntity
from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigSubentry,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import ATTR_TARGET, DOMAIN, SUBENTRY_RECIPIENT
from .coordinator import WhatsAppGatewayConfigEntry, WhatsAppGatewayCoordinator

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppGatewayConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a notify entity per recipient, now and whenever one is added."""
    added: set[str] = set()

    @callback
    def add_new_recipients() -> None:
        for subentry_id, subentry in entry.subentries.items():
            if subentry.subentry_type != SUBENTRY_RECIPIENT or subentry_id in added:
                continue
            added.add(subentry_id)
            async_add_entities(
                [RecipientNotifyEntity(entry.runtime_data, subentry)],
                config_subentry_id=subentry_id,
            )

    @callback
    def entry_changed(change: ConfigEntryChange, changed: ConfigEntry) -> None:
        if change is ConfigEntryChange.UPDATED and changed.entry_id == entry.entry_id:
            add_new_recipients()

    add_new_recipients()
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed)
    )


class RecipientNotifyEntity(CoordinatorEntity[WhatsAppGatewayCoordinator], NotifyEntity):
    """Sends to one WhatsApp chat; queued while the link is down.

    Each recipient is a device of its own, linked through the gateway: a device belongs to
    one config subentry at most.
    """

    _attr_has_entity_name = True
    _attr_name = None

    def __init__(self, coordinator: WhatsAppGatewayCoordinator, subentry: ConfigSubentry) -> None:
        """Bind the entity to a recipient subentry."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        base_id = entry.unique_id or entry.entry_id
        self._attr_unique_id = f"{base_id}_recipient_{subentry.subentry_id}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{base_id}_recipient_{subentry.subentry_id}")},
            entry_type=DeviceEntryType.SERVICE,
            name=subentry.title,
            manufacturer="WhatsApp",
            model="Recipient",
        )
        self._chat_id: str = subentry.data[ATTR_TARGET]

    @property
    def available(self) -> bool:
        """Always available: while the link is down, messages are queued."""
        return True

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send (or queue) the message; a title becomes a bold first line."""
        text = f"*{title}*\n{message}" if title else message
        await self.coordinator.outgoing.async_send(self._chat_id, text, queue=True)
