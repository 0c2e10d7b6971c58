"""Console settings from `console.yaml` in the config dir, loaded strictly.

Operators edit this file by hand, so an unknown key or a wrong type is an error that names
the file, the line and the key (line numbers from the YAML node tree), never a silent
default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

FILE_NAME = "console.yaml"

_SCHEMA: dict[str, type] = {"read_only": bool, "keymap": dict}
"""Every key the file may hold, with its type."""


@dataclass(frozen=True)
class SettingsError:
    """One problem in the settings file, phrased for the operator who has to fix it."""

    path: Path
    line: int | None
    """1-based; None when the problem has no line (an unreadable file)."""
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class SettingsInvalid(Exception):
    """The settings file has errors; `errors` lists every one of them."""

    def __init__(self, errors: list[SettingsError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


@dataclass(frozen=True)
class ConsoleSettings:
    """What `console.yaml` says; the defaults when there is no file.

    Attributes:
        read_only: hide and refuse every action that changes something.
        source: the file read, or None.
        keymap: binding id (`main.trigger`) -> keys (`x` or `ctrl+t,T`); checked against
            the app's bindings by `console.keymap.check_keymap`.
        keymap_lines: binding id -> its line in the file, for those checks' errors.
    """

    read_only: bool = False
    source: Path | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    keymap_lines: dict[str, int] = field(default_factory=dict, compare=False)


def settings_path(config_dir: Path) -> Path:
    return config_dir / FILE_NAME


def load_settings(config_dir: Path) -> ConsoleSettings:
    """Reads `config_dir/console.yaml`; no file means the defaults.

    Raises:
        SettingsInvalid: with every error of the file.
    """
    path = settings_path(config_dir)
    if not path.is_file():
        return ConsoleSettings()
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsInvalid([SettingsError(path, None, "", f"cannot read: {exc}")]) from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise SettingsInvalid(
            [SettingsError(path, line, "", f"not valid YAML: {exc.problem}")]
        ) from exc
    if root is None:
        return ConsoleSettings(source=path)
    if not isinstance(root, yaml.MappingNode):
        raise SettingsInvalid(
            [SettingsError(path, root.start_mark.line + 1, "", "must be a mapping of key: value")]
        )
    errors: list[SettingsError] = []
    values: dict[str, object] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        if key in values:
            errors.append(SettingsError(path, line, key, "given twice; keep one"))
            continue
        wanted = _SCHEMA.get(key)
        if key == "keymap":
            keymap, lines = _read_keymap(path, value_node, errors)
            values[key] = keymap
            values["keymap_lines"] = lines
            continue
        if wanted is None:
            known = ", ".join(_SCHEMA)  # in the order docs/console.md lists them
            errors.append(SettingsError(path, line, key, f"unknown key; known keys: {known}"))
            continue
        value = yaml.safe_load(yaml.serialize(value_node))
        if not isinstance(value, wanted):
            errors.append(
                SettingsError(
                    path,
                    value_node.start_mark.line + 1,
                    key,
                    f"must be {wanted.__name__} (true or false), not {value!r}",
                )
            )
            continue
        values[key] = value
    if errors:
        raise SettingsInvalid(errors)
    return ConsoleSettings(
        read_only=bool(values.get("read_only", False)),
        source=path,
        keymap=_str_dict(values.get("keymap")),
        keymap_lines=_int_dict(values.get("keymap_lines")),
    )


def _read_keymap(
    path: Path, node: yaml.Node, errors: list[SettingsError]
) -> tuple[dict[str, str], dict[str, int]]:
    """`keymap:` as binding id -> keys, with each id's line; problems go to `errors`."""
    keymap: dict[str, str] = {}
    lines: dict[str, int] = {}
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        return keymap, lines  # `keymap:` with nothing under it
    if not isinstance(node, yaml.MappingNode):
        errors.append(
            SettingsError(
                path,
                node.start_mark.line + 1,
                "keymap",
                "must be a mapping of binding id: keys, e.g. `main.trigger: x`",
            )
        )
        return keymap, lines
    for id_node, keys_node in node.value:
        binding_id = str(id_node.value)
        line = id_node.start_mark.line + 1
        where = f"keymap.{binding_id}"
        if binding_id in keymap:
            errors.append(SettingsError(path, line, where, "given twice; keep one"))
            continue
        if not isinstance(keys_node, yaml.ScalarNode) or not str(keys_node.value).strip():
            errors.append(
                SettingsError(
                    path,
                    keys_node.start_mark.line + 1,
                    where,
                    'must be keys as text, e.g. x, ctrl+t or "f5,T" (quote , and :)',
                )
            )
            continue
        keymap[binding_id] = str(keys_node.value).strip()
        lines[binding_id] = line
    return keymap, lines


def _str_dict(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _int_dict(value: object) -> dict[str, int]:
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}
