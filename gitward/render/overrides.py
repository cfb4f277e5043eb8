"""Argo CD's parameter override files: ``.argocd-source.yaml`` and ``.argocd-source-<app>.yaml``.

Argo CD's repo server merges these files, found in the application's path,
into the Application's source before rendering; Argo CD Image Updater's git
write-back (and ``gitward image set --kind write-back``) maintains them. The
merge is a JSON merge patch (RFC 7386) of the file over the source, the shared
file first, then the app's own; the repository, path, chart and revision always
stay the Application's. A file that does not parse is an error naming it —
never silently ignored, since it may hold the image a deploy is waiting for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitward.model.errors import ConfigError, RenderError
from gitward.model.source_spec import ApplicationSource, parse_source
from gitward.render.paths import display, inside

SHARED_FILE = ".argocd-source.yaml"
MAX_OVERRIDE_BYTES = 1 << 20


def app_file(app_name: str) -> str:
    """The per-app file name (the name without an ``ns_`` prefix, as Argo CD writes it)."""
    return f".argocd-source-{app_name.split('_')[-1]}.yaml"


def override_files(root: Path, app_dir: Path, app_name: str) -> list[Path]:
    """The override files present for ``app_name``, in merge order."""
    names = [SHARED_FILE] + ([app_file(app_name)] if app_name else [])
    found = []
    for name in names:
        path = app_dir / name
        if path.is_file() or path.is_symlink():
            if not inside(root, path.resolve()):
                raise RenderError(f"{display(root, path)}: symlink points outside the repository")
            found.append(path)
    return found


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: mappings merge key by key, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply_overrides(
    root: Path, app_dir: Path, source: ApplicationSource, app_name: str
) -> ApplicationSource:
    """``source`` with the override files of ``app_dir`` merged in (itself when there are none)."""
    files = override_files(root, app_dir, app_name)
    if not files:
        return source
    merged: Any = source.to_dict()
    for path in files:
        where = display(root, path)
        try:
            if path.stat().st_size > MAX_OVERRIDE_BYTES:
                raise RenderError(f"{where}: larger than {MAX_OVERRIDE_BYTES} bytes")
            patch = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        except (OSError, UnicodeDecodeError) as exc:
            raise RenderError(f"{where}: cannot read: {exc}") from None
        except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
            raise RenderError(f"{where}: not valid YAML ({type(exc).__name__})") from None
        if patch is None:
            continue
        if not isinstance(patch, dict):
            raise RenderError(f"{where}: must be a mapping of source fields")
        merged = merge_patch(merged, patch)
    fixed = source.to_dict()
    for key in ("repoURL", "path", "chart", "targetRevision", "ref", "name"):
        merged.pop(key, None)
        if key in fixed:
            merged[key] = fixed[key]
    try:
        return parse_source(merged, display(root, files[-1]))
    except ConfigError as exc:
        raise RenderError(str(exc)) from None
