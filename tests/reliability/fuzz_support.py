"""Support of the fuzz tests: a trouble recorder, health checks, a REST fuzz proxy, strategies.

Nothing here mocks our transport code: the integration talks over real sockets to the bridge
double, or to `FuzzProxy`, a small reverse proxy on 127.0.0.1 that forwards every request
(REST and the WebSocket) to the double and replaces the answers of chosen endpoints.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
import contextlib
from dataclasses import dataclass
import json
import logging
import re
import time
from typing import Any, Final

import aiohttp
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.json import json_bytes
from hypothesis import strategies as st
import pytest
from yarl import URL

from bridge_double import BridgeDouble
from custom_components.whatsapp_gateway.coordinator import WhatsAppGatewayCoordinator

from ..conftest import ME_ID, SESSION
from ..helpers import CONNECTED, advance, settle, state_of

OUR_LOGGER: Final = "custom_components.whatsapp_gateway"
BOB: Final = "4917612345678@c.us"
CAROL: Final = "4917687654321@c.us"
GROUP: Final = "120363025246125486@g.us"
MIB: Final = 1 << 20
# A recent past second: tests freeze the clock when they start, after this import.
RECENT_S: Final = int(time.time()) - 60

type Frame = str | bytes


def run[T](hass: HomeAssistant, coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on Home Assistant's loop from a synchronous test (or @given body)."""
    return hass.loop.run_until_complete(coro)


# ----------------------------------------------------------------------------------------
# What escapes into Home Assistant's loop


