"""Where an image lives in a source tree, and the edit that changes it there.

Three layouts, as ``gitward image set`` finds them (or as ``--kind`` says):

- **kustomize**: the ``images:`` transformer of the directory's kustomization
  (``name``/``newName``/``newTag``/``digest``), exactly what ``kustomize edit
  set image`` writes — a new tag drops a digest and vice versa;
- **helm**: a values file; every mapping with a ``repository`` naming the image
  gets its ``tag`` (and ``repository`` for a new name, ``digest`` if the chart
  has one), or the mapping at ``--helm-path``; an ``image: repo:tag`` string
  value is changed whole; or, for an image given name and tag paths (Image
  Updater's ``<alias>.helm.image-name``/``.helm.image-tag``), the values there;
- **plain**: every ``containers``/``initContainers``/``ephemeralContainers``
  entry of every manifest whose image names it.

Each editor returns :class:`FileEdit` results and the new file text; nothing is
written until every file has been edited successfully, so a failure changes
nothing.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from gitward.images.reference import ImageChange, ImageRef, ImageRefError, parse_image, same_image
from gitward.images.yamledit import (
    ScalarEdit,
    YamlEditError,
    load_round_trip,
    splice,
    value_position,
    walk,
)
from gitward.model.errors import ConfigError

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
MAX_FILE = 4 * 1024 * 1024


class ImageNotFound(ConfigError):
    """No place in the source names the image to change."""


@dataclass(frozen=True)
class FileEdit:
    """One image changed in one file: ``old`` and ``new`` as references."""

    file: str
    image: str
    old: str
    new: str


@dataclass
class Edited:
    """The new text of every changed file (path relative to the root) and what changed.

    ``matched`` names every image found, changed or already as wanted.
    """

    texts: dict[str, str]
    edits: list[FileEdit]
    matched: set[str] = field(default_factory=set)

    def write(self, root: Path) -> None:
        for rel, text in self.texts.items():
            path = root / rel
            tmp = path.with_name(f".{path.name}.gitward-tmp")
            tmp.write_text(text)
            tmp.replace(path)


def _read(root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix()
    try:
        if path.stat().st_size > MAX_FILE:
            raise YamlEditError(f"{rel}: larger than {MAX_FILE} bytes")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlEditError(f"{rel}: not UTF-8 text") from None
    except OSError as exc:
        raise YamlEditError(f"{rel}: cannot read: {exc.strerror}") from None


def _inside(root: Path, path: Path) -> Path:
    real = path.resolve()
    if real != root and not real.is_relative_to(root):
        raise ConfigError(f"{path}: leads outside {root}")
    return real


# -- plain manifests ----------------------------------------------------------------------------


def manifest_files(root: Path, directory: Path) -> list[Path]:
    """The YAML files under ``directory`` in walk order (``.git`` and symlinks left out)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.endswith((".yaml", ".yml")) and not path.is_symlink():
                found.append(path)
    return found


def _container_images(doc: Any) -> list[tuple[CommentedMap, tuple[Any, ...]]]:
    out = []
    for path, node in walk(doc):
        if not isinstance(node, CommentedMap):
            continue
        for list_name in CONTAINER_LISTS:
            entries = node.get(list_name)
            if not isinstance(entries, CommentedSeq):
                continue
            for i, entry in enumerate(entries):
                if isinstance(entry, CommentedMap) and isinstance(entry.get("image"), str):
                    out.append((entry, (*path, list_name, i, "image")))
    return out


def edit_plain(root: Path, directory: Path, changes: list[ImageChange]) -> Edited:
    """Every container image in the manifests under ``directory`` that a change names."""
    result = Edited({}, [])
    for path in manifest_files(root, directory):
        rel = path.relative_to(root).as_posix()
        text = _read(root, path)
        if "image" not in text:
            continue
        edits: list[ScalarEdit] = []
        for number, doc in enumerate(load_round_trip(text, rel)):
            for container, where in _container_images(doc):
                current = _parse_or_none(container["image"])
                change = _matching(changes, current)
                if current is None or change is None:
                    continue
                result.matched.add(change.name)
                new = change.apply(current)
                if new == current:
                    continue
                line, col = value_position(container, "image")
                edits.append(ScalarEdit(line, col, str(new), (number, *where)))
                result.edits.append(FileEdit(rel, change.name, str(current), str(new)))
        if edits:
            result.texts[rel] = splice(text, edits, rel)
    return result


