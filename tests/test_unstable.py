"""The unstable_connection warning: more than 6 drops within an hour; clears after a quiet hour."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.const import DOMAIN

from .conftest import SESSION
from .helpers import CONNECTED, advance, setup_connected, wait_for_state


def unstable_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"unstable_connection_{entry.entry_id}")


async def blip(hass: HomeAssistant, bridge: BridgeDouble) -> None:
    """One WhatsApp-side drop (the periodic 408): WORKING -> STARTING -> WORKING."""
    await bridge.blip(SESSION)
    await wait_for_state(hass, CONNECTED, "off")
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")


async def test_seven_drops_within_an_hour_warn_and_a_quiet_hour_clears(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    for _ in range(6):
        await blip(hass, bridge)
        await advance(hass, freezer, 8 * 60)
    # Six drops in 48 minutes: not yet more than six.
    assert unstable_issue(hass, config_entry) is None

    await blip(hass, bridge)
    issue = unstable_issue(hass, config_entry)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["count"] == "7"
    assert issue.translation_placeholders["reasons"] == ", ".join(["whatsapp_reconnecting"] * 5)

    # A drop 50 minutes later restarts the quiet hour.
    await advance(hass, freezer, 50 * 60)
    await blip(hass, bridge)
    await advance(hass, freezer, 59 * 60)
    assert unstable_issue(hass, config_entry) is not None
    await advance(hass, freezer, 61)
    assert unstable_issue(hass, config_entry) is None
    assert config_entry.runtime_data.unstable_link.recent_drops == 0


async def test_drops_spread_over_more_than_an_hour_do_not_warn(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    for _ in range(12):
        await blip(hass, bridge)
        await advance(hass, freezer, 11 * 60)
    # Every hour-long window holds at most six of these drops.
    assert unstable_issue(hass, config_entry) is None
    assert config_entry.runtime_data.unstable_link.recent_drops <= 6


async def test_manual_reconnects_are_not_instability(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    for _ in range(8):
        await hass.services.async_call(
            DOMAIN, "reconnect", {"config_entry_id": config_entry.entry_id}, blocking=True
        )
        await wait_for_state(hass, CONNECTED, "on")
        await advance(hass, freezer, 60)
    assert unstable_issue(hass, config_entry) is None


async def test_the_warning_ends_with_the_entry(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    for _ in range(7):
        await blip(hass, bridge)
    assert unstable_issue(hass, config_entry) is not None
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    # Nothing would clear it any more, so it goes with the entry.
    assert unstable_issue(hass, config_entry) is None
    await advance(hass, freezer, 2 * 3600)
    assert unstable_issue(hass, config_entry) is None
