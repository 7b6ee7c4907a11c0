"""A simulated day of the reported fault pattern, over real sockets in frozen time, per profile.

The schedule (seeded): a WhatsApp-side blip every 15-20 min lasting 2-30 s, a graceful bridge
restart about every four hours, a half-open link twice a day (the socket dies silently; a
fresh connection would work), and a message every 90-150 s from one of five chats.
WhatsApp hands messages to the bridge only while the session works, so those of a blip or a
restart reach the bridge when it works again. Home Assistant answers every fourth message at
once and sends a notification every 40-80 min and into every restart and every third blip
(those queue). Each text is unique: on WEBJS, which has no message ids, the integration
recognises an earlier try of a message by its text.

A restart is WAHA's own (``BridgeDouble.graceful_restart``, waha-reality.md 5): the session
goes STOPPED while HTTP still answers, the sockets are cut without a close frame 0.1 s later,
the bridge is down for 5-90 s and comes back with the session STOPPED. Nothing starts it but
a client: the integration, once it reaches the bridge again. The session then takes 2-8 s to
work (the double's ``transition_delay``), as it would for any client. WAHA pauses 3 s before
it stops listening; 0.5 s here, since nothing depends on its length.

The truth is when the bridge's session is WORKING and reachable; after a restart, from the
moment the bridge answers again (measured at the double) plus those 2-8 s: a client that
started the session the moment the bridge answered would have it working then. Measured
and asserted: no message lost or duplicated, each chat in order, in either direction; per
incident, at most 2 s when the truth is up and our link is not (the overhead we add; after a
restart, the wait for the next reconnect attempt); the availability sensor within 0.1
percentage point of the truth.

Time: the double's timers (``asyncio.sleep``) run on the event loop's clock, which is the
frozen clock here, like Home Assistant's; no wall-clock sleep anywhere. Between incidents
time moves in 60 s steps (the poll interval); while the link recovers it stops at every
timer of the loop (at most 0.5 s apart), and only what is due fires: no timer fires early,
none late.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
import math
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
from homeassistant.util.async_ import get_scheduled_timer_handles
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed_exact,
)

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import (
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_SENT,
)

from ..conftest import SESSION
from ..helpers import AVAILABILITY, CONNECTED, advance, settle, setup_connected, state_of
from .conftest import on_profiles

DAY = 24 * 3600.0
SEED = 20261121
SEND_SEED = SEED + 1  # a generator of its own: the incidents and messages stay as they were
CHATS = [f"49176000000{n}@c.us" for n in range(5)]
RESTART_EVERY = 14  # incidents (about four hours)
HALF_OPEN_AT = (20, 60)  # incident numbers
QUIET_STEP = 60.0  # between incidents: one status poll each
BUSY_STEP = 0.5  # at most, while we recover (and time stops at every timer then)
TICK = 0.001  # frozen time moves in whole microseconds: closer than this is "now"
SHUTDOWN_PAUSE = 0.5  # WAHA pauses 3 s after stopping its sessions; nothing here waits on it
SOCKETS_CUT_AFTER = 0.1  # seen live: the sockets drop about 0.1 s after the signal
MAX_ADDED_DOWNTIME = 2.0  # per incident
ANSWER_EVERY = 4  # Home Assistant answers every fourth incoming message
NOTE_EVERY = (40 * 60, 80 * 60)  # and sends a notification every 40-80 min
NOTE_INTO_BLIPS = 3  # plus one into every third blip (and into every restart)


class LostMessageError(AssertionError):
    """An incoming message never reached Home Assistant."""


class AddedDowntimeError(AssertionError):
    """An incident's link came back more than `MAX_ADDED_DOWNTIME` after the truth."""


pytestmark = on_profiles()


@dataclass
class Incident:
    """One fault: when it starts, what it is, how long it lasts (and the session's start)."""

    start: float
    kind: str  # blip, restart, half_open
    duration: float  # restart: how long the bridge does not answer
    session_start: float = 0.0  # restart: from a start request to WORKING
    answered: float | None = None  # restart: when the bridge answered again (measured)

    @property
    def down_from(self) -> float:
        """Restart: when the listener closes (the session went STOPPED at `start`)."""
        return self.start + SHUTDOWN_PAUSE

    @property
    def truth_back(self) -> float:
        """When the session works and is reachable again (a half-open never takes it down)."""
        if self.kind == "half_open":
            return self.start
        if self.kind == "restart":
            assert self.answered is not None, "the bridge never came back"
            return self.answered + self.session_start
        return self.start + self.duration


