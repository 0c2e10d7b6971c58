"""Why the Prefect API does not answer, as the heartbeat and the console say it: a real
Prefect client against a port nothing listens on, and against a server that never answers."""

from __future__ import annotations

import asyncio
import socket

from prefect.client.orchestration import PrefectClient

from engine.serve.prefect_health import prefect_problem


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_server_that_is_not_running_is_called_refused() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    async with PrefectClient(api=url) as client:
        problem = await prefect_problem(client, url, timeout=1.0)
    assert problem == (
        f"{url}/health failed: connection refused: nothing listens on 127.0.0.1:{port}"
    ), problem


async def test_a_server_that_accepts_but_never_answers_is_no_answer() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)  # the request, never answered
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    try:
        async with PrefectClient(api=url) as client:
            problem = await prefect_problem(client, url, timeout=1.0)
    finally:
        server.close()
    assert problem == f"{url}/health failed: no answer within 1 s", problem
