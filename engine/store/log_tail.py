"""The lines a mirror appended since a run's last log chunk, kept so the chunk is built
without reading them back.

Reading a chunk's 10,000 lines back from the stream (`LOG_FIELDS_SCRIPT`) cost Redis ~9 µs
a line, as much again as appending them, and held the bridge under 50,000 lines a second.
The append script answers the IDs it gave; with the messages already in hand, the mirror
keeps each run's unchunked lines here and closes the chunk from them.

The stream stays the truth: a tail is used only while it is exactly what the chunk hash
says is pending (the same count, after the same last chunked ID). Anything else (an engine
restarted mid-chunk, another engine that led meanwhile, a trim) reads the lines back as
before. Memory is bounded (`TAIL_TEXT_MAX`): past it, the largest tails go, and those runs'
chunks are read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.contract.log_chunks import CHUNK_LINES, CHUNK_MAX_TEXT, FIELD, RECORD

READ_PAGE = 2_500
"""Entries read back per Lua call while closing a chunk; a tail closes its chunk at the
same page boundaries, so a chunk holds the same lines whichever way it was built."""
TAIL_TEXT_MAX = 32 * 1024 * 1024
"""Characters of message text kept in all tails together (~32 MB of the engine's memory)."""

_AS_SPACES = str.maketrans({RECORD: " ", FIELD: " "})


def as_read_back(message: str) -> str:
    """`message` as the read-back script gives it: its separators as spaces, and (the
    script's reply decoded with "replace") bytes that are no UTF-8 as U+FFFD."""
    if not message.isascii():
        try:
            data = message.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate no codec writes: stored as its own
            data = message.encode("utf-8", "surrogatepass")
        message = data.decode("utf-8", "replace")
    if RECORD in message or FIELD in message:
        message = message.translate(_AS_SPACES)
    return message


@dataclass
class Tail:
    """One run's lines after the chunk that ended at `after` ("-": no chunk yet)."""

    after: str
    ids: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    text: int = 0
    """Characters of `messages`."""

    def extend(self, ids: list[str], messages: list[str]) -> None:
        self.ids.extend(ids)
        self.messages.extend(messages)
        self.text += sum(map(len, messages))

    def next_chunk(self) -> int:
        """How many of the first lines the next chunk takes: pages of READ_PAGE until
        CHUNK_LINES lines or CHUNK_MAX_TEXT characters, as the read-back takes them; 0 if
        the tail does not make a whole chunk yet."""
        taken = size = 0
        while taken < CHUNK_LINES and size < CHUNK_MAX_TEXT:
            page = self.messages[taken : taken + min(READ_PAGE, CHUNK_LINES - taken)]
            if not page:
                return 0
            size += sum(map(len, page))
            taken += len(page)
        return taken

    def drop_first(self, count: int) -> None:
        self.text -= sum(map(len, self.messages[:count]))
        self.after = self.ids[count - 1]
        del self.ids[:count]
        del self.messages[:count]


@dataclass
class Tails:
    """Every run's tail, within TAIL_TEXT_MAX."""

    limit: int = TAIL_TEXT_MAX
    _tails: dict[str, Tail] = field(default_factory=dict)
    _text: int = 0

    def appended(
        self, run_id: str, after: str, pending: int, ids: list[str], messages: list[str]
    ) -> None:
        """`ids` and `messages` were just appended, and `pending` lines now wait for a chunk
        that follows `after`. The tail keeps them if it held every line before them."""
        tail = self._tails.get(run_id)
        before = pending - len(ids)
        if tail is None or tail.after != after or len(tail.ids) != before:
            self.forget(run_id)
            if before != 0:
                return  # lines this mirror did not append wait too: read back
            tail = self._tails[run_id] = Tail(after)
        self._text -= tail.text
        tail.extend(ids, [as_read_back(m) for m in messages])
        self._text += tail.text
        self._keep_limit()

    def for_chunk(self, run_id: str, after: str, pending: int) -> Tail | None:
        """The run's tail if it is exactly the `pending` lines after `after`."""
        tail = self._tails.get(run_id)
        if tail is not None and tail.after == after and len(tail.ids) == pending:
            return tail
        self.forget(run_id)
        return None

    def chunked(self, run_id: str, count: int) -> None:
        """The first `count` lines of the run's tail are in a chunk now."""
        tail = self._tails[run_id]
        self._text -= tail.text
        tail.drop_first(count)
        self._text += tail.text

    def read_back(self, run_id: str, after: str, ids: list[str], messages: list[str]) -> None:
        """A chunk read back ended at `after`; `ids`/`messages` are the lines pending after
        it (the end of the last append): they start the run's tail again."""
        self.forget(run_id)
        tail = self._tails[run_id] = Tail(after)
        tail.extend(ids, [as_read_back(m) for m in messages])
        self._text += tail.text
        self._keep_limit()

    def forget(self, run_id: str) -> None:
        tail = self._tails.pop(run_id, None)
        if tail is not None:
            self._text -= tail.text

    @property
    def text(self) -> int:
        return self._text

    def _keep_limit(self) -> None:
        while self._text > self.limit and self._tails:
            largest = max(self._tails, key=lambda run: self._tails[run].text)
            self.forget(largest)
