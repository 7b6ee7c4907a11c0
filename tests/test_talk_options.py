"""The options form's "Talk to your home" section: validation, storage, what it keeps."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.config_flow import TALK_SECTION
from custom_components.whatsapp_gateway.const import (
    CONF_ALLOWED_GROUPS,
    CONF_ALLOWED_SENDERS,
    CONF_ANSWER_BUFFERED,
    CONF_CONVERSATION_AGENT,
    CONF_DEBOUNCE,
    CONF_GROUP_POLICY,
    CONF_HEARTBEAT,
    CONF_SELF_CHAT,
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
