"""Button `reconnect`: the same as the `reconnect` action without a session restart."""

from __future__ import annotations

from homeassistant.components.button import ButtonDeviceClass, ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import WhatsAppGatewayConfigEntry
from .entity import LinkHealthEntity

PARALLEL_UPDATES = 1

RECONNECT = ButtonEntityDescription(
    key="reconnect",
    translation_key="reconnect",
    device_class=ButtonDeviceClass.RESTART,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppGatewayConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the reconnect button."""
    async_add_entities([ReconnectButton(entry.runtime_data, RECONNECT)])


class ReconnectButton(LinkHealthEntity, ButtonEntity):
    """Drops and re-opens the link now, resetting the backoff."""

    async def async_press(self) -> None:
        """Reconnect."""
        await self.coordinator.async_reconnect()
