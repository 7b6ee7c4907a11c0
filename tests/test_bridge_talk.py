"""Talking back through the bridge: replies, polls, reactions, read marks, typing.

Payload shapes are the ones WAHA 2026.2.1 builds per engine (`core/engines/*/session.*.core.ts`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus as DoubleStatus
from custom_components.whatsapp_gateway.bridge import (
    DEFAULT_STREAM_EVENTS,
    BridgeCapabilities,
    Me,
    WahaClient,
    WahaNotImplementedError,
    WahaResponseError,
    WahaRouteMissingError,
    WaMessage,
    WaPollVote,
    WaReaction,
    bare_message_id,
)

ME = "491511234567@c.us"
ME_LID = "123456789012345@lid"
BOB = "491700000001@c.us"
GROUP = "120363000000000000@g.us"


def test_stream_events_cover_talking() -> None:
    assert set(DEFAULT_STREAM_EVENTS) == {
        "session.status",
        "message.any",
        "message.reaction",
        "poll.vote",
        "poll.vote.failed",
    }


def test_me_reports_its_lid() -> None:
    me = Me.parse({"id": ME, "pushName": "Alice", "lid": ME_LID, "jid": "x"})
    assert me is not None
    assert me.lid == ME_LID
    webjs = Me.parse({"id": ME, "pushName": "Alice"})
    assert webjs is not None
    assert webjs.lid is None


@pytest.mark.parametrize(
    "reply_to",
    [
        {"id": "3EB0ABC", "participant": BOB, "body": "hi", "_data": {}},  # GOWS / NOWEB
        {"id": "3EB0ABC", "participant": BOB, "body": None},  # WEBJS (quotedMsg.id.id)
    ],
)
def test_message_reply_to(reply_to: dict[str, Any]) -> None:
    message = WaMessage.parse(
        {"id": f"false_{BOB}_XYZ", "from": BOB, "fromMe": False, "replyTo": reply_to}
    )
    assert message.reply_to == "3EB0ABC"
    assert bare_message_id(f"true_{BOB}_3EB0ABC") == "3EB0ABC"
    assert bare_message_id(f"false_{GROUP}_3EB0ABC_{BOB}") == "3EB0ABC"
    assert bare_message_id("3EB0ABC") == "3EB0ABC"


def test_message_without_reply() -> None:
    message = WaMessage.parse({"id": f"false_{BOB}_XYZ", "from": BOB, "replyTo": None})
    assert message.reply_to is None


def _reaction(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": f"false_{BOB}_R1",
        "timestamp": 1_767_000_000,
        "from": BOB,
        "fromMe": False,
        "source": "app",
        "to": None,
        "participant": None,
        "reaction": {"text": "👍", "messageId": f"true_{BOB}_M1"},
    }
    payload.update(overrides)
    return payload


@pytest.mark.parametrize("chat_in_from", [True, False, None])
def test_reaction_in_a_direct_chat(chat_in_from: bool | None) -> None:
    reaction = WaReaction.parse(_reaction(), own_chat_in_from=chat_in_from)
    assert reaction == WaReaction(
        id=f"false_{BOB}_R1",
        message_id=f"true_{BOB}_M1",
        chat_id=BOB,
        sender=BOB,
        from_me=False,
        reaction="👍",
        timestamp=1_767_000_000.0,
    )


def test_reaction_webjs_group_and_removal() -> None:
    # WEBJS: `from` is the reactor, `to` the chat, the id names the chat too.
    payload = _reaction(
        id=f"false_{GROUP}_R2_{BOB}",
        **{"from": BOB, "to": GROUP, "participant": BOB},
        reaction={"text": "", "messageId": f"true_{GROUP}_M1_{ME}"},
    )
    reaction = WaReaction.parse(payload, own_chat_in_from=False)
    assert (reaction.chat_id, reaction.sender, reaction.reaction) == (GROUP, BOB, "")


def test_reaction_gows_group_without_serialized_id() -> None:
    payload = _reaction(id="R3", **{"from": GROUP, "to": BOB, "participant": BOB})
    reaction = WaReaction.parse(payload, own_chat_in_from=True)
    assert (reaction.chat_id, reaction.sender) == (GROUP, BOB)


def test_own_reaction_sender_is_the_chat() -> None:
    payload = _reaction(id=f"true_{GROUP}_R4_{ME}", fromMe=True, participant=ME)
    reaction = WaReaction.parse(payload)
    assert (reaction.chat_id, reaction.sender, reaction.from_me) == (GROUP, GROUP, True)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"id": "x"},
        _reaction(reaction="👍"),
        _reaction(reaction={"text": "👍"}),
        _reaction(id=None),
        _reaction(id="bare", **{"from": None}, reaction={"text": "x", "messageId": "bare"}),
    ],
)
def test_unreadable_reactions(payload: object) -> None:
    with pytest.raises(WahaResponseError):
        WaReaction.parse(payload)


def _vote(**vote: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"false_{BOB}_V1",
        "from": BOB,
        "to": None,
        "fromMe": False,
        "participant": None,
        "selectedOptions": ["Yes"],
        "timestamp": 1_767_000_000_123,
    }
    base.update(vote)
    return {
        "vote": base,
        "poll": {"id": f"true_{BOB}_P1", "from": ME, "to": BOB, "fromMe": True},
        "_data": {},
    }


def test_poll_vote_gows_direct() -> None:
    vote = WaPollVote.parse(_vote(), own_chat_in_from=True)
    assert vote == WaPollVote(
        poll_id=f"true_{BOB}_P1",
        chat_id=BOB,
        sender=BOB,
        from_me=False,
        options=("Yes",),
        timestamp=1_767_000_000.123,
        failed=False,
    )


def test_poll_vote_noweb_says_me() -> None:
    # NOWEB `getDestination` without me: `to` is the literal "me" in a direct chat.
    vote = WaPollVote.parse(_vote(id="V2", to="me"), own_chat_in_from=True)
    assert vote.chat_id == BOB


def test_poll_vote_webjs_group_multiple() -> None:
    payload = _vote(
        id=f"false_{GROUP}_P1_{BOB}",
        **{"from": BOB, "to": GROUP, "participant": BOB},
        selectedOptions=["A", "C", 3, ""],
    )
    vote = WaPollVote.parse(payload, own_chat_in_from=False)
    assert (vote.chat_id, vote.sender, vote.options) == (GROUP, BOB, ("A", "C"))


def test_poll_vote_failed() -> None:
    vote = WaPollVote.parse(_vote(selectedOptions=None), failed=True)
    assert (vote.failed, vote.options) == (True, ())


@pytest.mark.parametrize(
    "payload",
    [None, {"vote": {}}, {"poll": {"id": "x"}}, {"vote": {"from": BOB}, "poll": {}}],
)
def test_unreadable_poll_votes(payload: object) -> None:
    with pytest.raises(WahaResponseError):
        WaPollVote.parse(payload)


@pytest.mark.parametrize("engine", ["GOWS", "NOWEB", "WEBJS"])
@pytest.mark.parametrize("edition", ["CORE", "PLUS"])
def test_capabilities_talk_on_every_engine(engine: str, edition: str) -> None:
    caps = BridgeCapabilities(engine=engine, version="2026.2.1", edition=edition)
    features = caps.as_dict()["features"]
    for name in ("reactions", "polls", "poll_votes", "typing", "mark_read", "replies"):
        assert features[name] is True, name
    assert caps.as_dict()["features_refused"] == []


def test_capabilities_unknown_engine_and_refusals() -> None:
    unknown = BridgeCapabilities()
    assert unknown.reactions is None
    assert unknown.poll_votes is None
    refused = BridgeCapabilities(engine="WPP").refusing("polls")
    assert refused.polls is False
    assert refused.poll_votes is False
    assert refused.reactions is None
    assert refused.refusing("polls") is refused
    assert refused.as_dict()["features_refused"] == ["polls"]


def test_client_parses_by_engine() -> None:
    client = WahaClient(None, "http://127.0.0.1:1", "k")  # type: ignore[arg-type]
    client.capabilities = BridgeCapabilities(engine="WEBJS")
    reaction = client.parse_reaction(_reaction(id="R9", **{"from": BOB, "to": "491700000002@c.us"}))
    assert reaction.chat_id == "491700000002@c.us"
    assert client.parse_poll_vote(_vote(), failed=True).failed is True


# ------------------------------------------------------------- against the double

TALK_PROFILES = ["GOWS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE", "WEBJS-2026.7.1-PLUS"]
CHAT = "4917612345678@c.us"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(params=TALK_PROFILES)
async def talking(request: pytest.FixtureRequest) -> AsyncIterator[BridgeDouble]:
    double = BridgeDouble(api_key="k", profile=BridgeProfile.parse(request.param))
    double.add_session("default", status=DoubleStatus.WORKING, paired=True, me_id=ME)
    await double.start()
    try:
        yield double
    finally:
        await double.stop()


@pytest.mark.usefixtures("socket_enabled")
async def test_client_talks_to_every_engine(
    http: aiohttp.ClientSession, talking: BridgeDouble
) -> None:
    client = WahaClient(http, talking.url, "k")
    await client.version()
    await client.get_session("default")
    incoming = await talking.emit_message("default", chat_id=CHAT, body="hi")
    sent = await client.send_text("default", CHAT, "answer", reply_to=incoming["id"])
    assert sent == talking.session("default").sent[-1]["message_id"]
    assert talking.session("default").sent[-1]["reply_to"] == incoming["id"]
    poll_id = await client.send_poll(
        "default", CHAT, "Lights?", ("On", "Off"), multiple_answers=True, reply_to=incoming["id"]
    )
    state = talking.talk_state()
    assert poll_id == state["polls"][0]["message_id"]
    assert (state["polls"][0]["options"], state["polls"][0]["multiple"]) == (["On", "Off"], True)
    await client.react("default", incoming["id"], "👍")
    await client.react("default", incoming["id"], "")
    await client.send_seen("default", CHAT, message_ids=[incoming["id"]])
    await client.send_seen("default", CHAT)
    await client.start_typing("default", CHAT)
    assert talking.talk_state()["typing"] == {CHAT: True}
    await client.stop_typing("default", CHAT)
    state = talking.talk_state()
    assert [r["reaction"] for r in state["reactions"]] == ["👍", ""]
    assert state["seen"][0] == {"chat_id": CHAT, "message_ids": [incoming["id"]]}
    assert state["typing"] == {CHAT: False}
    features = client.capabilities.as_dict()["features"]
    assert all(features[name] for name in ("reactions", "polls", "typing", "mark_read"))

    # A contact's reaction and vote, as the engine sends them, read by the client.
    reaction = client.parse_reaction(
        await talking.emit_reaction("default", message_id=sent, reaction="❤️")
    )
    assert (reaction.message_id, reaction.chat_id, reaction.sender) == (sent, CHAT, CHAT)
    assert reaction.reaction == "❤️"
    payload = await talking.emit_poll_vote("default", poll_id=poll_id, options=["Off"])
    vote = client.parse_poll_vote(payload)
    assert (vote.poll_id, vote.chat_id, vote.sender, vote.options) == (
        poll_id,
        CHAT,
        CHAT,
        ("Off",),
    )
    quoting = await talking.emit_message("default", chat_id=CHAT, body="yes", reply_to=sent)
    assert client.parse_message(quoting).reply_to == bare_message_id(sent)


@pytest.mark.usefixtures("socket_enabled")
async def test_refusals_switch_features_off(
    http: aiohttp.ClientSession, talking: BridgeDouble
) -> None:
    client = WahaClient(http, talking.url, "k")
    await client.get_session("default")
    talking.refuse_calls(["reaction", "sendPoll", "sendSeen", "startTyping"])
    with pytest.raises(WahaNotImplementedError):
        await client.react("default", f"false_{CHAT}_3EB0AB", "👍")
    with pytest.raises(WahaNotImplementedError):
        await client.send_poll("default", CHAT, "Q", ["a", "b"])
    with pytest.raises(WahaNotImplementedError):
        await client.send_seen("default", CHAT)
    with pytest.raises(WahaNotImplementedError):
        await client.start_typing("default", CHAT)
    caps = client.capabilities
    assert (caps.reactions, caps.polls, caps.poll_votes, caps.mark_read, caps.typing) == (
        False,
        False,
        False,
        False,
        False,
    )
    assert caps.replies is True
    # A bare id is no message id: the engine fails (500), nothing is switched off.
    talking.refuse_calls()
    fresh = WahaClient(http, talking.url, "k")
    with pytest.raises(WahaResponseError) as err:
        await fresh.react("default", "3EB0AB", "👍")
    assert err.value.status == 500
    assert fresh.capabilities.features_refused == frozenset()


@pytest.mark.usefixtures("socket_enabled")
async def test_missing_route_switches_off(http: aiohttp.ClientSession) -> None:
    """An older or other bridge without the route: NestJS' 404 "Cannot POST ..."."""

    async def handler(request: web.Request) -> web.Response:
        body = {"message": f"Cannot POST {request.path}", "error": "Not Found", "statusCode": 404}
        return web.json_response(body, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        client = WahaClient(http, f"http://127.0.0.1:{runner.addresses[0][1]}", "k")
        client.capabilities = BridgeCapabilities(engine="GOWS")
        with pytest.raises(WahaRouteMissingError):
            await client.stop_typing("default", CHAT)
        with pytest.raises(WahaRouteMissingError):
            await client.send_seen("default", CHAT, message_ids=["x"])
        assert client.capabilities.features_refused == {"typing", "mark_read"}
        assert client.capabilities.polls is True
    finally:
        await runner.cleanup()
