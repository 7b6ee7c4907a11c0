"""Replay one seeded week of bridge faults against our reconnect policy and four others.

A discrete-event simulation in virtual time (no sleeps, no Home Assistant): one fixed fault
schedule, drawn from a seeded `random.Random`, is replayed against five reconnect policies,
each a small function written from the facts in `waha-bridge.md` ("What others do on
reconnect"). Ours is the integration's own `BackoffPolicy` (cap `backoff_max` 300 s, counter
reset after `BACKOFF_RESET_AFTER` s connected) plus the coordinator's stop rules: no request
after a rejected key until the user re-enters it, one session restart after a logout and then
wait for the user, and a WhatsApp blip is followed on the open stream, not reconnected.

Run: `python -m benchmarks.policy_simulation [--seed N]` or `scripts/bench -k policy`.
Every modelling assumption is listed in `ASSUMPTIONS` and printed under the table.
"""

from __future__ import annotations

import argparse
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import random

from custom_components.whatsapp_gateway.const import (
    BACKOFF_RESET_AFTER,
    CONF_BACKOFF_MAX,
    CONF_HEARTBEAT,
    DEFAULT_OPTIONS,
)
from custom_components.whatsapp_gateway.link.backoff import BackoffPolicy

SEED = 20260521

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY

# The reported pattern (design.md, issue 5): one WhatsApp blip every 15-20 min lasting 2-30 s,
# a bridge restart every few hours with the bridge unreachable for 20-120 s, a half-open link
# twice a day, one logout from the phone and one API-key rotation, each fixed by the user.
BLIP_EVERY = (15 * MINUTE, 20 * MINUTE)
BLIP_LASTS = (2.0, 30.0)
RESTART_EVERY = (2 * HOUR, 6 * HOUR)
RESTART_LASTS = (20.0, 120.0)
HALF_OPENS_PER_DAY = 2
LOGOUT_WINDOW = (1 * DAY, 3 * DAY)
KEY_ROTATION_WINDOW = (4 * DAY, 6 * DAY)
LOGOUT_FIXED_AFTER = 6 * HOUR
KEY_FIXED_AFTER = 8 * HOUR
# Faults are kept apart so every incident is measured on its own: no fault starts within this
# margin of another one (colliding blips and restarts are dropped, half-opens redrawn).
QUIET_MARGIN = 10 * MINUTE
# A client that gave up outside an incident the user fixes anyway stays down this long.
MANUAL_RESTART_AFTER = 4 * HOUR

# Ours: the integration's defaults.
OUR_BACKOFF = BackoffPolicy(maximum=float(DEFAULT_OPTIONS[CONF_BACKOFF_MAX]))
OUR_HEARTBEAT = float(DEFAULT_OPTIONS[CONF_HEARTBEAT])
OUR_PONG_WAIT = 15.0
# Baileys (the WhatsApp library under all four other clients): a keepalive tick every 30 s;
# a tick that finds no frame for 35 s ends the socket with 408.
BAILEYS_KEEPALIVE = 30.0
BAILEYS_SILENCE = 35.0
# OpenClaw's reconnect policy.
OPENCLAW_INITIAL = 2.0
OPENCLAW_FACTOR = 1.8
OPENCLAW_MAX = 30.0
OPENCLAW_JITTER = 0.25
OPENCLAW_MAX_ATTEMPTS = 12
OPENCLAW_RESET_AFTER = 60.0
# FaserF/ha-whatsapp: fixed 3 s, 120 s once the outage is 15 min old.
FASERF_FAST = 3.0
FASERF_SLOW = 120.0
FASERF_SLOW_AFTER = 15 * MINUTE
# giuseppecastaldo/ha-addons: every 1 s; nanoclaw: systemd restarts the process every 5 s.
EVERY_SECOND = 1.0
SUPERVISOR_RESTART = 5.0


def describe_backoff(policy: BackoffPolicy) -> str:
    """Return the ceilings of `policy` run-length encoded, e.g. "1, 2 x89, 4, 8, ... 300 s"."""
    runs: list[tuple[float, int]] = []
    attempt = 1
    while True:
        ceiling = policy.ceiling(attempt)
        if runs and runs[-1][0] == ceiling:
            runs[-1] = (ceiling, runs[-1][1] + 1)
        else:
            runs.append((ceiling, 1))
        if ceiling >= policy.maximum:
            break
        attempt += 1
    return ", ".join(
        f"{value:g}" + (f" x{count}" if count > 1 else "") for value, count in runs
    ) + (" s, then the cap")


