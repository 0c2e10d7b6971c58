"""Checks console.yaml's `keymap:` against the console's real bindings before it starts.

The app applies the keymap with Textual's `App.set_keymap`, which silently ignores an id it
does not know and takes any key string; an operator's typo would then do nothing. So every
id must name a binding of some screen or widget (or the app), and every key must be one
Textual can deliver. Bindings are found by walking the console's modules, so a new screen's
ids are known without a list to keep.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import unicodedata
from functools import cache

from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import KEY_NAME_REPLACEMENTS, Keys, _normalize_key_list

from console.settings.console_yaml import ConsoleSettings, SettingsError

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})

_NAMED_KEYS = frozenset(
    key.value.rsplit("+", 1)[-1] for key in Keys if not key.value.startswith("<")
) | frozenset(KEY_NAME_REPLACEMENTS.values())
"""Key names Textual sends (`escape`, `f5`, `pageup`, `slash`, ...)."""


def known_bindings() -> dict[str, Binding]:
    """Every binding with an id in the console: id -> binding (its default keys)."""
    return {binding_id: binding for binding_id, (_owner, binding) in _bindings().items()}


@cache
def _bindings() -> dict[str, tuple[str, Binding]]:
    """Binding id -> (the class that declares it, the binding)."""
    import console.cmdline
    import console.logs
    import console.screens
    import console.widgets
    from console.app import ConsoleApp

    classes: list[type] = [ConsoleApp]
    for package in (console.screens, console.widgets, console.logs, console.cmdline):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            classes.extend(
                cls
                for _name, cls in inspect.getmembers(module, inspect.isclass)
                if issubclass(cls, DOMNode) and cls.__module__ == module.__name__
            )
    found: dict[str, tuple[str, Binding]] = {}
    for cls in classes:
        for binding in vars(cls).get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                found[binding.id] = (cls.__name__, binding)
    return found


def _key_set(keys: str) -> set[str]:
    return {_normalize_key_list(key) for key in keys.split(",") if key.strip()}


def key_problem(keys: str) -> str | None:
    """Why `keys` (comma-separated, e.g. `ctrl+t,T`) is not a key Textual can bind; None if
    every key is fine."""
    for key in (part.strip() for part in keys.split(",")):
        if not key:
            return f"{keys!r} has an empty key (a stray comma?)"
        *modifiers, name = key.split("+")
        bad = [m for m in modifiers if m not in MODIFIERS]
        if bad:
            return (
                f"{key!r}: unknown modifier {bad[0]!r}; use {', '.join(sorted(MODIFIERS))}"
                " joined with +"
            )
        if not _is_key_name(name):
            return (
                f"{key!r} is not a key: use one character (x, T, ?), a name such as "
                "escape, enter, tab, space, f5, pageup, slash, question_mark, or ctrl+x"
            )
    return None


def _is_key_name(name: str) -> bool:
    if len(name) == 1:
        return name.isprintable() and not name.isspace()
    if name in _NAMED_KEYS:
        return True
    try:  # `question_mark`, `colon`, `asterisk`: Textual names characters by Unicode name
        return len(unicodedata.lookup(name.replace("_", " "))) == 1 and name == name.lower()
    except KeyError:
        return False


def check_keymap(settings: ConsoleSettings) -> list[SettingsError]:
    """Every unknown binding id and invalid key of `settings.keymap`, as file:line errors."""
    if not settings.keymap:
        return []
    path = settings.source
    assert path is not None, "a keymap comes from a file"
    known = known_bindings()
    errors: list[SettingsError] = []
    for binding_id, keys in settings.keymap.items():
        line = settings.keymap_lines.get(binding_id)
        where = f"keymap.{binding_id}"
        if binding_id not in known:
            errors.append(SettingsError(path, line, where, _unknown_id(binding_id, known)))
            continue
        problem = key_problem(keys)
        if problem is not None:
            errors.append(SettingsError(path, line, where, problem))
            continue
        clash = _clash(binding_id, settings.keymap)
        if clash is not None:
            errors.append(SettingsError(path, line, where, clash))
    return errors


def _unknown_id(binding_id: str, known: dict[str, Binding]) -> str:
    """Names the nearest ids, and the ids of the same screen (the part before the dot)."""
    near = difflib.get_close_matches(binding_id, list(known), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(near)}? " if near else ""
    screen = binding_id.partition(".")[0]
    same = sorted(i for i in known if i.partition(".")[0] == screen)
    if same:
        listed = f"ids of {screen}: {', '.join(same)}"
    else:
        screens = sorted({i.partition(".")[0] for i in known})
        listed = f"ids start with one of: {', '.join(screens)}"
    return f"unknown binding id; {hint}{listed}"


def _clash(binding_id: str, keymap: dict[str, str]) -> str | None:
    """A sentence if `binding_id`'s new keys are taken by another binding of the same
    screen (or widget) that keeps them; Textual would silently pick one of the two."""
    owners = _bindings()
    owner, _binding = owners[binding_id]
    wanted = _key_set(keymap[binding_id])
    for other_id, (other_owner, other) in owners.items():
        if other_id == binding_id or other_owner != owner:
            continue
        taken = wanted & _key_set(keymap.get(other_id, other.key))
        if taken:
            key = sorted(taken)[0]
            return (
                f"{key!r} is already {other_id} ({other.description or other.action}) on "
                f"the same screen; remap {other_id} too, or pick another key"
            )
    return None
