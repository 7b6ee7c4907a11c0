"""The bridge double: sessions, their state machine, faults and the listener's lifecycle."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors, ids, payloads
from .auth import KeyRing, mask
from .media import (
    TINY_JPEG,
    OutgoingFile,
    StoredFile,
    download_error,
    extension as media_extension,
    media_kind as media_kind_of,
    proto_content,
)
from .model import (
    DEFAULT_ME_ID,
    DEFAULT_SESSION,
    MAX_QR_CODES,
    PASSKEY_STATUSES,
    UNCHANGED,
    DoubleSession,
    JsonDict,
    SessionStatus,
    Status,
    Unchanged,
    coerce_status,
    make_me,
)
from .profile import WEBJS_TYPES, BridgeProfile, is_weak_key, random_key, to_jid
from .request_log import RequestLog, RequestRecord
from .rest import build_app
from .sends import SendFaults
from .streams import StreamHub

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterable
    import ssl

_LOGGER = logging.getLogger(__package__)

SHUTDOWN_TIMEOUT = 1.0
QR_FIRST_LIFETIME = 60.0
QR_LIFETIME = 20.0
REAL_STATUS_WAIT = 10.0
"""WAHA's wait for a running session to reach the needed status (``WAIT_STATUS_TIMEOUT``)."""
REAL_STATUS_WAIT_STOPPED = 5.0
"""WAHA's wait for a session to run at all (``WAIT_SESSION_RUNNING_TIMEOUT``)."""
_MEDIA_PROTO = {"file": "document"}
"""A media send's kind -> the kind of the file message it makes."""
MEDIA_SEND_KINDS = frozenset({"image", "file", "voice", "video"})
GRACEFUL_PAUSE = 3.0
"""Core's pause after stopping its sessions on SIGTERM (``SESSION_STOP_TIMEOUT``)."""
GRACEFUL_SOCKETS_AFTER = 0.1
"""When, after the signal, the WebSocket server drops every socket (seen live: ~0.1 s)."""


