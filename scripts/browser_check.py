"""The browser check behind scripts/screenshots: the real frontend, driven by headless Chromium.

Runs against a stack started by ``scripts/develop ... -- <this>`` (it reads DEVELOP_HASS_URL,
DEVELOP_BRIDGE_URL, DEVELOP_API_KEY and DEVELOP_SESSION) and, one line per check:

1. logs in through Home Assistant's login page (typing user and password);
2. opens the WhatsApp dashboard: card titles and tile values, ``dashboard.png``;
3. opens the integration's page: its name and the entry, ``integration.png``;
4. a contact sends a photo (the double emits it with ``develop/demo-photo.jpg``), the
   integration saves it to the local media folder; the Media panel, clicked through My media >
   whatsapp > the account > the chat, lists it, and shows it when clicked, ``media-panel.png``;
5. logs WhatsApp out from the phone (a fault of the bridge double), waits for the
   ``pairing_required`` repair, and goes through its fix dialog to the QR code,
   ``pairing_repair.png``;
6. the dashboard while pairing: the QR card, ``dashboard_pairing.png``;
7. the phone scans the code: the link and the dashboard recover, the repair is gone (this also
   leaves the persistent state dir healthy for the next run).

Exit status 0 only when every check passed; 1 at the first failure, after printing what was
expected and what was there (and saving a screenshot of the failure); 3 without Chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import os
from pathlib import Path
import re
import signal
import sys
import time
from typing import Any

import aiohttp
from browser_cdp import CHROMIUM, BrowserError, Chromium, Page, Point, WaitError, js_string

USERNAME = "dev"
PASSWORD = "dev-password"  # noqa: S105 - the documented login of the local dev instance
DOMAIN = "whatsapp_gateway"
ENTRY_TITLE = "Alice"  # the bridge double's account; the dashboard's entity ids follow from it
DASHBOARD = "/whatsapp-gateway/link"
INTEGRATION = f"/config/integrations/integration/{DOMAIN}"
REPAIRS = "/config/repairs"
ISSUE_TITLE = f"WhatsApp needs to be linked again ({ENTRY_TITLE})"
MEDIA_BROWSER = "/media-browser/browser"
DEMO_PHOTO = Path(__file__).resolve().parent.parent / "develop" / "demo-photo.jpg"
PHOTO_CHAT = "4915112345678@c.us"  # a contact; the integration names its folder safely:
PHOTO_FOLDER = "4915112345678_c.us"
PHOTO_CAPTION = "The parcel is here"
WHATSAPP_MEDIA = "media-source://media_source/local/whatsapp"
VIEWPORT = (1280, 900)
DIALOG_VIEWPORT = (1280, 1000)
# A fresh state dir has no availability figure until the link was watched for a minute and
# the next status check (every 60 s) ran; later runs restore it at once.
AVAILABILITY_WAIT = 150.0

# The frontend's own logged-in connection, for what the page does not show (no token of ours).
ISSUES_JS = (
    "document.querySelector('home-assistant').hass.callWS({type: 'repairs/list_issues'})"
    f".then((r) => r.issues.filter((i) => i.domain === {js_string(DOMAIN)}"
    " && i.translation_key === 'pairing_required')"
    ".map((i) => ({id: i.issue_id, created: Date.parse(i.created)})))"
)
# ha-qr-code draws the code on a canvas in its shadow root.
QR_IMAGE_STATE_JS = (
    "document.querySelector('home-assistant').hass.states['image.alice_pairing_qr']?.state"
)
QR_RENDERED_JS = (
    "deepVisible('ha-qr-code').some((qr) => {"
    " const found = []; walk(qr, (n) => { if (n.nodeName === 'CANVAS' || n.nodeName === 'IMG')"
    " found.push(n); });"
    " return found.some((el) => el.getBoundingClientRect().width >= 100); })"
)


# The contact's photos through the frontend's connection (what the Media panel will list):
# [account folder, [file names]] of the first account folder that has the chat's folder.
RECEIVED_JS = (
    "(async () => { const hass = document.querySelector('home-assistant').hass;"
    " const browse = (id) => hass.callWS({type: 'media_source/browse_media',"
    " media_content_id: id}).then((r) => r.children, () => []);"
    f" for (const account of await browse({js_string(WHATSAPP_MEDIA)})) {{"
    f" const files = await browse(account.media_content_id + '/' + {js_string(PHOTO_FOLDER)});"
    " if (files.length) return [account.title, files.map((f) => f.title)]; }"
    " return null; })()"
)


# Earlier runs' photos from the contact removed (as the Media panel's "Manage" does), so the
# screenshot shows the one photo of this run.
CLEAR_PHOTOS_JS = (
    "(async () => { const hass = document.querySelector('home-assistant').hass;"
    " const browse = (id) => hass.callWS({type: 'media_source/browse_media',"
    " media_content_id: id}).then((r) => r.children, () => []);"
    " let removed = 0;"
    f" for (const account of await browse({js_string(WHATSAPP_MEDIA)})) {{"
    f" for (const file of await browse(account.media_content_id + '/' + {js_string(PHOTO_FOLDER)}))"
    " { await hass.callWS({type: 'media_source/local_source/remove',"
    " media_content_id: file.media_content_id}); removed += 1; } }"
    " return {removed}; })()"
)
# The photo as the Media panel shows it when clicked (the web browser as the player): local
# media has no thumbnails in the grid, so the dialog with the picture is the view of it.
PHOTO_SHOWN_JS = (
    "deepVisible('img').some((img) => img.complete && img.naturalWidth > 0"
    " && new URL(img.src).pathname.startsWith('/media/local/whatsapp/'))"
)
QR_CARD_JS = (
    "deepVisible('hui-picture-entity-card').some((card) => {"
    " const imgs = []; walk(card, (n) => { if (n.nodeName === 'IMG') imgs.push(n); });"
    " return imgs.some((img) => img.complete && img.naturalWidth > 0); })"
)


class CheckFailedError(Exception):
    """A check saw something else than expected."""

    def __init__(self, expected: str, found: str) -> None:
        super().__init__(f"expected {expected}")
        self.expected = expected
        self.found = found


@dataclass(frozen=True)
class Stack:
    """Where the stack under test answers."""

    hass: str
    bridge: str
    api_key: str
    session: str


class Checks:
    """The checks, in order; each returns a short note for its line."""

    def __init__(self, page: Page, stack: Stack, out: Path) -> None:
        self.page = page
        self.stack = stack
        self.out = out

    async def open(self, path: str) -> None:
        """Navigate inside the app (as its own links do), keeping the logged-in session."""
        await self.page.evaluate(
            f"(() => {{ history.pushState(null, '', {js_string(path)});"
            " window.dispatchEvent(new CustomEvent('location-changed',"
            " {detail: {replace: false}})); return true; })()"
        )
        await self.page.wait_for(f"location.pathname === {js_string(path)}", f"to be at {path}")

    async def click_media_item(self, title: str) -> None:
        """Click the Media panel's item ``title`` (its card: a ripple covers the title)."""
        box = await self.page.wait_for(
            f"(() => {{ const el = elementWithText({js_string(title)}); if (!el) return null;"
            " let item = el; while (item && item.nodeName !== 'HA-CARD'"
            " && !item.classList?.contains('child')) item = up(item);"
            " const point = clickPoint(el); if (point) return point;"
            " const r = el.getBoundingClientRect();"
            " const x = r.left + r.width / 2, y = r.top + r.height / 2;"
            " return item && related(hitAt(x, y), item) ? {x, y} : null; })()",
            f"the Media panel's item {title!r} to click, with nothing covering it",
        )
        await self.page.click_point(Point(box["x"], box["y"]))

    async def tile(self, name: str) -> list[str]:
        """The texts of the visible tile card named ``name`` ([] when there is none)."""
        texts = await self.page.evaluate(
            "(() => { const card = deepVisible('hui-tile-card')"
            f".find((c) => textsIn(c)[0] === {js_string(name)});"
            " return card ? textsIn(card) : []; })()"
        )
        return [str(t) for t in texts]

    async def expect_tile(
        self, name: str, check: Callable[[str], bool], expected: str, within: float = 20
    ) -> str:
        """Wait until tile ``name`` shows a state that passes ``check``; return that state."""
        deadline = time.monotonic() + within
        while True:
            texts = await self.tile(name)
            state = " ".join(texts[1:])
            if texts and check(state):
                return state
            if time.monotonic() > deadline:
                raise CheckFailedError(
                    f"tile {name!r} to show {expected}",
                    f"tile texts {texts}"
                    if texts
                    else f"no tile {name!r}: {await self.page.text()}",
                )
            await asyncio.sleep(0.2)

    async def shot(self, name: str) -> str:
        path = self.out / name
        if not await self.page.screenshot(path):
            print(f"screenshots: note: {name}: the page kept changing; saved the last capture")
        return str(path)

    async def fault(self, fault: str, **kwargs: Any) -> None:
        """Pull a fault switch of the bridge double."""
        url = f"{self.stack.bridge}/_double/faults/{fault}"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=kwargs, headers={"X-Api-Key": self.stack.api_key}) as resp,
        ):
            if resp.status >= 400:
                raise CheckFailedError(f"the double to accept {fault}", await resp.text())

    async def login(self) -> str:
        await self.page.navigate(f"{self.stack.hass}/")
        await self.page.wait_for_text("Username", "Password", "Log in")
        url = str(await self.page.evaluate("location.pathname"))
        if url != "/auth/authorize":
            raise CheckFailedError("the login page at /auth/authorize", url)
        await self.page.type_into("input[name=username]", USERNAME, "the user name field")
        await self.page.type_into("input[name=password]", PASSWORD, "the password field")
        await self.page.click_text("Log in")
        await self.page.wait_for(
            "!location.pathname.startsWith('/auth') && deepVisible('ha-sidebar').length > 0"
            " && !document.getElementById('ha-launch-screen')",
            "the frontend after logging in (and its launch screen gone)",
        )
        await self.page.wait_for_text("Settings", "Developer")
        return f"logged in as {USERNAME} through the login page"

    async def dashboard(self) -> str:
        await self.open(DASHBOARD)
        await self.page.wait_for_text(
            "WhatsApp link",
            "Health",
            "Connected since",
            "Reconnect now",
            "Availability (24 h)",
            "Disconnects",
            "Last disconnect reason",
            "Outbound queue",
            "Link state, last hour",
            "Availability, last 24 hours",
        )
        state = await self.expect_tile("State", lambda s: s == "Connected", "'Connected'")
        await self.expect_tile("Connected", lambda s: s == "Connected", "'Connected'")
        await self.expect_tile("Outbound queue", lambda s: s.endswith("messages"), "a count")
        await self.expect_tile("Disconnects", str.isdigit, "a number")
        if "Unknown" in await self.tile("Availability (24 h)"):
            print(
                "screenshots: note: no availability figure yet (a fresh state dir);"
                f" waiting for it, up to {AVAILABILITY_WAIT:.0f} s"
            )
        availability = await self.expect_tile(
            "Availability (24 h)",
            lambda s: re.fullmatch(r"[\d.,]+ ?%", s) is not None,
            "a percentage",
            within=AVAILABILITY_WAIT,
        )
        if await self.page.evaluate("deepVisible('hui-picture-entity-card').length > 0"):
            raise CheckFailedError("no QR card while connected", "a picture-entity card")
        return f"state {state}, availability {availability}; {await self.shot('dashboard.png')}"

    async def integration(self) -> str:
        await self.open(INTEGRATION)
        await self.page.wait_for_text("WhatsApp Gateway", "Custom integration", ENTRY_TITLE)
        return f"'WhatsApp Gateway', entry {ENTRY_TITLE!r}; {await self.shot('integration.png')}"

    async def media_panel(self) -> str:
        photo = DEMO_PHOTO.read_bytes()
        await self.page.evaluate(CLEAR_PHOTOS_JS)
        await self.fault(
            "emit_message",
            name=self.stack.session,
            chat_id=PHOTO_CHAT,
            body=PHOTO_CAPTION,
            media=base64.b64encode(photo).decode("ascii"),
            mimetype="image/jpeg",
        )
        # Saved by the integration: whatsapp/<account number>/<chat>/<file>.
        account, files = await self.page.wait_for(
            RECEIVED_JS,
            f"the received photo in whatsapp/<account>/{PHOTO_FOLDER} of the local media",
            found=f"'whatsapp/: ' + JSON.stringify(await {RECEIVED_JS})",
        )
        await self.open(MEDIA_BROWSER)
        for folder in ("My media", "whatsapp", account, PHOTO_FOLDER):
            # The panel keeps where it is in its address: each folder is a new one.
            before = await self.page.evaluate("location.pathname")
            await self.click_media_item(folder)
            await self.page.wait_for(
                f"location.pathname !== {js_string(before)}", f"the Media panel to open {folder}"
            )
        await self.page.wait_for_text(str(files[0]))
        await self.click_media_item(str(files[0]))
        await self.page.wait_for(PHOTO_SHOWN_JS, "the photo shown by the Media panel")
        path = await self.shot("media-panel.png")
        await self.page.press_key("Escape", "Escape", 27)
        await self.page.wait_for(f"!({PHOTO_SHOWN_JS})", "the photo's dialog to close")
        saved = f"whatsapp/{account}/{PHOTO_FOLDER}/{files[0]}"
        return f"{len(photo)} bytes from {PHOTO_CHAT} saved as {saved}; {path}"

    async def pairing_repair(self) -> str:
        since = await self.page.evaluate("Date.now()") - 1000
        await self.fault("logout_from_phone", name=self.stack.session)
        issue = await self.page.wait_for(
            f"{ISSUES_JS}.then((found) => found.find((i) => i.created >= {since}))",
            "a new repair issue pairing_required",
            found=f"'issues of {DOMAIN}: ' + JSON.stringify(await {ISSUES_JS})",
        )
        # The usual case: the integration restarted the session after the logout, and by the
        # time the user opens the repair the bridge already shows a QR code. The dialog's
        # progress step then ends before the frontend listens for its end; the integration
        # announces the next step again a second later.
        await self.page.wait_for(
            f"{QR_IMAGE_STATE_JS} !== 'unavailable'",
            "the pairing QR image available (the bridge shows a code)",
            found=QR_IMAGE_STATE_JS,
        )
        await self.open(REPAIRS)
        await self.page.wait_for_text(ISSUE_TITLE)
        await self.page.click_text(ISSUE_TITLE)
        await self.page.wait_for_text(
            "Link your phone", "Scan a QR code", "Type a code on the phone instead"
        )
        await self.page.click_text("Scan a QR code")
        await self.page.wait_for_text("Scan the QR code", "Linked devices")
        await self.page.wait_for(QR_RENDERED_JS, "a rendered QR code (ha-qr-code)")
        await self.page.set_viewport(*DIALOG_VIEWPORT)
        try:
            path = await self.shot("pairing_repair.png")
        finally:
            await self.page.set_viewport(*VIEWPORT)
        return f"issue {issue['id']}: opened with the QR code up, menu, QR code; {path}"

    async def dashboard_pairing(self) -> str:
        await self.page.click_element("ha-icon-button[data-dialog=close]", "the dialog's X")
        await self.page.wait_for(
            "!pageText().includes('Scan the QR code')", "the fix dialog to close"
        )
        await self.open(DASHBOARD)
        await self.expect_tile("State", lambda s: s == "Pairing required", "'Pairing required'")
        await self.page.wait_for(QR_CARD_JS, "the QR card with its image")
        await self.page.wait_for_text("Link your phone:", "Linked devices")
        return f"state Pairing required, QR card; {await self.shot('dashboard_pairing.png')}"

    async def relink(self) -> str:
        await self.fault("scan_qr", name=self.stack.session)
        await self.expect_tile("State", lambda s: s == "Connected", "'Connected'")
        await self.page.wait_for(
            "!deepVisible('hui-picture-entity-card').length", "the QR card to go away"
        )
        await self.page.wait_for(
            f"{ISSUES_JS}.then((ids) => ids.length === 0)",
            "the repair issue to go away",
            found=f"JSON.stringify(await {ISSUES_JS})",
        )
        return "the phone linked again: Connected, no QR card, no repair"


