"""What HACS and hassfest check before users see the integration, offline.

hacs.json and manifest.json follow the rules of HACS's validator and of hassfest; every action,
field, entity, state, attribute and form field Home Assistant shows has its English text and
an icon where the frontend looks for one; services.yaml describes exactly the registered
actions; the brand images exist in the sizes Home Assistant's brands rules ask for. The live
parts (actions, entities, forms) are read from a running set-up, not from the code's text.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
import re
import tomllib
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import __version__ as running_version
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_component import async_update_entity
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol
import yaml

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway import PLATFORMS
from custom_components.whatsapp_gateway.const import DOMAIN
from custom_components.whatsapp_gateway.event import EVENT_ATTRIBUTES

from .hassfest_translations import STRINGS_SCHEMA
from .helpers import setup_connected

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / DOMAIN
HACS: dict[str, Any] = json.loads((ROOT / "hacs.json").read_text())
MANIFEST: dict[str, Any] = json.loads((PACKAGE / "manifest.json").read_text())
STRINGS: dict[str, Any] = json.loads((PACKAGE / "translations" / "en.json").read_text())
ICONS: dict[str, Any] = json.loads((PACKAGE / "icons.json").read_text())
SERVICES_YAML: dict[str, Any] = yaml.safe_load((PACKAGE / "services.yaml").read_text())

# HACS's validator (custom_components/hacs/utils/validate.py) rejects any other key.
HACS_KEYS = {
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "name",
    "persistent_directory",
    "render_readme",
    "zip_release",
}
# Required by HACS (codeowners ... version) and by hassfest for a config-flow integration.
MANIFEST_REQUIRED = {
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "requirements",
    "version",
}
# State attributes Home Assistant names itself; every other attribute needs our text.
STANDARD_ATTRIBUTES = {
    "device_class",
    "entity_picture",
    "event_type",
    "event_types",
    "friendly_name",
    "icon",
    "options",
    "access_token",
    "state_class",
    "supported_features",
    "unit_of_measurement",
}
BRAND_IMAGES = {
    "icon.png": 256,
    "icon@2x.png": 512,
    "dark_icon.png": 256,
    "dark_icon@2x.png": 512,
}


def test_hacs_json_has_only_accepted_keys_and_a_minimum_release() -> None:
    assert set(HACS) <= HACS_KEYS
    assert HACS["name"] == MANIFEST["name"]
    assert HACS["render_readme"] is True
    minimum = AwesomeVersion(HACS["homeassistant"])
    assert minimum.strategy is AwesomeVersionStrategy.CALVER
    # The release running this suite must be one the entry claims to support.
    assert AwesomeVersion(running_version) >= minimum


def test_hacs_minimum_is_the_release_the_oldest_run_proves() -> None:
    """requirements_oldest.txt pins the harness of the oldest release; hacs.json names it."""
    pinned = re.search(
        r"Home Assistant (\d{4}\.\d+)\.\d+", (ROOT / "requirements_oldest.txt").read_text()
    )
    assert pinned, "requirements_oldest.txt names the Home Assistant release it pins"
    assert HACS["homeassistant"].startswith(f"{pinned[1]}.")


def test_manifest_keys_order_and_values() -> None:
    keys = list(MANIFEST)
    assert set(keys) >= MANIFEST_REQUIRED
    # hassfest: domain and name first, then the other keys in alphabetical order.
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert MANIFEST["domain"] == DOMAIN == PACKAGE.name
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["iot_class"] == "local_push"
    assert MANIFEST["integration_type"] in {"device", "hub", "service"}
    assert MANIFEST["requirements"] == []
    assert MANIFEST["loggers"] == [f"custom_components.{DOMAIN}"]
    assert AwesomeVersion(MANIFEST["version"]).strategy is AwesomeVersionStrategy.SEMVER
    for key in ("documentation", "issue_tracker"):
        assert MANIFEST[key].startswith("https://"), key
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])


def test_license_file_is_the_mit_license_pyproject_names() -> None:
    """HACS's default list takes only a repository with a license file at its root."""
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 WhatsApp Gateway contributors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def workflow(name: str) -> dict[str, Any]:
    """A GitHub Actions workflow; YAML 1.1 reads its `on:` key as True."""
    data: dict[str, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    assert isinstance(data, dict), name
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, spec in data["jobs"].items() for step in spec["steps"]]


