"""docs/architecture.md is held to the tree: every package drawn, every key's writer named."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from engine.contract.keys import Keys

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text()


def diagram() -> str:
    return DOC.split("```", 2)[1]


def packages(tree: str) -> list[str]:
    return sorted(p.parent.name for p in (ROOT / tree).glob("*/__init__.py"))


def key_names() -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(Keys)
        if not name.startswith("_") and (isinstance(member, property) or inspect.isfunction(member))
    )


def writer_rows() -> dict[str, str]:
    section = DOC.split("## Who writes each key", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|", section, flags=re.M)
    return dict(rows)


def test_every_package_of_both_trees_is_drawn() -> None:
    drawn = diagram()
    for tree in ("engine", "console"):
        assert packages(tree), tree
        missing = [p for p in packages(tree) if f" {p}/ " not in drawn]
        assert missing == [], f"{tree} packages not in docs/architecture.md's diagram"


def test_the_diagram_draws_no_package_that_is_gone() -> None:
    box = ""
    drawn: dict[str, set[str]] = {"engine": set(), "console": set()}
    for line in diagram().splitlines():
        if "-- engine/ --" in line:
            box = "engine"
        elif "-- console/ --" in line:
            box = "console"
        elif box and (m := re.match(r"^ \|  (\w+)/ ", line)):
            drawn[box].add(m.group(1))
    for tree, names in drawn.items():
        assert names and names <= set(packages(tree)), tree


def test_every_key_has_one_writer_row_naming_a_module_that_exists() -> None:
    rows = writer_rows()
    assert sorted(rows) == key_names()
    for key, writer in rows.items():
        # The cell opens with the one writing module; who calls it may follow in brackets.
        module = re.match(r"`((?:engine|console)/[\w/]+\.py)`", writer)
        assert module, f"{key}: the row must open with the writing module"
        assert (ROOT / module.group(1)).is_file(), f"{key}: {module.group(1)} does not exist"
