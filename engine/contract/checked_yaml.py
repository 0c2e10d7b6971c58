"""Checked YAML: one strict loader for the files operators edit by hand.

Deployments, models, console settings and user themes all read through here, so every one
of them reports problems the same way: `path:line: key: message`, with the line taken from
the YAML node tree (`yaml.compose`), never guessed. What YAML would accept silently is an
error here: a key given twice (YAML keeps the last), an unknown key (suggesting the closest
known one), a value of the wrong type, and aliases that expand into a huge document (an
"alias bomb" of a few hundred bytes can otherwise take seconds to walk). Whatever the bytes,
reading a file gives a `CheckedFile` with errors, never an exception: nesting is bounded (no
RecursionError), and a value YAML cannot build (`!!bool maybe`, `2001-13-45`) is an error at
its line.

Light on purpose (stdlib + PyYAML): the console and themes import it.
Each caller keeps its own domain rules (valid cron lines, colours, ...) on top.
"""

from __future__ import annotations

import difflib
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.reader import ReaderError

from engine.contract.bounded_yaml import (
    MAX_DEPTH,
    TOO_DEEP,
    TOO_DEEP_BY_ALIASES,
    BoundedConstructor,
    BoundedLoader,
    NestedTooDeep,
    encodable,
    problem_of,
)

MAX_EXPANDED_NODES = 10_000
"""How many nodes a file may hold once its aliases are expanded. Hand-written config files
have a few hundred; the limit only stops documents built to blow up."""
MAX_FILE_BYTES = 1_000_000
"""Hand-written config files are a few KB; a bigger file is not one (or is a mistake)."""

_TYPE_WORDS: dict[type, str] = {
    bool: "true or false",
    str: "a string",
    int: "a whole number",
    float: "a number",
    list: "a list",
    dict: "a mapping",
}


