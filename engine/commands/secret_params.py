"""A command as the result, the audit trail and the engine's log show it: the trigger's
secret overrides as fingerprints, their values scrubbed from the result's message."""

from __future__ import annotations

from dataclasses import replace

from msgspec.structs import replace as replace_struct

from engine.config.registry import Registry
from engine.contract.commands import Command, CommandResult
from engine.contract.secrets import mask_parameters, scrub, secret_values


def secret_names(registry: Registry, command: Command) -> frozenset[str]:
    """The target deployment's secret parameters, for a command whose params are flow
    parameters (only a trigger's are)."""
    return registry.secret_names(command.target) if command.action == "trigger" else frozenset()


def carries_secret(registry: Registry, command: Command) -> bool:
    """True if the command's own params hold a secret value (its stream entry is deleted
    once handled, so the value does not stay in Redis)."""
    return bool(secret_values(command.params, secret_names(registry, command)))


def shown(
    registry: Registry, command: Command, result: CommandResult
) -> tuple[Command, CommandResult]:
    """`command` and `result` as they may be stored and logged."""
    names = secret_names(registry, command)
    if not names:
        return command, result
    hidden = sorted(
        {*secret_values(command.params, names), *registry.configured_secret_values()},
        key=len,
        reverse=True,
    )
    masked = replace(command, params=mask_parameters(command.params, names))
    return masked, replace_struct(result, message=scrub(result.message, hidden))