ASSUMPTIONS: tuple[str, ...] = (
    f"Ours: BackoffPolicy ceilings {describe_backoff(OUR_BACKOFF)} (jitter shortens each by up "
    f"to {OUR_BACKOFF.jitter:.0%}); the counter restarts after {BACKOFF_RESET_AFTER:g} s "
    "connected, as in the coordinator's _link_lost.",
    "Faults never overlap: each starts at least 10 min after the previous one ended "
    "(colliding blips and restarts are dropped, half-opens redrawn within their half day).",
    "Bridge restart: sockets are closed with 1001, so every client notices at once; a connect "
    "succeeds from the moment the bridge answers again (the session's boot is part of the fault).",
    "API-key rotation = a bridge restart with the new key (WAHA reads the key from its "
    "environment), then every connect gets 401/1008 until the user enters the new key (8 h).",
    "The user's fix (QR scan after the logout at +6 h, new key at +8 h) brings every client "
    "back at once, also one that stopped or gave up; it is not counted as the policy's attempt.",
    "A client that gives up outside such an incident stays down until a manual restart 4 h "
    "later; that wait counts as added downtime.",
    "Half-open link: the bridge stays reachable, so all the time from the link dying to the "
    "reconnect is added downtime (the fault itself lasts 0 s).",
    "Ours notices a half-open link after U(0, 30) s until its next heartbeat ping plus the 15 s "
    "pong wait (15-45 s).",
    "All four others run on Baileys (ha-addons vendors it, FaserF's add-on and OpenClaw document "
    "it, nanoclaw assumed): a half-open link ends at the second 30-s keepalive tick after it "
    "died (35 s without a frame, checked per tick): 30-60 s. whatsmeow's 20-30 s + 10 s "
    "applies to none of them (it is the bridge's GOWS engine).",
    "A WhatsApp blip is the Baileys 408 for the others: their socket ends, they reconnect by "
    "their policy and a connect during the blip fails. Ours keeps the stream and follows "
    "STARTING -> WORKING: no attempt, nothing added.",
    "ha-addons retries every 1 s after every failure, a logout and a rejected key included.",
    "FaserF waits 3 s while the outage is younger than 15 min, then 120 s, for every failure.",
    "OpenClaw: delay min(30, 2 x 1.8^(n-1) x (1 + 0.25 r)) (its computeBackoff adds the jitter); "
    "it stops on a logout; a rejected key is not one of its terminal codes, so it retries it "
    "and gives up after 12 attempts; the counter resets after 60 s connected.",
    "nanoclaw before its circuit breaker: every exit, not only an auth failure, is restarted by "
    "systemd 5 s later; process start-up time is not modelled.",
    "Ours after a logout: 1 session restart, then it waits in the pairing repair; its 60-s "
    "status poll (a read of the session, not a reconnect or restart) is not counted.",
    "An attempt is one connection try (or one session restart), whatever it costs in requests.",
)


# --------------------------------------------------------------------------------------
# The fault schedule


