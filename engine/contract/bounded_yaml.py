"""PyYAML with bounds: a loader that refuses deep nesting, a constructor that only fails with
YAML errors. The pieces `engine.contract.checked_yaml` reads every config file with.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

MAX_DEPTH = 50
"""How deeply mappings and lists may nest, aliases included. Config files nest a handful of
levels; the limit keeps every walk of the tree far from Python's recursion limit."""


def encodable(text: object) -> bool:
    try:
        str(text).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def problem_of(exc: yaml.YAMLError) -> str:
    """The sentence of a YAML error, without PyYAML's `in "<unicode string>", line 3` marks
    (the error has its own line)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [exc.problem or "", exc.context or ""]
        return "; ".join(p for p in parts if p) or type(exc).__name__
    return str(exc)


TOO_DEEP = (
    f"nested more than {MAX_DEPTH} levels deep; a config file needs a handful of levels, "
    "so flatten it"
)
TOO_DEEP_BY_ALIASES = (
    f"nested more than {MAX_DEPTH} levels deep, counting each alias (*name) as a copy of "
    "what it names; a config file needs a handful of levels, so use fewer aliases"
)


class BoundedConstructor(SafeConstructor):
    """PyYAML's safe constructor, with every failure a `ConstructorError` at the node's line:
    its own constructors raise ValueError (`2001-13-45`, a 5,000-digit number), KeyError
    (`!!bool maybe`), AttributeError (`!!timestamp x`) or IndexError (`!!int ''`)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, KeyError, AttributeError, IndexError, TypeError, OverflowError):
            tag = node.tag.rsplit(":", 1)[-1]
            shown = f"{node.value!r}" if isinstance(node, yaml.ScalarNode) else "the value"
            if len(shown) > 40:
                shown = shown[:37] + "..."
            raise ConstructorError(
                None,
                None,
                f"{shown} is not a valid {tag}; quote it if it is meant as text",
                node.start_mark,
            ) from None

    def refuse_tag(self, node: yaml.Node) -> Any:
        shown = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise ConstructorError(
            None,
            None,
            f"the tag {shown} is not allowed in a config file (plain values only); remove it",
            node.start_mark,
        )


# The stubs expect a loader class here; a constructor subclass is what PyYAML takes too.
BoundedConstructor.add_constructor(None, BoundedConstructor.refuse_tag)  # type: ignore[type-var]


class BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing to scan or compose deeper than `MAX_DEPTH` (PyYAML's composer
    recurses once per level: 1,000 `[` would end in RecursionError)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # Stop the scanner at the first `[` or `{` too many: it reads up to 1,024 characters
        # ahead, slower the more brackets are open (0.4 s for `[` * 1,000 before this).
        if self.flow_level >= MAX_DEPTH:
            raise NestedTooDeep(self.get_mark().line + 1)
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise NestedTooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class NestedTooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line
