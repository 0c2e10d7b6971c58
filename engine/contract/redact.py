"""Hides passwords in URLs (Redis, Prefect) wherever the product prints, logs or draws one."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
"""What a password is replaced with."""

_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")
"""`scheme://user:PASSWORD@` (or `scheme://:PASSWORD@`) inside any text."""
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|pass|pwd)=)[^&\s#]+", re.IGNORECASE)
"""redis-py also takes `?password=...` in the query."""


def redact_url(url: str) -> str:
    """`url` with its password, if any, replaced by `***` (user, host, path kept)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL we can take apart: fall back to the text rule
        return redact_text(url)
    if password is None or "@" not in parts.netloc:
        return redact_text(url)
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    netloc = f"{user}:{MASK}@{host}"
    return redact_text(urlunsplit(parts._replace(netloc=netloc)))


def redact_text(text: str) -> str:
    """Every URL password inside `text` (an error message, a log line) replaced by `***`."""
    text = _CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}@", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)


class RedactingFormatter(logging.Formatter):
    """A log formatter that redacts URL passwords from the whole record, traceback included
    (a library's error may quote the URL it was given)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))