class FaultKind(StrEnum):
    """What went wrong."""

    BLIP = "WhatsApp blip"
    BRIDGE_RESTART = "bridge restart"
    HALF_OPEN = "half-open link"
    LOGOUT = "logout"
    KEY_ROTATION = "key rotation"


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault, from `start` until `end`, when the fault itself is over.

    `end` is when the blip is over, when the bridge answers again, or when the user fixed it
    (logout, key rotation); a half-open link ends where it starts (the bridge stays reachable).
    `unreachable_until` is when the bridge answers again (bridge restart, key rotation).
    """

    kind: FaultKind
    start: float
    end: float
    unreachable_until: float | None = None

    @property
    def length(self) -> float:
        """Return how long the fault itself lasts."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Schedule:
    """A sorted, non-overlapping list of faults; `seed` seeds the policies' jitter too."""

    seed: int
    length: float
    faults: tuple[Fault, ...]
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the order and that no two faults overlap."""
        for earlier, later in zip(self.faults, self.faults[1:], strict=False):
            if later.start < earlier.end or later.start < earlier.start:
                raise ValueError(f"faults overlap or are unsorted: {earlier} / {later}")
        object.__setattr__(self, "_starts", tuple(fault.start for fault in self.faults))

    def of(self, kind: FaultKind) -> list[Fault]:
        """Return the faults of one kind."""
        return [fault for fault in self.faults if fault.kind is kind]

    def index_at(self, at: float) -> int:
        """Return the index of the last fault that started at or before `at`, or -1."""
        return bisect_right(self._starts, at) - 1

    def in_effect(self, at: float) -> Fault | None:
        """Return the fault in effect at `at` (start <= at < end), if any."""
        index = self.index_at(at)
        if index < 0:
            return None
        fault = self.faults[index]
        return fault if at < fault.end else None

    def unreachable(self) -> list[tuple[float, float]]:
        """Return the periods the bridge does not answer."""
        return [
            (fault.start, fault.unreachable_until)
            for fault in self.faults
            if fault.unreachable_until is not None
        ]


def _collides(start: float, end: float, placed: Sequence[Fault]) -> bool:
    return any(
        start < fault.end + QUIET_MARGIN and fault.start < end + QUIET_MARGIN for fault in placed
    )


def make_schedule(seed: int = SEED, length: float = WEEK) -> Schedule:
    """Draw the reported pattern for `length` seconds from `random.Random(seed)`."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not a secret
    placed: list[Fault] = []

    logout_at = rng.uniform(*LOGOUT_WINDOW)
    placed.append(Fault(FaultKind.LOGOUT, logout_at, logout_at + LOGOUT_FIXED_AFTER))
    rotated_at = rng.uniform(*KEY_ROTATION_WINDOW)
    back_at = rotated_at + rng.uniform(*RESTART_LASTS)
    placed.append(Fault(FaultKind.KEY_ROTATION, rotated_at, rotated_at + KEY_FIXED_AFTER, back_at))

    at = rng.uniform(*RESTART_EVERY)
    while at < length:
        back = at + rng.uniform(*RESTART_LASTS)
        if back < length and not _collides(at, back, placed):
            placed.append(Fault(FaultKind.BRIDGE_RESTART, at, back, back))
        at += rng.uniform(*RESTART_EVERY)

    half_day = DAY / HALF_OPENS_PER_DAY
    for part in range(round(length / half_day)):
        while True:
            at = rng.uniform(part * half_day, (part + 1) * half_day)
            if not _collides(at, at, placed):
                placed.append(Fault(FaultKind.HALF_OPEN, at, at))
                break

    at = rng.uniform(*BLIP_EVERY)
    while at < length:
        over = at + rng.uniform(*BLIP_LASTS)
        if over < length and not _collides(at, over, placed):
            placed.append(Fault(FaultKind.BLIP, at, over))
        at += rng.uniform(*BLIP_EVERY)

    return Schedule(seed, length, tuple(sorted(placed, key=lambda fault: fault.start)))


# --------------------------------------------------------------------------------------
# The policies


class Failure(StrEnum):
    """Why the link is down, as the client sees it."""

    LINK = "link"  # bridge unreachable, link dead, WhatsApp side reconnecting
    AUTH = "auth"  # the bridge rejects the API key (401 / 1008)
    LOGGED_OUT = "logged out"  # the WhatsApp login is gone


class Stop(StrEnum):
    """A policy's decision not to schedule another attempt."""

    WAIT_FOR_USER = "wait for the user"  # by design: idle until the user's fix
    GIVE_UP = "give up"  # the retry budget ran out: needs a manual restart


@dataclass(frozen=True, slots=True)
class Retry:
    """What a policy knows when it decides on the next attempt.

    `step` is the attempt counter (1-based; it survives a short reconnect when the policy has a
    reset rule), `elapsed` the seconds since the client noticed this outage, and `seen` how many
    times this outage has shown `failure` so far (the drop itself counts).
    """

    step: int
    failure: Failure
    elapsed: float
    seen: int


