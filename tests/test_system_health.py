"""System health: reachability, version, state and queue per entry, without names or numbers.

Real sockets to bridge doubles; only the answers a double cannot give (a hanging ping, a
rejected key, garbage) replace the client's `ping`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_system_health_info
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.bridge import WahaAuthError, WahaClient, WahaResponseError
from custom_components.whatsapp_gateway.const import DOMAIN
from custom_components.whatsapp_gateway.system_health import PING_TIMEOUT

from .conftest import API_KEY, ME_ID, PUSH_NAME, SESSION, entry_data
from .helpers import STATE, advance, setup_connected, unload, wait_for, wait_for_state

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture(autouse=True)
async def system_health(hass: HomeAssistant) -> None:
    """The system_health component, as `default_config` loads it."""
    assert await async_setup_component(hass, "system_health", {})


@pytest.fixture
async def second_bridge() -> AsyncGenerator[BridgeDouble]:
    """Another bridge with a paired, working session; each test decides when it is down."""
    double = BridgeDouble(api_key=API_KEY, version="2026.5.0", engine="NOWEB")
    double.add_session(
        SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    await double.start()
    yield double
    await double.stop()


def add_entry(hass: HomeAssistant, bridge: BridgeDouble, title: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN, title=title, data=entry_data(bridge), unique_id=f"{bridge.url}#{SESSION}"
    )
    entry.add_to_hass(hass)
    return entry


async def health(hass: HomeAssistant) -> dict[str, Any]:
    """The info as the page shows it: awaitable values awaited."""
    info = await get_system_health_info(hass, DOMAIN)
    for key, value in info.items():
        if asyncio.iscoroutine(value):
            info[key] = await value
    return info


async def test_one_reachable_entry(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    bridge.clear_requests()
    assert await health(hass) == {
        "loaded_entries": 1,
        "bridge_reachable": "ok",
        "bridge_version": "2026.7.1",
        "bridge_engine": "GOWS",
        "bridge_edition": "CORE",
        "bridge_features": "history: yes; message ids: yes; media: no; sessions: several",
        "connection_state": "connected",
        "outbound_queue": "0",
    }
    assert bridge.count_requests(method="GET", path_prefix="/ping") == 1


async def test_an_unreachable_bridge_fails_the_check(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.bridge_down()
    await wait_for_state(hass, STATE, "reconnecting")
    info = await health(hass)
    assert info["bridge_reachable"] == {"type": "failed", "error": "unreachable"}
    assert info["connection_state"] == "reconnecting"
    # What the bridge said while it answered stays.
    assert info["bridge_version"] == "2026.7.1"


async def test_two_entries_are_listed_in_entry_order(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    second_bridge: BridgeDouble,
) -> None:
    """The second bridge was never reachable: its version is unknown, its check fails."""
    second = add_entry(hass, second_bridge, "Work Phone")
    await second_bridge.stop()
    await setup_connected(hass, config_entry)  # sets up every entry of the domain
    await wait_for(lambda: second.runtime_data.state == "reconnecting")
    info = await health(hass)
    assert info == {
        "loaded_entries": 2,
        "bridge_reachable": {"type": "failed", "error": "ok, unreachable"},
        "bridge_version": "2026.7.1, unknown",
        "bridge_engine": "GOWS, unknown",
        "bridge_edition": "CORE, unknown",
        "bridge_features": "history: yes; message ids: yes; media: no; sessions: several, unknown",
        "connection_state": "connected, reconnecting",
        "outbound_queue": "0, 0",
    }
    text = str(info)
    for secret in (PUSH_NAME, "Work Phone", ME_ID.partition("@")[0], "127.0.0.1", API_KEY):
        assert secret not in text


async def test_two_reachable_entries_are_ok(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    second_bridge: BridgeDouble,
) -> None:
    add_entry(hass, second_bridge, "Work Phone")
    await setup_connected(hass, config_entry)
    await wait_for(lambda: len(hass.config_entries.async_loaded_entries(DOMAIN)) == 2)
    await wait_for(
        lambda: all(
            entry.runtime_data.state == "connected"
            for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        )
    )
    info = await health(hass)
    assert info["bridge_reachable"] == "ok"
    assert info["bridge_version"] == "2026.7.1, 2026.5.0"
    assert info["bridge_engine"] == "GOWS, NOWEB"


async def test_no_loaded_entry(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await unload(hass, config_entry)
    assert await health(hass) == {"loaded_entries": 0}


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (WahaAuthError("401"), "key rejected"),
        (WahaResponseError("not JSON"), "bad response"),
    ],
)
async def test_answers_that_are_not_a_pong(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    error: Exception,
    shown: str,
) -> None:
    await setup_connected(hass, config_entry)
    with patch.object(WahaClient, "ping", AsyncMock(side_effect=error)):
        info = await health(hass)
    assert info["bridge_reachable"] == {"type": "failed", "error": shown}


async def test_a_ping_without_answer_times_out(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    never = asyncio.Event()

    async def hang(_client: WahaClient) -> None:
        await never.wait()

    with patch.object(WahaClient, "ping", hang):
        info = await get_system_health_info(hass, DOMAIN)
        check = asyncio.ensure_future(info["bridge_reachable"])
        await advance(hass, freezer, PING_TIMEOUT - 1)
        assert not check.done()
        await advance(hass, freezer, 2)
        await wait_for(check.done)
    assert check.result() == {"type": "failed", "error": "timeout"}


async def test_the_page_shows_it(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
) -> None:
    """Home Assistant finds the platform without a manifest dependency and awaits the ping."""
    await setup_connected(hass, config_entry)
    client = await hass_ws_client(hass)
    await client.send_json({"id": 1, "type": "system_health/info"})
    assert (await client.receive_json())["success"]
    initial = await client.receive_json()
    assert initial["event"]["type"] == "initial"
    info = initial["event"]["data"][DOMAIN]["info"]
    assert info["connection_state"] == "connected"
    assert info["bridge_reachable"] == {"type": "pending"}
    update = await client.receive_json()
    assert update["event"] == {
        "type": "update",
        "domain": DOMAIN,
        "key": "bridge_reachable",
        "success": True,
        "data": "ok",
    }
    assert (await client.receive_json())["event"] == {"type": "finish"}
