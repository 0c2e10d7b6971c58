"""A regex over a log chunk's joined text finds exactly the messages it finds one by one."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.logs.chunk_search import chunk_safe, matching_lines
from engine.contract.log_chunks import decode_chunk, encode_chunk

PATTERNS = [
    "a",
    "ab",
    "^a",
    "b$",
    "^$",
    "a.b",
    "(?s)a.b",
    "a\\sb",
    "a\\nb",
    "\\n",
    "x*",
    "\\bab\\b",
    "^a.*b$",
    "(?m)^b",
    "[^a]b",
    "B",
    "a|^$",
]
messages = st.lists(st.text(alphabet="ab x\n", max_size=8), min_size=1, max_size=30)


def chunk_of(texts: list[str]) -> bytes:
    return encode_chunk([f"{i + 1}-0" for i in range(len(texts))], texts)


@pytest.mark.parametrize("text", PATTERNS)
@settings(max_examples=150, deadline=None)
@given(texts=messages)
def test_a_chunk_matches_what_each_message_matches(text: str, texts: list[str]) -> None:
    pattern = re.compile(text, re.IGNORECASE if text.islower() else 0)
    assert chunk_safe(pattern)
    chunk = decode_chunk(chunk_of(texts))
    expected = [i for i, msg in enumerate(texts) if pattern.search(msg)]
    assert list(matching_lines(chunk, pattern)) == expected


def test_ids_and_lengths_come_back() -> None:
    chunk = decode_chunk(encode_chunk(["1-0", "1-1", "2-0"], ["one", "two\nlines", ""]))
    assert chunk.ids() == ["1-0", "1-1", "2-0"] and chunk.multiline
    assert chunk.starts() == [0, 4, 14]
    plain = decode_chunk(encode_chunk(["5-0", "6-0"], ["a", "b"]))
    assert not plain.multiline and plain.text == "a\nb"


@pytest.mark.parametrize("text", ["(?<=a)b", "(?<!a)b", "a(?=b)", "a(?!b)", "\\Aa", "b\\Z"])
def test_patterns_that_see_across_messages_are_not_run_on_chunks(text: str) -> None:
    assert not chunk_safe(re.compile(text))


def test_a_blob_that_is_not_a_chunk_is_refused() -> None:
    with pytest.raises(ValueError, match="not a log chunk"):
        decode_chunk(b"not zlib")
