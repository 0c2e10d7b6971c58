"""Package discovery for the wheel; the rest of the metadata is in pyproject.toml.

`config/` (the bundled deployments, models and console.yaml) stays at the top of the
repository, where docs and tests refer to it, and ships inside the wheel as the package
`engine.bundled_config`: pyproject.toml cannot map a package to another directory together
with `packages.find`, so the discovery lives here.
"""

from __future__ import annotations

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["console*", "engine*", "themes*"]),
        "engine.bundled_config",
    ],
    package_dir={"engine.bundled_config": "config"},
)
