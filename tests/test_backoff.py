"""The backoff policy: first retry within 1 s, every 2 s for three minutes, then doubling up to
the cap; jitter only shortens."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.whatsapp_gateway.link.backoff import BackoffPolicy


def test_schedule_is_fast_then_doubles_up_to_the_cap() -> None:
    policy = BackoffPolicy(maximum=300.0)
    assert policy.ceiling(1) == 1
    assert {policy.ceiling(attempt) for attempt in range(2, 91)} == {2}
    assert [policy.ceiling(attempt) for attempt in range(91, 101)] == [
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
        300,
        300,
    ]
    assert policy.ceiling(10_000) == 300
    # The fast phase covers the first three minutes of an outage.
    assert 175 < sum(policy.ceiling(attempt) for attempt in range(1, 91)) <= 180


def test_a_small_cap_caps_the_fast_phase_too() -> None:
    policy = BackoffPolicy(maximum=1.5)
    assert policy.ceiling(1) == 1
    assert policy.ceiling(2) == policy.ceiling(500) == 1.5


def test_first_retry_is_within_one_second() -> None:
    policy = BackoffPolicy()
    assert 0.75 <= policy.delay(1, 0.0) <= 1.0
    assert policy.delay(1, 0.999) >= 0.75


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        BackoffPolicy().ceiling(0)


@given(
    attempt=st.integers(min_value=1, max_value=500),
    fraction=st.floats(min_value=-1.0, max_value=2.0, allow_nan=False),
    maximum=st.floats(min_value=1.0, max_value=3600.0),
)
def test_delay_stays_between_floor_and_cap(attempt: int, fraction: float, maximum: float) -> None:
    policy = BackoffPolicy(maximum=maximum)
    delay = policy.delay(attempt, fraction)
    assert policy.floor(attempt) <= delay <= policy.ceiling(attempt) <= maximum
    assert delay > 0


@given(attempt=st.integers(min_value=1, max_value=100), fraction=st.floats(0.0, 0.999))
def test_delays_never_shrink_by_more_than_the_jitter(attempt: int, fraction: float) -> None:
    policy = BackoffPolicy()
    assert policy.delay(attempt + 1, fraction) >= policy.floor(attempt)


def test_attempts_in_six_hours_are_bounded() -> None:
    """Six hours of a dead bridge: 90 fast attempts, 8 doublings, then one per 225-300 s."""
    policy = BackoffPolicy(maximum=300.0)
    elapsed, attempts = 0.0, 0
    while True:
        elapsed += policy.floor(attempts + 1)
        if elapsed > 6 * 3600:
            break
        attempts += 1
    assert attempts <= 90 + 8 + 94
