"""The WhatsApp Gateway integration: a reliable link to a WAHA WhatsApp bridge."""

from __future__ import annotations

from functools import partial
import shutil

from homeassistant.const import CONF_API_KEY, CONF_URL, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .bridge import WahaClient
from .const import (
    DOMAIN,
    ISSUE_DEFAULT_SESSION_ONLY,
    ISSUE_NOWEB_STORE_DISABLED,
    ISSUE_PAIRING_REQUIRED,
    ISSUE_SESSION_MISSING,
    ISSUE_UNSTABLE_CONNECTION,
)
from .coordinator import WhatsAppGatewayConfigEntry, WhatsAppGatewayCoordinator, link_store
from .identity import async_adopt_account_identity
from .incoming import inbox_store
from .outgoing import outbox_files, outbox_store
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.NOTIFY,
    Platform.SENSOR,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions (once, for every entry)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: WhatsAppGatewayConfigEntry) -> bool:
    """Connect to the bridge; an unreachable bridge still loads (entities say reconnecting)."""
    verify_ssl: bool = entry.data[CONF_VERIFY_SSL]
    client = WahaClient(
        async_get_clientsession(hass, verify_ssl=verify_ssl),
        entry.data[CONF_URL],
        entry.data[CONF_API_KEY],
        verify_ssl=verify_ssl,
    )
    coordinator = WhatsAppGatewayCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    if coordinator.me is not None:
        # Before the entities exist: they are created under the account's ids.
        await async_adopt_account_identity(hass, entry, coordinator.me.id)
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: WhatsAppGatewayConfigEntry) -> bool:
    """Unload the platforms; the coordinator's shutdown closes the stream and timers."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: WhatsAppGatewayConfigEntry) -> None:
    """Delete what this entry persisted and the repairs it raised."""
    for key in (
        ISSUE_PAIRING_REQUIRED,
        ISSUE_SESSION_MISSING,
        ISSUE_UNSTABLE_CONNECTION,
        ISSUE_NOWEB_STORE_DISABLED,
        ISSUE_DEFAULT_SESSION_ONLY,
    ):
        ir.async_delete_issue(hass, DOMAIN, f"{key}_{entry.entry_id}")
    for store in (
        link_store(hass, entry.entry_id),
        inbox_store(hass, entry.entry_id),
        outbox_store(hass, entry.entry_id),
    ):
        await store.async_remove()
    # The files that waited in the queue go with it.
    await hass.async_add_executor_job(
        partial(shutil.rmtree, outbox_files(hass, entry.entry_id), ignore_errors=True)
    )
