"""Check a WAHA bridge before (or while) using the integration: read-only calls, plain words.

    scripts/check_bridge URL API_KEY [SESSION]

Asks the bridge only what can be asked without changing anything: `/ping`,
`GET /api/server/version`, `GET /api/sessions/{session}`, `GET /api/{session}/new-message-id`
(it only generates an id), `GET /api/{session}/chats/overview?limit=1`, and opens the
WebSocket `/ws` for a moment (then closes it) to see that the key works there too. It never
starts, stops, creates, updates or sends anything.

It prints whether the bridge is reachable, whether the key is accepted, the version, engine and
edition, the session's status and whether a phone is linked (never the number or the name),
then one line per feature with what the integration does about what does not work.

Exit status: 0 the integration can work with the bridge (reachable, key accepted by REST and
the WebSocket, the session exists), 1 it cannot (the reason is printed), 2 bad usage.
The API key is never printed: the client's errors leave it out, aiohttp's own messages are
never shown (the WebSocket URL carries the key), and every line is scrubbed once more.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import sys
from typing import TextIO

import aiohttp
from yarl import URL

from custom_components.whatsapp_gateway.bridge import (
    SessionInfo,
    SessionStatus,
    WahaAuthError,
    WahaClient,
    WahaConnectionError,
    WahaError,
    WahaSessionNotFoundError,
    WahaSessionStatusError,
    WahaStreamClosedError,
)
from custom_components.whatsapp_gateway.bridge.capabilities import (
    ENGINE_WEBJS,
    MULTI_SESSION_CORE_SINCE,
    NEW_MESSAGE_IDS_SINCE,
    BridgeCapabilities,
)
from custom_components.whatsapp_gateway.bridge.errors import (
    WahaNotImplementedError,
    WahaRouteMissingError,
    WahaSessionNameError,
    WahaStoreDisabledError,
)

USAGE = """\
usage: scripts/check_bridge URL API_KEY [SESSION]

Checks a WAHA bridge with read-only calls and says what the integration can do with it.
  URL      the bridge, e.g. http://192.168.1.10:3000
  API_KEY  the bridge's WAHA_API_KEY ('-' reads it from standard input)
  SESSION  the WAHA session (default: default)
Exit status: 0 the integration can work with the bridge, 1 it cannot, 2 bad usage."""

DEFAULT_SESSION = "default"
# How long the WebSocket stays open: a rejected key is closed (1008) right after the upgrade.
WS_WAIT = 1.0
# Keys this short are replaced by WAHA at every start; scrubbing them would mangle the report.
MIN_SCRUBBED_KEY = 6
LABEL_WIDTH = 25
ONLY_DEFAULT = f"this WAHA Core runs only the session '{DEFAULT_SESSION}'"


class _Report:
    """Writes the report's lines, never with the API key in them."""

    def __init__(self, out: TextIO, api_key: str) -> None:
        self._out = out
        self._key = api_key
        self.problems: list[str] = []

    def line(self, text: str) -> None:
        if len(self._key) >= MIN_SCRUBBED_KEY:
            text = text.replace(self._key, "***")
        self._out.write(text + "\n")
        self._out.flush()

    def field(self, label: str, text: str) -> None:
        self.line(f"{label + ':':<{LABEL_WIDTH}}{text}")

    def problem(self, reason: str) -> None:
        if reason not in self.problems:
            self.problems.append(reason)


def _usage_problem(url: str, api_key: str, session: str) -> str | None:
    """What is wrong with the arguments (never quoting them: the key may be in the wrong place)."""
    try:
        parsed = URL(url)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        return "URL must look like http://HOST:PORT (for example http://192.168.1.10:3000)"
    if not api_key:
        return "API_KEY is empty"
    if not session:
        return "SESSION is empty"
    return None


def _shown_url(url: str) -> str:
    """The bridge's URL without user info, query or fragment."""
    return str(URL(url).with_user(None).with_query(None).with_fragment(None))


