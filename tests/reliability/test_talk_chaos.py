"""Chaos while talking to the home: self chat on, an agent answering every message.

Seeded. Contacts write to the home and you write in your self chat; a conversation agent (a
stub that answers at once) answers each message, buffered ones too (`answer_buffered`).
Between batches the double closes or cuts the stream, restarts, or Home Assistant itself
restarts (the entry is unloaded and set up again). Asserted: every message fires its event
exactly once, each gets exactly one answer quoting it, and no answer the gateway wrote in
your self chat ever comes back as a message (the agent would answer its own answers).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
import random
from typing import Any, Literal

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.bridge import bare_message_id
from custom_components.whatsapp_gateway.const import (
    CONF_ANSWER_BUFFERED,
    CONF_CONVERSATION_AGENT,
    CONF_SELF_CHAT,
    CONF_SEND_RATE,
    EVENT_MESSAGE_RECEIVED,
)

from ..conftest import SESSION
from ..helpers import CONNECTED, advance, settle, setup_connected, state_of, wait_for_state
from .conftest import on_profiles

SEED = 13
MESSAGES = 600
BATCH = 2  # messages per simulated second: the answers go out at the send rate (120/min)
FAULT_CHANCE = 0.1
SELF_CHAT_SHARE = 0.3
CONTACTS = [f"49151000000{n:02d}@c.us" for n in range(5)]
FAULTS = ["close_1001", "cut", "restart", "home_assistant_restart"]

pytestmark = on_profiles()


class EchoAgent(conversation.AbstractConversationAgent):
    """Answers every text at once with "re: <text>"."""

    def __init__(self) -> None:
        self.asked = 0

    @property
    def supported_languages(self) -> Literal["*"]:
        return "*"

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        self.asked += 1
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech(f"re: {user_input.text}")
        return conversation.ConversationResult(
            response=response, conversation_id=user_input.conversation_id
        )


async def test_every_message_once_and_answered_once_through_chaos(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    report: Callable[[str, object], None],
) -> None:
    rng = random.Random(SEED)  # noqa: S311 (a reproducible schedule, not a secret)
    random.seed(SEED)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    agent_entry = MockConfigEntry(domain="test", title="Echo agent")
    agent_entry.add_to_hass(hass)
    agent = EchoAgent()
    conversation.async_set_agent(hass, agent_entry, agent)
    hass.config_entries.async_update_entry(
        config_entry,
        options={
            CONF_SELF_CHAT: True,
            CONF_CONVERSATION_AGENT: agent_entry.entry_id,
            CONF_ANSWER_BUFFERED: True,
            CONF_SEND_RATE: 120,
        },
    )
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    sent: list[dict[str, Any]] = []
    injected: Counter[str] = Counter()
    down_for = 0

    while len(sent) < MESSAGES:
        for _ in range(BATCH):
            text = f"talk {len(sent)}"
            if rng.random() < SELF_CHAT_SHARE:
                sent.append(await bridge.write_in_self_chat(text))
            else:
                sent.append(
                    await bridge.emit_message(SESSION, chat_id=rng.choice(CONTACTS), body=text)
                )
        if down_for:
            down_for -= 1
            if not down_for:
                await bridge.bridge_up()
                await bridge.set_status(SESSION, SessionStatus.WORKING)
        elif state_of(hass, CONNECTED) == "on" and rng.random() < FAULT_CHANCE:
            fault = rng.choice(FAULTS)
            injected[fault] += 1
            if fault == "close_1001":
                await bridge.close_streams(code=1001)
            elif fault == "cut":
                bridge.cut_streams()
            elif fault == "restart":
                await bridge.bridge_down(1001)
                down_for = rng.randint(2, 10)
            else:
                # Home Assistant stops (the ledger and queue are written) and starts again.
                assert await hass.config_entries.async_unload(config_entry.entry_id)
                await hass.async_block_till_done()
                assert await hass.config_entries.async_setup(config_entry.entry_id)
        await advance(hass, freezer, 1)
    if down_for:
        await bridge.bridge_up()
        await bridge.set_status(SESSION, SessionStatus.WORKING)

    answers = _answers(bridge)
    for _ in range(900):
        if len(events) >= MESSAGES and len(answers) >= MESSAGES:
            break
        await advance(hass, freezer, 1)
        answers = _answers(bridge)
    await wait_for_state(hass, CONNECTED, "on")
    await advance(hass, freezer, 61)
    await settle(hass)
    answers = _answers(bridge)

    ids = [event.data["message_id"] for event in events]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert set(ids) == {message["id"] for message in sent}, "a message was lost"
    assert not [e for e in events if e.data["text"].startswith("re: ")], "an answer came back"
    quoted = Counter(bare_message_id(answer["reply_to"]) for answer in answers)
    assert [key for key, count in quoted.items() if count > 1] == [], "answered twice"
    unanswered = {bare_message_id(message["id"]) for message in sent} - set(quoted)
    assert unanswered == set(), f"{len(unanswered)} messages got no answer"
    assert injected["home_assistant_restart"] >= 2, injected
    assert sum(injected.values()) >= 8, injected
    buffered = sum(1 for event in events if event.data["buffered"])
    report(
        "talk chaos: messages / events / answers / through backfill",
        f"{len(sent)} / {len(ids)} / {len(answers)} / {buffered}",
    )
    report(
        "talk chaos: faults injected",
        ", ".join(f"{name} {n}" for name, n in sorted(injected.items())),
    )


def _answers(bridge: BridgeDouble) -> list[dict[str, Any]]:
    return [record for record in bridge.session(SESSION).sent if record.get("reply_to")]
