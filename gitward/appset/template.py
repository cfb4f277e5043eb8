"""From parameter sets to Applications: fill the template, patch it, finish the object.

For each parameter set the template (``metadata`` name, labels, annotations,
finalizers, and ``spec``) is rendered in the set's mode — every template of the
generation in one batch, so goTemplate costs one run of Go per reconcile. Then,
as Argo CD does:

- ``templatePatch`` (goTemplate only in practice; rendered with the same set) is
  merged into the Application; it may not change ``spec.project``;
- the ``resources-finalizer`` is added unless the template sets finalizers of its
  own or ``syncPolicy.preserveResourcesOnDeletion`` is true;
- the Application lives in the ApplicationSet's namespace, whatever the
  template says (the namespace is a security boundary).

An empty parameter set leaves the template as written, as in Argo CD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from gitward._util.jsoncopy import json_copy
from gitward.appset.generators import Generated
from gitward.appset.render import TreeRenderer
from gitward.appset.yamlparse import load_go_yaml
from gitward.model.applicationset import ApplicationSet
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION

Obj = dict[str, Any]

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
_META_FIELDS = ("name", "namespace", "labels", "annotations", "finalizers")


class TemplateError(ConfigError):
    """A template could not be rendered or patched for one parameter set."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message


@dataclass
class Desired:
    """One generated Application, with the parameter set and generator it came from."""

    app: Obj
    params: dict[str, Any]
    where: str

    @property
    def name(self) -> str:
        return str(self.app["metadata"].get("name") or "")


def _template_app(template: Obj) -> Obj:
    meta = template.get("metadata") or {}
    return {
        "metadata": {k: json_copy(meta[k]) for k in _META_FIELDS if meta.get(k) is not None},
        "spec": json_copy(template.get("spec") or {}),
    }


def merge_patch(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    """A strategic merge patch as Kubernetes applies one to an Application.

    Maps merge, ``null`` deletes, lists are replaced — except
    ``metadata.finalizers``, whose Go type asks for a merge (union, in order).
    """
    if not isinstance(patch, dict):
        if (
            path == ("metadata", "finalizers")
            and isinstance(target, list)
            and isinstance(patch, list)
        ):
            return target + [f for f in patch if f not in target]
        return json_copy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value, (*path, key))
    return out


def _finish(appset: ApplicationSet, rendered: Any, patch: str | None, where: str) -> Obj:
    if not isinstance(rendered, dict) or not isinstance(rendered.get("metadata", {}), dict):
        raise TemplateError(where, "the template did not render to a mapping")
    app: Obj = {"apiVersion": API_VERSION, "kind": APPLICATION, **rendered}
    meta = app.setdefault("metadata", {})
    if not meta.get("finalizers") and not appset.preserve_resources_on_deletion:
        meta["finalizers"] = [RESOURCES_FINALIZER]
    if patch is not None:
        try:
            loaded = load_go_yaml(patch)
        except yaml.YAMLError as exc:
            raise TemplateError(
                where, f"error while converting templatePatch to json: {exc}"
            ) from None
        if loaded is not None:
            if not isinstance(loaded, dict):
                raise TemplateError(where, "invalid templatePatch: expected a mapping")
            project = (app.get("spec") or {}).get("project")
            app = merge_patch(app, loaded)
            spec = app.setdefault("spec", {})
            if project is None:
                spec.pop("project", None)
            else:
                spec["project"] = project  # a template patch may not move an app to another project
            meta = app.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise TemplateError(where, "templatePatch: metadata must be a mapping")
    meta["namespace"] = appset.namespace
    for key in ("labels", "annotations", "finalizers"):
        if not meta.get(key):
            meta.pop(key, None)
    return app


async def render_applications(
    appset: ApplicationSet, generated: list[Generated], renderer: TreeRenderer
) -> list[Desired]:
    """Every Application the generation produces, in generator order.

    Raises :class:`TemplateError` naming the generator and the parameter set
    when any one fails: a partial list would read as "delete the others".
    """
    jobs: list[tuple[Any, list[dict[str, Any]]]] = []
    for gen in generated:
        with_params = [p for p in gen.params if p]
        jobs.append((_template_app(gen.template), with_params))
        if appset.template_patch is not None:
            jobs.append((appset.template_patch, with_params))
    results = await renderer.batch(jobs)
    out: list[Desired] = []
    step = 2 if appset.template_patch is not None else 1
    for index, gen in enumerate(generated):
        apps = iter(results[index * step])
        patches = iter(results[index * step + 1]) if step == 2 else None
        for number, params in enumerate(gen.params, start=1):
            where = f"{gen.where}: parameter set {number}"
            if not params:  # Argo CD leaves the template unrendered for an empty set
                app = _finish(appset, _template_app(gen.template), appset.template_patch, where)
                out.append(Desired(app, params, gen.where))
                continue
            rendered = next(apps)
            if rendered.error:
                raise TemplateError(where, rendered.error)
            patch = None
            if patches is not None:
                patched = next(patches)
                if patched.error:
                    raise TemplateError(
                        where, f"error replacing values in templatePatch: {patched.error}"
                    )
                patch = str(patched.value)
            out.append(Desired(_finish(appset, rendered.value, patch, where), params, gen.where))
    return out
