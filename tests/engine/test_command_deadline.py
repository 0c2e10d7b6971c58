"""A command's deadline as the stream carries it (pure logic; the engine's refusal is in
tests/integration/test_command_deadline.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.contract.commands import DEFAULT_DEADLINE_SECONDS, Command

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def test_a_new_command_expires_a_few_minutes_after_it_is_sent() -> None:
    command = Command("pause", "prod")
    deadline = datetime.fromisoformat(command.deadline)
    sent = datetime.fromisoformat(command.sent_at)
    assert (deadline - sent).total_seconds() == pytest.approx(DEFAULT_DEADLINE_SECONDS, abs=1)
    assert Command.from_fields(command.to_fields()).deadline == command.deadline


def test_expiry_is_strictly_after_the_deadline() -> None:
    command = Command("pause", "prod", deadline=NOW.isoformat())
    assert not command.expired(NOW)
    assert command.expired(NOW + timedelta(microseconds=1))


def test_a_command_without_a_deadline_field_never_expires() -> None:
    fields = Command("pause", "prod").to_fields()
    del fields["deadline"]
    command = Command.from_fields(fields)
    assert command.deadline == ""
    assert not command.expired(NOW + timedelta(days=3650))


@pytest.mark.parametrize(
    ("value", "why"),
    [("tomorrow", "is not an ISO time"), ("2026-11-25T08:00:00", "has no UTC offset")],
)
def test_a_bad_deadline_is_named(value: str, why: str) -> None:
    fields = Command("pause", "prod").to_fields() | {"deadline": value}
    with pytest.raises(ValueError, match=f"field 'deadline' {why}"):
        Command.from_fields(fields)
