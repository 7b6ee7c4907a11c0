"""Drive data entry flows the way the frontend does: over HTTP, refreshing on flow events.

The frontend's flow dialog listens to `data_entry_flow_progressed` once it has shown a
progress step, and fetches the flow again (an HTTP GET, which runs the current step
without input) whenever an event names its flow.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED

from .helpers import wait_for


class FlowRefreshes:
    """Counts the refresh events of each flow, as the frontend's dialog receives them."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Listen on the bus until the test ends (the hass fixture tears the bus down)."""
        self._counts: dict[str, int] = {}
        self._consumed: dict[str, int] = {}
        hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, self._on_event)

    @callback
    def _on_event(self, event: Event[dict[str, Any]]) -> None:
        flow_id = event.data["flow_id"]
        self._counts[flow_id] = self._counts.get(flow_id, 0) + 1

    def count(self, flow_id: str) -> int:
        """How many refresh events named this flow so far."""
        return self._counts.get(flow_id, 0)

    def pending(self, flow_id: str) -> bool:
        """Whether a refresh event arrived that no `wait` has taken yet."""
        return self.count(flow_id) > self._consumed.get(flow_id, 0)

    async def wait(self, flow_id: str) -> None:
        """Wait for a refresh event no earlier `wait` took (it may have come already)."""
        await wait_for(lambda: self.pending(flow_id))
        self._consumed[flow_id] = self.count(flow_id)

    def skip(self, flow_id: str) -> None:
        """Forget the refresh events so far (the test fetched the flow anyway)."""
        self._consumed[flow_id] = self.count(flow_id)


class FlowClient:
    """The HTTP views a flow dialog uses (`/api/repairs/issues/fix` or a config flow's)."""

    def __init__(self, client: TestClient, base: str) -> None:
        """`base` is the flow collection's path."""
        self._client = client
        self._base = base

    async def start(self, body: dict[str, Any]) -> dict[str, Any]:
        """Open a flow."""
        return await self._json("POST", self._base, body)

    async def fetch(self, flow_id: str) -> dict[str, Any]:
        """What the dialog does on a refresh event: get the current step again."""
        return await self._json("GET", f"{self._base}/{flow_id}")

    async def submit(self, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Submit a form or pick a menu option."""
        return await self._json("POST", f"{self._base}/{flow_id}", body)

    async def _json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self._client.request(method, path, json=body)
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result


def qr_data(step: dict[str, Any]) -> str:
    """The text of the QR code a form step shows (its QR selector field)."""
    for field in step["data_schema"]:
        selector = field.get("selector", {})
        if "qr_code" in selector:
            data: str = selector["qr_code"]["data"]
            return data
    raise AssertionError(f"step {step.get('step_id')} shows no QR code")