class Trouble:
    """Records everything that escapes into Home Assistant's loop.

    - calls of the loop's exception handler ("Task exception was never retrieved",
      "Exception in callback", ...);
    - every task Home Assistant creates for anyone (`async_create_task`,
      `async_create_task_internal`, `async_create_background_task`, which config entries
      use too) that ends with an exception. The exception is retrieved here, so a task
      kept alive by its owner (the coordinator keeps its reader task) cannot hide it.

    Recorded problems are not passed on to the `hass` fixture's handler: the test fails on
    them in its own body (so an xfail marks them), not in the fixture's teardown.
    """

    def __init__(self, hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
        """Install the handler and wrap the task factories of `hass`."""
        self.problems: list[str] = []
        self._loop = hass.loop
        self._previous = hass.loop.get_exception_handler()
        hass.loop.set_exception_handler(self._handle)
        for name in (
            "async_create_task",
            "async_create_task_internal",
            "async_create_background_task",
        ):
            monkeypatch.setattr(hass, name, self._wrap(getattr(hass, name)))

    def restore(self) -> None:
        """Give the loop its previous exception handler back."""
        self._loop.set_exception_handler(self._previous)

    def _handle(self, _loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.problems.append(f"{context.get('message')}: {context.get('exception')!r}")

    def _wrap[**P, R](self, create: Callable[P, asyncio.Task[R]]) -> Callable[P, asyncio.Task[R]]:
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> asyncio.Task[R]:
            task = create(*args, **kwargs)
            task.add_done_callback(self._task_done)
            return task

        return wrapper

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            self.problems.append(f"task {task.get_name()!r} died: {error!r}")


def our_warnings(
    caplog: pytest.LogCaptureFixture, *, except_templates: Sequence[str] = ()
) -> Counter[str]:
    """WARNING (and worse) records of the integration, counted per message.

    Records whose format string is in `except_templates` are left out (known repeats,
    pinned by their own xfail test).
    """
    return Counter(
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and record.name.startswith(OUR_LOGGER)
        and record.msg not in except_templates
    )


def loop_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records of anyone ("Error doing job", a failing handler of the double or proxy)."""
    return [
        f"{record.name}: {record.getMessage()[:300]}"
        for record in caplog.records
        if record.levelno >= logging.ERROR
    ]


def assert_no_trouble(trouble: Trouble, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing raised into Home Assistant's loop."""
    assert trouble.problems == [], "\n".join(trouble.problems)
    assert loop_errors(caplog) == []


def assert_one_warning_per_kind(
    caplog: pytest.LogCaptureFixture, *, except_templates: Sequence[str] = ()
) -> Counter[str]:
    """At most one warning per kind (message); returns the counts for the report."""
    counts = our_warnings(caplog, except_templates=except_templates)
    flooded = {message: count for message, count in counts.items() if count > 1}
    assert not flooded, f"the same warning was logged more than once: {flooded}"
    return counts


def assert_json_safe(hass: HomeAssistant, events: Sequence[Event[Any]], entry_id: str) -> None:
    """Event data and our entities' states encode as Home Assistant encodes them.

    The recorder and the WebSocket API encode with `json_bytes` (orjson), which refuses what
    Python's json accepts, lone surrogates above all.
    """
    for event in events:
        try:
            json_bytes(event.data)
        except TypeError as err:
            pytest.fail(f"the data of {event.event_type} cannot be encoded: {err}")
    for entity in er.async_entries_for_config_entry(er.async_get(hass), entry_id):
        if (state := hass.states.get(entity.entity_id)) is None:
            continue
        try:
            _ = state.as_dict_json
        except TypeError as err:
            pytest.fail(f"the state of {entity.entity_id} cannot be encoded: {err}")


def coordinator_of(hass: HomeAssistant, entry_id: str) -> WhatsAppGatewayCoordinator:
    """The running coordinator of an entry (a reload makes a new one)."""
    entry = hass.config_entries.async_get_entry(entry_id)
    assert entry is not None
    coordinator: WhatsAppGatewayCoordinator = entry.runtime_data
    return coordinator


async def quiesce(
    hass: HomeAssistant, entry_id: str, proxy: FuzzProxy | None = None, rounds: int = 30_000
) -> None:
    """Let the loop run until no connect, backfill or proxied request is in flight."""
    quiet = 0
    for _ in range(rounds):
        coordinator = coordinator_of(hass, entry_id)
        busy = (
            coordinator._connecting
            or coordinator._backfilling
            or (proxy is not None and proxy.in_flight > 0)
        )
        quiet = 0 if busy else quiet + 1
        if quiet >= 50:
            break
        await asyncio.sleep(0)
    await hass.async_block_till_done()


async def wait_until(
    hass: HomeAssistant, condition: Callable[[], bool], *, rounds: int = 30_000
) -> bool:
    """Let the loop run until `condition` holds; False when it never did."""
    for _ in range(rounds):
        if condition():
            return True
        await asyncio.sleep(0)
    await hass.async_block_till_done()
    return condition()


async def still_delivers(
    hass: HomeAssistant,
    bridge: BridgeDouble,
    freezer: FrozenDateTimeFactory,
    events: Sequence[Event[Any]],
    entry_id: str,
    *,
    chat_id: str = CAROL,
    proxy: FuzzProxy | None = None,
) -> None:
    """A normal message arrives exactly once and the link is (or comes back) up.

    The integration may hold a live message until its backfill ran, and a poll (60 s) may
    be what brings the link back after an unknown status: up to four polls are allowed.
    """
    sent = await bridge.emit_message(SESSION, chat_id=chat_id, body="still there?")

    def arrived() -> bool:
        return any(event.data["message_id"] == sent["id"] for event in events)

    for _ in range(4):
        if await wait_until(hass, arrived, rounds=5_000) and state_of(hass, CONNECTED) == "on":
            break
        await quiesce(hass, entry_id, proxy)
        await advance(hass, freezer, 60)
    await quiesce(hass, entry_id, proxy)
    await settle(hass)
    copies = [event for event in events if event.data["message_id"] == sent["id"]]
    assert len(copies) == 1, f"the normal message arrived {len(copies)} times"
    assert copies[0].data["text"] == "still there?"
    assert state_of(hass, CONNECTED) == "on"


# ----------------------------------------------------------------------------------------
# The REST fuzz proxy


@dataclass(frozen=True, slots=True)
class Answer:
    """A fuzzed HTTP answer."""

    status: int
    body: bytes
    content_type: str

    def __repr__(self) -> str:
        """Short enough for hypothesis' falsifying-example report."""
        body = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return f"Answer({self.status}, {body!r} [{len(self.body)} B], {self.content_type!r})"


ENDPOINTS: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = (
    ("GET", re.compile(r"/api/server/version"), "version"),
    ("GET", re.compile(r"/api/sessions/[^/]+"), "session"),
    ("GET", re.compile(r"/api/[^/]+/chats/overview"), "overview"),
    ("GET", re.compile(r"/api/[^/]+/chats/[^/]+/messages"), "messages"),
    ("GET", re.compile(r"/api/[^/]+/lids/(?!pn/)[^/]+"), "lids"),
    ("GET", re.compile(r"/api/[^/]+/new-message-id"), "new_message_id"),
    ("POST", re.compile(r"/api/sendText"), "send_text"),
)
FORWARDED_HEADERS: Final = ("X-Api-Key", "Accept", "Content-Type")


def endpoint_kind(method: str, path: str) -> str | None:
    """Which fuzzable endpoint a request is for, if any."""
    for endpoint_method, pattern, kind in ENDPOINTS:
        if method == endpoint_method and pattern.fullmatch(path):
            return kind
    return None


class FuzzProxy:
    """A reverse proxy to the bridge double that answers chosen endpoints itself.

    `answers[kind]` replaces the answer of every request of that endpoint kind (see
    `ENDPOINTS`) until it is removed; everything else, the WebSocket included, is forwarded.
    """

    def __init__(self, upstream: BridgeDouble) -> None:
        """Nothing listens before `start`."""
        self.upstream = upstream
        self.answers: dict[str, Answer] = {}
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._http = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=16 * MIB)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        """Close the sockets (1001, as a bridge shutting down), stop listening."""
        for websocket in list(self._sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await websocket.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/ws":
            return await self._proxy_websocket(request)
        self.in_flight += 1
        try:
            body = await request.read()
            kind = endpoint_kind(request.method, request.path)
            answer = self.answers.get(kind) if kind is not None else None
            if answer is not None and kind is not None:
                self.hits[kind] += 1
                return web.Response(
                    status=answer.status,
                    body=answer.body,
                    headers={"Content-Type": answer.content_type},
                )
            assert self._http is not None
            headers = {
                name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers
            }
            async with self._http.request(
                request.method,
                URL(self.upstream.url + request.raw_path, encoded=True),
                headers=headers,
                data=body or None,
            ) as upstream:
                return web.Response(
                    status=upstream.status,
                    body=await upstream.read(),
                    headers={
                        "Content-Type": upstream.headers.get("Content-Type", "application/json")
                    },
                )
        finally:
            self.in_flight -= 1

    async def _proxy_websocket(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        downstream = web.WebSocketResponse(max_msg_size=0)
        await downstream.prepare(request)
        self._sockets.add(downstream)
        url = URL(self.upstream.url.replace("http", "ws", 1) + request.raw_path, encoded=True)
        try:
            async with self._http.ws_connect(url, max_msg_size=0) as upstream:
                pump = asyncio.create_task(_pump(upstream, downstream), name="fuzz-proxy-pump")
                try:
                    async for message in downstream:
                        if message.type is aiohttp.WSMsgType.TEXT:
                            await upstream.send_str(message.data)
                        elif message.type is aiohttp.WSMsgType.BINARY:
                            await upstream.send_bytes(message.data)
                finally:
                    pump.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pump
        except aiohttp.ClientError:
            await downstream.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        finally:
            self._sockets.discard(downstream)
        return downstream


async def _pump(
    upstream: aiohttp.ClientWebSocketResponse, downstream: web.WebSocketResponse
) -> None:
    """Bridge to integration: frames as they are, then the bridge's close code."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        async for message in upstream:
            if message.type is aiohttp.WSMsgType.TEXT:
                await downstream.send_str(message.data)
            elif message.type is aiohttp.WSMsgType.BINARY:
                await downstream.send_bytes(message.data)
        code = upstream.close_code
        # 1005 and 1006 name a missing close frame; they may not be sent in one.
        if code is None or code in (1005, 1006):
            code = aiohttp.WSCloseCode.GOING_AWAY
        await downstream.close(code=code, message=b"")


# ----------------------------------------------------------------------------------------
# Strategies
#
# Known defects (see the xfail tests) are kept out of the broad strategies, so that the fuzz
# tests guard everything else; each exclusion names its xfail test.

# Hypothesis' text leaves out surrogates; `GARBAGE_TEXT` puts lone ones in (JSON escapes
# them as "\ud800"). They go only where nothing reaches Home Assistant (see
# test_known_bad_frames[surrogate_*]).
ODD_STRINGS: Final = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202eevil",
    "\ufeff",
    "🙂" * 3,
    "\n\t",
    "null",
    "{}",
    "@c.us",
    "@lid",
)
SAFE_TEXT: Final = st.text(max_size=24) | st.sampled_from(ODD_STRINGS)
GARBAGE_TEXT: Final = (
    st.text(alphabet=st.characters(exclude_categories=()), max_size=24)
    | st.sampled_from(ODD_STRINGS)
    | st.sampled_from(["\ud800", "x\udfff", "\udc00\ud800"])
)
# The session statuses that legitimately stop or re-pair the link are not "bad input".
DISRUPTIVE_STATUSES: Final = frozenset(
    {"STOPPED", "FAILED", "SCAN_QR_CODE", "PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED"}
)


# Hypothesis favours the ends of a range (0 above all): a choice that should be rare is drawn
# from a list instead.
RARELY: Final = st.sampled_from([False] * 9 + [True])
SOMETIMES: Final = st.sampled_from([False] * 3 + [True])


def json_values(text: st.SearchStrategy[str] = SAFE_TEXT) -> st.SearchStrategy[Any]:
    """Any JSON value (bounded numbers: see test_known_bad_frames[huge_int_*])."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | text
    )
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3)
        | st.dictionaries(text, children, max_size=3),
        max_leaves=8,
    )


