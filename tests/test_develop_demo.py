"""The "Talk to your home" demo of scripts/develop: its configuration and its talk options.

Offline and quick: the template develop/configuration.yaml sets up in Home Assistant (Assist
turns the kitchen light on, the garage automation loads), scripts/develop can add its demo
block to older copies, and the options scripts/develop_onboard.py sets pass the options form.
The stack itself is run by scripts/demo_talk.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import re
from types import ModuleType
from typing import Any

from homeassistant.components import conversation
from homeassistant.config_entries import OptionsFlow
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.setup import async_setup_component
import yaml

from bridge_double.model import DEFAULT_ME_ID
from custom_components.whatsapp_gateway.compat import vol
from custom_components.whatsapp_gateway.config_flow import (
    MEDIA_OPTIONS,
    OPTIONS_FORM_SCHEMA,
    TALK_OPTIONS,
    TALK_SCHEMA,
    validated_talk_options,
)
from custom_components.whatsapp_gateway.const import DEFAULT_OPTIONS, DOMAIN
from custom_components.whatsapp_gateway.targets import normalize_target

ROOT = Path(__file__).parent.parent
CONFIGURATION = ROOT / "develop" / "configuration.yaml"
DEMO_KEYS = {"conversation", "input_boolean", "template", "automation"}


class _Loader(yaml.SafeLoader):
    """Reads Home Assistant's YAML (no !include and the like in the template)."""


def serialized(form: vol.Schema) -> list[dict[str, Any]]:
    """The form as the frontend receives it, with the release's own serializer."""
    if vol.__name__ == "probatio":
        import probatio

        fields: list[dict[str, Any]] = probatio.to_field_list(
            form, custom_serializer=cv.custom_serializer
        )
    else:
        import voluptuous_serialize

        fields = voluptuous_serialize.convert(form, custom_serializer=cv.custom_serializer)
    return fields


def load(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    return loaded


def onboard_helper() -> ModuleType:
    path = ROOT / "scripts" / "develop_onboard.py"
    spec = importlib.util.spec_from_file_location("develop_onboard", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_block() -> str:
    """What scripts/develop appends to a copy without the demo (its sed expression)."""
    lines = CONFIGURATION.read_text().splitlines(keepends=True)
    start = next(n for n, line in enumerate(lines) if re.match(r"# Talk to your home", line))
    return "".join(lines[start:])


def test_scripts_develop_appends_the_whole_demo_block() -> None:
    script = (ROOT / "scripts" / "develop").read_text()
    assert "sed -n '/^# Talk to your home/,$p' develop/configuration.yaml" in script
    block = load(demo_block())
    assert set(block) == DEMO_KEYS
    # The rest of the template has none of them: appending cannot make a key twice.
    rest = load(CONFIGURATION.read_text().replace(demo_block(), ""))
    assert not DEMO_KEYS & set(rest)


def test_the_garage_asks_your_own_number_yes_or_no() -> None:
    (automation,) = load(CONFIGURATION.read_text())["automation"]
    ask = automation["actions"][0]
    assert ask["action"] == f"{DOMAIN}.ask"
    assert ask["data"]["options"] == ["Yes", "No"]
    assert normalize_target(ask["data"]["target"]) == DEFAULT_ME_ID


async def test_assist_turns_the_kitchen_light_on_and_the_garage_automation_loads(
    hass: HomeAssistant,
) -> None:
    config = load(CONFIGURATION.read_text())
    for domain in ("homeassistant", *sorted(DEMO_KEYS)):
        # As Home Assistant reads configuration.yaml: an empty key is an empty mapping.
        assert await async_setup_component(hass, domain, {domain: config[domain] or {}}), domain
    await hass.async_block_till_done()
    assert hass.states.get("light.kitchen_light").state == "off"
    assert hass.states.get("cover.garage_door").state == "closed"
    automation = hass.states.get("automation.ask_before_closing_the_garage")
    assert automation is not None
    assert automation.state != STATE_UNAVAILABLE

    result = await conversation.async_converse(
        hass,
        "turn on the kitchen light",
        None,
        Context(),
        language="en",
        agent_id="conversation.home_assistant",
    )
    await hass.async_block_till_done()

    assert result.response.response_type.value == "action_done", result.response.speech
    assert hass.states.get("light.kitchen_light").state == "on"
    assert hass.states.get("input_boolean.kitchen_light_power").state == "on"


def test_the_demo_talk_options_pass_the_options_form() -> None:
    helper = onboard_helper()
    talk = helper.TALK_OPTIONS
    assert set(talk) <= set(TALK_OPTIONS)
    validated, errors = validated_talk_options(TALK_SCHEMA(talk))
    assert errors == {}
    assert validated["self_chat"] is True
    assert validated["conversation_agent"] == "conversation.home_assistant"

    # The form of an entry without options, as the REST API shows it.
    form = OptionsFlow().add_suggested_values_to_schema(
        OPTIONS_FORM_SCHEMA, {**DEFAULT_OPTIONS, "talk": {}}
    )
    link = helper.form_values(serialized(form))
    sections = (*TALK_OPTIONS, *MEDIA_OPTIONS)
    assert link == {k: v for k, v in DEFAULT_OPTIONS.items() if k not in sections}
    assert OPTIONS_FORM_SCHEMA({**link, "talk": talk})["talk"]["self_chat"] is True
