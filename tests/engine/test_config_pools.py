"""`work_pool` and `work_queue` in a deployment file: read, and refused with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.loader import load_deployment_file
from tests.engine.test_config import GOOD, only_error, write


def test_pool_and_queue_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", GOOD + "work_pool: gpu-hosts\nwork_queue: nightly\n")
    spec, errors = load_deployment_file(path)
    assert errors == []
    assert spec is not None
    assert (spec.work_pool, spec.work_queue) == ("gpu-hosts", "nightly")


def test_without_a_pool_the_engine_serves_it(tmp_path: Path) -> None:
    spec, errors = load_deployment_file(write(tmp_path, "d.yaml", GOOD))
    assert errors == [] and spec is not None
    assert (spec.work_pool, spec.work_queue) == ("", "")


@pytest.mark.parametrize(
    ("value", "shown"),
    [('"a/b"', "'a/b'"), ("''", "''"), ("3", "3"), ("[x]", "['x']")],
)
def test_a_bad_pool_name_is_an_error_at_its_line(tmp_path: Path, value: str, shown: str) -> None:
    path = write(tmp_path, "d.yaml", GOOD + f"work_pool: {value}\n")
    error = only_error(path)
    assert (error.path, error.line, error.field) == (path, GOOD.count("\n") + 1, "work_pool")
    assert "must be a Prefect work pool name" in error.message
    assert f"got {shown}" in error.message


def test_a_queue_without_a_pool_is_an_error_naming_what_to_add(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", GOOD + "work_queue: nightly\n")
    error = only_error(path)
    assert (error.line, error.field) == (GOOD.count("\n") + 1, "work_queue")
    assert "add `work_pool: NAME`" in error.message


def test_a_misspelt_key_suggests_work_pool(tmp_path: Path) -> None:
    error = only_error(write(tmp_path, "d.yaml", GOOD + "work_pol: gpu\n"))
    assert "work_pool" in error.message
