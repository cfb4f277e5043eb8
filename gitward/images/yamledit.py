"""Change scalar values in a YAML file and nothing else: comments, order, quotes, indentation.

CI commits these edits, so the diff a reviewer sees must be the one line that
changed. Rather than load and re-dump the file (which re-indents, re-quotes and
re-wraps), the file is parsed with ruamel.yaml's round-trip loader to find each
value's line and column, and only those characters are replaced. The result is
parsed again and must equal the original with exactly the intended values
changed; anything else is refused, never written.

A new value keeps the old one's quoting. A value that YAML would read as
something other than a string when written plain (``1.10`` is a float,
``true`` a boolean) is written double-quoted, so a Helm ``tag: 1.10`` stays
the tag ``"1.10"``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from gitward.model.errors import ConfigError


class YamlEditError(ConfigError):
    """A YAML file that cannot be read, or an edit that would change more than intended."""


@dataclass(frozen=True)
class ScalarEdit:
    """Replace the scalar that starts at ``line``/``col`` (0-based) with ``value``."""

    line: int
    col: int
    value: str
    path: tuple[Any, ...]  # document index, then keys and indexes: for the check after


def load_round_trip(text: str, name: str) -> list[Any]:
    """Every document of ``text`` with positions (ruamel round-trip); errors name file:line."""
    yaml = YAML(typ="rt")
    try:
        return list(yaml.load_all(text))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise YamlEditError(f"{where}: {problem}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise YamlEditError(f"{name}: not valid YAML ({type(exc).__name__})") from None


def _load_plain(text: str, name: str) -> list[Any]:
    yaml = YAML(typ="safe", pure=True)
    try:
        return list(yaml.load_all(text))
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise YamlEditError(f"{name}: not valid YAML after the edit ({exc})") from None


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every ``(path, node)`` below ``node``, depth first, mappings and sequences alike."""
    yield path, node
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, CommentedSeq):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def value_position(parent: CommentedMap | CommentedSeq, key: Any) -> tuple[int, int]:
    """Line and column (0-based) where the value of ``parent[key]`` starts."""
    if isinstance(parent, CommentedMap):
        line, col = parent.lc.value(key)
    else:
        line, col = parent.lc.item(key)
    return int(line), int(col)


def _plain_is_string(value: str) -> bool:
    """Whether ``value`` written plain reads back as that same string."""
    if not value or value != value.strip() or value[0] in "!&*-?[]{},#|>@`\"'%":
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    loaded = YAML(typ="safe", pure=True).load(value)
    return isinstance(loaded, str) and loaded == value


def _render(value: str, quote: str) -> str:
    if quote == "'" and "'" not in value:
        return f"'{value}'"
    if quote in ("'", '"') or not _plain_is_string(value):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return value


def _span(line_text: str, col: int) -> tuple[int, str]:
    """End column (exclusive) of the scalar starting at ``col``, and its quote character."""
    first = line_text[col : col + 1]
    if first in ("'", '"'):
        i = col + 1
        while i < len(line_text):
            ch = line_text[i]
            if first == '"' and ch == "\\":
                i += 2
                continue
            if ch == first:
                if first == "'" and line_text[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return i + 1, first
            i += 1
        raise YamlEditError("a quoted value spans several lines; edit it by hand")
    end = len(line_text)
    comment = line_text.find(" #", col)
    if comment != -1:
        end = comment
    return len(line_text[:end].rstrip()), ""


def splice(text: str, edits: list[ScalarEdit], name: str) -> str:
    """``text`` with each edit's scalar replaced, checked by parsing the result."""
    if not edits:
        return text
    lines = text.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: (e.line, e.col), reverse=True):
        if edit.line >= len(lines):
            raise YamlEditError(f"{name}:{edit.line + 1}: no such line")
        raw = lines[edit.line]
        body = raw.rstrip("\r\n")
        end, quote = _span(body, edit.col)
        lines[edit.line] = (
            body[: edit.col] + _render(edit.value, quote) + body[end:] + raw[len(body) :]
        )
    result = "".join(lines)
    _check(text, result, edits, name)
    return result


def _set(tree: Any, path: tuple[Any, ...], value: str) -> None:
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _check(before: str, after: str, edits: list[ScalarEdit], name: str) -> None:
    """The edited file must parse to the original with exactly the edited values changed."""
    expected = _load_plain(before, name)
    for edit in edits:
        _set(expected, edit.path, edit.value)
    if _load_plain(after, name) != expected:
        raise YamlEditError(
            f"{name}: the edit would change more than the intended values; edit it by hand"
        )


def dump_round_trip(docs: list[Any]) -> str:
    """Documents dumped by ruamel (for structural edits such as a new key), block style."""
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.width = 4096
    buf = io.StringIO()
    yaml.dump_all(docs, buf)
    return buf.getvalue()
