"""Bridge profiles: each behaviour of waha-reality.md on the profiles it applies to.

A profile is engine x release x edition x NOWEB store (``GOWS-2026.7.1-CORE`` by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import json
import re
import time
from typing import Any

import aiohttp
import pytest

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus
from bridge_double.cli import fault_command, serve_parser
from bridge_double.errors import NOWEB_STORE_DISABLED
from bridge_double.profile import WEAK_KEYS
from tests.bridge_double.support import KEY, ME, auth, event, get, post, statuses, until

pytestmark = pytest.mark.usefixtures("socket_enabled")

CHAT = "4917612345678@c.us"
GROUP = "120363012345678901@g.us"
BOB = "4917699999999@c.us"
LID = "123456789012345@lid"
DOCS = "https://waha.devlike.pro/"
NOT_AS_EXPECTED = "Session status is not as expected. Try again later or restart the session"
ONLY_DEFAULT = (
    "WAHA Core support only 'default' session. You tried to access 'other' session "
    "(base64: b3RoZXI=). If you want to run more then one WhatsApp account - please get WAHA "
    f"PLUS version. Check this out: {DOCS}"
)

type Make = Callable[..., Awaitable[BridgeDouble]]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """Start a double playing a profile, with a paired WORKING ``default`` unless told."""
    started: list[BridgeDouble] = []

    async def _make(
        profile: str | BridgeProfile = "GOWS-2026.7.1-CORE",
        *,
        status: SessionStatus | None = SessionStatus.WORKING,
        config: dict[str, Any] | None = None,
        api_key: str = KEY,
        **kwargs: Any,
    ) -> BridgeDouble:
        if isinstance(profile, str):
            profile = BridgeProfile.parse(profile)
        bridge = BridgeDouble(api_key=api_key, profile=profile, **kwargs)
        if status is not None:
            bridge.add_session(
                "default",
                status=status,
                paired=status == SessionStatus.WORKING,
                me_id=ME,
                push_name="Alice",
                config=config,
            )
        await bridge.start()
        started.append(bridge)
        return bridge

    yield _make
    for bridge in started:
        await bridge.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def socket(
    http: aiohttp.ClientSession, bridge: BridgeDouble, *, key: str = KEY, session: str = "*"
) -> aiohttp.ClientWebSocketResponse:
    before = bridge.stream_count()
    ws = await http.ws_connect(
        bridge.url + "/ws", params={"x-api-key": key, "session": session, "events": "*"}
    )
    async with asyncio.timeout(2):
        await bridge.wait_for_streams(before + 1)
    return ws


def quoted(chat_id: str) -> str:
    return chat_id.replace("@", "%40")


# ------------------------------------------------------------------ the profile itself


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GOWS-2026.7.1-CORE", BridgeProfile()),
        ("NOWEB-2026.5.1-CORE", BridgeProfile("NOWEB", "2026.5.1")),
        ("NOWEB-2026.5.1-CORE-nostore", BridgeProfile("NOWEB", "2026.5.1", noweb_store=False)),
        ("webjs-2026.2.1-plus", BridgeProfile("WEBJS", "2026.2.1", "PLUS")),
    ],
)
def test_parse_and_str(text: str, expected: BridgeProfile) -> None:
    profile = BridgeProfile.parse(text)
    assert profile == expected
    assert str(profile) == text.upper().replace("NOSTORE", "nostore")
    assert BridgeProfile.parse(str(profile)) == profile


@pytest.mark.parametrize(
    "text", ["WPP-2026.7.1-CORE", "GOWS-2026.7-CORE", "GOWS-2026.7.1", "GOWS-2026.7.1-PRO", "x"]
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        BridgeProfile.parse(text)


def test_default_profile_and_the_older_keywords() -> None:
    assert BridgeDouble(api_key=KEY).profile == BridgeProfile("GOWS", "2026.7.1", "CORE", True)
    legacy = BridgeDouble(api_key=KEY, engine="NOWEB", version="2026.5.0")
    assert (legacy.profile, legacy.engine, legacy.version) == (
        BridgeProfile("NOWEB", "2026.5.0"),
        "NOWEB",
        "2026.5.0",
    )
    plus = BridgeDouble(api_key=KEY, profile=BridgeProfile(edition="PLUS"), engine="WEBJS")
    assert str(plus.profile) == "WEBJS-2026.7.1-PLUS"


FEATURES = (
    "has_new_message_id_route",
    "new_message_id_supported",
    "honours_send_id",
    "query_api_key",
    "multi_session",
    "passkey_statuses",
    "media_sending",
    "status_payload_has_data",
    "keeps_me_after_phone_logout",
    "starting_after_qr_scan",
)


@pytest.mark.parametrize(
    ("text", "features"),
    [
        ("GOWS-2026.7.1-CORE", {*FEATURES} - {"media_sending", "starting_after_qr_scan"}),
        (
            "GOWS-2026.5.1-CORE",
            {
                "has_new_message_id_route",
                "new_message_id_supported",
                "honours_send_id",
                "query_api_key",
                "keeps_me_after_phone_logout",
            },
        ),
        ("GOWS-2026.2.1-CORE", {"new_message_id_supported", "keeps_me_after_phone_logout"}),
        (
            "NOWEB-2026.5.1-PLUS",
            {
                "has_new_message_id_route",
                "new_message_id_supported",
                "honours_send_id",
                "query_api_key",
                "multi_session",
                "media_sending",
                "starting_after_qr_scan",
            },
        ),
        (
            "WEBJS-2026.7.1-CORE",
            {
                "has_new_message_id_route",
                "query_api_key",
                "multi_session",
                "status_payload_has_data",
            },
        ),
    ],
)
def test_feature_table(text: str, features: set[str]) -> None:
    profile = BridgeProfile.parse(text)
    assert {name for name in FEATURES if getattr(profile, name)} == features


def test_history_needs_the_store_on_noweb_only() -> None:
    noweb, gows = BridgeProfile("NOWEB"), BridgeProfile()
    on = {"noweb": {"store": {"enabled": True, "fullSync": False}}}
    assert noweb.history_available(on)
    assert not noweb.history_available({})
    assert not noweb.history_available(None)
    assert not noweb.history_available({"noweb": {"store": {"enabled": False}}})
    assert gows.history_available({})
    assert noweb.default_session_config() == on
    assert BridgeProfile("NOWEB", noweb_store=False).default_session_config() == {
        "noweb": {"store": {"enabled": False, "fullSync": False}}
    }
    assert gows.default_session_config() == {}


# ------------------------------------------------------- 1. new message ids and send ids


async def test_new_message_id_route_only_from_2026_4_3(
    make: Make, http: aiohttp.ClientSession
) -> None:
    old = await make("GOWS-2026.2.1-CORE")
    assert await get(http, old.url + "/api/default/new-message-id") == (
        404,
        {
            "message": "Cannot GET /api/default/new-message-id",
            "error": "Not Found",
            "statusCode": 404,
        },
    )
    status, body = await get(http, old.url + "/api/default/status/new-message-id")
    assert status == 200
    assert re.fullmatch(r"3EB0[0-9A-F]{16}", body["id"])  # whatsmeow's form
    new = await make("NOWEB-2026.5.1-CORE")
    for path in ("/api/default/new-message-id", "/api/default/status/new-message-id"):
        status, body = await get(http, new.url + path)
        assert status == 200
        assert re.fullmatch(r"3EB0[0-9A-F]{18}", body["id"])  # Baileys' form


async def test_webjs_has_no_message_ids(make: Make, http: aiohttp.ClientSession) -> None:
    not_implemented = {
        "message": "The method is not implemented by 'WEBJS' engine. Check the docs and try "
        f"another engine: {DOCS}",
        "error": "Not Implemented",
        "statusCode": 501,
    }
    bridge = await make("WEBJS-2026.7.1-CORE")
    for path in ("/api/default/new-message-id", "/api/default/status/new-message-id"):
        assert await get(http, bridge.url + path) == (501, not_implemented)
    old = await make("WEBJS-2026.2.1-CORE")
    assert (await get(http, old.url + "/api/default/new-message-id"))[0] == 404
    assert await get(http, old.url + "/api/default/status/new-message-id") == (
        501,
        not_implemented,
    )


@pytest.mark.parametrize(
    ("text", "honoured"),
    [
        ("GOWS-2026.7.1-CORE", True),
        ("NOWEB-2026.5.1-CORE", True),
        ("GOWS-2026.2.1-CORE", False),
        ("NOWEB-2026.2.1-PLUS", False),
        ("WEBJS-2026.7.1-CORE", False),
    ],
)
async def test_send_id_honoured_only_from_2026_4_3_on_gows_and_noweb(
    make: Make, http: aiohttp.ClientSession, text: str, honoured: bool
) -> None:
    bridge = await make(text)
    request = {"session": "default", "chatId": CHAT, "text": "hi", "id": "3EB0CAFE0000"}
    status, _answer = await post(http, bridge.url + "/api/sendText", request)
    assert status == 201
    [sent] = bridge.session("default").sent
    assert sent["requested_key"] == "3EB0CAFE0000"
    assert (sent["key"] == "3EB0CAFE0000") is honoured
    assert sent["message_id"] == f"true_{CHAT}_{sent['key']}"
    assert bridge.count_sends(key="3EB0CAFE0000") == (1 if honoured else 0)


# ------------------------------------------------------- 2. own messages and addressing

# engine -> chat kind -> (from, to, participant) of an own message sent from the phone;
# "-" marks a key the engine leaves out of the JSON.
OWN_ADDRESSING = {
    "GOWS": {"direct": (CHAT, None, None), "group": (GROUP, ME, ME)},
    "NOWEB": {"direct": (CHAT, "-", "-"), "group": (GROUP, GROUP, ME)},
    "WEBJS": {"direct": (ME, CHAT, "-"), "group": (ME, GROUP, ME)},
}
INCOMING_ADDRESSING = {
    "GOWS": {"direct": (CHAT, None, None), "group": (GROUP, BOB, BOB)},
    "NOWEB": {"direct": (CHAT, "-", "-"), "group": (GROUP, GROUP, BOB)},
    "WEBJS": {"direct": (CHAT, ME, "-"), "group": (GROUP, ME, BOB)},
}


def addressing(message: dict[str, Any]) -> tuple[Any, Any, Any]:
    return tuple(message.get(key, "-") for key in ("from", "to", "participant"))  # type: ignore[return-value]


@pytest.mark.parametrize("engine", ["GOWS", "NOWEB", "WEBJS"])
@pytest.mark.parametrize("kind", ["direct", "group"])
async def test_own_messages_from_the_phone(
    make: Make, http: aiohttp.ClientSession, engine: str, kind: str
) -> None:
    """Events (``message.any`` only), the chat's messages and the overview's lastMessage."""
    bridge = await make(f"{engine}-2026.7.1-CORE")
    ws = await socket(http, bridge)
    chat = CHAT if kind == "direct" else GROUP
    own = await bridge.send_from_phone("default", chat_id=chat, body="from the phone")
    envelope = await event(ws)
    assert (envelope["event"], envelope["payload"]) == ("message.any", own)
    await bridge.blip("default")  # the next frame is the status: no "message" event came
    assert (await event(ws))["event"] == "session.status"
    await bridge.end_blip("default")
    assert addressing(own) == OWN_ADDRESSING[engine][kind]
    assert (own["fromMe"], own["source"]) == (True, "app")
    suffix = f"_{ME}" if kind == "group" else ""
    assert re.fullmatch(rf"true_{re.escape(chat)}_3EB0[0-9A-F]+{re.escape(suffix)}", own["id"])
    _, page = await get(http, f"{bridge.url}/api/default/chats/{quoted(chat)}/messages")
    assert page == [own]
    _, overview = await get(http, bridge.url + "/api/default/chats/overview")
    assert overview[0]["lastMessage"] == own
    await ws.close()


@pytest.mark.parametrize("engine", ["GOWS", "NOWEB", "WEBJS"])
@pytest.mark.parametrize("kind", ["direct", "group"])
async def test_incoming_messages_keep_the_chat_in_from(make: Make, engine: str, kind: str) -> None:
    bridge = await make(f"{engine}-2026.7.1-PLUS")
    chat = CHAT if kind == "direct" else GROUP
    participant = BOB if kind == "group" else None
    message = await bridge.emit_message("default", chat_id=chat, body="hi", participant=participant)
    assert addressing(message) == INCOMING_ADDRESSING[engine][kind]
    suffix = f"_{BOB}" if kind == "group" else ""
    assert message["id"].startswith(f"false_{chat}_")
    assert message["id"].endswith(suffix)


@pytest.mark.parametrize(
    ("engine", "kind", "expected"),
    [
        ("GOWS", "direct", (CHAT, None, None)),
        ("GOWS", "group", (GROUP, ME, ME)),
        ("NOWEB", "direct", (CHAT, "-", "-")),
        ("NOWEB", "group", (GROUP, "-", "-")),  # Baileys' key of a sent message: no participant
        ("WEBJS", "direct", (ME, CHAT, "-")),
        ("WEBJS", "group", (ME, GROUP, ME)),
    ],
)
async def test_sent_messages_land_in_the_history_as_own_messages(
    make: Make,
    http: aiohttp.ClientSession,
    engine: str,
    kind: str,
    expected: tuple[Any, Any, Any],
) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    ws = await socket(http, bridge)
    chat = CHAT if kind == "direct" else GROUP
    request = {"session": "default", "chatId": chat, "text": "via the API"}
    assert (await post(http, bridge.url + "/api/sendText", request))[0] == 201
    envelope = await event(ws)
    assert envelope["event"] == "message.any"
    stored = bridge.session("default").history[chat][-1]
    assert envelope["payload"] == stored
    assert addressing(stored) == expected
    assert (stored["fromMe"], stored["source"], stored["ack"]) == (True, "api", 1)
    _, page = await get(
        http,
        f"{bridge.url}/api/default/chats/{quoted(chat)}/messages",
        params={"filter.fromMe": "true"},
    )
    assert page == [stored]
    await ws.close()


async def test_emit_message_from_me_is_an_own_message(make: Make) -> None:
    bridge = await make("WEBJS-2026.7.1-CORE")
    own = await bridge.emit_message("default", chat_id=CHAT, body="mine", from_me=True)
    assert addressing(own) == (ME, CHAT, "-")
    assert bridge.session("default").history[CHAT] == [own]


@pytest.mark.parametrize("engine", ["GOWS", "NOWEB", "WEBJS"])
async def test_injected_own_history_is_addressed_like_the_engine(make: Make, engine: str) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    profile = bridge.profile
    for chat in (CHAT, GROUP):
        batch = bridge.inject_history("default", chat, 2, start_timestamp=10, from_me=True)
        expected = profile.own_message_addressing(chat_id=chat, me_id=ME)
        assert [addressing(message) for message in batch] == [
            OWN_ADDRESSING[engine]["group" if chat == GROUP else "direct"]
        ] * 2
        suffix = f"_{expected.id_participant}" if expected.id_participant else ""
        assert all(message["id"].endswith(suffix) for message in batch)
        assert all(message["id"].startswith(f"true_{chat}_") for message in batch)


# ------------------------------------------------------------- 3. what sendText answers


async def test_send_text_answers_per_engine(make: Make, http: aiohttp.ClientSession) -> None:
    request = {"session": "default", "chatId": CHAT, "text": "hello", "id": "3EB0ABCDEF"}
    gows = await make("GOWS-2026.7.1-CORE")
    assert await post(http, gows.url + "/api/sendText", request) == (
        201,
        {"id": f"true_{CHAT}_3EB0ABCDEF", "_data": {"conversation": "hello"}},
    )

    noweb = await make("NOWEB-2026.7.1-CORE")
    status, answer = await post(http, noweb.url + "/api/sendText", request)
    assert status == 201
    stamp = answer.pop("messageTimestamp")
    assert answer == {
        "key": {"remoteJid": "4917612345678@s.whatsapp.net", "fromMe": True, "id": "3EB0ABCDEF"},
        "message": {"extendedTextMessage": {"text": "hello"}},
        "status": "PENDING",
    }
    assert abs(int(stamp) - time.time()) < 5
    status, group = await post(http, noweb.url + "/api/sendText", {**request, "chatId": GROUP})
    assert (group["key"]["remoteJid"], group["participant"]) == (
        GROUP,
        "491511234567@s.whatsapp.net",
    )

    webjs = await make("WEBJS-2026.7.1-CORE")
    status, answer = await post(http, webjs.url + "/api/sendText", request)
    assert status == 201
    key = answer["id"]["id"]
    assert key != "3EB0ABCDEF"  # WEBJS ignores the id
    assert answer["id"] == {
        "fromMe": True,
        "remote": CHAT,
        "id": key,
        "_serialized": f"true_{CHAT}_{key}",
    }
    assert (answer["from"], answer["to"], answer["body"], answer["fromMe"]) == (
        ME,
        CHAT,
        "hello",
        True,
    )
    status, group = await post(http, webjs.url + "/api/sendText", {**request, "chatId": GROUP})
    assert group["id"]["_serialized"] == f"true_{GROUP}_{group['id']['id']}_{ME}"


async def test_gows_group_ids_carry_the_participant(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make("GOWS-2026.7.1-CORE")
    request = {"session": "default", "chatId": GROUP, "text": "hi", "id": "3EB0AA"}
    assert await post(http, bridge.url + "/api/sendText", request) == (
        201,
        {"id": f"true_{GROUP}_3EB0AA_{ME}", "_data": {"conversation": "hi"}},
    )


# ------------------------------------------------------------------- 4. the NOWEB store


async def test_noweb_without_a_store_refuses_history(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make("NOWEB-2026.5.1-CORE-nostore")
    assert bridge.session("default").config == {
        "noweb": {"store": {"enabled": False, "fullSync": False}}
    }
    store_off = {"message": NOWEB_STORE_DISABLED, "error": "Bad Request", "statusCode": 400}
    assert NOWEB_STORE_DISABLED.startswith("Enable NOWEB store")
    base = bridge.url + "/api/default"
    for url in (
        base + "/chats/overview",
        f"{base}/chats/{quoted(CHAT)}/messages",
        f"{base}/lids/{quoted(LID)}",
        f"{base}/lids/pn/{quoted(CHAT)}",
    ):
        assert await get(http, url) == (400, store_off), url
    status, _ = await post(http, base + "/chats/overview", {"pagination": {"limit": 1}})
    assert status == 400
    # an @lid needs no store: it comes back as it is
    assert await get(http, f"{base}/lids/pn/{quoted(LID)}") == (200, {"lid": LID, "pn": None})


async def test_noweb_store_enabled_on_create(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("NOWEB-2026.7.1-CORE", status=None)
    store = {"noweb": {"store": {"enabled": True, "fullSync": False}}}
    status, created = await post(
        http, bridge.url + "/api/sessions", {"name": "shop", "config": store, "start": True}
    )
    assert (status, created["config"]) == (201, store)
    await until(lambda: bridge.session("shop").status == SessionStatus.SCAN_QR_CODE)
    await bridge.scan_qr("shop")
    assert (await get(http, bridge.url + "/api/shop/chats/overview")) == (200, [])
    status, created = await post(http, bridge.url + "/api/sessions", {"name": "bare"})
    assert (status, created["config"]) == (201, {})  # default false: no store


async def test_noweb_store_enabled_later_with_put(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("NOWEB-2026.7.1-CORE-nostore")
    await bridge.emit_message("default", chat_id=CHAT, body="hi")
    ws = await socket(http, bridge, session="default")
    overview = bridge.url + "/api/default/chats/overview"
    assert (await get(http, overview))[0] == 400
    store = {"noweb": {"store": {"enabled": True, "fullSync": False}}}
    async with http.put(
        bridge.url + "/api/sessions/default", json={"config": store}, headers=auth()
    ) as resp:
        assert resp.status == 200
        info = await resp.json()
    assert (info["name"], info["config"]) == ("default", store)
    assert await statuses(ws, 3) == ["STOPPED", "STARTING", "WORKING"]
    status, chats = await get(http, overview)
    assert (status, [chat["id"] for chat in chats]) == (200, [CHAT])
    # a stopped session is not started by PUT
    await bridge.set_status("default", SessionStatus.STOPPED)
    async with http.put(
        bridge.url + "/api/sessions/default", json={"config": {}}, headers=auth()
    ) as resp:
        assert (resp.status, (await resp.json())["status"]) == (200, "STOPPED")
    async with http.put(bridge.url + "/api/sessions/ghost", json={}, headers=auth()) as resp:
        assert resp.status == 404
    await ws.close()


async def test_other_engines_keep_history_without_config(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make("GOWS-2026.2.1-CORE", config={})
    assert (await get(http, bridge.url + "/api/default/chats/overview"))[0] == 200


# ------------------------------------------------------ 5. one session in Core before 2026.6.1


@pytest.mark.parametrize("text", ["NOWEB-2026.5.1-CORE", "GOWS-2026.2.1-CORE"])
async def test_core_before_2026_6_1_has_only_default(
    make: Make, http: aiohttp.ClientSession, text: str
) -> None:
    bridge = await make(text, status=None)
    assert bridge.session("default").status == SessionStatus.STOPPED  # always there
    only_default = {"message": ONLY_DEFAULT, "error": "Unprocessable Entity", "statusCode": 422}
    sessions = bridge.url + "/api/sessions"
    assert await post(http, sessions, {"name": "other"}) == (422, only_default)
    assert await get(http, sessions + "/other") == (422, only_default)
    assert await get(http, sessions + "/other/me") == (422, only_default)
    for action in ("start", "stop", "restart", "logout"):
        assert await post(http, f"{sessions}/other/{action}") == (422, only_default)
    assert await get(http, bridge.url + "/api/other/chats/overview") == (422, only_default)
    request = {"session": "other", "chatId": CHAT, "text": "x"}
    assert await post(http, bridge.url + "/api/sendText", request) == (422, only_default)
    status, exists = await post(http, sessions, {"name": "default"})
    assert (status, exists["message"]) == (
        422,
        "Session 'default' already exists. Use PUT to update it.",
    )
    _, listed = await get(http, sessions, params={"all": "true"})
    assert [item["name"] for item in listed] == ["default"]


@pytest.mark.parametrize("text", ["NOWEB-2026.2.1-PLUS", "GOWS-2026.7.1-CORE"])
async def test_more_sessions_in_plus_and_from_2026_6_1(
    make: Make, http: aiohttp.ClientSession, text: str
) -> None:
    bridge = await make(text)
    status, created = await post(http, bridge.url + "/api/sessions", {"name": "other"})
    assert (status, created["name"], created["status"]) == (201, "other", "STOPPED")


# ------------------------------------------------------------- 6. a graceful restart


async def test_graceful_restart(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("GOWS-2026.2.1-CORE")
    bridge.add_session("default", status=SessionStatus.WORKING, paired=True, me_id=ME)
    ws = await socket(http, bridge)
    restart = asyncio.create_task(bridge.graceful_restart(0.2, pause=0.3, sockets_after=0.05))
    envelope = await event(ws)
    assert (envelope["event"], envelope["payload"]["status"]) == ("session.status", "STOPPED")
    status, info = await get(http, bridge.url + "/api/sessions/default")  # HTTP still answers
    assert (status, info["status"]) == (200, "STOPPED")
    closing = await ws.receive(timeout=2)
    assert closing.type in {aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
    assert ws.close_code == 1006  # no close frame
    assert bridge.listening  # the listener closes only after the pause
    await until(lambda: not bridge.listening)
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(http, bridge.url + "/ping")
    await restart
    assert bridge.listening
    assert bridge.restarts == 1
    status, info = await get(http, bridge.url + "/api/sessions/default")
    assert (status, info["status"], info["me"]) == (200, "STOPPED", None)  # not started on boot
    status, body = await post(http, bridge.url + "/api/sessions/default/start")
    assert (status, body["status"]) == (201, "STARTING")
    await until(lambda: bridge.session("default").status == SessionStatus.WORKING)


async def test_a_session_started_during_the_shutdown_is_stopped_after_it(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make("GOWS-2026.7.1-CORE")
    restart = asyncio.create_task(bridge.graceful_restart(0.05, pause=0.3, sockets_after=0))
    await until(lambda: bridge.session("default").status == SessionStatus.STOPPED)
    assert (await post(http, bridge.url + "/api/sessions/default/start"))[0] == 201
    await restart
    assert bridge.session("default").status == SessionStatus.STOPPED


async def test_graceful_restart_with_start_sessions_on_boot(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make("GOWS-2026.7.1-CORE", start_sessions_on_boot=True)
    bridge.add_session("idle")
    await bridge.graceful_restart(0.01, pause=0.01, sockets_after=0)
    await until(lambda: bridge.session("default").status == SessionStatus.WORKING)
    assert bridge.session("idle").status == SessionStatus.STOPPED
    named = await make("GOWS-2026.7.1-CORE", start_sessions_on_boot=["idle"])
    named.add_session("idle")
    await named.graceful_restart(0.01, pause=0.01)
    await until(lambda: named.session("idle").status == SessionStatus.SCAN_QR_CODE)
    assert named.session("default").status == SessionStatus.STOPPED


async def test_graceful_restart_forgets_configs_of_single_session_core(
    make: Make, http: aiohttp.ClientSession
) -> None:
    """2026.2.1 Core keeps the config of ``default`` in memory: a NOWEB store is off again."""
    old = await make("NOWEB-2026.2.1-CORE")
    assert old.profile.history_available(old.session("default").config)
    await old.graceful_restart(0.01, pause=0.01)
    assert old.session("default").config == {}
    new = await make("NOWEB-2026.7.1-CORE")
    await new.graceful_restart(0.01, pause=0.01)
    assert new.profile.history_available(new.session("default").config)


async def test_graceful_restart_through_the_control_endpoint(
    make: Make, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    bridge = await make("GOWS-2026.7.1-CORE")
    argv = ["--url", bridge.url, "--api-key", KEY, "graceful_restart", "downtime=0.01"]
    argv += ["pause=0.01", "sockets_after=0"]
    assert await fault_command(argv) == 0
    assert capsys.readouterr().out.startswith('202 {"fault": "graceful_restart"')
    await until(lambda: bridge.restarts == 1)
    assert bridge.session("default").status == SessionStatus.STOPPED


# ------------------------------------------------------------------- 7. status waits


async def test_status_waits(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make("GOWS-2026.7.1-CORE", status_wait=0.2, status_wait_stopped=0.1)
    bridge.add_session("idle")
    overview = bridge.url + "/api/{}/chats/overview"
    began = time.monotonic()
    status, body = await get(http, overview.format("idle"))
    assert time.monotonic() - began >= 0.1
    assert (status, body) == (
        422,
        {"error": NOT_AS_EXPECTED, "session": "idle", "status": "STOPPED", "expected": ["WORKING"]},
    )
    began = time.monotonic()
    assert await get(http, overview.format("ghost")) == (
        422,
        {"error": 'Session "ghost" does not exist', "session": "ghost"},
    )
    assert time.monotonic() - began >= 0.1
    await bridge.blip("default")
    began = time.monotonic()
    status, body = await get(http, overview.format("default"))
    assert time.monotonic() - began >= 0.2
    assert (status, body["status"], body["expected"]) == (422, "STARTING", ["WORKING"])
    # a session that gets there in time is served
    waiting = asyncio.create_task(get(http, overview.format("default")))
    await asyncio.sleep(0.05)
    await bridge.end_blip("default")
    assert (await waiting)[0] == 200
    bridge.status_wait_stopped = 1.0
    waiting = asyncio.create_task(get(http, overview.format("idle")))
    await asyncio.sleep(0.05)
    await bridge.boot_paired("idle")
    assert (await waiting)[0] == 200


# ------------------------------------------------------------------ 8. weak API keys


@pytest.mark.parametrize("weak", sorted(WEAK_KEYS))
def test_weak_keys_are_known(weak: str) -> None:
    assert BridgeDouble(api_key=weak).weak_key


async def test_a_weak_key_is_replaced_at_every_start(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make("GOWS-2026.7.1-CORE", api_key="waha")
    first = bridge.api_key
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert bridge.generated_keys == [first]
    assert (await get(http, bridge.url + "/api/sessions", key="waha"))[0] == 401
    assert (await get(http, bridge.url + "/api/sessions", key=first))[0] == 200
    await bridge.graceful_restart(0.01, pause=0.01)
    second = bridge.api_key
    assert second != first
    assert bridge.generated_keys == [first, second]
    assert (await get(http, bridge.url + "/api/sessions", key=first))[0] == 401
    assert (await get(http, bridge.url + "/api/sessions", key=second))[0] == 200
    strong = await make("GOWS-2026.7.1-CORE")
    await strong.graceful_restart(0.01, pause=0.01)
    assert (strong.api_key, strong.generated_keys) == (KEY, [])


# ------------------------------------------------------ 9. starting a running session


@pytest.mark.parametrize(
    ("text", "name"), [("GOWS-2026.2.1-CORE", "default"), ("NOWEB-2026.7.1-PLUS", "other")]
)
async def test_start_of_a_running_session_is_refused(
    make: Make, http: aiohttp.ClientSession, text: str, name: str
) -> None:
    bridge = await make(text)
    bridge.add_session(name, status=SessionStatus.WORKING, paired=True)
    url = f"{bridge.url}/api/sessions/{name}"
    already = {
        "message": f"Session '{name}' is already started.",
        "error": "Unprocessable Entity",
        "statusCode": 422,
    }
    assert await post(http, url + "/start") == (422, already)
    await bridge.logout_from_phone(name)
    assert await post(http, url + "/start") == (422, already)  # FAILED is running too
    status, body = await post(http, url + "/restart")
    assert (status, body["status"]) == (201, "STARTING")
    await until(lambda: bridge.session(name).status == SessionStatus.SCAN_QR_CODE)


# --------------------------------------------------------------- 10. smaller differences


@pytest.mark.parametrize(
    ("text", "works"), [("GOWS-2026.2.1-CORE", False), ("GOWS-2026.5.1-CORE", True)]
)
async def test_query_api_key_only_from_2026_4_3(
    make: Make, http: aiohttp.ClientSession, text: str, works: bool
) -> None:
    bridge = await make(text)
    async with http.get(bridge.url + "/api/sessions", params={"x-api-key": KEY}) as resp:
        assert resp.status == (200 if works else 401)
    assert (await get(http, bridge.url + "/api/sessions"))[0] == 200  # the header always


async def test_status_payload_and_metadata_by_release(
    make: Make, http: aiohttp.ClientSession
) -> None:
    old = await make("GOWS-2026.2.1-CORE")
    ws = await socket(http, old)
    await old.blip("default")
    envelope = await event(ws)
    assert "metadata" not in envelope
    assert set(envelope["payload"]) == {"name", "status", "statuses"}
    old.session("default").config = {"metadata": {"user.id": "1"}}
    await old.end_blip("default")
    assert (await event(ws))["metadata"] == {"user.id": "1"}
    new = await make("GOWS-2026.7.1-CORE")
    ws_new = await socket(http, new)
    await new.blip("default")
    envelope = await event(ws_new)
    assert envelope["metadata"] == {}
    assert envelope["payload"]["data"] is None
    await ws.close()
    await ws_new.close()


async def test_websocket_key_parameter_is_case_insensitive(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make()
    ws = await http.ws_connect(bridge.url + "/ws", params={"X-Api-Key": KEY})
    async with asyncio.timeout(2):
        await bridge.wait_for_streams(1)
    await ws.close()


async def test_qr_json_only_for_exactly_application_json(
    make: Make, http: aiohttp.ClientSession
) -> None:
    bridge = await make(status=SessionStatus.SCAN_QR_CODE)
    url = bridge.url + "/api/default/auth/qr"
    for accept, kind in (
        ("application/json", "application/json"),
        ("application/json, text/plain, */*", "image/png"),
        ("*/*", "image/png"),
    ):
        async with http.get(url, headers={**auth(), "Accept": accept}) as resp:
            assert (resp.status, resp.content_type) == (200, kind), accept


async def test_lid_lookups_need_a_lid(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make()
    invalid = {
        "message": "Invalid LID - it must end with @lid",
        "error": "Unprocessable Entity",
        "statusCode": 422,
    }
    assert await get(http, f"{bridge.url}/api/default/lids/{quoted(CHAT)}") == (422, invalid)
    assert await get(http, f"{bridge.url}/api/default/lids/123456") == (
        200,
        {"lid": "123456@lid", "pn": None},
    )


async def test_presence_chat_id_rules(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make()
    url = bridge.url + "/api/default/presence"
    assert await post(http, url, {"presence": "online", "chatId": CHAT}) == (
        400,
        {
            "detail": "'online' presence works on the global scope and doesn't require "
            "'chatId' field."
        },
    )
    assert await post(http, url, {"presence": "typing"}) == (
        400,
        {"detail": "'typing' presence requires 'chatId' field."},
    )
    assert (await post(http, url, {"presence": "offline"}))[0] == 201
    assert (await post(http, url, {"presence": "paused", "chatId": CHAT}))[0] == 201


@pytest.mark.parametrize(("engine", "keeps"), [("GOWS", True), ("NOWEB", False), ("WEBJS", False)])
async def test_me_after_a_logout_from_the_phone(
    make: Make, http: aiohttp.ClientSession, engine: str, keeps: bool
) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    await bridge.logout_from_phone("default")
    _, info = await get(http, bridge.url + "/api/sessions/default")
    assert info["status"] == "FAILED"
    assert (info["me"] is not None) is keeps
    assert not bridge.session("default").paired


async def test_me_is_404_while_not_running(make: Make, http: aiohttp.ClientSession) -> None:
    bridge = await make(status=SessionStatus.STOPPED)
    status, body = await get(http, bridge.url + "/api/sessions/default/me")
    assert status == 404
    assert body["message"].startswith("We didn't find a session with name 'default'.")
    _, listed = await get(http, bridge.url + "/api/sessions", params={"all": "true"})
    assert listed[0]["me"] is None


@pytest.mark.parametrize(
    ("engine", "after_scan"),
    [("NOWEB", ["STARTING", "WORKING"]), ("GOWS", ["WORKING"]), ("WEBJS", ["WORKING"])],
)
async def test_statuses_after_a_qr_scan(
    make: Make, http: aiohttp.ClientSession, engine: str, after_scan: list[str]
) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE", status=SessionStatus.SCAN_QR_CODE)
    ws = await socket(http, bridge)
    await bridge.scan_qr("default")
    assert await statuses(ws, len(after_scan)) == after_scan
    await ws.close()


@pytest.mark.parametrize(
    "text", ["NOWEB-2026.7.1-PLUS", "WEBJS-2026.7.1-CORE", "GOWS-2026.5.1-CORE"]
)
async def test_passkeys_only_on_gows_from_2026_7_1(
    make: Make, http: aiohttp.ClientSession, text: str
) -> None:
    bridge = await make(text, status=SessionStatus.SCAN_QR_CODE)
    with pytest.raises(ValueError, match="no passkey statuses"):
        await bridge.require_passkey("default")
    status, _ = await get(http, bridge.url + "/api/default/auth/passkey/challenge")
    assert status == (422 if bridge.profile.has_passkey_routes else 404)


async def test_engines_are_gows_noweb_and_webjs() -> None:
    for engine in ("GOWS", "NOWEB", "WEBJS"):
        assert BridgeProfile(engine=engine.lower()).engine == engine
    with pytest.raises(ValueError, match="engine must be one of"):
        BridgeProfile(engine="WPP")


# --------------------------------------------------------------------------- editions


@pytest.mark.parametrize(
    ("text", "browser"),
    [
        ("GOWS-2026.2.1-CORE", None),
        ("NOWEB-2026.5.1-PLUS", None),
        ("WEBJS-2026.7.1-CORE", "/usr/bin/chromium"),
        ("WEBJS-2026.7.1-PLUS", "/usr/bin/google-chrome-stable"),
    ],
)
async def test_version_tells_the_edition(
    make: Make, http: aiohttp.ClientSession, text: str, browser: str | None
) -> None:
    profile = BridgeProfile.parse(text)
    bridge = await make(profile)
    assert await get(http, bridge.url + "/api/server/version") == (
        200,
        {
            "version": profile.release,
            "engine": profile.engine,
            "tier": profile.edition,
            "browser": browser,
            "platform": "linux/x64",
            "worker": {"id": None},
        },
    )
    ws = await socket(http, bridge)
    await bridge.blip("default")
    assert (await event(ws))["environment"]["tier"] == profile.edition
    await ws.close()


MEDIA_BODIES = {
    "sendImage": {"file": {"url": "https://example.com/a.jpg", "mimetype": "image/jpeg"}},
    "sendFile": {"file": {"url": "https://example.com/a.pdf", "mimetype": "application/pdf"}},
    "sendVoice": {"file": {"url": "https://example.com/a.opus"}, "convert": True},
    "sendVideo": {"file": {"url": "https://example.com/a.mp4"}, "convert": True},
}


@pytest.mark.parametrize("engine", ["GOWS", "NOWEB", "WEBJS"])
async def test_core_sends_no_media(make: Make, http: aiohttp.ClientSession, engine: str) -> None:
    bridge = await make(f"{engine}-2026.7.1-CORE")
    plus_only = {
        "message": f"The feature is available only in Plus version for '{engine}' engine. "
        f"Check this out: {DOCS}",
        "error": "Unprocessable Entity",
        "statusCode": 422,
    }
    for route, body in MEDIA_BODIES.items():
        request = {"session": "default", "chatId": CHAT, **body}
        status, answer = await post(http, f"{bridge.url}/api/{route}", request)
        if route == "sendVideo":  # Core's engines leave it to session.abc.ts: 501
            assert (status, answer["error"]) == (501, "Not Implemented")
        else:
            assert (status, answer) == (422, plus_only), route
    assert bridge.session("default").sent == []


@pytest.mark.parametrize("engine", ["GOWS", "NOWEB", "WEBJS"])
async def test_plus_sends_media(make: Make, http: aiohttp.ClientSession, engine: str) -> None:
    bridge = await make(f"{engine}-2026.7.1-PLUS")
    for route, body in MEDIA_BODIES.items():
        request = {"session": "default", "chatId": CHAT, "caption": "look", **body}
        status, answer = await post(http, f"{bridge.url}/api/{route}", request)
        assert status == 201, route
        assert isinstance(answer, dict)
    kinds = [sent["kind"] for sent in bridge.session("default").sent]
    assert kinds == ["image", "file", "voice", "video"]
    stored = bridge.session("default").history[CHAT]
    assert [message["hasMedia"] for message in stored] == [True] * 4
    bad = {"session": "default", "chatId": CHAT}
    assert (await post(http, bridge.url + "/api/sendImage", bad))[0] == 400


# ------------------------------------------------------------------------- the CLI


def test_cli_profile_option() -> None:
    options = serve_parser().parse_args(["--profile", "NOWEB-2026.5.1-CORE-nostore"])
    assert options.profile == BridgeProfile("NOWEB", "2026.5.1", noweb_store=False)
    assert serve_parser().parse_args([]).profile == BridgeProfile()
    with pytest.raises(SystemExit):
        serve_parser().parse_args(["--profile", "WPP-2026.7.1-CORE"])


def test_graceful_restart_is_a_timed_fault() -> None:
    from bridge_double.control import TIMED, faults

    assert TIMED["graceful_restart"] == "graceful_restart"
    assert {"graceful_restart", "send_from_phone", "bridge_restart"} <= set(faults())
    assert json.dumps(str(BridgeProfile()))
