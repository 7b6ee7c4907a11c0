"""Assist answers over WhatsApp: a conversation agent answers allowed messages as replies.

Real sockets to the bridge double; Home Assistant's own agent for a real light, a stub agent
(registered like any integration's agent) for failures, slow answers and bookkeeping.
Frozen time moves the debounce and typing timers.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
import re
from typing import Any, Literal
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.assist import (
    MAX_WAIT_FACTOR,
    SHUTDOWN_GRACE,
    TYPING_AFTER,
    TYPING_RENEW,
    AgentResponder,
)
from custom_components.whatsapp_gateway.const import (
    CONF_ALLOWED_SENDERS,
    CONF_ANSWER_BUFFERED,
    CONF_CONVERSATION_AGENT,
    CONF_DEBOUNCE,
    CONF_SELF_CHAT,
)

from .conftest import ME_ID, SESSION
from .helpers import CONNECTED, advance, settle, setup_connected, state_of, unload, wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

BOB = "4917612345678@c.us"
CAROL = "4917687654321@c.us"
LOGGER_NAME = "custom_components.whatsapp_gateway"

type Behaviour = Literal["answer", "raise", "error", "empty", "wait", "own_id", "no_id"]


class StubAgent(conversation.AbstractConversationAgent):
    """Answers "re: <text>"; `behaviour` picks a failure; `gate` holds answers back."""

    def __init__(self) -> None:
        self.calls: list[conversation.ConversationInput] = []
        self.behaviour: Behaviour = "answer"
        self.gate = asyncio.Event()
        self.gate.set()

    @property
    def supported_languages(self) -> Literal["*"]:
        return "*"

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        self.calls.append(user_input)
        await self.gate.wait()
        response = intent.IntentResponse(language=user_input.language)
        conversation_id = f"agent-{len(self.calls)}"
        match self.behaviour:
            case "raise":
                raise RuntimeError(f"agent broke on {user_input.text}")
            case "error":
                response.async_set_error(intent.IntentResponseErrorCode.NO_INTENT_MATCH, "no")
            case "empty":
                response.async_set_speech("  ")
            case "own_id":
                conversation_id = user_input.conversation_id or ""
            case "no_id":
                conversation_id = None  # type: ignore[assignment]
            case _:
                pass
        if self.behaviour not in ("error", "empty"):
            response.async_set_speech(f"re: {user_input.text}")
        return conversation.ConversationResult(response=response, conversation_id=conversation_id)

    @property
    def texts(self) -> list[str]:
        return [call.text for call in self.calls]


@pytest.fixture
async def stub_agent(hass: HomeAssistant) -> tuple[StubAgent, str]:
    """A stub agent registered by its own config entry; returns it and its agent id."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    agent_entry = MockConfigEntry(domain="test", title="Stub agent")
    agent_entry.add_to_hass(hass)
    agent = StubAgent()
    conversation.async_set_agent(hass, agent_entry, agent)
    return agent, agent_entry.entry_id


async def talk_entry(
    hass: HomeAssistant, entry: MockConfigEntry, agent_id: str, **options: Any
) -> None:
    hass.config_entries.async_update_entry(
        entry, options={CONF_CONVERSATION_AGENT: agent_id, **options}
    )
    await setup_connected(hass, entry)


def sent(bridge: BridgeDouble) -> list[dict[str, Any]]:
    return list(bridge.session(SESSION).sent)


def texts_sent(bridge: BridgeDouble) -> list[str]:
    return [record["text"] for record in sent(bridge)]


def requests_to(bridge: BridgeDouble, path: str) -> int:
    return bridge.count_requests(path_prefix=path)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER_NAME and r.levelno == logging.WARNING
    ]


def assert_nothing_private_logged(caplog: pytest.LogCaptureFixture, *private: str) -> None:
    for record in caplog.records:
        if record.name.startswith(LOGGER_NAME):
            text = record.getMessage()
            for value in private:
                assert value not in text, f"logged {value!r}: {text}"


async def answered(bridge: BridgeDouble, count: int) -> None:
    await wait_for(lambda: len(sent(bridge)) >= count)


# --------------------------------------------------------------------------------------
# Home Assistant's own agent, a real light


