"""The dedupe window and per-chat cursors (pure logic)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.whatsapp_gateway.ledger import MessageLedger


def test_record_dedupes_and_moves_the_cursor_forward_only() -> None:
    ledger = MessageLedger(watermark=100)
    assert ledger.record("a", "chat", 150)
    assert not ledger.record("a", "chat", 150)
    assert ledger.record("b", "chat", 140)
    assert ledger.cursor("chat") == 150
    assert ledger.seen("a")
    assert len(ledger) == 2
    assert ledger.chat_count == 1


def test_since_uses_the_cursor_else_the_watermark_never_below_the_floor() -> None:
    ledger = MessageLedger(watermark=100)
    ledger.record("a", "known", 200)
    assert ledger.since("known", floor=0) == 200
    assert ledger.since("unknown", floor=0) == 100
    assert ledger.since("known", floor=300) == 300
    assert ledger.handled_before(50) == 100
    assert ledger.handled_before(500) == 500


def test_needs_backfill() -> None:
    ledger = MessageLedger(watermark=100)
    ledger.record("seen", "chat", 200)
    common = {"floor": 0.0}
    # Its newest incoming message was delivered: nothing older can be missing.
    assert not ledger.needs_backfill(
        "chat", newest_id="seen", newest_timestamp=200, newest_from_me=False, **common
    )
    # Our own reply is newest: an incoming one may hide before it.
    assert ledger.needs_backfill(
        "chat", newest_id="seen", newest_timestamp=200, newest_from_me=True, **common
    )
    assert ledger.needs_backfill(
        "chat", newest_id="new", newest_timestamp=201, newest_from_me=False, **common
    )
    assert not ledger.needs_backfill(
        "other", newest_id="x", newest_timestamp=99, newest_from_me=False, **common
    )


def test_the_watermark_never_moves_back() -> None:
    ledger = MessageLedger(watermark=100)
    ledger.advance_watermark(50)
    assert ledger.watermark == 100
    ledger.advance_watermark(150)
    assert ledger.watermark == 150


def test_round_trip_and_garbage_tolerance() -> None:
    ledger = MessageLedger(watermark=100, max_ids=3, max_chats=2)
    for index in range(5):
        ledger.record(f"id{index}", f"chat{index}", 100 + index)
    restored = MessageLedger.from_dict(
        ledger.as_dict(), default_watermark=0, max_ids=3, max_chats=2
    )
    assert restored.as_dict() == ledger.as_dict()
    assert not restored.seen("id0")
    assert restored.seen("id4")
    assert restored.cursor("chat4") == 104
    assert restored.cursor("chat0") is None

    broken = MessageLedger.from_dict(
        {"watermark": True, "seen": ["a", 3, None], "cursors": {"c": "x", "d": 5, "e": False}},
        default_watermark=42,
    )
    assert broken.watermark == 42
    assert broken.seen("a")
    assert len(broken) == 1
    assert broken.cursor("d") == 5
    assert broken.cursor("c") is None
    assert broken.cursor("e") is None
    assert MessageLedger.from_dict(None, default_watermark=7).watermark == 7


@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(0, 20), st.integers(0, 10**6)), max_size=400
    ),
    st.integers(1, 50),
    st.integers(1, 10),
)
def test_memory_stays_bounded_and_recent_ids_are_remembered(
    records: list[tuple[int, int, int]], max_ids: int, max_chats: int
) -> None:
    ledger = MessageLedger(watermark=0, max_ids=max_ids, max_chats=max_chats)
    recorded: list[str] = []
    for message, chat, timestamp in records:
        if ledger.record(f"m{message}", f"c{chat}", timestamp):
            recorded.append(f"m{message}")
        assert len(ledger) <= max_ids
        assert ledger.chat_count <= max_chats
    for message_id in recorded[-max_ids:]:
        assert ledger.seen(message_id)