JSON_VALUES: Final = json_values()
NOT_A_STRING: Final = JSON_VALUES.filter(lambda value: not isinstance(value, str))
CHAT_IDS: Final = (
    st.sampled_from(
        [BOB, CAROL, GROUP, ME_ID, "status@broadcast", "11111111111111@lid", "120363@newsletter"]
    )
    | SAFE_TEXT
)
MESSAGE_IDS: Final = (
    st.builds(
        lambda key, tail: f"false_{BOB}_{key:X}{tail}",
        st.integers(min_value=0, max_value=2**64),
        SAFE_TEXT,
    )
    | SAFE_TEXT
)
# Seconds and milliseconds in the past, negative, non-finite and non-numbers. Left out: far
# future (test_a_future_timestamp_*), microseconds (test_known_bad_frames[microseconds_*],
# test_a_microsecond_timestamp_*) and integers beyond a double (test_known_bad_frames[huge_*]).
PAYLOAD_TIMESTAMPS: Final = (
    st.integers(min_value=RECENT_S - 3600, max_value=RECENT_S)
    | st.integers(min_value=RECENT_S - 3600, max_value=RECENT_S).map(lambda s: s * 1000 + 999)
    | st.integers(min_value=1_000_000_000, max_value=1_700_000_000)
    | st.integers(min_value=1_000_000_000_000, max_value=1_700_000_000_000)
    | st.floats(min_value=1e9, max_value=1.7e9)
    | st.integers(min_value=-(10**300), max_value=0)
    | st.floats(max_value=0.0, allow_nan=False)
    | st.sampled_from([float("nan"), float("inf"), float("-inf")])
    | st.none()
    | NOT_A_STRING
    | SAFE_TEXT
)
# The envelope's timestamp: any finite number (non-finite: test_known_bad_frames[nan_*]).
ENVELOPE_TIMESTAMPS: Final = (
    st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | JSON_VALUES
)


