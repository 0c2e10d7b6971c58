"""docs/redis-keys.md and the contract's structs describe the same documents.

Each documented example is preceded by `<!-- struct: Name -->`; its JSON must list exactly
the struct's fields (nested structs too) and decode into the struct.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from engine.contract.commands import CommandResult
from engine.contract.documents import STRUCTS, Lineage, TaskRun, decode_strict
from engine.contract.history import RunPage, RunQuery

DOC = Path(__file__).resolve().parents[2] / "docs" / "redis-keys.md"
EXAMPLE = re.compile(r"<!-- struct: (\w+) -->\s*```json\n(.*?)\n```", re.S)
DOCUMENTED: tuple[type[msgspec.Struct], ...] = (*STRUCTS, CommandResult, RunQuery, RunPage)


def examples(text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, body in EXAMPLE.findall(text):
        assert name not in found, f"docs/redis-keys.md has two examples of {name}"
        found[name] = json.loads(body)
    return found


def _struct_of(info: mi.Type) -> tuple[mi.StructType | None, bool]:
    """The struct inside a field's type (Optional and list unwrapped), and whether a list."""
    if isinstance(info, mi.UnionType):
        for member in info.types:
            struct, many = _struct_of(member)
            if struct is not None:
                return struct, many
        return None, False
    if isinstance(info, mi.ListType):
        struct, _ = _struct_of(info.item_type)
        return struct, struct is not None
    return (info, False) if isinstance(info, mi.StructType) else (None, False)


def mismatches(struct: mi.StructType, example: dict[str, Any], where: str) -> list[str]:
    fields = {f.encode_name: f for f in struct.fields}
    problems = [f"{where}.{name}: not documented" for name in fields if name not in example]
    problems += [
        f"{where}.{name}: documented, not in the struct" for name in example if name not in fields
    ]
    for name, field in fields.items():
        nested, many = _struct_of(field.type)
        value = example.get(name)
        if nested is None or value is None:
            continue
        items = value if many else [value]
        for item in items[:1]:
            problems += mismatches(nested, item, f"{where}.{name}")
    return problems


def test_every_struct_has_one_documented_example() -> None:
    found = examples(DOC.read_text())
    assert sorted(found) == sorted(kind.__name__ for kind in DOCUMENTED)


@pytest.mark.parametrize("kind", DOCUMENTED, ids=lambda kind: kind.__name__)
def test_the_example_lists_exactly_the_struct_fields(kind: type[msgspec.Struct]) -> None:
    example = examples(DOC.read_text())[kind.__name__]
    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    assert mismatches(info, example, kind.__name__) == []
    # And its values have the documented types.
    decode_strict(json.dumps(example), kind, f"docs/redis-keys.md {kind.__name__}")


def test_the_check_finds_a_missing_and_an_extra_field() -> None:
    text = DOC.read_text()
    broken = text.replace('"task_key": "...",', '"task_kee": "...",', 1)
    assert broken != text
    info = mi.type_info(TaskRun)
    assert isinstance(info, mi.StructType)
    assert mismatches(info, examples(broken)["TaskRun"], "TaskRun") == [
        "TaskRun.task_key: not documented",
        "TaskRun.task_kee: documented, not in the struct",
    ]
    nested = text.replace('"cache_hit": true,', '"cache_hit": true, "extra": 1,', 1)
    assert nested != text
    lineage = mi.type_info(Lineage)
    assert isinstance(lineage, mi.StructType)
    assert mismatches(lineage, examples(nested)["Lineage"], "Lineage") == [
        "Lineage.tasks.extra: documented, not in the struct"
    ]
