"""engine.contract.checked_yaml on hostile files: deep nesting, values YAML cannot build,
text that is not text, files that are not files. Each is an error naming the file and line,
never an exception."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from engine.contract.checked_yaml import MAX_DEPTH, MAX_FILE_BYTES, CheckedFile, read_checked

KNOWN = ("name", "version", "options", "tags")


def checked(tmp_path: Path, text: str) -> CheckedFile:
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    check = read_checked(path)
    check.top(KNOWN, expected="keys", empty=None)
    return check


def only(check: CheckedFile) -> tuple[int | None, str, str]:
    [error] = check.sorted_errors()
    assert str(error).startswith(str(check.path))
    return error.line, error.key, error.message


@pytest.mark.parametrize(
    "text",
    [
        "name: x\noptions: " + "[" * 5000 + "]" * 5000 + "\n",
        "name: x\noptions:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)),
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_an_error_at_its_line_not_a_recursion_error(
    tmp_path: Path, text: str
) -> None:
    started = time.monotonic()
    check = checked(tmp_path, text)
    assert time.monotonic() - started < 1.0
    line, key, message = only(check)
    assert line is not None and line >= 2
    assert key == ""
    assert f"nested more than {MAX_DEPTH} levels deep" in message


def test_nesting_built_from_aliases_counts_too(tmp_path: Path) -> None:
    # Each line is one level deeper than the one before, though none is indented.
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 400)]
    check = checked(tmp_path, "\n".join(lines) + "\n")
    line, _key, message = only(check)
    assert line is not None
    assert f"nested more than {MAX_DEPTH} levels deep" in message
    assert "alias" in message


def test_modest_nesting_is_fine(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 2
    check = checked(tmp_path, "options: " + "[" * depth + "1" + "]" * depth + "\n")
    assert check.errors == []


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("2001-13-45", "'2001-13-45' is not a valid timestamp"),
        ("!!bool maybe", "'maybe' is not a valid bool"),
        ("!!timestamp soon", "'soon' is not a valid timestamp"),
        ("!!int ''", "'' is not a valid int"),
        ("!!float abc", "'abc' is not a valid float"),
        ("1" * 5000, "is not a valid int"),
        (
            "!!python/object/apply:os.system [ls]",
            "the tag !!python/object/apply:os.system is not allowed",
        ),
        ("{<<: [1, 2]}", "expected a mapping"),
    ],
)
def test_a_value_yaml_cannot_build_is_an_error_at_its_line(
    tmp_path: Path, value: str, needle: str
) -> None:
    check = checked(tmp_path, f"name: x\nversion: {value}\n")
    line, key, message = only(check)
    assert (line, key) == (2, "version")
    assert message.startswith("cannot read value: ")
    assert needle in message
    assert "<unicode string>" not in message  # PyYAML's own marks: the error has a line


def test_a_bad_value_deep_inside_points_at_its_own_line(tmp_path: Path) -> None:
    check = checked(tmp_path, "name: x\noptions:\n  a: 1\n  b:\n    - 2001-02-30\n")
    assert only(check)[:2] == (5, "options")


def test_the_other_values_still_read_after_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "file.yaml"
    path.write_text("tags: &t [a]\nversion: !!bool maybe\noptions: {more: *t}\n")
    check = read_checked(path)
    top = check.top(KNOWN, expected="keys", empty=None)
    assert top is not None and top["options"].value == {"more": ["a"]}
    assert [e.line for e in check.errors] == [2]


def test_a_lone_surrogate_escape_is_not_text(tmp_path: Path) -> None:
    check = checked(tmp_path, 'name: x\noptions:\n  label: "a\\ud800b"\n')
    line, key, message = only(check)
    assert (line, key) == (3, "options.label")
    assert "lone surrogate" in message


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    check = read_checked(path)
    assert only(check) == (None, "", "is not a regular file; point at a YAML file")


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    line, _key, message = only(read_checked(path))
    assert line is None and "larger than" in message


def test_a_control_character_is_an_error_at_its_line_and_column(tmp_path: Path) -> None:
    check = checked(tmp_path, "name: x\nversion: a\x01b\n")
    assert only(check) == (
        2,
        "",
        "invalid YAML: the character U+0001 (column 11) is not allowed in YAML; remove it",
    )
