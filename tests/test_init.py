"""Setting up and unloading entries against the bridge double."""

from __future__ import annotations

from pathlib import Path
import ssl

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import DOMAIN

from .conftest import API_KEY, ME_ID, PUSH_NAME, SESSION, entry_data
from .helpers import CONNECTED, STATE, state_of, wait_for_state
from .tls import self_signed


async def test_setup_connects(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    await wait_for_state(hass, CONNECTED, "on")
    assert state_of(hass, STATE) == "connected"
    assert bridge.stream_count("default") == 1

    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize(("verify_ssl", "expected"), [(True, "reconnecting"), (False, "connected")])
async def test_verify_ssl_is_honoured(
    hass: HomeAssistant, tmp_path: Path, verify_ssl: bool, expected: str
) -> None:
    """A self-signed HTTPS bridge: rejected when verifying, accepted when not."""
    if verify_ssl:
        # The double's side of the refused handshake reports a reset to the loop: expected.
        hass.loop.set_exception_handler(lambda loop, context: None)
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    double = BridgeDouble(api_key=API_KEY, ssl_context=context)
    double.add_session(
        SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    await double.start()
    try:
        assert double.url.startswith("https://")
        entry = MockConfigEntry(
            domain=DOMAIN, title=PUSH_NAME, data=entry_data(double, verify_ssl=verify_ssl)
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await wait_for_state(hass, STATE, expected)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        await double.stop()
