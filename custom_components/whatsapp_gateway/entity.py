"""Base entity: one device per entry, describing the WhatsApp link."""

from __future__ import annotations

from homeassistant.const import CONF_URL
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import WhatsAppGatewayCoordinator


class WhatsAppGatewayEntity(CoordinatorEntity[WhatsAppGatewayCoordinator]):
    """An entity of the gateway device."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: WhatsAppGatewayCoordinator, description: EntityDescription
    ) -> None:
        """Attach the entity to the entry's device."""
        super().__init__(coordinator)
        self.entity_description = description
        entry = coordinator.config_entry
        base_id = entry.unique_id or entry.entry_id
        self._attr_unique_id = f"{base_id}_{description.key}"
        me = coordinator.me
        server = coordinator.server
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, base_id)},
            entry_type=DeviceEntryType.SERVICE,
            name=(me.push_name if me and me.push_name else entry.title),
            manufacturer="WAHA",
            model=server.engine if server else None,
            sw_version=server.version if server else None,
            configuration_url=entry.data[CONF_URL],
        )


class LinkHealthEntity(WhatsAppGatewayEntity):
    """An entity that reports the link itself: available whatever the link does."""

    @property
    def available(self) -> bool:
        """Always available: 'disconnected' is the information, not a failure."""
        return True