def message_payloads(
    ids: st.SearchStrategy[Any] = MESSAGE_IDS,
    timestamps: st.SearchStrategy[Any] = PAYLOAD_TIMESTAMPS,
) -> st.SearchStrategy[dict[str, Any]]:
    """WAMessage-like payloads: every field may be missing, of a wrong type or odd."""
    return st.fixed_dictionaries(
        {},
        optional={
            "id": ids
            | st.fixed_dictionaries({"_serialized": ids})
            | st.fixed_dictionaries({"id": ids, "fromMe": JSON_VALUES})
            | JSON_VALUES,
            "timestamp": timestamps,
            "from": CHAT_IDS | NOT_A_STRING,
            "fromMe": st.booleans() | JSON_VALUES,
            "to": CHAT_IDS | NOT_A_STRING,
            "participant": st.none() | CHAT_IDS | NOT_A_STRING,
            "body": SAFE_TEXT | JSON_VALUES,
            "hasMedia": st.booleans() | JSON_VALUES,
            "media": st.none() | JSON_VALUES,
            "ack": st.integers(min_value=-1, max_value=4) | JSON_VALUES,
            "_data": st.fixed_dictionaries(
                {},
                optional={
                    "Info": st.fixed_dictionaries({}, optional={"PushName": JSON_VALUES})
                    | JSON_VALUES,
                    "pushName": JSON_VALUES,
                    "notifyName": JSON_VALUES,
                },
            )
            | JSON_VALUES,
            "replyTo": JSON_VALUES,
        },
    )