async def check(
    url: str,
    api_key: str,
    session: str = DEFAULT_SESSION,
    *,
    out: TextIO,
    ws_wait: float = WS_WAIT,
) -> int:
    """Check the bridge at `url`, print the report to `out`, return the exit status."""
    report = _Report(out, api_key)
    if (problem := _usage_problem(url, api_key, session)) is not None:
        report.line(f"check_bridge: {problem}")
        report.line(USAGE)
        return 2
    report.line(f"Checking the WAHA bridge at {_shown_url(url)}, session '{session}' (read-only).")
    try:
        async with aiohttp.ClientSession() as http:
            client = WahaClient(http, url, api_key)
            await _check(client, session, report, ws_wait)
    except Exception as err:  # noqa: BLE001 - the report ends with a reason, not a traceback
        # Only the type: aiohttp's messages may quote the WebSocket URL, which holds the key.
        report.problem(f"unexpected error {type(err).__name__}")
    if report.problems:
        report.line(f"Result: NOT OK: {'; '.join(report.problems)}.")
        return 1
    report.line("Result: OK, the integration can work with this bridge.")
    return 0


async def _check(client: WahaClient, session: str, report: _Report, ws_wait: float) -> None:
    # 1. Reachable? (/ping needs no key.)
    try:
        await client.ping()
    except WahaConnectionError as err:
        report.field("Reachable", f"no: {err}")
        report.line("  Is WAHA running (docker ps, docker logs waha)? Are the URL and port right?")
        report.problem("the bridge is not reachable")
        return
    except WahaAuthError:
        pass  # a proxy in front asks for the key even here: the next call tells about it
    except WahaError as err:
        report.field("Reachable", f"something answers, but not like WAHA ({err})")
        report.problem("no WAHA bridge answers at this URL")
        return
    report.field("Reachable", "yes")

    # 2. The key over REST, and what the bridge is.
    try:
        server = await client.version()
    except WahaAuthError as err:
        report.field("API key", f"rejected by REST ({_auth_detail(err)})")
        report.line(
            "  WAHA makes up a random key at every start when WAHA_API_KEY is missing or weak"
            " (123, waha, admin, ...): set a strong one, restart WAHA, and use it here and"
            " in the integration (Re-authenticate)."
        )
        report.problem("the bridge rejects the API key")
        return
    except WahaError as err:
        server = None
        version_error: str | None = str(err)
    else:
        version_error = None

    # 3. The session (its engine wins over the bridge's default one).
    info, session_problem = await _read_session(client, session)
    if session_problem is not None:
        report.problem(session_problem)

    # 4. The key on the WebSocket, open for a moment only.
    ws_result = await _check_websocket(client, session, ws_wait)

    if ws_result is None:
        report.field("API key", "accepted (REST and WebSocket)")
    else:
        ws_detail, ws_problem = ws_result
        report.field("API key", f"accepted by REST, but the WebSocket {ws_detail}")
        report.problem(ws_problem)

    caps = client.capabilities
    if server is None:
        report.field("Version", f"unknown ({version_error})")
    else:
        release = "" if caps.release is not None else " (release number unreadable)"
        report.field("Version", f"{server.version}{release}")
    engine = caps.engine or "not reported"
    if server is not None and server.engine and caps.engine and server.engine != caps.engine:
        engine += f" (the session's; the bridge's default is {server.engine})"
    report.field("Engine", engine)
    report.field("Edition", _edition(caps))
    _print_session(session, info, session_problem, report)

    # 5. What only a working session can show: new message ids and the history.
    ids_answered: bool | None = None
    history_answered: bool | None = None
    history_error: str | None = None
    working = info is not None and info.status is SessionStatus.WORKING
    if working:
        ids_answered = await _probe_new_message_id(client, session)
        history_answered, history_error = await _probe_history(client, session)
    report.line("Features:")
    _print_features(
        client.capabilities,
        session,
        report,
        ids_answered=ids_answered,
        history_answered=history_answered,
        history_error=history_error,
        unchecked=" (from the version: not WORKING)"
        if info and not working
        else " (from the version)",
    )


