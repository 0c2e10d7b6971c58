"""Where the product keeps its state and finds its config (stdlib and platformdirs only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_path

APP_NAME = "aiwf-console"

BUNDLED_PACKAGE_DIR = "bundled_config"
"""`engine/bundled_config/`: where the wheel carries the repository's `config/` (setup.py
maps that package to `config/`, so `config/` stays the one source of truth)."""

FROM_ENV, FROM_USER_DIR, FROM_BUNDLE = "AIWF_CONFIG_DIR", "user config dir", "bundled"


def state_dir() -> Path:
    """The state dir: `AIWF_STATE_DIR`, else `$XDG_STATE_HOME/aiwf-console`,
    else `~/.local/state/aiwf-console`. Created on first use, private to the user."""
    explicit = os.environ.get("AIWF_STATE_DIR")
    if explicit:
        base = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_STATE_HOME")
        root = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
        base = root / APP_NAME
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


def bundled_config_dir() -> Path:
    """The config that ships with the product: `engine/bundled_config/` in an installed
    wheel, else `config/` of the source tree or checkout (editable installs, PYTHONPATH)."""
    engine_dir = Path(__file__).resolve().parents[1]
    packaged = engine_dir / BUNDLED_PACKAGE_DIR
    if packaged.is_dir():
        return packaged
    return engine_dir.parent / "config"


def user_config_dir() -> Path:
    """The user's editable config (`aiwf-engine init` writes it): platformdirs' user config
    dir, i.e. `$XDG_CONFIG_HOME/aiwf-console`, else `~/.config/aiwf-console` on Linux."""
    return user_config_path(APP_NAME, appauthor=False)


@dataclass(frozen=True)
class ConfigLocation:
    """The config dir in use and why (`origin` is one of FROM_ENV, FROM_USER_DIR, FROM_BUNDLE)."""

    path: Path
    origin: str

    def describe(self) -> str:
        return f"{self.path} ({self.origin})"


def config_location() -> ConfigLocation:
    """Lookup order: `AIWF_CONFIG_DIR` if set, else the user config dir if it exists, else
    the bundled config."""
    explicit = os.environ.get("AIWF_CONFIG_DIR")
    if explicit:
        return ConfigLocation(Path(explicit).expanduser(), FROM_ENV)
    user = user_config_dir()
    if user.is_dir():
        return ConfigLocation(user, FROM_USER_DIR)
    return ConfigLocation(bundled_config_dir(), FROM_BUNDLE)


def default_config_dir() -> Path:
    """The config dir in use: see `config_location` for the lookup order."""
    return config_location().path
