"""The outgoing queue and the send rate (pure logic)."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.whatsapp_gateway.outbox import (
    RATE_WINDOW,
    TIME_RESOLUTION,
    OutboundQueue,
    QueuedFile,
    QueuedMessage,
    QueueFullError,
    SendRateLimiter,
)


def message(queue_id: str, *, expires: float = 1000) -> QueuedMessage:
    return QueuedMessage(queue_id=queue_id, chat_id="1@c.us", text="t", created=0, expires=expires)


def test_fifo_bounded_update_remove() -> None:
    queue = OutboundQueue(max_size=2)
    assert queue.head() is None
    queue.append(message("a"))
    queue.append(message("b"))
    with pytest.raises(QueueFullError):
        queue.append(message("c"))
    assert [m.queue_id for m in queue] == ["a", "b"]
    tried = message("b").with_attempt("KEY", 1.0)
    assert tried.attempts == 1
    assert tried.message_id == "KEY"
    assert queue.update(tried)
    assert not queue.update(message("zzz"))
    assert queue.remove("a") == message("a")
    assert queue.remove("a") is None
    assert queue.head() == tried
    assert len(queue) == 1


def test_expiry() -> None:
    queue = OutboundQueue()
    assert queue.next_expiry() is None
    queue.append(message("late", expires=50))
    queue.append(message("early", expires=10))
    queue.append(message("never", expires=500))
    assert queue.next_expiry() == 10
    assert queue.remove_expired(9) == []
    assert [m.queue_id for m in queue.remove_expired(50)] == ["late", "early"]
    assert [m.queue_id for m in queue] == ["never"]


def test_round_trip_and_garbage() -> None:
    queue = OutboundQueue()
    queue.append(message("a").with_attempt("K", 1.0))
    queue.append(message("b"))
    restored = OutboundQueue.from_list(queue.as_list())
    assert list(restored) == list(queue)
    garbage = OutboundQueue.from_list(["x", {"queue_id": "q"}, None])
    assert len(garbage) == 0
    assert len(OutboundQueue.from_list({"not": "a list"})) == 0
    assert QueuedMessage.from_dict({**queue.as_list()[1], "created": "soon"}) is None


def test_files_and_places_round_trip_and_bad_ones_are_dropped() -> None:
    file = QueuedFile(
        name="out-1.jpg", kind="image", content_type="image/jpeg", filename="a.jpg", size=3
    )
    queue = OutboundQueue()
    queue.append(QueuedMessage(**vars_of(message("f")), media=file))
    queue.append(QueuedMessage(**vars_of(message("p")), location=(52.5, 13.4)))
    restored = OutboundQueue.from_list(queue.as_list())
    assert list(restored) == list(queue)
    assert restored.file_bytes() == 3
    stored_file, stored_place = queue.as_list()
    for bad in (
        {**stored_file, "media": "out-1.jpg"},
        {**stored_file, "media": {**stored_file["media"], "name": "../../etc/passwd"}},
        {**stored_file, "media": {**stored_file["media"], "name": ".hidden"}},
        {**stored_place, "location": [52.5]},
        {**stored_place, "location": "here"},
    ):
        # A file name that could leave the queue's folder, or a place that is not one.
        assert QueuedMessage.from_dict(bad) is None


def vars_of(queued: QueuedMessage) -> dict[str, object]:
    return {
        key: getattr(queued, key) for key in ("queue_id", "chat_id", "text", "created", "expires")
    }


def test_the_limiter_allows_rate_per_window() -> None:
    limiter = SendRateLimiter(2)
    assert limiter.delay(0) == 0
    limiter.record(0)
    limiter.record(10)
    assert limiter.delay(10) == RATE_WINDOW - 10
    assert limiter.delay(59) == 1
    assert limiter.delay(60) == 0


@given(st.integers(1, 10), st.lists(st.floats(0, 30), min_size=1, max_size=60))
def test_sending_whenever_allowed_never_exceeds_the_rate(rate: int, gaps: list[float]) -> None:
    """Whatever the timing of attempts, no 60 s window holds more than `rate` sends."""
    limiter = SendRateLimiter(rate)
    now = 0.0
    sent: list[float] = []
    for gap in gaps:
        now += gap
        wait = limiter.delay(now)
        now += wait
        assert limiter.delay(now) == 0
        limiter.record(now)
        sent.append(now)
    for index, start in enumerate(sent):
        # A send a float rounding early is not in the window.
        in_window = [t for t in sent[index:] if t < start + RATE_WINDOW - TIME_RESOLUTION]
        assert len(in_window) <= rate


def test_a_microsecond_early_is_still_a_wait() -> None:
    """Found by Hypothesis in CI: a 1 µs tolerance let rate + 1 sends into one window."""
    limiter = SendRateLimiter(rate=1)
    limiter.record(0.0)
    assert limiter.delay(RATE_WINDOW - 1e-6) == pytest.approx(1e-6)


def test_float_residue_is_no_wait() -> None:
    """Found by Hypothesis in CI: times summed from gaps miss the window by femtoseconds."""
    limiter = SendRateLimiter(rate=1)
    limiter.record(1.198680489650113e-05)
    assert limiter.delay(60.00001198680489) == 0.0
    assert limiter.delay(59.9) == pytest.approx(0.1, abs=1e-3)
