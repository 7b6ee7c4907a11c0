"""What the real WAHA does (docs waha-reality.md 1-8) and the link defects it exposed, end to end.

Each test plays the bridge profile where the behaviour bites (engine x release x edition x
NOWEB store, see bridge_double/profile.py) and drives the whole integration over real
sockets on 127.0.0.1 with frozen time. Every test fails on the integration before the fixes
that made it pass (70e03ae, 81c343f, 99c7810, 64e165e); the docstrings say what broke.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus
from custom_components.whatsapp_gateway.const import (
    CONF_SESSION,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_SENT,
)
from custom_components.whatsapp_gateway.outgoing import RETRY_AFTER

from .conftest import API_KEY, ME_ID, PUSH_NAME, SESSION, entry_data
from .flow_support import FlowClient
from .helpers import (
    CONNECTED,
    DISCONNECTS,
    REASON,
    RECONNECT_BUTTON,
    STATE,
    advance,
    settle,
    setup_connected,
    state_of,
    unload,
    wait_for,
    wait_for_state,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

GOWS = "GOWS-2026.7.1-CORE"
BOB = "4917612345678@c.us"
BOB_NUMBER = "+49 176 12345678"
START = f"/api/sessions/{SESSION}/start"
RESTART = f"/api/sessions/{SESSION}/restart"
SERIALIZED_ID = re.compile(r"^(?P<from_me>true|false)_(?P<chat>[^_]+)_(?P<key>[0-9A-F]{20,22})$")

type MakeBridge = Callable[..., Awaitable[BridgeDouble]]


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture
def profile() -> str:
    """The bridge the test plays (parametrize `profile` to play another)."""
    return GOWS


@pytest.fixture
async def make_bridge() -> AsyncGenerator[MakeBridge]:
    """Build and start doubles from a profile; each has `default` paired and WORKING."""
    made: list[BridgeDouble] = []

    async def make(
        profile: str, *, api_key: str = API_KEY, session: str | None = SESSION, **options: Any
    ) -> BridgeDouble:
        double = BridgeDouble(api_key=api_key, profile=BridgeProfile.parse(profile), **options)
        if session is not None:
            double.add_session(
                session,
                status=SessionStatus.WORKING,
                paired=True,
                me_id=ME_ID,
                push_name=PUSH_NAME,
            )
        await double.start()
        made.append(double)
        return double

    yield make
    for double in made:
        await double.stop()


@pytest.fixture
async def bridge(make_bridge: MakeBridge, profile: str) -> BridgeDouble:
    """The double of `profile` (conftest's `config_entry` points at it)."""
    return await make_bridge(profile)


def make_entry(hass: HomeAssistant, bridge: BridgeDouble, **data: Any) -> MockConfigEntry:
    """An entry (not set up yet) for the double, titled as the account the entity ids use."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=PUSH_NAME,
        data=entry_data(bridge, **data),
        unique_id=f"{bridge.url}#{data.get(CONF_SESSION, SESSION)}",
    )
    entry.add_to_hass(hass)
    return entry


# ------------------------------------------------------------------------------- helpers


def issue(hass: HomeAssistant, key: str, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The repair issue `key` of `entry`, if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{key}_{entry.entry_id}")


def states_of(hass: HomeAssistant, entity_id: str) -> list[str]:
    """Every state `entity_id` moves to from now on, in order (attribute changes left out)."""
    seen: list[str] = []

    @callback
    def record(event: Event[Any]) -> None:
        if event.data["entity_id"] != entity_id or event.data["new_state"] is None:
            return
        old, new = event.data["old_state"], event.data["new_state"]
        if old is None or old.state != new.state:
            seen.append(new.state)

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    return seen


async def send(
    hass: HomeAssistant, entry: MockConfigEntry, message: str, **extra: Any
) -> dict[str, Any]:
    """The send_message action to Bob; its response."""
    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": entry.entry_id, "target": BOB_NUMBER, "message": message, **extra},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


async def reconnect(hass: HomeAssistant, entry: MockConfigEntry, **extra: Any) -> None:
    """The reconnect action."""
    await hass.services.async_call(
        DOMAIN, "reconnect", {"config_entry_id": entry.entry_id, **extra}, blocking=True
    )


async def step(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move frozen time in a small step (timers that need fine steps: heartbeat, restart)."""
    freezer.tick(seconds)
    async_fire_time_changed(hass)
    await settle(hass, rounds=50)


async def step_until(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    condition: Callable[[], bool],
    *,
    every: float,
    within: float,
) -> float:
    """Step time until `condition` holds; the frozen seconds it took (fails after `within`)."""
    waited = 0.0
    while not condition():
        assert waited < within, f"not reached within {within} s"
        await step(hass, freezer, every)
        waited += every
    return waited


def texts_sent(bridge: BridgeDouble) -> list[str]:
    return [record["text"] for record in bridge.session(SESSION).sent]


async def logged_out_from_phone(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> list[str]:
    """Connected, then logged out from the phone; the states the link took meanwhile."""
    bridge.transition_delay = 0.01  # a restart's statuses arrive one by one, as on WAHA
    await setup_connected(hass, entry)
    bridge.clear_requests()
    states = states_of(hass, STATE)
    await bridge.logout_from_phone(SESSION)
    await step_until(
        hass,
        freezer,
        lambda: bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE,
        every=0.01,
        within=1,
    )
    await wait_for_state(hass, STATE, "pairing_required")
    await settle(hass)
    return states


# -------------------------------------------------------- 1. own messages on GOWS and NOWEB


@pytest.mark.parametrize("profile", [GOWS, "NOWEB-2026.7.1-CORE"])
async def test_1_message_before_an_answer_from_the_phone_arrives_once_after_a_restart(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The chat's newest message is your own (`from` = chat, `to` null): still backfilled.

    Before 70e03ae an own message's chat was read from `to`; the overview's last message
    was unreadable, the chat was skipped and the incoming message never arrived.
    """
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await unload(hass, config_entry)
    freezer.tick(60)
    incoming = await bridge.emit_message(SESSION, chat_id=BOB, body="are you home?")
    freezer.tick(30)
    answer = await bridge.send_from_phone(SESSION, chat_id=BOB, body="on my way")
    assert answer["from"] == BOB
    assert answer.get("to") is None
    await setup_connected(hass, config_entry)
    await wait_for(lambda: len(events) == 1)
    await advance(hass, freezer, 60)  # a poll too: nothing comes twice
    assert [(e.data["message_id"], e.data["buffered"]) for e in events] == [(incoming["id"], True)]


async def test_1_gows_lost_send_answer_is_found_by_its_id_not_sent_twice(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The retry finds the earlier try among the chat's own messages (`to` null on GOWS).

    Before 70e03ae those own messages were unreadable: the retry sent the message again.
    """
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    bridge.drop_send_answers(1)
    response = await send(hass, config_entry, "exactly once")
    assert response["status"] == "queued"
    [first] = bridge.session(SESSION).sent
    assert first["requested_key"] == first["key"]  # sent under the id the bridge gave
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 1)
    assert bridge.count_sends(SESSION) == 1
    assert sent_events[0].data["message_id"] == first["message_id"]
    assert sent_events[0].data["delayed"] is True


# -------------------------------------------------- 2. bridges without new message ids


@pytest.mark.parametrize(
    "profile", ["GOWS-2026.2.1-CORE", "WEBJS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE"]
)
async def test_2_send_has_the_id_form_of_received_messages(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """Sent at once with no message id route (404) or engine support (501, WEBJS).

    Before 70e03ae/99c7810 the 404 read as a missing session and the 501 as a transient
    failure: the message was queued instead of sent. NOWEB answered the bare Baileys id.
    """
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    response = await send(hass, config_entry, "washing machine is done")
    assert response["status"] == "sent"
    [record] = bridge.session(SESSION).sent
    incoming = await bridge.emit_message(SESSION, chat_id=BOB, body="thanks")
    await wait_for(lambda: len(received) == 1 and len(sent_events) == 1)
    sent_id = sent_events[0].data["message_id"]
    received_id = received[0].data["message_id"]
    assert received_id == incoming["id"]
    # The id the engine's own events and history carry for this message, in the same form
    # as received ones: `<fromMe>_<chat>_<KEY>`.
    assert sent_id == response["message_id"] == record["message_id"]
    sent_form, received_form = SERIALIZED_ID.match(sent_id), SERIALIZED_ID.match(received_id)
    assert sent_form is not None, sent_id
    assert received_form is not None, received_id
    assert (sent_form["from_me"], sent_form["chat"], sent_form["key"]) == (
        "true",
        BOB,
        record["key"],
    )
    assert (received_form["from_me"], received_form["chat"]) == ("false", BOB)


@pytest.mark.parametrize("profile", ["GOWS-2026.2.1-CORE", "WEBJS-2026.7.1-CORE"])
async def test_2_queued_and_lost_sends_without_message_ids(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Queued goes out after a reconnect; a lost answer is matched by its text, once.

    Before 99c7810 the retry had no id to look for and sent the message again; before
    70e03ae the queue never went out at all (see above).
    """
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    await setup_connected(hass, config_entry)
    # Queued while the bridge is away, sent once the link is back.
    await bridge.bridge_down()
    await wait_for_state(hass, STATE, "reconnecting")
    assert (await send(hass, config_entry, "while away"))["status"] == "queued"
    await bridge.bridge_up()
    await advance(hass, freezer, 5)
    await bridge.set_status(SESSION, SessionStatus.WORKING)
    await wait_for_state(hass, CONNECTED, "on")
    await wait_for(lambda: len(sent_events) == 1)
    assert texts_sent(bridge) == ["while away"]
    # A lost answer: the retry finds the same text sent since the first try.
    await advance(hass, freezer, 120)
    bridge.drop_send_answers(1)
    assert (await send(hass, config_entry, "door open"))["status"] == "queued"
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 2)
    assert texts_sent(bridge) == ["while away", "door open"]
    assert sent_events[1].data["message_id"] == bridge.session(SESSION).sent[1]["message_id"]
    # The same text sent 40 s before a refused try is no earlier try of it: the window
    # starts at the first try (5 s of clock slack), not a minute before.
    await advance(hass, freezer, 10)
    bridge.fail_sends(1, status=500)
    assert (await send(hass, config_entry, "door open"))["status"] == "queued"
    await advance(hass, freezer, RETRY_AFTER + 1)
    await wait_for(lambda: len(sent_events) == 3)
    assert texts_sent(bridge) == ["while away", "door open", "door open"]


# ------------------------------------------------------------ 3. NOWEB without its store


@pytest.mark.parametrize("profile", ["NOWEB-2026.5.1-CORE-nostore"])
async def test_3_noweb_store_repair_turns_history_on(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    repairs: FlowClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The repair is raised; its fix turns the store on; missed messages come back after."""
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    await settle(hass)
    repair = issue(hass, "noweb_store_disabled", config_entry)
    assert repair is not None
    assert repair.is_fixable

    bridge.clear_requests()
    result = await repairs.start(
        {"handler": DOMAIN, "issue_id": f"noweb_store_disabled_{config_entry.entry_id}"}
    )
    assert result["type"] == "form"
    assert result["step_id"] == "enable_store"
    result = await repairs.submit(result["flow_id"], {})
    assert result["type"] == "create_entry"
    assert bridge.count_requests(method="PUT", path_prefix=f"/api/sessions/{SESSION}") == 1
    assert bridge.session(SESSION).config["noweb"]["store"]["enabled"] is True
    await wait_for_state(hass, CONNECTED, "on")
    assert bridge.session(SESSION).status == SessionStatus.WORKING
    await settle(hass)
    assert issue(hass, "noweb_store_disabled", config_entry) is None

    # A message that arrives while the link is down comes through the backfill.
    await bridge.bridge_down()
    await wait_for_state(hass, STATE, "reconnecting")
    missed = await bridge.emit_message(SESSION, chat_id=BOB, body="while you were away")
    await bridge.bridge_up()
    await advance(hass, freezer, 5)
    await bridge.set_status(SESSION, SessionStatus.WORKING)
    await wait_for_state(hass, CONNECTED, "on")
    await wait_for(lambda: len(events) == 1)
    assert (events[0].data["message_id"], events[0].data["buffered"]) == (missed["id"], True)
    assert issue(hass, "noweb_store_disabled", config_entry) is None


@pytest.mark.parametrize("profile", ["NOWEB-2026.7.1-CORE-nostore"])
async def test_3_sessions_created_by_the_config_flow_keep_history(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    """The "create it" path asks for the NOWEB store; before 70e03ae the session had none."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], entry_data(bridge, session="kitchen")
    )
    assert result["step_id"] == "missing_session"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "create_session"}
    )
    await wait_for(lambda: "kitchen" in bridge.sessions)
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions") == 1
    assert bridge.session("kitchen").config["noweb"]["store"]["enabled"] is True


# -------------------------------------------------- 4. Core before 2026.6.1: default only


@pytest.mark.parametrize("profile", ["GOWS-2026.5.1-CORE"])
async def test_4_core_refuses_other_sessions_in_the_flows(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """User step and reconfigure say `default_session_only` (before 81c343f: cannot_connect)."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], entry_data(bridge, session="work")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SESSION: "default_session_only"}

    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], entry_data(bridge, session="work")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SESSION: "default_session_only"}
    assert config_entry.data[CONF_SESSION] == SESSION


@pytest.mark.parametrize("profile", ["GOWS-2026.5.1-CORE"])
async def test_4_core_entry_for_another_session_stops_with_a_repair(
    hass: HomeAssistant, bridge: BridgeDouble, freezer: FrozenDateTimeFactory
) -> None:
    """A `work` entry is stopped with its repair and asks nothing more (before: a retry loop)."""
    entry = make_entry(hass, bridge, session="work")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, STATE, "stopped")
    repair = issue(hass, "default_session_only", entry)
    assert repair is not None
    assert not repair.is_fixable
    bridge.clear_requests()
    for _ in range(10):
        await advance(hass, freezer, 60)
    assert bridge.count_requests() == 0
    assert state_of(hass, STATE) == "stopped"


# ------------------------------------------------------------- 5. graceful bridge restart


async def test_5_graceful_restart_is_followed_by_one_start(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """WAHA stops the session on SIGTERM and starts none at boot: we start it, once.

    Before 64e165e the shutdown's STOPPED used up the one start of the episode, so the link
    stayed `stopped` after every `docker restart`.
    """
    assert not bridge.start_sessions_on_boot
    await setup_connected(hass, config_entry)
    # A start during the 3 s shutdown pause is still STARTING when the process exits.
    bridge.transition_delay = 5
    bridge.clear_requests()
    restart = asyncio.ensure_future(bridge.graceful_restart(downtime=5))
    await step_until(hass, freezer, lambda: not bridge.listening, every=0.1, within=4)
    await step_until(hass, freezer, lambda: bridge.listening, every=0.1, within=6)
    back = bridge.clock()  # the request log's clock
    # Booted with the session STOPPED; the new process connects WhatsApp at once.
    assert bridge.session(SESSION).status == SessionStatus.STOPPED
    bridge.transition_delay = 0
    took = await step_until(
        hass, freezer, lambda: state_of(hass, CONNECTED) == "on", every=0.1, within=2
    )
    assert took <= 2
    await restart
    for _ in range(5):
        await advance(hass, freezer, 60)
    assert state_of(hass, STATE) == "connected"
    assert bridge.count_requests(method="POST", path_prefix=START, since=back) == 1
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 0


# ------------------------------------------------------------------- 6. status waits


async def test_6_status_wait_answer_is_a_status_not_an_unreachable_bridge(
    hass: HomeAssistant,
    make_bridge: MakeBridge,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The bridge holds a call for the session up to 5 + 10 s, then answers 422 with its status.

    The double waits on the loop clock, so this runs on frozen time. The send finds the
    session stopped; it starts 2 s later and is still STARTING 10 s after that: the 422
    comes 12 s after the request. Before 70e03ae the client gave up after 10 s and called
    the bridge unreachable.
    """
    bridge = await make_bridge(GOWS, status_wait=10, status_wait_stopped=5)
    entry = make_entry(hass, bridge)
    reasons = states_of(hass, REASON)
    await setup_connected(hass, entry)
    # The stream does not tell (stalled), so the link still takes the session for WORKING.
    bridge.stall_stream(SESSION)
    await bridge.set_status(SESSION, SessionStatus.STOPPED)
    sending = asyncio.ensure_future(send(hass, entry, "now or never", queue=False))
    await wait_for(lambda: bridge.count_requests(path_prefix=f"/api/{SESSION}/new-message-id") == 1)
    await step(hass, freezer, 2)
    await bridge.set_status(SESSION, SessionStatus.STARTING)
    for _ in range(11):
        await step(hass, freezer, 1)
    with pytest.raises(HomeAssistantError) as caught:
        await sending
    assert caught.value.translation_key == "send_failed"
    error = (caught.value.translation_placeholders or {})["error"]
    assert "STARTING" in error
    assert "cannot reach" not in error
    # The next poll reads the status: WhatsApp reconnecting, never an unreachable bridge.
    await advance(hass, freezer, 60)
    await wait_for_state(hass, STATE, "connecting")
    assert state_of(hass, REASON) == "whatsapp_reconnecting"
    bridge.stall_stream(SESSION, stalled=False)
    await bridge.set_status(SESSION, SessionStatus.WORKING)
    await wait_for_state(hass, CONNECTED, "on")
    assert "bridge_unreachable" not in reasons
    assert bridge.session(SESSION).sent == []


# ---------------------------------------------------------------- 7. weak API key


async def test_7_weak_key_replaced_at_restart_asks_for_the_new_key_and_says_why(
    hass: HomeAssistant,
    make_bridge: MakeBridge,
    freezer: FrozenDateTimeFactory,
) -> None:
    """WAHA replaces a weak key at every start: reauth, and the form explains it."""
    bridge = await make_bridge(GOWS, api_key="waha")
    first_key = bridge.api_key
    assert first_key != "waha"
    entry = make_entry(hass, bridge, api_key=first_key)
    await setup_connected(hass, entry)
    restart = asyncio.ensure_future(bridge.graceful_restart(downtime=1))
    await step_until(hass, freezer, lambda: bridge.restarts == 1, every=0.1, within=5)
    await restart
    assert bridge.api_key != first_key
    await step_until(
        hass, freezer, lambda: state_of(hass, STATE) == "auth_failed", every=0.5, within=10
    )
    await hass.async_block_till_done()
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_REAUTH
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["step_id"] == "reauth_confirm"
    placeholders = result["description_placeholders"] or {}
    assert (placeholders["url"], placeholders["title"]) == (bridge.url, PUSH_NAME)
    strings = await async_get_translations(hass, "en", "config", {DOMAIN})
    text = strings[f"component.{DOMAIN}.config.step.reauth_confirm.description"]
    assert "WAHA replaces a missing or weak WAHA_API_KEY" in text
    assert "at every start" in text
    assert state_of(hass, REASON) == "auth_rejected"
    # The key WAHA printed in its log brings the link back.
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"api_key": bridge.api_key}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    await wait_for_state(hass, CONNECTED, "on")


# -------------------------------------------------------- 8. GOWS logout from the phone


async def test_8_gows_logout_from_the_phone_restarts_once_then_pairing_required(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """FAILED with `me` still set: the one restart shows the login is gone.

    Before 64e165e the link went through `stopped` and blamed `session_stopped`.
    """
    states = await logged_out_from_phone(hass, bridge, config_entry, freezer)
    assert states == ["connecting", "pairing_required"]
    assert state_of(hass, REASON) == "logged_out"
    assert issue(hass, "pairing_required", config_entry) is not None
    for _ in range(10):
        await advance(hass, freezer, 60)
    assert state_of(hass, STATE) == "pairing_required"
    assert bridge.count_requests(method="POST", path_prefix=RESTART) == 1
    assert bridge.count_requests(method="POST") == 1


# ------------------------------------------------------------------------- defects


@pytest.mark.parametrize("how", ["action", "action_restart", "button"])
async def test_d1_reconnect_from_pairing_required_never_starts_or_restarts(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    how: str,
) -> None:
    """Each start or restart of a logged-out session is one more login attempt."""
    await logged_out_from_phone(hass, bridge, config_entry, freezer)
    while bridge.session(SESSION).status == SessionStatus.SCAN_QR_CODE:
        await bridge.rotate_qr(SESSION)  # the QR codes run out: FAILED
    await settle(hass)
    assert state_of(hass, STATE) == "pairing_required"
    posts = bridge.count_requests(method="POST")
    if how == "button":
        await hass.services.async_call(
            "button", "press", {"entity_id": RECONNECT_BUTTON}, blocking=True
        )
    else:
        await reconnect(hass, config_entry, restart_session=how == "action_restart")
    await settle(hass)
    assert bridge.count_requests(method="POST") == posts
    assert state_of(hass, STATE) == "pairing_required"


async def test_d2_one_failed_status_check_with_the_stream_up_is_no_disconnect(
    hass: HomeAssistant,
    make_bridge: MakeBridge,
    freezer: FrozenDateTimeFactory,
) -> None:
    bridge = await make_bridge(GOWS)
    await setup_connected(hass, make_entry(hass, bridge))
    bridge.clear_requests()
    bridge.fail_requests("GET", f"/api/sessions/{SESSION}", status=500)
    await advance(hass, freezer, 60)
    failed = [
        r for r in bridge.requests if r.path == f"/api/sessions/{SESSION}" and r.status == 500
    ]
    assert len(failed) == 1
    assert state_of(hass, CONNECTED) == "on"
    assert state_of(hass, DISCONNECTS) == "0"
    assert bridge.count_requests(method="WS") == 0
    await advance(hass, freezer, 60)
    assert state_of(hass, STATE) == "connected"


@pytest.mark.parametrize(
    ("restart", "first_reason"),
    [("graceful_restart", "session_stopped"), ("run_bridge_restart", "stream_closed")],
)
async def test_d3_rotated_key_found_after_a_bridge_restart_is_the_reason(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    restart: str,
    first_reason: str,
) -> None:
    """The outage began as a stopped session or a closed stream; its cause is the key."""
    await setup_connected(hass, config_entry)
    reasons = states_of(hass, REASON)
    bridge.rotate_api_key("rotated-key-9876543210")
    restarting = asyncio.ensure_future(getattr(bridge, restart)(downtime=1))
    await step_until(hass, freezer, restarting.done, every=0.1, within=5)
    await restarting
    await step_until(
        hass, freezer, lambda: state_of(hass, STATE) == "auth_failed", every=0.5, within=10
    )
    assert reasons == [first_reason, "auth_rejected"]
    assert state_of(hass, DISCONNECTS) == "1"


async def test_d4_deleted_session_waits_for_its_repair_without_requests(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_connected(hass, config_entry)
    bridge.delete_session(SESSION)
    await advance(hass, freezer, 60)
    await wait_for_state(hass, STATE, "stopped")
    assert issue(hass, "session_missing", config_entry) is not None
    bridge.clear_requests()
    for _ in range(5):
        await advance(hass, freezer, 60)
    assert bridge.count_requests() == 0
    assert state_of(hass, STATE) == "stopped"


async def test_d5_half_open_link_is_noticed_with_time_to_spare(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Noticed within heartbeat (30 s) + 12 s, 3 s inside the promised + 15 s."""
    await setup_connected(hass, config_entry)
    bridge.half_open()
    took = await step_until(
        hass,
        freezer,
        lambda: state_of(hass, REASON) == "heartbeat_timeout",
        every=0.5,
        within=30 + 12,
    )
    assert took > 30  # the ping goes out first; no pong comes
    assert state_of(hass, DISCONNECTS) == "1"
