"""The bridge client against answers the real WAHA gives (waha-reality.md), per engine."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from aiohttp import web
from hypothesis import given, strategies as st
import pytest

from custom_components.whatsapp_gateway.bridge import (
    WahaClient,
    WahaResponseError,
    WahaSessionNotFoundError,
    WahaSessionStatusError,
    WaMessage,
)
from custom_components.whatsapp_gateway.bridge.capabilities import BridgeCapabilities, parse_release
from custom_components.whatsapp_gateway.bridge.client import DEFAULT_REQUEST_TIMEOUT
from custom_components.whatsapp_gateway.bridge.errors import (
    WahaEditionError,
    WahaNotImplementedError,
    WahaRouteMissingError,
    WahaSessionNameError,
    WahaStoreDisabledError,
)

from .conftest import API_KEY

pytestmark = pytest.mark.usefixtures("socket_enabled")

ME = "491511234567@c.us"
CHAT = "4917612345678@c.us"
GROUP = "120363012345678901@g.us"


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def answering(status: int, body: Any) -> tuple[web.AppRunner, str]:
    """A server on 127.0.0.1 that answers every request with `status` and JSON `body`."""

    async def handler(_request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


NOT_AS_EXPECTED = "Session status is not as expected. Try again later or restart the session"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        # A route of a newer release on an older bridge is no missing session.
        (
            404,
            {
                "message": "Cannot GET /api/default/new-message-id",
                "error": "Not Found",
                "statusCode": 404,
            },
            WahaRouteMissingError,
        ),
        (404, {"message": "Session not found", "statusCode": 404}, WahaSessionNotFoundError),
        (422, {"error": 'Session "x" does not exist'}, WahaSessionNotFoundError),
        (
            501,
            {"message": "The method is not implemented by 'WEBJS' engine.", "statusCode": 501},
            WahaNotImplementedError,
        ),
        (
            400,
            {"message": 'Enable NOWEB store "config.noweb.store.enabled=True"', "statusCode": 400},
            WahaStoreDisabledError,
        ),
        (
            422,
            {
                "message": "WAHA Core support only 'default' session. If you want to run more "
                "then one WhatsApp account - please get WAHA PLUS version.",
                "statusCode": 422,
            },
            WahaSessionNameError,
        ),
        (
            422,
            {"message": "The feature is available only in Plus version for 'GOWS' engine."},
            WahaEditionError,
        ),
        (
            422,
            {"error": NOT_AS_EXPECTED, "status": "STOPPED", "expected": ["WORKING"]},
            WahaSessionStatusError,
        ),
    ],
)
async def test_error_taxonomy_tells_real_answers_apart(
    http: aiohttp.ClientSession, status: int, body: object, error: type[Exception]
) -> None:
    runner, url = await answering(status, body)
    try:
        with pytest.raises(error) as raised:
            await WahaClient(http, url, API_KEY).get_me("default")
    finally:
        await runner.cleanup()
    assert type(raised.value) is error
    if isinstance(raised.value, WahaSessionStatusError):
        # The bridge's status wait is the session's status, never "unreachable".
        assert raised.value.status == "STOPPED"
    if isinstance(raised.value, WahaResponseError) and status != 501:
        assert raised.value.permanent


def test_client_waits_longer_than_the_bridge() -> None:
    # WAHA holds a call up to 10 s for a session in the wrong status before answering 422.
    assert DEFAULT_REQUEST_TIMEOUT > 10


async def test_missing_new_message_id_route_switches_ids_off(
    http: aiohttp.ClientSession,
) -> None:
    runner, url = await answering(
        404, {"message": "Cannot GET /api/default/new-message-id", "statusCode": 404}
    )
    client = WahaClient(http, url, API_KEY)
    try:
        assert client.capabilities.new_message_ids
        with pytest.raises(WahaRouteMissingError):
            await client.new_message_id("default")
    finally:
        await runner.cleanup()
    assert not client.capabilities.new_message_ids


def own(engine_from: str | None, engine_to: str | None, **extra: object) -> dict[str, Any]:
    return {"id": "true_x_ABC", "fromMe": True, "from": engine_from, "to": engine_to} | extra


@pytest.mark.parametrize(
    ("payload", "chat_in_from", "chat"),
    [
        # GOWS and NOWEB: the chat is in `from`, `to` is null in a direct chat.
        (own(CHAT, None), True, CHAT),
        # GOWS group: `to` is the sender (you).
        (own(GROUP, ME), True, GROUP),
        # WEBJS: from = you, to = the chat.
        (own(ME, CHAT), False, CHAT),
        (own(ME, GROUP), False, GROUP),
        # Engine unknown: groups win, then `to`, then `from`.
        (own(CHAT, None), None, CHAT),
        (own(GROUP, ME), None, GROUP),
        (own(ME, CHAT), None, CHAT),
        # Incoming messages: always `from`.
        ({"id": "false_x_A", "fromMe": False, "from": CHAT, "to": ME}, True, CHAT),
        ({"id": "false_x_A", "fromMe": False, "from": CHAT, "to": ME}, False, CHAT),
    ],
)
def test_own_messages_are_parsed_per_engine(
    payload: dict[str, Any], chat_in_from: bool | None, chat: str
) -> None:
    assert WaMessage.parse(payload, own_chat_in_from=chat_in_from).chat_id == chat


def test_own_message_without_any_chat_is_malformed() -> None:
    with pytest.raises(WahaResponseError):
        WaMessage.parse(own(None, None), own_chat_in_from=None)


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        (BridgeCapabilities("GOWS", "2026.7.1", "CORE"), (True, True, False, True, True)),
        (BridgeCapabilities("GOWS", "2026.5.1", "CORE"), (True, True, False, False, False)),
        (BridgeCapabilities("GOWS", "2026.2.1", "CORE"), (False, True, False, False, False)),
        (BridgeCapabilities("GOWS", "2026.2.1", "PLUS"), (False, True, True, True, False)),
        (BridgeCapabilities("WEBJS", "2026.7.1", "PLUS"), (False, True, True, True, False)),
        (
            BridgeCapabilities("NOWEB", "2026.5.1", "CORE", noweb_store=False),
            (True, False, False, False, False),
        ),
        (
            BridgeCapabilities("NOWEB", "2026.5.1", "CORE", noweb_store=True),
            (True, True, False, False, False),
        ),
    ],
)
def test_capabilities_follow_engine_release_and_edition(
    caps: BridgeCapabilities, expected: tuple[bool, bool, bool, bool, bool]
) -> None:
    # (new message ids, history, media sending, several sessions, passkeys)
    got = (caps.new_message_ids, caps.history, caps.media_sending, caps.multi_session)
    assert (*got, caps.passkeys) == expected
    assert caps.as_dict()["features"]["history"] is expected[1]


def test_unknown_bridge_is_assumed_capable_until_it_says_otherwise() -> None:
    caps = BridgeCapabilities()
    assert (caps.new_message_ids, caps.history, caps.multi_session) == (True, True, True)
    assert (caps.media_sending, caps.own_chat_in_from) == (None, None)
    assert caps.with_engine("noweb").engine == "NOWEB"
    assert caps.with_engine(None) is caps


@given(
    st.integers(2020, 2100),
    st.integers(1, 12),
    st.integers(0, 99),
    st.sampled_from(["", "-plus", " (GOWS)", "-beta"]),
)
def test_release_parsing_orders_releases(year: int, month: int, patch: int, tail: str) -> None:
    assert parse_release(f"{year}.{month}.{patch}{tail}") == (year, month, patch)


def test_unreadable_release_is_none() -> None:
    assert parse_release(None) is None
    assert parse_release("latest") is None


@pytest.mark.parametrize(
    ("answer", "message_id"),
    [
        # GOWS: the serialized id, as in message events.
        ({"id": f"true_{CHAT}_3EB0AA", "_data": {}}, f"true_{CHAT}_3EB0AA"),
        # NOWEB: the raw Baileys message; serialized as WAHA does for events.
        (
            {"key": {"remoteJid": "4917612345678@s.whatsapp.net", "fromMe": True, "id": "3EB0BB"}},
            f"true_{CHAT}_3EB0BB",
        ),
        (
            {
                "key": {
                    "remoteJid": GROUP,
                    "fromMe": True,
                    "id": "3EB0CC",
                    "participant": "491511234567@s.whatsapp.net",
                }
            },
            f"true_{GROUP}_3EB0CC_{ME}",
        ),
        # WEBJS: the whatsapp-web.js message.
        (
            {"id": {"fromMe": True, "id": "3EB0DD", "_serialized": f"true_{CHAT}_3EB0DD"}},
            f"true_{CHAT}_3EB0DD",
        ),
    ],
)
async def test_sent_ids_have_the_form_of_received_ones(
    http: aiohttp.ClientSession, answer: object, message_id: str
) -> None:
    runner, url = await answering(201, answer)
    try:
        got = await WahaClient(http, url, API_KEY).send_text("default", CHAT, "hi")
    finally:
        await runner.cleanup()
    assert got == message_id
