"""scripts/check_bridge: the read-only bridge check, run in-process against the bridge double."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
import inspect
import io
import socket
from typing import Any

import aiohttp
import pytest

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.bridge import WahaClient
from scripts import check_bridge
from scripts.check_bridge import check

from .conftest import API_KEY, ME_ID, PUSH_NAME, SESSION

try:
    from bridge_double.profile import BridgeProfile
except ImportError:  # the profiles are being added to the double
    BridgeProfile = None  # type: ignore[assignment,misc]

HAS_PROFILES = BridgeProfile is not None and "profile" in inspect.signature(BridgeDouble).parameters
needs_profiles = pytest.mark.skipif(
    not HAS_PROFILES, reason="the bridge double does not take a BridgeProfile yet"
)
NOWEB_STORE_OFF = {"noweb": {"store": {"enabled": False, "fullSync": False}}}
WS_WAIT = 0.2
READ_ONLY_PATHS = {
    ("GET", "/ping"),
    ("GET", "/api/server/version"),
    ("GET", f"/api/sessions/{SESSION}"),
    ("GET", f"/api/{SESSION}/new-message-id"),
    ("GET", f"/api/{SESSION}/chats/overview"),
    ("WS", "/ws"),
}


async def run(url: str, api_key: str = API_KEY, session: str = SESSION) -> tuple[int, str]:
    out = io.StringIO()
    status = await check(url, api_key, session, out=out, ws_wait=WS_WAIT)
    return status, out.getvalue()


def field(text: str, label: str) -> str:
    """The value printed after `label:` (exactly one such line)."""
    values = [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.strip().startswith(f"{label}:")
    ]
    assert len(values) == 1, f"{label!r} in:\n{text}"
    return values[0]


def assert_private(text: str, *secrets: str) -> None:
    for secret in (API_KEY, ME_ID, ME_ID.split("@")[0], PUSH_NAME, *secrets):
        assert secret not in text


def assert_read_only(bridge: BridgeDouble) -> None:
    methods = {record.method for record in bridge.requests}
    assert methods <= {"GET", "WS"}, methods
    assert bridge.count_requests(method="POST") == 0
    assert bridge.count_requests(method="PUT") == 0
    assert bridge.count_requests(method="DELETE") == 0


@pytest.fixture
async def double_factory(socket_enabled: None) -> AsyncGenerator[Callable[..., Any]]:
    """Start doubles with a paired default session (WORKING unless told); stop them at the end."""
    started: list[BridgeDouble] = []

    async def make(
        *, status: SessionStatus = SessionStatus.WORKING, config: Any = None, **kwargs: Any
    ) -> BridgeDouble:
        double = BridgeDouble(api_key=API_KEY, **kwargs)
        double.add_session(
            SESSION, status=status, paired=True, me_id=ME_ID, push_name=PUSH_NAME, config=config
        )
        await double.start()
        started.append(double)
        return double

    yield make
    for double in started:
        await double.stop()


async def test_a_working_bridge_passes_with_read_only_calls(bridge: BridgeDouble) -> None:
    status, text = await run(bridge.url)

    assert status == 0, text
    assert text.splitlines()[0] == (
        f"Checking the WAHA bridge at {bridge.url}, session 'default' (read-only)."
    )
    assert field(text, "Reachable") == "yes"
    assert field(text, "API key") == "accepted (REST and WebSocket)"
    assert field(text, "Version") == "2026.7.1"
    assert field(text, "Engine") == "GOWS"
    assert field(text, "Edition") == "Core"
    assert field(text, "Session") == "'default' is WORKING, a phone is linked"
    assert field(text, "History and backfill").startswith("works (checked)")
    assert field(text, "New message ids") == (
        "work (checked): a send goes out at most once by id, even when retried"
    )
    assert "media_needs_plus" in field(text, "Media sending")
    assert field(text, "More than one session") == "works (Core from 2026.6.1)"
    assert field(text, "Passkeys").startswith("may be asked when linking (GOWS 2026.7.1)")
    assert text.splitlines()[-1] == "Result: OK, the integration can work with this bridge."
    assert_private(text)

    assert_read_only(bridge)
    assert {(record.method, record.path) for record in bridge.requests} == READ_ONLY_PATHS
    assert bridge.session(SESSION).status == SessionStatus.WORKING
    assert len(bridge.session(SESSION).statuses) == 1  # nothing was started or stopped
    assert not bridge.hub.clients  # the WebSocket was closed


async def test_a_wrong_key_fails_without_printing_either_key(bridge: BridgeDouble) -> None:
    wrong = "wrong-key-9876543210"

    status, text = await run(bridge.url, api_key=wrong)

    assert status == 1
    assert field(text, "Reachable") == "yes"
    assert field(text, "API key") == "rejected by REST (HTTP 401)"
    assert "WAHA_API_KEY" in text
    assert text.splitlines()[-1] == "Result: NOT OK: the bridge rejects the API key."
    assert_private(text, wrong)
    assert_read_only(bridge)


async def test_a_key_the_websocket_rejects_fails(
    bridge: BridgeDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key stops working between REST and the WebSocket: the upgrade is closed with 1008."""
    connect = WahaClient.connect_stream

    async def rotate_first(self: WahaClient, *args: Any, **kwargs: Any) -> Any:
        bridge.keys.rotate("rotated-key-0123456789")
        return await connect(self, *args, **kwargs)

    monkeypatch.setattr(WahaClient, "connect_stream", rotate_first)

    status, text = await run(bridge.url)

    assert status == 1
    assert field(text, "API key") == (
        "accepted by REST, but the WebSocket rejects it (closed: Unauthorized)"
    )
    assert text.splitlines()[-1] == "Result: NOT OK: the WebSocket rejects the API key."
    assert_private(text, "rotated-key-0123456789")
    assert bridge.count_requests(method="WS") == 1


