"""Shared fixtures: a real bridge double on 127.0.0.1 and config entries pointing at it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
import logging
from typing import Any

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.const import CONF_API_KEY, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus
from custom_components.whatsapp_gateway.const import CONF_SESSION, DOMAIN

from .flow_support import FlowClient, FlowRefreshes

API_KEY = "test-secret-key-0123456789"
SESSION = "default"
ME_ID = "491511234567@c.us"
PUSH_NAME = "Alice Phone"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/ in every test."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create disabled-by-default entities enabled (not provided by the plugin)."""
    from unittest.mock import patch

    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
    ):
        yield


@pytest.fixture
def profile() -> str | None:
    """The bridge `bridge` plays; None for the double's default (override or parametrize)."""
    return None


@pytest.fixture
async def bridge(socket_enabled: None, profile: str | None) -> AsyncGenerator[BridgeDouble]:
    """A running bridge double of `profile` with one paired, working session."""
    double = BridgeDouble(
        api_key=API_KEY, **({} if profile is None else {"profile": BridgeProfile.parse(profile)})
    )
    double.add_session(
        SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    await double.start()
    yield double
    await double.stop()


def entry_data(bridge: BridgeDouble, **overrides: Any) -> dict[str, Any]:
    """Config entry data pointing at the double."""
    return {
        CONF_URL: bridge.url,
        CONF_API_KEY: API_KEY,
        CONF_SESSION: SESSION,
        CONF_VERIFY_SSL: True,
    } | overrides


@pytest.fixture
def config_entry(hass: HomeAssistant, bridge: BridgeDouble) -> MockConfigEntry:
    """A config entry for the double's default session (not set up yet)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=PUSH_NAME,
        data=entry_data(bridge),
        unique_id=f"{bridge.url}#{SESSION}",
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture(autouse=True)
def quiet_slow_callback_warnings(hass: HomeAssistant) -> None:
    """Frozen time makes asyncio think a step took minutes; that is not a slow callback."""
    hass.loop.slow_callback_duration = 10**9


@pytest.fixture(autouse=True)
def api_key_never_logged(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Every test: our code and aiohttp log at debug, and no record carries a key."""
    caplog.set_level(logging.DEBUG, logger="custom_components.whatsapp_gateway")
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    yield
    for record in caplog.get_records("call") + caplog.get_records("teardown"):
        text = record.getMessage() + str(record.exc_info or "")
        assert API_KEY not in text, f"API key logged by {record.name}"
        assert "rotated-key" not in text, f"API key logged by {record.name}"


@pytest.fixture(autouse=True)
async def dialogs_closed_at_the_end(hass: HomeAssistant) -> AsyncGenerator[None]:
    """Close the flows a test left open, as the frontend does when its dialog closes."""
    yield
    managers = [hass.config_entries.flow, repairs_flow_manager(hass)]
    for manager in filter(None, managers):
        for flow in manager.async_progress():
            manager.async_abort(flow["flow_id"])


@pytest.fixture
async def repairs(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> FlowClient:
    """The fix-flow views, as the repairs dialog uses them."""
    # Components with HTTP views load before the test client freezes the router.
    assert await async_setup_component(hass, "repairs", {})
    assert await async_setup_component(hass, "image", {})
    return FlowClient(await hass_client(), "/api/repairs/issues/fix")


@pytest.fixture
def refreshes(hass: HomeAssistant) -> FlowRefreshes:
    return FlowRefreshes(hass)
