"""Device triggers of the account's device: a message received, the link lost or restored.

"Message received" listens to `whatsapp_gateway_message_received` for the trigger's device,
filtered by sender and text in the bus's event filter (before any job is scheduled), and hands
the automation the event as Home Assistant's event trigger does (`trigger.event.data.text`).
"Link lost" / "link restored" are Home Assistant's state trigger on the device's `connected`
binary sensor, from on to off and from off to on (never from or to unavailable or unknown),
with the optional `for` that Home Assistant's own state device triggers offer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.components.binary_sensor import DOMAIN as BINARY_SENSOR_DOMAIN
from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.components.homeassistant.triggers import state as state_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_ENTITY_ID,
    CONF_FOR,
    CONF_PLATFORM,
    CONF_TYPE,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, entity_registry as er, selector
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .compat import vol
from .const import DOMAIN, EVENT_MESSAGE_RECEIVED
from .targets import InvalidTargetError, normalize_target

TRIGGER_MESSAGE_RECEIVED: Final = "message_received"
TRIGGER_LINK_LOST: Final = "link_lost"
TRIGGER_LINK_RESTORED: Final = "link_restored"
TRIGGER_TYPES: Final = (TRIGGER_MESSAGE_RECEIVED, TRIGGER_LINK_LOST, TRIGGER_LINK_RESTORED)
LINK_TRIGGERS: Final = (TRIGGER_LINK_LOST, TRIGGER_LINK_RESTORED)

CONF_SENDER: Final = "sender"
CONF_TEXT_CONTAINS: Final = "text_contains"

# The connectivity sensor's description key (binary_sensor.CONNECTED), its unique id suffix.
CONNECTED_KEY: Final = "connected"


def _chat_id(value: Any) -> str:
    """A sender as the chat id it is compared with: `+4915...` -> `4915...@c.us`."""
    try:
        return normalize_target(cv.string(value))
    except InvalidTargetError:
        raise vol.Invalid(
            f"'{value}' is neither an E.164 number (+4915...) nor a chat id (...@c.us, "
            "...@g.us, ...@lid)"
        ) from None


MESSAGE_TRIGGER_SCHEMA: Final = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): TRIGGER_MESSAGE_RECEIVED,
        vol.Optional(CONF_SENDER): _chat_id,
        vol.Optional(CONF_TEXT_CONTAINS): cv.string,
    }
)

LINK_TRIGGER_SCHEMA: Final = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In(LINK_TRIGGERS),
        vol.Optional(CONF_FOR): cv.positive_time_period_dict,
    }
)


async def async_validate_trigger_config(hass: HomeAssistant, config: ConfigType) -> ConfigType:
    """Validate the fields of the type; a link trigger needs the device's connectivity sensor.

    Each type takes only its own fields: `for` on a message, or a sender on the link, is invalid.
    """
    schema = (
        MESSAGE_TRIGGER_SCHEMA
        if config.get(CONF_TYPE) == TRIGGER_MESSAGE_RECEIVED
        else LINK_TRIGGER_SCHEMA
    )
    validated: ConfigType = schema(config)
    if validated[CONF_TYPE] in LINK_TRIGGERS:
        _connected_entity_id(hass, validated[CONF_DEVICE_ID])
    return validated


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """The three triggers of the account's device (the link ones where its sensor exists)."""
    base = {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id}
    types = [TRIGGER_MESSAGE_RECEIVED]
    if _find_connected_entity_id(hass, device_id) is not None:
        types.extend(LINK_TRIGGERS)
    return [base | {CONF_TYPE: trigger_type} for trigger_type in types]


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """The optional fields the automation editor shows for each type."""
    if config[CONF_TYPE] == TRIGGER_MESSAGE_RECEIVED:
        return {
            "extra_fields": vol.Schema(
                {
                    vol.Optional(CONF_SENDER): selector.TextSelector(),
                    vol.Optional(CONF_TEXT_CONTAINS): selector.TextSelector(),
                }
            )
        }
    return {"extra_fields": vol.Schema({vol.Optional(CONF_FOR): cv.positive_time_period_dict})}


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Attach a trigger of either kind."""
    if config[CONF_TYPE] == TRIGGER_MESSAGE_RECEIVED:
        return _attach_message_trigger(hass, config, action, trigger_info)
    going_off = config[CONF_TYPE] == TRIGGER_LINK_LOST
    state_config: ConfigType = {
        CONF_PLATFORM: "state",
        CONF_ENTITY_ID: _connected_entity_id(hass, config[CONF_DEVICE_ID]),
        state_trigger.CONF_FROM: STATE_ON if going_off else STATE_OFF,
        state_trigger.CONF_TO: STATE_OFF if going_off else STATE_ON,
    }
    if CONF_FOR in config:
        state_config[CONF_FOR] = config[CONF_FOR]
    state_config = await state_trigger.async_validate_trigger_config(hass, state_config)
    return await state_trigger.async_attach_trigger(
        hass, state_config, action, trigger_info, platform_type="device"
    )


@callback
def _attach_message_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen to the device's messages; the filter runs before any job is scheduled."""
    trigger_data = trigger_info["trigger_data"]
    device_id: str = config[CONF_DEVICE_ID]
    sender: str | None = config.get(CONF_SENDER)  # a chat id: normalised by the validation
    text_contains: str | None = config.get(CONF_TEXT_CONTAINS)
    needle = text_contains.casefold() if text_contains else None
    job = HassJob(action, f"{DOMAIN} message trigger {trigger_info}")

    @callback
    def matches(data: Mapping[str, Any]) -> bool:
        if data.get(CONF_DEVICE_ID) != device_id:
            return False
        if sender is not None and sender not in (data.get("sender"), data.get("chat_id")):
            return False
        return needle is None or needle in str(data.get("text") or "").casefold()

    @callback
    def fire(event: Event[Mapping[str, Any]]) -> None:
        data = event.data
        who = data.get("sender_name") or data.get("sender")
        hass.async_run_hass_job(
            job,
            {
                "trigger": {
                    **trigger_data,
                    CONF_PLATFORM: "device",
                    CONF_DOMAIN: DOMAIN,
                    CONF_DEVICE_ID: device_id,
                    CONF_TYPE: TRIGGER_MESSAGE_RECEIVED,
                    "event": event,
                    "description": f"WhatsApp message from {who}",
                }
            },
            event.context,
        )

    return hass.bus.async_listen(EVENT_MESSAGE_RECEIVED, fire, event_filter=matches)


def _find_connected_entity_id(hass: HomeAssistant, device_id: str) -> str | None:
    """The entity id of the device's `connected` sensor (unique id `<entry id>_connected`)."""
    registry = er.async_get(hass)
    for entity in er.async_entries_for_device(registry, device_id, include_disabled_entities=True):
        if entity.platform != DOMAIN or entity.domain != BINARY_SENSOR_DOMAIN:
            continue
        entry = hass.config_entries.async_get_entry(entity.config_entry_id or "")
        if entry is not None and entity.unique_id == (
            f"{entry.unique_id or entry.entry_id}_{CONNECTED_KEY}"
        ):
            return entity.entity_id
    return None


def _connected_entity_id(hass: HomeAssistant, device_id: str) -> str:
    """The entity id of the device's `connected` sensor, or an invalid-config error."""
    if (entity_id := _find_connected_entity_id(hass, device_id)) is None:
        raise InvalidDeviceAutomationConfig(
            f"Device '{device_id}' has no WhatsApp Gateway connectivity sensor"
        )
    return entity_id
