"""Plain manifests: the ``*.yaml``, ``*.yml`` and ``*.json`` files of a directory.

Follows Argo CD's directory source: ``*.yaml``, ``*.yml``, ``*.json`` and ``*.jsonnet``
files (the last evaluated by :mod:`gitward.render.jsonnet`) in lexical walk order
(subdirectories only with ``recurse``), ``include``/``exclude`` globs matched against
the path relative to the application directory, symlinked files followed only inside the
repository, symlinked directories not followed. A JSON file holds exactly one object. A
YAML file that does not parse at all *and* does not look like a manifest (it lacks any
of ``apiVersion:``, ``kind:``, ``metadata:``) is some other tool's config and is
skipped, as Argo CD skips it; anything else that is not a Kubernetes object is an error
naming the file, line and document.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from gitward._util.yamlload import load_all
from gitward.model.errors import RenderError
from gitward.model.source_spec import DirectorySpec
from gitward.render.errors import ManifestParseError, PathError
from gitward.render.globmatch import GlobSyntaxError, compile_glob
from gitward.render.manifests import (
    check_object,
    expand,
    load_documents,
    looks_like_manifest,
    objects_from,
)
from gitward.render.paths import display, inside

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def manifest_files(root: Path, app: Path, spec: DirectorySpec) -> list[tuple[str, Path]]:
    """``(path relative to app, real file)`` for every file the directory source loads."""
    include = _pattern(spec.include, "include")
    exclude = _pattern(spec.exclude, "exclude")
    found: list[tuple[str, Path]] = []

    def walk(directory: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise PathError(
                f"{display(root, directory)}: cannot list: {exc}", str(directory)
            ) from None
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if spec.recurse and entry.name != ".git":
                    walk(Path(entry.path), rel + "/")
                continue
            if not entry.name.endswith((*MANIFEST_SUFFIXES, ".jsonnet")):
                continue
            real = _real_file(root, Path(entry.path))
            if real is None:
                continue
            if exclude is not None and exclude.fullmatch(rel):
                continue
            if include is not None and not include.fullmatch(rel):
                continue
            found.append((rel, real))

    walk(app, "")
    return found


def _pattern(pattern: str, field: str) -> Any:
    if not pattern:
        return None
    try:
        return compile_glob(pattern)
    except GlobSyntaxError as exc:
        raise RenderError(
            f"spec.source.directory.{field} {pattern!r} is not a valid glob: {exc}"
        ) from None


def _real_file(root: Path, path: Path) -> Path | None:
    """The regular file behind ``path`` (following an in-repository symlink), or None to skip."""
    if not path.is_symlink():
        return path if path.is_file() else None
    try:
        real = path.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        return None
    if not inside(root, real):
        raise PathError(f"{display(root, path)}: symlink points outside the repository", str(path))
    return real if real.is_file() else None


def load_file(real: Path, name: str) -> list[dict[str, Any]]:
    """The objects in one manifest file; ``name`` is how errors call it (repo-relative)."""
    try:
        text = real.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestParseError(name, f"not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise ManifestParseError(name, f"cannot read: {exc.strerror}") from None
    if name.endswith(".json"):
        return _load_json(text, name)
    try:
        docs = load_documents(text, name)
        return objects_from(docs, name)
    except ManifestParseError:
        if not looks_like_manifest(text) and not _any_object_before_error(text):
            return []
        raise


def _any_object_before_error(text: str) -> bool:
    """Whether a valid object precedes the failing document (then the file is a manifest)."""
    try:
        for data in load_all(text):
            if data is None:
                continue
            return (
                isinstance(data, dict) and bool(data.get("apiVersion")) and bool(data.get("kind"))
            )
    except yaml.YAMLError:
        return False
    return False


def _no_constant(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")


def _load_json(text: str, name: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ManifestParseError(name, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise ManifestParseError(name, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # a number of more than 4,300 digits; NaN or Infinity
        raise ManifestParseError(name, f"invalid JSON: {exc}") from None
    check_object(data, name, None)
    return expand(data, name, None)


def render_directory(root: Path, app: Path, spec: DirectorySpec) -> list[dict[str, Any]]:
    """All objects of the YAML and JSON files of a directory source, in Argo CD's file order.

    Jsonnet files need a tool: :func:`gitward.render.core.render` evaluates them in place.
    """
    objects: list[dict[str, Any]] = []
    for rel, real in manifest_files(root, app, spec):
        if not rel.endswith(".jsonnet"):
            objects.extend(load_file(real, display(root, app / rel)))
    return objects
