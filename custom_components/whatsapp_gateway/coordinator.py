"""The coordinator of one config entry: the link to the WAHA bridge (see the `link` package).

Kept at the top, where Home Assistant integrations keep their coordinator, so platforms,
services and repairs import it from one place.
"""

from __future__ import annotations

from .link.coordinator import WhatsAppGatewayConfigEntry, WhatsAppGatewayCoordinator
from .link.record import link_store

__all__ = ["WhatsAppGatewayConfigEntry", "WhatsAppGatewayCoordinator", "link_store"]
