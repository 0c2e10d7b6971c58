"""Redis URLs with a real password, for the tests that check passwords never show."""

from __future__ import annotations

import uuid

import redis

PASSWORD = "s3cret-pw-7Qx"
"""Distinctive, so a leak anywhere is found by a plain substring search."""


def password_url(client: redis.Redis, socket_url: str, password: str = PASSWORD) -> str:
    """`socket_url` (`unix:///path`) as a URL of a new ACL user whose password is `password`:
    a real login, so the product gets to show the URL of a working connection."""
    user = f"tester-{uuid.uuid4().hex[:8]}"
    client.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{PASSWORD}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all"],
    )
    return socket_url.replace("unix://", f"unix://{user}:{password}@", 1)
