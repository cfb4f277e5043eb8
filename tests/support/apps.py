"""Helpers for tests that drive Applications through the CLI."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import yaml

from tests.support.brief import gitward
from tests.support.git import GitRepo

HOOK = "argocd.argoproj.io/hook"
WAVE = "argocd.argoproj.io/sync-wave"
OPTIONS = "argocd.argoproj.io/sync-options"


def unique(prefix: str) -> str:
    """A name no other test uses (apps and namespaces share one cluster)."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a successful command printed."""
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def app_json(kubeconfig: Path, name: str, *flags: str) -> dict[str, Any]:
    """``app get NAME -o json`` as a dict."""
    return dict(ok_json(gitward(kubeconfig, "app", "get", name, "-o", "json", *flags)))


def create_app(
    kubeconfig: Path, name: str, repo: GitRepo, path: str, namespace: str, *extra: str
) -> None:
    """``app create NAME --repo --path --dest-namespace [extra...]``, which must succeed."""
    created = gitward(
        kubeconfig,
        "app",
        "create",
        name,
        "--repo",
        repo.url,
        "--path",
        path,
        "--dest-namespace",
        namespace,
        *extra,
    )
    assert created.returncode == 0, created.stdout + created.stderr


def configmap(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": name}}


def suspended_hook_job(
    metadata: dict[str, Any], phase: str = "PreSync", annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """A hook Job of ``phase`` that runs only once the test un-suspends it (else never)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {**metadata, "annotations": {HOOK: phase, **(annotations or {})}},
        "spec": {
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "m", "image": "busybox:1.36", "args": ["true"]}],
                }
            },
        },
    }


def deployment(name: str, image: str, namespace: str = "") -> dict[str, Any]:
    """A one-replica Deployment of one container (its Pods run on the kwok nodes)."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    }


def yaml_docs(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)
