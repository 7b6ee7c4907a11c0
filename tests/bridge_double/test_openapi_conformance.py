"""The double's REST answers and WebSocket envelopes against the WAHA OpenAPI file."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator
import pytest

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus

SPEC_PATH = Path(__file__).parents[3] / "shared/waha/openapi-2026.7.1.json"
if not SPEC_PATH.exists():
    pytest.skip(f"{SPEC_PATH} is absent", allow_module_level=True)

pytestmark = pytest.mark.usefixtures("socket_enabled")

KEY = "conformance-key"
ME = "491511234567@c.us"
HEADERS = {"X-Api-Key": KEY}

# Listed as required (or typed as objects) but null in real answers ("pn" / "lid" of
# LidToPhoneNumber are null for an unknown LID / phone number; "to" of a GOWS message
# outside groups is null: getFromToParticipant in session.gows.core.ts).
NULLABLE_PROPERTIES = frozenset(
    {"me", "participant", "mediaUrl", "presence", "browser", "media", "replyTo", "pn", "lid", "to"}
)
_TYPE_CHECKS: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


# ------------------------------------------------------------------ normaliser


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def normalise(node: Any) -> Any:
    """OpenAPI 3.0-flavoured schema -> JSON Schema 2020-12.

    nullable -> anyOf null; boolean ``required`` dropped; a ``type`` contradicting its
    ``enum`` dropped; the properties in NULLABLE_PROPERTIES accept null.
    """
    if isinstance(node, list):
        return [normalise(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "nullable" or (key == "required" and not isinstance(value, list)):
            continue
        if key == "properties":
            out[key] = {
                name: _allow_null(normalise(schema))
                if name in NULLABLE_PROPERTIES
                else normalise(schema)
                for name, schema in value.items()
            }
        else:
            out[key] = normalise(value)
    kind = out.get("type")
    if (
        "enum" in out
        and isinstance(kind, str)
        and kind in _TYPE_CHECKS
        and not all(_TYPE_CHECKS[kind](item) for item in out["enum"])
    ):
        del out["type"]
    if node.get("nullable") is True:
        return _allow_null(out)
    return out


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def components(spec: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": {name: normalise(s) for name, s in spec["components"]["schemas"].items()}}


def _validator(schema: dict[str, Any], components: dict[str, Any]) -> Draft202012Validator:
    root = {**normalise(copy.deepcopy(schema)), "components": components}
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root)


def assert_valid(
    instance: Any, schema: dict[str, Any], components: dict[str, Any], what: str
) -> None:
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator(schema, components).iter_errors(instance)
    ]
    assert not problems, f"{what} does not match the OpenAPI schema:\n" + "\n".join(problems)


def response_spec(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    operation = spec["paths"][path][method.lower()]
    assert str(status) in operation["responses"], f"{method} {path}: {status} not in the spec"
    return operation["responses"][str(status)]


def json_schema_of(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    return response_spec(spec, path, method, status)["content"]["application/json"]["schema"]


# -------------------------------------------------------------------- fixtures


@pytest.fixture
async def double() -> AsyncIterator[BridgeDouble]:
    bridge = BridgeDouble(api_key=KEY)
    bridge.add_session(
        "default", status=SessionStatus.WORKING, paired=True, me_id="491511234567@c.us"
    )
    bridge.add_session("pairing", status=SessionStatus.SCAN_QR_CODE)
    bridge.add_session("idle", status=SessionStatus.STOPPED)
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        yield session


# ----------------------------------------------------------------------- tests


def test_normaliser_yields_valid_json_schema(components: dict[str, Any]) -> None:
    Draft202012Validator.check_schema({"components": components})
    body = components["schemas"]["WAHAWebhookSessionStatus"]["properties"]
    assert "type" not in body["event"]
    assert body["me"]["anyOf"][1] == {"type": "null"}
    activity = components["schemas"]["SessionInfo"]["properties"]["timestamps"]
    assert activity["properties"]["activity"]["anyOf"][1] == {"type": "null"}
    assert "required" not in activity["properties"]["activity"]["anyOf"][0]


def test_validator_rejects_wrong_shapes(components: dict[str, Any]) -> None:
    info = {"name": "default", "status": "NOPE", "presence": None, "timestamps": {}}
    validator = _validator({"$ref": "#/components/schemas/SessionInfo"}, components)
    assert not validator.is_valid(info)
    assert validator.is_valid({**info, "status": "WORKING"})
    assert not validator.is_valid({**info, "status": "WORKING", "timestamps": []})
    me = _validator({"$ref": "#/components/schemas/MeInfo"}, components)
    assert not me.is_valid({"id": "1@c.us"})
    summary = {"id": "1@c.us", "name": None, "picture": None, "lastMessage": {}, "_chat": {}}
    chat = _validator({"$ref": "#/components/schemas/ChatSummary"}, components)
    assert chat.is_valid(summary)
    assert not chat.is_valid({**summary, "lastMessage": None})
    assert not chat.is_valid({key: v for key, v in summary.items() if key != "_chat"})
    new_id = _validator({"$ref": "#/components/schemas/NewMessageIDResponse"}, components)
    assert not new_id.is_valid({"id": 1})
    challenge = _validator({"$ref": "#/components/schemas/PasskeyChallenge"}, components)
    options = {
        "challenge": "c",
        "timeout": 60000,
        "rpId": "web.whatsapp.com",
        "allowCredentials": [{"id": "i", "type": "public-key"}],
        "userVerification": "required",
    }
    assert challenge.is_valid(options)
    assert not challenge.is_valid({key: v for key, v in options.items() if key != "rpId"})
    assert not challenge.is_valid({**options, "allowCredentials": [{"id": "i"}]})
    code = _validator({"$ref": "#/components/schemas/PasskeyConfirmationResponse"}, components)
    assert not code.is_valid({"code": 1234})


@pytest.mark.parametrize(
    ("method", "url_path", "spec_path", "status"),
    [
        ("GET", "/ping", "/ping", 200),
        ("GET", "/api/server/version", "/api/server/version", 200),
        ("GET", "/api/sessions", "/api/sessions", 200),
        ("GET", "/api/sessions?all=true", "/api/sessions", 200),
        ("GET", "/api/sessions/default", "/api/sessions/{session}", 200),
        ("GET", "/api/sessions/idle", "/api/sessions/{session}", 200),
        ("GET", "/api/sessions/default/me", "/api/sessions/{session}/me", 200),
        ("POST", "/api/sessions/idle/start", "/api/sessions/{session}/start", 201),
        ("POST", "/api/sessions/default/stop", "/api/sessions/{session}/stop", 201),
        ("POST", "/api/sessions/default/restart", "/api/sessions/{session}/restart", 201),
        ("POST", "/api/sessions/default/logout", "/api/sessions/{session}/logout", 201),
        ("GET", "/api/pairing/auth/qr?format=raw", "/api/{session}/auth/qr", 200),
    ],
)
async def test_rest_answers_match_schema(
    double: BridgeDouble,
    http: aiohttp.ClientSession,
    spec: dict[str, Any],
    components: dict[str, Any],
    method: str,
    url_path: str,
    spec_path: str,
    status: int,
) -> None:
    async with http.request(method, double.url + url_path) as resp:
        assert resp.status == status
        body = await resp.json()
    assert_valid(body, json_schema_of(spec, spec_path, method, status), components, url_path)


async def test_create_matches_schema(
    double: BridgeDouble,
    http: aiohttp.ClientSession,
    spec: dict[str, Any],
    components: dict[str, Any],
) -> None:
    request = {"name": "fresh", "start": True, "config": {"metadata": {"user.id": "1"}}}
    async with http.post(double.url + "/api/sessions", json=request) as resp:
        assert resp.status == 201
        body = await resp.json()
    assert_valid(body, json_schema_of(spec, "/api/sessions", "POST", 201), components, "create")


async def test_unpaired_me_is_null(double: BridgeDouble, http: aiohttp.ClientSession) -> None:
    async with http.get(double.url + "/api/sessions/pairing/me") as resp:
        assert resp.status == 200
        assert await resp.json() is None


async def test_qr_image_answers_match_schema(
    double: BridgeDouble,
    http: aiohttp.ClientSession,
    spec: dict[str, Any],
    components: dict[str, Any],
) -> None:
    url = double.url + "/api/pairing/auth/qr?format=image"
    async with http.get(url, headers={"Accept": "application/json"}) as resp:
        assert resp.status == 200
        body = await resp.json()
    schema = json_schema_of(spec, "/api/{session}/auth/qr", "GET", 200)
    assert_valid(body, schema, components, "qr image json")
    assert body["mimetype"] == "image/png"
    assert base64.b64decode(body["data"], validate=True) == double.qr_png("pairing")
    async with http.get(url) as resp:
        assert resp.status == 200
        assert resp.content_type == "image/png"
        png = await resp.read()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == double.qr_png("pairing")
    content = response_spec(spec, "/api/{session}/auth/qr", "GET", 200)["content"]
    assert "image/png" in content


async def test_answers_without_a_schema(
    double: BridgeDouble, http: aiohttp.ClientSession, spec: dict[str, Any]
) -> None:
    """request-code and presence: the spec has a bare 201; check the status and our shape.

    request-code answers ``{"code": "ABCD-EFGH"}`` (the engines' PairingCodeResponse).
    """
    assert "content" not in response_spec(spec, "/api/{session}/auth/request-code", "POST", 201)
    assert "content" not in response_spec(spec, "/api/{session}/presence", "POST", 201)
    url = double.url + "/api/pairing/auth/request-code"
    async with http.post(url, json={"phoneNumber": "12132132130"}) as resp:
        assert resp.status == 201
        body = await resp.json()
    assert set(body) == {"code"}
    assert isinstance(body["code"], str)
    assert len(body["code"]) == 9
    assert body["code"][4] == "-"
    url = double.url + "/api/default/presence"
    async with http.post(url, json={"presence": "online"}) as resp:
        assert resp.status == 201


async def test_pairing_requests_and_answers_match_schemas(
    double: BridgeDouble,
    http: aiohttp.ClientSession,
    spec: dict[str, Any],
    components: dict[str, Any],
) -> None:
    """The bodies the spec defines are accepted; passkey answers and statuses match it."""
    base = double.url + "/api/pairing/auth"
    request_schema = spec["paths"]["/api/{session}/auth/request-code"]["post"]["requestBody"]
    for request in ({"phoneNumber": "12132132130"}, {"phoneNumber": "491517654321", "method": ""}):
        assert_valid(
            request, request_schema["content"]["application/json"]["schema"], components, "code"
        )
        async with http.post(base + "/request-code", json=request) as resp:
            assert resp.status == 201
    await double.require_passkey("pairing")
    async with http.get(double.url + "/api/sessions/pairing") as resp:
        info = await resp.json()
    schema = json_schema_of(spec, "/api/sessions/{session}", "GET", 200)
    assert_valid(info, schema, components, "passkey session info")
    async with http.get(base + "/passkey/challenge") as resp:
        assert resp.status == 200
        challenge = await resp.json()
    schema = json_schema_of(spec, "/api/{session}/auth/passkey/challenge", "GET", 200)
    assert_valid(challenge, schema, components, "passkey challenge")
    assertion = {
        "id": "cred-1",
        "rawId": "Y3JlZC0x",
        "type": "public-key",
        "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
    }
    submit = spec["paths"]["/api/{session}/auth/passkey"]["post"]
    assert_valid(
        assertion, submit["requestBody"]["content"]["application/json"]["schema"], components, "a"
    )
    assert "content" not in submit["responses"]["201"]
    async with http.post(base + "/passkey", json=assertion) as resp:
        assert resp.status == 201
    assert double.session("pairing").status == SessionStatus.WORKING
    await double.require_passkey("pairing", confirmation=True)
    async with http.get(base + "/passkey/confirmation") as resp:
        assert resp.status == 200
        confirmation = await resp.json()
    schema = json_schema_of(spec, "/api/{session}/auth/passkey/confirmation", "GET", 200)
    assert_valid(confirmation, schema, components, "passkey confirmation")
    assert "content" not in response_spec(spec, "/api/{session}/auth/passkey/confirm", "POST", 201)
    async with http.post(base + "/passkey/confirm") as resp:
        assert resp.status == 201
    assert double.session("pairing").status == SessionStatus.WORKING


async def test_passkey_status_envelopes_match_schema(
    double: BridgeDouble, http: aiohttp.ClientSession, components: dict[str, Any]
) -> None:
    ws = await http.ws_connect(double.url + "/ws", params={"x-api-key": KEY, "session": "pairing"})
    async with ws:
        async with asyncio.timeout(2):
            await double.wait_for_streams(1)
        await double.require_passkey("pairing")
        await double.require_passkey("pairing", confirmation=True)
        await double.confirm_passkey("pairing")
        envelopes = [await ws.receive_json(timeout=2) for _ in range(3)]
    ref = {"$ref": "#/components/schemas/WAHAWebhookSessionStatus"}
    for envelope in envelopes:
        assert_valid(envelope, ref, components, envelope["payload"]["status"])
    required, confirmation, working = (envelope["payload"]["data"] for envelope in envelopes)
    challenge = {"$ref": "#/components/schemas/PasskeyChallenge"}
    assert_valid(required, challenge, components, "PASSKEY_REQUIRED data")
    code = {"$ref": "#/components/schemas/PasskeyConfirmationResponse"}
    assert_valid(confirmation, code, components, "PASSKEY_CONFIRMATION_REQUIRED data")
    assert working is None


async def test_websocket_envelopes_match_schemas(
    double: BridgeDouble, http: aiohttp.ClientSession, components: dict[str, Any]
) -> None:
    ws = await http.ws_connect(
        double.url + "/ws", params={"x-api-key": KEY, "session": "*", "events": "*"}
    )
    async with ws:
        async with asyncio.timeout(2):  # the upgrade registers right after the 101
            await double.wait_for_streams(1)
        await double.blip("default")
        status_event = await ws.receive_json(timeout=2)
        await double.emit_message(
            "default", chat_id="4917612345678@c.us", body="hi", has_media=True
        )
        message_event = await ws.receive_json(timeout=2)
        await double.emit_message(
            "default", chat_id="1203630@g.us", body="group", participant="49176@c.us"
        )
        group_event = await ws.receive_json(timeout=2)
    assert status_event["event"] == "session.status"
    assert message_event["event"] == "message"
    ref = {"$ref": "#/components/schemas/WAHAWebhookSessionStatus"}
    assert_valid(status_event, ref, components, "session.status envelope")
    ref = {"$ref": "#/components/schemas/WAHAWebhookMessage"}
    assert_valid(message_event, ref, components, "message envelope")
    assert_valid(group_event, ref, components, "group message envelope")


async def test_chat_and_send_answers_match_schemas(
    double: BridgeDouble,
    http: aiohttp.ClientSession,
    spec: dict[str, Any],
    components: dict[str, Any],
) -> None:
    chat, group, lid = "4917612345678@c.us", "1203630@g.us", "123456789@lid"
    await double.emit_message("default", chat_id=chat, body="hi", has_media=True, timestamp=10)
    await double.emit_message(
        "default", chat_id=group, body="g", participant=lid, chat_name="Family", timestamp=20
    )
    await double.emit_message("default", chat_id=lid, body="lid", stream=False, timestamp=30)
    double.inject_history("default", chat, 30, start_timestamp=40)
    double.add_lid("default", lid, chat)
    base = double.url + "/api/default"
    answers: list[tuple[str, str, str, int, Any]] = []

    async def check(method: str, url: str, spec_path: str, status: int, **kw: Any) -> Any:
        async with http.request(method, url, **kw) as resp:
            assert resp.status == status, await resp.text()
            body = await resp.json()
        schema = json_schema_of(spec, spec_path, method, status)
        assert_valid(body, schema, components, f"{method} {url}")
        answers.append((method, url, spec_path, status, body))
        return body

    overview = await check("GET", base + "/chats/overview", "/api/{session}/chats/overview", 200)
    assert [item["id"] for item in overview] == [chat, lid, group]
    body = {"pagination": {"limit": 2}, "filter": {"ids": [group, lid]}}
    await check("POST", base + "/chats/overview", "/api/{session}/chats/overview", 201, json=body)
    messages_path = "/api/{session}/chats/{chatId}/messages"
    for chat_id in (chat, group, lid):
        url = f"{base}/chats/{chat_id.replace('@', '%40')}/messages"
        page = await check("GET", url, messages_path, 200, params={"limit": "100"})
        assert page
    message_id = await check("GET", base + "/new-message-id", "/api/{session}/new-message-id", 200)
    await check("GET", base + "/status/new-message-id", "/api/{session}/status/new-message-id", 200)
    request = {"session": "default", "chatId": chat, "text": "sent", "id": message_id["id"]}
    # The spec says WAMessage; GOWS really answers {id, _data} (messageResponse in
    # session.gows.core.ts): checked here, and the WAMessage it stored against the spec.
    async with http.post(double.url + "/api/sendText", json=request) as resp:
        assert resp.status == 201
        sent = await resp.json()
    assert sent == {"id": f"true_{chat}_{message_id['id']}", "_data": {"conversation": "sent"}}
    stored = double.session("default").history[chat][-1]
    assert stored["id"] == sent["id"]
    schema = json_schema_of(spec, "/api/sendText", "POST", 201)
    assert_valid(stored, schema, components, "the sent message as stored")
    for known in (lid, "999@lid"):
        url = base + "/lids/" + known.replace("@", "%40")
        await check("GET", url, "/api/{session}/lids/{lid}", 200)
    for phone in (chat, "1@c.us"):
        url = base + "/lids/pn/" + phone.replace("@", "%40")
        await check("GET", url, "/api/{session}/lids/pn/{phoneNumber}", 200)
    assert len(answers) == 11


# ------------------------------------------------------------------------ profiles

PROFILES = ["GOWS-2026.2.1-CORE", "NOWEB-2026.5.1-PLUS", "WEBJS-2026.7.1-CORE"]


@pytest.fixture
async def profiled(request: pytest.FixtureRequest) -> AsyncIterator[BridgeDouble]:
    """A double playing ``request.param`` with a paired, working ``default``."""
    bridge = BridgeDouble(api_key=KEY, profile=BridgeProfile.parse(request.param))
    bridge.add_session("default", status=SessionStatus.WORKING, paired=True, me_id=ME)
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


def _absent_keys_allowed(schema_name: str, absent: set[str], components: dict[str, Any]) -> Any:
    """The components with ``absent`` dropped from the schema's ``required``.

    NOWEB and WEBJS set ``to`` / ``participant`` to undefined outside groups (and NOWEB for
    a message it sent in a group); ``JSON.stringify`` leaves them out, the spec requires them.
    """
    relaxed = copy.deepcopy(components)
    schema = relaxed["schemas"][schema_name]
    schema["required"] = [name for name in schema["required"] if name not in absent]
    return relaxed


@pytest.mark.parametrize("profiled", PROFILES, indirect=True)
async def test_profile_answers_match_schemas(
    profiled: BridgeDouble,
    http: aiohttp.ClientSession,
    spec: dict[str, Any],
    components: dict[str, Any],
) -> None:
    """Version, PUT session, status/new-message-id (not WEBJS) and media sends (Plus)."""
    base = profiled.url
    async with http.get(base + "/api/server/version") as resp:
        version = await resp.json()
    schema = json_schema_of(spec, "/api/server/version", "GET", 200)
    assert_valid(version, schema, components, "version")
    assert version["tier"] == profiled.profile.edition
    request = {"config": {"metadata": {"user.id": "1"}}}
    put = spec["paths"]["/api/sessions/{session}"]["put"]
    assert_valid(
        request, put["requestBody"]["content"]["application/json"]["schema"], components, "put"
    )
    async with http.put(base + "/api/sessions/default", json=request) as resp:
        assert resp.status == 200
        updated = await resp.json()
    schema = json_schema_of(spec, "/api/sessions/{session}", "PUT", 200)
    assert_valid(updated, schema, components, "PUT session")
    if profiled.profile.new_message_id_supported:
        await until_working(profiled)
        async with http.get(base + "/api/default/status/new-message-id") as resp:
            assert resp.status == 200
            body = await resp.json()
        schema = json_schema_of(spec, "/api/{session}/status/new-message-id", "GET", 200)
        assert_valid(body, schema, components, "status/new-message-id")
    await until_working(profiled)
    for route, file in (
        ("sendImage", {"url": "https://example.com/a.jpg", "mimetype": "image/jpeg"}),
        ("sendFile", {"url": "https://example.com/a.pdf", "mimetype": "application/pdf"}),
        ("sendVoice", {"url": "https://example.com/a.opus", "mimetype": "audio/ogg"}),
        ("sendVideo", {"url": "https://example.com/a.mp4", "mimetype": "video/mp4"}),
    ):
        body = {"session": "default", "chatId": "4917612345678@c.us", "file": file}
        body |= {"convert": True} if route in {"sendVoice", "sendVideo"} else {"caption": "c"}
        operation = spec["paths"][f"/api/{route}"]["post"]
        request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        if route in {"sendImage", "sendFile"}:  # Voice/VideoRemoteFile type mimetype "object"
            assert_valid(body, request_schema, components, route)
        async with http.post(f"{base}/api/{route}", json=body) as resp:
            answer = await resp.json()
            if not profiled.profile.media_sending:
                assert resp.status in {422, 501}, route
                continue
            assert resp.status == 201, route
        content = operation["responses"]["201"].get("content")
        if content is not None:
            assert_valid(answer, content["application/json"]["schema"], components, route)


async def until_working(bridge: BridgeDouble) -> None:
    async with asyncio.timeout(2):
        while (session := bridge.session("default")).status != SessionStatus.WORKING:
            await session.changed.wait()


@pytest.mark.parametrize("profiled", PROFILES, indirect=True)
async def test_profile_envelopes_match_schemas(
    profiled: BridgeDouble, http: aiohttp.ClientSession, components: dict[str, Any]
) -> None:
    """session.status (2026.2.1: no data, no metadata) and own/incoming messages per engine."""
    ws = await http.ws_connect(
        profiled.url + "/ws", params={"x-api-key": KEY, "session": "*", "events": "*"}
    )
    async with ws:
        async with asyncio.timeout(2):
            await profiled.wait_for_streams(1)
        await profiled.blip("default")
        await profiled.end_blip("default")
        statuses = [await ws.receive_json(timeout=2) for _ in range(2)]
        await profiled.emit_message("default", chat_id="4917612345678@c.us", body="in")
        await profiled.emit_message(
            "default", chat_id="1203630@g.us", body="g", participant="49176@c.us"
        )
        await profiled.send_from_phone("default", chat_id="4917612345678@c.us", body="own")
        await profiled.send_from_phone("default", chat_id="1203630@g.us", body="own g")
        request = {"session": "default", "chatId": "1203630@g.us", "text": "api"}
        async with http.post(profiled.url + "/api/sendText", json=request) as resp:
            assert resp.status == 201
        messages = [await ws.receive_json(timeout=2) for _ in range(7)]
    ref = {"$ref": "#/components/schemas/WAHAWebhookSessionStatus"}
    for envelope in statuses:
        assert_valid(envelope, ref, components, "session.status")
    assert ("data" in statuses[0]["payload"]) is profiled.profile.status_payload_has_data
    assert [envelope["event"] for envelope in messages] == [
        "message",
        "message.any",
        "message",
        "message.any",
        "message.any",
        "message.any",
        "message.any",
    ]
    for envelope in messages:
        payload = envelope["payload"]
        absent = {"to", "participant"} - set(payload)
        relaxed = _absent_keys_allowed("WAMessage", absent, components)
        schema_name = (
            "WAHAWebhookMessage" if envelope["event"] == "message" else "WAHAWebhookMessageAny"
        )
        ref = {"$ref": f"#/components/schemas/{schema_name}"}
        assert_valid(envelope, ref, relaxed, f"{envelope['event']} {payload['body']}")
        if profiled.engine == "GOWS":
            assert not absent


# ------------------------------------------------------------------- talking back


def _request_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation = spec["paths"][path][method.lower()]
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return schema


@pytest.mark.parametrize("profiled", PROFILES, indirect=True)
async def test_talk_requests_answers_and_events_match_schemas(
    profiled: BridgeDouble,
    http: aiohttp.ClientSession,
    spec: dict[str, Any],
    components: dict[str, Any],
) -> None:
    """sendPoll, reaction, sendSeen, typing, reply_to; reaction and poll vote envelopes."""
    chat, group, bob = "4917612345678@c.us", "1203630@g.us", "49176@c.us"
    await until_working(profiled)
    events = ["message.reaction", "poll.vote", "poll.vote.failed"]
    ws = await http.ws_connect(
        profiled.url + "/ws",
        params=[("x-api-key", KEY), ("session", "default")] + [("events", e) for e in events],
    )
    async with ws:
        async with asyncio.timeout(2):
            await profiled.wait_for_streams(1)
        incoming = await profiled.emit_message("default", chat_id=chat, body="hi")
        requests: list[tuple[str, str, int, dict[str, Any]]] = [
            (
                "POST",
                "/api/sendText",
                201,
                {"session": "default", "chatId": chat, "text": "t", "reply_to": incoming["id"]},
            ),
            (
                "POST",
                "/api/sendPoll",
                201,
                {
                    "session": "default",
                    "chatId": chat,
                    "poll": {"name": "Q", "options": ["A", "B"], "multipleAnswers": False},
                    "reply_to": incoming["id"],
                },
            ),
            (
                "PUT",
                "/api/reaction",
                200,
                {"session": "default", "messageId": incoming["id"], "reaction": "👍"},
            ),
            (
                "POST",
                "/api/sendSeen",
                201,
                {"session": "default", "chatId": chat, "messageIds": [incoming["id"]]},
            ),
            ("POST", "/api/sendSeen", 201, {"session": "default", "chatId": chat}),
            ("POST", "/api/startTyping", 201, {"session": "default", "chatId": chat}),
            ("POST", "/api/stopTyping", 201, {"session": "default", "chatId": chat}),
        ]
        # MessagePoll says `multipleAnswers: object`: WAHA's class has `multipleAnswers =
        # false` without a type, which the generator turns into an object. It is a boolean.
        fixed = copy.deepcopy(components)
        fixed["schemas"]["MessagePoll"]["properties"]["multipleAnswers"] = {"type": "boolean"}
        for method, path, status, body in requests:
            assert_valid(body, _request_schema(spec, path, method), fixed, path)
            async with http.request(method, profiled.url + path, json=body) as resp:
                assert resp.status == status, (path, await resp.text())
                text = await resp.text()
            content = response_spec(spec, path, method, status).get("content")
            if text and content is not None and path != "/api/sendText":
                schema = content["application/json"]["schema"]
                assert_valid(json.loads(text), schema, components, f"{method} {path}")
        poll_id = profiled.talk_state()["polls"][0]["message_id"]
        mine = await profiled.send_from_phone("default", chat_id=group, body="g")
        await profiled.emit_reaction(
            "default", message_id=mine["id"], reaction="❤️", participant=bob
        )
        await profiled.emit_reaction("default", message_id=incoming["id"], reaction="")
        await profiled.emit_poll_vote("default", poll_id=poll_id, options=["A"])
        expected = 3
        if profiled.profile.emits_poll_vote_failed:
            await profiled.emit_poll_vote("default", poll_id=poll_id, options=[], failed=True)
            expected += 1
        envelopes = [await ws.receive_json(timeout=2) for _ in range(expected)]
    schemas = {
        "message.reaction": "WAHAWebhookMessageReaction",
        "poll.vote": "WAHAWebhookPollVote",
        "poll.vote.failed": "WAHAWebhookPollVoteFailed",
    }
    for envelope in envelopes:
        payload = envelope["payload"]
        target = payload if envelope["event"] == "message.reaction" else payload["vote"]
        absent = {"to", "participant"} - set(target)
        name = "WAMessageReaction" if envelope["event"] == "message.reaction" else "PollVote"
        relaxed = _absent_keys_allowed(name, absent & {"to", "participant"}, components)
        if target.get("selectedOptions") is None and "selectedOptions" in target:
            # GOWS' poll.vote.failed: `selectedOptions: null` (toPollVotePayload).
            relaxed["schemas"]["PollVote"]["properties"]["selectedOptions"] = {}
        ref = {"$ref": f"#/components/schemas/{schemas[envelope['event']]}"}
        assert_valid(envelope, ref, relaxed, envelope["event"])


# ------------------------------------------------------------------ files and locations


@pytest.mark.parametrize("profiled", PROFILES, indirect=True)
async def test_location_and_media_requests_and_messages_match_schemas(
    profiled: BridgeDouble,
    http: aiohttp.ClientSession,
    spec: dict[str, Any],
    components: dict[str, Any],
) -> None:
    """sendLocation and the media sends' base64 bodies; file and location messages."""
    chat = "4917612345678@c.us"
    await until_working(profiled)
    location = {
        "session": "default",
        "chatId": chat,
        "latitude": 52.52,
        "longitude": 13.405,
        "title": "Home",
    }
    assert_valid(location, _request_schema(spec, "/api/sendLocation", "POST"), components, "loc")
    async with http.post(profiled.url + "/api/sendLocation", json=location) as resp:
        assert resp.status == 201
    data = base64.b64encode(b"\xff\xd8\xff\xe0 jpeg").decode()
    VOICE = "audio/ogg; codecs=opus"  # noqa: N806
    bodies = {
        "sendImage": {"file": {"mimetype": "image/jpeg", "data": data}, "caption": "c"},
        "sendFile": {"file": {"mimetype": "application/pdf", "filename": "a.pdf", "data": data}},
        "sendVoice": {
            "file": {"mimetype": VOICE, "filename": "v.ogg", "data": data},
            "convert": False,
        },
        "sendVideo": {
            "file": {"mimetype": "video/mp4", "filename": "v.mp4", "data": data},
            "convert": True,
        },
    }
    # Voice/VideoBinaryFile say `mimetype: object` (a class default without a type): a string;
    # they list `filename` as required (it has a default in WAHA's class; the double does not
    # require it).
    fixed = copy.deepcopy(components)
    for name in ("VoiceBinaryFile", "VideoBinaryFile"):
        for field in ("mimetype", "filename"):
            fixed["schemas"][name]["properties"][field] = {"type": "string"}
    for route, extra in bodies.items():
        body = {"session": "default", "chatId": chat, **extra}
        assert_valid(body, _request_schema(spec, f"/api/{route}", "POST"), fixed, route)
        async with http.post(f"{profiled.url}/api/{route}", json=body) as resp:
            assert resp.status in ({201} if profiled.profile.media_sending else {422, 501})
    file_message = await profiled.emit_message(
        "default", chat_id=chat, body="", media=b"OggS", mimetype="audio/ogg; codecs=opus"
    )
    place = {"latitude": 1.5, "longitude": 2.5, "name": "Here"}
    location_message = await profiled.emit_message("default", chat_id=chat, body="", location=place)
    failed = await profiled.emit_message(
        "default", chat_id=chat, body="", mimetype="image/jpeg", media_error="gone"
    )
    relaxed = _absent_keys_allowed("WAMessage", {"to", "participant", "body"}, components)
    if profiled.engine == "WEBJS":  # whatsapp-web.js' coordinates are numbers
        for field in ("latitude", "longitude"):
            relaxed["schemas"]["WALocation"]["properties"][field] = {"type": "number"}
    # A failed download leaves `media.url` null, `filename` is null but for documents
    # (MediaManager.processMedia); NOWEB's body is `body || null` (toWAMessage).
    for field in ("url", "filename"):
        relaxed["schemas"]["WAMedia"]["properties"][field] = {"type": ["string", "null"]}
    relaxed["schemas"]["WAMessage"]["properties"]["body"] = {"type": ["string", "null"]}
    ref = {"$ref": "#/components/schemas/WAMessage"}
    for message in (file_message, location_message, failed):
        assert_valid(message, ref, relaxed, f"{profiled.profile} file/location message")
    own = profiled.session("default").history[chat]
    for message in own:
        assert_valid(message, ref, relaxed, "own message")
