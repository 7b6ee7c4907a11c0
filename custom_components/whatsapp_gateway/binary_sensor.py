"""Binary sensor `connected`: on only while the link is fully up."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import WhatsAppGatewayConfigEntry
from .entity import LinkHealthEntity

PARALLEL_UPDATES = 0

CONNECTED = BinarySensorEntityDescription(
    key="connected",
    translation_key="connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppGatewayConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the connectivity sensor."""
    async_add_entities([ConnectedBinarySensor(entry.runtime_data, CONNECTED)])


class ConnectedBinarySensor(LinkHealthEntity, BinarySensorEntity):
    """On in state `connected`, off in every other state; never unavailable."""

    @property
    def is_on(self) -> bool:
        """Whether the link is up."""
        return self.coordinator.data.is_connected
