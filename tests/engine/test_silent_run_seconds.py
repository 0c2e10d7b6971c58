"""How long a served run may be silent before the leader takes it as lost."""

from __future__ import annotations

import logging

import pytest

from engine.serve.interrupted_runs import SILENT_SECONDS, SILENT_SECONDS_ENV, silent_seconds


def test_the_default_unless_the_operator_sets_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SILENT_SECONDS_ENV, raising=False)
    assert silent_seconds() == SILENT_SECONDS
    monkeypatch.setenv(SILENT_SECONDS_ENV, "250")
    assert silent_seconds() == 250.0


@pytest.mark.parametrize("configured", ["2m", "0", "30", "-5"])
def test_a_value_that_is_not_seconds_above_the_heartbeat_is_named_and_the_default_used(
    configured: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(SILENT_SECONDS_ENV, configured)
    with caplog.at_level(logging.WARNING):
        assert silent_seconds() == SILENT_SECONDS
    assert f"{SILENT_SECONDS_ENV}={configured!r} is not a number of seconds above 30" in caplog.text
