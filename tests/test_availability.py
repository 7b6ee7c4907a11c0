"""The availability timeline: share of observed time connected, restart gaps left out."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.whatsapp_gateway.link.availability import AvailabilityTimeline

DAY = 86400.0


def test_empty_timeline_has_no_value() -> None:
    timeline = AvailabilityTimeline(window=DAY)
    assert timeline.percentage(1000.0) is None
    timeline.mark(1000.0, connected=True)
    assert timeline.percentage(1000.0) is None


def test_share_of_connected_time() -> None:
    timeline = AvailabilityTimeline(window=DAY)
    timeline.mark(0.0, connected=False)
    timeline.mark(100.0, connected=True)
    timeline.mark(100.0, connected=True)  # repeating a state changes nothing
    timeline.mark(1000.0, connected=False)
    assert timeline.percentage(1000.0) == 90.0
    assert timeline.percentage(1100.0) == pytest.approx(900 / 1100 * 100)


def test_time_home_assistant_was_not_running_is_left_out() -> None:
    timeline = AvailabilityTimeline(window=DAY)
    timeline.mark(0.0, connected=True)
    saved = timeline.as_dict(600.0)
    # Home Assistant was down from 600 s to 4200 s.
    restored = AvailabilityTimeline.from_dict(saved, window=DAY, now=4200.0)
    restored.mark(4200.0, connected=False)
    restored.mark(4500.0, connected=True)
    # Observed: 600 s up, 300 s down, 300 s up.
    assert restored.percentage(4800.0) == pytest.approx(900 / 1200 * 100)


def test_too_short_an_observation_has_no_value() -> None:
    timeline = AvailabilityTimeline(window=DAY)
    timeline.mark(0.0, connected=False)
    timeline.mark(2.0, connected=True)
    assert timeline.percentage(10.0, min_observed=60.0) is None
    assert timeline.percentage(60.0, min_observed=60.0) == pytest.approx(58 / 60 * 100)


def test_window_slides() -> None:
    timeline = AvailabilityTimeline(window=100.0)
    timeline.mark(0.0, connected=False)
    timeline.mark(50.0, connected=True)
    assert timeline.percentage(200.0) == 100.0
    timeline.stop(200.0)
    timeline.stop(300.0)  # stopping twice is harmless
    assert timeline.percentage(200.0) == 100.0
    assert len(timeline.segments) == 1


def test_adjacent_equal_segments_merge_across_save_points() -> None:
    timeline = AvailabilityTimeline(window=DAY)
    timeline.mark(0.0, connected=True)
    timeline.stop(10.0)
    timeline.mark(10.0, connected=True)
    timeline.stop(20.0)
    assert list(timeline.segments) == [(0.0, 20.0, True)]


def test_restore_drops_malformed_and_future_entries() -> None:
    data = {"segments": [[0, 10, True], ["x", 5, True], [5, 1, False], [20, 99999, True], [1, 2]]}
    timeline = AvailabilityTimeline.from_dict(data, window=DAY, now=100.0)
    assert list(timeline.segments) == [(0.0, 10.0, True)]
    assert (
        AvailabilityTimeline.from_dict(None, window=DAY, now=1.0).segments
        == type(timeline.segments)()
    )


@given(
    changes=st.lists(
        st.tuples(st.floats(min_value=0.001, max_value=5000.0), st.booleans()), max_size=60
    ),
    window=st.floats(min_value=10.0, max_value=DAY),
)
def test_percentage_matches_a_direct_computation(
    changes: list[tuple[float, bool]], window: float
) -> None:
    timeline = AvailabilityTimeline(window=window)
    now = 0.0
    timeline.mark(now, connected=False)
    state = False
    history: list[tuple[float, float, bool]] = []
    for step, connected in changes:
        history.append((now, now + step, state))
        now += step
        timeline.mark(now, connected=connected)
        state = connected
    value = timeline.percentage(now)
    horizon = now - window
    observed = sum(max(0.0, e - max(s, horizon)) for s, e, _ in history)
    up = sum(max(0.0, e - max(s, horizon)) for s, e, c in history if c)
    if observed <= 0:
        assert value is None
    else:
        assert value is not None
        assert abs(value - 100 * up / observed) < 1e-6
        assert 0.0 <= value <= 100.0 + 1e-9
