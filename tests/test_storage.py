"""Stores are written regularly while their data keeps changing."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from custom_components.whatsapp_gateway.storage import PeriodicSave

from .helpers import advance


async def test_a_write_comes_within_the_delay_even_while_changes_keep_coming(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    store: Store[dict[str, Any]] = Store(hass, 1, "whatsapp_gateway.test_periodic")
    counter = {"value": 0}
    saver = PeriodicSave(store, lambda: dict(counter), delay=10)
    written: list[int] = []
    for second in range(1, 31):
        counter["value"] = second
        saver.schedule()
        await advance(hass, freezer, 1)
        if store.key in hass_storage:
            value = hass_storage[store.key]["data"]["value"]
            if not written or written[-1] != value:
                written.append(value)
    # A change every second, yet a write every ~10 s (a quiet-period save would write none).
    assert len(written) >= 2
    assert written[0] <= 11
    counter["value"] = 99
    saver.schedule()
    await saver.async_save_now()
    assert hass_storage[store.key]["data"]["value"] == 99
