"""Diagnostics: a snapshot of a link that lived a little, and proof that nothing personal leaks.

Real sockets to the bridge double; frozen time makes every timestamp and duration stable.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.const import (
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    SUBENTRY_RECIPIENT,
)
from custom_components.whatsapp_gateway.diagnostics import _describe_url, _host_kind, _scrub
from custom_components.whatsapp_gateway.outgoing import RETRY_AFTER

from .conftest import API_KEY, ME_ID, PUSH_NAME, SESSION, entry_data
from .helpers import CONNECTED, STATE, advance, setup_connected, wait_for, wait_for_state

pytestmark = pytest.mark.usefixtures("socket_enabled")

RECIPIENT_NAME = "Bob Builder"
BOB = "4917612345678@c.us"
CAROL = "4917687654321@c.us"
RECEIVED_TEXT = "the spare key is under the mat"
SENT_TEXT = "door opened at home"
QUEUED_TEXT = "alarm armed while offline"
STUCK_TEXT = "garage left open"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot format, in tests/snapshots/.

    The plugin's own `snapshot` fixture loses to syrupy's, which is registered later.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def add_recipient(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType({"target": BOB}),
            subentry_type=SUBENTRY_RECIPIENT,
            title=RECIPIENT_NAME,
            unique_id=BOB,
        ),
    )


async def send(hass: HomeAssistant, entry: MockConfigEntry, text: str) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"config_entry_id": entry.entry_id, "target": BOB, "message": text},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


async def diagnostics_of(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: MockConfigEntry
) -> dict[str, Any]:
    """The entry's diagnostics as downloaded: through HTTP and JSON."""
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert isinstance(data, dict)
    return data


def texts_sent(bridge: BridgeDouble) -> list[str]:
    return [record["text"] for record in bridge.session(SESSION).sent]


def assert_nothing_personal(diagnostics: dict[str, Any], *extra: str) -> None:
    """No key, number, name, text or host anywhere in the JSON text."""
    text = json.dumps(diagnostics)
    for secret in (
        API_KEY,
        ME_ID,
        ME_ID.partition("@")[0],
        PUSH_NAME,
        RECIPIENT_NAME,
        BOB.partition("@")[0],
        CAROL.partition("@")[0],
        "@c.us",
        RECEIVED_TEXT,
        SENT_TEXT,
        QUEUED_TEXT,
        STUCK_TEXT,
        "127.0.0.1",
        *extra,
    ):
        assert secret not in text, f"{secret!r} leaks into the diagnostics"