type Decision = float | Stop
# (what the client knows, a random fraction in [0, 1)) -> delay before the attempt, or a stop.
type PolicyFn = Callable[[Retry, float], Decision]


def every_second(retry: Retry, rand: float) -> Decision:
    """giuseppecastaldo/ha-addons: retry every 1 s, forever, whatever failed."""
    return EVERY_SECOND


def faserf(retry: Retry, rand: float) -> Decision:
    """FaserF/ha-whatsapp: fixed 3 s, then 120 s once the outage is 15 min old."""
    return FASERF_FAST if retry.elapsed < FASERF_SLOW_AFTER else FASERF_SLOW


def openclaw(retry: Retry, rand: float) -> Decision:
    """OpenClaw: 2 s x1.8 up to 30 s plus up to 25 % jitter; stops on logout, gives up after 12."""
    if retry.failure is Failure.LOGGED_OUT:
        return Stop.WAIT_FOR_USER
    if retry.step > OPENCLAW_MAX_ATTEMPTS:
        return Stop.GIVE_UP
    base = OPENCLAW_INITIAL * OPENCLAW_FACTOR ** (retry.step - 1)
    return min(OPENCLAW_MAX, base * (1.0 + OPENCLAW_JITTER * rand))


def supervisor(retry: Retry, rand: float) -> Decision:
    """Nanoclaw before its circuit breaker: the process exits, systemd restarts it after 5 s."""
    return SUPERVISOR_RESTART


def ours(retry: Retry, rand: float) -> Decision:
    """The integration: BackoffPolicy; idle after a rejected key; one restart after a logout."""
    if retry.failure is Failure.AUTH:
        return Stop.WAIT_FOR_USER
    if retry.failure is Failure.LOGGED_OUT:
        return 0.0 if retry.seen == 1 else Stop.WAIT_FOR_USER
    return OUR_BACKOFF.delay(retry.step, rand)


def ours_half_open(rng: random.Random) -> float:
    """Time until ours notices a dead socket: the next heartbeat ping, then the pong wait."""
    return rng.uniform(0.0, OUR_HEARTBEAT) + OUR_PONG_WAIT


