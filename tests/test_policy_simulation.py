"""The reconnect-policy simulation: its seeded schedule, the policy functions, the accounting."""

from __future__ import annotations

from collections import Counter
import itertools
import random

import pytest

from benchmarks.policy_simulation import (
    DAY,
    HOUR,
    KEY_FIXED_AFTER,
    LOGOUT_FIXED_AFTER,
    MANUAL_RESTART_AFTER,
    OUR_BACKOFF,
    POLICIES,
    QUIET_MARGIN,
    SEED,
    WEEK,
    Failure,
    Fault,
    FaultKind,
    PolicyFn,
    PolicySpec,
    Retry,
    Schedule,
    Stop,
    added_downtime,
    baileys_half_open,
    every_second,
    faserf,
    main,
    make_schedule,
    measure,
    openclaw,
    ours,
    ours_half_open,
    run_all,
    simulate,
    supervisor,
)


class FixedRandom(random.Random):
    """A random source that always draws `value` (0.0: no jitter, 0.999: the most)."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def spec_of(policy: PolicyFn) -> PolicySpec:
    return next(spec for spec in POLICIES if spec.policy is policy)


def one(kind: FaultKind, start: float, end: float, back: float | None = None) -> Schedule:
    return Schedule(1, end + DAY, (Fault(kind, start, end, back),))


def outage(seconds: float, at: float = 100.0) -> Schedule:
    return one(FaultKind.BRIDGE_RESTART, at, at + seconds, at + seconds)


def retry(step: int, failure: Failure = Failure.LINK, elapsed: float = 0.0, seen: int = 1) -> Retry:
    return Retry(step, failure, elapsed, seen)


# --------------------------------------------------------------------------------------
# The schedule


def test_the_schedule_is_deterministic_for_a_seed() -> None:
    assert make_schedule(SEED) == make_schedule(SEED)
    assert make_schedule(SEED).faults != make_schedule(SEED + 1).faults


@pytest.mark.parametrize("seed", [SEED, 1, 2, 3])
def test_the_schedule_has_the_reported_composition(seed: int) -> None:
    schedule = make_schedule(seed)
    assert schedule.seed == seed
    assert schedule.length == 7 * DAY

    (logout,) = schedule.of(FaultKind.LOGOUT)
    assert logout.length == LOGOUT_FIXED_AFTER == 6 * HOUR
    (key,) = schedule.of(FaultKind.KEY_ROTATION)
    assert key.length == KEY_FIXED_AFTER == 8 * HOUR
    assert key.unreachable_until is not None
    assert 20 <= key.unreachable_until - key.start <= 120

    half_opens = schedule.of(FaultKind.HALF_OPEN)
    assert len(half_opens) == 14
    assert Counter(int(fault.start // DAY) for fault in half_opens) == dict.fromkeys(range(7), 2)
    assert all(fault.length == 0 for fault in half_opens)

    restarts = schedule.of(FaultKind.BRIDGE_RESTART)
    assert 7 * 24 / 6 - 6 <= len(restarts) <= 7 * 24 / 2
    assert all(20 <= fault.length <= 120 for fault in restarts)
    assert all(fault.unreachable_until == fault.end for fault in restarts)
    assert all(b.start - a.start >= 2 * HOUR for a, b in itertools.pairwise(restarts))

    blips = schedule.of(FaultKind.BLIP)
    assert 400 <= len(blips) <= WEEK / (15 * 60)
    assert all(2 <= fault.length <= 30 for fault in blips)
    assert all(fault.unreachable_until is None for fault in blips)
    assert all(b.start - a.start >= 15 * 60 for a, b in itertools.pairwise(blips))

    # Every incident is measured on its own: the faults are sorted and kept apart.
    assert all(b.start >= a.end + QUIET_MARGIN for a, b in itertools.pairwise(schedule.faults))
    assert schedule.faults[-1].end < WEEK


def test_the_default_seed_draws_this_week() -> None:
    schedule = make_schedule()
    counts = Counter(fault.kind for fault in schedule.faults)
    assert counts == {
        FaultKind.BLIP: 465,
        FaultKind.BRIDGE_RESTART: 37,
        FaultKind.HALF_OPEN: 14,
        FaultKind.LOGOUT: 1,
        FaultKind.KEY_ROTATION: 1,
    }


def test_overlapping_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        Schedule(
            1,
            DAY,
            (
                Fault(FaultKind.BLIP, 10.0, 40.0),
                Fault(FaultKind.BRIDGE_RESTART, 30.0, 50.0, 50.0),
            ),
        )


# --------------------------------------------------------------------------------------
# The policy functions


@pytest.mark.parametrize("failure", list(Failure))
def test_every_second_and_the_supervisor_never_stop(failure: Failure) -> None:
    for step in (1, 2, 12, 13, 10_000):
        assert every_second(retry(step, failure, elapsed=step * 1.0), 0.5) == 1.0
        assert supervisor(retry(step, failure, elapsed=step * 5.0), 0.5) == 5.0


@pytest.mark.parametrize("failure", list(Failure))
def test_faserf_is_3_s_for_15_minutes_then_120_s(failure: Failure) -> None:
    assert faserf(retry(1, failure, elapsed=0.0), 0.5) == 3.0
    assert faserf(retry(300, failure, elapsed=899.9), 0.5) == 3.0
    assert faserf(retry(301, failure, elapsed=900.0), 0.5) == 120.0
    assert faserf(retry(500, failure, elapsed=6 * HOUR), 0.5) == 120.0


def test_openclaw_grows_by_1_8_up_to_30_s_and_gives_up_after_12() -> None:
    delays = [openclaw(retry(step), 0.0) for step in range(1, 13)]
    assert delays == pytest.approx([2, 3.6, 6.48, 11.664, 20.9952, 30, 30, 30, 30, 30, 30, 30])
    assert openclaw(retry(13), 0.0) is Stop.GIVE_UP
    assert openclaw(retry(13), 0.999) is Stop.GIVE_UP
    # Its jitter adds up to 25 %, and the cap still holds.
    assert openclaw(retry(1), 0.999) == pytest.approx(2 * 1.24975)
    assert openclaw(retry(5), 0.999) == pytest.approx(20.9952 * 1.24975)
    assert openclaw(retry(6), 0.999) == 30.0
    # It stops on a logout; a rejected key is just another failure to it.
    assert openclaw(retry(1, Failure.LOGGED_OUT), 0.0) is Stop.WAIT_FOR_USER
    assert openclaw(retry(3, Failure.AUTH), 0.0) == pytest.approx(6.48)


def test_ours_follows_the_integrations_backoff_and_never_exceeds_300_s() -> None:
    ceilings = [ours(retry(step), 0.0) for step in range(1, 2001)]
    assert ceilings == [OUR_BACKOFF.ceiling(step) for step in range(1, 2001)]
    assert ceilings[0] == 1.0
    assert max(ceilings) == 300.0
    assert ceilings[-1] == 300.0
    shortest = [ours(retry(step), 0.999) for step in range(1, 2001)]
    assert all(0.75 * high <= low <= high for low, high in zip(shortest, ceilings, strict=True))


def test_ours_makes_no_attempt_after_a_rejected_key() -> None:
    for step, seen in itertools.product((1, 2, 7, 95, 10_000), (1, 2, 50)):
        assert ours(retry(step, Failure.AUTH, seen=seen), 0.0) is Stop.WAIT_FOR_USER


def test_ours_restarts_once_after_a_logout_then_waits() -> None:
    assert ours(retry(1, Failure.LOGGED_OUT, seen=1), 0.3) == 0.0
    assert ours(retry(2, Failure.LOGGED_OUT, seen=2), 0.3) is Stop.WAIT_FOR_USER
    assert ours(retry(9, Failure.LOGGED_OUT, seen=5), 0.3) is Stop.WAIT_FOR_USER


def test_half_open_detection_times() -> None:
    assert ours_half_open(FixedRandom(0.0)) == 15.0
    assert ours_half_open(FixedRandom(0.999)) == pytest.approx(44.97)
    assert baileys_half_open(FixedRandom(0.0)) == 60.0
    assert baileys_half_open(FixedRandom(0.999)) == pytest.approx(30.03)


def test_ours_is_printed_last_and_only_ours_keeps_the_stream_through_a_blip() -> None:
    assert POLICIES[-1].policy is ours
    assert [spec.blip_is_drop for spec in POLICIES] == [True, True, True, True, False]


# --------------------------------------------------------------------------------------
# The simulator's accounting on hand-made schedules


def test_every_second_through_a_100_s_outage() -> None:
    schedule = outage(100.0)
    run = simulate(schedule, spec_of(every_second))
    assert run.attempts == [100.0 + n for n in range(1, 101)]
    assert run.downs == [(100.0, 200.0)]
    metrics = measure(schedule, run)
    assert metrics.outage_attempts == 99  # the 100th, at 200 s, finds the bridge back
    assert metrics.outage_rate == pytest.approx(99 / (100 / 3600))
    assert metrics.added_total < 1.0
    assert metrics.gave_up == metrics.manual_restarts == 0


def test_ours_through_a_100_s_outage_without_jitter() -> None:
    schedule = outage(100.0)
    run = simulate(schedule, spec_of(ours), FixedRandom(0.0))
    # The attempts come at the running sums of the policy's ceilings, until one is >= 100 s.
    sums = list(itertools.accumulate(OUR_BACKOFF.ceiling(step) for step in range(1, 200)))
    expected = sums[: next(i for i, total in enumerate(sums) if total >= 100.0) + 1]
    assert run.attempts == [100.0 + total for total in expected]
    added = measure(schedule, run).added_total
    assert added == pytest.approx(expected[-1] - 100.0)
    assert added <= OUR_BACKOFF.ceiling(len(expected))


def test_ours_through_a_100_s_outage_with_its_jitter() -> None:
    schedule = outage(100.0)
    run = simulate(schedule, spec_of(ours))
    ceilings = [OUR_BACKOFF.ceiling(step) for step in range(1, 200)]
    fewest = next(n for n in range(1, 200) if sum(ceilings[:n]) >= 100.0)
    floors = [OUR_BACKOFF.floor(step) for step in range(1, 200)]
    most = next(n for n in range(1, 200) if sum(floors[:n]) >= 100.0)
    assert fewest <= len(run.attempts) <= most
    last_delay = run.attempts[-1] - run.attempts[-2]
    added = measure(schedule, run).added_total
    assert 0.0 <= added <= last_delay <= OUR_BACKOFF.ceiling(len(run.attempts))


def test_a_blip_is_a_reconnect_for_the_others_but_not_for_ours() -> None:
    schedule = one(FaultKind.BLIP, 100.0, 120.0)
    mine = simulate(schedule, spec_of(ours))
    assert mine.attempts == []
    assert mine.downs == []
    assert mine.blip_reconnects == 0
    assert measure(schedule, mine).added_total == 0.0

    theirs = simulate(schedule, spec_of(every_second))
    assert len(theirs.attempts) == 20
    assert theirs.blip_reconnects == 1
    assert measure(schedule, theirs).added_total == 0.0

    claw = simulate(schedule, spec_of(openclaw), FixedRandom(0.0))
    assert claw.attempts == pytest.approx([102.0, 105.6, 112.08, 123.744])
    assert measure(schedule, claw).added_total == pytest.approx(3.744)


def test_a_half_open_link_costs_the_detection_time() -> None:
    schedule = one(FaultKind.HALF_OPEN, 100.0, 100.0)
    mine = simulate(schedule, spec_of(ours), FixedRandom(0.0))
    assert mine.attempts == [116.0]  # noticed after 15 s, first retry after 1 s
    assert measure(schedule, mine).added == (16.0,)
    theirs = simulate(schedule, spec_of(every_second), FixedRandom(0.0))
    assert theirs.attempts == [161.0]
    assert measure(schedule, theirs).added == (61.0,)


def test_after_a_key_rotation_ours_stops_at_the_first_rejection() -> None:
    fixed = 100.0 + KEY_FIXED_AFTER
    schedule = one(FaultKind.KEY_ROTATION, 100.0, fixed, 160.0)
    run = simulate(schedule, spec_of(ours))
    during_restart = [at for at in run.attempts if at < 160.0]
    assert len(during_restart) >= 30
    assert len(run.attempts) == len(during_restart) + 1  # the one that got the 401
    assert run.attempts[-1] < 160.0 + 2.0
    assert run.downs == [(100.0, fixed)]
    metrics = measure(schedule, run)
    assert metrics.key_attempts == len(run.attempts)
    assert metrics.added_total == 0.0

    hammer = measure(schedule, simulate(schedule, spec_of(every_second)))
    assert hammer.key_attempts == KEY_FIXED_AFTER - 1

    claw = measure(schedule, simulate(schedule, spec_of(openclaw)))
    assert claw.key_attempts == 12
    assert (claw.gave_up, claw.manual_restarts) == (1, 0)  # the user's fix restarts it


def test_after_a_logout_ours_restarts_once_and_waits() -> None:
    fixed = 100.0 + LOGOUT_FIXED_AFTER
    schedule = one(FaultKind.LOGOUT, 100.0, fixed)
    run = simulate(schedule, spec_of(ours))
    assert run.attempts == [100.0]
    assert run.downs == [(100.0, fixed)]
    assert measure(schedule, run).logout_attempts == 1

    def logout_attempts(policy: PolicyFn) -> int:
        return measure(schedule, simulate(schedule, spec_of(policy))).logout_attempts

    assert logout_attempts(openclaw) == 0
    assert logout_attempts(every_second) == LOGOUT_FIXED_AFTER - 1
    assert logout_attempts(supervisor) == LOGOUT_FIXED_AFTER / 5 - 1
    assert logout_attempts(faserf) == 300 + 172  # 3 s for 15 min, then 120 s


def test_a_policy_that_gives_up_waits_for_a_manual_restart() -> None:
    schedule = outage(600.0)
    run = simulate(schedule, spec_of(openclaw), FixedRandom(0.0))
    gave_up_at = 100.0 + sum([2, 3.6, 6.48, 11.664, 20.9952] + [30] * 7)
    assert run.gave_up == pytest.approx([gave_up_at])
    assert run.manual_restarts == 1
    assert len(run.attempts) == 13  # 12 of its own, then the manual restart
    assert run.attempts[-1] == pytest.approx(gave_up_at + MANUAL_RESTART_AFTER)
    assert measure(schedule, run).added_total == pytest.approx(
        gave_up_at + MANUAL_RESTART_AFTER - 700.0
    )


@pytest.mark.parametrize(("second_drop", "first_delay"), [(150.0, 11.664), (200.0, 2.0)])
def test_openclaw_resets_its_counter_only_after_60_s_up(
    second_drop: float, first_delay: float
) -> None:
    schedule = Schedule(
        1,
        DAY,
        (
            Fault(FaultKind.BRIDGE_RESTART, 100.0, 110.0, 110.0),
            Fault(FaultKind.BRIDGE_RESTART, second_drop, second_drop + 5.0, second_drop + 5.0),
        ),
    )
    run = simulate(schedule, spec_of(openclaw), FixedRandom(0.0))
    assert run.attempts[:3] == pytest.approx([102.0, 105.6, 112.08])  # up at 112.08 s
    assert run.attempts[3] == pytest.approx(second_drop + first_delay)


def test_added_downtime_excludes_fault_time_and_charges_the_last_fault() -> None:
    schedule = Schedule(
        1,
        DAY,
        (
            Fault(FaultKind.BRIDGE_RESTART, 10.0, 20.0, 20.0),
            Fault(FaultKind.HALF_OPEN, 30.0, 30.0),
            Fault(FaultKind.BLIP, 40.0, 50.0),
        ),
    )
    assert added_downtime(schedule, [(10.0, 25.0)]) == [5.0, 0.0, 0.0]
    assert added_downtime(schedule, [(10.0, 35.0)]) == [10.0, 5.0, 0.0]
    assert added_downtime(schedule, [(10.0, 60.0)]) == [10.0, 10.0, 10.0]
    assert added_downtime(schedule, [(30.0, 45.0)]) == [0.0, 10.0, 0.0]


# --------------------------------------------------------------------------------------
# The week


def test_the_week_keeps_ours_within_its_stop_rules() -> None:
    schedule, metrics = run_all(SEED)
    by_name = {m.name: m for m in metrics}
    mine = metrics[-1]
    assert mine.name == POLICIES[-1].name
    assert mine.blip_reconnects == 0
    assert mine.logout_attempts == 1
    assert mine.gave_up == mine.manual_restarts == 0
    (key,) = schedule.of(FaultKind.KEY_ROTATION)
    assert key.unreachable_until is not None
    # Attempts while the bridge restarts with the new key, plus the one that got the 401.
    assert mine.key_attempts <= (key.unreachable_until - key.start) / 1.5 + 2
    hammer = by_name[POLICIES[0].name]
    assert hammer.logout_attempts == LOGOUT_FIXED_AFTER - 1
    assert hammer.key_attempts == KEY_FIXED_AFTER - 1
    assert hammer.blip_reconnects == len(schedule.of(FaultKind.BLIP))
    assert mine.added_total < min(m.added_total for m in metrics[:-1])


def test_main_prints_the_table_for_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "seed 7" in out
    for spec in POLICIES:
        assert spec.name in out
    assert out.index(POLICIES[-1].name) > out.index(POLICIES[-2].name)
