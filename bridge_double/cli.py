"""Command line: serve the double, or pull a fault switch of a running one.

``python -m bridge_double [--host H] [--port P] [--api-key K] [--session S] [--unpaired]
[--blip-every S --blip-duration S] [--status-wait S] [--status-wait-stopped S]
[--transition-delay S] [--profile ENGINE-RELEASE-EDITION[-nostore]] [--engine E]
[--start-sessions-on-boot]``

``python -m bridge_double fault --url URL [--api-key K] <fault> [name=value ...]``

A file goes along as ``media=@PATH`` (read here, sent base64; ``mimetype`` guessed from the
name unless given), e.g. ``fault --url U emit_message name=default chat_id=49176@c.us
body=look media=@door.jpg``; a location as JSON, ``location='{"latitude": 52.52,
"longitude": 13.405, "name": "Home"}'``. ``fault --url U sent_files`` lists what was sent
(sizes and digests instead of the bytes).

The key defaults to ``$WAHA_API_KEY`` (else ``test-key``); it is never printed, except a
key generated for a weak one (``--api-key waha``), which is logged as WAHA does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import mimetypes
import os
from pathlib import Path
import signal
import sys
from typing import TYPE_CHECKING, Any

import aiohttp

from .control import faults
from .model import SessionStatus
from .profile import BridgeProfile
from .server import BridgeDouble

if TYPE_CHECKING:
    from collections.abc import Sequence

_LOGGER = logging.getLogger(__package__)

KEY_ENV = "WAHA_API_KEY"
DEFAULT_KEY = "test-key"


def _default_key() -> str:
    return os.environ.get(KEY_ENV) or DEFAULT_KEY


def serve_parser() -> argparse.ArgumentParser:
    """Options of the serving command."""
    parser = argparse.ArgumentParser(prog="python -m bridge_double", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--api-key", default=None, help=f"default: ${KEY_ENV} or {DEFAULT_KEY}")
    parser.add_argument("--session", default="default")
    parser.add_argument("--unpaired", action="store_true", help="start in SCAN_QR_CODE")
    parser.add_argument("--blip-every", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--blip-duration", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument(
        "--status-wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="wait of a running session for the needed status (real WAHA: 10)",
    )
    parser.add_argument(
        "--status-wait-stopped",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="wait of a stopped or missing session to run (real WAHA: 5)",
    )
    parser.add_argument("--transition-delay", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument(
        "--profile",
        type=_profile,
        default=BridgeProfile(),
        metavar="ENGINE-RELEASE-EDITION[-nostore]",
        help="the WAHA to play, e.g. NOWEB-2026.5.1-CORE (default GOWS-2026.7.1-CORE)",
    )
    parser.add_argument("--engine", default=None, help="override the profile's engine")
    parser.add_argument(
        "--start-sessions-on-boot",
        action="store_true",
        help="after a graceful restart, start the sessions that ran (WHATSAPP_START_SESSION)",
    )
    return parser


def _profile(text: str) -> BridgeProfile:
    try:
        return BridgeProfile.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def fault_parser() -> argparse.ArgumentParser:
    """Options of the ``fault`` command."""
    parser = argparse.ArgumentParser(
        prog="python -m bridge_double fault",
        description="POST /_double/faults/<fault> with name=value arguments (values are JSON "
        "when they parse as JSON, else strings).",
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", default=None, help=f"default: ${KEY_ENV} or {DEFAULT_KEY}")
    parser.add_argument("fault", help=", ".join(faults()))
    parser.add_argument("arguments", nargs="*", metavar="name=value")
    return parser


def parse_arguments(pairs: Sequence[str]) -> dict[str, Any]:
    """``name=value`` pairs to keyword arguments (JSON values where they parse)."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"expected name=value, got {pair!r}")
        try:
            kwargs[name] = json.loads(raw)
        except json.JSONDecodeError:
            kwargs[name] = raw
    return kwargs


def attach_files(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``media=@PATH`` -> the file's bytes in base64 (``mimetype`` guessed when not given)."""
    media = kwargs.get("media")
    if not isinstance(media, str) or not media.startswith("@"):
        return kwargs
    path = Path(media[1:]).expanduser()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    kwargs = {**kwargs, "media": base64.b64encode(data).decode("ascii")}
    if "mimetype" not in kwargs:
        kwargs["mimetype"] = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return kwargs


async def fault_command(argv: Sequence[str]) -> int:
    """Post one fault to a running double and print its answer; 0 when it was accepted."""
    options = fault_parser().parse_args(argv)
    try:
        kwargs = attach_files(parse_arguments(options.arguments))
    except ValueError as err:
        sys.stderr.write(f"{err}\n")
        return 2
    url = f"{options.url.rstrip('/')}/_double/faults/{options.fault}"
    headers = {"X-Api-Key": options.api_key or _default_key()}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=kwargs, headers=headers) as resp,
    ):
        text = await resp.text()
    sys.stdout.write(f"{resp.status} {text}\n")
    return 0 if resp.status < 400 else 1


async def _blip_forever(double: BridgeDouble, name: str, every: float, duration: float) -> None:
    while True:
        await asyncio.sleep(every)
        if double.session(name).status == SessionStatus.WORKING:
            await double.run_blip(name, duration)


async def serve(argv: Sequence[str]) -> int:
    """Serve until SIGINT/SIGTERM."""
    options = serve_parser().parse_args(argv)
    double = BridgeDouble(
        api_key=options.api_key if options.api_key is not None else _default_key(),
        profile=options.profile,
        engine=options.engine,
        host=options.host,
        port=options.port,
        status_wait=options.status_wait,
        status_wait_stopped=options.status_wait_stopped,
        transition_delay=options.transition_delay,
        start_sessions_on_boot=options.start_sessions_on_boot,
    )
    double.pairing_timeouts = (60.0, 20.0)
    name = options.session
    if options.unpaired:
        double.add_session(name, status=SessionStatus.STOPPED)
    else:
        double.add_session(name, status=SessionStatus.WORKING, paired=True)
    await double.start()
    if options.unpaired:
        await double.start_pairing(name)
    if options.blip_every:
        double.spawn_background(
            _blip_forever(double, name, options.blip_every, options.blip_duration)
        )
    status = double.session(name).status
    sys.stdout.write(
        f"bridge double listening on {double.url} as {double.profile} (session {name}, {status})\n"
    )
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        _LOGGER.info("stopping")
        await double.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bridge_double``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["fault"]:
        return asyncio.run(fault_command(args[1:]))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(args))
    return 0