def baileys_half_open(rng: random.Random) -> float:
    """Time until Baileys ends a dead socket with 408.

    The last frame is the answer to the previous tick's ping; the next tick finds 30 s of
    silence (< 35 s) and pings again, the one after ends the socket: 60 s minus the phase.
    """
    return 2 * BAILEYS_KEEPALIVE - rng.uniform(0.0, BAILEYS_KEEPALIVE)


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A policy and how its client sees the faults."""

    name: str
    rule: str
    policy: PolicyFn
    blip_is_drop: bool
    half_open_detection: Callable[[random.Random], float]
    # Connected this long, the next drop starts the counter from 1; None: every drop does.
    reset_after: float | None


POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec(
        "giuseppecastaldo/ha-addons",
        "every 1 s forever",
        every_second,
        blip_is_drop=True,
        half_open_detection=baileys_half_open,
        reset_after=None,
    ),
    PolicySpec(
        "FaserF/ha-whatsapp",
        "3 s, 120 s after 15 min",
        faserf,
        blip_is_drop=True,
        half_open_detection=baileys_half_open,
        reset_after=None,
    ),
    PolicySpec(
        "OpenClaw",
        "2 s x1.8 cap 30 s, 12 tries",
        openclaw,
        blip_is_drop=True,
        half_open_detection=baileys_half_open,
        reset_after=OPENCLAW_RESET_AFTER,
    ),
    PolicySpec(
        "nanoclaw (pre circuit breaker)",
        "systemd restart every 5 s",
        supervisor,
        blip_is_drop=True,
        half_open_detection=baileys_half_open,
        reset_after=None,
    ),
    PolicySpec(
        "ours (whatsapp_gateway)",
        f"BackoffPolicy, cap {OUR_BACKOFF.maximum:g} s, stop rules",
        ours,
        blip_is_drop=False,
        half_open_detection=ours_half_open,
        reset_after=BACKOFF_RESET_AFTER,
    ),
)


# --------------------------------------------------------------------------------------
# The simulation


@dataclass(slots=True)
class Run:
    """What happened to one policy: its attempts, its outages, its give-ups."""

    spec: PolicySpec
    attempts: list[float] = field(default_factory=list)
    downs: list[tuple[float, float]] = field(default_factory=list)
    gave_up: list[float] = field(default_factory=list)
    manual_restarts: int = 0
    blip_reconnects: int = 0


def _try_connect(schedule: Schedule, spec: PolicySpec, at: float) -> tuple[Failure | None, float]:
    """Return why a connect at `at` fails, or (None, when the link is up)."""
    fault = schedule.in_effect(at)
    if fault is None:
        return None, at
    match fault.kind:
        case FaultKind.BRIDGE_RESTART:
            return Failure.LINK, at
        case FaultKind.KEY_ROTATION:
            back = fault.unreachable_until
            return (Failure.LINK if back is not None and at < back else Failure.AUTH), at
        case FaultKind.LOGOUT:
            return Failure.LOGGED_OUT, at
        case FaultKind.BLIP if spec.blip_is_drop:
            return Failure.LINK, at
        case _:
            # Ours: the stream opens; the session status follows STARTING -> WORKING.
            return None, fault.end


def _user_fix(schedule: Schedule, at: float) -> float | None:
    """Return when the user fixes the incident in effect at `at`, if it is one they fix."""
    fault = schedule.in_effect(at)
    if fault is not None and fault.kind in (FaultKind.LOGOUT, FaultKind.KEY_ROTATION):
        return fault.end
    return None


def _recover(
    schedule: Schedule,
    run: Run,
    rng: random.Random,
    noticed: float,
    failure: Failure,
    step: int,
) -> tuple[float, int]:
    """Follow the policy from the noticed drop until connected; return (when, counter)."""
    spec = run.spec
    at = noticed
    outage_start = noticed
    seen = {failure: 1}
    while True:
        decision = spec.policy(
            Retry(step + 1, failure, at - outage_start, seen[failure]), rng.random()
        )
        if isinstance(decision, Stop):
            fix = _user_fix(schedule, at)
            if decision is Stop.GIVE_UP:
                run.gave_up.append(at)
            if fix is None:
                run.manual_restarts += 1
                at += MANUAL_RESTART_AFTER
                run.attempts.append(at)
            else:
                at = fix
            step = 0
            outage_start = at
            seen = {}
        else:
            fix = _user_fix(schedule, at)
            if fix is not None and at + decision >= fix:
                return fix, 0  # the user's fix comes first and brings the client back
            step += 1
            at += decision
            run.attempts.append(at)
        result, up_at = _try_connect(schedule, spec, at)
        if result is None:
            return up_at, step
        failure = result
        seen[failure] = seen.get(failure, 0) + 1


def simulate(schedule: Schedule, spec: PolicySpec, rng: random.Random | None = None) -> Run:
    """Replay `schedule` against one policy; its jitter comes from a per-policy seeded RNG."""
    if rng is None:
        rng = random.Random(f"{schedule.seed}/{spec.name}")  # noqa: S311 - reproducible jitter
    run = Run(spec)
    up_since = 0.0
    step = 0
    for fault in schedule.faults:
        if fault.start < up_since:
            continue  # it began while the link was down: the attempts met it already
        if fault.kind is FaultKind.BLIP and not spec.blip_is_drop:
            continue
        noticed = fault.start
        if fault.kind is FaultKind.HALF_OPEN:
            noticed += spec.half_open_detection(rng)
        elif fault.kind is FaultKind.BLIP:
            run.blip_reconnects += 1
        if spec.reset_after is None or noticed - up_since >= spec.reset_after:
            step = 0
        failure = Failure.LOGGED_OUT if fault.kind is FaultKind.LOGOUT else Failure.LINK
        up_since, step = _recover(schedule, run, rng, noticed, failure, step)
        run.downs.append((fault.start, up_since))
    return run


# --------------------------------------------------------------------------------------
# The figures


@dataclass(frozen=True, slots=True)
class Metrics:
    """The figures of one policy over one schedule."""

    name: str
    rule: str
    blip_is_drop: bool
    blip_reconnects: int
    attempts: int
    outage_attempts: int
    outage_hours: float
    logout_attempts: int
    key_attempts: int
    added: tuple[float, ...]  # per fault, in schedule order
    added_by_kind: dict[FaultKind, float]
    gave_up: int
    manual_restarts: int

    @property
    def outage_rate(self) -> float:
        """Return the connection attempts per hour of bridge-unreachable time."""
        return self.outage_attempts / self.outage_hours if self.outage_hours else 0.0

    @property
    def added_total(self) -> float:
        """Return the downtime added on top of the faults, in seconds."""
        return sum(self.added)

    @property
    def added_mean(self) -> float:
        """Return the added downtime per incident, in seconds."""
        return self.added_total / len(self.added) if self.added else 0.0

    @property
    def added_worst(self) -> float:
        """Return the most downtime added to one incident, in seconds."""
        return max(self.added, default=0.0)


def _count_in(times: Sequence[float], start: float, end: float) -> int:
    return bisect_left(times, end) - bisect_left(times, start)


def added_downtime(schedule: Schedule, downs: Sequence[tuple[float, float]]) -> list[float]:
    """Return per fault the downtime outside every fault, charged to the last fault begun."""
    added = [0.0] * len(schedule.faults)
    faults = schedule.faults
    for down_from, down_to in downs:
        cursor = down_from
        index = max(schedule.index_at(down_from), 0)
        while cursor < down_to:
            while index < len(faults) and faults[index].end <= cursor:
                index += 1
            if index < len(faults) and faults[index].start <= cursor:
                cursor = faults[index].end  # inside a fault: the fault's own time
                continue
            next_start = faults[index].start if index < len(faults) else down_to
            gap_end = min(down_to, next_start)
            added[max(schedule.index_at(cursor), 0)] += gap_end - cursor
            cursor = gap_end
    return added


def measure(schedule: Schedule, run: Run) -> Metrics:
    """Turn one run into the table's figures."""
    unreachable = schedule.unreachable()
    added = added_downtime(schedule, run.downs)
    by_kind: dict[FaultKind, float] = {}
    for fault, seconds in zip(schedule.faults, added, strict=True):
        by_kind[fault.kind] = by_kind.get(fault.kind, 0.0) + seconds
    logout = schedule.of(FaultKind.LOGOUT)
    keys = schedule.of(FaultKind.KEY_ROTATION)
    return Metrics(
        name=run.spec.name,
        rule=run.spec.rule,
        blip_is_drop=run.spec.blip_is_drop,
        blip_reconnects=run.blip_reconnects,
        attempts=len(run.attempts),
        outage_attempts=sum(_count_in(run.attempts, a, b) for a, b in unreachable),
        outage_hours=sum(b - a for a, b in unreachable) / HOUR,
        logout_attempts=sum(_count_in(run.attempts, f.start, f.end) for f in logout),
        key_attempts=sum(_count_in(run.attempts, f.start, f.end) for f in keys),
        added=tuple(added),
        added_by_kind=by_kind,
        gave_up=len(run.gave_up),
        manual_restarts=run.manual_restarts,
    )


