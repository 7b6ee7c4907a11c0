"""The integration's actions, registered once in `async_setup`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

# Home Assistant 2026.10 validates with probatio, its API-compatible successor of voluptuous.
import probatio as vol

from .const import ATTR_CONFIG_ENTRY_ID, ATTR_RESTART_SESSION, DOMAIN, SERVICE_RECONNECT

if TYPE_CHECKING:
    from .coordinator import WhatsAppGatewayConfigEntry

RECONNECT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_RESTART_SESSION, default=False): cv.boolean,
    }
)


def _loaded_entry(hass: HomeAssistant, entry_id: str) -> WhatsAppGatewayConfigEntry:
    """Return the targeted entry, or raise a translated validation error."""
    entry: WhatsAppGatewayConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


async def _async_reconnect(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    state = await entry.runtime_data.async_reconnect(
        restart_session=call.data[ATTR_RESTART_SESSION]
    )
    return {"state": state.value}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_RECONNECT,
        _async_reconnect,
        schema=RECONNECT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
