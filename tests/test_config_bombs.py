"""Every loader of an operator-edited file (deployments, models, console.yaml, user themes)
refuses a 1.4 KB alias bomb ("billion laughs") and 100,000 levels of nesting at once, with an
error naming the file and the line; no RecursionError, no minutes spent expanding."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.settings.console_yaml import SettingsInvalid, load_settings
from engine.config.loader import load_deployment_file
from engine.pipeline.model import ModelError, load_model
from themes.user import load_theme_file


def alias_bomb() -> str:
    """9 lists of 9 aliases of the list before: 9**9 (387 million) strings once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


DEEP = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"


def deployment(path: Path) -> list[str]:
    return [str(error) for error in load_deployment_file(path)[1]]


def model(path: Path) -> list[str]:
    try:
        load_model(str(path))
    except ModelError as exc:
        return str(exc).splitlines()
    return []


def settings(path: Path) -> list[str]:
    try:
        load_settings(path.parent)
    except SettingsInvalid as exc:
        return [str(error) for error in exc.errors]
    return []


def theme(path: Path) -> list[str]:
    return [str(error) for error in load_theme_file(path)[1]]


LOADERS: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "deployment": ("deployment.yaml", deployment),
    "model": ("model.yaml", model),
    "console-settings": ("console.yaml", settings),
    "theme": ("theme.yaml", theme),
}


@pytest.mark.parametrize("loader", list(LOADERS))
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # Line 5 holds the list that passes 10,000 values first.
        (alias_bomb(), 5, "holds more than 10000 values"),
        (DEEP, 1, "nested more than 50 levels deep"),
    ],
    ids=["alias-bomb", "deep"],
)
def test_the_file_is_refused_fast_naming_file_and_line(
    tmp_path: Path, loader: str, text: str, line: int, words: str
) -> None:
    if text is not DEEP:
        assert len(text.encode()) < 1500
    name, load = LOADERS[loader]
    path = tmp_path / name
    path.write_text(text)
    started = time.monotonic()
    errors = load(path)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5, elapsed
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:{line}: {words}")
