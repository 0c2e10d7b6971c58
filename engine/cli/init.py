"""`aiwf-engine init [DIR]`: writes an editable copy of the bundled config."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from engine.contract.paths import bundled_config_dir, config_location, user_config_dir

EXIT_OK, EXIT_REFUSED = 0, 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir",
        nargs="?",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"where to write it (default: the user config dir, {user_config_dir()}, which "
        "then wins over the bundled config)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite files that already exist (default: refuse and write nothing)",
    )


def bundled_files(bundled: Path) -> list[Path]:
    """Every file of the bundled config, relative to it, in a stable order. Python's
    `__init__.py` and caches are not config: a wheel's package dir may hold them."""
    return sorted(
        path.relative_to(bundled)
        for path in bundled.rglob("*")
        if path.is_file() and path.name != "__init__.py" and "__pycache__" not in path.parts
    )


def write_config(target: Path, force: bool, bundled: Path | None = None) -> list[Path]:
    """Copies the bundled config into `target`; returns the files written.

    Raises FileExistsError naming every file that exists already (nothing is written then)
    unless `force`."""
    source = bundled or bundled_config_dir()
    files = bundled_files(source)
    if not files:
        raise FileNotFoundError(f"the bundled config {source} has no files; reinstall the package")
    existing = [target / name for name in files if (target / name).exists()]
    if existing and not force:
        raise FileExistsError(
            "\n".join(f"exists: {path}" for path in existing)
            + f"\n{len(existing)} file(s) already in {target}; nothing written. Keep your "
            "edits, or run again with --force to overwrite them with the bundled ones"
        )
    written: list[Path] = []
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, destination)
        written.append(destination)
    return written


def next_step(target: Path) -> str:
    """What to do after `init`, given the lookup order (AIWF_CONFIG_DIR > user dir > bundled)."""
    validate = "aiwf-engine validate"
    explicit = os.environ.get("AIWF_CONFIG_DIR")
    if explicit and Path(explicit).expanduser().resolve() != target.resolve():
        return (
            f"note: AIWF_CONFIG_DIR={explicit} is set and wins over {target}; unset it, or "
            f"check this copy with `{validate} --config {target}`"
        )
    if explicit or target.resolve() == user_config_dir().resolve():
        in_use = config_location()
        return f"next: edit the files above, then run `{validate}` (it reads {in_use.describe()})"
    return (
        f"next: edit the files above, then `export AIWF_CONFIG_DIR={target}` (or pass "
        f"--config {target}) and run `{validate}`"
    )


def cmd_init(args: argparse.Namespace) -> int:
    target: Path = (args.dir or user_config_dir()).expanduser()
    try:
        written = write_config(target, args.force)
    except (FileExistsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"error: cannot write the config to {target}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) copied from the bundled config {bundled_config_dir()}")
    print(next_step(target))
    return EXIT_OK
