"""The controller records DORA data as it works: each deployment with its commit's time read
from Git, its lead time, a failed sync, a degradation and its restore — into the ConfigMap
store that ``gitward stats`` reads, and into the ``gitward_dora_*`` metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.dora.records import Record
from gitward.dora.store import configmap_name, load
from gitward.localkube.process import free_ports
from tests.support.apps import unique
from tests.support.brief import gitward
from tests.support.controller import application, running_loops
from tests.support.git import GitRepo, git
from tests.support.poll import eventually

API = "argoproj.io/v1alpha1"


def web(version: str, schedulable: bool = True) -> str:
    spec: dict[str, Any] = {"containers": [{"name": "web", "image": f"example.com/web:{version}"}]}
    if not schedulable:
        spec["nodeSelector"] = {"kubernetes.io/hostname": "no-such-node"}
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "progressDeadlineSeconds": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec},
            },
        }
    )


BAD_HOOK = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "bogusField": 1}]},
    }
)


def commit_dated(repo: GitRepo, files: dict[str, str], committed: float, authored: float) -> str:
    """Commit ``files`` with the given committer and author times (as CI commits long before
    the push reaches the cluster)."""
    repo.write(files)
    git("add", "--all", cwd=repo.path)
    dates = {"GIT_COMMITTER_DATE": f"@{int(committed)} +0000",
             "GIT_AUTHOR_DATE": f"@{int(authored)} +0000"}  # fmt: skip
    git("commit", "--quiet", "-m", "dated change", cwd=repo.path, env=dates)
    return repo.head()


async def recorded(
    kube: KubeClient, name: str, what: str, ready: Callable[[Record], bool]
) -> Record:
    async def probe() -> Record | None:
        record = await load(kube, "argocd", "argocd", name)
        return record if ready(record) else None

    return await eventually(probe, what, timeout=90)


async def test_the_controller_records_deliveries(
    installed: KubeClient, kubeconfig: Path, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("dora-ctl"), unique("dora-ctl")
    repo = git_repo("dora-ctl")
    now = time.time()
    first = commit_dated(repo, {"app/web.yaml": web("1")}, now - 600, now - 900)
    port = free_ports(1)[0]
    try:
        async with running_loops(kube, port, interval=2.0) as loops:
            # One gate, made by build_controller: records wait behind the syncs as Events do.
            assert loops.recorder is not None
            assert loops.controller.events is not None
            assert loops.controller.quiet is not None
            assert loops.recorder.gate is loops.controller.quiet
            assert loops.controller.events.gate is loops.controller.quiet
            await kube.create(application(name, repo, ns, {"prune": True, "selfHeal": True}))
            record = await recorded(
                kube, name, "the first deployment to be Healthy",
                lambda r: bool(r.deployments and r.deployments[-1].healthy_at),
            )  # fmt: skip
            [deployed] = record.deployments
            assert deployed.revision == first
            assert deployed.committed_at == int(now - 600)  # from Git, not from the push
            assert deployed.authored_at == int(now - 900)
            lead = deployed.healthy_at - deployed.committed_at
            assert 600 <= lead < 700, lead

            # A change that leaves the app Degraded (its Pod fits no node), then its fix.
            second = repo.commit({"app/web.yaml": web("2", schedulable=False)})
            record = await recorded(kube, name, "an incident after the second deployment",
                                    lambda r: bool(r.incidents))  # fmt: skip
            assert record.deployments[-1].revision == second
            third = repo.commit({"app/web.yaml": web("3")})
            record = await recorded(
                kube, name, "the incident restored by the third deployment",
                lambda r: bool(r.incidents[-1].restored_at and r.deployments[-1].healthy_at),
            )  # fmt: skip
            assert [d.revision for d in record.deployments] == [first, second, third]
            assert len(record.incidents) == 1

            # A sync that fails (the API server refuses a hook): a failed deployment.
            fourth = repo.commit({"app/web.yaml": web("4"), "app/hook.yaml": BAD_HOOK})
            record = await recorded(kube, name, "the failed sync",
                                    lambda r: r.deployments[-1].failed)  # fmt: skip
            assert record.deployments[-1].revision == fourth

            async with aiohttp.ClientSession() as http, http.get(f"{loops.url}/metrics") as resp:
                text = await resp.text()
            labels = f'name="{name}",namespace="argocd",project="default"'
            assert f'gitward_dora_deployments_total{{{labels},succeeded="true"}} 3.0' in text
            assert f'gitward_dora_deployments_total{{{labels},succeeded="false"}} 1.0' in text
            assert f"gitward_dora_change_failures_total{{{labels}}} 2.0" in text
            assert f"gitward_dora_lead_time_seconds_count{{{labels}}} 2.0" in text
            assert f"gitward_dora_time_to_restore_seconds_count{{{labels}}} 1.0" in text
            assert f'gitward_dora_lead_time_seconds_bucket{{le="900.0",{labels}}} 2.0' in text
            before = await kube.get("v1", "ConfigMap", configmap_name("argocd", name), "argocd")

        # A restarted controller relists every app and reconciles each again: nothing is
        # recorded twice.
        async with running_loops(kube, port, interval=2.0) as again:
            assert again.recorder is not None
            await asyncio.wait_for(again.controller.ready.wait(), 30)
            await asyncio.sleep(5)  # two reconcile cycles
            await again.recorder.idle()
            after = await kube.get("v1", "ConfigMap", configmap_name("argocd", name), "argocd")
            assert after["data"] == before["data"]

        done = gitward(kubeconfig, "stats", name, "--since", "1d", "-o", "json")
        assert done.returncode == 0, done.stderr
        figures = json.loads(done.stdout)
        assert (figures["deployments"], figures["failed"], figures["restores"]) == (3, 1, 1)
        assert figures["lead_time_median"] >= 300  # the first's 600+ s, the third's seconds
        assert figures["change_failure_rate"] == 0.5
        text = gitward(kubeconfig, "stats", name, "--since", "1d")
        assert "3 (1 failed syncs)" in text.stdout
    finally:
        with contextlib.suppress(NotFound):
            await kube.delete(API, "Application", name, "argocd")