class BridgeDouble:
    """A WAHA bridge double speaking REST and WebSocket on 127.0.0.1, with fault switches."""

    def __init__(
        self,
        *,
        api_key: str,
        profile: BridgeProfile | None = None,
        engine: str | None = None,
        version: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        server_heartbeat: float | None = 60.0,
        status_wait: float = 0.0,
        status_wait_stopped: float = 0.0,
        transition_delay: float = 0.0,
        start_sessions_on_boot: bool | Iterable[str] = False,
    ) -> None:
        """A double playing ``profile`` (default GOWS 2026.7.1 Core, NOWEB store on).

        ``engine`` / ``version`` override the profile's engine and release (older callers).
        ``status_wait`` is how long endpoints wait for a running session to reach the needed
        status (real WAHA: 10 s), ``status_wait_stopped`` how long they wait for a stopped or
        missing one to run at all (real: 5 s); both 0 by default so tests do not slow down.
        ``start_sessions_on_boot`` mirrors ``WHATSAPP_START_SESSION``: after a graceful
        restart, True starts the sessions that were running, a collection those named.
        A weak or missing ``api_key`` (see ``profile.WEAK_KEYS``) is replaced by a random
        key at the first start and at every graceful restart, as WAHA does.
        """
        profile = profile or BridgeProfile()
        if engine is not None or version is not None:
            profile = dataclasses.replace(
                profile, engine=engine or profile.engine, release=version or profile.release
            )
        self.profile = profile
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.server_heartbeat = server_heartbeat
        self.status_wait = status_wait
        self.status_wait_stopped = status_wait_stopped
        self.transition_delay = transition_delay
        self.start_sessions_on_boot: bool | frozenset[str] = (
            start_sessions_on_boot
            if isinstance(start_sessions_on_boot, bool)
            else frozenset(start_sessions_on_boot)
        )
        self.keys = KeyRing(api_key)
        self.weak_key = is_weak_key(api_key)
        """Whether the configured key is weak or missing (replaced at every start)."""
        self.generated_keys: list[str] = []
        """Every key generated for a weak one, oldest first (the last is :attr:`api_key`)."""
        self.hub = StreamHub()
        self.log = RequestLog(time.monotonic)
        self.sessions: dict[str, DoubleSession] = {}
        self.pairing_timeouts: tuple[float, float] | None = None
        """When set (first, then every), QR codes rotate on their own (the CLI sets it)."""
        self.shutting_down = False
        """A graceful restart is under way: new WebSockets are dropped at once."""
        self.restarts = 0
        """How many graceful restarts finished."""
        self._runner: web.AppRunner | None = None
        self._started = False
        self._followups: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._down_running: set[str] = set()
        self._request_failures: list[tuple[str, str, int]] = []
        """Armed ``fail_requests``: (method, path, HTTP status), one per failing answer."""
        self.send_faults = SendFaults()
        """Armed ``drop_send_answers`` / ``fail_sends`` faults."""
        self.refused_calls: set[str] = set()
        """Talk calls answering 501 (see :meth:`refuse_calls`)."""

    # ----------------------------------------------------------------- properties

    @property
    def engine(self) -> str:
        """The profile's engine (GOWS, NOWEB or WEBJS)."""
        return self.profile.engine

    @property
    def version(self) -> str:
        """The profile's release, e.g. ``2026.7.1``."""
        return self.profile.release

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:3000``."""
        if not self._started:
            raise RuntimeError("the bridge double was never started")
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def listening(self) -> bool:
        """Whether the listener is up."""
        return self._runner is not None

    @property
    def api_key(self) -> str:
        """The current full key (for tests; never logged unless generated for a weak one)."""
        return self.keys.current

    @property
    def clock(self) -> Callable[[], float]:
        """The clock stamping request records (``time.monotonic`` by default)."""
        return self.log.clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self.log.clock = value

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request and upgrade seen, oldest first."""
        return self.log.records

    def count_requests(
        self,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        session: str | None = None,
        since: float | None = None,
    ) -> int:
        """How many recorded requests match every given filter."""
        return self.log.count(method=method, path_prefix=path_prefix, session=session, since=since)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self.log.clear()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen (again on the same port after the first start).

        The first start boots the bridge: a weak key is replaced, and single-session Core
        gets its ``default`` session (STOPPED) unless one was added.
        """
        if self._runner is not None:
            return
        if not self._started:
            self._boot()
            if self.profile.default_always_exists and DEFAULT_SESSION not in self.sessions:
                self.add_session(DEFAULT_SESSION)
        app = build_app(self)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        self._started = True
        _LOGGER.info("listening on %s", self.url)

    def _boot(self) -> None:
        """What WAHA does at each start: a weak or missing key becomes a random one."""
        if self.weak_key:
            key = random_key()
            self.keys.rotate(key)
            self.generated_keys.append(key)
            # WAHA prints a generated key in its log: that is how its user learns it.
            _LOGGER.warning("weak key replaced; generated WAHA_API_KEY=%s", key)

    async def stop(self) -> None:
        """Close every socket with 1001, stop listening and cancel timers. Idempotent."""
        await self._cancel(self._background)
        await self._cancel(self._followups)
        await self._shutdown(close_code=1001)

    async def _shutdown(self, close_code: int | None) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if close_code is not None:
            await self.hub.close_all(close_code)
        self.hub.cut_all()  # everything without a close frame, and the half-open ones
        await runner.cleanup()
        for client in list(self.hub.clients):
            await client.stop_writer()
            self.hub.discard(client)

    # --------------------------------------------------------------- tasks

    def _spawn(
        self, coro: Coroutine[Any, Any, None], *, background: bool = False
    ) -> asyncio.Task[None]:
        tasks = self._background if background else self._followups
        task = asyncio.create_task(coro, name="bridge-double")
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(_log_failure)
        return task

    @staticmethod
    async def _cancel(tasks: set[asyncio.Task[None]]) -> None:
        current = asyncio.current_task()
        pending = [task for task in tasks if task is not current and not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    # ------------------------------------------------------------ sessions

    def add_session(
        self,
        name: str,
        *,
        status: Status = SessionStatus.STOPPED,
        paired: bool = False,
        me_id: str | None = None,
        push_name: str | None = None,
        config: JsonDict | None = None,
    ) -> DoubleSession:
        """Add (or replace) a session without emitting events.

        Without ``config``, the profile's default: on NOWEB the store is enabled when the
        profile's ``noweb_store`` says so (``{"noweb": {"store": {"enabled": ...}}}``).
        """
        session = DoubleSession(
            name=name,
            paired=paired,
            me=make_me(me_id, push_name) if paired else None,
            config=dict(config) if config is not None else self.profile.default_session_config(),
        )
        status = coerce_status(status)
        if status == SessionStatus.SCAN_QR_CODE:
            session.qr_value = ids.qr_value()
            session.qr_count = 1
        session.record_status(status, _now_ms())
        self.sessions[name] = session
        return session

    def session(self, name: str) -> DoubleSession:
        """The session called ``name``; KeyError when it does not exist."""
        try:
            return self.sessions[name]
        except KeyError:
            raise KeyError(f"no session {name!r}") from None

    def delete_session(self, name: str) -> None:
        """Fault 10: forget the session; its endpoints answer 404."""
        _LOGGER.info("fault: delete_session %s", name)
        self.sessions.pop(name, None)

    # ------------------------------------------------------------ state machine

    def _apply(
        self,
        session: DoubleSession,
        status: Status,
        *,
        me: JsonDict | None | Unchanged = UNCHANGED,
        data: JsonDict | None = None,
    ) -> None:
        status = coerce_status(status)
        if not isinstance(me, Unchanged):
            session.me = me
            session.paired = me is not None
        if status == SessionStatus.SCAN_QR_CODE:
            if session.qr_value is None:
                session.qr_value = ids.qr_value()
                session.qr_count += 1
        else:
            session.qr_value = None
            session.pairing_code = None
            if status not in PASSKEY_STATUSES:
                session.pairing_phone = None
        session.status_data = data
        session.record_status(status, _now_ms())
        payload = payloads.status_payload(session, with_data=self.profile.status_payload_has_data)
        self._emit(session.name, "session.status", payload)

    def _begin_pairing(self, session: DoubleSession) -> None:
        """A fresh pairing attempt: forget the login, first QR code, SCAN_QR_CODE."""
        session.pairing_attempt += 1
        session.qr_value = None
        session.qr_count = 0
        session.pairing_code = None
        session.pairing_phone = None
        self._apply(session, SessionStatus.SCAN_QR_CODE, me=None)
        if self.pairing_timeouts is not None:
            first, every = self.pairing_timeouts
            self._spawn(self._pairing_clock(session.name, session.pairing_attempt, first, every))

    def _schedule_start(self, session: DoubleSession) -> None:
        """After STARTING: WORKING when paired, else SCAN_QR_CODE, after transition_delay."""
        self._spawn(self._finish_start(session.name, session.generation))

    async def _finish_start(self, name: str, generation: int) -> None:
        if self.transition_delay > 0:
            await asyncio.sleep(self.transition_delay)
        session = self.sessions.get(name)
        if session is None or session.generation != generation:
            return
        if session.paired:
            self._apply(session, SessionStatus.WORKING)
        else:
            self._begin_pairing(session)
        await self.hub.flush()

    async def _pairing_clock(self, name: str, attempt: int, first: float, every: float) -> None:
        delay = first
        while True:
            await asyncio.sleep(delay)
            session = self.sessions.get(name)
            if (
                session is None
                or session.pairing_attempt != attempt
                or session.status != SessionStatus.SCAN_QR_CODE
            ):
                return
            await self.rotate_qr(name)
            if session.status != SessionStatus.SCAN_QR_CODE:
                return
            delay = every

    # REST control actions (the handlers call these; they answer a SessionDTO).

    async def rest_start(self, session: DoubleSession) -> JsonDict:
        """``POST /api/sessions/{s}/start``: a running one (FAILED too) answers 422."""
        if session.running:
            raise errors.already_started(self.profile.already_started_name(session.name))
        self._apply(session, SessionStatus.STARTING)
        return await self._answer_and_continue(session)

    async def rest_stop(self, session: DoubleSession) -> JsonDict:
        """``POST /api/sessions/{s}/stop``: idempotent."""
        session.stalled = False
        if session.running:
            self._apply(session, SessionStatus.STOPPED)
        answer = payloads.session_dto(session)
        await self.hub.flush()
        return answer

    async def rest_restart(self, session: DoubleSession) -> JsonDict:
        """``POST /api/sessions/{s}/restart``: STOPPED, STARTING, then onwards."""
        session.stalled = False
        if session.running:
            self._apply(session, SessionStatus.STOPPED)
        self._apply(session, SessionStatus.STARTING)
        return await self._answer_and_continue(session)

    async def rest_logout(self, session: DoubleSession) -> JsonDict:
        """Fault 5, ``POST /api/sessions/{s}/logout``: STOPPED, STARTING, SCAN_QR_CODE."""
        session.stalled = False
        if not session.running:
            session.me = None
            session.paired = False
            return payloads.session_dto(session)
        self._apply(session, SessionStatus.STOPPED, me=None)
        self._apply(session, SessionStatus.STARTING)
        return await self._answer_and_continue(session)

    def request_code(self, session: DoubleSession, phone_number: str) -> str:
        """``POST /api/{s}/auth/request-code`` in SCAN_QR_CODE: a new pairing code for the phone.

        The code replaces an earlier one; the phone number's digits become the paired account.
        """
        session.pairing_code = ids.pairing_code()
        session.pairing_phone = "".join(char for char in phone_number if char.isdigit()) or None
        _LOGGER.info("pairing code requested for %s", session.name)
        return session.pairing_code

    async def _answer_and_continue(self, session: DoubleSession) -> JsonDict:
        answer = payloads.session_dto(session)
        self._schedule_start(session)
        await self.hub.flush()
        return answer

    async def rest_create(self, name: str, config: JsonDict, *, start: bool) -> JsonDict:
        """``POST /api/sessions``: a new STOPPED session, started when asked."""
        session = self.add_session(name, config=config)
        if start:
            return await self.rest_start(session)
        return payloads.session_dto(session)

    async def rest_update(self, session: DoubleSession, config: JsonDict | None) -> JsonDict:
        """``PUT /api/sessions/{s}``: stop it, replace its config, start it if it was running.

        As ``sessions.controller.ts`` ``update``; without a config, single-session Core
        forgets the old one (``upsert`` stores undefined), the others keep it.
        """
        was_running = session.running
        session.stalled = False
        if was_running:
            self._apply(session, SessionStatus.STOPPED)
        if config is not None:
            session.config = dict(config)
        elif not self.profile.multi_session:
            session.config = {}
        if was_running:
            self._apply(session, SessionStatus.STARTING)
            self._schedule_start(session)
        await self.hub.flush()
        return payloads.session_info(session, engine=self.engine)

    # ---------------------------------------------------------------- events

    def _emit(self, name: str, event: str, payload: object) -> JsonDict:
        session = self.sessions.get(name)
        env = self._envelope(name, event, payload, session)
        if session is not None:
            session.last_activity = env["timestamp"]
        if session is None or not session.stalled:
            self.hub.publish(name, event, json.dumps(env))
        return env

    def _envelope(
        self, name: str, event: str, payload: object, session: DoubleSession | None
    ) -> JsonDict:
        metadata: JsonDict | None = {} if self.profile.envelope_keeps_empty_metadata else None
        if session is not None and isinstance(session.config.get("metadata"), dict):
            metadata = dict(session.config["metadata"])
        return payloads.envelope(
            event=event,
            session=name,
            payload=payload,
            me=session.me if session is not None else None,
            metadata=metadata,
            engine=self.engine,
            env=self.environment(),
            timestamp_ms=_now_ms(),
        )

    def environment(self) -> JsonDict:
        """WAHAEnvironment of this double (``GET /api/server/version``)."""
        return self.profile.environment()

    # ---------------------------------------------------------------- faults

    async def set_status(
        self,
        name: str,
        status: Status,
        *,
        me: JsonDict | None | Unchanged = UNCHANGED,
        data: JsonDict | None = None,
    ) -> None:
        """Set any status (unknown strings too) and emit ``session.status`` with ``data``."""
        _LOGGER.info("fault: set_status %s %s", name, status)
        self._apply(self.session(name), status, me=me, data=data)
        await self.hub.flush()

    async def boot_paired(
        self, name: str, *, me_id: str | None = None, push_name: str | None = None
    ) -> None:
        """Fault 1: STOPPED -> STARTING -> WORKING with ``me`` set."""
        _LOGGER.info("fault: boot_paired %s", name)
        session = self.session(name)
        me = make_me(me_id, push_name) if me_id or session.me is None else session.me
        if session.status != SessionStatus.STOPPED:
            self._apply(session, SessionStatus.STOPPED)
        self._apply(session, SessionStatus.STARTING)
        self._apply(session, SessionStatus.WORKING, me=me)
        await self.hub.flush()

    async def start_pairing(self, name: str) -> None:
        """Fault 2: STARTING -> SCAN_QR_CODE with the first QR code."""
        _LOGGER.info("fault: start_pairing %s", name)
        session = self.session(name)
        if session.status != SessionStatus.STARTING:
            self._apply(session, SessionStatus.STARTING, me=None)
        self._begin_pairing(session)
        await self.hub.flush()

    async def rotate_qr(self, name: str) -> None:
        """Fault 2: the next QR code (SCAN_QR_CODE again); after the sixth, FAILED."""
        session = self.session(name)
        _LOGGER.info("fault: rotate_qr %s (code %d)", name, session.qr_count)
        if session.qr_count >= MAX_QR_CODES:
            self._apply(session, SessionStatus.FAILED, me=None)
        else:
            session.qr_value = None
            self._apply(session, SessionStatus.SCAN_QR_CODE)
        await self.hub.flush()

    async def scan_qr(
        self, name: str, *, me_id: str | None = None, push_name: str | None = None
    ) -> None:
        """Fault 2: the phone scanned the code: paired, WORKING (from any status)."""
        _LOGGER.info("fault: scan_qr %s", name)
        session = self.session(name)
        if self.profile.starting_after_qr_scan and session.status != SessionStatus.STARTING:
            self._apply(session, SessionStatus.STARTING)
        await self._paired(session, make_me(me_id, push_name))

    def qr_png(self, name: str) -> bytes:
        """The PNG ``GET /api/{name}/auth/qr?format=image`` serves for the current QR code.

        The same bytes for the same code; every rotation changes them. ValueError when the
        session has no current code (it is not SCAN_QR_CODE); KeyError when it does not exist.
        """
        session = self.session(name)
        if session.qr_value is None:
            raise ValueError(f"session {name!r} has no current QR code ({session.status})")
        return payloads.qr_png(session.qr_value)

    async def enter_pairing_code(
        self,
        name: str,
        *,
        code: str | None = None,
        me_id: str | None = None,
        push_name: str | None = None,
    ) -> None:
        """The user typed the requested pairing code on the phone: paired, WORKING.

        Only after ``auth/request-code`` and while SCAN_QR_CODE, else ValueError; with
        ``code``, also ValueError when it is not the code handed out. ``me`` is the phone
        number the code was requested for unless ``me_id`` says otherwise.
        """
        _LOGGER.info("fault: enter_pairing_code %s", name)
        session = self.session(name)
        if session.status != SessionStatus.SCAN_QR_CODE or session.pairing_code is None:
            raise ValueError(
                f"session {name!r} has no pairing code to enter ({session.status}); "
                "request one with POST /api/{session}/auth/request-code first"
            )
        if code is not None and code != session.pairing_code:
            raise ValueError(f"{code!r} is not the pairing code of session {name!r}")
        await self._paired(session, self._pairing_me(session, me_id, push_name))

    async def require_passkey(self, name: str, *, confirmation: bool = False) -> JsonDict:
        """WhatsApp wants a passkey to finish pairing: PASSKEY_REQUIRED, ``me`` null.

        The ``session.status`` event carries the WebAuthn challenge as ``data``; with
        ``confirmation``, PASSKEY_CONFIRMATION_REQUIRED carrying ``{"code"}`` instead (the
        manual case: compare the code with the phone's). Answers that ``data``.
        """
        _LOGGER.info("fault: require_passkey %s confirmation=%s", name, confirmation)
        session = self.session(name)
        if not self.profile.passkey_statuses:
            raise ValueError(f"{self.profile} has no passkey statuses (GOWS from 2026.7.1 only)")
        if confirmation:
            status = SessionStatus.PASSKEY_CONFIRMATION_REQUIRED
            data: JsonDict = {"code": ids.passkey_confirmation_code()}
        else:
            status, data = SessionStatus.PASSKEY_REQUIRED, payloads.passkey_challenge()
        self._apply(session, status, me=None, data=data)
        await self.hub.flush()
        return data

    async def confirm_passkey(
        self, name: str, *, me_id: str | None = None, push_name: str | None = None
    ) -> None:
        """The passkey step is done (signed, or the code confirmed): paired, WORKING.

        Only from PASSKEY_REQUIRED or PASSKEY_CONFIRMATION_REQUIRED, else ValueError.
        """
        _LOGGER.info("fault: confirm_passkey %s", name)
        session = self.session(name)
        if session.status not in PASSKEY_STATUSES:
            raise ValueError(f"session {name!r} waits for no passkey ({session.status})")
        await self._paired(session, self._pairing_me(session, me_id, push_name))

    @staticmethod
    def _pairing_me(session: DoubleSession, me_id: str | None, push_name: str | None) -> JsonDict:
        phone = session.pairing_phone
        return make_me(me_id or (f"{phone}@c.us" if phone else None), push_name)

    async def _paired(self, session: DoubleSession, me: JsonDict) -> None:
        """A pairing finished: the attempt (and its QR clock) ends, WORKING with ``me``."""
        session.pairing_attempt += 1
        self._apply(session, SessionStatus.WORKING, me=me)
        await self.hub.flush()

    async def blip(self, name: str) -> None:
        """Fault 3: WhatsApp connection lost, WORKING -> STARTING."""
        _LOGGER.info("fault: blip %s", name)
        self._apply(self.session(name), SessionStatus.STARTING)
        await self.hub.flush()

    async def end_blip(self, name: str) -> None:
        """Fault 3: back to WORKING."""
        _LOGGER.info("fault: end_blip %s", name)
        self._apply(self.session(name), SessionStatus.WORKING)
        await self.hub.flush()

    async def logout_from_phone(self, name: str) -> None:
        """Fault 4: WORKING -> FAILED, no longer paired.

        ``me`` becomes null, except on GOWS, which still reports the account it lost.
        """
        _LOGGER.info("fault: logout_from_phone %s", name)
        session = self.session(name)
        if self.profile.keeps_me_after_phone_logout:
            session.paired = False
            self._apply(session, SessionStatus.FAILED)
        else:
            self._apply(session, SessionStatus.FAILED, me=None)
        await self.hub.flush()

    def fail_requests(self, method: str, path: str, *, status: int = 500, count: int = 1) -> None:
        """The next ``count`` requests ``method path`` answer ``status`` (an internal error)."""
        _LOGGER.info("fault: fail_requests %s %s status=%s count=%s", method, path, status, count)
        self._request_failures.extend([(method.upper(), path, status)] * count)

    def take_request_failure(self, method: str, path: str) -> tuple[JsonDict, int] | None:
        """The armed failure for this request, if any (used up by it)."""
        for index, (armed_method, armed_path, status) in enumerate(self._request_failures):
            if armed_method == method and armed_path == path:
                del self._request_failures[index]
                return {"statusCode": status, "message": "Internal server error"}, status
        return None

    def rotate_api_key(self, new_key: str) -> None:
        """Fault 6: the old key gets 401 / 1008; open sockets stay up."""
        _LOGGER.info("fault: rotate_api_key new_key=%s", mask(new_key))
        self.keys.rotate(new_key)

    def add_scoped_key(self, key: str, *, sessions: Iterable[str]) -> None:
        """Fault 6: a key with rights on ``sessions`` only (403 / 1008 Forbidden elsewhere)."""
        allowed = sorted(sessions)
        _LOGGER.info("fault: add_scoped_key key=%s sessions=%s", mask(key), allowed)
        self.keys.add_scoped(key, allowed)

    async def bridge_down(self, close_code: int | None = 1001) -> None:
        """Fault 7: close (or cut, with None) every socket and stop listening."""
        _LOGGER.info("fault: bridge_down close_code=%s", close_code)
        await self._cancel(self._followups)
        self._down_running = {name for name, session in self.sessions.items() if session.running}
        await self._shutdown(close_code=close_code)

    async def bridge_up(self) -> None:
        """Fault 7: listen again on the same port; running sessions come back as STARTING."""
        _LOGGER.info("fault: bridge_up")
        for name in sorted(self._down_running):
            session = self.sessions.get(name)
            if session is not None:
                session.stalled = False
                self._apply(session, SessionStatus.STARTING)
        self._down_running = set()
        await self.start()

    def half_open(self) -> None:
        """Fault 8: sockets stay open but nothing is read (no pongs) or sent."""
        _LOGGER.info("fault: half_open")
        self.hub.go_half_open()

    def heal(self) -> None:
        """Fault 8 over: new sockets work again."""
        _LOGGER.info("fault: heal")
        self.hub.heal()

    def stall_stream(self, name: str, stalled: bool = True) -> None:
        """Fault 9: no events of ``name`` reach the streams; the status does not change."""
        _LOGGER.info("fault: stall_stream %s stalled=%s", name, stalled)
        self.session(name).stalled = stalled

    async def send_raw_text(self, text: str) -> None:
        """Fault 11: a text frame that need not be JSON, to every socket."""
        _LOGGER.info("fault: send_raw_text (%d chars)", len(text))
        self.hub.publish_all(text)
        await self.hub.flush()

    async def send_binary(self, data: bytes) -> None:
        """Fault 11: a binary frame, to every socket."""
        _LOGGER.info("fault: send_binary (%d bytes)", len(data))
        self.hub.publish_all(data)
        await self.hub.flush()

    async def send_event(
        self,
        event: str,
        payload: object,
        session: str = "default",
        *,
        omit: Iterable[str] = (),
        **envelope_overrides: Any,
    ) -> JsonDict:
        """Fault 11: any event (unknown names too); override or ``omit`` envelope fields."""
        _LOGGER.info("fault: send_event %s session=%s", event, session)
        target = self.sessions.get(session)
        env = self._envelope(session, event, payload, target)
        env.update(envelope_overrides)
        for key in omit:
            env.pop(key, None)
        if target is None or not target.stalled:
            self.hub.publish(session, event, json.dumps(env))
        await self.hub.flush()
        return env

    async def send_huge(self, size_bytes: int = 1_048_576, session: str = "default") -> None:
        """Fault 11: a ``message`` envelope of about ``size_bytes``, to every socket."""
        _LOGGER.info("fault: send_huge %d bytes", size_bytes)
        message = self.build_message(
            chat_id="490000000000@c.us", me_id=DEFAULT_ME_ID, body="", from_me=False
        )
        env = self._envelope(session, "message", message, self.sessions.get(session))
        base = len(json.dumps(env))
        message["body"] = "x" * max(0, size_bytes - base)
        self.hub.publish_all(json.dumps(env))
        await self.hub.flush()

    async def close_streams(self, code: int = 1000, reason: str = "") -> None:
        """Close every socket with ``code`` (half-open ones stay as they are)."""
        _LOGGER.info("fault: close_streams code=%d", code)
        await self.hub.close_all(code, reason)

    def cut_streams(self) -> None:
        """Cut every socket's TCP connection without a close frame."""
        _LOGGER.info("fault: cut_streams")
        self.hub.cut_all()

    def stream_count(self, session: str | None = None) -> int:
        """Open authorised sockets, all or those that get events of ``session``."""
        return self.hub.count(session)

    async def wait_for_streams(self, count: int = 1, *, session: str | None = None) -> None:
        """Wait until ``stream_count(session) >= count`` (wrap it in ``asyncio.timeout``)."""
        await self.hub.wait_for(count, session)

    # -------------------------------------------------------------- messages

    def build_message(
        self,
        *,
        chat_id: str,
        me_id: str,
        body: str,
        from_me: bool,
        participant: str | None = None,
        key: str | None = None,
        sender: str | None = None,
        media_url: str | None = None,
        timestamp: int | None = None,
        via_api: bool = False,
        ack: int = 2,
    ) -> JsonDict:
        """A WAMessage of this profile's engine: its addressing and its serialized id.

        ``participant`` is the sender in a group (own messages: you); ``sender`` overrides
        ``from`` of an incoming message (e.g. an ``@lid``).
        """
        addressing = self.profile.message_addressing(
            chat_id=chat_id, me_id=me_id, from_me=from_me, participant=participant, via_api=via_api
        )
        message_id = self.profile.message_id(
            chat_id,
            key or self.profile.new_message_key(),
            from_me=from_me,
            participant=addressing.id_participant,
        )
        if sender is not None and not from_me:
            addressing = dataclasses.replace(addressing, sender=sender)
        return payloads.wa_message(
            message_id=message_id,
            addressing=addressing,
            body=body,
            from_me=from_me,
            media_url=media_url,
            timestamp_s=int(time.time()) if timestamp is None else timestamp,
            source="api" if via_api else "app",
            ack=ack,
        )

    async def emit_message(
        self,
        name: str,
        *,
        chat_id: str,
        body: str,
        from_me: bool = False,
        participant: str | None = None,
        has_media: bool = False,
        timestamp: int | None = None,
        sender: str | None = None,
        chat_name: str | None = None,
        message_id: str | None = None,
        stream: bool = True,
        reply_to: str | None = None,
        media: bytes | None = None,
        mimetype: str | None = None,
        filename: str | None = None,
        media_error: str | None = None,
        location: JsonDict | None = None,
        media_kind: str | None = None,
    ) -> JsonDict:
        """Store a message in the chat history and emit it, as the engine addresses it.

        Incoming messages go out as ``message`` and ``message.any``; own ones
        (``from_me``: you wrote from the phone) only as ``message.any`` (WAHA partitions
        the engines' messages with ``isMine``). ``timestamp`` in seconds (default now);
        ``participant`` is the sender in a group; ``sender`` overrides ``from`` of an
        incoming message (e.g. an ``@lid``); ``chat_name`` names the chat; ``message_id``
        overrides the generated id. With ``stream=False`` (and while the stream is stalled
        or the bridge is down) the message only lands in the history: the bridge got it
        while no client listened. ``reply_to`` (a message id) makes it quote that message:
        ``replyTo`` ``{id, participant, body}`` with the bare id, as every engine reports it.

        A file: ``media`` (its bytes; ``has_media=True`` alone sends a 1x1 JPEG) with
        ``mimetype`` (default ``image/jpeg`` for ``has_media``, else
        ``application/octet-stream``) and ``filename``; ``body`` is its caption. The bridge
        keeps the bytes and serves them at ``media.url``, ``<double.url>/api/files/<session>/
        <id>.<ext>`` (see :meth:`BridgeProfile.media_file_key`, :func:`media.extension`: a
        voice note is ``.oga``). ``media_kind`` (``image``, ``video``, ``audio``, ``voice``,
        ``document``) defaults from the type: an ``audio/ogg; codecs=opus`` file without a
        ``filename`` is a voice note (ptt). ``media_error`` (a message): the bridge failed to
        download the file: ``media.url`` null and ``media.error`` set, as ``MediaManager``
        does. ``location`` (``{latitude, longitude, name?, address?}``) makes it a location
        message (``location`` and ``body`` as the engine gives them).
        """
        _LOGGER.info("fault: emit_message %s stream=%s", name, stream)
        session = self.session(name)
        base = self._base_url()
        message = self.build_message(
            chat_id=chat_id,
            me_id=self._me_id(session),
            body=body,
            from_me=from_me,
            participant=participant,
            sender=sender,
            timestamp=timestamp,
        )
        if message_id is not None:
            message["id"] = message_id
        if reply_to is not None:
            message["replyTo"] = self._reply_to(session, chat_id, reply_to)
        if has_media and media is None and media_error is None:
            media, mimetype = TINY_JPEG, mimetype or "image/jpeg"
        if media is not None or media_error is not None:
            self._attach_media(
                session,
                message,
                chat_id=chat_id,
                data=media,
                mimetype=mimetype or "application/octet-stream",
                filename=filename,
                kind=media_kind_of(mimetype or "", filename, media_kind),
                caption=body,
                error=media_error,
                base=base,
            )
        elif location is not None:
            self._attach_location(message, chat_id=chat_id, location=location, own=from_me)
        session.history.add(chat_id, message)
        if chat_name is not None:
            session.history.set_name(chat_id, chat_name)
        if stream and self.listening:
            if not from_me:
                self._emit(name, "message", message)
            self._emit(name, "message.any", message)
            await self.hub.flush()
        return message

    async def send_from_phone(
        self,
        name: str,
        *,
        chat_id: str,
        body: str,
        timestamp: int | None = None,
        chat_name: str | None = None,
        stream: bool = True,
    ) -> JsonDict:
        """The user answers from the phone: an own message in the history, ``message.any`` only.

        Addressed as the engine does it (GOWS/NOWEB: ``from`` the chat; WEBJS: ``from`` you).
        """
        return await self.emit_message(
            name,
            chat_id=chat_id,
            body=body,
            from_me=True,
            timestamp=timestamp,
            chat_name=chat_name,
            stream=stream,
        )

    def set_chat_name(self, name: str, chat_id: str, chat_name: str | None) -> None:
        """Name a chat of session ``name`` for the overview (None: the name is null)."""
        _LOGGER.info("fault: set_chat_name %s", name)
        self.session(name).history.set_name(chat_id, chat_name)

    def inject_history(
        self,
        name: str,
        chat_id: str,
        count: int,
        *,
        start_timestamp: int,
        step: int = 1,
        body_prefix: str = "m",
        from_me: bool = False,
    ) -> list[JsonDict]:
        """Bulk-store ``count`` messages (bodies ``m0``, ``m1``...) in the history only.

        Timestamps ``start_timestamp + i * step`` (seconds). O(count) when they come after
        the chat's newest message; nothing is published (no stream, no flush).
        """
        _LOGGER.info("fault: inject_history %s %d messages", name, count)
        if count < 0 or step < 0:
            raise ValueError("count and step must not be negative")
        session = self.session(name)
        me_id = self._me_id(session)
        template = self.build_message(
            chat_id=chat_id, me_id=me_id, body="", from_me=from_me, timestamp=start_timestamp
        )
        participant = self.profile.message_addressing(
            chat_id=chat_id, me_id=me_id, from_me=from_me
        ).id_participant
        batch = [
            dict(
                template,
                id=self.profile.message_id(chat_id, key, from_me=from_me, participant=participant),
                timestamp=start_timestamp + index * step,
                body=f"{body_prefix}{index}",
                _data={},
            )
            for index, key in enumerate(ids.message_keys(count))
        ]
        session.history.add_many(chat_id, batch)
        return batch

    def add_lid(self, name: str, lid: str, pn: str) -> None:
        """Teach session ``name`` that ``lid`` (``<id>@lid``) is ``pn`` (``<digits>@c.us``)."""
        _LOGGER.info("fault: add_lid %s", name)
        self.session(name).lids[_with_suffix(lid, "@lid")] = _with_suffix(pn, "@c.us")

    @staticmethod
    def _me_id(session: DoubleSession) -> str:
        return str(session.me["id"]) if session.me else DEFAULT_ME_ID

    # ---------------------------------------------------------------- sending

    def drop_send_answers(self, count: int = 1) -> int:
        """The next ``count`` sendText calls are performed, then the connection is closed.

        The client never gets an answer (a disconnection); ``count=0`` disarms.
        """
        _LOGGER.info("fault: drop_send_answers count=%s", count)
        return self.send_faults.arm_drops(count)

    def fail_sends(self, count: int = 1, status: int = 500, message: str | None = None) -> int:
        """The next ``count`` sendText calls are not performed and answer ``status``.

        500 stands for a transient failure, 400 for a permanent rejection; ``count=0`` disarms.
        """
        _LOGGER.info("fault: fail_sends count=%s status=%s", count, status)
        return self.send_faults.arm_failures(count, status, message)

    def count_sends(
        self, name: str = "default", *, key: str | None = None, chat_id: str | None = None
    ) -> int:
        """How many sends session ``name`` performed, all or of one message key / chat."""
        return sum(
            1
            for sent in self.session(name).sent
            if (key is None or sent["key"] == key)
            and (chat_id is None or sent["chat_id"] == chat_id)
        )

    async def rest_send_text(
        self,
        session: DoubleSession,
        *,
        chat_id: str,
        text: str,
        key: str | None,
        reply_to: str | None = None,
    ) -> JsonDict:
        """Perform ``POST /api/sendText``; the engine's answer (see ``BridgeProfile.send_answer``).

        The own message lands in the history and goes out as ``message.any``. A given
        ``key`` (the request's ``id``) is used only where the profile honours it; else
        the engine makes its own, silently. ``sent`` records both.
        """
        return await self._send(
            session,
            chat_id=chat_id,
            body=text,
            key=key,
            kind="text",
            content=None,
            reply_to=reply_to,
        )

    async def rest_send_poll(
        self,
        session: DoubleSession,
        *,
        chat_id: str,
        name: str,
        options: list[str],
        multiple: bool,
        key: str | None,
        reply_to: str | None = None,
    ) -> JsonDict:
        """Perform ``POST /api/sendPoll``: an own poll message (body null) in the history and
        ``message.any``, recorded in ``sent`` (kind ``poll``); the engine's answer."""
        content = self.profile.poll_content(name, options, multiple)
        return await self._send(
            session,
            chat_id=chat_id,
            body="",
            key=key,
            kind="poll",
            content=content,
            reply_to=reply_to,
            extra={"question": name, "options": list(options), "multiple": multiple},
        )

    async def rest_send_media(
        self,
        session: DoubleSession,
        *,
        kind: str,
        chat_id: str,
        caption: str,
        key: str | None,
        file: OutgoingFile | None = None,
        convert: bool | None = None,
        reply_to: str | None = None,
    ) -> JsonDict:
        """Perform a Plus media send (``image``, ``file``, ``voice``, ``video``), as sendText.

        The own message lands in the history with ``hasMedia`` and ``media`` as WAHA reports
        its own sent file (downloaded from the event like any other); ``sent`` records the
        decoded bytes (see :meth:`sent_files`).
        """
        mimetype = file.mimetype if file is not None else "application/octet-stream"
        filename = file.filename if file is not None else None
        content = proto_content(kind, mimetype=mimetype, caption=caption, filename=filename)
        extra: JsonDict = {
            "data": file.data if file is not None else None,
            "url": file.url if file is not None else None,
            "mimetype": mimetype,
            "filename": filename,
            "caption": caption or None,
            "convert": convert,
            "reply_to": reply_to,
        }
        return await self._send(
            session,
            chat_id=chat_id,
            body=caption,
            key=key,
            kind=kind,
            content=content,
            reply_to=reply_to,
            extra=extra,
            file=file,
        )

    async def rest_send_location(
        self,
        session: DoubleSession,
        *,
        chat_id: str,
        latitude: float,
        longitude: float,
        title: str,
        key: str | None,
        reply_to: str | None = None,
    ) -> JsonDict:
        """Perform ``POST /api/sendLocation`` (Core too): an own location message (``location``
        ``{latitude, longitude, name: title}`` as the engine gives it) in the history and
        ``message.any``, recorded in ``sent`` (kind ``location``); the engine's answer."""
        inner: JsonDict = {"degreesLatitude": latitude, "degreesLongitude": longitude}
        if title or self.engine == "NOWEB":
            inner["name"] = title or None  # NOWEB: ``name: request.title || null``
        return await self._send(
            session,
            chat_id=chat_id,
            body="",
            key=key,
            kind="location",
            content={"locationMessage": inner},
            reply_to=reply_to,
            extra={"latitude": latitude, "longitude": longitude, "title": title},
            location={"latitude": latitude, "longitude": longitude, "name": title or None},
        )

    def sent_files(self, name: str = "default") -> list[JsonDict]:
        """Every file session ``name`` sent (``sendImage``/``File``/``Voice``/``Video``), oldest
        first: ``chat_id``, ``kind``, ``data`` (bytes; None when sent by ``url``), ``url``,
        ``mimetype``, ``filename``, ``caption``, ``convert``, ``reply_to``, ``message_id``."""
        fields = (
            "chat_id",
            "kind",
            "data",
            "url",
            "mimetype",
            "filename",
            "caption",
            "convert",
            "reply_to",
            "message_id",
        )
        return [
            {field: sent.get(field) for field in fields}
            for sent in self.session(name).sent
            if sent["kind"] in MEDIA_SEND_KINDS
        ]

    def _base_url(self) -> str:
        """The base of ``media.url`` (WAHA: its ``baseUrl``)."""
        return self.url if self._started else "http://localhost:3000"

    def _attach_media(
        self,
        session: DoubleSession,
        message: JsonDict,
        *,
        chat_id: str,
        data: bytes | None,
        mimetype: str,
        filename: str | None,
        kind: str,
        caption: str | None,
        error: str | None,
        base: str,
    ) -> None:
        """Make ``message`` a file message: ``hasMedia``, ``media`` (the file kept and served
        unless ``error``), ``body`` as the engine sets it, the raw ``_data``."""
        file_name = f"{self.profile.media_file_key(message['id'])}.{media_extension(mimetype)}"
        url: str | None = f"{base}/api/files/{session.name}/{file_name}"
        failure = download_error(error, self.engine) if error is not None else None
        if failure is None and data is not None:
            session.files[file_name] = StoredFile(data, mimetype)
        media = self.profile.received_media(
            url=url, mimetype=mimetype, filename=filename, kind=kind, error=failure
        )
        content = proto_content(kind, mimetype=mimetype, caption=caption, filename=filename)
        webjs_type = WEBJS_TYPES.get(kind, "document")
        extra: JsonDict = {"mimetype": mimetype, "filename": filename, "caption": caption}
        message.update(
            hasMedia=True,
            media=media,
            mediaUrl=media["url"],
            _data=self._raw(message, chat_id, content, webjs_type, extra),
        )
        self._set_body(message, self.profile.media_body(caption if kind != "voice" else None))

    def _attach_location(
        self, message: JsonDict, *, chat_id: str, location: JsonDict, own: bool
    ) -> None:
        """Make ``message`` a location message: ``location`` and ``body`` per engine."""
        try:
            latitude, longitude = float(location["latitude"]), float(location["longitude"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("location needs numeric latitude and longitude") from None
        name, address = location.get("name"), location.get("address")
        thumbnail = None if own else base64.b64encode(TINY_JPEG).decode("ascii")
        message["location"] = self.profile.location(
            latitude=latitude,
            longitude=longitude,
            name=name,
            address=address,
            thumbnail=thumbnail if self.engine == "WEBJS" else None,
        )
        inner: JsonDict = {"degreesLatitude": latitude, "degreesLongitude": longitude}
        inner.update({k: v for k, v in (("name", name), ("address", address)) if v})
        extra: JsonDict = {"lat": latitude, "lng": longitude, "isLive": False}
        content = {"locationMessage": inner}
        message["_data"] = self._raw(message, chat_id, content, "location", extra)
        self._set_body(message, self.profile.location_body(thumbnail))

    def _raw(
        self, message: JsonDict, chat_id: str, content: JsonDict, webjs_type: str, extra: JsonDict
    ) -> JsonDict:
        return self.profile.message_data(
            chat_id=chat_id,
            key=ids.bare_message_id(str(message["id"])),
            from_me=bool(message["fromMe"]),
            content=content,
            webjs_type=webjs_type,
            extra=extra,
        )

    def _set_body(self, message: JsonDict, body: str | None) -> None:
        if body is None and self.profile.omits_missing_body:
            message.pop("body", None)
        else:
            message["body"] = body

    async def _send(
        self,
        session: DoubleSession,
        *,
        chat_id: str,
        body: str,
        key: str | None,
        kind: str,
        content: JsonDict | None,
        reply_to: str | None = None,
        extra: JsonDict | None = None,
        file: OutgoingFile | None = None,
        location: JsonDict | None = None,
    ) -> JsonDict:
        requested = key
        if key is None or not self.profile.honours_send_id:
            key = self.profile.new_message_key()
        me_id = self._me_id(session)
        timestamp = int(time.time())
        message = self.build_message(
            chat_id=chat_id,
            me_id=me_id,
            body=body,
            from_me=True,
            key=key,
            timestamp=timestamp,
            via_api=True,
            ack=1,
        )
        if kind == "poll":
            message["body"] = None
        elif location is not None:
            self._attach_location(message, chat_id=chat_id, location=location, own=True)
        elif kind in MEDIA_SEND_KINDS:
            self._attach_media(
                session,
                message,
                chat_id=chat_id,
                data=file.data if file is not None else None,
                mimetype=file.mimetype if file is not None else "application/octet-stream",
                filename=file.filename if file is not None else None,
                kind=_MEDIA_PROTO.get(kind, kind),
                caption=body,
                error=None,
                base=self._base_url(),
            )
        elif content is not None:
            message["hasMedia"] = True
        if reply_to:
            message["replyTo"] = self._reply_to(session, chat_id, reply_to)
        session.history.add(chat_id, message)
        session.sent.append(
            {
                "chat_id": chat_id,
                "text": body,
                "key": key,
                "requested_key": requested,
                "message_id": message["id"],
                "kind": kind,
                **({"reply_to": reply_to} if reply_to else {}),
                **(extra or {}),
            }
        )
        self._emit(session.name, "message.any", message)
        await self.hub.flush()
        answer = self.profile.send_answer(
            chat_id=chat_id,
            key=key,
            me_id=me_id,
            message_id=message["id"],
            content=content if content is not None else self.profile.text_content(body),
            body=message.get("body") or "" if kind != "text" else body,
            timestamp=timestamp,
            kind=kind,
            location=message.get("location"),
        )
        return self.profile.poll_answer(answer, message) if kind == "poll" else answer

    def _reply_to(self, session: DoubleSession, chat_id: str, reply_to: str) -> JsonDict:
        """``replyTo`` of a message quoting ``reply_to``: the bare id, its author and body."""
        bare = ids.bare_message_id(reply_to)
        quoted = next(
            (
                message
                for message in reversed(session.history.get(chat_id, []))
                if ids.bare_message_id(str(message.get("id"))) == bare
            ),
            None,
        )
        author: str | None = None
        body: str | None = None
        if quoted is not None:
            body = quoted.get("body")
            if quoted.get("fromMe"):
                author = self._me_id(session)
            else:
                author = quoted.get("participant") or chat_id
        return {"id": bare, "participant": author, "body": body, "_data": {}}

    # ------------------------------------------------------------- talking back

    def refuse_calls(self, calls: Iterable[str] = ()) -> None:
        """The engine lacks these calls (``reaction``, ``sendPoll``, ``sendSeen``,
        ``startTyping``, ``stopTyping``): they answer 501 NotImplementedByEngineError, as an
        engine without them would. Empty: every call works again."""
        calls = list(calls)
        unknown = set(calls) - set(TALK_CALLS)
        if unknown:
            raise ValueError(f"unknown calls {sorted(unknown)}; known: {', '.join(TALK_CALLS)}")
        _LOGGER.info("fault: refuse_calls %s", ",".join(calls) or "-")
        self.refused_calls = set(calls)

    def set_me_lid(self, name: str, lid: str) -> None:
        """Give the account of ``name`` its ``@lid`` (reported in ``me`` on GOWS/NOWEB only)."""
        _LOGGER.info("fault: set_me_lid %s", name)
        session = self.session(name)
        if session.me is not None and self.profile.has_me_lid:
            session.me = dict(session.me, lid=_with_suffix(lid, "@lid"))

    def self_chat_id(self, name: str = "default") -> str:
        """The chat id of the account's own chat on this engine (see :meth:`write_in_self_chat`)."""
        session = self.session(name)
        return self.profile.self_chat_id(session.me or {"id": DEFAULT_ME_ID})

    async def write_in_self_chat(
        self, text: str, name: str = "default", *, timestamp: int | None = None
    ) -> JsonDict:
        """You write in your own chat ("Message yourself") from the phone.

        Stored in the history and emitted as ``message.any`` only, ``fromMe: true``, in the
        chat the engine uses: your ``@lid`` on GOWS/NOWEB once ``me`` has one (see
        :meth:`set_me_lid`), else your number; WEBJS ``from`` and ``to`` are both you.
        """
        return await self.emit_message(
            name, chat_id=self.self_chat_id(name), body=text, from_me=True, timestamp=timestamp
        )

    async def emit_reaction(
        self,
        name: str,
        *,
        message_id: str,
        reaction: str,
        chat_id: str | None = None,
        participant: str | None = None,
        from_me: bool = False,
        timestamp: int | None = None,
    ) -> JsonDict:
        """A contact (``participant`` in a group) reacts to ``message_id``; ``""`` removes it.

        Emitted as ``message.reaction`` (every engine) and never as a message; the chat
        defaults to the one in the serialized ``message_id``. Returns the payload.
        """
        _LOGGER.info("fault: emit_reaction %s", name)
        session = self.session(name)
        chat = chat_id or message_id.split("_")[1]
        me_id = self._me_id(session)
        reactor = me_id if from_me else (participant or chat)
        payload = self.profile.reaction_event(
            chat_id=chat,
            key=self.profile.new_message_key(),
            reactor=reactor,
            from_me=from_me,
            message_id=message_id,
            text=reaction,
            timestamp=int(time.time()) if timestamp is None else timestamp,
        )
        if self.listening:
            self._emit(name, "message.reaction", payload)
            await self.hub.flush()
        return payload

    async def emit_poll_vote(
        self,
        name: str,
        *,
        poll_id: str,
        options: list[str],
        participant: str | None = None,
        failed: bool = False,
        timestamp: int | None = None,
    ) -> JsonDict | None:
        """A contact (``participant`` in a group) votes ``options`` on our poll ``poll_id``.

        ``poll.vote``; with ``failed`` the bridge could not read the vote: ``poll.vote.failed``
        on GOWS and NOWEB, nothing on WEBJS (None returned). Returns the payload.
        """
        _LOGGER.info("fault: emit_poll_vote %s failed=%s", name, failed)
        session = self.session(name)
        chat = poll_id.split("_")[1]
        if failed and not self.profile.emits_poll_vote_failed:
            return None
        payload = self.profile.poll_vote_event(
            chat_id=chat,
            poll_id=poll_id,
            vote_key=self.profile.new_message_key(),
            voter=participant or chat,
            me_id=self._me_id(session),
            options=None if failed else list(options),
            timestamp_s=int(time.time()) if timestamp is None else timestamp,
        )
        if self.listening:
            self._emit(name, "poll.vote.failed" if failed else "poll.vote", payload)
            await self.hub.flush()
        return payload

    def rest_react(
        self, session: DoubleSession, *, message_id: str, reaction: str
    ) -> JsonDict | None:
        """Perform ``PUT /api/reaction``: recorded in ``session.reactions``; the answer."""
        chat_id = message_id.split("_")[1]
        session.reactions.append(
            {"message_id": message_id, "chat_id": chat_id, "reaction": reaction}
        )
        parts = message_id.split("_")
        target = {
            "remoteJid": to_jid(chat_id),
            "fromMe": parts[0] == "true",
            "id": parts[2],
        }
        return self.profile.reaction_answer(
            chat_id=chat_id,
            key=self.profile.new_message_key(),
            me_id=self._me_id(session),
            target=target,
            text=reaction,
            timestamp=int(time.time()),
        )

    def rest_send_seen(
        self, session: DoubleSession, *, chat_id: str, message_ids: list[str] | None
    ) -> JsonDict | None:
        """Perform ``sendSeen``: given ids (own ones skipped), else the chat's unread incoming
        messages of the last 7 days (WEBJS: the whole chat, ids unknown). Read messages get
        ack READ; recorded in ``session.seen``."""
        messages = session.history.get(chat_id, [])
        if message_ids is not None:
            wanted = {i for i in message_ids if not i.startswith("true_")}
            read = [m for m in messages if m.get("id") in wanted]
            session.seen.append({"chat_id": chat_id, "message_ids": sorted(wanted)})
            _mark_read(read)
            return None
        since = time.time() - READ_DAYS * 86400
        unread = [
            m
            for m in messages
            if not m.get("fromMe") and m.get("ack") == ACK_DEVICE and m["timestamp"] >= since
        ]
        if self.profile.engine == "WEBJS":
            unread = [m for m in messages if not m.get("fromMe")]
        _mark_read(unread)
        answer = self.profile.read_all_answer([str(m["id"]) for m in unread])
        session.seen.append({"chat_id": chat_id, "message_ids": answer["ids"]})
        return answer

    def talk_state(self, name: str = "default") -> JsonDict:
        """What the clients did with session ``name``: reactions, read marks, typing, polls."""
        session = self.session(name)
        return {
            "reactions": list(session.reactions),
            "seen": list(session.seen),
            "typing": dict(session.typing),
            "polls": [sent for sent in session.sent if sent["kind"] == "poll"],
        }

    def rest_typing(self, session: DoubleSession, *, chat_id: str, on: bool) -> None:
        """Perform ``startTyping`` / ``stopTyping``: recorded per chat and in order."""
        session.typing[chat_id] = on
        session.typing_log.append((chat_id, on))

    # --------------------------------------------------------- timed (CLI) helpers

    async def run_blip(self, name: str, duration: float) -> None:
        """Fault 3 over time: STARTING for ``duration`` seconds, then WORKING."""
        await self.blip(name)
        await asyncio.sleep(duration)
        if self.session(name).status == SessionStatus.STARTING:
            await self.end_blip(name)

    async def run_pairing_timeout(
        self, name: str, *, first: float = QR_FIRST_LIFETIME, every: float = QR_LIFETIME
    ) -> None:
        """Fault 2 over time: a QR code after ``first`` s, then every ``every`` s; FAILED."""
        await self.start_pairing(name)
        await self._pairing_clock(name, self.session(name).pairing_attempt, first, every)

    async def run_bridge_restart(self, downtime: float) -> None:
        """Fault 7 over time: down for ``downtime`` s, up, then sessions carry on starting."""
        await self.bridge_down(1001)
        restarted = sorted(self._down_running)
        await asyncio.sleep(downtime)
        await self.bridge_up()
        for name in restarted:
            session = self.sessions.get(name)
            if session is not None and session.status == SessionStatus.STARTING:
                self._schedule_start(session)

    async def graceful_restart(
        self,
        downtime: float = 1.0,
        *,
        pause: float = GRACEFUL_PAUSE,
        sockets_after: float = GRACEFUL_SOCKETS_AFTER,
    ) -> None:
        """Fault 12: a graceful restart of WAHA Core (``docker restart``: SIGTERM, a new boot).

        1. Every running session goes STOPPED, its ``session.status`` event goes out, HTTP
           still answers (``manager.core.ts`` ``beforeApplicationShutdown``).
        2. ``sockets_after`` s later (real: about 0.1 s; at most ``pause``) every WebSocket
           is dropped without a close frame (clients see 1006); new ones are dropped at once.
        3. ``pause`` s after the STOPPED events (real: 3 s, ``SESSION_STOP_TIMEOUT``) the
           listener closes.
        4. ``downtime`` s later the bridge listens again, freshly booted: a weak key is
           replaced (see :attr:`api_key`, :attr:`generated_keys`), session configs are
           forgotten where the profile keeps them in memory only, and every session is
           STOPPED unless ``start_sessions_on_boot`` covers it (then STARTING and onwards).

        ``bridge_restart`` (fault 7) stays the abrupt kind: sockets closed with 1001 and
        running sessions coming back on their own.
        """
        _LOGGER.info(
            "fault: graceful_restart downtime=%s pause=%s sockets_after=%s",
            downtime,
            pause,
            sockets_after,
        )
        await self._cancel(self._followups)
        running = sorted(name for name, session in self.sessions.items() if session.running)
        for name in running:
            self._apply(self.sessions[name], SessionStatus.STOPPED)
        await self.hub.flush()
        sockets_after = max(0.0, min(sockets_after, pause))
        await asyncio.sleep(sockets_after)
        self.shutting_down = True
        self.hub.cut_all()
        await asyncio.sleep(max(0.0, pause - sockets_after))
        await self._shutdown(close_code=None)
        await self._cancel(self._followups)  # transitions begun during the pause die too
        await asyncio.sleep(downtime)
        booting = self._reboot(running)
        await self.start()
        for session in booting:
            self._schedule_start(session)
        self.restarts += 1

    def _reboot(self, running: list[str]) -> list[DoubleSession]:
        """A fresh WAHA process: the state a boot leaves; the sessions it starts (STARTING)."""
        self.shutting_down = False
        self._boot()
        wanted = self.start_sessions_on_boot
        names = set(running) if wanted is True else set(wanted or ())
        booting = []
        for name, session in self.sessions.items():
            session.stalled = False
            session.presence = None
            if not self.profile.keeps_session_config_on_restart:
                session.config = {}
            if name in names:
                self._apply(session, SessionStatus.STARTING)
                booting.append(session)
            elif session.running:  # started while the old process shut down: gone with it
                self._apply(session, SessionStatus.STOPPED)
        return booting

    def spawn_background(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a timed helper in the background; stop() cancels it."""
        return self._spawn(coro, background=True)


TALK_CALLS = ("reaction", "sendPoll", "sendSeen", "startTyping", "stopTyping")
READ_DAYS = 7
"""``sendSeen`` without ids reads the last 7 days (``chatting.controller.ts``)."""
ACK_DEVICE = 2
ACK_READ = 3


def _mark_read(messages: list[JsonDict]) -> None:
    for message in messages:
        message["ack"] = ACK_READ
        message["ackName"] = "READ"


def _with_suffix(chat_id: str, suffix: str) -> str:
    return chat_id if "@" in chat_id else chat_id + suffix


def _now_ms() -> int:
    return int(time.time() * 1000)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (err := task.exception()) is not None:
        _LOGGER.error("background fault failed: %r", err)