def _auth_detail(err: WahaAuthError) -> str:
    return "HTTP 403: the key has no rights here" if err.forbidden else "HTTP 401"


async def _read_session(client: WahaClient, session: str) -> tuple[SessionInfo | None, str | None]:
    """The session, or why it cannot be used."""
    try:
        return await client.get_session(session), None
    except WahaSessionNameError:
        return None, ONLY_DEFAULT
    except WahaSessionNotFoundError:
        return None, f"the session '{session}' does not exist"
    except WahaAuthError as err:
        return None, f"the key may not read the session '{session}' ({_auth_detail(err)})"
    except WahaError as err:
        return None, f"the session could not be read ({err})"


def _print_session(
    session: str, info: SessionInfo | None, problem: str | None, report: _Report
) -> None:
    if info is None:
        hint = ""
        if problem == ONLY_DEFAULT:
            hint = ": use the session 'default', or WAHA 2026.6.1 or later, or WAHA Plus"
        elif problem is not None and problem.endswith("does not exist"):
            hint = ": the integration's setup offers to create it"
        report.field("Session", f"{problem}{hint}")
        return
    status = info.status
    linked = "a phone is linked" if info.me is not None else "no phone linked"
    if status is SessionStatus.WORKING:
        text = f"'{session}' is WORKING, {linked}"
    elif status is SessionStatus.SCAN_QR_CODE:
        text = (
            f"'{session}' waits for a phone (SCAN_QR_CODE): link it in the integration's"
            " setup or its 'pairing_required' repair (QR code or pairing code)"
        )
    elif status is SessionStatus.STOPPED:
        text = (
            f"'{session}' is STOPPED, {linked}: the integration starts it"
            " (option 'Start a stopped session', on by default)"
        )
    elif status is SessionStatus.FAILED:
        text = (
            f"'{session}' is FAILED: the integration restarts it once; if the phone logged"
            " out, link it again from the 'pairing_required' repair"
        )
    elif status is SessionStatus.STARTING:
        text = f"'{session}' is STARTING, {linked}: run this check again in a few seconds"
    elif status in (SessionStatus.PASSKEY_REQUIRED, SessionStatus.PASSKEY_CONFIRMATION_REQUIRED):
        text = f"'{session}' waits for a passkey ({status}): confirm it on the phone"
    else:
        text = f"'{session}' reports the status {info.raw_status!r}, {linked}"
    report.field("Session", text)


async def _check_websocket(client: WahaClient, session: str, wait: float) -> tuple[str, str] | None:
    """None when the key is accepted there, else (what happened, the problem).

    Never aiohttp's own message: the WebSocket URL it may quote carries the key.
    """
    rejected = "the WebSocket rejects the API key"
    try:
        stream = await client.connect_stream(session, heartbeat=30.0, events=("session.status",))
    except WahaAuthError as err:
        return f"rejects it ({_auth_detail(err)})", rejected
    except WahaConnectionError:
        return (
            "cannot be opened: if a reverse proxy is in front of WAHA, let it pass"
            " WebSocket upgrades on /ws",
            "the WebSocket cannot be opened",
        )
    try:
        async with asyncio.timeout(wait):
            await stream.receive()
    except TimeoutError:
        return None  # still open: the key is accepted
    except WahaAuthError as err:
        return f"rejects it (closed: {'Forbidden' if err.forbidden else 'Unauthorized'})", rejected
    except WahaStreamClosedError as err:
        code = "none" if err.code is None else err.code
        return f"closes at once (code {code})", "the WebSocket closes at once"
    finally:
        await stream.close()
    return None  # an event came: the key is accepted


async def _probe_new_message_id(client: WahaClient, session: str) -> bool | None:
    """Whether the bridge generates message ids (nothing is sent); None when unclear."""
    try:
        await client.new_message_id(session)
    except WahaRouteMissingError, WahaNotImplementedError:
        return False  # the client switched the feature off
    except WahaError:
        return None
    return True


