"""Console settings from `console.yaml` in the config dir, loaded strictly.

Operators edit this file by hand, so an unknown key or a wrong type is an error that names
the file, the line and the key (line numbers from the YAML node tree), never a silent
default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

FILE_NAME = "console.yaml"

_SCHEMA: dict[str, type] = {"read_only": bool}
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
    """

    read_only: bool = False
    source: Path | None = None


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
        if wanted is None:
            known = ", ".join(sorted(_SCHEMA))
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
    return ConsoleSettings(read_only=bool(values.get("read_only", False)), source=path)
