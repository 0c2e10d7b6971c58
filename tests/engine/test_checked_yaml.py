"""engine.contract.checked_yaml: every problem is `path:line: key: message`, and what YAML would
accept silently (repeated keys, typos, wrong types, alias bombs) is refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from engine.config.loader import load_deployment_file
from engine.contract.checked_yaml import (
    MAX_EXPANDED_NODES,
    CheckedFile,
    ConfigFileError,
    ConfigFileInvalid,
    read_checked,
)

KNOWN = ("name", "retries", "ratio", "enabled", "tags", "options")


def checked(tmp_path: Path, text: str | bytes) -> CheckedFile:
    path = tmp_path / "file.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return read_checked(path)


def messages(check: CheckedFile) -> list[str]:
    return [str(error) for error in check.sorted_errors()]


def test_error_str_is_path_line_key_message(tmp_path: Path) -> None:
    error = ConfigFileError(tmp_path / "a.yaml", 3, "schedule.cron", "is wrong; fix it")
    assert str(error) == f"{tmp_path / 'a.yaml'}:3: schedule.cron: is wrong; fix it"
    assert error.in_file() == "line 3: schedule.cron: is wrong; fix it"
    whole = ConfigFileError(tmp_path / "a.yaml", None, "", "file is empty")
    assert str(whole) == f"{tmp_path / 'a.yaml'}: file is empty"
    raised = ConfigFileInvalid([error, whole])
    assert str(raised).splitlines() == [str(error), str(whole)]


def test_entries_carry_key_and_value_lines(tmp_path: Path) -> None:
    check = checked(tmp_path, "# header\nname: x\noptions:\n  depth: 2\n")
    top = check.top(KNOWN, expected="keys", empty=None)
    assert top is not None and check.errors == []
    assert (top["name"].key_line, top["name"].value_line, top["name"].value) == (2, 2, "x")
    assert (top["options"].key_line, top["options"].value_line) == (3, 4)
    assert top["options"].value == {"depth": 2}
    assert isinstance(top["options"].node, yaml.MappingNode)
    nested = check.mapping(top["options"].node, "options.", ("depth",))
    assert (nested["depth"].key, nested["depth"].key_line) == ("options.depth", 4)


def test_unknown_key_suggests_the_closest_known_one(tmp_path: Path) -> None:
    check = checked(tmp_path, "name: x\nretires: 3\ncolour: red\n")
    top = check.top(KNOWN, expected="keys", empty=None)
    assert top is not None and set(top) == {"name"}
    path = tmp_path / "file.yaml"
    listed = ", ".join(KNOWN)
    assert messages(check) == [
        f"{path}:2: retires: unknown key; did you mean 'retries'? (known keys: {listed})",
        f"{path}:3: colour: unknown key; known keys: {listed}",
    ]
    # The typo answered "did you mean", so "retries is missing" would only be noise.
    assert check.already_explained("retries")
    assert not check.already_explained("ratio")


@pytest.mark.parametrize(
    ("text", "wanted", "message"),
    [
        ("enabled: yes please\n", bool, "enabled: must be true or false, not 'yes please'"),
        ("enabled: 1\n", bool, "enabled: must be true or false, not 1"),
        ("retries: true\n", int, "retries: must be a whole number, not bool True"),
        ("retries: 2.5\n", int, "retries: must be a whole number, not float 2.5"),
        ("ratio: high\n", float, "ratio: must be a number, not str 'high'"),
        ("name: 12\n", str, "name: must be a string, not int 12"),
        ("name:\n", str, "name: must be a string, not null (nothing)"),
        ("tags: nightly\n", list, "tags: must be a list, not str 'nightly'"),
        ("options: [a]\n", dict, "options: must be a mapping, not list ['a']"),
    ],
)
def test_wrong_types_name_the_line_and_what_was_found(
    tmp_path: Path, text: str, wanted: type, message: str
) -> None:
    check = checked(tmp_path, "# first line\n" + text)
    top = check.top(KNOWN, expected="keys", empty=None)
    assert top is not None
    [entry] = top.values()
    assert check.expect(entry, wanted) is None
    assert messages(check) == [f"{tmp_path / 'file.yaml'}:2: {message}"]


def test_right_types_pass_and_a_whole_number_is_a_number(tmp_path: Path) -> None:
    check = checked(tmp_path, "ratio: 2\nretries: 3\nenabled: false\nname: x\n")
    top = check.top(KNOWN, expected="keys", empty=None)
    assert top is not None
    assert check.expect(top["ratio"], float) == 2
    assert check.expect(top["retries"], int) == 3
    assert check.expect(top["enabled"], bool) is False
    assert check.expect(top["name"], str) == "x"
    assert check.errors == []


def test_duplicate_keys_at_any_depth_are_errors_and_the_first_value_is_kept(
    tmp_path: Path,
) -> None:
    check = checked(tmp_path, "name: a\noptions:\n  x: 1\n  x: 2\nname: b\n")
    path = tmp_path / "file.yaml"
    assert messages(check) == [
        f"{path}:4: options.x: duplicate key (first at line 3); "
        "YAML would silently keep only the last one, so remove one of them",
        f"{path}:5: name: duplicate key (first at line 1); "
        "YAML would silently keep only the last one, so remove one of them",
    ]
    top = check.top(KNOWN, expected="keys", empty=None)
    assert top is not None and top["name"].value == "a"
    assert len(check.errors) == 2  # the walk does not report the repeat again


def test_keys_must_be_plain_names(tmp_path: Path) -> None:
    check = checked(tmp_path, "name: x\n1: one\n")
    assert check.top(None, expected="keys", empty=None) is not None
    assert messages(check) == [f"{tmp_path / 'file.yaml'}:2: key '1' must be a plain name"]


def _alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    text = _alias_bomb()
    assert len(text) < 1500  # expands to 9**9 strings
    started = time.monotonic()
    check = checked(tmp_path, text)
    elapsed = time.monotonic() - started
    assert check.root is None
    [error] = check.errors
    assert error.line is not None and error.key == ""
    assert f"more than {MAX_EXPANDED_NODES} values" in error.message
    assert "alias" in error.message
    assert elapsed < 1.0, elapsed
    assert check.top(KNOWN, expected="keys", empty="empty") is None
    assert len(check.errors) == 1  # not also "empty"


def test_modest_aliases_are_fine(tmp_path: Path) -> None:
    check = checked(tmp_path, "tags: &t [a, b]\noptions:\n  more: *t\n")
    top = check.top(KNOWN, expected="keys", empty=None)
    assert check.errors == [] and top is not None
    assert top["options"].value == {"more": ["a", "b"]}


def test_an_alias_inside_itself_is_refused(tmp_path: Path) -> None:
    check = checked(tmp_path, "tags: &t [a, *t]\n")
    assert check.root is None
    assert messages(check) == [
        f"{tmp_path / 'file.yaml'}:1: an alias refers to the mapping or list that contains it"
    ]


def test_non_utf8_bytes_name_line_and_column(tmp_path: Path) -> None:
    check = checked(tmp_path, b"name: x\ntags: [caf\xe9]\n")
    assert check.root is None
    assert messages(check) == [
        f"{tmp_path / 'file.yaml'}:2: not UTF-8 text (byte 0xe9 at column 11); "
        "save the file as UTF-8"
    ]


def test_missing_file(tmp_path: Path) -> None:
    check = read_checked(tmp_path / "absent.yaml")
    [error] = check.errors
    assert (error.line, error.key) == (None, "")
    assert error.message.startswith("cannot read file:")


def test_broken_yaml_points_at_the_line(tmp_path: Path) -> None:
    check = checked(tmp_path, "name: x\ntags: [a\n")
    [line] = messages(check)
    assert line.startswith(f"{tmp_path / 'file.yaml'}:3: invalid YAML: ")
    assert line.endswith("; fix the syntax there")


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file_is_an_error_or_fine_as_the_caller_says(tmp_path: Path, text: str) -> None:
    check = checked(tmp_path, text)
    assert check.errors == [] and check.root is None
    assert check.top(KNOWN, expected="keys", empty=None) == {}
    assert check.top(KNOWN, expected="keys", empty="file is empty; add name") is None
    assert messages(check) == [f"{tmp_path / 'file.yaml'}: file is empty; add name"]


@pytest.mark.parametrize(
    ("text", "kind"), [("- name: x\n", "a list"), ("just words\n", "a single value")]
)
def test_a_document_that_is_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    check = checked(tmp_path, text)
    assert check.top(KNOWN, expected="keys (name, ...)", empty=None) is None
    assert messages(check) == [
        f"{tmp_path / 'file.yaml'}:1: must be a mapping of keys (name, ...), got {kind}"
    ]


def test_errors_come_in_file_order_with_whole_file_ones_last(tmp_path: Path) -> None:
    check = checked(tmp_path, "name: x\n")
    check.error(None, "", "whole file")
    check.error(5, "b", "late")
    check.error(2, "a", "early")
    assert [e.message for e in check.sorted_errors()] == ["early", "late", "whole file"]


def test_a_deployment_with_an_alias_bomb_in_its_parameters_is_refused_fast(
    tmp_path: Path,
) -> None:
    # The placeholder check walks every string of `parameters`; before the limit this
    # file took over a minute.
    bomb = "  " + _alias_bomb().replace("\n", "\n  ").rstrip() + "\n"
    path = tmp_path / "bomb.yaml"
    path.write_text(
        'name: bomb\nversion: "1"\nschedule:\n  cron: "0 2 * * *"\n'
        "flow_name: ai-inference-pipeline\nparameters:\n" + bomb
    )
    started = time.monotonic()
    spec, errors = load_deployment_file(path)
    assert time.monotonic() - started < 2.0
    assert spec is None
    assert [(e.line, e.key) for e in errors] == [(11, "")]
    assert f"more than {MAX_EXPANDED_NODES} values" in errors[0].message
