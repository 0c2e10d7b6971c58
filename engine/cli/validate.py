"""`aiwf-engine validate`: check the deployment files and the operators file of a config dir."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.output import EXIT_ERROR, EXIT_OK, Output


def cmd_validate(config_dir: Path, as_json: bool = False) -> int:
    from engine.commands.permissions import load_operators
    from engine.config.loader import load_deployments
    from engine.contract.checked_yaml import ConfigFileInvalid

    out = Output(json=as_json)
    result = load_deployments(config_dir)
    errors = [str(error) for error in result.errors]
    oks: list[str] = []
    try:
        operators = load_operators(config_dir)
    except ConfigFileInvalid as exc:
        errors += [str(error) for error in exc.errors]
    else:
        if operators.path is not None:
            oks.append(f"ok: {operators.path}: {len(operators.grants)} operator(s)")
    oks += [
        f"ok: {spec.path}: {spec.name} ({spec.flow_name}, cron {spec.cron!r} {spec.timezone})"
        for spec in result.specs
    ]
    payload = {
        "status": "error" if errors else "ok",
        "config_dir": str(config_dir),
        "deployments": [spec.name for spec in result.specs],
        "errors": errors,
    }
    if errors:
        payload |= {"error": "config", "message": f"{len(errors)} error(s) in {config_dir}"}
    if out.json:
        return out.emit(EXIT_ERROR if errors else EXIT_OK, payload)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    print("\n".join(oks))
    if errors:
        print(f"{len(errors)} error(s) in {config_dir}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{len(result.specs)} deployment file(s) valid in {config_dir}")
    return EXIT_OK