async def run(stack: Stack, out: Path, profile: Path, failures: Path) -> int:
    started = time.monotonic()
    async with Chromium(profile, *VIEWPORT) as page:
        checks = Checks(page, stack, out)
        steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [
            ("login", checks.login),
            ("dashboard", checks.dashboard),
            ("integration", checks.integration),
            ("media_panel", checks.media_panel),
            ("pairing_repair", checks.pairing_repair),
            ("dashboard_pairing", checks.dashboard_pairing),
            ("relink", checks.relink),
        ]
        for name, step in steps:
            begun = time.monotonic()
            try:
                note = await step()
            except (CheckFailedError, WaitError, BrowserError) as err:
                await report_failure(page, name, err, failures)
                return 1
            print(f"screenshots: ok   {name:<17} {time.monotonic() - begun:5.1f} s  {note}")
    print(f"screenshots: browser checks passed in {time.monotonic() - started:.1f} s")
    return 0


async def report_failure(page: Page, name: str, err: Exception, failures: Path) -> None:
    """Say what was expected and what was there; keep a screenshot of the moment."""
    print(f"screenshots: FAIL {name}")
    if isinstance(err, CheckFailedError):
        print(f"  expected: {err.expected}\n  found:    {err.found[:3000]}")
    elif isinstance(err, WaitError):
        print(f"  expected: {err.what}\n  found:    {err.found[:3000]}")
    else:
        print(f"  error: {err}")
    for problem in page.problems[-10:]:
        print(f"  page: {problem}")
    try:
        path = failures / f"failure-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(await page.capture())
        print(f"  screenshot of the failure: {path}")
    except BrowserError as shot_err:
        print(f"  (no screenshot of the failure: {shot_err})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where the screenshots go")
    parser.add_argument("--profile", type=Path, required=True, help="Chromium's profile dir")
    parser.add_argument("--failures", type=Path, required=True, help="failure screenshots")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"screenshots: {CHROMIUM} is missing (scripts/setup_browser installs it)")
        return 3
    try:
        stack = Stack(
            hass=os.environ["DEVELOP_HASS_URL"],
            bridge=os.environ["DEVELOP_BRIDGE_URL"],
            api_key=os.environ["DEVELOP_API_KEY"],
            session=os.environ["DEVELOP_SESSION"],
        )
    except KeyError as err:
        print(f"screenshots: {err.args[0]} is not set; run this through scripts/screenshots")
        return 2
    return asyncio.run(_main(stack, args.out, args.profile, args.failures))


async def _main(stack: Stack, out: Path, profile: Path, failures: Path) -> int:
    # scripts/develop stops its command with SIGTERM: cancel, so Chromium is stopped on the way
    # out. Once only: a second cancel would cut that clean-up short.
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - asyncio.run runs this as a task
    loop = asyncio.get_running_loop()

    def stop() -> None:
        loop.remove_signal_handler(signal.SIGTERM)
        loop.add_signal_handler(signal.SIGTERM, lambda: None)
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        return await run(stack, out, profile, failures)
    except asyncio.CancelledError:
        print("screenshots: stopped")
        return 143


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.exit(main(sys.argv[1:]))