def test_validate_workflow_runs_hassfest_and_the_hacs_action() -> None:
    """The HACS default list asks for both actions, passing with no check ignored."""
    data = workflow("validate.yml")
    assert {"push", "pull_request", "schedule"} <= set(data["on"])
    assert data["on"]["schedule"][0]["cron"]
    by_action = {
        step["uses"].split("@")[0]: (job, step) for job, step in steps(data) if "uses" in step
    }
    job, hassfest = by_action["home-assistant/actions/hassfest"]
    assert hassfest["uses"] == "home-assistant/actions/hassfest@master"
    # hassfest validates the checked-out tree; the HACS action fetches the repository itself.
    first = data["jobs"][job]["steps"][0]
    assert first["uses"].startswith("actions/checkout@"), job
    _, hacs = by_action["hacs/action"]
    assert hacs["uses"] == "hacs/action@main"
    assert hacs["with"] == {"category": "integration"}
    for name, spec in data["jobs"].items():
        assert spec["runs-on"] == "ubuntu-latest", name


def test_tests_workflow_runs_the_test_command_on_python_3_14() -> None:
    data = workflow("tests.yml")
    assert {"push", "pull_request"} <= set(data["on"])
    (job,) = data["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    uses = [step.get("uses", "").split("@")[0] for step in job["steps"]]
    runs = [step.get("run", "").strip() for step in job["steps"]]
    assert uses[0] == "actions/checkout"
    assert runs.count("scripts/test") == 1
    test_at = runs.index("scripts/test")
    # scripts/setup takes python3.14 from PATH; setup-python puts the project's Python there.
    setup = job["steps"][uses.index("actions/setup-python")]
    assert uses.index("actions/setup-python") < test_at
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
    assert setup["with"]["python-version"] == python == "3.14"
    assert os.access(ROOT / "scripts" / "test", os.X_OK)


def test_brand_images_exist_in_the_sizes_the_brands_rules_ask_for() -> None:
    for name, size in BRAND_IMAGES.items():
        with Image.open(PACKAGE / "brand" / name) as image:
            assert image.format == "PNG", name
            assert image.size == (size, size), name
            # Transparent background, so the icon sits on light and dark themes alike.
            assert image.mode == "RGBA", name
            assert image.getextrema()[3][0] == 0, f"{name} has no transparent pixels"


async def test_services_yaml_describes_exactly_the_registered_actions(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert set(registered) == set(SERVICES_YAML) == set(STRINGS["services"])
    assert set(ICONS["services"]) == set(registered)
    for name, service in registered.items():
        assert ICONS["services"][name]["service"].startswith("mdi:"), name
        assert service.schema is not None, name
        fields = {str(key) for key in service.schema.schema}
        assert fields == set(SERVICES_YAML[name]["fields"]), name
        text = STRINGS["services"][name]
        assert text["name"], name
        assert text["description"], name
        assert set(text["fields"]) == fields, name
        for field, field_text in text["fields"].items():
            assert field_text["name"], (name, field)
            assert field_text["description"], (name, field)


async def test_every_entity_has_its_text_and_icon(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    entries = er.async_entries_for_config_entry(er.async_get(hass), config_entry.entry_id)
    # Every platform of the integration is represented.
    assert {entry.domain for entry in entries} == set(STRINGS["entity"])
    for entry in entries:
        key = entry.translation_key
        assert key, f"{entry.entity_id} has no translation key"
        text = STRINGS["entity"][entry.domain][key]
        assert text["name"], entry.entity_id
        assert ICONS["entity"][entry.domain][key]["default"].startswith("mdi:"), entry.entity_id
        await async_update_entity(hass, entry.entity_id)
        state = hass.states.get(entry.entity_id)
        assert state is not None, entry.entity_id
        # Enum sensors: every possible state has text and the state icons name real states.
        options = state.attributes.get("options") or []
        assert set(options) <= set(text.get("state", {})), entry.entity_id
        assert set(ICONS["entity"][entry.domain][key].get("state", {})) <= (
            set(options) | {"on", "off"}
        ), entry.entity_id
        # Events: every event type has text.
        event_types = state.attributes.get("event_types") or []
        type_text = text.get("state_attributes", {}).get("event_type", {}).get("state", {})
        assert set(event_types) <= set(type_text), entry.entity_id
        # Our own attributes, as far as this state shows them, are named.
        named = set(text.get("state_attributes", {}))
        assert set(state.attributes) - STANDARD_ATTRIBUTES <= named, entry.entity_id


def test_the_message_event_attributes_are_named() -> None:
    named = set(STRINGS["entity"]["event"]["message"]["state_attributes"]) - {"event_type"}
    assert set(EVENT_ATTRIBUTES) == named


def form_fields(result: dict[str, Any]) -> set[str]:
    return {str(key) for key in result["data_schema"].schema}


async def test_every_form_field_has_a_label(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    user = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert form_fields(user) == set(STRINGS["config"]["step"]["user"]["data"])
    await setup_connected(hass, config_entry)
    options = await hass.config_entries.options.async_init(config_entry.entry_id)
    option_text = STRINGS["options"]["step"][options["step_id"]]
    sections = {
        str(key): value.schema
        for key, value in options["data_schema"].schema.items()
        if isinstance(value, section)
    }
    assert set(sections) == set(option_text["sections"])
    assert form_fields(options) - set(sections) == set(option_text["data"])
    assert set(option_text["data"]) == set(option_text["data_description"])
    for name, schema in sections.items():
        text = option_text["sections"][name]
        assert text["name"], name
        fields = {str(key) for key in schema.schema}
        assert fields == set(text["data"]) == set(text["data_description"]), name
    for subentry_type in STRINGS["config_subentries"]:
        subentry = await hass.config_entries.subentries.async_init(
            (config_entry.entry_id, subentry_type), context={"source": SOURCE_USER}
        )
        step_text = STRINGS["config_subentries"][subentry_type]["step"][subentry["step_id"]]
        assert form_fields(subentry) == set(step_text["data"]), subentry_type
        assert STRINGS["config_subentries"][subentry_type]["initiate_flow"]["user"]
    for step in ("reauth_confirm", "reconfigure"):
        assert STRINGS["config"]["step"][step]["title"], step


def test_translations_pass_hassfest_schema() -> None:
    """hassfest validates translations/en.json of a custom integration with this schema."""
    try:
        STRINGS_SCHEMA(STRINGS)
    except vol.Invalid as err:
        pytest.fail(f"hassfest would reject translations/en.json: {err}")


def test_hassfest_schema_allows_an_issue_a_description_or_a_fix_flow_not_both() -> None:
    """script/hassfest/translations.py, gen_issues_schema: vol.Exclusive(..., "fixable")."""
    fixable = [key for key, issue in STRINGS["issues"].items() if "fix_flow" in issue]
    assert fixable
    for key in fixable:
        both = copy.deepcopy(STRINGS)
        both["issues"][key]["description"] = "Select Fix to repair it."
        with pytest.raises(vol.Invalid, match="fixable"):
            STRINGS_SCHEMA(both)
        neither = copy.deepcopy(STRINGS)
        del neither["issues"][key]["fix_flow"]
        with pytest.raises(vol.Invalid):
            STRINGS_SCHEMA(neither)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("See <b>this</b>", "HTML"),
        (" padded", "leading or trailing spaces"),
        ("Open https://example.com/setup", "URLs"),
        ("Named '{session}'", "single quotes"),
        ("Broken {0bad}", "identifiers"),
    ],
)
def test_hassfest_schema_rejects_the_values_hassfest_rejects(value: str, problem: str) -> None:
    strings = copy.deepcopy(STRINGS)
    strings["issues"]["unstable_connection"]["description"] = value
    with pytest.raises(vol.Invalid, match=problem):
        STRINGS_SCHEMA(strings)


def test_exception_texts_are_all_used() -> None:
    """The other direction of test_translations: no exception text is left over."""
    code = "".join(path.read_text() for path in PACKAGE.rglob("*.py"))
    for key in STRINGS["exceptions"]:
        assert f'"{key}"' in code, f"exceptions.{key} is never raised"


@pytest.mark.parametrize("section", ["config", "options"])
def test_no_text_is_empty(section: str) -> None:
    def leaves(node: Any, path: str) -> list[tuple[str, Any]]:
        if isinstance(node, dict):
            return [leaf for key, value in node.items() for leaf in leaves(value, f"{path}.{key}")]
        return [(path, node)]

    for path, value in leaves(STRINGS[section], section):
        assert isinstance(value, str), path
        assert value.strip(), path


# Home Assistant's quality scale, tier by tier (script/hassfest/quality_scale.py).
QUALITY_SCALE_RULES = {
    "bronze": {
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    },
    "silver": {
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    },
    "gold": {
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    },
    "platinum": {"async-dependency", "inject-websession", "strict-typing"},
}


def test_quality_scale_lists_every_rule_and_explains_each_exemption() -> None:
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == set().union(*QUALITY_SCALE_RULES.values())
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in {"done", "todo", "exempt"}, name
        if status != "done":
            assert isinstance(rule, dict), f"{name} is {status} without a comment"
            assert rule["comment"].strip(), name


def test_every_entity_platform_sets_parallel_updates() -> None:
    for platform in PLATFORMS:
        assert "PARALLEL_UPDATES = " in (PACKAGE / f"{platform}.py").read_text(), platform