def _parse_or_none(text: str) -> ImageRef | None:
    try:
        return parse_image(text)
    except ImageRefError:
        return None  # a templated or odd value: not ours to change


def _matching(changes: list[ImageChange], current: ImageRef | None) -> ImageChange | None:
    if current is None:
        return None
    for change in changes:
        if same_image(change.name, current.name):
            return change
    return None


# -- kustomize -----------------------------------------------------------------------------------


def detect_kind(directory: Path) -> str:
    """``kustomize``, ``helm`` or ``plain``: the layout of an application directory."""
    if find_kustomization(directory) is not None:
        return "kustomize"
    if (directory / "Chart.yaml").is_file():
        return "helm"
    return "plain"


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def edit_kustomize(root: Path, directory: Path, changes: list[ImageChange]) -> Edited:
    """The kustomization's ``images:`` entries, added or updated like ``kustomize edit``."""
    kfile = find_kustomization(directory)
    if kfile is None:
        raise ConfigError(f"{directory.relative_to(root).as_posix() or '.'}: no kustomization")
    rel = kfile.relative_to(root).as_posix()
    text = _read(root, kfile)
    try:
        data, indent, block_seq_indent = load_yaml_guess_indent(text)
    except Exception as exc:  # ruamel raises many types; all mean "not valid YAML"
        raise YamlEditError(f"{rel}: not valid YAML ({type(exc).__name__})") from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise YamlEditError(f"{rel}: a kustomization must be a mapping")
    images = data.get("images")
    if images is None:
        images = CommentedSeq()
        data["images"] = images
    if not isinstance(images, CommentedSeq):
        raise YamlEditError(f"{rel}: 'images' must be a list")
    result = Edited({}, [])
    for change in changes:
        entry = next(
            (e for e in images if isinstance(e, CommentedMap) and e.get("name") == change.name),
            None,
        )
        if entry is None:
            entry = CommentedMap([("name", change.name)])
            images.append(entry)
        old = _kustomize_ref(change.name, entry)
        if change.new_name:
            entry["newName"] = change.new_name
        if change.tag:
            entry["newTag"] = change.tag
            entry.pop("digest", None)
        if change.digest:
            entry["digest"] = change.digest
            entry.pop("newTag", None)
        new = _kustomize_ref(change.name, entry)
        if new != old:
            result.edits.append(FileEdit(rel, change.name, old, new))
    if result.edits:
        result.texts[rel] = dump_yaml(data, indent, block_seq_indent)
    return result


def _kustomize_ref(name: str, entry: CommentedMap) -> str:
    ref = ImageRef(
        str(entry.get("newName") or name),
        str(entry.get("newTag") or ""),
        str(entry.get("digest") or ""),
    )
    return str(ref)


def dump_yaml(data: CommentedMap, indent: int | None, seq_indent: int | None) -> str:
    yaml = YAML(typ="rt")
    mapping = indent or 2
    offset = seq_indent or 0
    yaml.indent(mapping=mapping, sequence=mapping + offset, offset=offset)
    yaml.width = 4096
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


# -- helm ---------------------------------------------------------------------------------------


def edit_helm(
    root: Path,
    values_file: Path,
    changes: list[ImageChange],
    helm_path: str = "",
    image_paths: Mapping[str, tuple[str, str]] | None = None,
) -> Edited:
    """The image fields of one values file (see the module docstring for what is matched);
    ``image_paths``: image name -> (path of its name or "", path of its tag)."""
    values_file = _inside(root, values_file)
    rel = values_file.relative_to(root).as_posix()
    text = _read(root, values_file)
    docs = load_round_trip(text, rel)
    if not docs or not isinstance(docs[0], CommentedMap):
        raise YamlEditError(f"{rel}: a values file must be a mapping")
    values = docs[0]
    result = Edited({}, [])
    edits: list[ScalarEdit] = []
    for change in changes:
        paths = (image_paths or {}).get(change.name)
        if paths is not None:
            edits += _helm_path_edits(values, change, paths, rel, result)
            result.matched.add(change.name)
            continue
        targets = _helm_targets(values, change, helm_path, rel)
        if targets:
            result.matched.add(change.name)
        for parent, key, where in targets:
            node = parent[key]
            if isinstance(node, str):
                current = parse_image(node, f"{rel}: {'.'.join(map(str, where))}")
                new = change.apply(current)
                if new != current:
                    line, col = value_position(parent, key)
                    edits.append(ScalarEdit(line, col, str(new), (0, *where)))
                    result.edits.append(FileEdit(rel, change.name, str(current), str(new)))
                continue
            edits += _helm_mapping_edits(node, change, where, rel, result)
    if edits:
        result.texts[rel] = splice(text, edits, rel)
    return result


