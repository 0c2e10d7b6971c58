"""A cheap guard for issue 3's "pilot tests for every binding and command": every binding
id of the app and its screens, and every `:` command word (name and aliases), must be
named in a pilot test file under tests/console (one that runs the app with `run_test` or
`snap_compare`). It reads the test files' text; it cannot tell a good test from a mention,
but a new binding or command with no test at all fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from console.cmdline.registry import COMMANDS
from console.settings.keymap import known_bindings

HERE = Path(__file__).parent


def pilot_sources() -> dict[str, str]:
    """Text of each pilot test file (not this one), by file name."""
    found: dict[str, str] = {}
    for path in sorted(HERE.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        if "run_test(" in text or "snap_compare" in text:
            found[path.name] = text
    return found


def test_the_guard_sees_the_pilot_files() -> None:
    sources = pilot_sources()
    assert "test_every_binding.py" in sources and "test_command_line.py" in sources
    assert "test_formatting.py" not in sources  # pure logic, no app


def test_every_binding_id_is_named_in_a_pilot_test() -> None:
    sources = pilot_sources()
    missing = [
        binding_id
        for binding_id in sorted(known_bindings())
        if not any(f'"{binding_id}"' in text for text in sources.values())
    ]
    assert not missing, (
        f"binding ids with no pilot test: {', '.join(missing)}; add a case to "
        "tests/console/test_every_binding.py (CASES) or a pilot test naming the id"
    )


def command_named(word: str, text: str) -> bool:
    """`word` as a quoted command line: "logs", ":logs", "logs brave-otter", f"{w} x" no."""
    return re.search(rf"[\"']:?{re.escape(word)}[\"' ]", text) is not None


def test_every_command_word_is_typed_in_a_pilot_test() -> None:
    sources = pilot_sources()
    missing = [
        f":{word}"
        for command in COMMANDS
        for word in command.words
        if not any(command_named(word, text) for text in sources.values())
    ]
    assert not missing, (
        f"`:` commands never typed in a pilot test: {', '.join(missing)}; add one to "
        "tests/console/test_command_line.py"
    )


def test_command_named_matches_quoted_lines_only() -> None:
    assert command_named("logs", 'type_command(pilot, "logs brave-otter")')
    assert command_named("tl", 'pilot.press("colon", *"tl", "enter")')
    assert command_named("deploy", '["deploy", "dp"]')
    assert not command_named("deploy", "redeploy the flow")
    assert not command_named("th", '"theme"')
