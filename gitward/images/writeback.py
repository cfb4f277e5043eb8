"""Argo CD Image Updater's git write-back file: ``.argocd-source-<app>.yaml`` in the app's path.

Instead of editing the manifests, Image Updater writes the images it chose into
a small file the repo server merges into the Application's source before it
renders: Kustomize images (``kustomize.images``) or Helm parameters
(``helm.parameters``, ``image.name``/``image.tag``). gitward writes the same
file, in the same shape, and its renderer honours it
(:mod:`gitward.render.overrides`), so repositories that Image Updater
maintains keep working and gitward can maintain them too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from gitward.images.editors import Edited, FileEdit, detect_kind, dump_yaml
from gitward.images.reference import ImageChange, ImageRef, ImageRefError, parse_image
from gitward.images.yamledit import YamlEditError, load_round_trip

_APP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$")


def writeback_name(app: str) -> str:
    """The file name for ``app`` (``.argocd-source-<app>.yaml``); the name must be a DNS name."""
    short = app.split("_")[-1]  # apps in any namespace are written ns_name by Argo CD
    if not _APP_NAME.match(short) or len(short) > 253:
        raise YamlEditError(f"application name {app!r} cannot name a write-back file")
    return f".argocd-source-{short}.yaml"


def edit_writeback(root: Path, directory: Path, app: str, changes: list[ImageChange]) -> Edited:
    """Record ``changes`` in the app's write-back file (Kustomize images or Helm parameters)."""
    path = directory / writeback_name(app)
    rel = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    docs = load_round_trip(text, rel) if text else []
    data = docs[0] if docs and docs[0] is not None else CommentedMap()
    if not isinstance(data, CommentedMap):
        raise YamlEditError(f"{rel}: must be a mapping")
    result = Edited({}, [])
    if detect_kind(directory) == "helm":
        _helm(data, changes, rel, result)
    else:
        _kustomize(data, changes, rel, result)
    if result.edits:
        result.texts[rel] = dump_yaml(data, 2, 0)
    result.matched.update(c.name for c in changes)
    return result


def _section(data: CommentedMap, key: str, sub: str, rel: str) -> CommentedSeq:
    section = data.setdefault(key, CommentedMap())
    if not isinstance(section, CommentedMap):
        raise YamlEditError(f"{rel}: {key!r} must be a mapping")
    items = section.setdefault(sub, CommentedSeq())
    if not isinstance(items, CommentedSeq):
        raise YamlEditError(f"{rel}: {key}.{sub} must be a list")
    return items


def _kustomize(data: CommentedMap, changes: list[ImageChange], rel: str, result: Edited) -> None:
    images = _section(data, "kustomize", "images", rel)
    for change in changes:
        index, old = next(
            ((i, ref) for i, v in enumerate(images) if (ref := _entry(str(v), change.name))),
            (None, ImageRef(change.name)),
        )
        new = change.apply(old)
        entry = f"{change.name}={new}" if new.name != change.name else str(new)
        if index is None:
            images.append(entry)
        elif images[index] == entry:
            continue
        else:
            images[index] = entry
        result.edits.append(FileEdit(rel, change.name, str(old), str(new)))


def _entry(text: str, name: str) -> ImageRef | None:
    """The image a ``kustomize edit set image`` argument sets, if it is for ``name``."""
    left, eq, right = text.partition("=")
    try:
        ref = parse_image(right if eq else text)
        key = left if eq else ref.name
    except ImageRefError:
        return None
    return ref if key == name else None


def _helm(data: CommentedMap, changes: list[ImageChange], rel: str, result: Edited) -> None:
    params = _section(data, "helm", "parameters", rel)
    by_name: dict[str, Any] = {str(p.get("name")): p for p in params if isinstance(p, CommentedMap)}
    for change in changes:
        old_name = str((by_name.get("image.name") or {}).get("value", change.name))
        old_tag = str((by_name.get("image.tag") or {}).get("value", ""))
        old = ImageRef(old_name, old_tag)
        new = change.apply(old)
        wanted = {"image.name": new.name, "image.tag": new.digest or new.tag}
        if all(str((by_name.get(k) or {}).get("value", "")) == v for k, v in wanted.items()):
            continue
        for key, value in wanted.items():
            param = by_name.get(key)
            if param is None:
                param = CommentedMap([("name", key), ("value", value), ("forcestring", True)])
                params.append(param)
                by_name[key] = param
            else:
                param["value"] = value
        result.edits.append(FileEdit(rel, change.name, str(old), str(new)))
