"""Validation helpers for YAML files: line numbers, a problem collector, field checks.

Every check adds a :class:`~chainatlas.errors.Problem` (file, YAML line, field, reason) to a
collector instead of raising, so one pass reports every problem of a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from chainatlas.errors import Problem

SLUG = re.compile(r"^[a-z0-9_-]+$")
# Characters that mean a user typed several keywords as one (原料药，中间体).
SEPARATORS = (",", "，", "、", ";", "；")


class Lines:
    """Finds YAML line numbers (1-based) of values by path, from the composed node tree."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def of(self, *path: str | int) -> int | None:
        """Line of the value at ``path`` (mapping keys / sequence indexes), or the nearest
        enclosing value that exists."""
        node = self.root
        if node is None:
            return None
        for step in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == step:
                        child = value
                        break
            elif (isinstance(node, yaml.SequenceNode) and isinstance(step, int)
                  and 0 <= step < len(node.value)):
                child = node.value[step]
            if child is None:
                break
            node = child
        return int(node.start_mark.line) + 1


class Collector:
    """Accumulates problems for one file."""

    def __init__(self, file: str, lines: Lines) -> None:
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, field_name: str | None, reason: str, *path: str | int) -> None:
        row = self.lines.of(*path) if path else None
        self.problems.append(Problem(self.file, row, field_name, reason))


def read_yaml(path: Path, out: Collector) -> Any:
    """Parse the file; record a problem and return None when it cannot be read/parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        out.add(None, f"cannot read the template file: {exc}")
        return None
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = int(mark.line) + 1 if mark is not None else None
        detail = getattr(exc, "problem", None) or str(exc)
        out.problems.append(Problem(out.file, row, None, f"not valid YAML: {detail}"))
        return None
    out.lines.root = root
    check_duplicate_keys(out, root)
    return data


def check_duplicate_keys(out: Collector, root: yaml.Node | None) -> None:
    """Report mapping keys written twice (YAML silently keeps only the last one)."""
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        out.problems.append(Problem(
                            out.file, int(key.start_mark.line) + 1, str(key.value),
                            f"key {key.value!r} appears twice in the same mapping; only the "
                            "last one would count"))
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def nonempty_str(value: Any) -> bool:
    """True for a string with visible characters."""
    return isinstance(value, str) and bool(value.strip())


def type_name(value: Any) -> str:
    """A YAML-flavoured name of a value's type, for messages."""
    if value is None:
        return "nothing"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def check_text(out: Collector, obj: Mapping[str, Any], key: str, where: str,
                path: tuple[str | int, ...], required: bool) -> str | None:
    """Validate a text field; return it stripped, or None when missing/bad."""
    if key not in obj or obj[key] is None:
        if required:
            out.add(where, f"required field {key!r} is missing", *path)
        return None
    value = obj[key]
    if not isinstance(value, str):
        out.add(where, f"must be a text string, got {type_name(value)}", *path, key)
        return None
    if not value.strip():
        out.add(where, "must not be empty", *path, key)
        return None
    return value.strip()


def check_slug(out: Collector, value: str | None, where: str,
                path: tuple[str | int, ...]) -> bool:
    """Check an id is an ASCII slug; record a problem and return False if not."""
    if value is None:
        return False
    if not SLUG.match(value):
        out.add(where, f"id {value!r} is not a valid slug: use only lowercase ascii "
                       "letters, digits, '_' and '-'", *path)
        return False
    return True


def check_list(out: Collector, obj: Mapping[str, Any], key: str, where: str,
                path: tuple[str | int, ...]) -> tuple[str, ...]:
    """Validate an optional list of strings (keywords, exclude, codes)."""
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        out.add(where, f"must be a list of strings, got {type_name(value)}", *path, key)
        return ()
    items: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            out.add(where, f"item {i} must be a string, got {type_name(item)}",
                    *path, key, i)
            continue
        if isinstance(item, int):
            hint = " (codes must be quoted, e.g. \"0111\", or YAML drops leading zeros)"
            out.add(where, f"item {i} ({item}) must be a quoted string{hint}", *path, key, i)
            continue
        text = item.strip()
        if not text:
            out.add(where, f"item {i} is empty", *path, key, i)
            continue
        if any(sep in text for sep in SEPARATORS):
            out.add(where, f"item {i} ({text!r}) contains a separator; write one term per "
                           "list item, e.g. [原料药, 中间体]", *path, key, i)
            continue
        if text in seen:
            out.add(where, f"{text!r} is listed twice", *path, key, i)
            continue
        seen.add(text)
        items.append(text)
    return tuple(items)
