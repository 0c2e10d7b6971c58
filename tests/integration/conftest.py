"""The whole stack, real: private Redis, local Prefect server and `aiwf-engine run`.

Started once per session by the product's own launcher on a copy of the bundled config,
with the state dir in a temp folder.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

from engine.config.estate import ESTATE_FILE
from engine.contract.command_client import CommandClient
from engine.contract.commands import CommandResult
from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.contract.paths import bundled_config_dir
from engine.pipeline.sample_data import ensure_demo_input
from engine.pipeline.tasks import RETRY_DELAY_ENV
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 60, what: str = "condition") -> T:
    """Polls `check` until it returns something truthy; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


TEST_RETRY_DELAY = 10
"""load_raw_data's retry delay in the tests' engines (the product's default is 30 s): the
tests that wait out a retry wait a third as long."""
TEST_ENGINE_ENV = {RETRY_DELAY_ENV: str(TEST_RETRY_DELAY)}

SESSION_ESTATE_YAML = "deployments: []  # only the session engine's own deployments\n"


ENGINE_LOG_LINES_ON_FAILURE = 60


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that used the session's stack gets the last lines of its engine's log
    in the report: CI prints no teardown output, and a failure there (a run not mirrored in
    time) is otherwise told only by the assertion."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    dirs = getattr(item, "funcargs", {}).get("stack_dirs")  # set up for the test: it used it
    if report.when != "call" or not report.failed or dirs is None:
        return
    log = Path(dirs[0]) / "engine.log"
    if log.exists():
        tail = log.read_text(errors="replace").splitlines()[-ENGINE_LOG_LINES_ON_FAILURE:]
        report.sections.append((f"last lines of {log}", "\n".join(tail)))


@pytest.fixture(scope="session")
def stack_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    state = tmp_path_factory.mktemp("st")
    config = state / "config"
    shutil.copytree(bundled_config_dir(), config)
    # Tests in this process register deployments of their own engines on the session's
    # Prefect; listed in the session engine's estate they would shift the rows the console
    # tests move the cursor over. test_estate.py writes its own filter and puts this back.
    (config / ESTATE_FILE).write_text(SESSION_ESTATE_YAML)
    ensure_demo_input(state)
    return state, config


@pytest.fixture(scope="session")
def stack(stack_dirs: tuple[Path, Path]) -> Iterator[EmbeddedStack]:
    state, config = stack_dirs
    stack = EmbeddedStack(state, config, DEFAULT_PREFIX, engine_env=TEST_ENGINE_ENV)
    stack.start(progress=print)
    yield stack
    stack.stop()
    for name in ("engine.log",):
        log = state / name
        if log.exists():
            print(f"--- last lines of {log} ---")
            print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))


@pytest.fixture(scope="session")
def stack_keys() -> Keys:
    return Keys(DEFAULT_PREFIX)


@pytest.fixture
def stack_redis(stack: EmbeddedStack) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(stack.redis_url)
    yield client
    client.close()


@pytest.fixture
def mirror(stack_redis: redis.Redis, stack_keys: Keys) -> RedisMirror:
    return RedisMirror(stack_redis, stack_keys)


@pytest.fixture
def commands(stack_redis: redis.Redis, stack_keys: Keys) -> CommandClient:
    return CommandClient(stack_redis, stack_keys)


@pytest.fixture
async def prefect_client(stack: EmbeddedStack) -> AsyncIterator[Any]:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api=stack.api_url) as client:
        yield client


def never_due_config(root: Path, name: str) -> Path:
    """`root/config` with one deployment of its own, `name` (the canary's pipeline), due
    once a year: nothing but a test's commands touches it."""
    config = root / "config"
    (config / "deployments").mkdir(parents=True)
    bundled = bundled_config_dir()
    (config / "models").symlink_to(bundled / "models")
    text = (bundled / "deployments" / "ai-inference-canary.yaml").read_text()
    text = text.replace("name: ai-inference-canary", f"name: {name}")
    text = text.replace('cron: "30 9 * * 1-5"', 'cron: "0 0 1 1 *"')
    (config / "deployments" / f"{name}.yaml").write_text(text)
    return config


def send_and_wait(
    commands: CommandClient,
    action: str,
    target: str,
    params: dict[str, Any] | None = None,
    timeout: float = 60,
) -> CommandResult:
    """The command's final result: past a cancel's `cancelling` one (tests that look at that
    one call `commands.wait` themselves)."""
    command = commands.send(action, target, params)
    result = commands.wait_final(command.id, timeout)
    assert result is not None, f"no result for {action} {target} within {timeout}s"
    assert result.final, f"{action} {target} still {result.status} after {timeout}s"
    return result


def wait_run_final(mirror: RedisMirror, run_id: str, timeout: float = 90) -> dict[str, Any]:
    from engine.contract.documents import FINAL_STATE_TYPES

    def final() -> dict[str, Any] | None:
        doc = mirror.read_flow_run(run_id)
        return doc if doc and doc["state_type"] in FINAL_STATE_TYPES else None

    return wait_for(final, timeout, f"flow run {run_id} to finish")


def audit_end(client: redis.Redis, keys: Keys) -> str:
    """The id of the audit trail's newest entry ("0-0" if it has none): where a test that
    sends a command starts looking for its entry."""
    newest: Any = client.xrevrange(keys.audit, count=1)
    return newest[0][0].decode() if newest else "0-0"


def triggered_run(client: redis.Redis, keys: Keys, deployment: str, after: str) -> str | None:
    """The run that a trigger of `deployment` audited after entry `after` created, if one
    was: how a test that triggers from the keyboard knows its run. A new row or a new run
    in Redis does not say which: the runs table pages in older runs, and the live test saw
    two of the deployment's runs new in Redis after one key (on the session stack, which
    earlier tests empty, refill and reconcile)."""
    entries: Any = client.xrange(keys.audit, min=f"({after}")
    for _, fields in entries:
        if (
            fields[b"action"] == b"trigger"
            and fields[b"target"] == deployment.encode()
            and fields[b"status"] == b"ok"
        ):
            return str(fields[b"flow_run_id"].decode())
    return None


def feed_fifo(fifo: Path, data: bytes) -> threading.Thread:
    """Writes `data` into the FIFO once a reader opens it (opening blocks until then): how
    a test holds a run Running on its input and then lets it finish."""

    def write() -> None:
        with fifo.open("wb") as sink:
            sink.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread
