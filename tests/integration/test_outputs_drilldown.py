"""Data drill-down on the real stack: the flow records each partition's schema as the parquet
files have it, and the console's outputs screen flags a changed schema and a row drop
against the deployment's previous completed run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from console.app import ConsoleApp
from console.screens.outputs import OutputsScreen
from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.contract.partitions import partition_name
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for
from tests.integration.conftest import send_and_wait, wait_run_final
from tests.integration.conftest import wait_for as wait_until
from tests.integration.test_lineage import CANARY

pytestmark = pytest.mark.integration


def run_to_completion(
    commands: CommandClient, mirror: RedisMirror, source: Path, target: Path
) -> dict[str, Any]:
    result = send_and_wait(
        commands, "trigger", CANARY, {"source": str(source), "target": str(target)}
    )
    assert result.ok, result.message
    run = wait_run_final(mirror, result.flow_run_id)
    assert run["state_type"] == "COMPLETED", run["state_message"]
    doc: dict[str, Any] = wait_until(lambda: mirror.read_lineage(run["id"]), 30, "lineage")
    return doc


async def test_outputs_screen_flags_schema_change_and_row_drop(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    tmp_path: Path,
) -> None:
    state, _ = stack_dirs
    header, *lines = ensure_demo_input(state).read_text().splitlines()
    first_day = lines[0].split(",")[1][:10]
    full = tmp_path / "full.csv"
    full.write_text("\n".join([header, *lines]) + "\n")
    # 300 rows of the first day only, with one more column: fewer rows, new schema.
    day = [line for line in lines if line.split(",")[1].startswith(first_day)]
    small = tmp_path / "small.csv"
    small.write_text("\n".join([header + ",region", *(f"{x},eu" for x in day[:300])]) + "\n")

    before = run_to_completion(commands, mirror, full, tmp_path / "out1")
    after = run_to_completion(commands, mirror, small, tmp_path / "out2")

    # The recorded schema is the parquet files' own (the partition column lives in the path).
    for output in after["outputs"]:
        files = list(Path(output["path"]).glob("*.parquet"))
        schema = pq.read_schema(files[0])
        assert output["schema"] == {f.name: str(f.type) for f in schema if f.name != "date"}
    assert after["outputs"][0]["schema"]["region"].endswith("string")  # pandas: large_string
    assert "region" not in before["outputs"][0]["schema"]

    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: after["flow_run_id"] in app.store.flow_runs, "run", 20)
        screen = OutputsScreen(app.ctx, after["flow_run_id"])
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.comparison is not None, "the comparison", 20)
        comparison = screen.comparison
        assert comparison is not None and comparison.previous is not None
        assert comparison.previous.flow_run_id == before["flow_run_id"]
        (diff,) = comparison.partitions
        assert diff.partition == f"date={first_day}" == partition_name(after["outputs"][0]["path"])
        assert diff.rows == 300 and diff.previous_rows == 1000
        assert diff.flags == ("schema changed", "rows down 70%")
        assert comparison.flags == ("schema changed", "rows down 90%")
        cells = [str(c) for c in screen.table.get_row(diff.partition)]
        assert cells[-1] == "⚠ schema changed, rows down 70%"
        schema_text = str(screen.query_one("#outputs-schema").render())
        assert "+ region" in schema_text