async def test_an_unreachable_bridge_fails(socket_enabled: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there any more.

    status, text = await run(f"http://127.0.0.1:{port}")

    assert status == 1
    assert field(text, "Reachable").startswith(
        f"no: cannot reach the bridge at http://127.0.0.1:{port}"
    )
    assert "API key" not in text
    assert text.splitlines()[-1] == "Result: NOT OK: the bridge is not reachable."
    assert_private(text)


async def test_a_missing_session_fails(bridge: BridgeDouble) -> None:
    status, text = await run(bridge.url, session="kitchen")

    assert status == 1
    assert field(text, "API key") == "accepted (REST and WebSocket)"
    assert field(text, "Session") == (
        "the session 'kitchen' does not exist: the integration's setup offers to create it"
    )
    assert field(text, "New message ids").startswith("work (from the version)")
    assert text.splitlines()[-1] == "Result: NOT OK: the session 'kitchen' does not exist."
    assert_read_only(bridge)
    # Nothing that needs a running session was asked.
    assert bridge.count_requests(path_prefix="/api/kitchen/") == 0


async def test_a_stopped_session_passes_without_waiting_calls(double_factory: Any) -> None:
    """Real WAHA holds calls for a stopped session 5 s: only the session itself is read."""
    double = await double_factory(status=SessionStatus.STOPPED)

    status, text = await run(double.url)

    assert status == 0, text
    assert field(text, "Session").startswith("'default' is STOPPED")
    assert "the integration starts it" in field(text, "Session")
    assert field(text, "History and backfill").startswith("works (from the version: not WORKING)")
    assert double.count_requests(path_prefix=f"/api/{SESSION}/") == 0
    assert_read_only(double)
    assert double.session(SESSION).status == SessionStatus.STOPPED
    assert_private(text)


async def test_noweb_without_store_names_the_repair(double_factory: Any) -> None:
    double = await double_factory(
        status=SessionStatus.STOPPED, config=NOWEB_STORE_OFF, engine="NOWEB"
    )

    status, text = await run(double.url)

    assert status == 0, text
    assert field(text, "Engine") == "NOWEB"
    assert field(text, "History and backfill") == (
        "off (from the version: not WORKING): NOWEB keeps no history while its store is off;"
        " the integration raises the repair 'noweb_store_disabled' that turns the store on"
    )


async def test_webjs_on_an_old_release(double_factory: Any) -> None:
    double = await double_factory(engine="WEBJS", version="2026.2.1")

    status, text = await run(double.url)

    assert status == 0, text
    assert field(text, "Version") == "2026.2.1"
    assert field(text, "Engine") == "WEBJS"
    ids = field(text, "New message ids")
    assert ids.startswith("no")
    assert ids.endswith("(the WEBJS engine has none): retries are matched by text and time")
    assert field(text, "More than one session") == (
        "no, Core before 2026.6.1: only the session 'default'"
    )
    assert field(text, "Passkeys") == "never asked on this bridge (only GOWS from 2026.7.1)"
    assert_read_only(double)


@needs_profiles
async def test_profile_gows_2026_7_1_core(double_factory: Any) -> None:
    assert BridgeProfile is not None
    double = await double_factory(profile=BridgeProfile("GOWS", "2026.7.1", "CORE"))

    status, text = await run(double.url)

    assert status == 0, text
    assert field(text, "Edition") == "Core"
    assert field(text, "Media sending") == (
        "no, Core sends no files: send_media is refused with media_needs_plus"
    )
    assert field(text, "New message ids").startswith("work (checked)")
    assert field(text, "More than one session") == "works (Core from 2026.6.1)"
    assert field(text, "Passkeys").startswith("may be asked when linking (GOWS 2026.7.1)")
    assert_read_only(double)


@needs_profiles
async def test_profile_noweb_store_off_is_seen_in_the_overview(double_factory: Any) -> None:
    """The store's state comes from the bridge's 400 answer, not only from the config."""
    assert BridgeProfile is not None
    double = await double_factory(
        profile=BridgeProfile("NOWEB", "2026.5.1", "PLUS", noweb_store=False),
        config=NOWEB_STORE_OFF,
    )

    status, text = await run(double.url)

    assert status == 0, text
    assert field(text, "Edition") == "Plus"
    assert field(text, "History and backfill").startswith("off (checked): NOWEB keeps no history")
    assert "'noweb_store_disabled'" in text
    assert field(text, "Media sending") == "works (Plus)"
    assert field(text, "More than one session") == "works (Plus)"
    assert double.count_requests(path_prefix=f"/api/{SESSION}/chats/overview") == 1
    assert_read_only(double)


@needs_profiles
async def test_profile_webjs_old_release(double_factory: Any) -> None:
    """WEBJS 2026.2.1 Core: no message ids (501), and only the session 'default'."""
    assert BridgeProfile is not None
    double = await double_factory(profile=BridgeProfile("WEBJS", "2026.2.1", "CORE"))

    status, text = await run(double.url)

    assert status == 0, text
    assert field(text, "New message ids") == (
        "no (checked) (the WEBJS engine has none): retries are matched by text and time"
    )
    assert field(text, "More than one session") == (
        "no, Core before 2026.6.1: only the session 'default'"
    )

    status, text = await run(double.url, session="kitchen")

    assert status == 1
    assert text.splitlines()[-1] == (
        "Result: NOT OK: this WAHA Core runs only the session 'default'."
    )
    assert_read_only(double)


async def test_an_error_message_with_the_key_is_never_printed(
    bridge: BridgeDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp quotes the WebSocket URL, key included: only the error's type is shown."""

    async def leak(self: WahaClient, *args: Any, **kwargs: Any) -> Any:
        raise aiohttp.InvalidURL(f"{bridge.url}/ws?x-api-key={API_KEY}&session=default")

    monkeypatch.setattr(WahaClient, "connect_stream", leak)

    status, text = await run(bridge.url)

    assert status == 1
    assert text.splitlines()[-1] == "Result: NOT OK: unexpected error InvalidURL."
    assert_private(text)


async def test_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    # The key given where the URL goes is not echoed.
    assert await check(API_KEY, "x", out=io.StringIO()) == 2
    out = io.StringIO()
    assert await check("ftp://bridge", API_KEY, out=out) == 2
    assert "URL must look like http://HOST:PORT" in out.getvalue()
    assert await check("http://bridge:3000", "", out=io.StringIO()) == 2

    assert check_bridge.main([]) == 2
    assert check_bridge.main([API_KEY, "http://bridge:3000", "default", "extra"]) == 2
    assert check_bridge.main([API_KEY, "secret-number-two"]) == 2
    assert check_bridge.main(["--help"]) == 0
    captured = capsys.readouterr()
    assert "usage: scripts/check_bridge URL API_KEY [SESSION]" in captured.out
    assert "usage: scripts/check_bridge URL API_KEY [SESSION]" in captured.err
    assert_private(captured.out + captured.err, "secret-number-two")
