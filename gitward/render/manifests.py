"""YAML and JSON text to Kubernetes objects (plain dicts), with errors that point at the line.

Parsing uses PyYAML's C parser (``CSafeLoader``) for speed, through
gitward._util.yamlload so that the dicts equal what Kubernetes' own
YAML-to-JSON conversion produces (timestamps stay strings, keys are strings)
and anything JSON cannot hold (``!!binary``, ``.inf``, alias bombs) is an
error with its line. ``List`` objects are expanded into their items and empty documents
dropped, as Argo CD does before it compares anything.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from gitward._util.yamlload import load_all
from gitward.render.errors import ManifestParseError


def load_documents(text: str, file: str) -> list[tuple[int, Any]]:
    """``(document number, data)`` for every document of ``text``, numbered from 1.

    Empty documents are included (as None) so that numbers match what a reader
    counts in the file. A syntax error is a :class:`ManifestParseError` with the
    file, the 1-based line and the document it is in.
    """
    docs: list[tuple[int, Any]] = []
    try:
        for data in load_all(text):
            docs.append((len(docs) + 1, data))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        raise ManifestParseError(
            file, f"invalid YAML: {problem}", line=line, document=len(docs) + 1
        ) from None
    return docs


def check_object(data: Any, file: str, document: int | None, item: int | None = None) -> None:
    """Raise unless ``data`` is a mapping with non-empty string ``apiVersion`` and ``kind``."""
    what = "" if item is None else f"items[{item}]: "
    if not isinstance(data, dict):
        raise ManifestParseError(
            file,
            f"{what}expected a Kubernetes object (a mapping), got {type(data).__name__}",
            document=document,
        )
    missing = [
        key for key in ("apiVersion", "kind") if not isinstance(data.get(key), str) or not data[key]
    ]
    if missing:
        raise ManifestParseError(
            file,
            f"{what}not a Kubernetes object: {' and '.join(missing)} missing or not a string",
            document=document,
        )
    problem = _metadata_problem(data.get("metadata"))
    if problem:
        raise ManifestParseError(
            file, f"{what}{data['kind']}: metadata{problem}", document=document
        )


def _metadata_problem(meta: Any) -> str:
    """What is wrong with an object's ``metadata`` (empty when nothing is).

    Everything downstream reads names and labels as strings and maps; a
    manifest that says ``metadata: []`` or ``name: 5`` is refused here, with
    the file, rather than failing far away as a type error.
    """
    if meta is None:
        return ""
    if not isinstance(meta, dict):
        return f": expected a mapping, got {_type(meta)}"
    for key in ("name", "namespace", "generateName"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            return f".{key}: expected a string, got {_type(meta[key])}"
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            return f".{key}: expected a mapping, got {_type(value)}"
        for name, text in value.items():
            if not isinstance(text, str):
                return f".{key}.{name}: expected a string, got {_type(text)} (quote it)"
    return ""


def _type(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else f"a number ({value!r})"[:40]
    )


def expand(obj: dict[str, Any], file: str, document: int | None) -> list[dict[str, Any]]:
    """``obj`` itself, or the items of a ``*List`` (a null ``items`` is an empty list)."""
    kind = obj["kind"]
    if not kind.endswith("List") or "items" not in obj:
        return [obj]
    items = obj["items"]
    if items is None:
        return []
    if not isinstance(items, list):
        return [obj]
    for index, item in enumerate(items):
        check_object(item, file, document, index)
    return list(items)


def objects_from(docs: list[tuple[int, Any]], file: str) -> list[dict[str, Any]]:
    """Validate and expand the documents of one file or one tool output."""
    out: list[dict[str, Any]] = []
    for number, data in docs:
        if data is None:
            continue
        check_object(data, file, number)
        out.extend(expand(data, file, number))
    return out


def parse_stream(text: str, origin: str) -> list[dict[str, Any]]:
    """The objects in a tool's output (``origin`` names the command in errors).

    When a document is bad, Helm's ``# Source: chart/templates/x.yaml`` comment
    above it is named too, because that template is what the user must fix.
    """
    try:
        return objects_from(load_documents(text, origin), origin)
    except ManifestParseError as exc:
        source = _helm_source(text, exc.document)
        if source is None:
            raise
        raise ManifestParseError(
            f"{origin} ({source})", exc.detail, line=exc.line, document=exc.document
        ) from None


_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
_SOURCE = re.compile(r"^# Source: (\S.*)$", re.MULTILINE)


def _helm_source(text: str, document: int | None) -> str | None:
    if document is None:
        return None
    chunks = _SEPARATOR.split(text)
    if chunks and not chunks[0].strip():
        chunks = chunks[1:]
    if document - 1 >= len(chunks):
        return None
    match = _SOURCE.search(chunks[document - 1])
    return match.group(1).strip() if match else None


def looks_like_manifest(text: str) -> bool:
    """Argo CD's test for whether a YAML file that fails to parse was meant as a manifest."""
    return "apiVersion:" in text and "kind:" in text and "metadata:" in text
