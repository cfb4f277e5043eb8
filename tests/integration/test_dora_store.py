"""Delivery records in ConfigMaps on a real API server, and ``gitward stats`` reading them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from gitward.cluster import ApiError, KubeClient, NotFound
from gitward.dora import Recorder
from gitward.dora import recorder as recorder_module
from gitward.dora.store import ABSENT, configmap_name, load, load_all_configmaps, update
from tests.support.admission import allow, refusing
from tests.support.apps import unique
from tests.support.brief import gitward
from tests.support.poll import eventually

API = "argoproj.io/v1alpha1"


async def _application(kube: KubeClient, name: str) -> dict[str, Any]:
    """An Application the records belong to (their owner): nothing reconciles it here."""
    return await kube.create(
        {
            "apiVersion": API,
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://example.com/x.git", "path": "."},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            },
        }
    )


async def test_records_survive_concurrent_writers_and_feed_stats(
    installed: KubeClient, kubeconfig: Path
) -> None:
    kube = installed
    name = unique("dora")
    app = await _application(kube, name)
    now = time.time()
    try:
        # Ten writers at once, each recording its own deployment: none is lost.
        def deploy(n: int):  # type: ignore[no-untyped-def]
            return lambda r: r.deployed(f"{n:040d}", now - 600, now - 300 + n, False)

        await asyncio.gather(*(update(kube, "argocd", app, deploy(n)) for n in range(10)))
        record = await load(kube, "argocd", "argocd", name)
        assert sorted(d.revision for d in record.deployments) == [f"{n:040d}" for n in range(10)]
        last = record.deployments[-1].revision
        await update(kube, "argocd", app, lambda r: r.observed(last, True, "Healthy", now))
        done = gitward(kubeconfig, "stats", name, "--since", "1d", "-o", "json")
        assert done.returncode == 0, done.stderr
        figures = json.loads(done.stdout)
        assert figures["deployments"] == 10
        assert figures["lead_time_median"] == 600
        text = gitward(kubeconfig, "stats", name, "--since", "1d")
        assert "deployment frequency" in text.stdout
        assert "10.00 per day" in text.stdout
        cm = await kube.get("v1", "ConfigMap", configmap_name("argocd", name), "argocd")
        assert cm["metadata"]["ownerReferences"][0]["uid"] == app["metadata"]["uid"]

        # A writer that starts from a listing (a restarted recorder) writes without reading.
        listed = (await load_all_configmaps(kube, "argocd"))[f"argocd/{name}"]
        reads = kube.requests["GET"]
        again = lambda r: r.deployed("f" * 40, now - 60, now, False)  # noqa: E731
        record, stored = await update(kube, "argocd", app, again, listed)
        assert kube.requests["GET"] == reads
        assert stored is not None
        assert len(record.deployments) == 11
        # A stale copy costs a Conflict and one read, never a lost entry.
        later = lambda r: r.deployed("e" * 40, now - 30, now, False)  # noqa: E731
        record, _ = await update(kube, "argocd", app, later, listed)
        assert len(record.deployments) == 12
        assert kube.requests["GET"] == reads + 1
        # Known absent but present after all (another writer created it): read and apply.
        record, _ = await update(
            kube, "argocd", app, lambda r: r.deployed("d" * 40, now - 9, now, False), ABSENT
        )
        assert len(record.deployments) == 13
    finally:
        with contextlib.suppress(NotFound):
            await kube.delete(API, "Application", name, "argocd")


def _status(revision: str, finished: str, health: str) -> dict[str, object]:
    return {
        "sync": {"status": "Synced", "revision": revision},
        "health": {"status": health},
        "operationState": {
            "phase": "Succeeded",
            "finishedAt": finished,
            "syncResult": {"revision": revision},
        },
    }


async def test_a_sync_and_its_healthy_moment_later_cost_one_write(installed: KubeClient) -> None:
    """With a write delay, the deployment and the Healthy that ends its lead time are one
    ConfigMap write; the record stored has both, and a write that fails is tried again."""
    kube = installed
    name = unique("dora-once")
    app = await _application(kube, name)
    revision = "a" * 40
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # failure_window 0: an incident here is blamed on no deployment, and still recorded.
    recorder = Recorder(kube, "argocd", write_delay=0.5, failure_window=0.0)
    try:
        writes = kube.requests["POST"] + kube.requests["PUT"]
        progressing = {**app, "status": _status(revision, finished, "Progressing")}
        happened = await recorder.record(progressing)
        assert [h.kind for h in happened] == ["deployment"], happened
        healthy = {**app, "status": _status(revision, finished, "Healthy")}
        await recorder.record(healthy)
        with contextlib.suppress(NotFound):  # nothing stored before the delay is up
            await load(kube, "argocd", "argocd", name)
        assert kube.requests["POST"] + kube.requests["PUT"] == writes
        await recorder.idle()
        assert kube.requests["POST"] + kube.requests["PUT"] == writes + 1
        record = await load(kube, "argocd", "argocd", name)
        assert [d.revision for d in record.deployments] == [revision]
        assert record.deployments[0].healthy_at > 0
        # Seen again (a relist): nothing new, nothing written.
        assert await recorder.record(healthy) == []
        await recorder.idle()
        assert kube.requests["POST"] + kube.requests["PUT"] == writes + 1
        # Degraded, then Healthy again: an incident and its restore, one more write.
        assert (
            await recorder.record({**app, "status": _status(revision, finished, "Degraded")}) == []
        )
        restored = await recorder.record(healthy)
        assert [h.kind for h in restored] == ["restore"]
        await recorder.idle()
        assert kube.requests["POST"] + kube.requests["PUT"] == writes + 2
        record = await load(kube, "argocd", "argocd", name)
        assert len(record.incidents) == 1
        assert record.incidents[0].restored_at > 0
    finally:
        await recorder.flush()
        with contextlib.suppress(NotFound):
            await kube.delete(API, "Application", name, "argocd")


async def test_a_record_the_api_server_refuses_is_stored_once_it_accepts(
    installed: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored at once (no write delay), refused by an admission policy: the change waits
    in memory and is written when the API server accepts it again, not lost."""
    kube = installed
    name = unique("dora-retry")
    app = await _application(kube, name)
    cm_name = configmap_name("argocd", name)
    policy = f"{name}-deny"
    monkeypatch.setattr(recorder_module, "RETRY_SECONDS", 0.2)
    recorder = Recorder(kube, "argocd", write_delay=0.0)
    rule = {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["configmaps"],
    }
    refusal = f"object.metadata.name != '{cm_name}'"
    try:
        async with refusing(kube, policy, rule, refusal, "refused"):

            async def refused() -> bool:
                try:
                    await kube.create(
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": cm_name, "namespace": "argocd"},
                        }
                    )
                except ApiError as exc:
                    return "refused" in str(exc)
                await kube.delete("v1", "ConfigMap", cm_name, "argocd")
                return False

            await eventually(refused, "the admission policy in force")
            revision = "b" * 40
            finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            status = _status(revision, finished, "Healthy")
            happened = await recorder.record({**app, "status": status})
            assert [h.kind for h in happened] == ["deployment"], happened
            with pytest.raises(NotFound):
                await kube.get("v1", "ConfigMap", cm_name, "argocd")

            await allow(kube, policy)

            async def stored() -> bool:
                with contextlib.suppress(NotFound):
                    record = await load(kube, "argocd", "argocd", name)
                    return [d.revision for d in record.deployments] == [revision]
                return False

            await eventually(stored, "the refused record stored once the API server accepts it")
    finally:
        await recorder.flush()
        with contextlib.suppress(NotFound):
            await kube.delete(API, "Application", name, "argocd")