def test_conversations_requirements_are_pinned_for_the_running_release() -> None:
    """The harness installs Home Assistant's core requirements only, not conversation's."""
    root = Path(__file__).parent.parent
    manifest = Path(conversation.__file__).with_name("manifest.json").read_text()
    wanted = re.findall(r'"([\w.-]+==[^"]+)"', manifest)
    assert wanted
    for name in ("requirements_test.txt", "requirements_oldest.txt"):
        text = (root / name).read_text()
        release = re.search(r"Home Assistant (\d{4}\.\d+\.\d+)", text)
        assert release, name
        if release[1] == ha_version:
            pins = set(re.findall(r"^([\w.-]+==\S+)", text, re.MULTILINE))
            assert set(wanted) <= pins, name
            return
    pytest.fail(f"no requirements file pins Home Assistant {ha_version}")


async def test_the_built_in_agent_turns_on_the_light_and_answers_as_a_reply(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "light": [
                        {
                            "name": "Kitchen light",
                            "turn_on": [{"event": "kitchen_light_on"}],
                            "turn_off": [{"event": "kitchen_light_off"}],
                        }
                    ]
                }
            ]
        },
    )
    await hass.async_block_till_done()
    assert state_of(hass, "light.kitchen_light") != "on"
    # The entry sets `conversation` up itself (it is only an after dependency).
    await talk_entry(hass, config_entry, "conversation.home_assistant")
    message = await bridge.emit_message(SESSION, chat_id=BOB, body="turn on the kitchen light")
    await answered(bridge, 1)
    await hass.async_block_till_done()
    assert state_of(hass, "light.kitchen_light") == "on"
    [answer] = sent(bridge)
    assert answer["chat_id"] == BOB
    assert answer["text"]  # the agent's own words ("Turned on the light")
    assert answer["reply_to"] == message["id"]
    assert_nothing_private_logged(caplog, "kitchen", BOB.split("@")[0])


# --------------------------------------------------------------------------------------
# A stub agent


