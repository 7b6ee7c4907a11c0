"""A simulated day of the reported fault pattern, over real sockets in frozen time.

The schedule (seeded): a WhatsApp-side blip every 15-20 min lasting 2-30 s, a bridge restart
about every four hours (down 5-90 s, then the session takes 2-8 s to work again), a half-open
link twice a day (the socket dies silently; a fresh connection would work), and a message
every 90-150 s from one of five chats. WhatsApp hands messages to the bridge only while the
session works, so those of a blip or a restart reach the bridge when it works again.

The truth is when the bridge's session is WORKING and reachable. Measured and asserted: no
message lost or duplicated and each chat in order; per incident, at most 2 s when the truth
is up and our link is not (the overhead we add); the availability sensor within 0.1
percentage point of the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import EVENT_MESSAGE_RECEIVED

from ..conftest import SESSION
from ..helpers import AVAILABILITY, CONNECTED, advance, settle, setup_connected, state_of

DAY = 24 * 3600.0
SEED = 20261121
CHATS = [f"49176000000{n}@c.us" for n in range(5)]
RESTART_EVERY = 14  # incidents (about four hours)
HALF_OPEN_AT = (20, 60)  # incident numbers
QUIET_STEP = 20.0  # between incidents
BUSY_STEP = 0.5  # while an incident runs or the link is not back yet
TICK = 0.001  # frozen time moves in whole microseconds: closer than this is "now"


@dataclass
class Incident:
    """One fault: when it starts, what it is, how long it lasts (and the session's restart)."""

    start: float
    kind: str  # blip, restart, half_open
    duration: float
    session_start: float = 0.0

    @property
    def truth_back(self) -> float:
        """When the session works and is reachable again (a half-open never takes it down)."""
        if self.kind == "half_open":
            return self.start
        return self.start + self.duration + self.session_start


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


async def test_a_day_of_faults(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    report: Callable[[str, object], None],
) -> None:
    rng = random.Random(SEED)  # noqa: S311 (a reproducible schedule, not a secret)
    incidents, message_plan = schedule(rng)
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    await setup_connected(hass, config_entry)
    link = Link(hass)
    t0 = dt_util.utcnow().timestamp()
    sent: list[dict[str, Any]] = []
    held: list[str] = []  # chats of messages WhatsApp holds until the session works again

    def now() -> float:
        return dt_util.utcnow().timestamp() - t0

    async def deliver(chat: str) -> None:
        sent.append(await bridge.emit_message(SESSION, chat_id=chat, body=f"m{len(sent)}"))

    async def session_works_again() -> None:
        await bridge.set_status(SESSION, SessionStatus.WORKING)
        for chat in held:
            await deliver(chat)
        held.clear()

    # The driver: (time, action) in order; the session counts as down between the actions.
    actions: list[tuple[float, int, Callable[[], Any]]] = []
    down = False

    def session_down(value: bool) -> None:
        nonlocal down
        down = value

    for number, incident in enumerate(incidents):
        start, end = incident.start, incident.start + incident.duration
        if incident.kind == "blip":
            actions.append((start, number, lambda: bridge.blip(SESSION)))
            actions.append((start, number, lambda: session_down(True)))
            actions.append((end, number, lambda: session_down(False)))
            actions.append((end, number, session_works_again))
        elif incident.kind == "restart":
            actions.append((start, number, lambda: session_down(True)))
            actions.append((start, number, lambda: bridge.bridge_down(1001)))
            actions.append((end, number, bridge.bridge_up))
            back = incident.truth_back
            actions.append((back, number, lambda: session_down(False)))
            actions.append((back, number, session_works_again))
        else:
            # The socket dies silently; a fresh connection works (e.g. a NAT forgot the flow).
            actions.append((start, number, bridge.half_open))
            actions.append((start, number, bridge.heal))
    for at, chat in message_plan:
        actions.append((at, -1, lambda chat=chat: held.append(chat) if down else deliver(chat)))
    actions.sort(key=lambda action: action[0])

    async def step(seconds: float) -> None:
        # Settle first: moving time past an in-flight request would fire its timeout.
        await settle(hass, rounds=40)
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await settle(hass, rounds=40)

    # Fine steps only while our recovery is under way: after a restart until the link is
    # back, after a half-open until it was noticed and the link is back.
    recovering: list[str] = []

    def busy() -> bool:
        if recovering and recovering[0] == "noticed" and not link.on:
            recovering[0] = "reconnecting"
        elif recovering and recovering[0] != "noticed" and link.on:
            recovering.clear()
        return bool(recovering)

    async def run_until(at: float) -> None:
        while at - now() > TICK:
            await step(min(BUSY_STEP if busy() else QUIET_STEP, at - now()))

    for at, number, action in actions:
        await run_until(at)
        result = action()
        if result is not None:
            await result
        if number >= 0 and action in (bridge.bridge_up, bridge.half_open):
            recovering[:] = ["noticed" if action == bridge.half_open else "reconnecting"]
    await run_until(DAY)

    # Messages: each exactly once, each chat in order.
    ids = [event.data["message_id"] for event in events]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert set(ids) == {message["id"] for message in sent}, "a message was lost"
    for chat in CHATS:
        got = [event.data["message_id"] for event in events if event.data["chat_id"] == chat]
        assert got == [message["id"] for message in sent if message["from"] == chat]
    buffered = sum(1 for event in events if event.data["buffered"])

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
    assert max(worst.values()) <= 2.0, worst

    # Availability: the sensor against the truth over the same 24 h.
    truth_down = sum(incident.truth_back - incident.start for incident in incidents)
    truth = 100 * (1 - truth_down / DAY)
    await advance(hass, freezer, 60)  # a poll publishes the last minute
    sensor = float(state_of(hass, AVAILABILITY))
    assert abs(sensor - truth) <= 0.1, (sensor, truth)

    report(
        "day: incidents (blips, restarts, half-open)",
        f"{len(incidents)} ({len(overheads['blip'])}, {len(overheads['restart'])}, {
            len(overheads['half_open'])
        })",
    )
    report("day: messages sent / delivered / buffered", f"{len(sent)} / {len(ids)} / {buffered}")
    report("day: lost / duplicated", "0 / 0")
    report(
        "day: added downtime per incident, worst (blip, restart, half-open)",
        ", ".join(f"{worst[kind]:.1f} s" for kind in ("blip", "restart", "half_open")),
    )
    report(
        "day: added downtime total",
        f"{sum(sum(values) for values in overheads.values()):.1f} s",
    )
    report("day: half-open link noticed after", ", ".join(f"{value:.1f} s" for value in noticed))
    report("day: availability sensor / truth", f"{sensor:.2f} % / {truth:.2f} %")
