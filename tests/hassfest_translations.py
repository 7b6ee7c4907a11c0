"""hassfest's schema for an integration's translations, as it checks a custom integration.

Home Assistant's wheel does not ship `script.hassfest`, so this is a port of
`script/hassfest/translations.py` of home-assistant/core (`gen_strings_schema`,
`gen_data_entry_schema`, `gen_issues_schema`, `validate_translation_value`), cut to what
applies to a custom integration: hassfest runs with `--integration-path`, so
`config.specific_integrations` is set and it validates `translations/en.json`;
`allow_name_translation` is true for anything not in core (no brand-name check on step
titles); `mandatory_description` only applies to helpers. It is built from Home Assistant's
own `config_validation`, so the value rules (no HTML, for instance) are the installed ones.
Keep it in step with upstream when hassfest (the workflow in .github/workflows/validate.yml)
reports something this schema let through.
"""

from __future__ import annotations

import re
import string
from typing import Any

from homeassistant.helpers import config_validation as cv
import voluptuous as vol

RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)


def translation_key_validator(value: str) -> str:
    """A key of an entity, state, service, field...: [a-z0-9-_]+, no edge or double _/-."""
    if RE_TRANSLATION_KEY.match(value) is None:
        raise vol.Invalid(
            f"Invalid translation key '{value}', need to be [a-z0-9-_]+ and"
            " cannot start or end with a hyphen or underscore."
        )
    return value


def validate_translation_value(value: Any, allow_placeholders: bool = True) -> str:
    """No HTML, no quoted or non-identifier placeholders, no combined refs, spaces or URLs."""
    text: str = cv.string_with_no_html(value)
    if RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(text):
        raise vol.Invalid("the string should not contain placeholders inside single quotes")
    for _, field_name, _, _ in string.Formatter().parse(text):
        if field_name:
            if not allow_placeholders:
                raise vol.Invalid("placeholders are not supported in this value")
            if not field_name.isidentifier():
                raise vol.Invalid("placeholders must be valid identifiers ([a-zA-Z_][a-zA-Z0-9_]*)")
    if RE_COMBINED_REFERENCE.search(text):
        raise vol.Invalid("the string should not contain combined translations")
    if text != text.strip():
        raise vol.Invalid("the string should not contain leading or trailing spaces")
    if RE_URL.search(text):
        raise vol.Invalid(
            "the string should not contain URLs, please use description placeholders instead"
        )
    return text


def text(value: Any) -> str:
    """`translation_value_validator`."""
    return validate_translation_value(value)


def text_without_placeholders(value: Any) -> str:
    """`custom_translation_value_validator(allow_placeholders=False)`."""
    return validate_translation_value(value, allow_placeholders=False)


def _data_description_in_data(value: dict[str, Any]) -> dict[str, Any]:
    for step_info in value["step"].values():
        for key in step_info.get("data_description", {}):
            if key not in step_info["data"]:
                raise vol.Invalid(f"data_description key {key} is not in data")
    return value


def data_entry_schema(*, subentry_flow: bool = False, removed_title: bool = False) -> vol.All:
    """`gen_data_entry_schema` with `require_step_title=False`, as for config/options/fixes.

    `removed_title` is hassfest's `flow_title=REMOVED` (config and subentry flows): for a
    custom integration a `title` there is only a warning, so it is accepted here.
    """
    schema: dict[Any, Any] = {
        vol.Optional("flow_title"): text,
        vol.Required("step"): {
            str: {
                vol.Optional("title"): text,
                vol.Optional("description"): text,
                vol.Optional("data"): {str: text},
                vol.Optional("data_description"): {str: text},
                vol.Optional("menu_options"): {str: text},
                vol.Optional("menu_option_descriptions"): {str: text},
                vol.Optional("submit"): text,
                vol.Optional("sections"): {
                    str: {
                        vol.Optional("data"): {str: text},
                        vol.Optional("data_description"): {str: text},
                        vol.Optional("description"): text,
                        vol.Optional("name"): text,
                    },
                },
            }
        },
        vol.Optional("error"): {str: text},
        vol.Optional("abort"): {str: text},
        vol.Optional("progress"): {str: text},
        vol.Optional("create_entry"): {str: text},
    }
    if subentry_flow:
        schema[vol.Required("entry_type")] = text
        schema[vol.Required("initiate_flow")] = {vol.Required("user"): text, str: text}
    else:
        schema[vol.Optional("initiate_flow")] = {vol.Required("user"): text}
    if removed_title:
        schema[vol.Optional("title")] = text
    return vol.All(vol.Schema(schema), _data_description_in_data)


# `gen_issues_schema`: an issue has a title and either a description (a warning the user
# reads) or a fix_flow (a fixable issue: the frontend opens the flow), never both.
ISSUES_SCHEMA = {
    str: vol.All(
        cv.has_at_least_one_key("description", "fix_flow"),
        vol.Schema(
            {
                vol.Required("title"): text,
                vol.Exclusive("description", "fixable"): text,
                vol.Exclusive("fix_flow", "fixable"): data_entry_schema(),
            }
        ),
    )
}