UNKNOWN_STATUSES: Final = st.sampled_from(
    ["WORKING", "STARTING", "working", "Working", " WORKING", "RESTARTING", "UNKNOWN", "", "null"]
) | SAFE_TEXT.filter(lambda status: status not in DISRUPTIVE_STATUSES)
STATUS_PAYLOADS: Final = st.fixed_dictionaries(
    {},
    optional={
        "name": st.just(SESSION) | JSON_VALUES,
        "status": UNKNOWN_STATUSES | NOT_A_STRING,
        "statuses": st.lists(
            st.fixed_dictionaries(
                {}, optional={"status": UNKNOWN_STATUSES, "timestamp": ENVELOPE_TIMESTAMPS}
            ),
            max_size=3,
        )
        | JSON_VALUES,
        "data": JSON_VALUES,
    },
)
ME_VALUES: Final = (
    st.none()
    | st.fixed_dictionaries({}, optional={"id": CHAT_IDS | NOT_A_STRING, "pushName": JSON_VALUES})
    | JSON_VALUES
)
OTHER_EVENTS: Final = (
    st.sampled_from(
        [
            "message.any",
            "message.ack",
            "message.reaction",
            "message.revoked",
            "engine.event",
            "presence.update",
            "group.v2.join",
            "Message",
            "session.Status",
            "message ",
            "",
        ]
    )
    | GARBAGE_TEXT.filter(lambda name: name not in ("message", "session.status"))
    | NOT_A_STRING
)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """Event envelopes: known and unknown events, fields missing or of the wrong type."""
    event = draw(st.sampled_from(["message", "session.status"]) | OTHER_EVENTS)
    if event == "message":
        payload = draw(message_payloads() | JSON_VALUES)
    elif event == "session.status":
        payload = draw(STATUS_PAYLOADS | JSON_VALUES)
    else:
        payload = draw(json_values(GARBAGE_TEXT))
    ours = event in ("message", "session.status")
    envelope: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": GARBAGE_TEXT | JSON_VALUES,
                "timestamp": ENVELOPE_TIMESTAMPS,
                # Another session's events are ignored, so only they may carry surrogates.
                "session": st.just(SESSION) | (NOT_A_STRING if ours else GARBAGE_TEXT),
                "metadata": json_values(GARBAGE_TEXT),
                "me": ME_VALUES,
                "engine": JSON_VALUES,
                "environment": json_values(GARBAGE_TEXT),
            },
        )
    )
    if not draw(RARELY):
        envelope["event"] = event
    if not draw(RARELY):
        envelope["payload"] = payload
    return envelope


