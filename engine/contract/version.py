"""The installed version of aiwf-console, as `--version` of both commands prints it."""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "aiwf-console"


def installed_version(distribution: str = DISTRIBUTION) -> str:
    """The distribution's version from its installed metadata; "unknown" when it is not
    installed (run from a source tree without `pip install`)."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def version_line(prog: str, *also: str) -> str:
    """`aiwf-engine 0.1.0 (prefect 3.9.1, Python 3.12.3)`: the program's version, then the
    versions of the named distributions that shape its behaviour, read without importing
    them (an import of prefect alone takes seconds)."""
    import platform

    parts = [f"{name} {installed_version(name)}" for name in also]
    parts.append(f"Python {platform.python_version()}")
    return f"{prog} {installed_version()} ({', '.join(parts)})"
