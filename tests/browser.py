"""A real headless Chromium driven over the Chrome DevTools Protocol (its own websocket),
for the browser-access tests: open a page, read the terminal's text, press keys.

Chromium comes from Debian's packages (scripts/browser-deps.sh installs it in CI); the
protocol client is aiohttp's websocket, already installed with textual-serve.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

BROWSERS = ("chromium", "chromium-browser", "google-chrome")

# textual-serve keeps its xterm.js Terminal inside a closure. Its page object assigns
# `this.webglAddon = ...` in its constructor; a setter on Object.prototype sees that
# assignment and keeps the page object, whose `.terminal.buffer` holds what the browser
# shows, cell for cell.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "webglAddon", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "webglAddon",
      {value, writable: true, configurable: true, enumerable: true});
    window.__aiwfPage = this;
  },
});
"""

SCREEN_TEXT = """
(() => {
  const page = window.__aiwfPage;
  if (!page || !page.terminal) return null;
  const terminal = page.terminal, buffer = terminal.buffer.active, lines = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
})()
"""


NAMED_KEYS = {"ArrowDown": 40, "ArrowUp": 38, "Enter": 13, "Escape": 27}
"""Keys without text, and their Windows virtual key codes (what DevTools wants)."""


def chromium_binary() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(
        "no headless Chromium on PATH (tried "
        + ", ".join(BROWSERS)
        + "): run scripts/browser-deps.sh, which scripts/test.sh calls"
    )


class Page:
    """One browser tab, spoken to through its DevTools websocket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse[Any]) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Sends one protocol command and returns its result (events are skipped)."""
        call_id = next(self._ids)
        await self.socket.send_json({"id": call_id, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.socket.receive_json(), 30)
            if message.get("id") != call_id:
                continue
            if "error" in message:
                raise AssertionError(f"DevTools {method} failed: {message['error']}")
            result: dict[str, Any] = message.get("result", {})
            return result

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise AssertionError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def open(self, url: str) -> None:
        await self.call("Page.enable")
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
        await self.call("Page.navigate", url=url)

    async def screen_text(self) -> str:
        """The terminal's visible rows as the browser holds them ("" before it exists)."""
        return str(await self.evaluate(SCREEN_TEXT) or "")

    async def wait_for_text(
        self, check: Callable[[str], bool], what: str, timeout: float = 60
    ) -> str:
        """Polls the terminal's text until `check` accepts it; fails naming `what`."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.screen_text()
            if check(text):
                return text
            await asyncio.sleep(0.25)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; screen:\n{text}")

    async def press(self, key: str) -> None:
        """One key (a printable one, or a name in NAMED_KEYS), typed into the focused
        terminal as a person would: the browser's key events, through xterm.js."""
        await self.evaluate("window.__aiwfPage.terminal.focus()")
        if key in NAMED_KEYS:
            common: dict[str, Any] = {
                "key": key,
                "code": key,
                "windowsVirtualKeyCode": NAMED_KEYS[key],
            }
            text = {}
        else:
            code = f"Key{key.upper()}" if key.isalpha() else ""
            common = {"key": key, "code": code, "windowsVirtualKeyCode": ord(key.upper())}
            text = {"text": key}
        await self.call("Input.dispatchKeyEvent", type="keyDown", **common, **text)
        await self.call("Input.dispatchKeyEvent", type="keyUp", **common)


@asynccontextmanager
async def headless_chromium(profile: Path) -> AsyncIterator[Page]:
    """A fresh headless Chromium with its own profile dir; yields its first tab."""
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "DevToolsActivePort").unlink(missing_ok=True)  # a reused profile's old port
    argv = [
        chromium_binary(),
        "--headless=new",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--remote-debugging-port=0",  # it picks a free port and writes it to DevToolsActivePort
        f"--user-data-dir={profile}",
        "--window-size=1600,1000",
        "about:blank",
    ]
    if os.geteuid() == 0:  # Chromium refuses to run as root with its sandbox (CI containers)
        argv.insert(1, "--no-sandbox")
    log = (profile / "chromium.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        port = await _devtools_port(profile, process)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = json.loads(await response.text())
            page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            async with session.ws_connect(page_url, max_msg_size=0) as socket:
                yield Page(socket)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = (profile / "chromium.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"Chromium exited with {process.returncode}:\n{output}")
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        await asyncio.sleep(0.1)
    raise AssertionError("Chromium did not open its DevTools port within 60 s")