async def _probe_history(client: WahaClient, session: str) -> tuple[bool | None, str | None]:
    """Whether one chat of the overview can be read (None when unclear), and another error."""
    try:
        await client.chats_overview(session, limit=1)
    except WahaStoreDisabledError:
        client.capabilities = replace(client.capabilities, noweb_store=False)
        return False, None
    except WahaSessionStatusError:
        return None, None
    except WahaError as err:
        return None, str(err)
    if client.capabilities.noweb_store is False:
        # What the bridge shows wins over the session's config.
        client.capabilities = replace(client.capabilities, noweb_store=True)
    return True, None


def _edition(caps: BridgeCapabilities) -> str:
    if caps.edition is None:
        return "not reported"
    return {"CORE": "Core", "PLUS": "Plus"}.get(caps.edition, caps.edition)


def _release_text(release: tuple[int, int, int]) -> str:
    return ".".join(map(str, release))


def _print_features(
    caps: BridgeCapabilities,
    session: str,
    report: _Report,
    *,
    ids_answered: bool | None,
    history_answered: bool | None,
    history_error: str | None,
    unchecked: str,
) -> None:
    def note(answered: bool | None, works: bool) -> str:
        """Whether the bridge's answer showed it, or only its version says so."""
        return " (checked)" if answered is works else unchecked

    history_note = note(history_answered, caps.history)
    ids_note = note(ids_answered, caps.new_message_ids)
    if history_error is not None:
        history = f"the bridge did not answer the chats overview ({history_error}): no backfill"
    elif caps.history:
        history = f"works{history_note}: messages missed during an outage are fetched"
    else:
        history = (
            f"off{history_note}: NOWEB keeps no history while its store is off; the"
            " integration raises the repair 'noweb_store_disabled' that turns the store on"
        )
    report.field("  History and backfill", history)

    if caps.new_message_ids:
        ids = f"work{ids_note}: a send goes out at most once by id, even when retried"
    else:
        if caps.engine == ENGINE_WEBJS:
            why = "the WEBJS engine has none"
        elif caps.new_message_ids_answered is False:
            why = "the bridge has no such route"
        else:
            why = f"only from WAHA {_release_text(NEW_MESSAGE_IDS_SINCE)} on GOWS and NOWEB"
        ids = f"no{ids_note} ({why}): retries are matched by text and time"
    report.field("  New message ids", ids)

    media = caps.media_sending
    if media is None:
        media_text = "unknown: the bridge does not tell its edition (files need WAHA Plus)"
    elif media:
        media_text = "works (Plus)"
    else:
        media_text = "no, Core sends no files: send_media is refused with media_needs_plus"
    report.field("  Media sending", media_text)

    since = _release_text(MULTI_SESSION_CORE_SINCE)
    if not caps.multi_session:
        multi = f"no, Core before {since}: only the session '{DEFAULT_SESSION}'"
        if session != DEFAULT_SESSION:
            report.problem(ONLY_DEFAULT)
    elif caps.edition == "PLUS":
        multi = "works (Plus)"
    elif caps.release is None:
        multi = f"probably (Core allows more than one from {since}; the release is unknown)"
    else:
        multi = f"works (Core from {since})"
    report.field("  More than one session", multi)

    if caps.passkeys:
        passkeys = (
            "may be asked when linking (GOWS 2026.7.1): confirm it on the phone, the"
            " pairing dialog waits"
        )
    else:
        passkeys = "never asked on this bridge (only GOWS from 2026.7.1)"
    report.field("  Passkeys", passkeys)


def main(argv: list[str] | None = None) -> int:
    """Run the check from the command line; the exit status as documented above."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if len(args) not in (2, 3):
        # Never echo the arguments: one of them is the key.
        print(USAGE, file=sys.stderr)
        return 2
    url, api_key = args[0], args[1]
    session = args[2] if len(args) == 3 else DEFAULT_SESSION
    if api_key == "-":
        api_key = sys.stdin.readline().strip()
    if (problem := _usage_problem(url, api_key, session)) is not None:
        print(f"check_bridge: {problem}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(check(url, api_key, session, out=sys.stdout))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
