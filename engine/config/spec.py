"""What a deployment file becomes: a spec, or errors that point at the file, line and field.

Stdlib and the light `engine.contract.checked_yaml` only, so both the loader and the checks can
share these types without a cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.contract.checked_yaml import ConfigFileError

PLACEHOLDERS = ("state_dir", "config_dir")
"""Names usable as `{name}` in string parameter values; see `resolved_parameters`."""
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class DeploymentSpec:
    """One validated deployment file."""

    name: str
    version: str
    cron: str
    timezone: str
    """IANA time zone name the cron line is read in; validated with `zoneinfo`."""
    flow_name: str
    parameters: dict[str, Any]
    """As written in the file, placeholders unexpanded."""
    path: Path
    """The file this spec came from."""
    description: str = ""
    protected: bool = False
    """A hint to the console to ask for confirmation before destructive actions."""
    tags: tuple[str, ...] = ()
    work_pool: str = ""
    """A Prefect work pool: the engine registers the deployment there and workers on any host
    run it; "" (the default) means the engine serves it and runs it in its own process."""
    work_queue: str = ""
    """The pool's queue its scheduled runs go to; "" is the pool's default queue."""
    secret_parameters: frozenset[str] = frozenset()
    """Parameters whose values are stored and shown as fingerprints (engine/contract/secrets.py)."""

    def resolved_parameters(self, state_dir: Path, config_dir: Path) -> dict[str, Any]:
        """String values with the placeholders {state_dir} and {config_dir} expanded.

        Strings nested in lists and mappings are expanded too. Other braces are left as
        they are (this is plain substitution, not `str.format`).
        """
        values = {"state_dir": str(state_dir), "config_dir": str(config_dir)}
        return {key: _expand(value, values) for key, value in self.parameters.items()}


def _expand(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in values.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, list):
        return [_expand(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _expand(item, values) for key, item in value.items()}
    return value


ConfigError = ConfigFileError
"""One problem in one deployment file (the shared `engine.contract.checked_yaml` error)."""


@dataclass
class LoadResult:
    specs: list[DeploymentSpec] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)
