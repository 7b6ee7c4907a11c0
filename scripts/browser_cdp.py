"""A small Chrome DevTools Protocol client: headless Chromium driven over one page's socket.

Only what a browser check of Home Assistant needs: start and stop Chromium, navigate, run
JavaScript, find text through shadow roots, click, type, and take screenshots. Home
Assistant's frontend is web components all the way down, so every lookup walks open shadow
roots (``JS_HELPERS``); ``document.querySelector`` and ``innerText`` would see almost nothing.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import itertools
import json
import os
from pathlib import Path
import signal
import time
from typing import Any

import aiohttp

CHROMIUM = Path("/usr/bin/chromium")
# Headless without a sandbox (we run as root in a container), and without anything that
# phones home or changes between runs.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--remote-debugging-port=0",
)

type Json = dict[str, Any]

# Helpers defined in front of every evaluated expression (a page load forgets them).
# Texts are compared whitespace-normalised; "visible" means checkVisibility() of the text's
# element, so hidden dialogs and collapsed menus do not count.
JS_HELPERS = r"""
const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
const walk = (node, visit) => {
  visit(node);
  if (node.shadowRoot) walk(node.shadowRoot, visit);
  for (const child of node.childNodes) walk(child, visit);
};
const visible = (el) => !!el && el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})
  && el.getClientRects().length > 0;
const textNodes = (root = document) => {
  const found = [];
  walk(root, (n) => {
    if (n.nodeType === Node.TEXT_NODE && norm(n.data) && visible(n.parentElement)) found.push(n);
  });
  return found;
};
const textsIn = (root) => textNodes(root).map((n) => norm(n.data));
const pageText = () => textsIn(document).join(" | ");
const deepAll = (selector) => {
  const found = [];
  walk(document, (n) => {
    if (n.nodeType === Node.ELEMENT_NODE && n.matches(selector)) found.push(n);
  });
  return found;
};
const deepVisible = (selector) => deepAll(selector).filter(visible);
const elementWithText = (text) => {
  const want = norm(text);
  const nodes = textNodes();
  const hit = nodes.find((n) => norm(n.data) === want)
    || nodes.find((n) => norm(n.data).includes(want));
  return hit ? hit.parentElement : null;
};
const up = (n) => n.parentNode || n.host;
const related = (a, b) => {
  for (let n = a; n; n = up(n)) if (n === b) return true;
  for (let n = b; n; n = up(n)) if (n === a) return true;
  return false;
};
const hitAt = (x, y) => {
  let el = document.elementFromPoint(x, y);
  while (el && el.shadowRoot) {
    const inner = el.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === el) break;
    el = inner;
  }
  return el;
};
// Where to click el, or null while something else (an overlay, a closing launch screen)
// would get the click.
const clickPoint = (el) => {
  el.scrollIntoView({block: "center", inline: "center"});
  const r = el.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  return related(hitAt(x, y), el) ? {x, y} : null;
};
"""


class BrowserError(Exception):
    """Chromium or a page did not do what was asked."""


class WaitError(BrowserError):
    """A condition did not come true in time; ``found`` says what there was instead."""

    def __init__(self, what: str, found: str) -> None:
        super().__init__(f"{what}; found: {found}")
        self.what = what
        self.found = found


def js_string(value: str) -> str:
    """A JavaScript string literal."""
    return json.dumps(value)


class Connection:
    """One DevTools WebSocket: numbered commands with their answers, and events."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Json]] = {}
        self._listeners: list[Callable[[str, Json], None]] = []
        self._reader = asyncio.create_task(self._read())

    def on_event(self, listener: Callable[[str, Json], None]) -> None:
        """Call ``listener(method, params)`` for every event."""
        self._listeners.append(listener)

    async def send(self, method: str, params: Json | None = None, within: float = 30) -> Json:
        """Send a command and return its result; raise BrowserError on a protocol error."""
        command_id = next(self._ids)
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        try:
            await self._ws.send_json({"id": command_id, "method": method, "params": params or {}})
            async with asyncio.timeout(within):
                return await future
        except TimeoutError:
            raise BrowserError(f"{method}: no answer within {within:.0f} s") from None
        finally:
            self._pending.pop(command_id, None)

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data: Json = json.loads(message.data)
            if "id" in data:
                future = self._pending.get(data["id"])
                if future is None or future.done():
                    continue
                if "error" in data:
                    future.set_exception(BrowserError(f"CDP error: {data['error']}"))
                else:
                    future.set_result(data.get("result", {}))
            else:
                for listener in self._listeners:
                    listener(data.get("method", ""), data.get("params", {}))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BrowserError("the DevTools connection closed"))

    async def close(self) -> None:
        """Close the socket and stop reading."""
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@dataclass(frozen=True)
class Point:
    """A point in CSS pixels of the viewport."""

    x: float
    y: float


