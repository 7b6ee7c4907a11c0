"""Talk to your home, end to end, against a stack of scripts/develop (see scripts/demo_talk).

1. "turn on the kitchen light" in your self chat (the bridge double's write_in_self_chat
   fault): light.kitchen_light turns on, and the bridge gets Assist's answer as a reply
   quoting the message.
2. The garage door opens: the automation "Ask before closing the garage" asks with a poll
   (whatsapp_gateway.ask, Yes / No); a "Yes" vote (the emit_poll_vote fault) closes the door.

Reads DEVELOP_HASS_URL, DEVELOP_BRIDGE_URL, DEVELOP_API_KEY and DEVELOP_SESSION, as
scripts/develop sets them for its command. Prints each step; exit status 0 when both worked.
The API key is never printed.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import os
from pathlib import Path
import subprocess
import sys
import time
from typing import Any
import urllib.parse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from develop_onboard import Hass, HttpError, request

REPO = Path(__file__).resolve().parent.parent
LIGHT = "light.kitchen_light"
GARAGE = "cover.garage_door"
COMMAND = "turn on the kitchen light"


class DemoError(Exception):
    """A step did not happen in time."""


def say(message: str) -> None:
    print(f"demo_talk: {message}", flush=True)


def wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    """Poll ``check`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise DemoError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.25)
    return value


class Demo:
    def __init__(self) -> None:
        self.hass = Hass(os.environ["DEVELOP_HASS_URL"])
        self.bridge = os.environ["DEVELOP_BRIDGE_URL"].rstrip("/")
        self.api_key = os.environ["DEVELOP_API_KEY"]
        self.session = os.environ.get("DEVELOP_SESSION", "default")

    def state(self, entity: str) -> str:
        return str(self.hass.call("GET", f"/api/states/{entity}")["state"])

    def action(self, domain: str, service: str, entity: str) -> None:
        self.hass.call("POST", f"/api/services/{domain}/{service}", {"entity_id": entity})

    def fault(self, fault: str, *, quiet: bool = False, **kwargs: Any) -> Any:
        """Pull a fault switch with the CLI the README shows (printed unless quiet); its result."""
        pairs = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in kwargs.items()]
        shown = " ".join(f"'{pair}'" if " " in pair or '"' in pair else pair for pair in pairs)
        if not quiet:
            say(
                f"$ python -m bridge_double fault --url {self.bridge} --api-key ... {fault} {shown}"
            )
        # The key through the environment (the CLI's default), not on a command line.
        env = {**os.environ, "WAHA_API_KEY": self.api_key}
        done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "bridge_double", "fault", "--url", self.bridge, fault, *pairs],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        status, _, body = done.stdout.strip().partition(" ")
        if done.returncode != 0 or not status.startswith("2"):
            raise DemoError(f"fault {fault}: {done.stdout.strip()} {done.stderr.strip()}")
        return json.loads(body)["result"]

    def chat_messages(self, chat_id: str) -> list[dict[str, Any]]:
        chat = urllib.parse.quote(chat_id)
        messages: list[dict[str, Any]] = request(
            "GET",
            f"{self.bridge}/api/{self.session}/chats/{chat}/messages?limit=20",
            headers={"X-Api-Key": self.api_key},
        )
        return messages

    def ensure(self, entity: str, wanted: str, domain: str, service: str) -> None:
        if self.state(entity) != wanted:
            self.action(domain, service, entity)
            wait(f"{entity} {wanted}", lambda: self.state(entity) == wanted, 10)

    def kitchen_light(self) -> None:
        say("1. Assist in your self chat")
        self.ensure(LIGHT, "off", "light", "turn_off")
        say(f"{LIGHT} is off")
        written = self.fault("write_in_self_chat", text=COMMAND, name=self.session)
        message_id = str(written["id"])
        chat_id = message_id.split("_")[1]
        key = message_id.split("_")[2]
        say(f"written in the self chat {chat_id}: {written.get('body')!r}")
        wait(f"{LIGHT} on", lambda: self.state(LIGHT) == "on", 20)
        say(f"{LIGHT} is on")

        def answer() -> dict[str, Any] | None:
            return next(
                (
                    m
                    for m in self.chat_messages(chat_id)
                    if m.get("fromMe") and (m.get("replyTo") or {}).get("id") == key
                ),
                None,
            )

        reply = wait("an answer quoting the message", answer, 20)
        say(f"the bridge sent {reply['body']!r} quoting {reply['replyTo']['body']!r}")

    def garage(self) -> None:
        say("2. Ask before closing the garage")
        self.ensure(GARAGE, "closed", "cover", "close_cover")
        before = len(self.fault("talk_state", quiet=True, name=self.session)["polls"])
        self.action("cover", "open_cover", GARAGE)
        wait(f"{GARAGE} open", lambda: self.state(GARAGE) == "open", 10)
        say(f"{GARAGE} is open")

        def new_poll() -> dict[str, Any] | None:
            state = self.fault("talk_state", quiet=True, name=self.session)
            polls: list[dict[str, Any]] = state["polls"]
            return polls[-1] if len(polls) > before else None

        poll = wait("the question as a poll", new_poll, 20)
        say(f"the bridge sent the poll {poll['question']!r} {poll['options']} to {poll['chat_id']}")
        self.fault("emit_poll_vote", name=self.session, poll_id=poll["message_id"], options=["Yes"])
        wait(f"{GARAGE} closed", lambda: self.state(GARAGE) == "closed", 20)
        say(f"voted Yes: {GARAGE} is closed")


def main() -> int:
    demo = Demo()
    try:
        demo.kitchen_light()
        demo.garage()
    except (DemoError, HttpError, OSError) as err:
        say(f"FAILED: {err}")
        return 1
    say("both worked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
