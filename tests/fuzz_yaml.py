"""Hypothesis strategies for the config-file fuzz tests: random bytes and text, YAML-ish
token soup, and valid documents with one thing broken (a value, a key, a line, the bytes).

Shared by tests/engine/test_fuzz_config.py and tests/console/test_fuzz_console_files.py.
Every fuzz test uses `fuzz(n)`: derandomized and without an example database, so CI runs the
same cases every time.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from engine.contract.checked_yaml import ConfigFileError

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(examples: int) -> settings:
    """`FUZZ` with this many examples (the fuzz files together run a few thousand)."""
    return settings(FUZZ, max_examples=examples)


NASTY_VALUES = (
    "",
    "~",
    "null",
    "yes",
    "no",
    "on",
    "1.10",
    "0x1F",
    "0o17",
    "1_000",
    "190:20:30",
    ".nan",
    "-.inf",
    "1e999",
    "-0",
    "9" * 5000,
    "2001-12-14",
    "2001-13-45",
    "2001-12-14t21:59:43.10-25:00",
    "!!bool maybe",
    "!!int ''",
    "!!int abc",
    "!!float x",
    "!!timestamp soon",
    "!!binary '%%%'",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a, b]",
    "!!omap [{a: 1}, {a: 2}]",
    "!!pairs [1]",
    "!!str",
    "!!map [1]",
    "!!seq {a: 1}",
    "!!null x",
    "!!merge x",
    "!custom x",
    "!!python/object/apply:os.system [echo hi]",
    "!!python/name:os.system",
    "!!python/object:__main__.X {a: 1}",
    "*undefined",
    "&a [*a]",
    "&a {k: *a}",
    "{<<: [1, 2]}",
    "{<<: *nowhere}",
    "{<<: {a: 1}, b: 2}",
    "[a, [b, [c]]]",
    "{a: {b: {c: d}}}",
    "[1, 2",
    "{a: 1",
    "'unterminated",
    '"\\ud800"',
    '"a\\x00b"',
    '"\\N\\_\\L\\P"',
    '"\\e\\a"',
    "|\n  block\n  text",
    ">-\n  folded",
    "? [complex]\n  : key",
    "- a\n- b",
    "a: b: c",
    "\t tab",
    "% directive",
    "---",
    "...",
    "\u00e9t\u00e9 \u2603 \U0001f600",
    "\u202e\u0301",
    "\ufeff",
    "'" + "x" * 3000 + "'",
    "[" * 60 + "]" * 60,
    "[" * 3000 + "]" * 3000,
    "{a: " * 80 + "1" + "}" * 80,
)
"""YAML values that have broken a loader somewhere, or look as if they could."""

_TOKENS = (
    "a",
    "name",
    "schedule",
    "cron",
    "keymap",
    "primary",
    "weights",
    ":",
    ": ",
    " ",
    "  ",
    "\n",
    "\n  ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&x ",
    "*x",
    "<<: ",
    "!!",
    "!!str ",
    "!!python/object:os.system ",
    "'",
    '"',
    "#",
    "? ",
    "|",
    ">",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "\t",
    "1",
    "0 0 30 2 *",
    "\u00e9",
    "\\u",
)


def _flow(value: object) -> str:
    """`value` as one line of flow YAML."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip().removesuffix("...")


_plain = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
_nested = st.recursive(
    _plain,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    ),
    max_leaves=12,
)

values = st.one_of(
    st.sampled_from(NASTY_VALUES),
    _nested.map(_flow),
    st.text(max_size=40).map(json.dumps),  # JSON strings are YAML: lone surrogates too
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.integers(min_value=0, max_value=4000).map(lambda n: "[" * n + "]" * n),
    st.floats().map(lambda f: "nan" if math.isnan(f) else repr(f)),
)
"""One YAML value, as the text that would follow `key: `."""

keys = st.one_of(
    st.sampled_from(("nam", "Name", "name ", "1", "null", "true", "<<", "? x", "a:b", "\u00e9")),
    st.text(min_size=1, max_size=12),
)

token_soup = st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join)
"""Text made of YAML's punctuation and this product's key names."""


@dataclass(frozen=True)
class Mutated:
    """A valid document with one thing changed."""

    data: bytes
    how: str
    """What was changed, for the failure message."""
    line: int | None
    """The 1-based line of the change when it is one line's value or key."""
    key: str
    """The dotted key whose value or name was changed; "" for other changes."""


