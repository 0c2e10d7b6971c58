"""Architecture rules, checked in fresh interpreters so earlier imports cannot hide a leak."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("prefect", "pandas", "pyarrow")
UI = ("textual", "console", "themes")

LIGHT_ENGINE_PACKAGES = ("engine.contract", "engine.stack")
"""What the console may import of the engine (pyproject's import-linter allow-list)."""


def loaded_after_importing(modules: list[str], watch: tuple[str, ...]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in {watch!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def all_modules(package: str) -> list[str]:
    code = (
        "import json, pkgutil, importlib\n"
        f"pkg = importlib.import_module({package!r})\n"
        "found = pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.')\n"
        "print(json.dumps([m.name for m in found]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return [package, *json.loads(out.stdout)]


def test_engine_light_packages_do_not_import_prefect_pandas_or_pyarrow() -> None:
    # The console imports these; they must stay stdlib + redis (+ PyYAML for checked_yaml).
    modules = [m for package in LIGHT_ENGINE_PACKAGES for m in all_modules(package)]
    assert "engine.contract.documents" in modules and "engine.stack.launcher" in modules
    assert loaded_after_importing(modules, HEAVY) == []


def test_engine_never_imports_ui() -> None:
    modules = all_modules("engine")
    assert "engine.serve.engine" in modules and "engine.pipeline.inference" in modules
    assert loaded_after_importing(modules, UI) == []


def test_the_check_itself_can_fail() -> None:
    assert loaded_after_importing(["engine.pipeline.flows"], HEAVY) == [
        "pandas",
        "prefect",
        "pyarrow",
    ]


CONTRACT_MAY_IMPORT = frozenset({"redis", "yaml", "msgspec", "croniter", "platformdirs"})
"""Besides the standard library and itself: what engine/contract may import (it must stay
light for the console's cold start, and import nothing else of the engine). platformdirs
(paths.py: the user config dir) is pure Python, a few milliseconds, and Textual loads it
anyway."""


def contract_imports() -> dict[str, set[str]]:
    """Top-level names each engine/contract module imports (from its source)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "engine" / "contract"
    found: dict[str, set[str]] = {}
    for path in sorted(root.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[path.name] = names
    return found


def test_the_contract_imports_only_the_stdlib_its_light_libraries_and_itself() -> None:
    found = contract_imports()
    assert "documents.py" in found and "msgspec" in found["documents.py"]
    stray = {
        module: sorted(
            name
            for name in names
            if name.split(".")[0] not in sys.stdlib_module_names
            and name.split(".")[0] not in CONTRACT_MAY_IMPORT
            and name != "__future__"
            and not name.startswith("engine.contract")
        )
        for module, names in found.items()
    }
    assert {module: names for module, names in stray.items() if names} == {}
