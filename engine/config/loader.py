"""Strict loader for deployment files (`<config_dir>/deployments/*.yaml`).

Deployment files are edited by hand, often over SSH at 2 a.m., so the loader is strict and
loud: unknown keys, wrong types, impossible cron lines, unknown time zones and parameters
the flow does not take are all errors, each reported with the file, the line and the dotted
field, and every error in a file is reported at once rather than one per edit-reload cycle.
Line numbers come from the YAML node tree (`yaml.compose`), not from guessing.

One bad file never hides the good ones: `load_deployments` returns the valid specs next to
the errors, and the caller decides what to serve.
"""

from __future__ import annotations

from pathlib import Path

from engine.config.checks import load_file
from engine.config.spec import PLACEHOLDERS, ConfigError, DeploymentSpec, LoadResult

__all__ = [
    "PLACEHOLDERS",
    "ConfigError",
    "DeploymentSpec",
    "LoadResult",
    "load_deployment_file",
    "load_deployments",
]


def load_deployments(config_dir: Path) -> LoadResult:
    """Load every `*.yaml` / `*.yml` in `config_dir/deployments`, in file-name order.

    A deployment `name` already used by an earlier file is an error on the later file, and
    that later file contributes no spec.
    """
    deployments_dir = config_dir / "deployments"
    if not deployments_dir.is_dir():
        return LoadResult(
            errors=[
                ConfigError(
                    deployments_dir,
                    None,
                    "",
                    f"deployments directory not found: {deployments_dir}; create it "
                    "(`aiwf-engine init DIR` writes the bundled config to DIR), or point "
                    "AIWF_CONFIG_DIR at a config dir that has one",
                )
            ]
        )
    # Dotfiles are editor locks and backups (Emacs writes `.#x.yaml`), never deployments.
    try:
        files = sorted(
            (
                p
                for p in deployments_dir.iterdir()
                if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
            ),
            key=lambda p: p.name,
        )
    except OSError as exc:
        reason = f"cannot list {deployments_dir}: {exc}; check the engine's user may read it"
        return LoadResult(errors=[ConfigError(deployments_dir, None, "", reason)])
    result = LoadResult()
    first_seen: dict[str, Path] = {}
    for path in files:
        spec, errors, name_line = load_file(path)
        result.errors.extend(errors)
        if spec is None:
            continue
        if spec.name in first_seen:
            result.errors.append(
                ConfigError(
                    path,
                    name_line,
                    "name",
                    f"deployment name {spec.name!r} is already used by {first_seen[spec.name]}; "
                    "give this deployment a different name",
                )
            )
            continue
        first_seen[spec.name] = path
        result.specs.append(spec)
    return result


def load_deployment_file(path: Path) -> tuple[DeploymentSpec | None, list[ConfigError]]:
    """Validate one deployment file: the spec if it is entirely valid, and all its errors."""
    spec, errors, _ = load_file(path)
    return spec, errors