def schedule(rng: random.Random) -> tuple[list[Incident], list[tuple[float, str]]]:
    """The day's incidents and messages (time, chat)."""
    incidents: list[Incident] = []
    at = rng.uniform(15, 20) * 60
    while at < DAY - 600:
        number = len(incidents)
        if number in HALF_OPEN_AT:
            incidents.append(Incident(at, "half_open", 0.0))
        elif number % RESTART_EVERY == RESTART_EVERY - 1:
            incidents.append(Incident(at, "restart", rng.uniform(5, 90), rng.uniform(2, 8)))
        else:
            incidents.append(Incident(at, "blip", rng.uniform(2, 30)))
        at += rng.uniform(15, 20) * 60
    messages: list[tuple[float, str]] = []
    at = rng.uniform(90, 150)
    while at < DAY - 300:
        messages.append((at, rng.choice(CHATS)))
        at += rng.uniform(90, 150)
    return incidents, messages


def notifications(rng: random.Random, incidents: list[Incident]) -> list[tuple[float, str]]:
    """When Home Assistant sends a notification (time, chat): regularly, and into outages."""
    plan: list[tuple[float, str]] = []
    at = rng.uniform(*NOTE_EVERY)
    while at < DAY - 900:
        plan.append((at, rng.choice(CHATS)))
        at += rng.uniform(*NOTE_EVERY)
    blips = 0
    for incident in incidents:
        if incident.kind == "restart":
            at = incident.down_from + rng.uniform(0, incident.duration)
        elif incident.kind == "blip" and (blips := blips + 1) % NOTE_INTO_BLIPS == 0:
            at = incident.start + rng.uniform(0, incident.duration)
        else:
            continue
        plan.append((at, rng.choice(CHATS)))
    return sorted(plan)


