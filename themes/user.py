"""User themes: YAML files in `$AIWF_CONFIG_DIR/themes/*.yaml`, loaded strictly.

The fields mirror `textual.theme.Theme`. An invalid file is reported (file, line, field)
and skipped; the others still load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from engine.contract.checked_yaml import ConfigFileError, read_checked

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
FIELDS = ("name", *COLOR_FIELDS, "dark")
"""Every field a theme file may hold."""


ThemeFileError = ConfigFileError
"""One problem in one theme file (the shared `engine.contract.checked_yaml` error)."""


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
    check = read_checked(path)
    top = check.top(
        FIELDS,
        expected="fields (name, primary, ...)",
        empty=f"file is empty; a theme needs at least {' and '.join(REQUIRED)}",
    )
    if top is None:
        return None, check.sorted_errors()
    values: dict[str, object] = {}
    for key, entry in top.items():
        values[key] = entry.value
        if key == "name":
            if check.expect(entry, str) is not None and not entry.value.strip():
                check.error(entry.key_line, key, "must be a non-empty string")
        elif key == "dark":
            check.expect(entry, bool)
        elif not isinstance(entry.value, str):
            check.error(
                entry.key_line,
                key,
                f"must be a colour string such as '#1E90FF', not {entry.value!r}",
            )
        else:
            try:
                Color.parse(entry.value)
            except ColorParseError:
                check.error(
                    entry.key_line, key, f"{entry.value!r} is not a colour; use e.g. '#1E90FF'"
                )
    for name in REQUIRED:
        if name not in values and not check.already_explained(name):
            check.error(None, name, "is required")
    if check.errors:
        return None, check.sorted_errors()

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
