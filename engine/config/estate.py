"""`config/estate.yaml`: which of the Prefect server's other deployments the engine lists.

Without the file every deployment on the server is listed. With it:

    deployments: ["team-a/*", "*/nightly-*"]   # globs on `flow/name` (default ["*"])
    tags: [ml, reports]                          # listed only with one of these (default: any)
    protected: ["*/prod-*"]                      # treated as protected, like `protected: true`

The engine's own deployments (config/deployments) are always listed; the file limits only
the others. A broken file is reported like a broken deployment file (file, line, key) and
the engine then lists none of the others: a filter meant to hide something never fails open.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.contract.checked_yaml import CheckedFile, ConfigFileError, Entry, read_checked

ESTATE_FILE = "estate.yaml"
KEYS = ("deployments", "tags", "protected")


@dataclass(frozen=True)
class EstateFilter:
    """Which foreign deployments are shown, and which of them are protected."""

    deployments: tuple[str, ...] = ("*",)
    tags: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    errors: tuple[ConfigFileError, ...] = field(default=())
    """Problems in the file; while there are any, no foreign deployment is shown."""

    def shows(self, full_name: str, tags: Iterable[str]) -> bool:
        if self.errors:
            return False
        if not any(fnmatch.fnmatchcase(full_name, glob) for glob in self.deployments):
            return False
        return not self.tags or bool(set(self.tags) & set(tags))

    def protects(self, full_name: str) -> bool:
        return any(fnmatch.fnmatchcase(full_name, glob) for glob in self.protected)


def load_estate(config_dir: Path) -> EstateFilter:
    """`config_dir/estate.yaml`, or show-everything without one; never raises."""
    path = config_dir / ESTATE_FILE
    if not path.exists():
        return EstateFilter()
    check = read_checked(path)
    top = check.top(KEYS, expected="keys (deployments, tags, protected)", empty=None)
    if top is None:
        return EstateFilter(errors=tuple(check.sorted_errors()) or _unreadable(check))
    globs = {key: _strings(check, entry) for key, entry in top.items()}
    if check.errors:
        return EstateFilter(errors=tuple(check.sorted_errors()))
    return EstateFilter(
        deployments=globs.get("deployments", ("*",)),
        tags=globs.get("tags", ()),
        protected=globs.get("protected", ()),
    )


def _strings(check: CheckedFile, entry: Entry) -> tuple[str, ...]:
    value = entry.value
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        check.error(entry.value_line, entry.key, "must be a list of strings (globs or tags)")
        return ()
    return tuple(value)


def _unreadable(check: CheckedFile) -> tuple[ConfigFileError, ...]:
    return (ConfigFileError(check.path, None, "", "cannot be read as YAML"),)