class Link:
    """Our link as the `connected` binary sensor reports it, with frozen timestamps."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Record every change of the sensor from now on."""
        self.changes: list[tuple[float, bool]] = [(dt_util.utcnow().timestamp(), True)]
        async_track_state_change_event(hass, CONNECTED, self._on_change)

    @callback
    def _on_change(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None:
            self.changes.append((dt_util.utcnow().timestamp(), new.state == "on"))

    @property
    def on(self) -> bool:
        return self.changes[-1][1]

    def off_time(self, start: float, end: float) -> float:
        """Seconds within [start, end) that the link was not connected."""
        total = 0.0
        for (at, on), (until, _) in zip(
            self.changes, [*self.changes[1:], (end, True)], strict=True
        ):
            lo, hi = max(at, start), min(until, end)
            if not on and hi > lo:
                total += hi - lo
        return total


@dataclass
class Outgoing:
    """A message Home Assistant sent (or queued) through the send action."""

    chat: str
    text: str
    status: str  # sent or queued
    ref: str  # sent: the message id; queued: the queue id


async def test_a_day_of_faults(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    report: Callable[[str, object], None],
) -> None:
    rng = random.Random(SEED)  # noqa: S311 (a reproducible schedule, not a secret)
    # The link's backoff jitter draws from the global generator: seed it too, so that a run
    # repeats the one before it.
    random.seed(SEED)
    incidents, message_plan = schedule(rng)
    note_plan = notifications(random.Random(SEND_SEED), incidents)  # noqa: S311 (as above)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    failed_events = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    await setup_connected(hass, config_entry)
    link = Link(hass)
    t0 = dt_util.utcnow().timestamp()
    sent: list[dict[str, Any]] = []
    held: list[str] = []  # chats of messages WhatsApp holds until the session works again
    outgoing: list[Outgoing] = []
    answered = 0  # received events looked at for an answer

    def now() -> float:
        return dt_util.utcnow().timestamp() - t0

    async def deliver(chat: str) -> None:
        sent.append(await bridge.emit_message(SESSION, chat_id=chat, body=f"m{len(sent)}"))

    async def send(chat: str, text: str) -> None:
        response = await hass.services.async_call(
            DOMAIN,
            "send_message",
            {"config_entry_id": config_entry.entry_id, "target": chat, "message": text},
            blocking=True,
            return_response=True,
        )
        assert isinstance(response, dict)
        status = str(response["status"])
        ref = response["message_id" if status == "sent" else "queue_id"]
        outgoing.append(Outgoing(chat, text, status, str(ref)))

    async def answer_new_messages() -> None:
        """An automation: every fourth incoming message gets an answer at once."""
        nonlocal answered
        while answered < len(events):
            data = events[answered].data
            answered += 1
            number = data["text"].removeprefix("m")
            if number.isdigit() and int(number) % ANSWER_EVERY == 0:
                await send(data["chat_id"], f"re m{number}")

    # The session is down (WhatsApp holds messages) between an incident's start and its end;
    # a restart ends when the session works again (the integration starts it).
    down = False
    restart: Incident | None = None  # the running restart, until our link is back
    restarts_before = 0  # the double's count of finished restarts before this one

    def session_down(value: bool) -> None:
        nonlocal down
        down = value

    async def session_works_again() -> None:
        await bridge.set_status(SESSION, SessionStatus.WORKING)
        await release_held()

    async def release_held() -> None:
        session_down(False)
        for chat in held:
            await deliver(chat)
        held.clear()

    def begin_restart(incident: Incident) -> None:
        nonlocal restart, restarts_before
        restart, restarts_before = incident, bridge.restarts
        session_down(True)
        bridge.transition_delay = incident.session_start
        bridge.spawn_background(
            bridge.graceful_restart(
                incident.duration, pause=SHUTDOWN_PAUSE, sockets_after=SOCKETS_CUT_AFTER
            )
        )

    def observe() -> None:
        """Note the moment the restarted bridge answers (frozen time stands between ticks)."""
        if restart is not None and restart.answered is None and bridge.restarts > restarts_before:
            restart.answered = now()

    # The driver: (time, action) in order.
    actions: list[tuple[float, Callable[[], Awaitable[None] | None]]] = []
    for incident in incidents:
        start, end = incident.start, incident.start + incident.duration
        if incident.kind == "blip":
            actions.append((start, lambda: bridge.blip(SESSION)))
            actions.append((start, lambda: session_down(True)))
            actions.append((end, session_works_again))
        elif incident.kind == "restart":
            actions.append((start, lambda incident=incident: begin_restart(incident)))
        else:
            # The socket dies silently; a fresh connection works (e.g. a NAT forgot the flow).
            actions.append((start, bridge.half_open))
            actions.append((start, bridge.heal))
    for at, chat in message_plan:
        actions.append((at, lambda chat=chat: held.append(chat) if down else deliver(chat)))
    for index, (at, chat) in enumerate(note_plan):
        actions.append((at, lambda chat=chat, index=index: send(chat, f"note {index}")))
    actions.sort(key=lambda action: action[0])

    def next_timer() -> float:
        """Seconds until the loop's next timer, rounded up to the microsecond (frozen time
        moves in whole microseconds); the double's timers run on this clock too."""
        loop_now = hass.loop.time()
        due = min(
            (
                handle.when()
                for handle in get_scheduled_timer_handles(hass.loop)
                if not handle.cancelled() and handle.when() > loop_now
            ),
            default=math.inf,
        )
        return max(math.ceil((due - loop_now) * 1e6) / 1e6, 1e-6)

    async def step(until: float) -> None:
        # Settle first: moving time past an in-flight request would fire its timeout.
        await settle(hass, rounds=40)
        observe()
        # While we recover, frozen time stops at every timer: each fires when it is due.
        seconds = min(until - now(), min(BUSY_STEP, next_timer()) if busy() else QUIET_STEP)
        freezer.tick(timedelta(seconds=seconds))
        # Exactly what is due now: no timer fires early and flatters the figures.
        async_fire_time_changed_exact(hass)
        await settle(hass, rounds=40)
        observe()

    # Fine steps only while our recovery is under way: from a restart's start until the link
    # is back after it, after a half-open until it was noticed and the link is back.
    recovering: list[str] = []

    def busy() -> bool:
        nonlocal restart
        if recovering and recovering[0] == "noticed" and not link.on:
            recovering[0] = "reconnecting"
        elif recovering and recovering[0] == "reconnecting" and link.on:
            recovering.clear()
        if restart is not None and restart.answered is not None and link.on:
            restart = None
        return bool(recovering) or restart is not None

    async def after_step() -> None:
        if (
            down
            and bridge.restarts > restarts_before
            and bridge.session(SESSION).status == SessionStatus.WORKING
        ):
            # After a restart the integration started the session: WhatsApp delivers what
            # it held. (A blip ends by the driver's action.)
            bridge.transition_delay = 0.0
            await release_held()
        await answer_new_messages()

    async def run_until(at: float) -> None:
        while at - now() > TICK:
            await step(at)
            await after_step()

    for at, action in actions:
        await run_until(at)
        result = action()
        if result is not None:
            await result
        if action == bridge.half_open:
            recovering[:] = ["noticed"]
        await after_step()
    await run_until(DAY)
    assert not down, "the session never worked again"

    # Incoming messages: each exactly once, each chat in order, none of our own among them.
    ids = [event.data["message_id"] for event in events]
    lost = {message["id"] for message in sent} - set(ids)
    arrived = set(ids)
    own = {message.text for message in outgoing}
    misread = [event.data["text"] for event in events if event.data["text"] in own]
    in_order = all(
        [event.data["message_id"] for event in events if event.data["chat_id"] == chat]
        == [
            message["id"]
            for message in sent
            if message["from"] == chat and message["id"] in arrived
        ]
        for chat in CHATS
    )
    buffered = sum(1 for event in events if event.data["buffered"])

    # Outgoing messages: each performed once by the bridge, in the order asked, each
    # confirmed once with the id the bridge gave it.
    performed = bridge.session(SESSION).sent
    texts = [record["text"] for record in performed]
    not_sent = own - set(texts)
    confirmed = {event.data["queue_id"]: event.data["message_id"] for event in sent_events}
    queued = sum(1 for message in outgoing if message.status == "queued")

    # The overhead we add: truth up, link not connected, per incident.
    overheads: dict[str, list[float]] = {"blip": [], "restart": [], "half_open": []}
    for number, incident in enumerate(incidents):
        following = incidents[number + 1].start if number + 1 < len(incidents) else DAY
        overheads[incident.kind].append(link.off_time(t0 + incident.truth_back, t0 + following))
    worst = {kind: max(values, default=0.0) for kind, values in overheads.items()}
    noticed = [
        next(at for at, on in link.changes if at >= t0 + incident.start and not on)
        - (t0 + incident.start)
        for incident in incidents
        if incident.kind == "half_open"
    ]

    # Availability: the sensor against the truth over the same 24 h.
    truth_down = sum(incident.truth_back - incident.start for incident in incidents)
    truth = 100 * (1 - truth_down / DAY)
    await advance(hass, freezer, 60)  # a poll publishes the last minute
    sensor = float(state_of(hass, AVAILABILITY))

    # The figures first: they are reported whatever the checks below find.
    restarts = [incident for incident in incidents if incident.kind == "restart"]
    report(
        "day: incidents (blips, restarts, half-open)",
        f"{len(incidents)} ({len(overheads['blip'])}, {len(restarts)}, {
            len(overheads['half_open'])
        })",
    )
    report(
        "day: incoming messages sent / delivered / buffered",
        f"{len(sent)} / {len(ids)} / {buffered}",
    )
    report(
        "day: incoming lost / duplicated",
        f"{len(lost)} / {len(ids) - len(set(ids))}",
    )
    report(
        "day: outgoing messages asked / performed (queued first)",
        f"{len(outgoing)} / {len(texts)} ({queued})",
    )
    report(
        "day: outgoing lost / duplicated",
        f"{len(not_sent)} / {len(texts) - len(set(texts))}",
    )
    report(
        "day: added downtime per incident, worst (blip, restart, half-open)",
        ", ".join(f"{worst[kind]:.1f} s" for kind in ("blip", "restart", "half_open")),
    )
    report(
        "day: added downtime total",
        f"{sum(sum(values) for values in overheads.values()):.1f} s",
    )
    report(
        "day: restarts, bridge down (added downtime)",
        ", ".join(
            f"{incident.duration:.0f} s ({added:.1f} s)"
            for incident, added in zip(restarts, overheads["restart"], strict=True)
        ),
    )
    report("day: half-open link noticed after", ", ".join(f"{value:.1f} s" for value in noticed))
    report("day: availability sensor / truth", f"{sensor:.2f} % / {truth:.2f} %")

    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert not misread, f"own messages delivered as incoming: {misread[:3]}"
    if lost:
        raise LostMessageError(f"{len(lost)} incoming messages lost")
    assert in_order, "a chat's messages were delivered out of order"
    assert len(texts) == len(set(texts)), "an outgoing message was sent twice"
    assert not not_sent, f"outgoing messages never sent: {sorted(not_sent)[:3]}"
    assert texts == [message.text for message in outgoing], "outgoing messages out of order"
    assert [record["chat_id"] for record in performed] == [m.chat for m in outgoing]
    assert failed_events == []
    assert len(confirmed) == len(sent_events) == len(outgoing), "a send confirmed twice"
    assert [
        message.ref if message.status == "sent" else confirmed[message.ref] for message in outgoing
    ] == [record["message_id"] for record in performed], "a send confirmed with a wrong id"
    if max(worst.values()) > MAX_ADDED_DOWNTIME:
        raise AddedDowntimeError(worst)
    assert abs(sensor - truth) <= 0.1, (sensor, truth)