_FIELDS = cv.schema_with_slug_keys(
    {
        vol.Required("name"): str,
        vol.Required("description"): text,
        vol.Optional("example"): text,
    },
    slug_validator=translation_key_validator,
)
_STATES = cv.schema_with_slug_keys(
    text_without_placeholders, slug_validator=translation_key_validator
)

# `gen_strings_schema`: what strings.json / translations/en.json may contain.
STRINGS_SCHEMA = vol.Schema(
    {
        vol.Optional("title"): text,
        vol.Optional("config"): data_entry_schema(removed_title=True),
        vol.Optional("config_subentries"): cv.schema_with_slug_keys(
            data_entry_schema(subentry_flow=True, removed_title=True),
            slug_validator=vol.Any("_", cv.slug),
        ),
        vol.Optional("options"): data_entry_schema(),
        vol.Optional("preview_features"): cv.schema_with_slug_keys(
            {
                vol.Required("name"): text,
                vol.Required("description"): text,
                vol.Optional("enable_confirmation"): text,
                vol.Optional("disable_confirmation"): text,
            },
            slug_validator=translation_key_validator,
        ),
        vol.Optional("selector"): cv.schema_with_slug_keys(
            {
                vol.Optional("choices"): cv.schema_with_slug_keys(
                    text, slug_validator=translation_key_validator
                ),
                vol.Optional("options"): cv.schema_with_slug_keys(
                    text, slug_validator=translation_key_validator
                ),
                vol.Optional("unit_of_measurement"): cv.schema_with_slug_keys(
                    text, slug_validator=translation_key_validator
                ),
                vol.Optional("fields"): vol.Any(
                    cv.schema_with_slug_keys(str),
                    cv.schema_with_slug_keys(
                        {vol.Required("name"): str, vol.Required("description"): text},
                        slug_validator=translation_key_validator,
                    ),
                ),
            },
            slug_validator=vol.Any("_", cv.slug),
        ),
        vol.Optional("device_automation"): {
            vol.Optional("action_type"): {str: text},
            vol.Optional("condition_type"): {str: text},
            vol.Optional("trigger_type"): {str: text},
            vol.Optional("trigger_subtype"): {str: text},
            vol.Optional("extra_fields"): {str: text},
            vol.Optional("extra_fields_descriptions"): {str: text},
        },
        vol.Optional("system_health"): {
            vol.Optional("info"): cv.schema_with_slug_keys(
                text, slug_validator=translation_key_validator
            ),
        },
        vol.Optional("config_panel"): vol.Schema(
            vol.Any({vol.Any(translation_key_validator, "_"): vol.Self}, text)
        ),
        vol.Optional("application_credentials"): {vol.Optional("description"): text},
        vol.Optional("issues"): ISSUES_SCHEMA,
        vol.Optional("entity_component"): cv.schema_with_slug_keys(
            {
                vol.Optional("name"): str,
                vol.Optional("state"): _STATES,
                vol.Optional("state_attributes"): cv.schema_with_slug_keys(
                    {vol.Optional("name"): str, vol.Optional("state"): _STATES},
                    slug_validator=translation_key_validator,
                ),
            },
            slug_validator=vol.Any("_", cv.slug),
        ),
        vol.Optional("device"): cv.schema_with_slug_keys(
            {vol.Optional("name"): text}, slug_validator=translation_key_validator
        ),
        vol.Optional("entity"): cv.schema_with_slug_keys(
            cv.schema_with_slug_keys(
                {
                    vol.Optional("name"): text,
                    vol.Optional("state"): _STATES,
                    vol.Optional("state_attributes"): cv.schema_with_slug_keys(
                        {
                            vol.Optional("name"): text_without_placeholders,
                            vol.Optional("state"): _STATES,
                        },
                        slug_validator=translation_key_validator,
                    ),
                    vol.Optional("unit_of_measurement"): text_without_placeholders,
                },
                slug_validator=translation_key_validator,
            ),
            slug_validator=cv.slug,
        ),
        vol.Optional("exceptions"): cv.schema_with_slug_keys(
            {vol.Optional("message"): text}, slug_validator=cv.slug
        ),
        vol.Optional("services"): cv.schema_with_slug_keys(
            {
                vol.Required("name"): text,
                vol.Required("description"): text,
                vol.Optional("fields"): _FIELDS,
                vol.Optional("sections"): cv.schema_with_slug_keys(
                    {vol.Required("name"): str, vol.Optional("description"): text},
                    slug_validator=translation_key_validator,
                ),
            },
            slug_validator=translation_key_validator,
        ),
        vol.Optional("conditions"): cv.schema_with_slug_keys(
            {
                vol.Required("name"): text,
                vol.Required("description"): text,
                vol.Optional("fields"): _FIELDS,
            },
            slug_validator=cv.underscore_slug,
        ),
        vol.Optional("triggers"): cv.schema_with_slug_keys(
            {
                vol.Required("name"): text,
                vol.Required("description"): text,
                vol.Optional("fields"): _FIELDS,
            },
            slug_validator=cv.underscore_slug,
        ),
        vol.Optional("conversation"): {vol.Required("agent"): {vol.Required("done"): text}},
        vol.Optional("common"): vol.Schema({cv.slug: text}),
    }
)
