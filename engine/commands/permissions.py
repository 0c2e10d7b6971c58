"""Who may do what: the operators file, the sender proven by the stream a command came on,
and the engine's refusal of everything the file does not allow.

Identity comes from Redis ACLs, not from the command's fields: each operator has a Redis
ACL user allowed to append only to its own stream `{p}:commands:<user>` (docs/operations.md
gives the `ACL SETUSER` line), so a command read from that stream was sent by `<user>`,
whatever its `user` field claims. `config/operators.yaml` gives each operator a list of
`{deployments: GLOB, role: view|operate|admin}` (example in docs/operations.md).

Without that file the engine runs open, as before: the shared stream `{p}:commands` only,
the local OS user is the one operator and is admin, identities are what senders claim.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID

import yaml
from prefect.client.orchestration import PrefectClient
from prefect.exceptions import ObjectNotFound

from engine.commands.validation import CommandRejected
from engine.config.registry import Registry
from engine.contract.checked_yaml import CheckedFile, ConfigFileInvalid, Entry, read_checked
from engine.contract.commands import POOL_ACTIONS, RUN_ACTIONS, Command
from engine.contract.identity import Identity
from engine.contract.keys import Keys

OPERATORS_FILE = "operators.yaml"
ROLES: tuple[str, ...] = ("view", "operate", "admin")
"""Each role allows what the ones before it allow."""
ACTION_ROLE: dict[str, str] = {
    "trigger": "operate",
    "retry": "operate",
    "cancel": "operate",
    "pause": "admin",
    "resume": "admin",
    "backfill": "admin",
    "pause_pool": "admin",
    "resume_pool": "admin",
}
"""The role an action needs on its deployment (a run's deployment for retry and cancel)."""
USER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
"""Operator names are Redis ACL user names and part of a key: no spaces, colons or globs."""


@dataclass(frozen=True)
class Grant:
    deployments: str
    """A glob on deployment names (`nightly-*`)."""
    role: str


@dataclass(frozen=True)
class Operators:
    """The operators file, or the open mode used without one (`path` is None)."""

    grants: dict[str, tuple[Grant, ...]]
    path: Path | None = None

    @classmethod
    def open_mode(cls) -> Operators:
        return cls({Identity.current().user: (Grant("*", "admin"),)})

    @property
    def enforced(self) -> bool:
        return self.path is not None

    def describe(self) -> str:
        """For the engine log: which mode, and who."""
        if not self.enforced:
            return f"no {OPERATORS_FILE}: open mode, the local user is the operator (admin)"
        return f"operators from {self.path}: {', '.join(sorted(self.grants)) or 'none'}"

    def streams(self, keys: Keys) -> list[str]:
        """The command streams the engine reads: the shared one, and each operator's."""
        if not self.enforced:
            return [keys.commands]
        return [keys.commands, *(keys.operator_commands(user) for user in sorted(self.grants))]

    def role_of(self, user: str, deployment: str) -> str | None:
        """The highest role any of `user`'s grants gives on `deployment`, or None."""
        matching = [
            g.role
            for g in self.grants.get(user, ())
            if fnmatch.fnmatchcase(deployment, g.deployments)
        ]
        return max(matching, key=ROLES.index) if matching else None


class Refused(CommandRejected):
    """The sender may not do this; the message says who, what and where it is decided."""


def sender_of(operators: Operators, keys: Keys, stream: str, command: Command) -> Command:
    """The command with its user replaced by the one its stream proves.

    Raises:
        Refused: the command came on the shared stream while the operators file is in force
            (whoever wrote there cannot be told apart).
    """
    if not operators.enforced:
        return command
    if stream == keys.commands:
        raise Refused(
            f"refused: commands on the shared stream {keys.commands} are not accepted while "
            f"{operators.path} exists; send as your own Redis ACL user (its commands go to "
            f"{keys.operator_commands('<user>')}), see docs/operations.md"
        )
    user = stream.removeprefix(keys.operator_commands(""))
    if command.identity.user == user:
        return command
    # The claim is not the proof: the audit trail records the stream's user.
    return replace(command, identity=replace(command.identity, user=user))


def check_allowed(operators: Operators, command: Command, deployment: str) -> None:
    """Raises Refused unless the sender's role on `deployment` allows the action."""
    if not operators.enforced:
        return
    user, needed = command.identity.user, ACTION_ROLE[command.action]
    role = operators.role_of(user, deployment)
    if role is not None and ROLES.index(role) >= ROLES.index(needed):
        return
    on = f"deployment {deployment!r}" if deployment else "an unknown deployment"
    has = f"only {role}" if role else "no role"
    raise Refused(
        f"refused: {user} may not {command.action} on {on}: it needs {needed} and {user} has "
        f"{has} there ({operators.path})"
    )


async def check_command(
    operators: Operators, registry: Registry, prefect: PrefectClient, command: Command
) -> None:
    """Raises Refused unless the sender may carry out `command` (a retry or cancel is
    judged on the deployment of its run, read from Prefect)."""
    if not operators.enforced:
        return
    deployment = command.target
    if command.action in POOL_ACTIONS:
        deployment = ""  # a pool serves many deployments: only a grant on "*" covers it
    elif command.action in RUN_ACTIONS:
        try:
            run = await prefect.read_flow_run(UUID(command.target))
        except (ObjectNotFound, ValueError):
            deployment = ""  # only a grant on "*" covers it; the handler then says "no run"
        else:
            deployment = registry.name_of(str(run.deployment_id)) if run.deployment_id else ""
    check_allowed(operators, command, deployment)


def load_operators(config_dir: Path) -> Operators:
    """`config_dir/operators.yaml`, or the open mode if there is none.

    Raises:
        ConfigFileInvalid: every problem in the file, each naming its line and field.
    """
    path = config_dir / OPERATORS_FILE
    if not path.exists():
        return Operators.open_mode()
    check = read_checked(path)
    top = check.top(["operators"], expected="keys (operators)", empty="the file is empty")
    grants: dict[str, tuple[Grant, ...]] = {}
    entry = (top or {}).get("operators")
    if top is not None and entry is None and not check.errors:
        check.error(None, "operators", "required key is missing")
    if entry is not None and isinstance(entry.node, yaml.MappingNode):
        for user, user_entry in check.mapping(entry.node, "operators.", None).items():
            if not USER_NAME.match(user):
                check.error(
                    user_entry.key_line,
                    user_entry.key,
                    "must be a Redis ACL user name (letters, digits, . _ -)",
                )
                continue
            grants[user] = tuple(_grants(check, user_entry))
    elif entry is not None:
        check.expect(entry, dict)
    if check.errors:
        raise ConfigFileInvalid(check.sorted_errors())
    return Operators(grants, path)


def _grants(check: CheckedFile, entry: Entry) -> list[Grant]:
    if not isinstance(entry.node, yaml.SequenceNode):
        check.error(
            entry.value_line, entry.key, "must be a list of {deployments: GLOB, role: ROLE}"
        )
        return []
    found: list[Grant] = []
    for n, item in enumerate(entry.node.value):
        where = f"{entry.key}[{n}]"
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            check.error(line, where, "must be a mapping {deployments: GLOB, role: ROLE}")
            continue
        fields = check.mapping(item, f"{where}.", ["deployments", "role"])
        glob = check.expect(fields["deployments"], str) if "deployments" in fields else None
        role = check.expect(fields["role"], str) if "role" in fields else None
        for name in ("deployments", "role"):
            if name not in fields and not check.already_explained(f"{where}.{name}"):
                check.error(line, f"{where}.{name}", "required key is missing")
        if role is not None and role not in ROLES:
            check.error(
                fields["role"].value_line,
                f"{where}.role",
                f"unknown role {role!r}; roles: {', '.join(ROLES)}",
            )
            continue
        if glob is not None and role is not None:
            found.append(Grant(glob, role))
    return found
