"""The bad-document warnings' rules (pure logic, its own counter and clock): each key once,
at most one warning per WARNING_EVERY_SECONDS, only rejections after the watch began."""

from __future__ import annotations

from console.data.rejected import WARNING_EVERY_SECONDS, RejectedWatch
from engine.contract.documents import BadDocument, RejectedDocuments


def test_each_key_is_warned_about_once_and_warnings_are_spaced() -> None:
    rejected = RejectedDocuments()
    rejected.note(BadDocument("p:deployments[before]", "older"))
    now = [100.0]
    watch = RejectedWatch(rejected, clock=lambda: now[0])
    assert watch.take_warning() is None  # rejected before the console started
    rejected.note(BadDocument("p:deployments[a]", "Expected `bool`, got `str`"))
    first = watch.take_warning()
    assert first is not None and first.keys == ("p:deployments[a]",)
    assert "p:deployments[a]: Expected `bool`, got `str`" in first.text
    rejected.note(BadDocument("p:deployments[b]", "not JSON"))
    rejected.note(BadDocument("p:deployments[a]", "again"))
    assert watch.take_warning() is None  # too soon after the first
    now[0] += WARNING_EVERY_SECONDS
    second = watch.take_warning()
    assert second is not None and second.keys == ("p:deployments[b]",)  # a: warned already
    now[0] += WARNING_EVERY_SECONDS
    rejected.note(BadDocument("p:deployments[a]", "still bad"))
    assert watch.take_warning() is None
    assert watch.count == 4


def test_a_flood_is_one_warning_naming_three_keys_and_counting_the_rest() -> None:
    rejected = RejectedDocuments()
    watch = RejectedWatch(rejected, clock=lambda: 0.0)
    for number in range(500):
        rejected.note(BadDocument(f"p:flow_runs[r{number}]", "bad"))
    warning = watch.take_warning()
    assert warning is not None and len(warning.keys) == 3
    assert "... and 97 more keys (500 bad documents in all)" in warning.text  # 100 keys kept
    assert watch.take_warning() is None
    assert watch.count == 500
