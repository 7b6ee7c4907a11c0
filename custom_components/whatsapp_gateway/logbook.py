"""Describe the integration's bus events in the logbook, without numbers or text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_MESSAGE_FAILED, EVENT_MESSAGE_RECEIVED, EVENT_MESSAGE_SENT

NAME = "WhatsApp Gateway"
FAILURE_REASONS = {
    "expired": "it waited longer than its time to live",
    "rejected": "the bridge rejected it",
}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the received, sent and failed message events."""

    @callback
    def describe_received(event: Event) -> dict[str, str]:
        data: Mapping[str, Any] = event.data
        where = "in a group" if data.get("is_group") else "in a chat"
        sender = data.get("sender_name") or "someone"
        message = f"received a message from {sender} {where}"
        if data.get("buffered"):
            message += " (delivered after the link was down)"
        return {LOGBOOK_ENTRY_NAME: NAME, LOGBOOK_ENTRY_MESSAGE: message}

    @callback
    def describe_sent(event: Event) -> dict[str, str]:
        message = "sent a message"
        if event.data.get("delayed"):
            message = "sent a queued message once the link was back"
        return {LOGBOOK_ENTRY_NAME: NAME, LOGBOOK_ENTRY_MESSAGE: message}

    @callback
    def describe_failed(event: Event) -> dict[str, str]:
        reason = event.data.get("reason", "")
        why = FAILURE_REASONS.get(reason, reason or "an unknown reason")
        return {
            LOGBOOK_ENTRY_NAME: NAME,
            LOGBOOK_ENTRY_MESSAGE: f"could not send a message: {why}",
        }

    async_describe_event(DOMAIN, EVENT_MESSAGE_RECEIVED, describe_received)
    async_describe_event(DOMAIN, EVENT_MESSAGE_SENT, describe_sent)
    async_describe_event(DOMAIN, EVENT_MESSAGE_FAILED, describe_failed)
