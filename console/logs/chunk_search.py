"""A regex over one log chunk's whole text at once, mapped back to the lines it matched.

One `search` call over ~10,000 joined messages costs what `grep` does; one per message
would cost a million Python calls for a million lines. The joined text differs from a
single message only at the newlines between them, so the pattern runs with MULTILINE
(`^`/`$` then hold at each message's start and end, as they do on the message alone), and
a match that runs over a message's end, or lands in a message with newlines of its own,
is tried again on that message alone. Patterns that could see across the join (lookaround,
`\\A`, `\\Z`) are not run this way at all (`chunk_safe`): their search reads entry by entry.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

from engine.contract.log_chunks import LogChunk

_SEES_ACROSS = re.compile(r"\(\?<?[=!]|\\[AZ]")


def chunk_safe(pattern: re.Pattern[str]) -> bool:
    """Whether a match over a chunk's joined text says what a match per message says."""
    return _SEES_ACROSS.search(pattern.pattern) is None


def matching_lines(chunk: LogChunk, pattern: re.Pattern[str]) -> Iterator[int]:
    """The numbers (0 first) of the chunk's messages that `pattern` finds, in order."""
    joined = re.compile(pattern.pattern, pattern.flags | re.MULTILINE)
    text = chunk.text
    if chunk.multiline:
        yield from _multiline_matches(text, chunk.starts(), joined, pattern)
        return
    pos = number = counted_to = 0
    end_of_text = len(text)
    while (match := joined.search(text, pos)) is not None:
        at = match.start()
        number += text.count("\n", counted_to, at)
        counted_to = at
        end = text.find("\n", at)
        if end < 0:
            end = end_of_text
        if match.end() <= end or pattern.search(text[text.rfind("\n", 0, at) + 1 : end]):
            yield number
        if end >= end_of_text:
            return
        pos = end + 1


def _multiline_matches(
    text: str, starts: list[int], joined: re.Pattern[str], pattern: re.Pattern[str]
) -> Iterator[int]:
    """As `matching_lines`, every candidate tried on its message alone."""
    pos = 0
    while (match := joined.search(text, pos)) is not None:
        number = bisect_right(starts, match.start()) - 1
        start = starts[number]
        end = starts[number + 1] - 1 if number + 1 < len(starts) else len(text)
        if pattern.search(text[start:end]):
            yield number
        if end >= len(text):
            return
        pos = end + 1