@pytest.mark.freeze_time("2026-05-01T12:00:00+00:00")
async def test_diagnostics_snapshot_after_a_drop_leaks_nothing(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    add_recipient(hass, config_entry)
    await setup_connected(hass, config_entry)
    await advance(hass, freezer, 120)
    # A message in, one out.
    await bridge.emit_message(SESSION, chat_id=CAROL, body=RECEIVED_TEXT)
    await wait_for(lambda: len(received) == 1)
    assert (await send(hass, config_entry, SENT_TEXT))["status"] == "sent"
    await advance(hass, freezer, 30)
    # The bridge closes the stream: reconnecting, one message waits, back after 1 s.
    await bridge.close_streams(1001)
    await wait_for_state(hass, STATE, "reconnecting")
    assert (await send(hass, config_entry, QUEUED_TEXT))["status"] == "queued"
    await advance(hass, freezer, 1)
    await wait_for_state(hass, CONNECTED, "on")
    await wait_for(lambda: texts_sent(bridge) == [SENT_TEXT, QUEUED_TEXT])
    # One more waits in the queue for its retry: the queue is not empty in the snapshot.
    bridge.fail_sends(1, status=503)
    assert (await send(hass, config_entry, STUCK_TEXT))["status"] == "queued"
    await advance(hass, freezer, RETRY_AFTER / 2)

    diagnostics = await diagnostics_of(hass, hass_client, config_entry)

    # The port of the double changes from run to run.
    assert diagnostics == snapshot(exclude=props("port"))
    assert_nothing_personal(diagnostics)
    assert diagnostics["entry"]["recipients"] == 1
    assert diagnostics["entry"]["data"]["url"]["host_kind"] == "loopback"
    assert diagnostics["outgoing"]["queued"] == 1
    assert diagnostics["incoming"]["dedupe_window"] >= 1
    assert [t["state"] for t in diagnostics["transitions"]] == [
        "connected",
        "reconnecting",
        "connected",
    ]
    # The first connection lasted 150 s, the outage 1 s; the current one runs since.
    assert [t["duration"] for t in diagnostics["transitions"]] == [150.0, 1.0, 15.0]
    assert diagnostics["transitions"][1]["reason"] == "stream_closed"


async def test_diagnostics_while_reconnecting_show_the_backoff(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    bridge: BridgeDouble,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A custom session name and credentials in the URL stay out; the backoff is shown."""
    bridge.add_session(
        "kitchen", status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    url = bridge.url.replace("http://", "http://admin:hunter2secret@")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=PUSH_NAME,
        data=entry_data(bridge, url=url, session="kitchen"),
        unique_id=f"{bridge.url}#kitchen",
    )
    entry.add_to_hass(hass)
    await setup_connected(hass, entry)
    await bridge.bridge_down()
    await wait_for_state(hass, STATE, "reconnecting")
    await advance(hass, freezer, 1)  # attempt 1 fails too: attempt 2 is scheduled

    diagnostics = await diagnostics_of(hass, hass_client, entry)

    assert_nothing_personal(diagnostics, "kitchen", "admin", "hunter2secret")
    assert diagnostics["entry"]["data"]["session"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["url"]["credentials"] == "**REDACTED**"
    assert diagnostics["entry"]["recipients"] == 0
    backoff = diagnostics["backoff"]
    assert backoff["attempt"] == 2
    assert (backoff["ceiling"], backoff["floor"], backoff["maximum"]) == (2.0, 1.5, 300.0)
    assert 1.5 <= backoff["next_attempt_in"] <= 2.0
    assert backoff["next_attempt"] is not None
    assert diagnostics["link"]["last_disconnect_reason"] == "stream_closed"
    assert diagnostics["transitions"][-1]["duration"] == 1.0


async def test_diagnostics_of_an_unpaired_session(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
) -> None:
    bridge.add_session(SESSION, status=SessionStatus.SCAN_QR_CODE, paired=False)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_state(hass, STATE, "pairing_required")

    diagnostics = await diagnostics_of(hass, hass_client, config_entry)

    assert_nothing_personal(diagnostics)
    assert diagnostics["bridge"]["paired"] is False
    assert diagnostics["entry"]["data"]["session"] == SESSION
    assert diagnostics["backoff"] == {
        "attempt": 0,
        "next_attempt": None,
        "next_attempt_in": None,
        "initial": 1.0,
        "factor": 2.0,
        "maximum": 300.0,
        "jitter": 0.25,
    }


async def test_diagnostics_redact_the_key_and_names(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
) -> None:
    await setup_connected(hass, config_entry)
    diagnostics = await diagnostics_of(hass, hass_client, config_entry)
    text = str(diagnostics)
    assert API_KEY not in text
    assert PUSH_NAME not in text
    assert ME_ID.split("@")[0] not in text
    assert diagnostics["link"]["state"] == "connected"
    assert diagnostics["bridge"]["engine"] == "GOWS"
    assert diagnostics["transitions"][-1]["state"] == "connected"


async def test_diagnostics_keep_the_allowed_numbers_and_groups_out(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
) -> None:
    hass.config_entries.async_update_entry(
        config_entry,
        options={
            "allowed_senders": ["4917612345678@c.us"],
            "group_policy": "allowlist",
            "allowed_groups": ["120363025246125486@g.us"],
            "conversation_agent": "conversation.home_assistant",
        },
    )
    await setup_connected(hass, config_entry)
    diagnostics = await diagnostics_of(hass, hass_client, config_entry)
    options = diagnostics["entry"]["options"]
    assert options["allowed_senders"] == "**REDACTED**"
    assert options["allowed_groups"] == "**REDACTED**"
    assert options["group_policy"] == "allowlist"
    assert "4917612345678" not in str(diagnostics)
    assert "120363025246125486" not in str(diagnostics)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        (None, None),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("localhost", "loopback"),
        ("waha.localhost", "loopback"),
        ("192.168.1.20", "private"),
        ("fe80::1", "link_local"),
        ("8.8.8.8", "public"),
        ("waha", "local_name"),
        ("waha.local", "local_name"),
        ("bridge.home.arpa", "local_name"),
        ("waha.example.com", "name"),
    ],
)
def test_host_kinds(host: str | None, kind: str | None) -> None:
    assert _host_kind(host) == kind


def test_url_description_keeps_host_credentials_path_and_query_out() -> None:
    assert _describe_url("https://user:pass@waha.example.com:8443/waha/?token=abc") == {
        "scheme": "https",
        "host": "**REDACTED**",
        "host_kind": "name",
        "port": 8443,
        "credentials": "**REDACTED**",
        "path": "**REDACTED**",
        "query": "**REDACTED**",
    }
    assert _describe_url("http://localhost:3000") == {
        "scheme": "http",
        "host": "**REDACTED**",
        "host_kind": "loopback",
        "port": 3000,
        "credentials": None,
        "path": None,
        "query": None,
    }


def test_scrub_catches_numbers_chat_ids_and_known_secrets_anywhere() -> None:
    secrets = {"Bob", "Alice Phone"}
    data = {
        "a": ["from 491511234567@c.us in 120363025246125486@g.us", "99999999999999@lid"],
        "b": {"c": "call +49 151 1234567 now", "d": "Bob", "e": "hello Alice Phone"},
        "f": 3,
        "g": "Bobby stays",
        "h": "status@broadcast",
        "i": "2026-05-01T12:00:00.123456+00:00",
    }
    assert _scrub(data, secrets) == {
        "a": ["from **REDACTED** in **REDACTED**", "**REDACTED**"],
        "b": {"c": "call **REDACTED** now", "d": "**REDACTED**", "e": "hello **REDACTED**"},
        "f": 3,
        # Short names are redacted as whole values only.
        "g": "Bobby stays",
        "h": "status@broadcast",
        "i": "2026-05-01T12:00:00.123456+00:00",
    }