def _helm_targets(
    values: CommentedMap, change: ImageChange, helm_path: str, rel: str
) -> list[tuple[Any, Any, tuple[Any, ...]]]:
    if helm_path:
        parent, key = _value_at(values, helm_path, rel)
        return [(parent, key, tuple(helm_path.split(".")))]
    found: list[tuple[Any, Any, tuple[Any, ...]]] = []
    for path, node in walk(values):
        if not isinstance(node, CommentedMap):
            continue
        for key, value in node.items():
            if isinstance(value, CommentedMap) and isinstance(value.get("repository"), str):
                repo = value["repository"]
                registry = value.get("registry")
                full = f"{registry}/{repo}" if isinstance(registry, str) and registry else repo
                if same_image(change.name, repo) or same_image(change.name, full):
                    found.append((node, key, (*path, key)))
            elif key == "image" and isinstance(value, str):
                ref = _parse_or_none(value)
                if ref is not None and same_image(change.name, ref.name):
                    found.append((node, key, (*path, key)))
    return found


def _value_at(values: CommentedMap, path: str, rel: str) -> tuple[CommentedMap, str]:
    """The mapping holding the value at the dotted ``path``, and its key."""
    parent: Any = values
    keys = path.split(".")
    for key in keys[:-1]:
        parent = parent.get(key) if isinstance(parent, CommentedMap) else None
    if not isinstance(parent, CommentedMap) or keys[-1] not in parent:
        raise ImageNotFound(f"{rel}: no value at {path}")
    return parent, keys[-1]


def _helm_path_edits(
    values: CommentedMap, change: ImageChange, paths: tuple[str, str], rel: str, result: Edited
) -> list[ScalarEdit]:
    """The image's name (when a path is given) and tag (or digest) at two given paths."""
    name_path, tag_path = paths
    wanted = {tag_path: change.tag or change.digest}
    if name_path:
        wanted = {name_path: change.target_name, **wanted}
    before: dict[str, str] = {}
    edits: list[ScalarEdit] = []
    for path, value in wanted.items():
        parent, key = _value_at(values, path, rel)
        node = parent[key]
        if node is None or isinstance(node, (CommentedMap, CommentedSeq)):
            raise ImageNotFound(f"{rel}: {path} is not a single value to set {value!r} in")
        before[path] = str(node)
        if isinstance(node, str) and str(node) == value:
            continue
        line, col = value_position(parent, key)
        edits.append(ScalarEdit(line, col, value, (0, *path.split("."))))
    if edits:
        old = f"{before.get(name_path, change.name)}:{before[tag_path]}"
        new = f"{wanted.get(name_path, before.get(name_path, change.name))}:{wanted[tag_path]}"
        result.edits.append(FileEdit(rel, change.name, old, new))
    return edits


def _helm_mapping_edits(
    node: Any, change: ImageChange, where: tuple[Any, ...], rel: str, result: Edited
) -> list[ScalarEdit]:
    if not isinstance(node, CommentedMap):
        raise ImageNotFound(f"{rel}: {'.'.join(map(str, where))} is neither an image nor a mapping")
    wanted: dict[str, str] = {}
    if change.new_name:
        wanted["repository"] = change.new_name
    if change.tag:
        wanted["tag"] = change.tag
    if change.digest:
        if "digest" not in node:
            raise ImageNotFound(
                f"{rel}: {'.'.join(map(str, where))} has no 'digest' field to set "
                f"{change.digest} in; give a tag, or add the field to the chart's values"
            )
        wanted["digest"] = change.digest
    before = ImageRef(
        str(node.get("repository", "")),
        str(node.get("tag", "") or ""),
        str(node.get("digest", "") or ""),
    )
    edits: list[ScalarEdit] = []
    for key, value in wanted.items():
        if key not in node:
            raise ImageNotFound(
                f"{rel}: {'.'.join(map(str, where))} has no {key!r} field; "
                "add it or use --helm-path"
            )
        if str(node[key]) == value and isinstance(node[key], str):
            continue
        line, col = value_position(node, key)
        edits.append(ScalarEdit(line, col, value, (0, *where, key)))
    if edits:
        after = ImageRef(
            wanted.get("repository", before.name),
            wanted.get("tag", before.tag),
            wanted.get("digest", before.digest),
        )
        result.edits.append(FileEdit(rel, change.name, str(before), str(after)))
    return edits
