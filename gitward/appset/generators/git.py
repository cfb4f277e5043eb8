"""The ``git`` generator: parameters from a repository's directories or files.

- ``directories``: every directory of the commit (dot-directories and what is
  below them skipped, symlinks never followed) that some ``path`` pattern
  matches (Go's ``path.Match``) and no ``exclude: true`` pattern does. Params:
  ``path``, ``path.basename``, ``path.basenameNormalized``, ``path[n]`` (fast)
  or ``path.segments`` (goTemplate), and ``commitSHA``.
- ``files``: every file that a ``path`` pattern lists as ``git ls-files``
  would (``*`` crosses ``/``), minus ``exclude`` patterns; each is parsed as
  YAML or JSON, an object or a list of objects, each object one set. In
  fasttemplate mode its values are flattened (``a.b.0``) and printed as Go's
  ``%v``; ``path.filename`` and ``path.filenameNormalized`` are added.
- ``pathParamPrefix`` nests ``path``/``commitSHA`` under a prefix; ``values``
  are templated with each set's own params.

The repository is read through the same :class:`~gitward.source.GitSource`
(URL policy, credentials, mirrors, trees) as Applications; files are read only
inside the checked-out tree — a symlink pointing out of it is an error naming
the file, never a read of the controller's disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import posixpath
from pathlib import Path
from typing import Any

import yaml

from gitward.appset.generators.base import Context, GeneratorError, mapping, templated_values
from gitward.appset.match import PatternError, path_match, pathspec_match
from gitward.appset.params import Params, flatten, go_text, sanitize_name
from gitward.appset.yamlparse import load_go_yaml
from gitward.model.errors import GitwardError
from gitward.model.repourl import normalize_url

#: Argo CD's default: a git generator is looked at again every 3 minutes.
DEFAULT_REQUEUE_SECONDS = 180.0
#: Largest file the files generator parses (a parameter file, not a data set).
MAX_FILE_BYTES = 4 << 20


def _items(spec: dict[str, Any], key: str, where: str) -> list[tuple[str, bool]]:
    raw = spec.get(key) or []
    if not isinstance(raw, list):
        raise GeneratorError(f"{where}.{key}", "expected a list")
    out = []
    for i, item in enumerate(raw):
        item = mapping(item, f"{where}.{key}[{i}]")
        pattern = item.get("path")
        if not isinstance(pattern, str) or not pattern:
            raise GeneratorError(f"{where}.{key}[{i}].path", "required")
        out.append((pattern, bool(item.get("exclude"))))
    return out


def filter_directories(patterns: list[tuple[str, bool]], paths: list[str]) -> list[str]:
    """Directories some include pattern matches and no exclude pattern does."""
    out = []
    for path in paths:
        included = excluded = False
        for pattern, exclude in patterns:
            try:
                matched = path_match(pattern, path)
            except PatternError:
                continue  # Argo CD logs a malformed pattern and skips it
            if matched and exclude:
                excluded = True
            elif matched:
                included = True
        if included and not excluded:
            out.append(path)
    return out


def _path_params(
    path: str, sha: str, prefix: str, go_template: bool, filename: str | None
) -> Params:
    """``path`` (a directory, or a file's directory), its parts and ``commitSHA``."""
    basename = posixpath.basename(path)
    if go_template:
        nested: Params = {
            "path": path,
            "basename": basename,
            "basenameNormalized": sanitize_name(basename),
            "segments": path.split("/"),
        }
        if filename is not None:
            nested["filename"] = filename
            nested["filenameNormalized"] = sanitize_name(filename)
        if prefix:
            return {prefix: {"path": nested, "commitSHA": sha}}
        return {"path": nested, "commitSHA": sha}
    name = f"{prefix}.path" if prefix else "path"
    params: Params = {
        f"{prefix}.commitSHA" if prefix else "commitSHA": sha,
        name: path,
        f"{name}.basename": basename,
        f"{name}.basenameNormalized": sanitize_name(basename),
    }
    if filename is not None:
        params[f"{name}.filename"] = filename
        params[f"{name}.filenameNormalized"] = sanitize_name(filename)
    for i, segment in enumerate(path.split("/")):
        if segment:
            params[f"{name}[{i}]"] = segment
    return params


def parse_parameter_file(data: bytes, where: str) -> list[dict[str, Any]]:
    """A YAML or JSON file as a list of objects: a list of mappings, or one mapping.

    Numbers become floats, as Go decodes every JSON number to float64: ``3`` still
    prints as ``3`` and ``1e6`` as ``1e+06``, as in Argo CD.
    """
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise GeneratorError(where, f"unable to parse file: {exc}") from None
    try:
        loaded: Any = json.loads(text, parse_int=float)
    except ValueError:
        try:
            loaded = load_go_yaml(text)
        except yaml.YAMLError as exc:
            raise GeneratorError(where, f"unable to parse file: {exc}") from None
    if loaded is None:
        return []
    if isinstance(loaded, dict):
        return [loaded]
    if isinstance(loaded, list) and all(isinstance(o, dict) for o in loaded):
        return list(loaded)
    raise GeneratorError(where, "unable to parse file: expected a mapping or a list of mappings")


def _read_inside(root: Path, rel: str, where: str) -> bytes:
    path = root / rel
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(Path(os.path.realpath(root))):
        raise GeneratorError(where, f"{rel} is a symlink pointing outside the repository")
    if not real.is_file():
        raise GeneratorError(where, f"{rel} is not a regular file")
    if real.stat().st_size > MAX_FILE_BYTES:
        raise GeneratorError(where, f"{rel} is larger than {MAX_FILE_BYTES} bytes")
    return real.read_bytes()


async def generate(ctx: Context, spec: Any, where: str) -> list[Params]:
    spec = mapping(spec, where)
    url = spec.get("repoURL")
    if not isinstance(url, str) or not url:
        raise GeneratorError(f"{where}.repoURL", "required")
    revision = spec.get("revision") or "HEAD"
    if not isinstance(revision, str):
        raise GeneratorError(f"{where}.revision", "expected a string")
    prefix = spec.get("pathParamPrefix") or ""
    if not isinstance(prefix, str):
        raise GeneratorError(f"{where}.pathParamPrefix", "expected a string")
    directories = _items(spec, "directories", where)
    files = _items(spec, "files", where)
    if not directories and not files:
        raise GeneratorError(where, "set directories or files")
    requeue = spec.get("requeueAfterSeconds")
    ctx.requeue(float(requeue) if isinstance(requeue, int | float) else DEFAULT_REQUEUE_SECONDS)
    ctx.repos[normalize_url(url)] = revision
    try:
        async with ctx.sources.checkout(url, revision) as tree:
            # The walk and the reads touch the disk: off the event loop.
            dirs, all_files = await asyncio.to_thread(ctx.listings.listing, tree.path, tree.sha)
            if directories:
                found = filter_directories(directories, dirs)
                sets = [_path_params(p, tree.sha, prefix, ctx.go_template, None) for p in found]
            else:
                sets = await asyncio.to_thread(
                    _file_params,
                    ctx.go_template,
                    tree.path,
                    tree.sha,
                    all_files,
                    files,
                    prefix,
                    where,
                )
    except GeneratorError:
        raise
    except GitwardError as exc:
        raise GeneratorError(where, str(exc)) from None
    return await templated_values(ctx, spec.get("values"), sets, where)


def _file_params(
    go_template: bool,
    root: Path,
    sha: str,
    all_files: list[str],
    patterns: list[tuple[str, bool]],
    prefix: str,
    where: str,
) -> list[Params]:
    includes = [p for p, exclude in patterns if not exclude]
    excludes = [p for p, exclude in patterns if exclude]
    chosen = sorted(
        {
            f
            for f in all_files
            if any(pathspec_match(p, f) for p in includes)
            and not any(pathspec_match(p, f) for p in excludes)
        }
    )
    sets: list[Params] = []
    for rel in chosen:
        file_where = f"{where}: file {rel}"
        objects = parse_parameter_file(_read_inside(root, rel, file_where), file_where)
        directory = posixpath.dirname(rel) or "."
        for obj in objects:
            path = _path_params(directory, sha, prefix, go_template, posixpath.basename(rel))
            if go_template:
                params: Params = dict(obj)
                params.update(path)
            else:
                params = {k: go_text(v) for k, v in flatten(obj).items()}
                params.update(path)
            sets.append(params)
    return sets
