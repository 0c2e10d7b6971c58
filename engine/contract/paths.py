"""Where the product keeps its state and finds its config. Stdlib only."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "aiwf-console"


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
    """`config/` of the source tree or checkout this package was installed from."""
    return Path(__file__).resolve().parents[2] / "config"


def default_config_dir() -> Path:
    """`AIWF_CONFIG_DIR` if set, else the bundled `config/`."""
    explicit = os.environ.get("AIWF_CONFIG_DIR")
    return Path(explicit).expanduser() if explicit else bundled_config_dir()
