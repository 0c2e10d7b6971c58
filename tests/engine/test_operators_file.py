"""config/operators.yaml: who may do what; errors name file, line and field (pure logic: the
engine's refusals against real Redis ACLs are in tests/integration/test_operator_acl.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.commands.permissions import (
    Operators,
    Refused,
    check_allowed,
    load_operators,
    sender_of,
)
from engine.contract.checked_yaml import ConfigFileInvalid
from engine.contract.commands import Command
from engine.contract.identity import Identity
from engine.contract.keys import Keys

GOOD = """\
operators:
  ana:
    - {deployments: "nightly-*", role: operate}
    - {deployments: "*", role: view}
  bob:
    - {deployments: "*", role: admin}
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "operators.yaml").write_text(text)
    return tmp_path / "operators.yaml"


def errors_of(tmp_path: Path, text: str) -> list[str]:
    write(tmp_path, text)
    with pytest.raises(ConfigFileInvalid) as caught:
        load_operators(tmp_path)
    return [str(error) for error in caught.value.errors]


def test_no_file_is_open_mode_with_the_local_user_as_admin(tmp_path: Path) -> None:
    operators = load_operators(tmp_path)
    assert not operators.enforced
    assert operators.role_of(Identity.current().user, "anything") == "admin"
    assert operators.streams(Keys("p")) == ["p:commands"]
    someone = Command("pause", "x", identity=Identity("someone", "h"))
    check_allowed(operators, someone, "x")  # open mode refuses nothing, as before


def test_roles_per_glob_and_the_highest_matching_one_wins(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    operators = load_operators(tmp_path)
    assert operators.role_of("ana", "nightly-sales") == "operate"
    assert operators.role_of("ana", "weekly") == "view"
    assert operators.role_of("bob", "weekly") == "admin"
    assert operators.role_of("eve", "weekly") is None
    assert operators.streams(Keys("p")) == ["p:commands", "p:commands:ana", "p:commands:bob"]
    check_allowed(
        operators, Command("trigger", "nightly-a", identity=Identity("ana", "h")), "nightly-a"
    )
    with pytest.raises(
        Refused, match="ana may not pause on deployment 'nightly-a': it needs admin"
    ):
        check_allowed(
            operators, Command("pause", "nightly-a", identity=Identity("ana", "h")), "nightly-a"
        )
    with pytest.raises(Refused, match=r"eve may not trigger .* and eve has no role there"):
        check_allowed(operators, Command("trigger", "w", identity=Identity("eve", "h")), "w")


def test_the_stream_not_the_claim_names_the_sender(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    operators, keys = load_operators(tmp_path), Keys("p")
    claimed = Command("trigger", "x", identity=Identity("bob", "laptop", "10.0.0.9"))
    proven = sender_of(operators, keys, "p:commands:ana", claimed)
    assert proven.identity == Identity("ana", "laptop", "10.0.0.9")
    with pytest.raises(Refused, match="shared stream p:commands are not accepted"):
        sender_of(operators, keys, "p:commands", claimed)
    assert sender_of(Operators.open_mode(), keys, "p:commands", claimed) is claimed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "operators.yaml: the file is empty"),
        ("people: {}\n", "operators.yaml:1: people: unknown key"),
        ("operators: [ana]\n", "operators.yaml:1: operators: must be a mapping"),
        ("operators:\n  ana: admin\n", "operators.yaml:2: operators.ana: must be a list"),
        (
            "operators:\n  ana:\n    - {deployments: '*', role: boss}\n",
            "operators.yaml:3: operators.ana[0].role: unknown role 'boss'; roles: view, operate, "
            "admin",
        ),
        (
            "operators:\n  ana:\n    - {deployments: '*'}\n",
            "operators.yaml:3: operators.ana[0].role: required key is missing",
        ),
        (
            "operators:\n  ana:\n    - {deployments: 7, role: view}\n",
            "operators.yaml:3: operators.ana[0].deployments: must be a string",
        ),
        (
            "operators:\n  'a:b':\n    - {deployments: '*', role: view}\n",
            "operators.yaml:2: operators.a:b: must be a Redis ACL user name",
        ),
        (
            "operators:\n  ana:\n    - {deploymnts: '*', role: view}\n",
            "operators.yaml:3: operators.ana[0].deploymnts: unknown key; did you mean "
            "'deployments'?",
        ),
    ],
)
def test_errors_name_the_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    errors = errors_of(tmp_path, text)
    assert any(expected in error for error in errors), errors
    assert all(error.startswith(str(tmp_path / "operators.yaml")) for error in errors)


def test_validate_checks_the_operators_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli.main import cmd_validate

    (tmp_path / "deployments").mkdir()
    write(tmp_path, "operators:\n  ana:\n    - {deployments: '*', role: boss}\n")
    assert cmd_validate(tmp_path) == 1
    assert "operators.yaml:3: operators.ana[0].role: unknown role 'boss'" in capsys.readouterr().err
    write(tmp_path, GOOD)
    assert cmd_validate(tmp_path) == 0
    assert f"ok: {tmp_path / 'operators.yaml'}: 2 operator(s)" in capsys.readouterr().out
