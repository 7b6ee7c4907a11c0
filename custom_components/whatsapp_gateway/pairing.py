"""Linking a phone: the pairing steps shared by the config flow and the repair flows.

The bridge shows a QR code that rotates every 20-60 s (six codes, then the session fails)
or hands out an 8-character code for a phone number. The steps show the current code,
follow each rotation and finish by themselves once the session is `WORKING`: the frontend
keeps listening for flow changes after the first progress step, and
`async_notify_flow_changed` makes it fetch the step again.

The frontend starts listening only once it has drawn that progress step. When the session
already shows a QR code, the progress ends before that and its one event goes unheard: the
dialog would wait forever. So the step that follows a progress is announced once more, a
moment later.
"""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections.abc import Callable
import contextlib
import re
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowHandler, FlowResult, FlowResultType
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.selector import (
    QrCodeSelector,
    QrCodeSelectorConfig,
    QrErrorCorrectionLevel,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .bridge import (
    EventStream,
    SessionStatus,
    WahaAuthError,
    WahaClient,
    WahaError,
    WahaSessionNotFoundError,
)
from .compat import vol
from .const import CONF_HEARTBEAT, DEFAULT_OPTIONS, DOMAIN, LOGGER
from .listeners import Listeners

if TYPE_CHECKING:
    from .coordinator import WhatsAppGatewayCoordinator

CONF_PHONE_NUMBER = "phone_number"
# Give up waiting for a starting session after this long and read its status again.
SETTLE_TIMEOUT = 60.0
# Announce the step after a progress again after this long (the frontend listens by then).
REANNOUNCE_DELAY = 1.0
# Statuses on the way to a QR code: wait for the next one.
_TRANSIENT = frozenset({SessionStatus.STARTING, SessionStatus.UNKNOWN, None})
_PASSKEY = frozenset({SessionStatus.PASSKEY_REQUIRED, SessionStatus.PASSKEY_CONFIRMATION_REQUIRED})
# Digits of an international number (country code first), as WhatsApp wants them.
_PHONE_DIGITS = re.compile(r"[1-9]\d{6,14}")
_PHONE_SCHEMA = vol.Schema(
    {vol.Required(CONF_PHONE_NUMBER): TextSelector(TextSelectorConfig(type=TextSelectorType.TEL))}
)


def phone_digits(text: str) -> str | None:
    """The digits WhatsApp wants (`+49 151 2345-678` -> `491512345678`), or None."""
    digits = re.sub(r"[\s\-().]", "", text.strip()).removeprefix("+").removeprefix("00")
    return digits if _PHONE_DIGITS.fullmatch(digits) else None


class PairingLink(Protocol):
    """What the pairing steps need from the session they link."""

    @property
    def status(self) -> SessionStatus | None:
        """The session status last seen (None: not read yet)."""

    async def async_update(self, *, start: bool) -> None:
        """Read the status; with `start`, start a stopped or restart a failed session once."""

    async def async_qr(self) -> str:
        """The current QR code's text."""

    async def async_request_code(self, phone_number: str) -> str:
        """An 8-character code to type on the phone."""

    def watch(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` on each status event (a new QR code too) and status change."""

    def close(self) -> None:
        """Release what the link holds (the flow is gone)."""


class BridgePairingLink:
    """A session followed through its own event stream (the config flow has no entry yet)."""

    def __init__(self, hass: HomeAssistant, client: WahaClient, session_name: str) -> None:
        """Bind to one session; the stream opens at the first update."""
        self._hass = hass
        self._client = client
        self._session_name = session_name
        self._status: SessionStatus | None = None
        self._listeners = Listeners()
        self._reader: asyncio.Task[None] | None = None
        self._stream: EventStream | None = None
        # Counts status events: a REST answer older than one is stale.
        self._events = 0

    @property
    def status(self) -> SessionStatus | None:
        """The session status last seen."""
        return self._status

    async def async_update(self, *, start: bool) -> None:
        """Open the stream (first, so no status is missed), then read and maybe start."""
        if self._reader is None or self._reader.done():
            stream = await self._client.connect_stream(
                self._session_name, heartbeat=float(DEFAULT_OPTIONS[CONF_HEARTBEAT]) - 1
            )
            self._stream = stream
            self._reader = self._hass.async_create_background_task(
                self._async_read(stream), f"{DOMAIN} pairing stream {self._session_name}"
            )
        events_before = self._events
        try:
            info = await self._client.get_session(self._session_name)
        except WahaSessionNotFoundError:
            if not start:
                raise
            info = await self._client.create_session(self._session_name)
        if start:
            info = await self._client.revive_session(self._session_name, info)
        if self._events == events_before:
            self._set_status(info.status)

    async def _async_read(self, stream: EventStream) -> None:
        try:
            async for event in stream:
                status = event.session_status
                if status is not None and event.session in (None, self._session_name):
                    self._events += 1
                    self._status = status
                    self._listeners.notify()
        except WahaError as err:
            # Without the stream the steps still work when the user submits them.
            LOGGER.debug("The pairing stream from %s ended: %s", self._client.origin, err)
        finally:
            await stream.close()

    def _set_status(self, status: SessionStatus) -> None:
        changed = status is not self._status
        self._status = status
        if changed:
            self._listeners.notify()

    async def async_qr(self) -> str:
        """The current QR code's text."""
        return await self._client.pairing_qr(self._session_name)

    async def async_request_code(self, phone_number: str) -> str:
        """An 8-character code to type on the phone."""
        return await self._client.request_pairing_code(self._session_name, phone_number)

    def watch(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` on each status event."""
        return self._listeners.add(listener)

    def close(self) -> None:
        """Stop reading the stream."""
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        if self._stream is not None:
            stream, self._stream = self._stream, None
            self._hass.async_create_background_task(stream.close(), f"{DOMAIN} pairing close")


class PairingFlow[ResultT: FlowResult[Any, Any]](FlowHandler[Any, ResultT, Any]):
    """The pairing steps; a flow sets up a link with `_async_begin_pairing`.

    Steps: `pair` (progress while the session starts), `method` (menu: QR code or phone
    number), `scan_qr`, `pairing_code`, `show_code`, `passkey` and `start_over`.
    """

    _pairing_link: PairingLink | None = None
    _pairing_task: asyncio.Task[None] | None = None
    _pairing_start = False
    _pairing_error: str | None = None
    _pairing_method: str | None = None
    _pairing_code: str | None = None
    _pairing_shown: SessionStatus | None = None
    _pairing_unwatch: CALLBACK_TYPE | None = None
    _pairing_reannounce: CALLBACK_TYPE | None = None
    _pairing_changed: asyncio.Event

    @property
    def _link(self) -> PairingLink:
        if self._pairing_link is None:
            raise RuntimeError("a pairing step ran before _async_begin_pairing")
        return self._pairing_link

    @abstractmethod
    async def _async_paired(self) -> ResultT:
        """The session is `WORKING`: finish the flow."""

    async def _async_begin_pairing(self, link: PairingLink, *, start: bool = True) -> ResultT:
        """Follow `link`'s session and start it (once) when it is stopped or failed."""
        self._pairing_link = link
        self._pairing_changed = asyncio.Event()
        self._pairing_unwatch = link.watch(self._on_session_changed)
        self._pairing_start = start
        return await self.async_step_pair()

    @callback
    def _on_session_changed(self) -> None:
        """A status event: wake a waiting step, or make the frontend fetch the form again."""
        self._pairing_changed.set()
        step = self.cur_step
        if step is None or step["type"] not in (FlowResultType.FORM, FlowResultType.MENU):
            return
        # A new QR code redraws only the QR step; the other forms keep what the user typed.
        if step["step_id"] == "scan_qr" or self._link.status is not self._pairing_shown:
            self.async_notify_flow_changed()

    @callback
    def async_remove(self) -> None:
        """The flow is gone: stop following the session."""
        super().async_remove()
        if self._pairing_unwatch is not None:
            self._pairing_unwatch()
            self._pairing_unwatch = None
        if self._pairing_task is not None and not self._pairing_task.done():
            self._pairing_task.cancel()
        if self._pairing_reannounce is not None:
            self._pairing_reannounce()
            self._pairing_reannounce = None
        if self._pairing_link is not None:
            self._pairing_link.close()

    async def _async_settle(self, link: PairingLink, *, start: bool) -> None:
        """Read the status (starting the session once if asked), then wait past STARTING."""
        self._pairing_changed.clear()
        await link.async_update(start=start)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_TIMEOUT):
                while link.status in _TRANSIENT:
                    self._pairing_changed.clear()
                    await self._pairing_changed.wait()

    async def async_step_pair(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """Progress: get the session running and wait for its QR code (or its login)."""
        if self._pairing_task is None:
            start, self._pairing_start = self._pairing_start, False
            self._pairing_task = self.hass.async_create_task(
                self._async_settle(self._link, start=start), eager_start=False
            )
        if not self._pairing_task.done():
            return self.async_show_progress(
                step_id="pair", progress_action="wait_for_session", progress_task=self._pairing_task
            )
        task, self._pairing_task = self._pairing_task, None
        if (err := task.exception()) is not None:
            self._pairing_error = _error_key(err)
        if self._pairing_reannounce is None:
            self._pairing_reannounce = async_call_later(
                self.hass, REANNOUNCE_DELAY, self._reannounce
            )
        return self.async_show_progress_done(next_step_id="link")

    @callback
    def _reannounce(self, _now: Any) -> None:
        """Make a dialog that missed the end of the progress fetch the step it moved to."""
        self._pairing_reannounce = None
        step = self.cur_step
        # A fetch redraws the form: never while the user may be typing a phone number.
        if step is not None and step.get("step_id") != "pairing_code":
            self.async_notify_flow_changed()

    async def async_step_link(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """Show the step that fits the session status now."""
        link = self._link
        if (error := self._pairing_error) is not None:
            return self.async_abort(reason=error)
        status = link.status
        self._pairing_shown = status
        if status is SessionStatus.WORKING:
            return await self._async_paired()
        if status in _TRANSIENT:
            return await self.async_step_pair()
        if status in _PASSKEY:
            return self.async_show_form(step_id="passkey", last_step=False)
        if status is not SessionStatus.SCAN_QR_CODE:
            # FAILED (the QR codes ran out, or the login is gone) or STOPPED.
            self._pairing_code = None
            return self.async_show_form(
                step_id="start_over",
                description_placeholders={"status": str(status)},
                last_step=False,
            )
        if self._pairing_code is not None:
            return self.async_show_form(
                step_id="show_code",
                description_placeholders={"code": self._pairing_code},
                last_step=False,
            )
        if self._pairing_method == "scan_qr":
            return await self._async_show_qr(link)
        if self._pairing_method == "pairing_code":
            return self.async_show_form(
                step_id="pairing_code", data_schema=_PHONE_SCHEMA, last_step=False
            )
        return self.async_show_menu(step_id="method", menu_options=["scan_qr", "pairing_code"])

    async def _async_show_qr(self, link: PairingLink) -> ResultT:
        try:
            qr = await link.async_qr()
        except WahaError as err:
            return await self._async_after_failure(link, err) or self.async_abort(
                reason="cannot_connect"
            )
        schema = vol.Schema(
            {
                vol.Optional("qr_code"): QrCodeSelector(
                    QrCodeSelectorConfig(
                        data=qr, scale=6, error_correction_level=QrErrorCorrectionLevel.LOW
                    )
                )
            }
        )
        return self.async_show_form(step_id="scan_qr", data_schema=schema, last_step=False)

    async def _async_after_failure(self, link: PairingLink, err: WahaError) -> ResultT | None:
        """A call for a code failed: show the step of a status that moved on, else None.

        Between reading the status and asking for the code the session may have moved on
        (the bridge answers 422); its event may not have arrived yet.
        """
        if isinstance(err, WahaAuthError):
            return self.async_abort(reason="invalid_auth")
        with contextlib.suppress(WahaError):
            await link.async_update(start=False)
        if link.status is SessionStatus.SCAN_QR_CODE:
            return None
        return await self.async_step_link()

    async def async_step_method(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """The menu (the frontend fetches it again after a status change)."""
        return await self.async_step_link()

    async def async_step_scan_qr(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """The current QR code; submitting checks the status again."""
        self._pairing_method = "scan_qr"
        return await self.async_step_link()

    async def async_step_pairing_code(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """Ask for the phone number and request a code for it."""
        self._pairing_method = "pairing_code"
        link = self._link
        if user_input is None or link.status is not SessionStatus.SCAN_QR_CODE:
            return await self.async_step_link()
        errors: dict[str, str] = {}
        if (number := phone_digits(str(user_input[CONF_PHONE_NUMBER]))) is None:
            errors[CONF_PHONE_NUMBER] = "invalid_phone_number"
        else:
            try:
                self._pairing_code = await link.async_request_code(number)
            except WahaError as err:
                if (moved_on := await self._async_after_failure(link, err)) is not None:
                    return moved_on
                errors["base"] = "cannot_connect"
            else:
                return await self.async_step_link()
        return self.async_show_form(
            step_id="pairing_code",
            data_schema=self.add_suggested_values_to_schema(_PHONE_SCHEMA, user_input),
            errors=errors,
            last_step=False,
        )

    async def async_step_show_code(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """The code to type on the phone; submitting checks the status again."""
        return await self.async_step_link()

    async def async_step_passkey(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """WhatsApp wants a passkey on the phone; submitting checks the status again."""
        return await self.async_step_link()

    async def async_step_start_over(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """The codes ran out or the session stopped: on submit, start it once more."""
        if user_input is None:
            return await self.async_step_link()
        self._pairing_start = True
        self._pairing_method = None
        return await self.async_step_pair()


def _error_key(err: BaseException) -> str:
    """The abort reason for a failed start or status read."""
    if isinstance(err, WahaAuthError):
        return "invalid_auth"
    if isinstance(err, WahaSessionNotFoundError):
        return "session_not_found"
    if isinstance(err, WahaError):
        return "cannot_connect"
    LOGGER.error("Unexpected error while preparing the pairing", exc_info=err)
    return "unknown"


class CoordinatorPairingLink:
    """A configured entry's session, followed through the coordinator's own stream."""

    def __init__(self, coordinator: WhatsAppGatewayCoordinator) -> None:
        """Bind to the entry's coordinator."""
        self._coordinator = coordinator

    @property
    def status(self) -> SessionStatus | None:
        """The session status the coordinator last saw."""
        return self._coordinator.session.status

    async def async_update(self, *, start: bool) -> None:
        """Read the status; the coordinator starts or restarts the session when asked."""
        await self._coordinator.session.async_update_session(start=start)

    async def async_qr(self) -> str:
        """The current QR code's text."""
        coordinator = self._coordinator
        return await coordinator.client.pairing_qr(coordinator.session_name)

    async def async_request_code(self, phone_number: str) -> str:
        """An 8-character code to type on the phone."""
        coordinator = self._coordinator
        return await coordinator.client.request_pairing_code(coordinator.session_name, phone_number)

    def watch(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` on each status event the coordinator receives."""
        return self._coordinator.session.async_watch(listener)

    def close(self) -> None:
        """Nothing to release: the stream belongs to the coordinator."""
