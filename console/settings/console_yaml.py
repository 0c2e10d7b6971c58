"""Console settings from `console.yaml` in the config dir, loaded strictly.

Operators edit this file by hand, so an unknown key or a wrong type is an error that names
the file, the line and the key (line numbers from the YAML node tree), never a silent
default.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from engine.contract.checked_yaml import (
    CheckedFile,
    ConfigFileError,
    ConfigFileInvalid,
    Entry,
    read_checked,
)

FILE_NAME = "console.yaml"

_KEYS = ("read_only", "keymap")
"""Every key the file may hold, in the order docs/console.md lists them."""


SettingsError = ConfigFileError
"""One problem in the settings file (the shared `engine.contract.checked_yaml` error)."""


class SettingsInvalid(ConfigFileInvalid):
    """The settings file has errors; `errors` lists every one of them."""


@dataclass(frozen=True)
class ConsoleSettings:
    """What `console.yaml` says; the defaults when there is no file.

    Attributes:
        read_only: hide and refuse every action that changes something.
        source: the file read, or None.
        keymap: binding id (`main.trigger`) -> keys (`x` or `ctrl+t,T`); checked against
            the app's bindings by `console.settings.keymap.check_keymap`.
        keymap_lines: binding id -> its line in the file, for those checks' errors.
    """

    read_only: bool = False
    source: Path | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    keymap_lines: dict[str, int] = field(default_factory=dict, compare=False)


def settings_path(config_dir: Path) -> Path:
    return config_dir / FILE_NAME


def settings_or_exit(
    config_dir: Path, parser: argparse.ArgumentParser, status: int
) -> ConsoleSettings:
    """`load_settings` with its keymap checked, or every error on stderr under the
    command's name, then exit with `status`."""
    try:
        settings = load_settings(config_dir)
    except SettingsInvalid as exc:
        for error in exc.errors:
            print(f"{parser.prog}: {error}", file=sys.stderr)
        parser.exit(status, f"{parser.prog}: fix the settings file above and start again\n")
    if settings.keymap:
        from console.settings.keymap import check_keymap  # loads Textual: only for a keymap

        keymap_errors = check_keymap(settings)
        for keymap_error in keymap_errors:
            print(f"{parser.prog}: {keymap_error}", file=sys.stderr)
        if keymap_errors:
            parser.exit(status, f"{parser.prog}: fix the keymap above and start again\n")
    return settings


def load_settings(config_dir: Path) -> ConsoleSettings:
    """Reads `config_dir/console.yaml`; no file means the defaults.

    Raises:
        SettingsInvalid: with every error of the file.
    """
    path = settings_path(config_dir)
    if not path.is_file():
        return ConsoleSettings()
    check = read_checked(path)
    # None (not a mapping, broken YAML) has its error already; {} then adds none.
    top = check.top(_KEYS, expected=f"keys ({', '.join(_KEYS)})", empty=None) or {}
    keymap: dict[str, str] = {}
    keymap_lines: dict[str, int] = {}
    if (entry := top.get("keymap")) is not None:
        keymap, keymap_lines = _read_keymap(check, entry)
    if (read_only := top.get("read_only")) is not None:
        check.expect(read_only, bool)
    if check.errors:
        raise SettingsInvalid(check.sorted_errors())
    return ConsoleSettings(
        read_only=bool(read_only is not None and read_only.value),
        source=path,
        keymap=keymap,
        keymap_lines=keymap_lines,
    )


def _read_keymap(check: CheckedFile, entry: Entry) -> tuple[dict[str, str], dict[str, int]]:
    """`keymap:` as binding id -> keys, with each id's line; problems go to `check`."""
    keymap: dict[str, str] = {}
    lines: dict[str, int] = {}
    if entry.value is None:
        return keymap, lines  # `keymap:` with nothing under it
    entries = check.sub_mapping(
        entry, "must be a mapping of binding id: keys, e.g. `main.trigger: x`", None
    )
    for binding_id, keys in (entries or {}).items():
        if not isinstance(keys.node, yaml.ScalarNode) or not str(keys.node.value).strip():
            check.error(
                keys.value_line,
                keys.key,
                'must be keys as text, e.g. x, ctrl+t or "f5,T" (quote , and :)',
            )
            continue
        # The text as written: `f5` stays "f5" and `1` stays "1", whatever YAML would make of it.
        keymap[binding_id] = str(keys.node.value).strip()
        lines[binding_id] = keys.key_line
    return keymap, lines
