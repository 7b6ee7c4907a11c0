"""Helper of scripts/develop, standard library only.

develop_onboard.py prepare CONFIG_DIR --port PORT
    before every start: on the first, mark onboarding's "core_config" step done, whose REST
    call would start met, radio_browser, google_translate and shopping_list flows (they need
    the internet and packages the venv does not have); always, pin the HTTP server to
    127.0.0.1:PORT in Home Assistant's store (the YAML http: block is migrated once into an
    unconfirmed trial that reverts to all interfaces after 5 minutes); give the config a
    local media folder, CONFIG_DIR/media, and media_source: (the Media panel shows the
    received files there)
develop_onboard.py wait URL [--timeout S] [--pid PID]
    wait until URL answers HTTP 200 (fails early when process PID dies)
develop_onboard.py onboard --hass URL --config CONFIG_DIR --bridge URL --api-key KEY ...
    onboard Home Assistant (first run only), log in, add the integration unless an entry
    exists, give an entry without options the demo's talk options (your self chat answered
    by Assist; see TALK_OPTIONS), and wait until its binary sensor "connected" is on
develop_onboard.py watch --hass URL
    print every change of the link-health entities until Home Assistant goes away
develop_onboard.py state --hass URL ENTITY_ID
    print the state of ENTITY_ID (and its attributes as JSON on the next line)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
import contextlib
from datetime import UTC, datetime
import http.client
import json
import os
from pathlib import Path
import re
import sys
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

DOMAIN = "whatsapp_gateway"
USERNAME = "dev"
PASSWORD = "dev-password"  # noqa: S105 - the documented login of the local dev instance
NAME = "Developer"
# Shown by the watcher, in this order (keys of the integration's entities).
WATCHED = (
    "connected",
    "connection_state",
    "disconnects",
    "last_disconnect_reason",
    "last_outage",
    "availability",
)
# The talk section of the options flow the demo sets on an entry that has no options yet: what
# you write in your own chat goes to Assist, whose answer quotes it (see configuration.yaml).
TALK_OPTIONS: dict[str, Any] = {
    "self_chat": True,
    "conversation_agent": "conversation.home_assistant",
    "group_policy": "all",
    "debounce": 0,
    "answer_buffered": False,
}


class HttpError(Exception):
    """A non-2xx answer."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


def log(message: str) -> None:
    print(f"develop: {message}", file=sys.stderr, flush=True)


