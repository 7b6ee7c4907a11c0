"""Security: the API key travels in the WebSocket URL, so no error may ever carry it.

Log records are checked in every test of the suite (tests/conftest.py, at debug level);
diagnostics in tests/test_diagnostics.py; `verify_ssl` against a self-signed HTTPS double in
tests/test_init.py; message text kept out of the recorder in tests/test_messages.py. This
module checks the text of every kind of error the bridge client raises.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp
import pytest

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.bridge import WahaClient, WahaError

from ..conftest import API_KEY, SESSION

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def chain(err: BaseException) -> str:
    """The text of an error and of every error it was raised from or during."""
    texts: list[str] = []
    current: BaseException | None = err
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


async def test_no_error_of_the_client_carries_the_key(
    http: aiohttp.ClientSession, bridge: BridgeDouble
) -> None:
    client = WahaClient(http, bridge.url, API_KEY)
    stranger = WahaClient(http, bridge.url, API_KEY + "-wrong")
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: client.get_session("nope"),  # 404
        lambda: client.pairing_qr(SESSION),  # 422: the session is WORKING
        lambda: client.send_text("nope", "1@c.us", "x"),  # 404
        lambda: stranger.version(),  # 401
    ]
    raised: list[str] = []
    for call in calls:
        with pytest.raises(WahaError) as err:
            await call()
        raised.append(chain(err.value))
    # A wrong key on the stream: the bridge accepts the upgrade, then closes it with 1008.
    stream = await stranger.connect_stream(SESSION, heartbeat=30)
    try:
        with pytest.raises(WahaError) as err:
            await stream.receive()
        raised.append(chain(err.value))
    finally:
        await stream.close()
    await bridge.bridge_down()
    for call in (
        lambda: client.version(),
        lambda: client.connect_stream(SESSION, heartbeat=30),
    ):
        with pytest.raises(WahaError) as err:
            await call()
        raised.append(chain(err.value))
    assert len(raised) == 7
    for text in raised:
        assert API_KEY not in text
        assert "x-api-key" not in text.lower()
