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

from .compat import vol
from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_MESSAGE,
    ATTR_QUEUE,
    ATTR_RESTART_SESSION,
    ATTR_TARGET,
    ATTR_TTL,
    DOMAIN,
    SERVICE_RECONNECT,
    SERVICE_SEND_MESSAGE,
)
from .targets import InvalidTargetError, normalize_target

if TYPE_CHECKING:
    from .coordinator import WhatsAppGatewayConfigEntry

RECONNECT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_RESTART_SESSION, default=False): cv.boolean,
    }
)

SEND_MESSAGE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_TARGET): cv.string,
        vol.Required(ATTR_MESSAGE): cv.string,
        vol.Optional(ATTR_QUEUE, default=True): cv.boolean,
        vol.Optional(ATTR_TTL): vol.All(vol.Coerce(int), vol.Range(min=1, max=30 * 86400)),
    }
)
# WhatsApp refuses longer texts.
MAX_MESSAGE_LENGTH = 65536


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


async def _async_send_message(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    chat_id = validated_target(call.data[ATTR_TARGET])
    text: str = call.data[ATTR_MESSAGE]
    if not text.strip() or len(text) > MAX_MESSAGE_LENGTH:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_message",
            translation_placeholders={"max": str(MAX_MESSAGE_LENGTH)},
        )
    result = await entry.runtime_data.outgoing.async_send(
        chat_id, text, queue=call.data[ATTR_QUEUE], ttl=call.data.get(ATTR_TTL)
    )
    if result["status"] == "sent":
        return {"status": "sent", "message_id": result["message_id"]}
    return {"status": "queued", "queue_id": result["queue_id"]}


def validated_target(target: str) -> str:
    """The chat id for a target, or a translated validation error naming it."""
    try:
        return normalize_target(target)
    except InvalidTargetError:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_target",
            translation_placeholders={"target": target},
        ) from None


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
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEND_MESSAGE,
        _async_send_message,
        schema=SEND_MESSAGE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