def request(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Any:
    """One HTTP request; returns the decoded JSON answer (or text). Raises HttpError."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    headers = {"Accept": "application/json", **(headers or {})}
    data: bytes | None = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            text = resp.read().decode()
    except urllib.error.HTTPError as err:
        raise HttpError(err.code, err.read().decode(errors="replace")) from None
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return text


def answers(url: str) -> bool:
    """Whether URL answers 200 right now."""
    try:
        request("GET", url, timeout=3)
    except HttpError, OSError, http.client.HTTPException:
        return False
    return True


def wait_for(what: str, check: Callable[[], bool], timeout: float, pid: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if pid is not None and not alive(pid):
            raise SystemExit(f"develop: {what}: the process ended (see its log)")
        if time.monotonic() > deadline:
            raise SystemExit(f"develop: {what}: not within {timeout:.0f} s")
        time.sleep(0.5)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (ended, not yet reaped by scripts/develop) counts as ended.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    return True


# What configuration.yaml said before the http: block went (removed from such copies).
LEGACY_HTTP_YAML = "http:\n  server_host: 127.0.0.1\n  server_port: 8123\n\n"


def prepare(config_dir: Path, port: int) -> None:
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    store = storage / "onboarding"
    if not store.exists():
        # Home Assistant's private onboarding store (version 4): only the user, analytics and
        # integration steps are left for `onboard`, which does them through the REST API.
        content = {"version": 4, "minor_version": 1, "key": "onboarding"}
        store.write_text(json.dumps({**content, "data": {"done": ["core_config"]}}, indent=2))
    pin_http(storage / "http", port)
    configuration = config_dir / "configuration.yaml"
    text = configuration.read_text()
    if LEGACY_HTTP_YAML in text:
        log(f"removing the http: block from {configuration} (the port is kept in .storage/http)")
        configuration.write_text(text.replace(LEGACY_HTTP_YAML, "", 1))
    add_media_folder(config_dir)


def add_media_folder(config_dir: Path) -> None:
    """Make CONFIG_DIR/media the local media folder, and load media_source (the Media panel).

    In a container Home Assistant's default local media folder is /media (else <config>/media),
    which may not exist or be writable; the integration saves received files there. The path
    must be absolute, so the template cannot carry it: it is added to copies that have no
    media_dirs: of their own.
    """
    media = (config_dir / "media").resolve()
    media.mkdir(parents=True, exist_ok=True)
    configuration = config_dir / "configuration.yaml"
    text = configuration.read_text()
    original = text
    if not re.search(r"^\s+media_dirs:", text, re.MULTILINE):
        core = re.search(
            r"^homeassistant:[ \t]*\n(?:[ \t]*(?:#.*)?\n)*([ \t]+)", text, re.MULTILINE
        )
        if core:
            indent = core.group(1)
            block = f"{indent}media_dirs:\n{indent}{indent}local: {json.dumps(str(media))}\n"
            text = text[: core.start(1)] + block + text[core.start(1) :]
        else:
            text += f"\nhomeassistant:\n  media_dirs:\n    local: {json.dumps(str(media))}\n"
        log(f"local media folder: {media}")
    if not re.search(r"^media_source:", text, re.MULTILINE):
        text += "\n# The Media panel: received files in the local media folder.\nmedia_source:\n"
        log(f"adding media_source: to {configuration}")
    if text != original:
        configuration.write_text(text)


def pin_http(store: Path, port: int) -> None:
    """Make 127.0.0.1:PORT the confirmed ("stable") HTTP config, with no trial pending.

    Home Assistant 2026.10 keeps the HTTP config in a private store (version 2.2) as a
    confirmed config and an unconfirmed trial. A YAML http: block becomes such a trial once,
    and one not confirmed in the UI within 5 minutes is reverted with a restart.
    """
    try:
        data: dict[str, Any] = json.loads(store.read_text())["data"]
    except OSError, ValueError, KeyError, TypeError:
        data = {"stable": {}}
    stable = {
        # The defaults Home Assistant writes itself; kept when the store says otherwise.
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": datetime.now(UTC).isoformat(),
        **data.get("stable", {}),
        "server_host": ["127.0.0.1"],
        "server_port": port,
        "error": None,
        "error_message": None,
    }
    wanted = {"stable": stable, "pending": None, "yaml_migration_done": True}
    if data == wanted:
        return
    content = {"version": 2, "minor_version": 2, "key": "http", "data": wanted}
    store.write_text(json.dumps(content, indent=2))
    store.chmod(0o600)


class Hass:
    """The REST API of the local Home Assistant, logged in as the dev user."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.client_id = f"{self.base}/"
        self.token: str | None = None

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def exchange(self, code: str) -> None:
        tokens = request(
            "POST",
            self.url("/auth/token"),
            form={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        )
        self.token = tokens["access_token"]

    def login(self) -> None:
        flow = request(
            "POST",
            self.url("/auth/login_flow"),
            json_body={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        )
        result = request(
            "POST",
            self.url(f"/auth/login_flow/{flow['flow_id']}"),
            json_body={"username": USERNAME, "password": PASSWORD, "client_id": self.client_id},
        )
        if result.get("type") != "create_entry":
            raise SystemExit(
                f"develop: cannot log in as {USERNAME}: {result.get('errors') or result}"
                " (delete the state dir, e.g. .develop/, to start over)"
            )
        self.exchange(result["result"])

    def call(self, method: str, path: str, json_body: Any = None) -> Any:
        """An authenticated call; logs in again once when the token has expired."""
        if self.token is None:
            self.login()
        try:
            return request(method, self.url(path), token=self.token, json_body=json_body)
        except HttpError as err:
            if err.status != 401:
                raise
            self.login()
            return request(method, self.url(path), token=self.token, json_body=json_body)


def onboarding_steps(hass: Hass, config_dir: Path) -> dict[str, bool] | None:
    """The onboarding steps and whether each is done; None when onboarding is complete."""
    store = config_dir / ".storage" / "onboarding"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        done = json.loads(store.read_text())["data"]["done"]
        if {"user", "core_config", "analytics", "integration"} <= set(done):
            return None
    steps: list[dict[str, Any]] = []

    def ready() -> bool:
        nonlocal steps
        try:
            steps = request("GET", hass.url("/api/onboarding"))
        except HttpError, OSError, http.client.HTTPException:
            return False
        return True

    wait_for("onboarding API", ready, 120)
    return {step["step"]: step["done"] for step in steps}


def onboard(hass: Hass, config_dir: Path) -> None:
    steps = onboarding_steps(hass, config_dir)
    if steps is None:
        hass.login()
        return
    log("first run: onboarding Home Assistant")
    if not steps.get("user", True):
        answer = request(
            "POST",
            hass.url("/api/onboarding/users"),
            json_body={
                "client_id": hass.client_id,
                "name": NAME,
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
        )
        hass.exchange(answer["auth_code"])
    else:
        hass.login()
    for step in ("core_config", "analytics"):
        if not steps.get(step, True):
            hass.call("POST", f"/api/onboarding/{step}")
    if not steps.get("integration", True):
        hass.call(
            "POST",
            "/api/onboarding/integration",
            {"client_id": hass.client_id, "redirect_uri": f"{hass.client_id}?auth_callback=1"},
        )


def wait_running(hass: Hass) -> None:
    def running() -> bool:
        try:
            config: dict[str, Any] = hass.call("GET", "/api/config")
        except HttpError, OSError, http.client.HTTPException:
            return False
        return config.get("state") == "RUNNING"

    wait_for("Home Assistant start-up", running, 180)


def ensure_entry(hass: Hass, data: dict[str, Any]) -> tuple[str, bool]:
    """The id of the (first) entry, and whether it was made just now."""
    entries = hass.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    if entries:
        states = ", ".join(f"{entry['title']}: {entry['state']}" for entry in entries)
        log(f"integration already added ({states})")
        return str(entries[0]["entry_id"]), False
    log(f"adding the integration (bridge {data['url']}, session {data['session']})")
    result = hass.call("POST", "/api/config/config_entries/flow", {"handler": DOMAIN})
    if result.get("type") == "form" and result.get("step_id") == "user":
        result = hass.call("POST", f"/api/config/config_entries/flow/{result['flow_id']}", data)
    if result.get("type") != "create_entry":
        raise SystemExit(f"develop: the config flow did not create an entry: {result}")
    log(f"integration added: {result.get('title')} ({result['result']['state']})")
    return str(result["result"]["entry_id"]), True


def stored_options(config_dir: Path, entry_id: str) -> dict[str, Any] | None:
    """The entry's options as Home Assistant stored them (None: not found).

    The REST API does not show options; the store on disk is current at start-up (Home
    Assistant writes it when it stops).
    """
    store = config_dir / ".storage" / "core.config_entries"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        for entry in json.loads(store.read_text())["data"]["entries"]:
            if entry["entry_id"] == entry_id:
                return dict(entry.get("options") or {})
    return None


def form_values(schema: list[dict[str, Any]]) -> dict[str, Any]:
    """What the options form shows in its plain fields: the current values, else defaults."""
    values: dict[str, Any] = {}
    for field in schema:
        if field.get("type") == "expandable":
            continue
        suggested = (field.get("description") or {}).get("suggested_value")
        value = suggested if suggested is not None else field.get("default")
        if value is not None:
            values[field["name"]] = value
    return values


def set_talk_options(hass: Hass, config_dir: Path, entry_id: str, created: bool) -> bool:
    """Give an entry without options the demo's talk options; whether they were set.

    Through the options flow, as the UI does: the link options as the form shows them (the
    defaults), the talk section from TALK_OPTIONS. Saving reloads the entry.
    """
    options = {} if created else stored_options(config_dir, entry_id)
    if options is None:
        log("entry not found in .storage/core.config_entries; leaving its options alone")
        return False
    if options:
        log("the entry has options already; keeping them (talk: see the integration's options)")
        return False
    flow = hass.call("POST", "/api/config/config_entries/options/flow", {"handler": entry_id})
    if flow.get("type") != "form":
        raise SystemExit(f"develop: the options flow did not show its form: {flow}")
    data = {**form_values(flow.get("data_schema") or []), "talk": TALK_OPTIONS}
    result = hass.call("POST", f"/api/config/config_entries/options/flow/{flow['flow_id']}", data)
    if result.get("type") != "create_entry":
        raise SystemExit(f"develop: the options flow did not save the options: {result}")
    log("talk options set: your self chat is answered by Assist (conversation.home_assistant)")
    return True


def wait_loaded(hass: Hass, entry_id: str, timeout: float) -> None:
    """Wait until the entry is loaded (after a reload); fails on a setup error."""

    def loaded() -> bool:
        for entry in hass.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}"):
            if entry["entry_id"] != entry_id:
                continue
            if entry["state"] in ("setup_error", "migration_error"):
                raise SystemExit(
                    f"develop: the integration did not load again ({entry['state']}:"
                    f" {entry.get('reason')})"
                )
            return bool(entry["state"] == "loaded")
        return False

    wait_for("the integration to load again", loaded, timeout)


def entity_ids(hass: Hass) -> list[str]:
    template = f"{{{{ integration_entities('{DOMAIN}') | list | tojson }}}}"
    answer = hass.call("POST", "/api/template", {"template": template})
    return list(json.loads(answer) if isinstance(answer, str) else answer)


def states(hass: Hass, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = set(ids)
    return {s["entity_id"]: s for s in hass.call("GET", "/api/states") if s["entity_id"] in wanted}


def connected_entity(ids: Iterable[str]) -> str | None:
    return next((i for i in ids if i.startswith("binary_sensor.") and "connected" in i), None)


def wait_connected(hass: Hass, config_dir: Path, timeout: float) -> str:
    found: dict[str, str] = {}

    def connected() -> bool:
        for entry in hass.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}"):
            if entry["state"] in ("setup_error", "migration_error", "not_loaded"):
                raise SystemExit(
                    f"develop: the integration did not load ({entry['state']}:"
                    f" {entry.get('reason')}); see {config_dir / 'home-assistant.log'}"
                )
        entity = connected_entity(entity_ids(hass))
        if entity is None:
            return False
        found["entity"] = entity
        state = states(hass, [entity]).get(entity, {}).get("state")
        return state == "on"

    wait_for("binary sensor 'connected' of the integration to be on", connected, timeout)
    return found["entity"]


def describe(entity: str, state: dict[str, Any]) -> str:
    key = next((k for k in WATCHED if entity.endswith(f"_{k}")), entity)
    value = state["state"]
    unit = state["attributes"].get("unit_of_measurement")
    if unit and value not in ("unknown", "unavailable"):
        value = f"{value} {unit}"
    if key == "connection_state":
        attributes = state["attributes"]
        if attributes.get("attempt"):
            value = f"{value} (attempt {attributes['attempt']})"
    return f"{key}={value}"


def watch(hass: Hass) -> int:
    ids = entity_ids(hass)
    order = {k: n for n, k in enumerate(WATCHED)}

    def rank(entity: str) -> int:
        return next((order[k] for k in WATCHED if entity.endswith(f"_{k}")), len(WATCHED))

    shown = sorted((i for i in ids if rank(i) < len(WATCHED)), key=rank)
    log("watching " + ", ".join(shown))
    last: dict[str, str] = {}
    failures = 0
    while True:
        try:
            current = states(hass, shown)
            failures = 0
        except HttpError, OSError, http.client.HTTPException:
            failures += 1
            if failures >= 10:
                log("Home Assistant does not answer any more")
                return 1
            time.sleep(1)
            continue
        changed = {e: describe(e, s) for e, s in current.items() if last.get(e) != s["state"]}
        if changed:
            stamp = datetime.now().astimezone().strftime("%H:%M:%S")
            print(f"{stamp}  " + "  ".join(describe(e, current[e]) for e in shown if e in current))
            sys.stdout.flush()
            last.update({e: current[e]["state"] for e in changed})
        time.sleep(1)


def main(argv: list[str]) -> int:
    try:
        return run(argv)
    except KeyboardInterrupt:
        return 130


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_prepare = sub.add_parser("prepare")
    p_prepare.add_argument("config", type=Path)
    p_prepare.add_argument("--port", type=int, required=True)
    p_wait = sub.add_parser("wait")
    p_wait.add_argument("url")
    p_wait.add_argument("--timeout", type=float, default=60)
    p_wait.add_argument("--pid", type=int)
    p_onboard = sub.add_parser("onboard")
    p_onboard.add_argument("--hass", required=True)
    p_onboard.add_argument("--config", type=Path, required=True)
    p_onboard.add_argument("--bridge", required=True)
    p_onboard.add_argument("--api-key", required=True)
    p_onboard.add_argument("--session", default="default")
    p_onboard.add_argument("--connect-timeout", type=float, default=120)
    p_watch = sub.add_parser("watch")
    p_watch.add_argument("--hass", required=True)
    p_state = sub.add_parser("state")
    p_state.add_argument("--hass", required=True)
    p_state.add_argument("entity")
    args = parser.parse_args(argv)

    if args.command == "prepare":
        prepare(args.config, args.port)
    elif args.command == "wait":
        wait_for(args.url, lambda: answers(args.url), args.timeout, args.pid)
    elif args.command == "onboard":
        hass = Hass(args.hass)
        onboard(hass, args.config)
        wait_running(hass)
        entry = {
            "url": args.bridge,
            "api_key": args.api_key,
            "session": args.session,
            "verify_ssl": True,
        }
        entry_id, created = ensure_entry(hass, entry)
        entity = wait_connected(hass, args.config, args.connect_timeout)
        if set_talk_options(hass, args.config, entry_id, created):
            # The reload is scheduled when the flow ends: let it begin before looking.
            time.sleep(1)
            wait_loaded(hass, entry_id, args.connect_timeout)
            entity = wait_connected(hass, args.config, args.connect_timeout)
        log(f"{entity} is on")
    elif args.command == "state":
        hass = Hass(args.hass)
        try:
            state = hass.call("GET", f"/api/states/{urllib.parse.quote(args.entity)}")
        except HttpError as err:
            if err.status != 404:
                raise
            log(f"no entity {args.entity}")
            return 1
        print(state["state"])
        print(json.dumps(state["attributes"], sort_keys=True))
    else:
        return watch(Hass(args.hass))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
