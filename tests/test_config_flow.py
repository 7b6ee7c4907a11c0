"""The config flow against the bridge double on 127.0.0.1: user, reauth, reconfigure, options."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import logging
from typing import Any
from unittest.mock import patch

from aiohttp import web
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge_double import BridgeDouble, SessionStatus
from custom_components.whatsapp_gateway.bridge import WahaClient
from custom_components.whatsapp_gateway.compat import vol
from custom_components.whatsapp_gateway.config_flow import (
    MEDIA_OPTIONS,
    TALK_OPTIONS,
    build_unique_id,
    normalize_url,
)
from custom_components.whatsapp_gateway.const import (
    CONF_AUTO_START,
    CONF_BACKFILL_HOURS,
    CONF_BACKOFF_MAX,
    CONF_HEARTBEAT,
    CONF_POLL_INTERVAL,
    CONF_PRESENCE_KEEPALIVE,
    CONF_QUEUE_TTL,
    CONF_SEND_RATE,
    CONF_SESSION,
    DEFAULT_OPTIONS,
    DOMAIN,
)

from .conftest import API_KEY, ME_ID, PUSH_NAME, SESSION, entry_data
from .flow_support import FlowRefreshes
from .helpers import wait_for

NEW_KEY = "rotated-key-9876543210"
UNREACHABLE = "http://127.0.0.1:1"


def user_input(bridge: BridgeDouble, **overrides: Any) -> dict[str, Any]:
    """What a user types into the user or reconfigure form."""
    return entry_data(bridge) | overrides


# The options of the link itself (the talk and media options are sections of the form).
LINK_DEFAULTS = {
    key: value
    for key, value in DEFAULT_OPTIONS.items()
    if key not in TALK_OPTIONS and key not in MEDIA_OPTIONS
}


def get_schema_suggested_value(schema: vol.Schema | None, key: str) -> Any:
    """The suggested value of a field (the plugin's helper cannot iterate a probatio schema)."""
    assert schema is not None
    for marker in schema.schema:
        if marker == key:
            description = marker.description or {}
            return description.get("suggested_value")
    raise KeyError(key)


async def start_user_flow(hass: HomeAssistant) -> str:
    """Open the user step and return the flow id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result["flow_id"]


async def configure(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> Any:
    """Submit a config flow step."""
    return await hass.config_entries.flow.async_configure(flow_id, data)


async def unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload an entry the flow (re)loaded, so no link task outlives the test."""
    await hass.async_block_till_done()
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def garbage_server() -> AsyncGenerator[str]:
    """A local HTTP server that answers every request with a 200 that is not JSON."""

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(text="<html>not a bridge</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


# ---------------------------------------------------------------- URL and unique id


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("HTTP://Bridge.LAN:3000/", "http://bridge.lan:3000"),
        ("http://bridge.lan:80/", "http://bridge.lan"),
        ("https://bridge.lan:443/waha/?x=1#top", "https://bridge.lan/waha"),
        ("https://bridge.lan:8443/waha//", "https://bridge.lan:8443/waha"),
        ("  192.168.1.20:3000  ", "http://192.168.1.20:3000"),
        ("http://[::1]:3000/", "http://[::1]:3000"),
        ("http://user:pw@bridge.lan:3000", "http://user:pw@bridge.lan:3000"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize("url", ["ftp://bridge.lan", "http://", "http:///path", "http://a:99999"])
def test_normalize_url_rejects(url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        normalize_url(url)


def test_build_unique_id() -> None:
    assert build_unique_id("http://127.0.0.1:3000", "default") == "http://127.0.0.1:3000#default"
    assert build_unique_id("HTTP://Bridge.lan:80/?k=1", "work") == "http://bridge.lan#work"
    # Credentials in the URL never reach the unique id.
    assert build_unique_id("http://user:pw@bridge.lan:3000/", "x") == "http://bridge.lan:3000#x"


# ---------------------------------------------------------------- user step


async def test_user_form_defaults(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    schema = result["data_schema"]
    assert schema is not None
    defaults = {str(key): key.default() for key in schema.schema if callable(key.default)}
    assert defaults == {
        CONF_URL: "http://localhost:3000",
        CONF_SESSION: "default",
        CONF_VERIFY_SSL: True,
    }
    assert CONF_API_KEY in {str(key) for key in schema.schema}


async def test_user_success(hass: HomeAssistant, bridge: BridgeDouble) -> None:
    flow_id = await start_user_flow(hass)
    # Upper-case scheme and host and a trailing slash are stored normalised.
    typed_url = bridge.url.replace("http://", "HTTP://") + "/"
    result = await configure(hass, flow_id, user_input(bridge, url=typed_url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == PUSH_NAME
    assert result["data"] == {
        CONF_URL: bridge.url,
        CONF_API_KEY: API_KEY,
        CONF_SESSION: SESSION,
        CONF_VERIFY_SSL: True,
    }
    entry = result["result"]
    # The entry is the WhatsApp account, wherever its bridge runs.
    assert entry.unique_id == ME_ID
    assert bridge.count_requests(path_prefix="/api/server/version") >= 1
    await unload(hass, entry)


async def test_user_url_without_scheme_and_padded_input(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    flow_id = await start_user_flow(hass)
    result = await configure(
        hass,
        flow_id,
        user_input(
            bridge,
            url=bridge.url.removeprefix("http://"),
            api_key=f" {API_KEY}\n",
            session=f" {SESSION} ",
            verify_ssl=False,
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_URL: bridge.url,
        CONF_API_KEY: API_KEY,
        CONF_SESSION: SESSION,
        CONF_VERIFY_SSL: False,
    }
    await unload(hass, result["result"])


@pytest.mark.parametrize(
    "me",
    [
        # Paired, but WhatsApp has not told the bridge the push name (yet).
        {"id": "4915100000@c.us"},
        {"id": "4915100000@c.us", "pushName": ""},
    ],
)
async def test_user_title_without_push_name(
    hass: HomeAssistant, bridge: BridgeDouble, me: dict[str, Any] | None
) -> None:
    bridge.add_session("fresh", status=SessionStatus.WORKING, paired=True).me = me
    flow_id = await start_user_flow(hass)
    with patch("custom_components.whatsapp_gateway.async_setup_entry", return_value=True):
        result = await configure(hass, flow_id, user_input(bridge, session="fresh"))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "WhatsApp fresh"
    assert result["result"].unique_id == "4915100000@c.us"


async def test_user_unreachable_then_recovers(hass: HomeAssistant, bridge: BridgeDouble) -> None:
    flow_id = await start_user_flow(hass)
    result = await configure(hass, flow_id, user_input(bridge, url=UNREACHABLE))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    # The form comes back with what the user typed.
    schema = result["data_schema"]
    assert get_schema_suggested_value(schema, CONF_URL) == UNREACHABLE
    assert get_schema_suggested_value(schema, CONF_API_KEY) == API_KEY
    assert get_schema_suggested_value(schema, CONF_SESSION) == SESSION

    result = await configure(hass, flow_id, user_input(bridge))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await unload(hass, result["result"])


async def test_user_bridge_down_then_up(hass: HomeAssistant, bridge: BridgeDouble) -> None:
    flow_id = await start_user_flow(hass)
    await bridge.bridge_down()
    result = await configure(hass, flow_id, user_input(bridge))
    assert result["errors"] == {"base": "cannot_connect"}

    # Back up, the session is still starting: the flow waits for it, then creates the entry.
    refreshes = FlowRefreshes(hass)
    await bridge.bridge_up()
    result = await configure(hass, flow_id, user_input(bridge))
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await bridge.set_status(SESSION, SessionStatus.WORKING)
    result = await refreshed(hass, refreshes, flow_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await unload(hass, result["result"])


async def test_user_not_a_bridge(
    hass: HomeAssistant, bridge: BridgeDouble, garbage_server: str
) -> None:
    """A 404 for the version (wrong path) or a non-JSON answer: cannot_connect."""
    flow_id = await start_user_flow(hass)
    result = await configure(hass, flow_id, user_input(bridge, url=f"{bridge.url}/nowhere"))
    assert result["errors"] == {"base": "cannot_connect"}

    result = await configure(hass, flow_id, user_input(bridge, url=garbage_server))
    assert result["errors"] == {"base": "cannot_connect"}

    result = await configure(hass, flow_id, user_input(bridge))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await unload(hass, result["result"])


async def test_user_wrong_key_then_recovers(hass: HomeAssistant, bridge: BridgeDouble) -> None:
    flow_id = await start_user_flow(hass)
    result = await configure(hass, flow_id, user_input(bridge, api_key="wrong"))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}

    bridge.rotate_api_key(NEW_KEY)
    result = await configure(hass, flow_id, user_input(bridge))
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}

    result = await configure(hass, flow_id, user_input(bridge, api_key=NEW_KEY))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_KEY] == NEW_KEY
    await unload(hass, result["result"])


async def test_user_key_without_rights_on_session(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    """A scoped key without rights on the session (403) is an invalid key for it."""
    bridge.add_session("other", status=SessionStatus.WORKING, paired=True)
    bridge.add_scoped_key("scoped-key-1234567890", sessions=["other"])
    flow_id = await start_user_flow(hass)
    result = await configure(hass, flow_id, user_input(bridge, api_key="scoped-key-1234567890"))
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}


async def test_user_missing_session_then_recovers(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    """A missing session offers to create it; the way back keeps what was typed."""
    flow_id = await start_user_flow(hass)
    result = await configure(hass, flow_id, user_input(bridge, session="nope"))
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "missing_session"
    assert result["menu_options"] == ["create_session", "user"]
    assert result["description_placeholders"] == {"session": "nope"}

    result = await configure(hass, flow_id, {"next_step_id": "user"})
    assert result["step_id"] == "user"
    assert get_schema_suggested_value(result["data_schema"], CONF_SESSION) == "nope"
    assert "nope" not in bridge.sessions

    bridge.delete_session(SESSION)
    result = await configure(hass, flow_id, user_input(bridge))
    assert result["step_id"] == "missing_session"
    await configure(hass, flow_id, {"next_step_id": "user"})

    bridge.add_session(SESSION, status=SessionStatus.WORKING, paired=True, push_name="Back")
    result = await configure(hass, flow_id, user_input(bridge))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Back"
    await unload(hass, result["result"])


async def test_user_invalid_input_not_sent(hass: HomeAssistant, bridge: BridgeDouble) -> None:
    """A bad URL or an empty session is refused before the bridge is asked."""
    flow_id = await start_user_flow(hass)
    bridge.clear_requests()
    result = await configure(hass, flow_id, user_input(bridge, url="ftp://bridge.lan"))
    assert result["errors"] == {CONF_URL: "invalid_url"}
    result = await configure(hass, flow_id, user_input(bridge, url="http://", session="  "))
    assert result["errors"] == {CONF_URL: "invalid_url", CONF_SESSION: "session_not_found"}
    assert result["step_id"] == "user"
    assert bridge.count_requests() == 0

    result = await configure(hass, flow_id, user_input(bridge))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await unload(hass, result["result"])


async def test_user_unknown_error_then_recovers(
    hass: HomeAssistant, bridge: BridgeDouble, caplog: pytest.LogCaptureFixture
) -> None:
    flow_id = await start_user_flow(hass)
    caplog.set_level(logging.DEBUG)
    with patch.object(WahaClient, "version", side_effect=RuntimeError("boom")):
        result = await configure(hass, flow_id, user_input(bridge))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error checking the bridge at" in caplog.text
    assert API_KEY not in caplog.text

    result = await configure(hass, flow_id, user_input(bridge))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await unload(hass, result["result"])


@pytest.mark.parametrize(
    "typed_url",
    [
        pytest.param(lambda url: url, id="same"),
        pytest.param(lambda url: url.replace("http://", "HTTP://") + "/", id="variant"),
    ],
)
async def test_user_duplicate_aborts(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    config_entry: MockConfigEntry,
    typed_url: Any,
) -> None:
    flow_id = await start_user_flow(hass)
    bridge.clear_requests()
    result = await configure(hass, flow_id, user_input(bridge, url=typed_url(bridge.url)))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # Known already: the bridge is not asked.
    assert bridge.count_requests() == 0


async def test_user_same_bridge_other_session(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.add_session("work", status=SessionStatus.WORKING, paired=True, push_name="Work")
    flow_id = await start_user_flow(hass)
    with patch("custom_components.whatsapp_gateway.async_setup_entry", return_value=True):
        result = await configure(hass, flow_id, user_input(bridge, session="work"))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Work"
    assert result["result"].unique_id == ME_ID


# ---------------------------------------------------------------- reauth


async def test_reauth_success(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    before = config_entry.runtime_data
    bridge.rotate_api_key(NEW_KEY)

    result = await config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert {"url": bridge.url, "title": PUSH_NAME}.items() <= placeholders.items()
    schema = result["data_schema"]
    assert schema is not None
    assert [str(key) for key in schema.schema] == [CONF_API_KEY]

    result = await configure(hass, result["flow_id"], {CONF_API_KEY: f"{NEW_KEY} "})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.data == entry_data(bridge, api_key=NEW_KEY)
    await hass.async_block_till_done()
    # Reloaded: a new link object runs with the new key.
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.runtime_data is not before
    await unload(hass, config_entry)


async def test_reauth_errors_then_success(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.rotate_api_key(NEW_KEY)
    result = await config_entry.start_reauth_flow(hass)
    flow_id = result["flow_id"]

    result = await configure(hass, flow_id, {CONF_API_KEY: API_KEY})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}

    await bridge.bridge_down()
    result = await configure(hass, flow_id, {CONF_API_KEY: NEW_KEY})
    assert result["errors"] == {"base": "cannot_connect"}
    await bridge.bridge_up()

    with patch.object(WahaClient, "get_session", side_effect=RuntimeError("boom")):
        result = await configure(hass, flow_id, {CONF_API_KEY: NEW_KEY})
    assert result["errors"] == {"base": "unknown"}
    assert config_entry.data[CONF_API_KEY] == API_KEY

    result = await configure(hass, flow_id, {CONF_API_KEY: NEW_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.data[CONF_API_KEY] == NEW_KEY
    await unload(hass, config_entry)


async def test_reauth_accepts_key_when_session_is_missing(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """The key is what reauth checks; a missing session is the session_missing repair's job."""
    bridge.rotate_api_key(NEW_KEY)
    bridge.delete_session(SESSION)
    result = await config_entry.start_reauth_flow(hass)
    # Only the flow is under test here, not the reload into a link without its session.
    with patch(
        "custom_components.whatsapp_gateway.async_setup_entry", return_value=True
    ) as setup_entry:
        result = await configure(hass, result["flow_id"], {CONF_API_KEY: NEW_KEY})
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.data[CONF_API_KEY] == NEW_KEY
    assert len(setup_entry.mock_calls) == 1


# ---------------------------------------------------------------- reconfigure


async def test_reconfigure_form_prefilled(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    result = await config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"] == {"title": PUSH_NAME}
    schema = result["data_schema"]
    assert get_schema_suggested_value(schema, CONF_URL) == bridge.url
    assert get_schema_suggested_value(schema, CONF_SESSION) == SESSION
    assert get_schema_suggested_value(schema, CONF_VERIFY_SSL) is True
    # The stored key is not sent back to the browser.
    assert get_schema_suggested_value(schema, CONF_API_KEY) is None


async def test_reconfigure_other_session(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    before = config_entry.runtime_data
    # The same WhatsApp account, now linked through another session of the bridge.
    bridge.add_session(
        "work", status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name="Work"
    )

    result = await config_entry.start_reconfigure_flow(hass)
    # The key field left empty keeps the stored key.
    result = await configure(
        hass,
        result["flow_id"],
        {CONF_URL: bridge.url + "/", CONF_SESSION: "work", CONF_VERIFY_SSL: True},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    # Reconfiguring never changes the entry's identity (its device and entity ids).
    assert config_entry.unique_id == ME_ID
    assert config_entry.title == "Work"
    assert config_entry.data == entry_data(bridge, session="work")
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.runtime_data is not before
    await unload(hass, config_entry)


async def test_reconfigure_new_key_same_unique_id(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """Keeping the entry's own unique id is no duplicate."""
    bridge.rotate_api_key(NEW_KEY)
    result = await config_entry.start_reconfigure_flow(hass)
    result = await configure(hass, result["flow_id"], user_input(bridge, api_key=NEW_KEY))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.unique_id == f"{bridge.url}#{SESSION}"
    assert config_entry.data == entry_data(bridge, api_key=NEW_KEY)
    await unload(hass, config_entry)


async def test_reconfigure_duplicate_aborts(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    bridge.add_session("work", status=SessionStatus.WORKING, paired=True)
    other = MockConfigEntry(
        domain=DOMAIN,
        title="Work",
        data=entry_data(bridge, session="work"),
        unique_id=f"{bridge.url}#work",
    )
    other.add_to_hass(hass)

    result = await config_entry.start_reconfigure_flow(hass)
    bridge.clear_requests()
    result = await configure(hass, result["flow_id"], user_input(bridge, session="work"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert bridge.count_requests() == 0
    assert config_entry.unique_id == f"{bridge.url}#{SESSION}"
    assert config_entry.data == entry_data(bridge)


async def test_reconfigure_errors_then_success(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    result = await config_entry.start_reconfigure_flow(hass)
    flow_id = result["flow_id"]

    result = await configure(hass, flow_id, user_input(bridge, url="ftp://x"))
    assert result["errors"] == {CONF_URL: "invalid_url"}
    assert get_schema_suggested_value(result["data_schema"], CONF_URL) == "ftp://x"

    result = await configure(hass, flow_id, user_input(bridge, url=UNREACHABLE))
    assert result["errors"] == {"base": "cannot_connect"}

    result = await configure(hass, flow_id, user_input(bridge, api_key="wrong"))
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}

    result = await configure(hass, flow_id, user_input(bridge, session="nope"))
    assert result["errors"] == {CONF_SESSION: "session_not_found"}

    with patch.object(WahaClient, "version", side_effect=RuntimeError("boom")):
        result = await configure(hass, flow_id, user_input(bridge))
    assert result["errors"] == {"base": "unknown"}
    assert config_entry.data == entry_data(bridge)

    result = await configure(hass, flow_id, user_input(bridge, verify_ssl=False))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.data == entry_data(bridge, verify_ssl=False)
    assert config_entry.title == PUSH_NAME
    await unload(hass, config_entry)


# ---------------------------------------------------------------- options


async def test_options_defaults_shown(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    schema = result["data_schema"]
    for key, value in LINK_DEFAULTS.items():
        assert get_schema_suggested_value(schema, key) == value


async def test_options_save_and_reload(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        config_entry, options={**LINK_DEFAULTS, CONF_HEARTBEAT: 20, "recipients": ["+49151"]}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    before = config_entry.runtime_data

    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert get_schema_suggested_value(result["data_schema"], CONF_HEARTBEAT) == 20
    new = {
        CONF_HEARTBEAT: 45,
        CONF_POLL_INTERVAL: 120,
        CONF_BACKOFF_MAX: 600,
        CONF_AUTO_START: False,
        CONF_PRESENCE_KEEPALIVE: True,
        CONF_BACKFILL_HOURS: 0,
        CONF_QUEUE_TTL: 3600,
        CONF_SEND_RATE: 5,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], new)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Whole numbers stay ints; keys this form does not own are kept.
    assert config_entry.options == {**new, "recipients": ["+49151"]}
    assert all(type(config_entry.options[key]) is int for key in (CONF_HEARTBEAT, CONF_SEND_RATE))
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.runtime_data is not before
    await unload(hass, config_entry)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (CONF_HEARTBEAT, 5),
        (CONF_HEARTBEAT, 301),
        (CONF_POLL_INTERVAL, 14),
        (CONF_BACKOFF_MAX, 3601),
        (CONF_BACKFILL_HOURS, 169),
        (CONF_QUEUE_TTL, 59),
        (CONF_SEND_RATE, 0),
        (CONF_SEND_RATE, 121),
    ],
)
async def test_options_out_of_range(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry, key: str, value: int
) -> None:
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**LINK_DEFAULTS, key: value}
        )
    assert config_entry.options == {}


# ---------------------------------------------------------------- pairing in the user step


async def pairing_flow(
    hass: HomeAssistant, bridge: BridgeDouble, refreshes: FlowRefreshes, session: str
) -> tuple[str, Any]:
    """Submit the user step for `session`; wait out the progress step; return the next step."""
    flow_id = await start_user_flow(hass)
    result = await configure(hass, flow_id, user_input(bridge, session=session))
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "pair"
    await refreshes.wait(flow_id)
    return flow_id, await hass.config_entries.flow.async_configure(flow_id)


async def refreshed(hass: HomeAssistant, refreshes: FlowRefreshes, flow_id: str) -> Any:
    """What the frontend shows after the flow announced a change."""
    await refreshes.wait(flow_id)
    return await hass.config_entries.flow.async_configure(flow_id)


async def test_user_links_an_unpaired_session_with_its_qr_code(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    """A first-time user links the phone in the config flow, never in the bridge's UI."""
    refreshes = FlowRefreshes(hass)
    bridge.add_session("fresh", status=SessionStatus.STOPPED)
    flow_id, result = await pairing_flow(hass, bridge, refreshes, "fresh")
    # The stopped session was started once and shows its first code.
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/fresh/start") == 1
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "method"

    result = await configure(hass, flow_id, {"next_step_id": "scan_qr"})
    assert result["step_id"] == "scan_qr"
    assert form_qr(result) == bridge.session("fresh").qr_value
    await bridge.rotate_qr("fresh")
    result = await refreshed(hass, refreshes, flow_id)
    assert form_qr(result) == bridge.session("fresh").qr_value

    with patch("custom_components.whatsapp_gateway.async_setup_entry", return_value=True):
        await bridge.scan_qr("fresh", me_id="4915100000@c.us", push_name="Fresh Phone")
        result = await refreshed(hass, refreshes, flow_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Fresh Phone"
    assert result["data"][CONF_SESSION] == "fresh"
    assert result["result"].unique_id == "4915100000@c.us"


async def test_user_creates_a_missing_session_and_links_it_by_code(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    refreshes = FlowRefreshes(hass)
    flow_id = await start_user_flow(hass)
    result = await configure(hass, flow_id, user_input(bridge, session="kitchen"))
    assert result["step_id"] == "missing_session"
    result = await configure(hass, flow_id, {"next_step_id": "create_session"})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    result = await refreshed(hass, refreshes, flow_id)
    assert "kitchen" in bridge.sessions
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions") == 1

    result = await configure(hass, flow_id, {"next_step_id": "pairing_code"})
    result = await configure(hass, flow_id, {"phone_number": "0049 151 2345678"})
    assert result["step_id"] == "show_code"
    assert result["description_placeholders"]["code"] == bridge.session("kitchen").pairing_code

    with patch("custom_components.whatsapp_gateway.async_setup_entry", return_value=True):
        await bridge.enter_pairing_code("kitchen")
        result = await refreshed(hass, refreshes, flow_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SESSION] == "kitchen"


async def test_user_pairing_codes_run_out_then_start_over(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    refreshes = FlowRefreshes(hass)
    bridge.add_session("fresh", status=SessionStatus.SCAN_QR_CODE)
    flow_id, result = await pairing_flow(hass, bridge, refreshes, "fresh")
    result = await configure(hass, flow_id, {"next_step_id": "scan_qr"})
    while bridge.session("fresh").status == SessionStatus.SCAN_QR_CODE:
        await bridge.rotate_qr("fresh")
        result = await refreshed(hass, refreshes, flow_id)
    assert result["step_id"] == "start_over"

    result = await configure(hass, flow_id, {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    result = await refreshed(hass, refreshes, flow_id)
    assert bridge.count_requests(method="POST", path_prefix="/api/sessions/fresh/restart") == 1
    assert result["step_id"] == "method"


async def test_user_pairing_aborts_when_the_bridge_goes_away(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    refreshes = FlowRefreshes(hass)
    bridge.add_session("fresh", status=SessionStatus.SCAN_QR_CODE)
    flow_id, result = await pairing_flow(hass, bridge, refreshes, "fresh")
    await bridge.bridge_down()
    result = await configure(hass, flow_id, {"next_step_id": "scan_qr"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_user_pairing_flow_closed_stops_following_the_session(
    hass: HomeAssistant, bridge: BridgeDouble
) -> None:
    refreshes = FlowRefreshes(hass)
    bridge.add_session("fresh", status=SessionStatus.SCAN_QR_CODE)
    flow_id, _ = await pairing_flow(hass, bridge, refreshes, "fresh")
    assert bridge.stream_count("fresh") == 1
    hass.config_entries.flow.async_abort(flow_id)
    await wait_for(lambda: bridge.stream_count("fresh") == 0)


def form_qr(result: Any) -> str:
    """The QR code text a form step shows."""
    for marker, selector in result["data_schema"].schema.items():
        if str(marker) == "qr_code":
            data: str = selector.config["data"]
            return data
    raise AssertionError("no QR code in the form")


async def test_reconfigure_to_another_account_aborts(
    hass: HomeAssistant, bridge: BridgeDouble, config_entry: MockConfigEntry
) -> None:
    """The entry is its WhatsApp account: a session of someone else is a new entry."""
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    bridge.add_session(
        "work", status=SessionStatus.WORKING, paired=True, me_id="4930111@c.us", push_name="Work"
    )
    result = await config_entry.start_reconfigure_flow(hass)
    result = await configure(hass, result["flow_id"], user_input(bridge, session="work"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert config_entry.data == entry_data(bridge)
    await unload(hass, config_entry)
