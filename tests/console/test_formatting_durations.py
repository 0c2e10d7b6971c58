"""A flow run's duration: the latest attempt, and the total across attempts (pure logic)."""

from __future__ import annotations

from console.text.formatting import RunDurations, format_run_duration, run_durations
from tests.console.conftest import NOW, as_run, at, flow_run_doc


def test_a_first_attempt_has_one_figure() -> None:
    done = flow_run_doc("r", "n", state="COMPLETED", start=at(-10), end=at(-5))
    assert run_durations(as_run(done), NOW) == RunDurations(300.0, 300.0)
    assert format_run_duration(run_durations(as_run(done), NOW)) == "5m 00s"
    running = flow_run_doc("r", "n", start=at(-2))
    assert format_run_duration(run_durations(as_run(running), NOW)) == "2m 00s"


def test_a_retry_shows_the_latest_attempt_and_the_total() -> None:
    # First attempt a day ago (3 min), retried 10 min ago, ended 8 min ago.
    doc = flow_run_doc(
        "r",
        "n",
        state="FAILED",
        start=at(-24 * 60),
        end=at(-8),
        run_count=2,
        attempt_start=at(-10),
        total=300.0,
    )
    durations = run_durations(as_run(doc), NOW)
    assert durations == RunDurations(120.0, 300.0)
    assert durations.for_chart == 120.0  # not the day since the first start
    assert format_run_duration(durations) == "2m 00s (Σ 5m 00s)"


def test_a_running_retry_adds_its_time_so_far_to_the_total() -> None:
    doc = flow_run_doc("r", "n", start=at(-60), run_count=2, attempt_start=at(-1), total=180.0)
    assert run_durations(as_run(doc), NOW) == RunDurations(60.0, 240.0)
    assert format_run_duration(run_durations(as_run(doc), NOW)) == "1m 00s (Σ 4m 00s)"


def test_between_attempts_and_unknown_attempts_show_the_total_only() -> None:
    waiting = flow_run_doc(
        "r", "n", state="SCHEDULED", state_name="AwaitingRetry", start=at(-30), total=90.0
    )
    waiting["run_count"] = 2
    waiting["attempt_start_time"] = None
    assert run_durations(as_run(waiting), NOW) == RunDurations(None, 90.0)
    assert format_run_duration(run_durations(as_run(waiting), NOW)) == "— (Σ 1m 30s)"
    # An older engine's retried run: no attempt start, so no claim about the latest attempt.
    old = flow_run_doc("r", "n", state="COMPLETED", start=at(-30), end=at(-1), run_count=3)
    del old["attempt_start_time"]
    assert run_durations(as_run(old), NOW).latest is None
    assert run_durations(as_run(old), NOW).for_chart == 29 * 60.0


def test_a_run_that_never_ran_has_no_duration() -> None:
    doc = flow_run_doc("r", "n", state="CANCELLED", start=None)
    assert run_durations(as_run(doc), NOW) == RunDurations(None, None)
    assert format_run_duration(run_durations(as_run(doc), NOW)) == "—"
