"""Image `pairing_qr`: the bridge's current QR code while pairing is required."""

from __future__ import annotations

from homeassistant.components.image import async_get_image
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble, SessionStatus

from .conftest import ME_ID, PUSH_NAME, SESSION
from .helpers import CONNECTED, STATE, setup_connected, state_of, wait_for, wait_for_state

PAIRING_QR = "image.alice_phone_pairing_qr"


async def shown_png(hass: HomeAssistant) -> bytes:
    """The bytes a dashboard card gets for the image entity."""
    image = await async_get_image(hass, PAIRING_QR)
    assert image.content_type == "image/png"
    return image.content


async def test_qr_image_follows_the_pairing(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    assert state_of(hass, PAIRING_QR) == STATE_UNAVAILABLE

    await bridge.logout_from_phone(SESSION)
    await wait_for_state(hass, STATE, "pairing_required")
    await wait_for(lambda: state_of(hass, PAIRING_QR) != STATE_UNAVAILABLE)
    assert await shown_png(hass) == bridge.qr_png(SESSION)

    # Each new code gets a new timestamp (the card fetches it) and the new picture.
    before = state_of(hass, PAIRING_QR)
    first = bridge.qr_png(SESSION)
    await bridge.rotate_qr(SESSION)
    await wait_for(lambda: state_of(hass, PAIRING_QR) != before)
    assert await shown_png(hass) == bridge.qr_png(SESSION) != first

    await bridge.scan_qr(SESSION, me_id=ME_ID, push_name=PUSH_NAME)
    await wait_for_state(hass, CONNECTED, "on")
    assert state_of(hass, PAIRING_QR) == STATE_UNAVAILABLE
    with pytest.raises(HomeAssistantError):
        await async_get_image(hass, PAIRING_QR)


async def test_no_image_once_the_codes_ran_out(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.logout_from_phone(SESSION)
    await wait_for(lambda: state_of(hass, PAIRING_QR) != STATE_UNAVAILABLE)
    while bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE:
        await bridge.rotate_qr(SESSION)
    await wait_for(lambda: config_entry.runtime_data.session.status == SessionStatus.FAILED)
    await hass.async_block_till_done()
    assert state_of(hass, STATE) == "pairing_required"
    assert state_of(hass, PAIRING_QR) == STATE_UNAVAILABLE


async def test_image_when_the_bridge_cannot_answer(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """Shown as available until the link notices, but the bridge is gone: no picture."""
    await setup_connected(hass, config_entry)
    await bridge.logout_from_phone(SESSION)
    await wait_for(lambda: state_of(hass, PAIRING_QR) != STATE_UNAVAILABLE)
    # The session moves on, but its event never reaches Home Assistant.
    bridge.stall_stream(SESSION)
    await bridge.rotate_qr(SESSION)
    while bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE:
        await bridge.rotate_qr(SESSION)
    with pytest.raises(HomeAssistantError):
        await async_get_image(hass, PAIRING_QR)
