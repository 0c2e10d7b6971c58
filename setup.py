"""Package discovery for the wheel; the rest of the metadata is in pyproject.toml.

`config/` (the bundled deployments, models and console.yaml) stays at the top of the
repository, where docs and tests refer to it, and ships inside the wheel as the package
`engine.bundled_config` (engine/contract/paths.py looks there), each subdirectory as a
subpackage: pyproject.toml cannot map packages to another directory together with
`packages.find`, so the discovery lives here.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup

CONFIG = "config"
BUNDLE = "engine.bundled_config"
CONFIG_FILES = ["*.md", "*.yaml", "*.yml"]
STYLES = ["*.tcss"]
UNITS = ["systemd/*.service"]
"""The systemd units (docs/operations.md, "systemd units"), next to the code."""
"""Every file read at run time must be listed in `package_data`, or it is missing from the
wheel: scripts/wheel-check.sh installs the wheel outside the repository and fails then.
(Not in pyproject.toml's package-data: that would replace this list, not add to it.)"""


def bundled_config_packages() -> dict[str, str]:
    """`engine.bundled_config[.sub...]` -> `config[/sub...]`, for config/ and each folder in it."""
    root = Path(__file__).resolve().parent / CONFIG
    folders = sorted(p for p in root.rglob("*") if p.is_dir() and p.name != "__pycache__")
    mapping = {BUNDLE: CONFIG}
    for folder in folders:
        parts = folder.relative_to(root).parts
        mapping[".".join((BUNDLE, *parts))] = "/".join((CONFIG, *parts))
    return mapping


bundled = bundled_config_packages()
setup(
    packages=[*find_packages(include=["console*", "engine*", "themes*"]), *bundled],
    package_dir=bundled,
    package_data={
        "console": STYLES,
        "themes": STYLES,
        "engine": UNITS,
        **dict.fromkeys(bundled, CONFIG_FILES),
    },
)
