"""The `ask` action end to end: a question goes out, the first answer comes back.

Real sockets to the bridge double (its profile decides whether polls work); frozen time
moves the timeouts, the reconnect backoff and the outgoing queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import logging
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceResponse
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus
from custom_components.whatsapp_gateway.ask import matching_option, numbered
from custom_components.whatsapp_gateway.const import (
    CONF_ALLOWED_SENDERS,
    CONF_SELF_CHAT,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_POLL_VOTE,
)

from .conftest import API_KEY, ME_ID, PUSH_NAME, SESSION
from .helpers import (
    CONNECTED,
    advance,
    go_offline,
    settle,
    setup_connected,
    unload,
    wait_for,
    wait_for_state,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

BOB = "4917612345678@c.us"
CAROL = "4917687654321@c.us"
GROUP = "120363025246125486@g.us"
ME_LID = "99988877766655@lid"
QUESTION = "Close the garage door?"
OPTIONS = ["Yes", "No"]


@pytest.fixture
async def bridge(
    socket_enabled: None, request: pytest.FixtureRequest
) -> AsyncGenerator[BridgeDouble]:
    """The bridge double, playing the profile a test names (default GOWS 2026.7.1 Core)."""
    profile = getattr(request, "param", None)
    double = BridgeDouble(
        api_key=API_KEY, profile=BridgeProfile.parse(profile) if profile else BridgeProfile()
    )
    double.add_session(
        SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    await double.start()
    yield double
    await double.stop()


def ask(
    hass: HomeAssistant, entry: MockConfigEntry, target: str, **data: Any
) -> asyncio.Task[ServiceResponse]:
    """Call the action in a task: it returns only when the answer (or the timeout) comes.

    Not a task of Home Assistant's: `async_block_till_done` (in `settle`) would wait for it.
    """
    return hass.loop.create_task(
        hass.services.async_call(
            DOMAIN,
            "ask",
            {"config_entry_id": entry.entry_id, "target": target, "question": QUESTION, **data},
            blocking=True,
            return_response=True,
        )
    )


def sent(bridge: BridgeDouble) -> list[dict[str, Any]]:
    return list(bridge.session(SESSION).sent)


async def question_out(bridge: BridgeDouble, count: int = 1) -> dict[str, Any]:
    """Wait until `count` questions went out; the last one's send record."""
    await wait_for(lambda: len(sent(bridge)) >= count)
    return sent(bridge)[count - 1]


def answer(
    message_id: str | None,
    text: str | None = None,
    option: str | None = None,
    sender: str | None = BOB,
) -> dict[str, Any]:
    return {
        "answer": text,
        "option": option,
        "sender": sender,
        "message_id": message_id,
        "timed_out": False,
    }


def timed_out(message_id: str | None) -> dict[str, Any]:
    return {
        "answer": None,
        "option": None,
        "sender": None,
        "message_id": message_id,
        "timed_out": True,
    }


async def test_a_text_answer_in_a_direct_chat_is_returned_and_still_fires_its_event(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    call = ask(hass, config_entry, "+49 176 12345678")
    question = await question_out(bridge)
    assert (question["kind"], question["chat_id"], question["text"]) == ("text", BOB, QUESTION)
    # Written a minute before the question went out (the bridge delivers it late): not an answer.
    await bridge.emit_message(SESSION, chat_id=BOB, body="old news", timestamp=_now() - 60)
    # Another chat, a group message from Bob, a photo without a caption: not answers either.
    await bridge.emit_message(SESSION, chat_id=CAROL, body="me?")
    await bridge.emit_message(SESSION, chat_id=GROUP, body="in the group", participant=BOB)
    await bridge.emit_message(SESSION, chat_id=BOB, body="", has_media=True)
    reply = await bridge.emit_message(SESSION, chat_id=BOB, body="Only if it rains")
    assert await call == answer(question["message_id"], "Only if it rains")
    await wait_for(lambda: len(events) == 5)
    assert events[-1].data["message_id"] == reply["id"]
    assert events[-1].data["text"] == "Only if it rains"
    # Neither the question nor the answer nor a number shows in the log.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("custom_comp"))
    for secret in (QUESTION, "Only if it rains", "4917612345678", "12345678"):
        assert secret not in logged


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("1", "Yes"),
        (" 2 ", "No"),
        ("2.", "No"),
        ("yES", "Yes"),
        ("  no ", "No"),
        ("maybe later", None),
        ("3", None),
        ("0", None),
    ],
)
def test_a_text_answer_names_an_option_by_number_or_by_text(text: str, option: str | None) -> None:
    assert matching_option(text, OPTIONS) == option


