"""Sensors of the link's health: state, since when, availability, disconnects, outages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import WhatsAppGatewayConfigEntry
from .entity import LinkHealthEntity
from .models import ConnectionState, DisconnectReason, LinkSnapshot

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class LinkSensorDescription(SensorEntityDescription):
    """A sensor whose value is read from the link snapshot."""

    value_fn: Callable[[LinkSnapshot], str | int | float | datetime | None]
    attributes_fn: Callable[[LinkSnapshot], Mapping[str, Any]] | None = None


def _state_attributes(snapshot: LinkSnapshot) -> Mapping[str, Any]:
    return {
        "next_attempt": snapshot.next_attempt.isoformat() if snapshot.next_attempt else None,
        "attempt": snapshot.attempt,
        "bridge_status": snapshot.bridge_status,
    }


SENSORS: tuple[LinkSensorDescription, ...] = (
    LinkSensorDescription(
        key="connection_state",
        translation_key="connection_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in ConnectionState],
        value_fn=lambda snapshot: snapshot.state.value,
        attributes_fn=_state_attributes,
    ),
    LinkSensorDescription(
        key="connected_since",
        translation_key="connected_since",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda snapshot: snapshot.connected_since,
    ),
    LinkSensorDescription(
        key="availability",
        translation_key="availability",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda snapshot: snapshot.availability,
    ),
    LinkSensorDescription(
        key="disconnects",
        translation_key="disconnects",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda snapshot: snapshot.disconnects,
    ),
    LinkSensorDescription(
        key="last_disconnect_reason",
        translation_key="last_disconnect_reason",
        device_class=SensorDeviceClass.ENUM,
        options=[reason.value for reason in DisconnectReason],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: (
            snapshot.last_disconnect_reason.value if snapshot.last_disconnect_reason else None
        ),
    ),
    LinkSensorDescription(
        key="last_outage",
        translation_key="last_outage",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.last_outage,
    ),
    LinkSensorDescription(
        key="outbound_queue",
        translation_key="outbound_queue",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.outbound_queue,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: WhatsAppGatewayConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the link-health sensors."""
    async_add_entities(LinkSensor(entry.runtime_data, description) for description in SENSORS)


class LinkSensor(LinkHealthEntity, SensorEntity):
    """A link-health sensor; always available."""

    entity_description: LinkSensorDescription

    @property
    def native_value(self) -> str | int | float | datetime | None:
        """The value from the current snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Attributes (only the connection state has some)."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