async def test_each_message_is_answered_in_order_with_its_own_conversation(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    first = await bridge.emit_message(SESSION, chat_id=BOB, body="hello")
    await answered(bridge, 1)
    await bridge.emit_message(SESSION, chat_id=CAROL, body="hi")
    await answered(bridge, 2)
    second = await bridge.emit_message(SESSION, chat_id=BOB, body="again")
    await answered(bridge, 3)
    assert [(r["chat_id"], r["text"]) for r in sent(bridge)] == [
        (BOB, "re: hello"),
        (CAROL, "re: hi"),
        (BOB, "re: again"),
    ]
    assert sent(bridge)[0]["reply_to"] == first["id"]
    assert sent(bridge)[2]["reply_to"] == second["id"]
    bob_first, carol_first, bob_second = agent.calls
    # The first turn of a chat: its own id (not a ULID: kept by Home Assistant), no number.
    assert bob_first.conversation_id is not None
    assert carol_first.conversation_id is not None
    assert bob_first.conversation_id.startswith("whatsapp_gateway_")
    assert bob_first.conversation_id != carol_first.conversation_id
    assert "4917612345678" not in bob_first.conversation_id
    # Later turns pass back the id the agent named.
    assert bob_second.conversation_id == "agent-1"
    assert bob_first.agent_id == agent_id
    assert bob_first.device_id is not None
    assert bob_first.language == hass.config.language
    responder: AgentResponder = config_entry.runtime_data.assist
    assert responder.conversation_id(CAROL) == "agent-2"


async def test_an_agent_keeping_the_chats_id_or_naming_none_keeps_the_chats_id(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    responder: AgentResponder = config_entry.runtime_data.assist
    own = responder.conversation_id(BOB)
    for index, behaviour in enumerate(("answer", "no_id", "own_id", "answer", "answer")):
        agent.behaviour = behaviour  # type: ignore[assignment]
        await bridge.emit_message(SESSION, chat_id=BOB, body=f"m{index}")
        await answered(bridge, index + 1)
    assert [call.conversation_id for call in agent.calls] == [
        own,
        "agent-1",  # the id the agent named
        own,  # it named none: the chat's own again
        own,  # it kept the chat's own
        "agent-4",
    ]


async def test_the_named_conversation_ids_are_kept_for_the_latest_chats_only(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
) -> None:
    _agent, agent_id = stub_agent
    with patch("custom_components.whatsapp_gateway.assist.MAX_CONVERSATIONS", 1):
        await talk_entry(hass, config_entry, agent_id)
        responder: AgentResponder = config_entry.runtime_data.assist
        for count, chat in enumerate((BOB, CAROL), start=1):
            await bridge.emit_message(SESSION, chat_id=chat, body="hi")
            await answered(bridge, count)
        assert responder.conversation_id(CAROL) == "agent-2"
        # Bob's named id made room for Carol's: his chat starts from its own id again.
        assert responder.conversation_id(BOB).startswith("whatsapp_gateway_")


async def test_a_chats_next_batch_waits_for_the_answer_before(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    agent.gate.clear()
    await bridge.emit_message(SESSION, chat_id=BOB, body="one")
    await wait_for(lambda: len(agent.calls) == 1)
    await bridge.emit_message(SESSION, chat_id=BOB, body="two")
    await bridge.emit_message(SESSION, chat_id=CAROL, body="other chat")
    await wait_for(lambda: len(agent.calls) == 2)
    await settle(hass)
    # Carol's chat does not wait for Bob's; Bob's second message does.
    assert agent.texts == ["one", "other chat"]
    agent.gate.set()
    await answered(bridge, 3)
    assert agent.texts == ["one", "other chat", "two"]
    assert [r["text"] for r in sent(bridge) if r["chat_id"] == BOB] == ["re: one", "re: two"]


async def test_empty_texts_and_policy_refused_senders_are_not_answered(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id, **{CONF_ALLOWED_SENDERS: [BOB]})
    await bridge.emit_message(SESSION, chat_id=CAROL, body="let me in")
    await bridge.emit_message(SESSION, chat_id=BOB, body="", has_media=True)
    await bridge.emit_message(SESSION, chat_id=BOB, body="allowed")
    await answered(bridge, 1)
    await settle(hass)
    assert agent.texts == ["allowed"]
    assert texts_sent(bridge) == ["re: allowed"]


async def test_agent_failures_send_nothing_and_warn_once_per_kind(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    for behaviour in ("raise", "raise", "error", "error", "empty", "empty"):
        agent.behaviour = behaviour  # type: ignore[assignment]
        calls = len(agent.calls)
        await bridge.emit_message(SESSION, chat_id=BOB, body=f"secret {behaviour}")
        await wait_for(lambda: len(agent.calls) == calls + 1)  # noqa: B023
        await settle(hass)
    assert sent(bridge) == []
    assert warnings(caplog) == [
        f"The conversation agent {agent_id} failed to answer a message (RuntimeError)",
        f"The conversation agent {agent_id} answered a message with an error (no_intent_match)",
        f"The conversation agent {agent_id} gave no answer to a message",
    ]
    assert_nothing_private_logged(caplog, "secret", "4917612345678")
    # A failed turn does not stop the next one.
    agent.behaviour = "answer"
    await bridge.emit_message(SESSION, chat_id=BOB, body="works")
    await answered(bridge, 1)
    assert texts_sent(bridge) == ["re: works"]


async def test_an_agent_that_does_not_exist_answers_nothing_and_warns_once(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await talk_entry(hass, config_entry, "removed_agent_entry")
    await bridge.emit_message(SESSION, chat_id=BOB, body="anyone?")
    await bridge.emit_message(SESSION, chat_id=BOB, body="hello?")
    await settle(hass)
    await settle(hass)
    assert sent(bridge) == []
    assert warnings(caplog) == [
        "The conversation agent removed_agent_entry is not available; messages are not answered"
    ]


async def test_conversation_that_cannot_be_set_up_answers_nothing(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with patch(
        "custom_components.whatsapp_gateway.assist.async_setup_component", return_value=False
    ):
        await talk_entry(hass, config_entry, "conversation.home_assistant")
        await bridge.emit_message(SESSION, chat_id=BOB, body="anyone?")
        await settle(hass)
        await settle(hass)
    assert sent(bridge) == []
    assert len(warnings(caplog)) == 1


async def test_an_answer_that_cannot_be_sent_is_warned_about_once(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    bridge.fail_sends(2, status=400, message="refused")
    await bridge.emit_message(SESSION, chat_id=BOB, body="one")
    await bridge.emit_message(SESSION, chat_id=BOB, body="two")
    await wait_for(lambda: len(agent.calls) == 2)
    await settle(hass)
    assert sent(bridge) == []
    [warning] = warnings(caplog)
    assert warning.startswith("Could not send the agent's answer")
    assert_nothing_private_logged(caplog, "re: one", "re: two")


async def test_a_slow_answer_shows_typing_while_the_agent_thinks(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    # A quick answer costs no typing calls.
    await bridge.emit_message(SESSION, chat_id=BOB, body="quick")
    await answered(bridge, 1)
    await advance(hass, freezer, TYPING_AFTER * 2)
    assert requests_to(bridge, "/api/startTyping") == 0
    assert requests_to(bridge, "/api/stopTyping") == 0

    agent.gate.clear()
    await bridge.emit_message(SESSION, chat_id=BOB, body="slow")
    await wait_for(lambda: len(agent.calls) == 2)
    await advance(hass, freezer, TYPING_AFTER)
    assert requests_to(bridge, "/api/startTyping") == 1
    # Renewed while it thinks (WhatsApp drops the indicator after a while).
    await advance(hass, freezer, TYPING_RENEW)
    assert requests_to(bridge, "/api/startTyping") == 2
    assert requests_to(bridge, "/api/stopTyping") == 0
    assert len(sent(bridge)) == 1
    agent.gate.set()
    await answered(bridge, 2)
    assert requests_to(bridge, "/api/stopTyping") == 1
    paths = [r.path for r in bridge.requests if r.path.startswith(("/api/s", "/api/st"))]
    # Off before the answer goes out.
    assert paths[-2:] == ["/api/stopTyping", "/api/sendText"]
    await advance(hass, freezer, TYPING_RENEW * 2)
    assert requests_to(bridge, "/api/startTyping") == 2


async def test_an_engine_without_typing_is_left_alone(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    bridge.fail_requests("POST", "/api/startTyping", status=501)
    agent.gate.clear()
    await bridge.emit_message(SESSION, chat_id=BOB, body="slow")
    await wait_for(lambda: len(agent.calls) == 1)
    await advance(hass, freezer, TYPING_AFTER)
    assert requests_to(bridge, "/api/startTyping") == 1
    # Refused: not renewed, not switched off, not tried again.
    await advance(hass, freezer, TYPING_RENEW)
    agent.gate.set()
    await answered(bridge, 1)
    agent.gate.clear()
    await bridge.emit_message(SESSION, chat_id=BOB, body="slow again")
    await wait_for(lambda: len(agent.calls) == 2)
    await advance(hass, freezer, TYPING_RENEW)
    agent.gate.set()
    await answered(bridge, 2)
    assert requests_to(bridge, "/api/startTyping") == 1
    assert requests_to(bridge, "/api/stopTyping") == 0


async def test_a_failing_typing_call_does_not_stop_the_answer(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    bridge.fail_requests("POST", "/api/startTyping", status=500)
    bridge.fail_requests("POST", "/api/stopTyping", status=500)
    agent.gate.clear()
    await bridge.emit_message(SESSION, chat_id=BOB, body="slow")
    await wait_for(lambda: len(agent.calls) == 1)
    await advance(hass, freezer, TYPING_AFTER)
    agent.gate.set()
    await answered(bridge, 1)
    assert requests_to(bridge, "/api/stopTyping") == 1
    assert texts_sent(bridge) == ["re: slow"]


async def test_a_burst_within_the_debounce_window_is_one_turn(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id, **{CONF_DEBOUNCE: 5})
    await bridge.emit_message(SESSION, chat_id=BOB, body="turn on")
    await advance(hass, freezer, 3)
    last = await bridge.emit_message(SESSION, chat_id=BOB, body="the kitchen light")
    await bridge.emit_message(SESSION, chat_id=CAROL, body="hi")
    # The window starts again with each message: 3 s after the second, still waiting.
    await advance(hass, freezer, 3)
    assert agent.calls == []
    await advance(hass, freezer, 2)
    await answered(bridge, 2)
    assert sorted(agent.texts) == ["hi", "turn on\nthe kitchen light"]
    [bob_answer] = [r for r in sent(bridge) if r["chat_id"] == BOB]
    assert bob_answer["text"] == "re: turn on\nthe kitchen light"
    # The quote is the burst's last message.
    assert bob_answer["reply_to"] == last["id"]


async def test_a_message_during_an_answer_waits_for_its_own_window(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id, **{CONF_DEBOUNCE: 5})
    agent.gate.clear()
    await bridge.emit_message(SESSION, chat_id=BOB, body="first")
    await advance(hass, freezer, 5)
    await wait_for(lambda: len(agent.calls) == 1)
    await bridge.emit_message(SESSION, chat_id=BOB, body="second")
    agent.gate.set()
    await answered(bridge, 1)
    await settle(hass)
    assert agent.texts == ["first"]
    await advance(hass, freezer, 5)
    await answered(bridge, 2)
    assert texts_sent(bridge) == ["re: first", "re: second"]


async def test_a_burst_that_never_pauses_is_answered_after_the_longest_wait(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id, **{CONF_DEBOUNCE: 2})
    # A line every second: the chat is never quiet for 2 s.
    for index in range(2 * MAX_WAIT_FACTOR):
        await bridge.emit_message(SESSION, chat_id=BOB, body=f"line {index}")
        await advance(hass, freezer, 1)
    await answered(bridge, 1)
    # One batch: every line within the longest wait (6 s) of the first.
    assert agent.texts == ["\n".join(f"line {i}" for i in range(2 * MAX_WAIT_FACTOR))]


async def test_buffered_messages_are_answered_only_with_answer_buffered(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    bridge.cut_streams()
    await wait_for(lambda: state_of(hass, CONNECTED) == "off")
    freezer.tick(1)
    await bridge.emit_message(SESSION, chat_id=BOB, body="while away")
    await advance(hass, freezer, 2)
    await wait_for(lambda: state_of(hass, CONNECTED) == "on")
    await settle(hass)
    await bridge.emit_message(SESSION, chat_id=BOB, body="live")
    await answered(bridge, 1)
    await settle(hass)
    assert agent.texts == ["live"]


async def test_buffered_messages_are_answered_with_answer_buffered(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id, **{CONF_ANSWER_BUFFERED: True})
    bridge.cut_streams()
    await wait_for(lambda: state_of(hass, CONNECTED) == "off")
    freezer.tick(1)
    missed = await bridge.emit_message(SESSION, chat_id=BOB, body="while away")
    await advance(hass, freezer, 2)
    await answered(bridge, 1)
    assert agent.texts == ["while away"]
    assert sent(bridge)[0]["reply_to"] == missed["id"]


async def test_the_self_chat_is_answered_and_the_answer_is_not_answered_again(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id, **{CONF_SELF_CHAT: True})
    note = await bridge.emit_message(SESSION, chat_id=ME_ID, body="lights off", from_me=True)
    await answered(bridge, 1)
    # The answer comes back on the stream as an own message of the self chat: no loop.
    for _ in range(5):
        await settle(hass)
    assert agent.texts == ["lights off"]
    [answer] = sent(bridge)
    assert (answer["chat_id"], answer["text"], answer["reply_to"]) == (
        ME_ID,
        "re: lights off",
        note["id"],
    )
    # Own messages to other chats are never the agent's business.
    await bridge.emit_message(SESSION, chat_id=BOB, body="to bob", from_me=True)
    await settle(hass)
    assert agent.texts == ["lights off"]


async def unloading(hass: HomeAssistant, entry: MockConfigEntry) -> asyncio.Task[bool]:
    """Start unloading; `settle` and `advance` would wait for it (it waits for the agent)."""
    task = asyncio.get_running_loop().create_task(hass.config_entries.async_unload(entry.entry_id))
    for _ in range(200):
        await asyncio.sleep(0)
    return task


async def test_unloading_lets_answers_in_progress_and_waiting_bursts_finish(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id, **{CONF_DEBOUNCE: 5})
    agent.gate.clear()
    await bridge.emit_message(SESSION, chat_id=BOB, body="thinking")
    await advance(hass, freezer, 5)
    await wait_for(lambda: len(agent.calls) == 1)
    await bridge.emit_message(SESSION, chat_id=CAROL, body="waiting")
    await settle(hass)
    responder: AgentResponder = config_entry.runtime_data.assist
    task = await unloading(hass, config_entry)
    # The burst waiting for its window goes to the agent now; both answers still go out
    # (their messages are recorded as handled: a restart would not answer them).
    await wait_for(lambda: len(agent.calls) == 2)
    assert not task.done()
    agent.gate.set()
    await wait_for(task.done)
    assert task.result()
    assert sorted(agent.texts) == ["thinking", "waiting"]
    assert sorted(texts_sent(bridge)) == ["re: thinking", "re: waiting"]
    await responder.async_shutdown()  # a second time: nothing left to do


async def test_unloading_gives_up_on_an_agent_that_thinks_too_long(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    stub_agent: tuple[StubAgent, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    agent, agent_id = stub_agent
    await talk_entry(hass, config_entry, agent_id)
    agent.gate.clear()
    await bridge.emit_message(SESSION, chat_id=BOB, body="thinking")
    await wait_for(lambda: len(agent.calls) == 1)
    await advance(hass, freezer, TYPING_AFTER)
    task = await unloading(hass, config_entry)
    assert not task.done()
    freezer.tick(SHUTDOWN_GRACE)
    async_fire_time_changed(hass)
    await wait_for(task.done)
    agent.gate.set()
    await advance(hass, freezer, 60)
    assert sent(bridge) == []
    assert requests_to(bridge, "/api/startTyping") == 1


async def test_no_agent_no_responder(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    await setup_connected(hass, config_entry)
    assert config_entry.runtime_data.assist is None
    await unload(hass, config_entry)
