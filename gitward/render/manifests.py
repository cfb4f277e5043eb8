"""YAML and JSON text to Kubernetes objects (plain dicts), with errors that point at the line.

Parsing uses PyYAML's C parser (``CSafeLoader``) for speed, with two changes
so that the dicts equal what Kubernetes' own YAML-to-JSON conversion produces:
timestamps stay strings (``date: 2024-01-01`` is text to the API server, and a
``datetime`` would not survive JSON), and non-string keys (``80: x``) become
strings. ``List`` objects are expanded into their items and empty documents
dropped, as Argo CD does before it compares anything.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from gitward._util.yamlload import KubeLoader
from gitward.render.errors import ManifestParseError


def load_documents(text: str, file: str) -> list[tuple[int, Any]]:
    """``(document number, data)`` for every document of ``text``, numbered from 1.

    Empty documents are included (as None) so that numbers match what a reader
    counts in the file. A syntax error is a :class:`ManifestParseError` with the
    file, the 1-based line and the document it is in.
    """
    docs: list[tuple[int, Any]] = []
    try:
        for data in yaml.load_all(text, Loader=KubeLoader):
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
