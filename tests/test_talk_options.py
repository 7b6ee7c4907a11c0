"""The options form's "Talk to your home" section: validation, storage, what it keeps."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.config_flow import (
    MEDIA_OPTIONS,
    MEDIA_SECTION,
    TALK_SECTION,
)
from custom_components.whatsapp_gateway.const import (
    CONF_ALLOWED_GROUPS,
    CONF_ALLOWED_SENDERS,
    CONF_ANSWER_BUFFERED,
    CONF_CONVERSATION_AGENT,
    CONF_DEBOUNCE,
    CONF_DOWNLOAD_MEDIA,
    CONF_GROUP_POLICY,
    CONF_HEARTBEAT,
    CONF_MEDIA_KEEP_DAYS,
    CONF_MEDIA_MAX_MB,
    CONF_SELF_CHAT,
    CONF_STT_ENTITY,
    DEFAULT_OPTIONS,
)

from .helpers import setup_connected, unload

pytestmark = pytest.mark.usefixtures("socket_enabled")

LINK = {
    key: DEFAULT_OPTIONS[key]
    for key in (
        "heartbeat",
        "poll_interval",
        "backoff_max",
        "auto_start",
        "presence_keepalive",
        "backfill_hours",
        "queue_ttl",
        "send_rate",
    )
}
TRANSLATIONS = "custom_components/whatsapp_gateway/translations/en.json"
TALK = {
    CONF_ALLOWED_SENDERS: ["+49 151 111-1111", "123456789012345@lid"],
    CONF_GROUP_POLICY: "allowlist",
    CONF_ALLOWED_GROUPS: ["120363025246125486@g.us"],
    CONF_SELF_CHAT: True,
    CONF_CONVERSATION_AGENT: "conversation.home_assistant",
    CONF_DEBOUNCE: 2,
    CONF_ANSWER_BUFFERED: False,
}


def section_suggestions(schema: object) -> dict[str, object]:
    """The suggested values inside the talk section of the shown form."""
    for marker, value in schema.schema.items():  # type: ignore[attr-defined]
        if marker == TALK_SECTION:
            return {
                str(key): (key.description or {}).get("suggested_value")
                for key in value.schema.schema
            }
    raise KeyError(TALK_SECTION)


async def test_talk_options_are_validated_stored_as_chat_ids_and_shown_again(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert section_suggestions(result["data_schema"])[CONF_GROUP_POLICY] == "all"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**LINK, TALK_SECTION: TALK}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options == {
        **LINK,
        **TALK,
        CONF_ALLOWED_SENDERS: ["491511111111@c.us", "123456789012345@lid"],
    }
    await hass.async_block_till_done()
    policy = config_entry.runtime_data.incoming.policy
    assert policy.self_chat
    assert policy.allowed_groups == {"120363025246125486@g.us"}

    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    shown = section_suggestions(result["data_schema"])
    assert shown[CONF_ALLOWED_SENDERS] == ["491511111111@c.us", "123456789012345@lid"]
    assert shown[CONF_CONVERSATION_AGENT] == "conversation.home_assistant"
    # Clearing the agent removes it; the link options stay.
    cleared = {key: value for key, value in TALK.items() if key != CONF_CONVERSATION_AGENT}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**LINK, CONF_HEARTBEAT: 40, TALK_SECTION: cleared}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_CONVERSATION_AGENT not in config_entry.options
    assert config_entry.options[CONF_HEARTBEAT] == 40
    await hass.async_block_till_done()
    await unload(hass, config_entry)


@pytest.mark.parametrize(
    ("field", "values", "error"),
    [
        (CONF_ALLOWED_SENDERS, ["+49151", "mum"], "invalid_sender"),
        (CONF_ALLOWED_GROUPS, ["491511111111@c.us"], "invalid_group"),
        (CONF_ALLOWED_GROUPS, ["family"], "invalid_group"),
    ],
)
async def test_invalid_talk_options_are_refused_with_a_field_error(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    field: str,
    values: list[str],
    error: str,
) -> None:
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**LINK, TALK_SECTION: {**TALK, field: values}}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    # What was typed is shown again to be corrected.
    assert section_suggestions(result["data_schema"])[field] == values
    assert config_entry.options == {}


async def test_saving_without_the_section_keeps_the_talk_options(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        config_entry, options={CONF_SELF_CHAT: True, CONF_ALLOWED_SENDERS: ["491511111111@c.us"]}
    )
    await setup_connected(hass, config_entry)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], LINK)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options == {
        **LINK,
        CONF_SELF_CHAT: True,
        CONF_ALLOWED_SENDERS: ["491511111111@c.us"],
    }
    await hass.async_block_till_done()
    await unload(hass, config_entry)


# ---------------------------------------------------------------- the media section

MEDIA = {
    CONF_DOWNLOAD_MEDIA: False,
    CONF_MEDIA_MAX_MB: 200,
    CONF_MEDIA_KEEP_DAYS: 0,
    CONF_STT_ENTITY: "stt.home_assistant_cloud",
}


def media_suggestions(schema: object) -> dict[str, object]:
    """The suggested values inside the media section of the shown form."""
    for marker, value in schema.schema.items():  # type: ignore[attr-defined]
        if marker == MEDIA_SECTION:
            return {
                str(key): (key.description or {}).get("suggested_value")
                for key in value.schema.schema
            }
    raise KeyError(MEDIA_SECTION)


async def test_media_options_are_stored_and_shown_again(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert media_suggestions(result["data_schema"]) == {
        CONF_DOWNLOAD_MEDIA: True,
        CONF_MEDIA_MAX_MB: 50,
        CONF_MEDIA_KEEP_DAYS: 30,
        CONF_STT_ENTITY: None,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**LINK, MEDIA_SECTION: MEDIA}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options == {**LINK, **MEDIA}
    assert type(config_entry.options[CONF_MEDIA_MAX_MB]) is int
    await hass.async_block_till_done()
    assert config_entry.runtime_data.media.enabled is False

    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert media_suggestions(result["data_schema"]) == MEDIA
    # Clearing the STT entity removes it; the other sections stay as they are.
    cleared = {key: value for key, value in MEDIA.items() if key != CONF_STT_ENTITY}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**LINK, TALK_SECTION: TALK, MEDIA_SECTION: cleared}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_STT_ENTITY not in config_entry.options
    assert config_entry.options[CONF_MEDIA_MAX_MB] == 200
    assert config_entry.options[CONF_SELF_CHAT] is True
    await hass.async_block_till_done()
    await unload(hass, config_entry)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (CONF_MEDIA_MAX_MB, 0),
        (CONF_MEDIA_MAX_MB, 2001),
        (CONF_MEDIA_KEEP_DAYS, -1),
        (CONF_MEDIA_KEEP_DAYS, 3651),
        (CONF_STT_ENTITY, "conversation.home_assistant"),
    ],
)
async def test_media_options_out_of_range_are_refused(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    field: str,
    value: object,
) -> None:
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**LINK, MEDIA_SECTION: {**MEDIA, field: value}}
        )
    assert config_entry.options == {}


async def test_saving_without_the_section_keeps_the_media_options(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(config_entry, options=MEDIA)
    await setup_connected(hass, config_entry)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**LINK, TALK_SECTION: TALK}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert {key: config_entry.options[key] for key in MEDIA} == MEDIA
    await hass.async_block_till_done()
    await unload(hass, config_entry)


def test_the_media_section_has_labels() -> None:
    strings = json.loads((Path(__file__).parents[1] / TRANSLATIONS).read_text(encoding="utf-8"))
    section = strings["options"]["step"]["init"]["sections"][MEDIA_SECTION]
    assert section["name"]
    assert set(section["data"]) == set(MEDIA_OPTIONS)
    assert set(section["data_description"]) == set(MEDIA_OPTIONS)
