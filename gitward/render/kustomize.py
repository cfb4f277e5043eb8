"""Kustomize sources: ``kustomize build``, after Argo CD's edits when the spec asks for any.

Argo CD applies ``spec.source.kustomize`` by running ``kustomize edit`` in the
application directory (set nameprefix, namesuffix, image, replicas; add label,
annotation, component; patches appended to the file) and then building. So
that the results are the same, gitward runs the same commands in the same
order, with the same ``$VAR`` expansion, but in a copy: a mirror of the
repository in which only the application directory is real (see
:func:`~gitward.render.paths.make_mirror`), so relative bases still resolve
and the checked-out tree is never written. Without edits, the tree is built
in place.

Remote bases would make a render depend on the network and on whatever the
remote serves at that moment; they are refused before kustomize runs, and the
tools run with a proxy that goes nowhere in case a reference slips past.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from gitward._util.yamlload import load_one
from gitward.model.errors import RenderError
from gitward.model.source_spec import KustomizeSpec
from gitward.render.env import RenderEnv, envsubst
from gitward.render.errors import PathError, RemoteBaseRefused
from gitward.render.jail import Jail
from gitward.render.paths import check_symlinks, display, inside, make_mirror
from gitward.render.tools import RenderTools, option, run_tool

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

#: Fields whose entries are paths (or, for a remote base, URLs) kustomize loads.
_LIST_FIELDS = (
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "patchesStrategicMerge",
)
_PATH_ITEM_FIELDS = ("patches", "patchesJson6902", "replacements")
_GENERATOR_FIELDS = ("configMapGenerator", "secretGenerator", "helmChartInflationGenerator")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:\d+)?$", re.IGNORECASE)
#: Longest path-like kustomization entry gitward looks at.
MAX_ENTRY = 4096
_REMOTE_PREFIXES = ("git@", "git::", "gh:", "github.com/", "gitlab.com/", "bitbucket.org/")


def find_kustomization(directory: Path) -> Path | None:
    """The kustomization file of ``directory``, by the names kustomize accepts."""
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _is_remote(entry: str, local: Path) -> bool:
    if _URL.match(entry) or entry.startswith(_REMOTE_PREFIXES):
        return True
    if local.exists():
        return False
    if "?ref=" in entry or "?version=" in entry or "?submodules=" in entry:
        return True
    return "/" in entry and _HOST.match(entry.split("/", 1)[0]) is not None


def _entries(data: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """``(field, path)`` for every path-like entry of a kustomization."""
    for field in _LIST_FIELDS:
        for item in data.get(field) or ():
            if isinstance(item, str):
                yield field, item
    for field in _PATH_ITEM_FIELDS:
        for item in data.get(field) or ():
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield field, item["path"]
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield "openapi", openapi["path"]
    for field in _GENERATOR_FIELDS:
        for gen in data.get(field) or ():
            if not isinstance(gen, dict):
                continue
            if isinstance(gen.get("repo"), str):
                yield field, gen["repo"]
            for key in ("files", "envs"):
                for item in gen.get(key) or ():
                    if isinstance(item, str):
                        yield field, item.split("=", 1)[-1]
            if isinstance(gen.get("env"), str):
                yield field, gen["env"]


def _load_kustomization(root: Path, kfile: Path) -> dict[str, Any]:
    """A kustomization file as a mapping; anything else is an error (fail closed).

    A file this check cannot read is never left for kustomize to read its own
    way: a parser that disagrees with the check is how a path slips past it.
    """
    where = display(root, kfile)
    try:
        data = load_one(kfile.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise RenderError(f"{where}: not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise RenderError(f"{where}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise RenderError(f"{where}{line}: invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RenderError(f"{where}: a kustomization must be a mapping, not {type(data).__name__}")
    return data


def _inline(entry: str) -> bool:
    """Whether an entry is inline YAML (a patch or plugin config), not a path."""
    return "\n" in entry or entry.lstrip().startswith(("apiVersion:", "kind:", "{"))


def check_kustomization_tree(
    root: Path, app: Path, components: Iterable[str] = (), patches: Iterable[str] = ()
) -> None:
    """Walk every kustomization reachable from ``app``; refuse what leaves the repository.

    Every path-like entry (resources, bases, components, patches, generator
    files, openapi, replacements, ...) must resolve, symlinks followed, inside
    ``root``; remote bases are refused outright. The walk follows every local
    directory entry, so a base of a base is checked too. Kustomize then runs
    confined to ``root`` by the kernel (:mod:`gitward.render.jail`), so an entry
    this walk does not know still cannot read outside.
    """
    extra = [("spec.source.kustomize.components", c) for c in components]
    extra += [("spec.source.kustomize.patches", p) for p in patches]
    queue: list[tuple[Path, list[tuple[str, str]]]] = [(app, extra)]
    seen: set[Path] = set()
    while queue:
        directory, more = queue.pop()
        if directory in seen:
            continue
        seen.add(directory)
        kfile = find_kustomization(directory)
        data = _load_kustomization(root, kfile) if kfile is not None else {}
        where = display(root, kfile) if kfile else display(root, directory)
        for field, entry in [*_entries(data), *more]:
            if len(entry) > MAX_ENTRY:
                raise RenderError(f"{where}: a {field} entry is longer than {MAX_ENTRY} characters")
            if _inline(entry):
                continue
            local = directory / entry
            if _is_remote(entry, local):
                raise RemoteBaseRefused(where, field, entry)
            try:
                resolved = local.resolve()
            except (OSError, RuntimeError):
                raise PathError(
                    f"{where}: {field} entry {entry!r} cannot be resolved (symlink loop?)", entry
                ) from None
            if not inside(root, resolved):
                raise PathError(
                    f"{where}: {field} entry {entry!r} leads outside the repository", entry
                )
            if resolved.is_dir():
                queue.append((resolved, []))


def _key(key: str, field: str) -> str:
    """A label or annotation key; ``kustomize edit`` splits ``key:value`` at the first ':'."""
    if not key or ":" in key:
        raise RenderError(
            f"spec.source.kustomize.{field} key {key!r} is not a valid key (empty, or holds ':')"
        )
    return key


def _edit_commands(spec: KustomizeSpec, env: RenderEnv) -> list[list[str]]:
    """The ``kustomize edit`` argument lists Argo CD runs, in its order (patches aside)."""
    variables = env.build_vars()
    commands: list[list[str]] = []
    if spec.name_prefix:
        commands.append(["edit", "set", "nameprefix", "--", spec.name_prefix])
    if spec.name_suffix:
        commands.append(["edit", "set", "namesuffix", "--", spec.name_suffix])
    if spec.images:
        images = [envsubst(i, variables) for i in spec.images]
        commands.append(["edit", "set", "image", "--", *images])
    if spec.replicas:
        commands.append(
            ["edit", "set", "replicas", "--", *(f"{r.name}={r.count}" for r in spec.replicas)]
        )
    if spec.common_labels:
        flags = ["--force"] if spec.force_common_labels else []
        if spec.label_without_selector:
            flags.append("--without-selector")
            if spec.label_include_templates:
                flags.append("--include-templates")
        labels = [
            f"{_key(k, 'commonLabels')}:{envsubst(v, variables)}"
            for k, v in sorted(spec.common_labels.items())
        ]
        commands.append(["edit", "add", "label", *flags, "--", *labels])
    if spec.common_annotations:
        flags = ["--force"] if spec.force_common_annotations else []
        annotations = [
            f"{_key(k, 'commonAnnotations')}:"
            f"{envsubst(v, variables) if spec.common_annotations_envsubst else v}"
            for k, v in sorted(spec.common_annotations.items())
        ]
        commands.append(["edit", "add", "annotation", *flags, "--", *annotations])
    if spec.namespace:
        commands.append(["edit", "set", "namespace", "--", spec.namespace])
    return commands


def _append_patches(kfile: Path, spec: KustomizeSpec, where: str) -> None:
    """Append the spec's patches to the (copied) kustomization, as Argo CD does."""
    try:
        data = load_one(kfile.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RenderError(
            f"{where}: kustomization after the edits is not valid YAML: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise RenderError(f"{where}: kustomization is not a mapping")
    patches = data.get("patches")
    if patches is None:
        patches = []
    if not isinstance(patches, list):
        raise RenderError(
            f"{where}: 'patches' is not a list, cannot add spec.source.kustomize.patches"
        )
    patches.extend(p.to_dict() for p in spec.patches)
    data["patches"] = patches
    kfile.write_text(yaml.safe_dump(data, sort_keys=False))


async def render_kustomize(
    root: Path,
    app: Path,
    spec: KustomizeSpec | None,
    env: RenderEnv,
    tools: RenderTools,
    tmp: Path,
    proc_env: dict[str, str],
) -> str:
    """``kustomize build`` output for the application directory ``app``."""
    where = display(root, app)
    spec = spec or KustomizeSpec()
    components = list(spec.components)
    if spec.ignore_missing_components:
        components = [c for c in components if (app / c).exists()]
    await asyncio.to_thread(check_symlinks, root, app)
    patch_paths = [p.path for p in spec.patches if p.path]
    await asyncio.to_thread(check_kustomization_tree, root, app, components, patch_paths)
    tools.binary("kustomize")
    jail = Jail(read=(root,), write=(tmp,))
    build_dir, cwd = app, root
    if spec.has_edits():
        cwd = tmp / "tree"
        build_dir = await asyncio.to_thread(make_mirror, root, app, cwd)
        for args in _edit_commands(spec, env):
            await run_tool(
                tools,
                "kustomize",
                args,
                env=proc_env,
                cwd=build_dir,
                context=where,
                display=f"kustomize {' '.join(args[:3])}",
                jail=jail,
            )
        if spec.patches:
            kfile = find_kustomization(build_dir)
            if kfile is None:
                raise RenderError(f"{where}: no kustomization file to add patches to")
            await asyncio.to_thread(_append_patches, kfile, spec, where)
        if components:
            await run_tool(
                tools,
                "kustomize",
                ["edit", "add", "component", "--", *components],
                env=proc_env,
                cwd=build_dir,
                context=where,
                display="kustomize edit add component",
                jail=jail,
            )
    return await run_tool(
        tools,
        "kustomize",
        ["build", option("load-restrictor", "LoadRestrictionsRootOnly"), str(build_dir)],
        env=proc_env,
        cwd=cwd,
        context=where,
        display=f"kustomize build {where}",
        jail=jail,
    )
