"""Passwords in Redis and Prefect URLs never reach the screen, stderr or the log (issue 9
item 6): the one redaction helper, and `aiwf-engine` run as a user runs it."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
import redis

from engine.contract.redact import RedactingFormatter, redact_text, redact_url
from tests.secret_urls import PASSWORD, password_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw1@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://ana:p%40ss@h:6380", "rediss://ana:***@h:6380"),
        ("unix://ana:pw@/run/redis.sock", "unix://ana:***@/run/redis.sock"),
        ("http://admin:pw@10.0.0.1:4200/api", "http://admin:***@10.0.0.1:4200/api"),
        ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
        ("redis://h:6379", "redis://h:6379"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
        ("redis://ana@h", "redis://ana@h"),
        ("not a url", "not a url"),
    ],
)
def test_a_url_keeps_everything_but_its_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_every_url_inside_a_text_is_redacted() -> None:
    text = "cannot reach redis://:a1@h:1 (or http://u:b2@p:4200/api): refused"
    assert (
        redact_text(text) == "cannot reach redis://:***@h:1 (or http://u:***@p:4200/api): refused"
    )


def test_the_log_formatter_redacts_messages_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ConnectionError("at redis://:tb-secret@h:1")
    except ConnectionError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "url %s", ("redis://:msg-secret@h",), sys.exc_info()
        )
    shown = formatter.format(record)
    assert "tb-secret" not in shown and "msg-secret" not in shown
    assert shown.count(":***@") == 3  # the message, the source line, the exception


def test_the_engine_cli_never_prints_the_password(
    redis_client: redis.Redis, redis_url: str
) -> None:
    url = password_url(redis_client, redis_url).replace(PASSWORD, PASSWORD + "-wrong")
    done = subprocess.run(
        [sys.executable, "-m", "engine", "trigger", "ai-inference-prod", "--redis-url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    # The wrong password is a refused login, named with the URL (redacted) and what to check.
    assert "error: Redis at unix://tester-" in done.stderr
    assert "refused the login" in done.stderr
    assert ":***@" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
