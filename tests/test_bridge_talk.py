"""Talking back through the bridge: replies, polls, reactions, read marks, typing.

Payload shapes are the ones WAHA 2026.2.1 builds per engine (`core/engines/*/session.*.core.ts`).
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.whatsapp_gateway.bridge import (
    DEFAULT_STREAM_EVENTS,
    BridgeCapabilities,
    Me,
    WahaClient,
    WahaResponseError,
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