def run_all(seed: int = SEED) -> tuple[Schedule, list[Metrics]]:
    """Draw the schedule for `seed` and replay it against every policy (ours last)."""
    schedule = make_schedule(seed)
    return schedule, [measure(schedule, simulate(schedule, spec)) for spec in POLICIES]


# --------------------------------------------------------------------------------------
# The report


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 2 * HOUR:
        return f"{seconds / MINUTE:.1f} min"
    return f"{seconds / HOUR:.2f} h"


def _ratio(ours_value: float, theirs: float) -> str:
    if theirs == 0:
        return f"{ours_value:g} vs 0" if ours_value else "both 0"
    ratio = ours_value / theirs
    return f"{ratio:.2f}x" if ratio >= 0.01 else f"1/{1 / ratio:,.0f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(line[col]) for line in (header, *rows)) for col in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(
            cell.ljust(width) if col == 0 else cell.rjust(width)
            for col, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(header), "-+-".join("-" * width for width in widths), *(line(r) for r in rows)]


def describe(schedule: Schedule) -> list[str]:
    """Return the schedule summary lines."""
    lines = [f"Schedule: seed {schedule.seed}, {schedule.length / DAY:g} days, faults:"]
    for kind in FaultKind:
        faults = schedule.of(kind)
        total = sum(fault.length for fault in faults)
        detail = f"  {kind}: {len(faults)}, fault time {_duration(total)}"
        if kind is FaultKind.BLIP:
            detail += f" ({BLIP_LASTS[0]:g}-{BLIP_LASTS[1]:g} s each, bridge reachable)"
        elif kind is FaultKind.BRIDGE_RESTART:
            detail += f" (unreachable {RESTART_LASTS[0]:g}-{RESTART_LASTS[1]:g} s each)"
        elif kind is FaultKind.HALF_OPEN:
            detail += " (0 s: the bridge stays reachable, the socket is dead)"
        elif kind is FaultKind.LOGOUT:
            detail += f" (the user re-links after {_duration(LOGOUT_FIXED_AFTER)})"
        else:
            downs = [f.unreachable_until - f.start for f in faults if f.unreachable_until]
            detail += (
                f" (bridge restart of {', '.join(_duration(d) for d in downs)}, then 401"
                f" until the user's new key after {_duration(KEY_FIXED_AFTER)})"
            )
        lines.append(detail)
    unreachable = sum(b - a for a, b in schedule.unreachable())
    lines.append(
        f"  total: {len(schedule.faults)} incidents, fault time"
        f" {_duration(sum(f.length for f in schedule.faults))}"
        f" (bridge unreachable {_duration(unreachable)})"
    )
    return lines