@dataclass(frozen=True)
class ConfigFileError:
    """One problem in one file, phrased for the operator who has to fix it."""

    path: Path
    line: int | None
    """1-based; None when the problem has no line (empty file, unreadable file)."""
    key: str
    """Dotted key such as "schedule.cron", or "" for whole-file problems."""
    message: str
    """What is wrong and what to do about it."""

    @property
    def field(self) -> str:
        """The dotted key (the deployment loader's older name for it)."""
        return self.key

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self._what()}"

    def in_file(self) -> str:
        """The problem without the path: `line 2: primary: ...` (listed under the file)."""
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self._what()}"

    def _what(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


class ConfigFileInvalid(Exception):
    """A file has errors; `errors` lists every one of them, one per line of the message."""

    def __init__(self, errors: Sequence[ConfigFileError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = list(errors)


@dataclass
class Entry:
    """A mapping value with the lines needed to point at it."""

    key: str
    """Dotted, e.g. "schedule.cron"."""
    key_line: int
    value_line: int
    node: yaml.Node
    value: Any
    """The value as plain Python (str, int, list, dict, ...)."""


def suggest(word: str, known: Sequence[str], noun: str = "known") -> str:
    """`did you mean 'x'? (known: a, b)`, or just the known names when none is close."""
    close = difflib.get_close_matches(word, known, n=1)
    listed = ", ".join(known)
    return f"did you mean {close[0]!r}? ({noun}: {listed})" if close else f"{noun}: {listed}"


def type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


class CheckedFile:
    """One file being checked: its node tree, and every error found so far.

    Build it with `read_checked`; then walk mappings with `mapping` and check values with
    `expect`, adding domain errors with `error`. `sorted_errors` gives them in file order.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root: yaml.Node | None = None
        self.errors: list[ConfigFileError] = []
        self._constructor = BoundedConstructor()
        self._suggested: set[str] = set()
        self._duplicates: set[int] = set()
        """ids of key nodes that repeat an earlier key; already reported, skipped later."""

    def structure_ok(self, root: yaml.Node) -> bool:
        """Called by `read_checked`: reports repeated keys and text that is not text, and
        measures the document as if every alias were expanded (linear time: each node is
        measured once). False when it is too big or too deep that way, or refers to itself."""
        measured: dict[int, tuple[int, int]] = {}
        """id(node) -> (values, levels) once expanded."""
        in_progress: set[int] = set()

        def measure(node: yaml.Node, where: str, depth: int) -> tuple[int, int]:
            known = measured.get(id(node))
            if known is not None:
                if depth + known[1] - 1 > MAX_DEPTH:
                    raise _Unusable(node, TOO_DEEP_BY_ALIASES)
                return known
            if id(node) in in_progress:
                raise _Unusable(node, "an alias refers to the mapping or list that contains it")
            if depth > MAX_DEPTH:
                raise _Unusable(node, TOO_DEEP_BY_ALIASES)
            in_progress.add(id(node))
            total, below = 1, 0
            if isinstance(node, yaml.MappingNode):
                first_lines: dict[str, int] = {}
                for key_node, value_node in node.value:
                    name = str(key_node.value) if _is_plain_key(key_node) else ""
                    dotted = f"{where}{name}"
                    if name and name in first_lines:
                        self._duplicates.add(id(key_node))
                        self.error(
                            key_node.start_mark.line + 1,
                            dotted,
                            f"duplicate key (first at line {first_lines[name]}); "
                            "YAML would silently keep only the last one, so remove one of them",
                        )
                    elif name:
                        first_lines[name] = key_node.start_mark.line + 1
                    for child, child_where in ((key_node, where), (value_node, f"{dotted}.")):
                        values, levels = measure(child, child_where, depth + 1)
                        total, below = total + values, max(below, levels)
            elif isinstance(node, yaml.SequenceNode):
                for item in node.value:
                    values, levels = measure(item, where, depth + 1)
                    total, below = total + values, max(below, levels)
            elif not encodable(node.value):
                self.error(
                    node.start_mark.line + 1,
                    where.rstrip("."),
                    "holds an escape that is not a character (a lone surrogate such as \\ud800); "
                    "remove it or write the character itself",
                )
            in_progress.discard(id(node))
            if total > MAX_EXPANDED_NODES:
                raise _Unusable(
                    node,
                    f"holds more than {MAX_EXPANDED_NODES} values, counting each alias (*name) as "
                    "a copy of what it names; use fewer aliases or split the file",
                )
            measured[id(node)] = (total, below + 1)
            return total, below + 1

        try:
            measure(root, "", 1)
        except _Unusable as problem:
            self.error(problem.node.start_mark.line + 1, "", problem.message)
            return False
        return True

    def error(self, line: int | None, key: str, message: str) -> None:
        self.errors.append(ConfigFileError(self.path, line, key, message))

    def sorted_errors(self) -> list[ConfigFileError]:
        """Errors in line order; whole-file ones (no line) last."""
        return sorted(self.errors, key=lambda e: (e.line is None, e.line or 0))

    def already_explained(self, dotted: str) -> bool:
        """Whether an error already covers `dotted` (an error on it, or a typo of it that was
        answered with "did you mean"), so "required key is missing" would be noise."""
        return dotted in self._suggested or any(e.key == dotted for e in self.errors)

    def top(
        self, known: Sequence[str] | None, *, expected: str, empty: str | None
    ) -> dict[str, Entry] | None:
        """The entries of the document, which must be a mapping (see `mapping`).

        Args:
            expected: what the mapping holds, for the message, e.g. "keys (name, ...)".
            empty: the message for an empty file; None means an empty file is fine ({}).
        Returns None, with an error, when the file is unreadable, empty or not a mapping.
        """
        if self.root is None:
            if self.errors:
                return None  # unreadable or broken: already reported
            if empty is None:
                return {}
            self.error(None, "", empty)
            return None
        if not isinstance(self.root, yaml.MappingNode):
            kind = "a list" if isinstance(self.root, yaml.SequenceNode) else "a single value"
            self.error(
                self.root.start_mark.line + 1, "", f"must be a mapping of {expected}, got {kind}"
            )
            return None
        return self.mapping(self.root, "", known)

    def mapping(
        self, node: yaml.MappingNode, prefix: str, known: Sequence[str] | None
    ) -> dict[str, Entry]:
        """The entries of `node`; reports non-string and (if `known` is given) unknown keys.
        Entries that fail are left out; a repeated key keeps its first value (the repeat was
        reported when the file was read)."""
        entries: dict[str, Entry] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if id(key_node) in self._duplicates:
                continue
            if not _is_plain_key(key_node):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "(complex)"
                self.error(key_line, prefix.rstrip("."), f"key {shown!r} must be a plain name")
                continue
            key = str(key_node.value)
            dotted = prefix + key
            if known is not None and key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                self._suggested.update(prefix + c for c in close)
                self.error(key_line, dotted, f"unknown key; {suggest(key, known, 'known keys')}")
                continue
            try:
                value = self._constructor.construct_object(value_node, deep=True)
            except yaml.YAMLError as exc:
                self._constructor = BoundedConstructor()  # a failed build leaves half-built state
                mark = getattr(exc, "problem_mark", None)
                line = mark.line + 1 if mark is not None else key_line
                self.error(line, dotted, f"cannot read value: {problem_of(exc)}")
                continue
            entries[key] = Entry(
                dotted, key_line, value_node.start_mark.line + 1, value_node, value
            )
        return entries

    def sub_mapping(
        self, entry: Entry, must_be: str, known: Sequence[str] | None
    ) -> dict[str, Entry] | None:
        """The entries under `entry` (see `mapping`), or None with the error `must_be` on its
        value's line when it is not a mapping."""
        if not isinstance(entry.node, yaml.MappingNode):
            self.error(entry.value_line, entry.key, must_be)
            return None
        return self.mapping(entry.node, entry.key + ".", known)

    def expect(self, entry: Entry, wanted: type) -> Any:
        """`entry.value` if it has type `wanted` (bool, str, int, float, list or dict),
        else None with an error on the value's line. `true` is not a number here, and a
        whole number is fine where a number is wanted."""
        value = entry.value
        if has_type(value, wanted):
            return value
        if value is None:
            shown = "null (nothing)"
        else:
            # `not 'maybe'` says enough for true/false; elsewhere the type is the news.
            shown = repr(value) if wanted is bool else f"{type_name(value)} {value!r}"
        self.error(entry.value_line, entry.key, f"must be {_TYPE_WORDS[wanted]}, not {shown}")
        return None


def has_type(value: object, wanted: type) -> bool:
    # bool is an int subclass; `retries: true` for a number is a mistake, not 1.
    if wanted is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if wanted is float:
        return isinstance(value, (int, float))
    return isinstance(value, wanted)


def _is_plain_key(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str")


def read_checked(path: Path) -> CheckedFile:
    """Reads and parses `path` into a `CheckedFile`.

    Unreadable bytes, broken YAML, duplicate keys (at any depth) and alias bombs become
    errors; `root` is the document's node, None for an empty or unusable file.
    """
    check = CheckedFile(path)
    text = _read_text(check)
    if text is None:
        return check
    try:
        root = yaml.compose(text, Loader=BoundedLoader)
    except NestedTooDeep as exc:
        check.error(exc.line, "", TOO_DEEP)
        return check
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or str(exc)
        if exc.context:
            detail = f"{detail} ({exc.context})"
        line = mark.line + 1 if mark else None
        check.error(line, "", f"invalid YAML: {detail}; fix the syntax there")
        return check
    except ReaderError as exc:  # a character YAML does not allow (NUL, most controls, U+FFFE)
        line_start = text.rfind("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        check.error(
            text.count("\n", 0, exc.position) + 1,
            "",
            f"invalid YAML: the character U+{code:04X} (column "
            f"{exc.position - line_start + 1}) is not allowed in YAML; remove it",
        )
        return check
    except yaml.YAMLError as exc:
        check.error(None, "", f"invalid YAML: {problem_of(exc)}")
        return check
    if root is not None and check.structure_ok(root):
        check.root = root
    return check


def _read_text(check: CheckedFile) -> str | None:
    try:
        info = check.path.stat()
        # A FIFO or a device would block or never end; a directory fails below, clearly.
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            check.error(None, "", "is not a regular file; point at a YAML file")
            return None
        if info.st_size > MAX_FILE_BYTES:
            check.error(
                None,
                "",
                f"is larger than {MAX_FILE_BYTES // 1000} KB, far more than a config file "
                "holds; check it is the right file",
            )
            return None
        data = check.path.read_bytes()
    except OSError as exc:
        check.error(None, "", f"cannot read file: {exc}; check it exists and is readable")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        check.error(
            data.count(b"\n", 0, exc.start) + 1,
            "",
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column "
            f"{exc.start - line_start + 1}); save the file as UTF-8",
        )
        return None


class _Unusable(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
