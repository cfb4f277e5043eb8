"""``gitward app terminate-op``: the running operation ends, recorded as Argo CD records it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.cluster import KubeClient
from tests.support.apps import API, app_in_operation, offline_app, unique
from tests.support.brief import gitward
from tests.support.poll import delete_and_wait

pytestmark = pytest.mark.cluster


async def test_terminate_op_records_the_end_and_clears_the_lock(
    installed: KubeClient, kubeconfig: Path
) -> None:
    name = unique("term")
    # What a sync killed in its second wave leaves behind: the lock and a Running record.
    await app_in_operation(
        installed,
        offline_app(name, "argocd"),
        holder="gitward-cli@gone/1",
        message="waiting for wave 1",
        started_at="2026-12-07T10:00:00Z",
    )
    try:
        done = gitward(kubeconfig, "--namespace", "argocd", "app", "terminate-op", name)
        assert done.returncode == 0, done.stderr
        assert f"operation of application '{name}' terminated" in done.stdout
        stored = await installed.get(API, "Application", name, "argocd")
        assert "operation" not in stored
        ended = stored["status"]["operationState"]
        assert ended["phase"] == "Failed"
        assert ended["message"] == "Operation terminated"
        assert ended["finishedAt"]
        assert ended["startedAt"] == "2026-12-07T10:00:00Z"  # the rest of the record stays

        again = gitward(kubeconfig, "--namespace", "argocd", "app", "terminate-op", name)
        assert again.returncode == 0, again.stderr
        unchanged = await installed.get(API, "Application", name, "argocd")
        assert unchanged["status"]["operationState"] == ended  # an ended record stays ended
    finally:
        await delete_and_wait(installed, API, "Application", name, "argocd")