def render(schedule: Schedule, metrics: Sequence[Metrics]) -> str:
    """Return the whole report: schedule, table, breakdown, ratios, assumptions."""
    lines = [f"Reconnect policies over one simulated week of bridge faults (seed {schedule.seed})"]
    lines += describe(schedule)
    lines.append("")
    header = (
        "policy",
        "rule",
        "blip = reconnect",
        "attempts/h in outages",
        "attempts after logout",
        "attempts after key rotation",
        "attempts in week",
        "added downtime",
        "added per incident",
        "worst incident",
        "gave up (manual restarts)",
    )
    rows = [
        (
            m.name,
            m.rule,
            f"yes ({m.blip_reconnects})" if m.blip_is_drop else "no (0)",
            f"{m.outage_rate:.0f}",
            str(m.logout_attempts),
            str(m.key_attempts),
            str(m.attempts),
            _duration(m.added_total),
            f"{m.added_mean:.2f} s",
            _duration(m.added_worst),
            f"{m.gave_up} ({m.manual_restarts})" if m.gave_up or m.manual_restarts else "no",
        )
        for m in metrics
    ]
    lines += _table(header, rows)
    lines.append("")
    lines.append("Added downtime per incident by fault (mean seconds):")
    kinds = list(FaultKind)
    counts = {kind: len(schedule.of(kind)) for kind in kinds}
    lines += _table(
        ("policy", *(f"{kind} ({counts[kind]})" for kind in kinds)),
        [
            (
                m.name,
                *(
                    f"{m.added_by_kind.get(kind, 0.0) / counts[kind]:.2f}" if counts[kind] else "-"
                    for kind in kinds
                ),
            )
            for m in metrics
        ],
    )
    mine = metrics[-1]
    lines.append("")
    lines.append(f"Ratios {mine.name} / each other policy (below 1: ours does less):")
    lines += _table(
        (
            "vs",
            "attempts/h in outages",
            "after logout",
            "after key rotation",
            "in week",
            "added downtime",
        ),
        [
            (
                other.name,
                _ratio(mine.outage_rate, other.outage_rate),
                _ratio(mine.logout_attempts, other.logout_attempts),
                _ratio(mine.key_attempts, other.key_attempts),
                _ratio(mine.attempts, other.attempts),
                _ratio(mine.added_total, other.added_total),
            )
            for other in metrics[:-1]
        ],
    )
    lines.append("")
    lines.append("Assumptions:")
    lines += [f"- {assumption}" for assumption in ASSUMPTIONS]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report for the default seed, or for `--seed N`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=SEED, help=f"schedule seed (default {SEED})")
    args = parser.parse_args(argv)
    schedule, metrics = run_all(args.seed)
    print(render(schedule, metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
