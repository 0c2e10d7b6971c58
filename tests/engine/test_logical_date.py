"""The `{date:FMT}` resolver and the logical date rule: DST zones, `--date` forms, and the
errors `validate` gives for a bad template (file, line and key named)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.config.loader import load_deployment_file
from engine.contract.logical_date import (
    in_zone,
    parse_logical_date,
    render,
    template_errors,
    uses_logical_date,
)
from tests.engine.test_config import GOOD, write

NEW_YORK = "America/New_York"


def test_render_formats_every_template_in_nested_values() -> None:
    when = datetime(2026, 11, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    value = {
        "a": "s3://ai-data/production/{date:%Y-%m-%d}/batch.csv",
        "b": ["{date}", "{date:%Y/%m/%d %H%M}", "{state_dir}", "{other}", 3],
    }

    assert render(value, when) == {
        "a": "s3://ai-data/production/2026-11-01/batch.csv",
        "b": ["2026-11-01", "2026/11/01 0200", "{state_dir}", "{other}", 3],
    }
    assert uses_logical_date(value) and not uses_logical_date({"a": "{state_dir}", "b": [1]})


def test_a_fire_time_is_read_in_the_deployments_zone_across_dst() -> None:
    # 06:30 UTC on the spring-forward and the fall-back days in New York: the wall date
    # there is the day before (01:30 EST / 02:30 EDT would be wrong by an hour, not a day).
    spring = in_zone(datetime(2026, 3, 8, 6, 30, tzinfo=timezone.utc), NEW_YORK)
    fall = in_zone(datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc), NEW_YORK)

    assert spring.isoformat() == "2026-03-08T01:30:00-05:00"
    assert render("{date:%Y-%m-%d %H:%M %Z}", spring) == "2026-03-08 01:30 EST"
    assert fall.isoformat() == "2026-11-01T01:30:00-04:00"
    assert render("{date:%d %H %Z}", in_zone(datetime(2026, 11, 1, 6, 30), NEW_YORK)) == (
        "01 01 EST"
    )
    # A UTC instant late in the evening is already the next day in Shanghai.
    late = in_zone(datetime(2026, 10, 31, 20, 0, tzinfo=timezone.utc), "Asia/Shanghai")
    assert render("{date}", late) == "2026-11-01"


def test_date_values_are_midnight_in_the_zone_and_wall_times_in_a_gap_move_forward() -> None:
    assert parse_logical_date("2026-03-08", NEW_YORK).isoformat() == "2026-03-08T00:00:00-05:00"
    # 02:30 does not exist on 8 March 2026 in New York: it is read as 03:30 EDT.
    gap = parse_logical_date("2026-03-08T02:30", NEW_YORK)
    assert gap.isoformat() == "2026-03-08T03:30:00-04:00"
    # With an offset: that instant, shown in the zone.
    shown = parse_logical_date("2026-11-01T02:00+08:00", NEW_YORK)
    assert shown.isoformat() == "2026-10-31T14:00:00-04:00"
    with pytest.raises(ValueError, match="write YYYY-MM-DD"):
        parse_logical_date("yesterday", NEW_YORK)
    with pytest.raises(ValueError, match="'2026-13-01'"):
        parse_logical_date("2026-13-01", NEW_YORK)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("in/{date:%Y-%Q}.csv", "%Q is not a portable strftime directive"),
        ("in/{date:%Y-%}.csv", "a lone % at the end"),
        ("in/{date:}.csv", "has an empty format"),
        ("in/{date:%Y.csv", "is not a date template"),
        ("in/{date:{x}}.csv", "is not a date template"),
    ],
)
def test_bad_templates_are_named(text: str, says: str) -> None:
    problems = template_errors(text)
    assert len(problems) == 1 and says in problems[0], problems


def test_good_templates_have_no_errors() -> None:
    for text in ("{date}", "{date:%Y-%m-%d}", "x{date:%G-W%V %%}y", "{dated}", "{state_dir}"):
        assert template_errors(text) == [], text


def test_validate_names_file_line_and_key_of_a_bad_template(tmp_path: Path) -> None:
    bad = GOOD.replace('"{state_dir}/in.csv"', '"{state_dir}/{date:%Y-%q}/in.csv"')
    path = write(tmp_path, "bad.yaml", bad)
    spec, errors = load_deployment_file(path)
    assert spec is None and len(errors) == 1
    assert str(errors[0]).startswith(f"{path}:8: parameters.source: {{date:%Y-%q}}: %q is not")

    deployments = tmp_path / "deployments"
    deployments.mkdir()
    path.rename(deployments / "bad.yaml")
    validate = subprocess.run(
        [sys.executable, "-m", "engine", "validate", "--config", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert validate.returncode == 1
    assert f"{deployments / 'bad.yaml'}:8: parameters.source: {{date:%Y-%q}}" in validate.stderr


def test_a_dated_deployment_validates_and_keeps_its_template(tmp_path: Path) -> None:
    text = GOOD.replace('"{state_dir}/in.csv"', '"s3://ai-data/production/{date:%Y-%m-%d}/b.csv"')
    spec, errors = load_deployment_file(write(tmp_path, "ok.yaml", text))
    assert errors == [] and spec is not None
    resolved = spec.resolved_parameters(Path("/var/state"), Path("/etc/aiwf"))
    # {state_dir} is the engine's, expanded at registration; {date} is each run's.
    assert resolved["source"] == "s3://ai-data/production/{date:%Y-%m-%d}/b.csv"
    assert resolved["target"] == "/var/state/out"


def test_logical_date_cannot_be_fixed_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "fixed.yaml", GOOD + '  logical_date: "2026-11-01"\n')
    spec, errors = load_deployment_file(path)
    assert spec is None and len(errors) == 1
    assert "parameters.logical_date: is set per run" in str(errors[0])
