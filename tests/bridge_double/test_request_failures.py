"""The `fail_requests` fault: the next answers of one route are internal errors."""

from __future__ import annotations

import aiohttp
import pytest

from bridge_double import BridgeDouble
from tests.bridge_double.support import KEY

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_armed_failures_are_used_up_one_per_request(
    double: BridgeDouble, http: aiohttp.ClientSession
) -> None:
    double.fail_requests("get", "/api/sessions/default", count=2)
    url = f"{double.url}/api/sessions/default"
    statuses = []
    for _ in range(3):
        async with http.get(url, headers={"X-Api-Key": KEY}) as response:
            statuses.append(response.status)
            body = await response.json()
    assert statuses == [500, 500, 200]
    assert body["name"] == "default"
    # Other routes and methods are not affected; the log records the failures.
    async with http.get(f"{double.url}/api/server/version", headers={"X-Api-Key": KEY}) as r:
        assert r.status == 200
    failed = [r for r in double.requests if r.status == 500]
    assert [r.path for r in failed] == ["/api/sessions/default"] * 2