class Page:
    """A browser tab: navigation, JavaScript, text lookups, input and screenshots."""

    def __init__(self, connection: Connection) -> None:
        self.cdp = connection
        self.problems: list[str] = []  # console errors and uncaught exceptions, newest last
        self._loads = 0
        connection.on_event(self._event)

    def _event(self, method: str, params: Json) -> None:
        if method == "Page.loadEventFired":
            self._loads += 1
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.problems.append(f"exception: {str(text).splitlines()[0]}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = params.get("args", [])
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in args)
            self.problems.append(f"console.error: {text[:300]}")

    async def start(self, width: int, height: int) -> None:
        """Enable the events used here and set the viewport."""
        await self.cdp.send("Page.enable")
        await self.cdp.send("Runtime.enable")
        # A headless page never has the window's focus; without this, focus() does not stick.
        await self.cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
        # Charts and ripples skip their animations: screenshots settle sooner and match.
        await self.cdp.send(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
        )
        await self.set_viewport(width, height)

    async def set_viewport(self, width: int, height: int) -> None:
        """Resize the viewport (CSS pixels at device scale factor 1)."""
        await self.cdp.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    async def navigate(self, url: str, within: float = 30) -> None:
        """Load ``url`` and wait for its load event."""
        loads = self._loads
        answer = await self.cdp.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"cannot open {url}: {answer['errorText']}")
        await self.wait_until(lambda: self._loads > loads, within, f"{url} to load")

    async def evaluate(self, expression: str, within: float = 30) -> Any:
        """The JSON value of ``expression`` (awaited if a promise), with JS_HELPERS in scope."""
        source = f"(async () => {{ {JS_HELPERS}\nreturn ({expression}); }})()"
        answer = await self.cdp.send(
            "Runtime.evaluate",
            {"expression": source, "returnByValue": True, "awaitPromise": True},
            within=within,
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript failed: {text}")
        return answer.get("result", {}).get("value")

    async def wait_until(
        self, check: Callable[[], bool], within: float, what: str, found: str = ""
    ) -> None:
        """Poll a Python condition (fed by events) every 50 ms."""
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise WaitError(f"{what}: not within {within:.0f} s", found)
            await asyncio.sleep(0.05)

    async def wait_for(
        self,
        expression: str,
        what: str,
        within: float = 30,
        found: str = "pageText()",
    ) -> Any:
        """Poll ``expression`` until it is truthy and return its value.

        On timeout, raise WaitError with the value of ``found`` (by default the page's
        visible text) so the caller can say what was there instead.
        """
        deadline = time.monotonic() + within
        while True:
            try:
                value = await self.evaluate(expression)
            except BrowserError:
                value = None  # the page was between documents
            if value:
                return value
            if time.monotonic() > deadline:
                try:
                    seen = str(await self.evaluate(found))
                except BrowserError as err:
                    seen = f"({err})"
                raise WaitError(f"{what}: not within {within:.0f} s", seen)
            await asyncio.sleep(0.1)

    async def text(self) -> str:
        """The visible text of the page, text nodes joined with " | "."""
        return str(await self.evaluate("pageText()"))

    async def wait_for_text(self, *texts: str, within: float = 30) -> None:
        """Wait until every one of ``texts`` is visible on the page."""
        wanted = json.dumps(list(texts))
        missing = f"{wanted}.filter((t) => !pageText().includes(norm(t)))"
        await self.wait_for(
            f"{missing}.length === 0",
            f"text {', '.join(map(repr, texts))} on the page",
            within,
            found=f"'missing ' + JSON.stringify({missing}) + '; page text: ' + pageText()",
        )

    async def wait_for_element(self, selector: str, what: str, within: float = 30) -> None:
        """Wait until an element matching ``selector`` is visible (in any shadow root)."""
        await self.wait_for(f"deepVisible({js_string(selector)}).length > 0", what, within)

    async def click_point(self, point: Point) -> None:
        """A left click with real mouse events."""
        base = {"x": point.x, "y": point.y, "button": "left", "clickCount": 1}
        await self.cdp.send("Input.dispatchMouseEvent", {**base, "type": "mouseMoved"})
        await self.cdp.send("Input.dispatchMouseEvent", {**base, "type": "mousePressed"})
        await self.cdp.send("Input.dispatchMouseEvent", {**base, "type": "mouseReleased"})

    async def click_text(self, text: str, within: float = 30) -> None:
        """Click the middle of the visible element whose text is (or contains) ``text``.

        Waits until nothing covers that point, so the click reaches the element.
        """
        box = await self.wait_for(
            f"(() => {{ const el = elementWithText({js_string(text)});"
            " return el && clickPoint(el); })()",
            f"text {text!r} to click, with nothing covering it",
            within,
        )
        await self.click_point(Point(box["x"], box["y"]))

    async def click_element(self, selector: str, what: str, within: float = 30) -> None:
        """Click the middle of the first visible element matching ``selector``."""
        box = await self.wait_for(
            f"(() => {{ const el = deepVisible({js_string(selector)})[0];"
            " return el && clickPoint(el); })()",
            what,
            within,
        )
        await self.click_point(Point(box["x"], box["y"]))

    async def type_into(self, selector: str, text: str, what: str, within: float = 30) -> None:
        """Focus the visible input matching ``selector`` and type ``text`` as keyboard input."""
        await self.wait_for(
            f"(() => {{ const el = deepVisible({js_string(selector)})[0];"
            " if (!el) return false; el.focus();"
            " return el.getRootNode().activeElement === el; })()",
            what,
            within,
        )
        await self.cdp.send("Input.insertText", {"text": text})

    async def press_key(self, key: str, code: str, key_code: int) -> None:
        """Press and release one key, e.g. ``press_key("Escape", "Escape", 27)``."""
        base = {"key": key, "code": code, "windowsVirtualKeyCode": key_code}
        await self.cdp.send("Input.dispatchKeyEvent", {**base, "type": "rawKeyDown"})
        await self.cdp.send("Input.dispatchKeyEvent", {**base, "type": "keyUp"})

    async def settle(self, within: float = 15) -> None:
        """Wait for web fonts, every image in any shadow root, and two animation frames."""
        await self.wait_for(
            "document.fonts.status === 'loaded' && deepAll('img').every((img) => img.complete)",
            "fonts and images to load",
            within,
        )
        await self.evaluate(
            "new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)))"
        )

    async def capture(self) -> bytes:
        """The viewport as PNG."""
        answer = await self.cdp.send("Page.captureScreenshot", {"format": "png"})
        return base64.b64decode(answer["data"])

    async def screenshot(self, path: Path, within: float = 10) -> bool:
        """Save the viewport once two captures in a row are the same (the page stopped moving).

        Returns False when it kept moving for ``within`` seconds (the last capture is saved).
        """
        await self.settle()
        previous = await self.capture()
        deadline = time.monotonic() + within
        still = False
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            current = await self.capture()
            still = current == previous
            previous = current
            if still:
                break
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(previous)
        return still


class Chromium:
    """Headless Chromium in its own process group, with one page to drive.

    ``async with Chromium(profile) as page:`` starts it with a fresh profile directory and
    stops the whole process group on the way out, whatever happened. The pid goes to
    ``<profile>/chromium.pid`` so that a shell trap can stop it should Python be killed.
    """

    def __init__(self, profile: Path, width: int = 1280, height: int = 900) -> None:
        self.profile = profile
        self.width = width
        self.height = height
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self._connection: Connection | None = None

    async def __aenter__(self) -> Page:
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _start(self) -> Page:
        if not CHROMIUM.exists():
            raise BrowserError(f"{CHROMIUM} is missing")
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        with (self.profile / "chromium.log").open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                str(CHROMIUM),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        (self.profile / "chromium.pid").write_text(f"{self._process.pid}\n")
        port = await self._devtools_port(port_file)
        self._http = aiohttp.ClientSession()
        async with self._http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets: list[Json] = await resp.json()
        page_target = next((t for t in targets if t.get("type") == "page"), None)
        if page_target is None:
            raise BrowserError(f"Chromium shows no page: {targets}")
        ws = await self._http.ws_connect(page_target["webSocketDebuggerUrl"], max_msg_size=0)
        self._connection = Connection(ws)
        page = Page(self._connection)
        await page.start(self.width, self.height)
        return page

    async def _devtools_port(self, port_file: Path, within: float = 20) -> int:
        """Chromium writes the port it chose (and the browser's socket path) to the profile."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self._process is not None  # noqa: S101 - set by _start
            if self._process.returncode is not None:
                log = (self.profile / "chromium.log").read_text(errors="replace")
                raise BrowserError(f"Chromium ended ({self._process.returncode}): {log[-2000:]}")
            with contextlib.suppress(OSError, ValueError, IndexError):
                return int(port_file.read_text().splitlines()[0])
            await asyncio.sleep(0.05)
        raise BrowserError(f"Chromium wrote no {port_file.name} within {within:.0f} s")

    async def stop(self) -> None:
        """Close the socket and stop Chromium's process group (TERM, then KILL after 5 s)."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        process, self._process = self._process, None
        if process is None:
            return
        await _stop_group(process, 5)
        (self.profile / "chromium.pid").unlink(missing_ok=True)


async def _stop_group(process: asyncio.subprocess.Process, grace: float) -> None:
    """TERM the process group, KILL it after ``grace`` seconds, and KILL any straggler."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            await process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