def _huge_frames() -> list[Frame]:
    """About 1 MiB each: a message body, junk text, a JSON list, bytes, an unknown event."""
    message = {
        "id": "false_490000000000@c.us_HUGE",
        "timestamp": 1_600_000_000,
        "from": "490000000000@c.us",
        "fromMe": False,
        "body": "x" * MIB,
    }
    return [
        json.dumps({"event": "message", "session": SESSION, "payload": message}),
        "x" * MIB,
        "[" + "0," * (MIB // 2) + "0]",
        b"\xff" * MIB,
        json.dumps({"event": "presence.update", "session": SESSION, "payload": {"a": "y" * MIB}}),
        json.dumps({"event": "message", "session": SESSION, "payload": {"body": "z" * MIB}}),
    ]


HUGE_FRAMES: Final[list[Frame]] = _huge_frames()
INVALID_UTF8: Final = (
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",  # an encoded surrogate
    b'{"event": "message", "payload": {"body": "\xff\xfe"}}',
    b"\xf8\x88\x80\x80\x80",
)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


FRAMES: Final[st.SearchStrategy[Frame]] = st.one_of(
    envelopes().map(json.dumps),
    envelopes().map(json.dumps),
    envelopes().map(json.dumps),
    json_values(GARBAGE_TEXT).filter(lambda value: not isinstance(value, dict)).map(json.dumps),
    st.text(max_size=80),
    st.sampled_from(
        ["", " ", "\x00", "{", '{"event":', '{"event": "message"', "\ufeff{}", "NaN", _nested(50)]
    ),
    st.binary(max_size=120),
    st.sampled_from(INVALID_UTF8),
    envelopes().map(lambda envelope: json.dumps(envelope).encode()),
    st.sampled_from(HUGE_FRAMES),
)


# REST answers ---------------------------------------------------------------------------

WA_MESSAGE: Final[dict[str, Any]] = {
    "id": f"false_{BOB}_3EB0FUZZ",
    "timestamp": RECENT_S - 600,
    "from": BOB,
    "fromMe": False,
    "source": "app",
    "to": ME_ID,
    "participant": None,
    "body": "hi",
    "hasMedia": False,
    "media": None,
    "ack": 2,
    "ackName": "DEVICE",
    "replyTo": None,
    "_data": {},
}
TEMPLATES: Final[dict[str, Any]] = {
    "version": {"version": "2026.7.1", "engine": "GOWS", "tier": "CORE", "browser": None},
    "session": {
        "name": SESSION,
        "status": "WORKING",
        "config": {},
        "me": {"id": ME_ID, "pushName": "Alice Phone"},
        "engine": {"engine": "GOWS"},
        "presence": None,
        "timestamps": {"activity": RECENT_S * 1000},
    },
    "overview": [
        {"id": BOB, "name": "Bob", "picture": None, "lastMessage": WA_MESSAGE, "_chat": {}}
    ],
    "messages": [WA_MESSAGE],
    "lids": {"lid": "11111111111111@lid", "pn": BOB},
    "new_message_id": {"id": "3EB0FUZZ"},
    "send_text": WA_MESSAGE | {"id": f"true_{BOB}_3EB0FUZZ", "fromMe": True},
}
# Field-specific oddities the generic mutation would rarely find.
FIELD_VALUES: Final[dict[str, st.SearchStrategy[Any]]] = {
    "timestamp": PAYLOAD_TIMESTAMPS,
    "status": st.sampled_from(
        ["WORKING", "STARTING", "STOPPED", "FAILED", "SCAN_QR_CODE", "PASSKEY_REQUIRED"]
    )
    | UNKNOWN_STATUSES
    | NOT_A_STRING,
    "id": MESSAGE_IDS | st.fixed_dictionaries({"_serialized": MESSAGE_IDS}) | NOT_A_STRING,
    "from": CHAT_IDS | NOT_A_STRING,
    "lastMessage": message_payloads() | JSON_VALUES,
}


def mutated(template: Any, key: str | None = None) -> st.SearchStrategy[Any]:
    """The template with fields dropped, replaced by junk, or given odd values."""
    odd = FIELD_VALUES.get(key or "", JSON_VALUES)
    if isinstance(template, dict):
        fields = {name: mutated(value, name) for name, value in template.items()}
        return (
            st.fixed_dictionaries({}, optional=fields)
            | st.fixed_dictionaries(fields)
            | st.fixed_dictionaries(fields, optional={"unknown": JSON_VALUES})
            | odd
        )
    if isinstance(template, list):
        # Shorter than any page the integration asks for (see `_huge`).
        return st.lists(mutated(template[0]) | JSON_VALUES, max_size=4) | odd
    return st.just(template) | st.just(template) | odd


def _with_bad_byte(body: bytes) -> bytes:
    """Invalid UTF-8 inside the first string of a JSON body (or at its start)."""
    quote = body.find(b'"')
    return body[: quote + 1] + b"\xff\xfe" + body[quote + 1 :] if quote >= 0 else b"\xff" + body


def _huge(template: Any) -> bytes:
    """About 1 MiB. A list keeps its length (a bridge that ignores paging is tested in
    tests/test_inbox.py)."""
    if isinstance(template, dict):
        return json.dumps(template | {"padding": "p" * MIB}).encode()
    return json.dumps([item | {"padding": "p" * MIB} for item in template]).encode()


@st.composite
def answers(draw: st.DrawFn, kind: str) -> Answer:
    """A fuzzed answer for an endpoint kind (401/403/404 are meaningful, not bad input)."""
    template = TEMPLATES[kind]
    status = draw(
        st.sampled_from([200, 201])
        | st.sampled_from([200, 201])
        | st.sampled_from([202, 204, 400, 409, 422, 429, 500, 502, 503])
    )
    shape = draw(
        st.sampled_from(
            ["mutated", "mutated", "json", "text", "binary", "bad_utf8", "empty", "huge"]
        )
    )
    body: bytes
    match shape:
        case "mutated":
            body = json.dumps(draw(mutated(template))).encode()
        case "json":
            body = json.dumps(draw(json_values(GARBAGE_TEXT))).encode()
        case "text":
            body = draw(st.text(max_size=60)).encode()
        case "binary":
            body = draw(st.binary(max_size=60))
        case "bad_utf8":
            body = _with_bad_byte(json.dumps(draw(mutated(template))).encode())
        case "empty":
            body = b""
        case _:
            body = _huge(template)
    content_type = draw(
        st.sampled_from(
            [
                "application/json",
                "application/json; charset=utf-8",
                "text/plain",
                "text/html",
                "application/octet-stream",
            ]
        )
    )
    return Answer(status, body, content_type)


# Action data ----------------------------------------------------------------------------

E164: Final = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
TARGETS: Final = st.one_of(
    E164,
    E164.map(lambda number: f"{number[:4]} ({number[4:7]}) {number[7:]}"),
    st.from_regex(r"[0-9]{5,20}(-[0-9]{5,20})?@(c\.us|g\.us|lid)", fullmatch=True),
    st.sampled_from(
        ["", " ", "+", "+0123456789", "+1234", "+1234567890123456", "status@broadcast", BOB[:-5]]
    ),
    st.sampled_from(["+49" + "1" * 10_000, "@" * 1000, "\u202e+4915112345678"]),
    GARBAGE_TEXT,
    st.integers() | st.floats() | st.booleans() | st.none(),
    st.lists(E164, max_size=2) | st.dictionaries(SAFE_TEXT, SAFE_TEXT, max_size=2),
)
# Lone surrogates in a message: test_a_lone_surrogate_in_a_sent_message.
MESSAGES: Final = st.one_of(
    st.text(max_size=200),
    st.text(max_size=200),
    st.sampled_from(["", " ", "\n\t ", "\x00", "a\x00b", "🙂", "\u202e"]),
    st.sampled_from(["x" * 65_536, "🙂" * 65_536, "x" * 65_537, "y" * MIB]),
    st.integers() | st.floats() | st.booleans() | st.none(),
    st.lists(SAFE_TEXT, max_size=2) | st.dictionaries(SAFE_TEXT, SAFE_TEXT, max_size=2),
)
BOOLEANISH: Final = st.booleans() | st.sampled_from(
    ["yes", "no", "on", "off", "true", "maybe", "", 0, 1, 2, -1, None, 1.5, [], {}]
)
TTLS: Final = st.one_of(
    st.integers(min_value=1, max_value=30 * 86400),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.sampled_from(["60", "1e3", "soon", "", "-1", None, True, False, [], {}]),
)


def entry_ids(*others: str) -> st.SearchStrategy[Any]:
    """Config entry ids other than the right one: the given ones (weighted) and anything."""
    return st.one_of(
        *(st.just(entry_id) for entry_id in others),
        SAFE_TEXT,
        st.integers() | st.none() | st.booleans(),
        st.lists(st.sampled_from(others), max_size=2),
    )


@st.composite
def send_message_data(draw: st.DrawFn, entry_id: str, *other_ids: str) -> dict[str, Any]:
    """Mostly valid send_message data; each field is replaced by anything now and then."""
    data: dict[str, Any] = {
        "config_entry_id": entry_id,
        "target": draw(E164 | st.from_regex(r"[0-9]{8,15}@(c\.us|g\.us)", fullmatch=True)),
        "message": draw(st.text(min_size=1, max_size=80).filter(str.strip)),
    }
    if draw(st.booleans()):
        data["queue"] = draw(st.booleans())
    if draw(st.booleans()):
        data["ttl"] = draw(st.integers(min_value=1, max_value=30 * 86400))
    wild: dict[str, st.SearchStrategy[Any]] = {
        "config_entry_id": entry_ids(*other_ids),
        "target": TARGETS,
        "message": MESSAGES,
        "queue": BOOLEANISH,
        "ttl": TTLS,
    }
    for key, strategy in wild.items():
        if draw(SOMETIMES):
            data[key] = draw(strategy, label=key)
    return _reshaped(draw, data, ("config_entry_id", "target", "message"))


@st.composite
def reconnect_data(draw: st.DrawFn, entry_id: str, *other_ids: str) -> dict[str, Any]:
    """Mostly valid reconnect data (a session restart now and then), fields replaced."""
    data: dict[str, Any] = {"config_entry_id": entry_id}
    if draw(SOMETIMES):
        data["restart_session"] = draw(st.booleans())
    if draw(st.booleans()):
        data["config_entry_id"] = draw(entry_ids(*other_ids), label="config_entry_id")
    if draw(SOMETIMES):
        data["restart_session"] = draw(BOOLEANISH, label="restart_session")
    return _reshaped(draw, data, ("config_entry_id",))


def _reshaped(draw: st.DrawFn, data: dict[str, Any], required: Sequence[str]) -> dict[str, Any]:
    """Now and then a required field is missing or an unknown one comes along."""
    if draw(RARELY):
        del data[draw(st.sampled_from(list(required)))]
    if draw(RARELY):
        data[draw(SAFE_TEXT.filter(lambda key: key not in data))] = draw(JSON_VALUES)
    return data
