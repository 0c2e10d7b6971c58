"""User themes: YAML files in `$AIWF_CONFIG_DIR/themes/*.yaml`, loaded strictly.

The fields mirror `textual.theme.Theme`. An invalid file is reported (file, line, field)
and skipped; the others still load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from textual.color import Color, ColorParseError
from textual.theme import Theme

COLOR_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "success",
    "warning",
    "error",
)
REQUIRED = ("name", "primary")


@dataclass(frozen=True)
class ThemeFileError:
    """One problem in one theme file."""

    path: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def in_file(self) -> str:
        """The problem without the path: `line 2: primary: ...` (listed under the file)."""
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}" if self.field else f"{where}{self.message}"


def report_by_file(errors: Iterable[ThemeFileError]) -> list[str]:
    """One message per skipped file: its path, then each problem (shown on screen)."""
    by_file: dict[Path, list[str]] = {}
    for error in errors:
        by_file.setdefault(error.path, []).append(error.in_file())
    return [
        "\n".join([f"{path} was skipped:", *problems, "Fix it and start the console again."])
        for path, problems in by_file.items()
    ]


@dataclass
class UserThemes:
    themes: list[Theme] = field(default_factory=list)
    errors: list[ThemeFileError] = field(default_factory=list)


def load_user_themes(directory: Path, taken: Iterable[str] = ()) -> UserThemes:
    """Every valid `*.yaml` / `*.yml` theme in `directory` (missing directory: none).

    Args:
        taken: names already in use (the built-ins); a file reusing one is an error.
    """
    result = UserThemes()
    if not directory.is_dir():
        return result
    used = set(taken)
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in paths:
        theme, errors = load_theme_file(path)
        if theme is not None and theme.name in used:
            errors.append(
                ThemeFileError(path, None, "name", f"{theme.name!r} is already a theme; rename it")
            )
            theme = None
        result.errors.extend(errors)
        if theme is not None:
            used.add(theme.name)
            result.themes.append(theme)
    return result


def load_theme_file(path: Path) -> tuple[Theme | None, list[ThemeFileError]]:
    """One theme file: the theme, or None with every error found."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ThemeFileError(path, None, "", f"cannot read: {exc}")]
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return None, [ThemeFileError(path, line, "", f"not valid YAML: {exc.problem}")]
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else None
        return None, [ThemeFileError(path, line, "", "must be a mapping of field: value")]
    errors: list[ThemeFileError] = []
    values: dict[str, object] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        if key in values:
            errors.append(ThemeFileError(path, line, key, "given twice; keep one"))
            continue
        value = yaml.safe_load(yaml.serialize(value_node))
        lines[key] = value_node.start_mark.line + 1
        values[key] = value
        if key == "name":
            if not isinstance(value, str) or not value.strip():
                errors.append(ThemeFileError(path, line, key, "must be a non-empty string"))
        elif key == "dark":
            if not isinstance(value, bool):
                errors.append(
                    ThemeFileError(path, line, key, f"must be true or false, not {value!r}")
                )
        elif key in COLOR_FIELDS:
            if not isinstance(value, str):
                errors.append(
                    ThemeFileError(
                        path, line, key, f"must be a colour string such as '#1E90FF', not {value!r}"
                    )
                )
                continue
            try:
                Color.parse(value)
            except ColorParseError:
                errors.append(
                    ThemeFileError(
                        path, line, key, f"{value!r} is not a colour; use e.g. '#1E90FF'"
                    )
                )
        else:
            known = ", ".join(("name", *COLOR_FIELDS, "dark"))
            errors.append(ThemeFileError(path, line, key, f"unknown field; known fields: {known}"))
    for name in REQUIRED:
        if name not in values:
            errors.append(ThemeFileError(path, None, name, "is required"))
    if errors:
        return None, errors

    def colour(name: str) -> str | None:
        value = values.get(name)
        return None if value is None else str(value)

    theme = Theme(
        name=str(values["name"]),
        primary=str(values["primary"]),
        secondary=colour("secondary"),
        accent=colour("accent"),
        foreground=colour("foreground"),
        background=colour("background"),
        surface=colour("surface"),
        panel=colour("panel"),
        success=colour("success"),
        warning=colour("warning"),
        error=colour("error"),
        dark=bool(values.get("dark", True)),
    )
    return theme, []
