"""Fix flows: pairing_required, session_missing and noweb_store_disabled.

Link the phone again, create the session, or turn the NOWEB store on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .bridge import WahaAuthError, WahaError
from .const import DOMAIN, ISSUE_NOWEB_STORE_DISABLED, ISSUE_SESSION_MISSING
from .coordinator import WhatsAppGatewayConfigEntry, WhatsAppGatewayCoordinator
from .pairing import CoordinatorPairingLink, PairingFlow

if TYPE_CHECKING:
    # Only a type: before Home Assistant 2026.6 the repairs flow is untyped and has no such name.
    from homeassistant.components.repairs import RepairsFlowResult


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a `pairing_required`, `session_missing` or `noweb_store_disabled` issue."""
    entry_id = str((data or {}).get("entry_id"))
    if issue_id.startswith(ISSUE_SESSION_MISSING):
        return SessionMissingRepairFlow(entry_id)
    if issue_id.startswith(ISSUE_NOWEB_STORE_DISABLED):
        return NowebStoreRepairFlow(entry_id)
    return PairingRepairFlow(entry_id)


class _EntryRepairFlow(PairingFlow["RepairsFlowResult"], RepairsFlow):
    """A fix flow of one entry; it works through the entry's running coordinator."""

    def __init__(self, entry_id: str) -> None:
        """Remember the entry the issue belongs to."""
        self._entry_id = entry_id

    def _coordinator(self) -> WhatsAppGatewayCoordinator | None:
        entry: WhatsAppGatewayConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry.runtime_data

    async def _async_paired(self) -> RepairsFlowResult:
        """Linked: the issue is deleted and the link entities recover on their own."""
        return self.async_create_entry(data={})


class PairingRepairFlow(_EntryRepairFlow):
    """Link the phone again from Home Assistant: QR code, pairing code or passkey."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Start (once) a stopped or failed session and show what it needs."""
        if (coordinator := self._coordinator()) is None:
            return self.async_abort(reason="entry_not_loaded")
        return await self._async_begin_pairing(CoordinatorPairingLink(coordinator))


class _ConfirmRepairFlow(_EntryRepairFlow):
    """A fix flow that explains one bridge action in a form and runs it at submit."""

    STEP: str
    # False: more steps follow (the frontend shows "next" instead of "submit").
    LAST_STEP: bool | None = None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Start with the explanation (the init step receives the issue, not user input)."""
        return await self._async_confirm(None)

    async def _async_confirm(self, user_input: dict[str, Any] | None) -> RepairsFlowResult:
        """Show the form; at submit run the action, then go on (or show why it failed)."""
        if (coordinator := self._coordinator()) is None:
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                await self._async_act(coordinator)
            except WahaAuthError:
                return self.async_abort(reason="invalid_auth")
            except WahaError:
                errors["base"] = "cannot_connect"
            else:
                return await self._async_done(coordinator)
        return self.async_show_form(
            step_id=self.STEP,
            description_placeholders={"session": coordinator.session_name},
            errors=errors,
            last_step=self.LAST_STEP,
        )

    async def _async_act(self, coordinator: WhatsAppGatewayCoordinator) -> None:
        raise NotImplementedError

    async def _async_done(self, coordinator: WhatsAppGatewayCoordinator) -> RepairsFlowResult:
        return self.async_create_entry(data={})


class SessionMissingRepairFlow(_ConfirmRepairFlow):
    """Create the session on the bridge, start it and link the phone."""

    STEP = "create_session"
    LAST_STEP = False

    async def async_step_create_session(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Explain what happens, then create the session on submit."""
        return await self._async_confirm(user_input)

    async def _async_act(self, coordinator: WhatsAppGatewayCoordinator) -> None:
        await coordinator.session.async_create_session()

    async def _async_done(self, coordinator: WhatsAppGatewayCoordinator) -> RepairsFlowResult:
        return await self._async_begin_pairing(CoordinatorPairingLink(coordinator), start=False)


class NowebStoreRepairFlow(_ConfirmRepairFlow):
    """Turn the session's NOWEB store on, so that missed messages can be fetched again."""

    STEP = "enable_store"

    async def async_step_enable_store(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Explain what changes on the bridge, then turn the store on at submit."""
        return await self._async_confirm(user_input)

    async def _async_act(self, coordinator: WhatsAppGatewayCoordinator) -> None:
        await coordinator.async_enable_history()
