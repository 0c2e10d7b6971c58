"""Bad documents in Redis (not UTF-8, not JSON, wrong types) are skipped and counted: the
console shows everything else, and a good version of the same document still arrives."""

from __future__ import annotations

import redis

from console.data.store import RedisReader
from console.widgets.runs_table import RunsTable
from console.widgets.status_bar import StatusBar
from engine.contract.documents import REJECTED
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, fill_standard, flow_run_doc, wait_for


async def test_bad_documents_are_skipped_counted_and_repaired_by_a_good_one(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    bad = {
        "run-not-utf8": b'{"id": "run-not-utf8", "name": "\xff\xfe"}',
        "run-not-json": b"{this is not json",
        "run-wrong-type": b'{"id": "run-wrong-type", "run_count": "three"}',
    }
    for run_id, raw in bad.items():
        redis_client.hset(keys.flow_runs, run_id, raw)
        redis_client.zadd(keys.flow_runs_index, {run_id: at(-1).timestamp()})
    redis_client.hset(keys.deployments, "broken", b"\x80 not a deployment")
    before = REJECTED.count
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "the three good runs")
        assert REJECTED.count == before + 4
        assert f"{keys.flow_runs}[run-not-utf8]" in REJECTED.by_key
        assert "Expected `int`, got `str`" in REJECTED.by_key[f"{keys.flow_runs}[run-wrong-type]"]
        assert f"{keys.deployments}[broken]" in REJECTED.by_key
        assert set(app.store.deployments) == {"ai-inference-prod", "nightly-report"}
        # A bad update on the tail is skipped too; the good write after it is shown.
        redis_client.xadd(keys.updates, {"kind": "flow_run", "id": "x", "doc": b"\xff"})
        # The mirror reads the stored version first: bad, so it is counted and overwritten.
        mirror.upsert_flow_run(flow_run_doc("run-not-json", "fixed-fox", updated=at(0)))
        await wait_for(pilot, lambda: runs.row_count == 4, "the repaired run")
        assert app.store.flow_runs["run-not-json"].name == "fixed-fox"
        assert any(key.startswith(f"{keys.updates} ") for key in REJECTED.by_key)
        assert REJECTED.count == before + 6


def _warnings(app: object) -> list[str]:
    return [
        n.message
        for n in app._notifications  # type: ignore[attr-defined]
        if n.title == "Bad documents in Redis" and n.severity == "warning"
    ]


async def test_a_bad_document_is_warned_about_once_with_its_key_and_counted(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    redis_client.hset(keys.deployments, "broken", b'{"name": "broken", "paused": "maybe"}')
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: len(_warnings(app)) == 1, "the warning")
        (warning,) = _warnings(app)
        assert f"{keys.deployments}[broken]: Expected `bool`, got `str`" in warning
        await wait_for(pilot, lambda: "⚠ 1 bad document skipped" in bar.render().plain, "count")
        assert set(app.store.deployments) == {"ai-inference-prod", "nightly-report"}
        # Read again (a re-snapshot, another screen): counted again, not warned again.
        before = REJECTED.count
        reader = RedisReader(app.redis_url, keys)
        await reader.read_deployments()
        await reader.close()
        assert REJECTED.count == before + 1
        await wait_for(pilot, lambda: "⚠ 2 bad documents skipped" in bar.render().plain, "2")
        assert len(_warnings(app)) == 1  # tests/console/test_rejected_watch.py: the rules


async def test_many_bad_documents_make_few_warnings(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    for number in range(50):
        redis_client.hset(keys.deployments, f"broken-{number}", b"\xff not json")
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "⚠ 50 bad documents skipped" in bar.render().plain, "50")
        await wait_for(pilot, lambda: len(_warnings(app)) == 1, "the warning")
        (warning,) = _warnings(app)
        assert warning.count(f"{keys.deployments}[broken-") == 3
        assert "... and 47 more keys (50 bad documents in all)" in warning
        assert app.screen.query_one(RunsTable).row_count == 3  # the rest keeps working
