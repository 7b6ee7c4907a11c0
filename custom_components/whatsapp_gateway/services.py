"""The integration's actions, registered once in `async_setup`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_FRIENDLY_NAME
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .bridge import MEDIA_KINDS, WahaError
from .bridge.errors import WahaNotImplementedError, WahaRouteMissingError
from .compat import vol
from .const import (
    ASK_DEFAULT_TIMEOUT,
    ASK_MAX_TIMEOUT,
    ATTR_CAMERA_ENTITY_ID,
    ATTR_CAPTION,
    ATTR_CHAT_ID,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_ENTITY_ID,
    ATTR_FILENAME,
    ATTR_KIND,
    ATTR_LATITUDE,
    ATTR_LONGITUDE,
    ATTR_MEDIA,
    ATTR_MESSAGE,
    ATTR_MESSAGE_ID,
    ATTR_NAME,
    ATTR_OPTIONS,
    ATTR_PATH,
    ATTR_QUESTION,
    ATTR_QUEUE,
    ATTR_REACTION,
    ATTR_REPLY_TO,
    ATTR_RESTART_SESSION,
    ATTR_TARGET,
    ATTR_TIMEOUT,
    ATTR_TTL,
    ATTR_URL,
    DOMAIN,
    KIND_AUTO,
    MAX_SEND_BYTES,
    SERVICE_ASK,
    SERVICE_MARK_READ,
    SERVICE_REACT,
    SERVICE_RECONNECT,
    SERVICE_SEND_LOCATION,
    SERVICE_SEND_MEDIA,
    SERVICE_SEND_MESSAGE,
)
from .media_out import async_fetch_outgoing_file
from .models import ConnectionState
from .outbox import QueuedFile
from .targets import InvalidTargetError, normalize_target

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from .coordinator import WhatsAppGatewayConfigEntry, WhatsAppGatewayCoordinator

RECONNECT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_RESTART_SESSION, default=False): cv.boolean,
    }
)

_QUEUE_FIELDS = {
    vol.Optional(ATTR_QUEUE, default=True): cv.boolean,
    vol.Optional(ATTR_TTL): vol.All(vol.Coerce(int), vol.Range(min=1, max=30 * 86400)),
    vol.Optional(ATTR_REPLY_TO): vol.All(cv.string, vol.Length(min=1, max=256)),
}
SEND_MESSAGE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_TARGET): cv.string,
        vol.Required(ATTR_MESSAGE): cv.string,
        **_QUEUE_FIELDS,
    }
)
MEDIA_SOURCES = (ATTR_MEDIA, ATTR_CAMERA_ENTITY_ID, ATTR_URL, ATTR_PATH)
SEND_MEDIA_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_TARGET): cv.string,
        # A `media:` selector value ({media_content_id, ...}) or a media-source id.
        vol.Optional(ATTR_MEDIA): vol.Any(cv.string, dict),
        vol.Optional(ATTR_CAMERA_ENTITY_ID): cv.entity_domain("camera"),
        vol.Optional(ATTR_URL): cv.string,
        vol.Optional(ATTR_PATH): cv.string,
        vol.Optional(ATTR_CAPTION): cv.string,
        vol.Optional(ATTR_KIND, default=KIND_AUTO): vol.In([KIND_AUTO, *MEDIA_KINDS]),
        vol.Optional(ATTR_FILENAME): vol.All(cv.string, vol.Length(min=1, max=255)),
        **_QUEUE_FIELDS,
    }
)
SEND_LOCATION_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_TARGET): cv.string,
        vol.Inclusive(ATTR_LATITUDE, "coordinates"): cv.latitude,
        vol.Inclusive(ATTR_LONGITUDE, "coordinates"): cv.longitude,
        vol.Optional(ATTR_ENTITY_ID): cv.entity_domain(["zone", "device_tracker", "person"]),
        vol.Optional(ATTR_NAME): vol.All(cv.string, vol.Length(max=256)),
        **_QUEUE_FIELDS,
    }
)
# WhatsApp refuses longer texts.
MAX_MESSAGE_LENGTH = 65536
# A reaction is one emoji: a few code points at most (a family emoji has eleven).
MAX_REACTION_LENGTH = 32
# WhatsApp polls have 2 to 12 options.
MAX_OPTIONS = 12

REACT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_MESSAGE_ID): vol.All(cv.string, vol.Length(min=1, max=256)),
        vol.Optional(ATTR_REACTION, default=""): vol.All(
            vol.Any(None, cv.string), lambda value: value or "", vol.Length(max=MAX_REACTION_LENGTH)
        ),
    }
)
MARK_READ_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_CHAT_ID): cv.string,
    }
)
ASK_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_TARGET): cv.string,
        vol.Required(ATTR_QUESTION): cv.string,
        vol.Optional(ATTR_OPTIONS): vol.All(
            cv.ensure_list, [vol.All(cv.string, vol.Length(min=1, max=100))]
        ),
        vol.Optional(ATTR_TIMEOUT, default=ASK_DEFAULT_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=ASK_MAX_TIMEOUT)
        ),
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


async def _async_send_message(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    chat_id = validated_target(call.data[ATTR_TARGET])
    text = validated_text(call.data[ATTR_MESSAGE])
    result = await entry.runtime_data.outgoing.async_send(chat_id, text, **_queue_options(call))
    return _send_response(result)


async def _async_send_media(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    chat_id = validated_target(call.data[ATTR_TARGET])
    caption: str = call.data.get(ATTR_CAPTION) or ""
    caption = validated_text(caption) if caption.strip() else ""
    outgoing = entry.runtime_data.outgoing
    # Said at once, before a snapshot is taken or a file fetched (and never queued).
    if entry.runtime_data.client.capabilities.media_sending is False:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="media_needs_plus")
    file = await async_fetch_outgoing_file(
        call.hass,
        outgoing.files,
        **{source: call.data.get(source) for source in MEDIA_SOURCES},
        filename=call.data.get(ATTR_FILENAME),
        kind=call.data[ATTR_KIND],
        max_bytes=MAX_SEND_BYTES,
    )
    if file.kind == "voice":
        # WhatsApp shows no caption on a voice note: none is sent, and none is looked for
        # when an earlier try of it is searched for in the chat.
        caption = ""
    result = await outgoing.async_send(
        chat_id,
        caption,
        media=QueuedFile(
            name=file.path.name,
            kind=file.kind,
            content_type=file.content_type,
            filename=file.filename,
            size=file.size,
        ),
        **_queue_options(call),
    )
    return _send_response(result)


async def _async_send_location(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    chat_id = validated_target(call.data[ATTR_TARGET])
    latitude, longitude, name = _place(call)
    result = await entry.runtime_data.outgoing.async_send(
        chat_id, name, location=(latitude, longitude), **_queue_options(call)
    )
    return _send_response(result)


def _place(call: ServiceCall) -> tuple[float, float, str]:
    """Coordinates and name from the call: given, or where a zone, tracker or person is."""
    entity_id: str | None = call.data.get(ATTR_ENTITY_ID)
    has_coordinates = ATTR_LATITUDE in call.data
    if has_coordinates == (entity_id is not None):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="location_source")
    name: str = call.data.get(ATTR_NAME) or ""
    if entity_id is None:
        return call.data[ATTR_LATITUDE], call.data[ATTR_LONGITUDE], name
    state = call.hass.states.get(entity_id)
    latitude = None if state is None else state.attributes.get(ATTR_LATITUDE)
    longitude = None if state is None else state.attributes.get(ATTR_LONGITUDE)
    if (
        state is None
        or not isinstance(latitude, int | float)
        or not isinstance(longitude, int | float)
    ):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="location_unknown",
            translation_placeholders={"entity_id": entity_id},
        )
    return (
        float(latitude),
        float(longitude),
        name or str(state.attributes.get(ATTR_FRIENDLY_NAME) or ""),
    )


def _queue_options(call: ServiceCall) -> dict[str, Any]:
    return {
        "queue": call.data[ATTR_QUEUE],
        "ttl": call.data.get(ATTR_TTL),
        "reply_to": call.data.get(ATTR_REPLY_TO),
    }


def _send_response(result: dict[str, Any]) -> ServiceResponse:
    if result["status"] == "sent":
        return {"status": "sent", "message_id": result["message_id"]}
    return {"status": "queued", "queue_id": result["queue_id"]}


async def _async_react(call: ServiceCall) -> None:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    coordinator = _connected(entry)
    await _bridge_call(
        SERVICE_REACT,
        coordinator.client.react(
            coordinator.session_name, call.data[ATTR_MESSAGE_ID], call.data[ATTR_REACTION]
        ),
    )


async def _async_mark_read(call: ServiceCall) -> None:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    chat_id = validated_target(call.data[ATTR_CHAT_ID])
    coordinator = _connected(entry)
    await _bridge_call(
        SERVICE_MARK_READ, coordinator.client.send_seen(coordinator.session_name, chat_id)
    )


async def _async_ask(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    chat_id = validated_target(call.data[ATTR_TARGET])
    question = validated_text(call.data[ATTR_QUESTION])
    options: list[str] | None = call.data.get(ATTR_OPTIONS)
    if options is not None and (
        not 2 <= len(options) <= MAX_OPTIONS
        or len({option.strip().casefold() for option in options}) != len(options)
        or not all(option.strip() for option in options)
    ):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_options",
            translation_placeholders={"max": str(MAX_OPTIONS)},
        )
    answer: dict[str, Any] = await entry.runtime_data.questions.async_ask(
        chat_id, question, options, timeout=call.data[ATTR_TIMEOUT]
    )
    return answer


def _connected(entry: WhatsAppGatewayConfigEntry) -> WhatsAppGatewayCoordinator:
    """The entry's link, or a translated error when it is down (these calls are not queued)."""
    coordinator = entry.runtime_data
    if coordinator.state is not ConnectionState.CONNECTED:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="not_connected")
    return coordinator


async def _bridge_call(action: str, request: Awaitable[None]) -> None:
    """Await a bridge call; its failures as translated errors."""
    try:
        await request
    except (WahaNotImplementedError, WahaRouteMissingError):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="not_supported",
            translation_placeholders={"action": action},
        ) from None
    except WahaError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="send_failed",
            translation_placeholders={"error": str(err)},
        ) from None


def validated_text(text: str) -> str:
    """A message text WhatsApp takes, or a translated validation error."""
    if not text.strip() or len(text) > MAX_MESSAGE_LENGTH:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_message",
            translation_placeholders={"max": str(MAX_MESSAGE_LENGTH)},
        )
    return text


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
    for name, send, schema in (
        (SERVICE_SEND_MESSAGE, _async_send_message, SEND_MESSAGE_SCHEMA),
        (SERVICE_SEND_MEDIA, _async_send_media, SEND_MEDIA_SCHEMA),
        (SERVICE_SEND_LOCATION, _async_send_location, SEND_LOCATION_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN, name, send, schema=schema, supports_response=SupportsResponse.OPTIONAL
        )
    for name, handler, schema in (
        (SERVICE_REACT, _async_react, REACT_SCHEMA),
        (SERVICE_MARK_READ, _async_mark_read, MARK_READ_SCHEMA),
    ):
        hass.services.async_register(DOMAIN, name, handler, schema=schema)
    hass.services.async_register(
        DOMAIN,
        SERVICE_ASK,
        _async_ask,
        schema=ASK_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
