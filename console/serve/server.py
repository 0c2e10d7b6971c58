"""The web server of `aiwf-console serve`: textual-serve's, with each page's address in its
session's identity, and requests that come from another site refused."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from engine.contract.identity import CLIENT_ENV

log = logging.getLogger("textual-serve")

Handler = Any  # aiohttp's request handler type is private
QUIT_SECONDS = 10.0
"""How long a page's console may take to quit before it is killed."""


class SessionService(AppService):
    """One page's console process, told where its operator connects from."""

    def __init__(self, command: str, *, client: str, **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self.client = client

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment[CLIENT_ENV] = self.client
        return environment

    async def stop(self) -> None:
        """Asks the console to quit, and waits until it has (textual-serve stops reading
        it, not waiting for it): a console that does not quit in time is killed, so none
        outlives its page or the server."""
        await super().stop()
        process = self._process
        if process is None or process.returncode is not None:
            return
        try:
            await asyncio.wait_for(process.wait(), QUIT_SECONDS)
        except asyncio.TimeoutError:
            log.warning(
                "session %s did not quit in %.0f s: killed", self.app_service_id, QUIT_SECONDS
            )
            process.kill()
            await process.wait()


class ConsoleServer(Server):
    """Serves `command` (a console) to each page that opens, on `allowed` hosts only.

    Args:
        allowed: the `Host` values answered; also the hosts an `Origin` may name.
        mode: how sessions run, for the log ("read-only", "operating as web").
    """

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        public_url: str,
        allowed: frozenset[str],
        mode: str,
    ) -> None:
        super().__init__(command, host=host, port=port, title="aiwf console", public_url=public_url)
        self.allowed = allowed
        self.mode = mode
        self._sockets: set[web.WebSocketResponse] = set()
        """The pages connected now: closed on shutdown, which stops their consoles."""

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._same_site_only)
        return app

    @web.middleware
    async def _same_site_only(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # A page on another site may open a websocket to 127.0.0.1 in the operator's
        # browser (browsers allow it) or rebind its own name to it: both are refused here.
        host = request.host.lower()
        origin = request.headers.get("Origin")
        if host not in self.allowed:
            log.warning(
                "refused %s %s: Host %r is not served here", request.remote, request.path, host
            )
            raise web.HTTPForbidden(
                text=f"Host {host!r} is not served here: open {self.public_url}"
            )
        if origin is not None and urlsplit(origin).netloc.lower() not in self.allowed:
            log.warning("refused %s %s: Origin %r", request.remote, request.path, origin)
            raise web.HTTPForbidden(text=f"requests from {origin} are not accepted")
        response: web.StreamResponse = await handler(request)
        return response

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"Serving the aiwf console on {self.public_url} ({self.mode})")
        self.console.print("Press Ctrl+C to stop")

    async def on_shutdown(self, app: web.Application) -> None:
        # aiohttp waits for open handlers (up to a minute) before it stops: a page left open
        # would hold SIGTERM (systemctl stop) up. Closing its socket ends its console.
        for websocket in list(self._sockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's handler, with a SessionService that knows the page's address."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        client = f"browser {request.remote or '?'}"
        service: SessionService | None = None
        self._sockets.add(websocket)
        try:
            await websocket.prepare(request)
            service = SessionService(
                self.command,
                client=client,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            log.info("session %s opened from %s (%s)", service.app_service_id, client, self.mode)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            self._sockets.discard(websocket)
            if service is not None:
                await service.stop()
                log.info("session %s from %s closed", service.app_service_id, client)
        return websocket
