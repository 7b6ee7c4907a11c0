"""The entry's identity: the WhatsApp account, and the move of older entries onto it.

Entries made before 1.2 are known by their bridge URL and session (`http://host:3000#default`),
which names where, not who: reconfiguring the URL made a second device with `_2` entities.
Since 1.2 an entry is its WhatsApp account (`me.id`). An older entry moves once the bridge
says which account it is: its device and entities get the new unique ids in place, so entity
ids, history and automations stay as they are.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import DOMAIN, LOGGER

# The minor version of entries known by their WhatsApp account.
ACCOUNT_IDENTITY_MINOR_VERSION = 2


def is_account_id(unique_id: str | None) -> bool:
    """Whether an entry's unique id is a WhatsApp account (not the URL of an older entry)."""
    return unique_id is not None and "://" not in unique_id


async def async_adopt_account_identity(
    hass: HomeAssistant, entry: ConfigEntry, account: str
) -> bool:
    """Move an older entry, its device and its entities onto the account id; True if moved."""
    old = entry.unique_id
    if is_account_id(old) or old is None:
        return False
    other = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, account)
    if other is not None and other.entry_id != entry.entry_id:
        # Two sessions linked to one account: the other entry has the identity already.
        LOGGER.debug("Another entry is this WhatsApp account already; keeping the old id")
        return False

    @callback
    def new_unique_id(entity: er.RegistryEntry) -> dict[str, str] | None:
        prefix = f"{old}_"
        if not entity.unique_id.startswith(prefix):
            return None
        return {"new_unique_id": f"{account}_{entity.unique_id.removeprefix(prefix)}"}

    await er.async_migrate_entries(hass, entry.entry_id, new_unique_id)
    devices = dr.async_get(hass)
    if (device := devices.async_get_device(identifiers={(DOMAIN, old)})) is not None:
        devices.async_update_device(device.id, new_identifiers={(DOMAIN, account)})
    hass.config_entries.async_update_entry(
        entry, unique_id=account, minor_version=ACCOUNT_IDENTITY_MINOR_VERSION
    )
    LOGGER.info("The entry %s is now known by its WhatsApp account", entry.title)
    return True
