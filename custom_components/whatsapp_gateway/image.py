"""Image `pairing_qr`: the bridge's current pairing QR code, for a dashboard card."""

from __future__ import annotations

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .bridge import SessionStatus, WahaError
from .const import LOGGER
from .coordinator import WhatsAppGatewayConfigEntry, WhatsAppGatewayCoordinator
from .entity import WhatsAppGatewayEntity
from .models import ConnectionState

PARALLEL_UPDATES = 0

PAIRING_QR = ImageEntityDescription(key="pairing_qr", translation_key="pairing_qr")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppGatewayConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the pairing QR image."""
    async_add_entities([PairingQrImage(hass, entry.runtime_data)])


class PairingQrImage(WhatsAppGatewayEntity, ImageEntity):
    """The QR code as PNG while pairing is required and the bridge shows one."""

    _attr_content_type = "image/png"

    def __init__(self, hass: HomeAssistant, coordinator: WhatsAppGatewayCoordinator) -> None:
        """Attach to the entry's device."""
        WhatsAppGatewayEntity.__init__(self, coordinator, PAIRING_QR)
        ImageEntity.__init__(self, hass)

    @property
    def available(self) -> bool:
        """Only while a QR code exists: the login is gone and the session shows codes."""
        return (
            self.coordinator.data.state is ConnectionState.PAIRING_REQUIRED
            and self.coordinator.session.status is SessionStatus.SCAN_QR_CODE
        )

    async def async_added_to_hass(self) -> None:
        """Follow the session: every SCAN_QR_CODE event is a new code."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.session.async_watch(self._on_session_status))
        if self.available:
            self._attr_image_last_updated = dt_util.utcnow()

    @callback
    def _on_session_status(self) -> None:
        if self.coordinator.session.status is SessionStatus.SCAN_QR_CODE:
            # A new timestamp gives the frontend a new URL, so it fetches the new code.
            self._attr_image_last_updated = dt_util.utcnow()
        self.async_write_ha_state()

    async def async_image(self) -> bytes | None:
        """The PNG the bridge renders for the current code (None when there is none)."""
        if not self.available:
            return None
        coordinator = self.coordinator
        try:
            return await coordinator.client.pairing_qr_image(coordinator.session_name)
        except WahaError as err:
            LOGGER.debug("No pairing QR code from %s: %s", coordinator.client.origin, err)
            return None
