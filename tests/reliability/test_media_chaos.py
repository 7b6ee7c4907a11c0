"""Chaos while sending files: 200 `send_media` calls on a Plus bridge while the link breaks.

Seeded, frozen time. Files of distinct bytes from an allowed folder (pictures, documents and
videos), each with its own caption, go out with `send_media` (`path`, queued when need be)
while the double blips WhatsApp, restarts, drops the answers of sends it performed, answers
sends with 500, and Home Assistant itself restarts (the entry is unloaded and set up again,
with files waiting in the queue). Asserted: every file reached the bridge exactly once with
its bytes and caption, every call's queue id got exactly one `whatsapp_gateway_message_sent`
and none a `whatsapp_gateway_message_failed`, and the queue's folder is empty once the queue
is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from bridge_double import BridgeDouble, BridgeProfile, SessionStatus
from custom_components.whatsapp_gateway.const import (
    CONF_SEND_RATE,
    DOMAIN,
    EVENT_MESSAGE_FAILED,
    EVENT_MESSAGE_SENT,
)
from custom_components.whatsapp_gateway.outgoing import outbox_files

from ..conftest import SESSION
from ..helpers import CONNECTED, advance, settle, setup_connected, state_of, wait_for_state

SEED = 14
PLUS = "GOWS-2026.7.1-PLUS"
FILES = 200
BATCH = 2  # send_media calls per simulated second
FAULT_CHANCE = 0.15  # per batch, while the link is up and no fault is running
TARGET = "+4917612345678"
CHAT_ID = "4917612345678@c.us"
# Voice notes go without their caption (WhatsApp shows none): files are told apart by bytes.
KINDS = {".jpg": "image", ".pdf": "file", ".mp4": "video", ".ogg": "voice"}
FAULTS = ["blip", "restart", "drop_send_answers", "fail_sends", "home_assistant_restart"]


@pytest.fixture
def profile() -> BridgeProfile:
    """Plus: the only edition that sends files (the suite's `bridge` fixture plays it)."""
    return BridgeProfile.parse(PLUS)


def make_files(folder: Path, rng: random.Random) -> list[tuple[Path, bytes, str]]:
    """`FILES` small files of distinct bytes, each with its own caption."""
    made = []
    for index in range(FILES):
        suffix = rng.choice(list(KINDS))
        data = f"file {index}|".encode() + rng.randbytes(rng.randint(200, 4000))
        path = folder / f"file{index:03d}{suffix}"
        path.write_bytes(data)
        made.append((path, data, f"caption {index}"))
    return made


def left_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


# Frozen time never ends a stuck upload (the client's 300 s file time-out is on the frozen
# clock): fail instead of hanging the suite (see the report of 2026-12-02, RELIABILITY.md).
@pytest.mark.timeout(180)
async def test_every_file_once_through_chaos(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    report: Callable[[str, object], None],
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)  # noqa: S311 (a reproducible schedule, not a secret)
    random.seed(SEED)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    files = make_files(allowed, rng)
    hass.config.allowlist_external_dirs = {str(allowed)}
    hass.config_entries.async_update_entry(config_entry, options={CONF_SEND_RATE: 600})
    sent_events = async_capture_events(hass, EVENT_MESSAGE_SENT)
    failed_events = async_capture_events(hass, EVENT_MESSAGE_FAILED)
    await setup_connected(hass, config_entry)
    spool = outbox_files(hass, config_entry.entry_id)

    answers: list[dict[str, Any]] = []
    injected: Counter[str] = Counter()
    running: str | None = None
    ends_in = 0
    restarts_with_files_waiting = 0

    async def send_next() -> None:
        path, _data, caption = files[len(answers)]
        response = await hass.services.async_call(
            DOMAIN,
            "send_media",
            {
                "config_entry_id": config_entry.entry_id,
                "target": TARGET,
                "path": str(path),
                "caption": caption,
            },
            blocking=True,
            return_response=True,
        )
        assert isinstance(response, dict)
        assert response["status"] in ("sent", "queued"), response
        answers.append(response)

    async def end_fault() -> None:
        nonlocal running
        if running == "blip":
            await bridge.end_blip(SESSION)
        elif running == "restart":
            await bridge.bridge_up()
            await bridge.set_status(SESSION, SessionStatus.WORKING)
        running = None

    while len(answers) < FILES:
        for _ in range(min(BATCH, FILES - len(answers))):
            await send_next()
        if running is not None:
            ends_in -= 1
            if ends_in <= 0:
                await end_fault()
        elif state_of(hass, CONNECTED) == "on" and rng.random() < FAULT_CHANCE:
            fault = rng.choice(FAULTS)
            injected[fault] += 1
            if fault == "blip":
                await bridge.blip(SESSION)
                running, ends_in = fault, rng.randint(2, 10)
            elif fault == "restart":
                await bridge.bridge_down(1001)
                running, ends_in = fault, rng.randint(2, 10)
            elif fault == "drop_send_answers":
                bridge.drop_send_answers(rng.randint(1, 3))
            elif fault == "fail_sends":
                bridge.fail_sends(rng.randint(1, 3), status=500)
            else:
                # Files wait in the queue (the bridge answers 500), then Home Assistant
                # stops (the queue is written) and starts again.
                bridge.fail_sends(2, status=500)
                for _ in range(min(2, FILES - len(answers))):
                    await send_next()
                await hass.async_block_till_done()
                restarts_with_files_waiting += bool(left_in(spool))
                assert await hass.config_entries.async_unload(config_entry.entry_id)
                await hass.async_block_till_done()
                assert await hass.config_entries.async_setup(config_entry.entry_id)
        await advance(hass, freezer, 1)
    if running is not None:
        await end_fault()
    bridge.drop_send_answers(0)
    bridge.fail_sends(0)

    # Let the link recover and the queue drain (retries come every 30 s): ten minutes at most.
    for _ in range(600):
        if len(sent_events) >= FILES and state_of(hass, CONNECTED) == "on":
            break
        await advance(hass, freezer, 1)
    await wait_for_state(hass, CONNECTED, "on")
    await advance(hass, freezer, 61)
    await settle(hass)
    queued_left = len(config_entry.runtime_data.outgoing)
    files_left = left_in(spool)

    records = bridge.sent_files(SESSION)

    def index_of(record: dict[str, Any]) -> int:
        """Which file a record is: each file's bytes start with `file <index>|`."""
        return int(bytes(record["data"]).split(b"|", 1)[0].split()[1])

    by_index = Counter(index_of(record) for record in records)
    duplicates = sum(count - 1 for count in by_index.values() if count > 1)
    lost = [caption for index, (_, _, caption) in enumerate(files) if by_index[index] == 0]
    wrong = [
        index_of(record)
        for record in records
        if record["data"] != files[index_of(record)][1]
        or record["chat_id"] != CHAT_ID
        or record["kind"] != KINDS[files[index_of(record)][0].suffix]
    ]
    event_ids = [event.data["queue_id"] for event in sent_events]
    twice = [queue_id for queue_id, n in Counter(event_ids).items() if n > 1]
    queued_ids = {answer["queue_id"] for answer in answers if answer["status"] == "queued"}
    sent_ids = {answer["message_id"] for answer in answers if answer["status"] == "sent"}
    report(
        "media chaos: send_media calls / sent at once / queued",
        f"{len(answers)} / {len(sent_ids)} / {len(queued_ids)}",
    )
    report(
        "media chaos: files at the bridge / duplicates / lost / wrong bytes",
        f"{len(records)} / {duplicates} / {len(lost)} / {len(wrong)}",
    )
    report(
        "media chaos: message_sent events / twice / message_failed",
        f"{len(sent_events)} / {len(twice)} / {len(failed_events)}",
    )
    report(
        "media chaos: queued at the end / files left in the queue's folder",
        f"{queued_left} / {len(files_left)}",
    )
    report(
        "media chaos: faults injected",
        ", ".join(f"{name} {n}" for name, n in sorted(injected.items()))
        + f" (restarts with files waiting: {restarts_with_files_waiting})",
    )

    assert duplicates == 0, f"files sent twice: {[i for i, n in by_index.items() if n > 1]}"
    assert lost == [], f"files never sent: {lost}"
    assert wrong == [], f"files that arrived changed or misaddressed: {wrong}"
    assert len(records) == FILES
    assert twice == [], "a queue id got message_sent twice"
    assert [event.data for event in failed_events] == []
    assert len(event_ids) == FILES
    assert queued_ids <= set(event_ids), "a queued file got no message_sent"
    assert sent_ids <= {event.data["message_id"] for event in sent_events}
    assert queued_left == 0
    assert files_left == [], "files left behind in the queue's folder"
    assert injected["home_assistant_restart"] >= 1, injected
    assert restarts_with_files_waiting >= 1, "no restart had files waiting"
    assert sum(injected.values()) >= 8, injected