async def test_text_answers_match_options_by_number_or_text_on_a_bridge_without_polls(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    client = config_entry.runtime_data.client
    # The engine answered a poll with 501 before: polls are off for this bridge.
    client.capabilities = client.capabilities.refusing("polls")
    replies = [("2.", "No"), (" YES ", "Yes"), ("perhaps", None)]
    for count, (text, option) in enumerate(replies, start=1):
        call = ask(hass, config_entry, BOB, options=OPTIONS)
        question = await question_out(bridge, count)
        assert question["kind"] == "text"
        assert question["text"] == numbered(QUESTION, OPTIONS) == f"{QUESTION}\n1. Yes\n2. No"
        await bridge.emit_message(SESSION, chat_id=BOB, body=text)
        assert await call == answer(question["message_id"], text, option)


@pytest.mark.parametrize(
    "bridge", ["GOWS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE", "WEBJS-2026.7.1-CORE"], indirect=True
)
async def test_a_poll_vote_answers_a_question_sent_as_a_poll(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    votes = async_capture_events(hass, EVENT_POLL_VOTE)
    await setup_connected(hass, config_entry)
    call = ask(hass, config_entry, BOB, options=["Now", "Later", "Never"])
    poll = await question_out(bridge)
    assert (poll["kind"], poll["question"], poll["options"]) == (
        "poll",
        QUESTION,
        ["Now", "Later", "Never"],
    )
    # A vote taken back (nothing chosen) and one the bridge could not read do not count.
    await bridge.emit_poll_vote(SESSION, poll_id=poll["message_id"], options=[])
    await bridge.emit_poll_vote(SESSION, poll_id=poll["message_id"], options=["Now"], failed=True)
    await bridge.emit_poll_vote(SESSION, poll_id=poll["message_id"], options=["Later", "Now"])
    result = await call
    assert result == answer(result["message_id"], "Later, Now", "Later")
    assert result["message_id"] == poll["message_id"] or poll["key"] in result["message_id"]
    await wait_for(lambda: len(votes) == 2)
    assert votes[-1].data["options"] == ["Later", "Now"]


async def test_in_a_group_only_a_reply_quoting_the_question_or_a_vote_answers(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    call = ask(hass, config_entry, GROUP)
    question = await question_out(bridge)
    earlier = await bridge.emit_message(SESSION, chat_id=GROUP, body="hello", participant=CAROL)
    await bridge.emit_message(SESSION, chat_id=GROUP, body="yes", participant=CAROL)
    await bridge.emit_message(
        SESSION, chat_id=GROUP, body="quoting another", participant=CAROL, reply_to=earlier["id"]
    )
    await bridge.emit_message(
        SESSION, chat_id=BOB, body="quoting elsewhere", reply_to=question["message_id"]
    )
    await wait_for(lambda: len(events) == 4)
    assert not call.done()
    await bridge.emit_message(
        SESSION, chat_id=GROUP, body="No", participant=BOB, reply_to=question["message_id"]
    )
    assert await call == answer(question["message_id"], "No")
    # As a poll: any member's vote answers it.
    call = ask(hass, config_entry, GROUP, options=OPTIONS)
    poll = await question_out(bridge, 2)
    assert poll["kind"] == "poll"
    await settle(hass)
    await bridge.emit_poll_vote(
        SESSION, poll_id=question["message_id"], options=["Yes"], participant=CAROL
    )
    await bridge.emit_poll_vote(
        SESSION, poll_id=poll["message_id"], options=["Yes"], participant=CAROL
    )
    assert await call == answer(poll["message_id"], "Yes", "Yes", sender=CAROL)


async def test_no_answer_in_time_returns_timed_out_with_the_question_id(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    call = ask(hass, config_entry, BOB, options=OPTIONS, timeout=60)
    poll = await question_out(bridge)
    await advance(hass, freezer, 59)
    assert not call.done()
    await advance(hass, freezer, 1)
    assert await call == timed_out(poll["message_id"])
    # A late answer is an ordinary message again.
    await bridge.emit_message(SESSION, chat_id=BOB, body="1")
    await wait_for(lambda: len(events) == 1)


async def test_an_answer_that_comes_through_the_backfill_after_a_drop_counts(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    call = ask(hass, config_entry, BOB, options=OPTIONS)
    poll = await question_out(bridge)
    bridge.cut_streams()
    await wait_for_state(hass, CONNECTED, "off")
    freezer.tick(1)
    # The bridge stores Bob's answers while nobody listens: only its history has them.
    await bridge.emit_message(SESSION, chat_id=BOB, body="no")
    await bridge.emit_message(SESSION, chat_id=BOB, body="definitely not")
    assert not call.done()
    await advance(hass, freezer, 2)
    await wait_for_state(hass, CONNECTED, "on")
    # The first one answers; both fire their events.
    assert await call == answer(poll["message_id"], "no", "No")
    await wait_for(lambda: len(events) == 2)
    assert [e.data["buffered"] for e in events] == [True, True]


async def test_a_question_queued_while_offline_waits_for_its_answer_after_it_went_out(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.blip(SESSION)
    await wait_for_state(hass, CONNECTED, "off")
    call = ask(hass, config_entry, BOB, timeout=120)
    await settle(hass)
    assert sent(bridge) == []
    # Written while the question waits in the queue: Bob has not seen it, not an answer.
    await bridge.emit_message(SESSION, chat_id=BOB, body="unrelated")
    freezer.tick(30)
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")
    question = await question_out(bridge)
    # The wait for its answer starts when the bridge said it sent it (the sent event).
    await settle(hass)
    await bridge.emit_message(SESSION, chat_id=BOB, body="sure")
    assert await call == answer(question["message_id"], "sure")


async def test_a_queued_question_the_bridge_refuses_ends_the_wait(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    await bridge.blip(SESSION)
    await wait_for_state(hass, CONNECTED, "off")
    call = ask(hass, config_entry, BOB, timeout=3600)
    await settle(hass)
    bridge.fail_sends(status=400)
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")
    await wait_for(call.done)
    assert await call == timed_out(None)


async def test_a_question_the_bridge_rejects_fails_the_call(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    bridge.fail_sends(status=400)
    with pytest.raises(HomeAssistantError) as raised:
        await ask(hass, config_entry, BOB)
    assert raised.value.translation_key == "send_rejected"
    # The chat is free again.
    call = ask(hass, config_entry, BOB)
    question = await question_out(bridge)
    await bridge.emit_message(SESSION, chat_id=BOB, body="ok")
    assert await call == answer(question["message_id"], "ok")


async def test_a_queued_poll_refused_when_it_goes_out_is_asked_again_as_text(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    call = ask(hass, config_entry, BOB, options=OPTIONS)
    await settle(hass)
    # Meanwhile the bridge turned out to lack polls (another poll was answered with 501).
    client = config_entry.runtime_data.client
    client.capabilities = client.capabilities.refusing("polls")
    bridge.fail_requests("POST", "/api/sendPoll", status=400)
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")
    question = await question_out(bridge)
    assert (question["kind"], question["text"]) == ("text", numbered(QUESTION, OPTIONS))
    await settle(hass)
    await bridge.emit_message(SESSION, chat_id=BOB, body="1")
    assert await call == answer(question["message_id"], "1", "Yes")


async def test_a_queued_poll_asked_again_as_text_and_rejected_fails_the_call(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    call = ask(hass, config_entry, BOB, options=OPTIONS)
    await settle(hass)
    client = config_entry.runtime_data.client
    client.capabilities = client.capabilities.refusing("polls")
    bridge.fail_requests("POST", "/api/sendPoll", status=400)
    bridge.fail_sends(status=400)
    await bridge.end_blip(SESSION)
    with pytest.raises(HomeAssistantError) as raised:
        await call
    assert raised.value.translation_key == "send_rejected"
    assert sent(bridge) == []


async def test_a_failed_queued_message_that_is_no_question_is_left_alone(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    await go_offline(hass, bridge)
    note = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": config_entry.entry_id, "target": CAROL, "message": "note"},
        blocking=True,
        return_response=True,
    )
    assert note is not None
    assert note["status"] == "queued"
    call = ask(hass, config_entry, BOB)
    await settle(hass)
    bridge.fail_sends(status=400)
    await bridge.end_blip(SESSION)
    await wait_for_state(hass, CONNECTED, "on")
    question = await question_out(bridge)
    assert question["chat_id"] == BOB
    await settle(hass)
    await bridge.emit_message(SESSION, chat_id=BOB, body="ok")
    assert await call == answer(question["message_id"], "ok")


async def test_asks_to_two_chats_wait_side_by_side(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    to_bob = ask(hass, config_entry, BOB)
    to_carol = ask(hass, config_entry, CAROL)
    await question_out(bridge, 2)
    questions = {record["chat_id"]: record["message_id"] for record in sent(bridge)}
    await bridge.emit_message(SESSION, chat_id=CAROL, body="carol here")
    assert await to_carol == answer(questions[CAROL], "carol here", sender=CAROL)
    assert not to_bob.done()
    await bridge.emit_message(SESSION, chat_id=BOB, body="bob here")
    assert await to_bob == answer(questions[BOB], "bob here")


async def test_two_asks_to_one_chat_go_out_one_after_the_other_and_map_in_order(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    first = ask(hass, config_entry, BOB, question="Lights off?")
    first_question = await question_out(bridge)
    second = ask(hass, config_entry, BOB, question="Heating on?")
    await settle(hass)
    assert [record["text"] for record in sent(bridge)] == ["Lights off?"]
    await bridge.emit_message(SESSION, chat_id=BOB, body="lights: yes")
    assert await first == answer(first_question["message_id"], "lights: yes")
    second_question = await question_out(bridge, 2)
    assert second_question["text"] == "Heating on?"
    await bridge.emit_message(SESSION, chat_id=BOB, body="heating: no")
    assert await second == answer(second_question["message_id"], "heating: no")


async def test_the_timeout_covers_the_wait_for_an_earlier_question_to_the_same_chat(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    first = ask(hass, config_entry, BOB, timeout=100)
    question = await question_out(bridge)
    second = ask(hass, config_entry, BOB, timeout=50)
    third = ask(hass, config_entry, BOB, timeout=300)
    await advance(hass, freezer, 50)
    # Its turn never came: never sent.
    assert await second == timed_out(None)
    assert len(sent(bridge)) == 1
    await advance(hass, freezer, 50)
    assert await first == timed_out(question["message_id"])
    # The third goes out once the first is over.
    third_question = await question_out(bridge, 2)
    await bridge.emit_message(SESSION, chat_id=BOB, body="finally")
    assert await third == answer(third_question["message_id"], "finally")


async def test_whom_you_asked_may_answer_though_not_on_allowed_senders(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    hass.config_entries.async_update_entry(config_entry, options={CONF_ALLOWED_SENDERS: [CAROL]})
    await setup_connected(hass, config_entry)
    call = ask(hass, config_entry, BOB)
    question = await question_out(bridge)
    await bridge.emit_message(SESSION, chat_id=BOB, body="Yes please")
    assert await call == answer(question["message_id"], "Yes please")
    # The answer fires its event; Bob's next message is refused by the policy as before.
    await bridge.emit_message(SESSION, chat_id=BOB, body="and another thing")
    await bridge.emit_message(SESSION, chat_id=CAROL, body="listed")
    await wait_for(lambda: len(events) == 2)
    await settle(hass)
    assert [e.data["text"] for e in events] == ["Yes please", "listed"]


async def test_your_self_chat_can_be_asked_and_your_own_answer_counts_there_only(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.set_me_lid(SESSION, ME_LID)
    hass.config_entries.async_update_entry(config_entry, options={CONF_SELF_CHAT: True})
    await setup_connected(hass, config_entry)
    call = ask(hass, config_entry, ME_ID, options=OPTIONS)
    poll = await question_out(bridge)
    # Your own vote in another chat's poll is not the answer (own actions count in self chat).
    to_bob = ask(hass, config_entry, BOB, options=OPTIONS)
    bob_poll = await question_out(bridge, 2)
    payload = bridge.profile.poll_vote_event(
        chat_id=BOB,
        poll_id=bob_poll["message_id"],
        vote_key="3EB0OWNVOTE",
        voter=ME_ID,
        me_id=ME_ID,
        options=["Yes"],
        timestamp_s=_now(),
    )
    payload["vote"]["fromMe"] = True
    await bridge.send_event("poll.vote", payload)
    await settle(hass)
    assert not to_bob.done()
    # You write in your own chat (addressed by your @lid on GOWS): that answers.
    await bridge.write_in_self_chat("2")
    result = await call
    assert result == answer(poll["message_id"], "2", "No", sender=result["sender"])
    assert result["sender"] in (ME_ID, ME_LID)
    to_bob.cancel()


async def test_unloading_ends_the_waits_as_timed_out(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    questions = config_entry.runtime_data.questions
    first = ask(hass, config_entry, BOB)
    question = await question_out(bridge)
    waiting = ask(hass, config_entry, BOB)
    await settle(hass)
    await unload(hass, config_entry)
    assert await first == timed_out(question["message_id"])
    assert await waiting == timed_out(None)
    assert len(sent(bridge)) == 1
    # A call that reaches the questions after the unload does not send anything.
    assert await questions.async_ask(BOB, QUESTION, None, timeout=10) == timed_out(None)


async def test_a_cancelled_call_lets_the_next_question_to_the_chat_go_out(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    first = ask(hass, config_entry, BOB)
    await question_out(bridge)
    second = ask(hass, config_entry, BOB)
    await settle(hass)
    first.cancel()
    second_question = await question_out(bridge, 2)
    await bridge.emit_message(SESSION, chat_id=BOB, body="hi")
    assert await second == answer(second_question["message_id"], "hi")


async def test_a_refused_poll_is_asked_again_as_numbered_text(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await setup_connected(hass, config_entry)
    bridge.refuse_calls(["sendPoll"])
    call = ask(hass, config_entry, BOB, options=OPTIONS)
    question = await question_out(bridge)
    assert question["kind"] == "text"
    assert question["text"] == numbered(QUESTION, OPTIONS)
    await bridge.emit_message(SESSION, chat_id=BOB, body="1")
    assert await call == answer(question["message_id"], "1", "Yes")


def _now() -> int:
    return int(time.time())