def _dotted_keys(lines: list[str]) -> list[str]:
    """The dotted key each line defines ("" for a line that defines none)."""
    stack: list[tuple[int, str]] = []
    found = []
    for text in lines:
        match = re.match(r"^( *)([A-Za-z_][\w.]*):", text)
        if not match:
            found.append("")
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        found.append(".".join(name for _, name in stack))
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: str) -> Mutated:
    """`valid` (a YAML document of `key: value` lines) with one value, key, line or byte
    range changed."""
    lines = valid.splitlines()
    dotted = _dotted_keys(lines)
    keyed = [i for i, key in enumerate(dotted) if key]
    kind = draw(
        st.sampled_from(
            ("value", "value", "value", "key", "duplicate", "drop", "alias", "cut", "bytes")
        )
    )
    if kind in ("value", "key", "duplicate", "drop", "alias"):
        i = draw(st.sampled_from(keyed))
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        name = dotted[i].rsplit(".", 1)[-1]
        if kind == "value":
            fragment = draw(values)
            # A multi-line fragment continues under the key, indented one level more.
            fragment = fragment.replace("\n", "\n" + indent + "  ")
            lines[i] = f"{indent}{name}: {fragment}"
            return _done(lines, f"value of {dotted[i]}: {fragment!r}", i + 1, dotted[i])
        if kind == "key":
            new_key = draw(keys)
            rest = lines[i].split(":", 1)[1]
            lines[i] = f"{indent}{new_key}:{rest}"
            return _done(lines, f"key {dotted[i]} -> {new_key!r}", None, "")
        if kind == "duplicate":
            j = draw(st.integers(i, len(lines)))
            lines.insert(j, lines[i])
            return _done(lines, f"line {i + 1} repeated at {j + 1}", None, "")
        if kind == "drop":
            del lines[i]
            return _done(lines, f"line {i + 1} dropped", None, "")
        # alias: anchor one value, refer to it further down (often where it does not belong)
        later = [j for j in keyed if j > i]
        if not later:
            return _done(lines, "no line to alias", None, "")
        j = draw(st.sampled_from(later))
        lines[i] = re.sub(r":( |$)", ": &shared ", lines[i], count=1)
        lines[j] = re.sub(r":.*$", ": *shared", lines[j], count=1)
        return _done(lines, f"line {j + 1} aliases line {i + 1}", None, "")
    data = valid.encode("utf-8")
    at = draw(st.integers(0, len(data)))
    if kind == "cut":
        return Mutated(data[:at], f"cut at byte {at}", None, "")
    junk = draw(st.binary(min_size=1, max_size=8))
    return Mutated(data[:at] + junk + data[at:], f"bytes {junk!r} at {at}", None, "")


def _done(lines: list[str], how: str, line: int | None, key: str) -> Mutated:
    text = "\n".join(lines) + "\n"
    return Mutated(text.encode("utf-8", "surrogatepass"), how, line, key)


def documents(valid: str) -> st.SearchStrategy[bytes]:
    """Anything a file could hold: mostly `valid` broken once, some soup, some noise."""
    return st.one_of(
        mutated(valid).map(lambda m: m.data),
        mutated(valid).map(lambda m: m.data),
        mutated(valid).map(lambda m: m.data),
        token_soup.map(lambda t: t.encode("utf-8")),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.binary(max_size=300),
    )


def assert_well_formed(error: ConfigFileError, path: Path, data: bytes) -> None:
    """The documented shape: the file's path, a line inside the file (or none), and
    `path:line: key: message` as text."""
    assert isinstance(error, ConfigFileError), error
    assert error.path == path, error
    assert error.message.strip(), error
    assert "\n" not in str(error) and "<unicode string>" not in error.message, error
    lines = data.count(b"\n") + 1
    assert error.line is None or 1 <= error.line <= lines + 1, (error, lines)
    where = f"{path}:{error.line}" if error.line is not None else str(path)
    what = f"{error.key}: {error.message}" if error.key else error.message
    assert str(error) == f"{where}: {what}"


def assert_points_at(errors: list[ConfigFileError], change: Mutated) -> None:
    """When one value was changed and the file was refused, some error names that value's
    key at its line (or is about the whole file: broken YAML, too deep, too big)."""
    if not errors or change.line is None:
        return
    top = change.key.split(".")[0]
    assert any(
        error.key == ""
        or (error.key.split(".")[0] == top and (error.line or 0) >= change.line)
        or error.key.startswith(top)
        for error in errors
    ), (change.how, [str(e) for e in errors])
