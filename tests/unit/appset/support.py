"""ApplicationSets and cluster Secrets as plain dicts, for the pure parts of the package."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gitward.appset.generators import Context, GitTree
from gitward.appset.gotemplate import GoTemplates
from gitward.appset.render import TreeRenderer
from gitward.model.applicationset import ApplicationSet, parse_applicationset

Obj = dict[str, Any]


def appset(
    spec: Obj, name: str = "set", annotations: dict[str, str] | None = None
) -> ApplicationSet:
    meta: Obj = {"name": name, "namespace": "argocd", "uid": "uid-1"}
    if annotations:
        meta["annotations"] = annotations
    spec.setdefault(
        "template",
        {
            "metadata": {"name": "{{name}}"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://example.com/r.git", "path": "p"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            },
        },
    )
    return parse_applicationset(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": meta,
            "spec": spec,
        }
    )


def cluster_secret(name: str, server: str, labels: dict[str, str] | None = None) -> Obj:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"cluster-{name}",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "cluster", **(labels or {})},
            "annotations": {"note": "n"},
        },
        "data": {"name": b64(name), "server": b64(server), "config": b64("{}")},
    }


class DictSources:
    """Sources from memory: cluster Secrets given, git trees from plain directories."""

    def __init__(
        self, secrets: list[Obj] | None = None, trees: dict[str, Path] | None = None
    ) -> None:
        self.secrets = secrets or []
        self.trees = trees or {}
        self.reads = 0

    async def cluster_secrets(self) -> list[Obj]:
        self.reads += 1
        return self.secrets

    @contextlib.asynccontextmanager
    async def checkout(self, url: str, revision: str) -> AsyncIterator[GitTree]:
        self.reads += 1
        yield GitTree("0" * 40, self.trees[url])


def context(spec: ApplicationSet, sources: DictSources | None = None) -> Context:
    renderer = TreeRenderer(spec.go_template, spec.go_template_options, GoTemplates(None))
    return Context(spec, sources or DictSources(), renderer)
