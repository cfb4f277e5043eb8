"""Helpers for tests that drive Applications through the CLI, and Applications left in
the middle of an operation (as a process running its sync leaves them)."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import yaml

from gitward.appstate import lock
from gitward.appstate.status import now
from gitward.cluster import KubeClient
from tests.support.brief import gitward
from tests.support.git import GitRepo

API = "argoproj.io/v1alpha1"
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


#: The holder a controller's lock names: a replica other than any process of the test.
CONTROLLER_HOLDER = "controller@gitward-0/1a2b3c4d"


def offline_app(name: str, namespace: str) -> dict[str, Any]:
    """An Application whose repository nobody can reach, deploying into namespace ``name``:
    for tests where no sync runs, only its record is read and ended."""
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/t.git", "path": "a"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
        },
    }


def running_hook(name: str, namespace: str) -> dict[str, Any]:
    """The record's entry for a PreSync hook Job ``name`` that is running."""
    return {
        "group": "batch",
        "version": "v1",
        "kind": "Job",
        "namespace": namespace,
        "name": name,
        "syncPhase": "PreSync",
        "hookType": "PreSync",
        "hookPhase": "Running",
        "message": f"job.batch/{name}: running",
    }


async def app_in_operation(
    kube: KubeClient,
    app: dict[str, Any],
    *,
    revision: str = "a" * 40,
    hooks: tuple[dict[str, Any], ...] = (),
    phase: str = "Running",
    message: str = "waiting for the hook",
    started_at: str = "",
    operation_id: str = "",
    holder: str = CONTROLLER_HOLDER,
    locked: bool = True,
) -> dict[str, Any]:
    """Create ``app`` in the middle of a sync to ``revision``: its record (``phase``, the
    ``hooks`` entries) and, when ``locked``, the lock ``holder`` holds with a fresh
    heartbeat; both carry ``operation_id`` when given. Written by hand: nothing runs the
    operation. The stored Application."""
    operation: dict[str, Any] = {
        "sync": {"revision": revision},
        "initiatedBy": {"username": "admin"},
    }
    ids = [{"name": lock.OPERATION_ID, "value": operation_id}] if operation_id else []
    if locked:
        beat = [{"name": lock.HEARTBEAT, "value": now()}, {"name": lock.HOLDER, "value": holder}]
        app = {**app, "operation": {**operation, "info": beat + ids}}
    created = await kube.create(app)
    state: dict[str, Any] = {
        "operation": {**operation, "info": ids} if ids else operation,
        "phase": phase,
        "message": message,
        "startedAt": started_at or now(),
        "syncResult": {"revision": revision, "resources": list(hooks)},
    }
    meta = created["metadata"]
    return dict(
        await kube.patch(
            API,
            "Application",
            meta["name"],
            meta["namespace"],
            {"status": {"operationState": state}},
            subresource="status",
        )
    )
