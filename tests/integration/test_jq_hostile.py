"""``ignoreDifferences.jqPathExpressions`` written by an attacker, through the real CLI refresh."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster
from tests.support.apps import app_json, configmap, create_app, unique, yaml_docs
from tests.support.git import GitRepo

API = "argoproj.io/v1alpha1"


async def test_unsafe_and_slow_jq_expressions(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("jq"), unique("jq")
    repo = git_repo("jq")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    create_app(cluster.kubeconfig, name, repo, "app", ns)

    async def refresh_with(*exprs: str) -> dict[str, Any]:
        rule = {"group": "", "kind": "ConfigMap", "jqPathExpressions": list(exprs)}
        await kube.patch(
            API, "Application", name, "argocd", {"spec": {"ignoreDifferences": [rule]}}
        )
        return app_json(cluster.kubeconfig, name, "--refresh")

    try:
        for expr, reason in (
            ("$ENV.HOME", "$ENV is not allowed"),
            (".data | env", "env is not allowed"),
            (".data), (.x", "unbalanced ')'"),
            ('include "x"; .data', "include is not allowed"),
        ):
            app = await refresh_with(".metadata.labels", expr)
            messages = [c["message"] for c in app["status"].get("conditions", [])]
            assert app["status"]["sync"]["status"] == "Unknown", app["status"]
            assert any(
                m.startswith("spec.ignoreDifferences[0].jqPathExpressions[1]: ") and reason in m
                for m in messages
            ), messages
            assert os.environ["HOME"] not in str(app["status"])  # the environment never read

        # A pure but endless expression: the refresh finishes at the time limit (1 s).
        started = time.monotonic()
        app = await refresh_with("reduce range(1000000000) as $i (.; .) | .data")
        assert time.monotonic() - started < 30
        assert app["status"]["sync"]["status"] == "OutOfSync"  # the ConfigMap is not there

        # A legitimate expression still works next to them.
        app = await refresh_with('.data | select(.k == "v")')
        assert app["status"]["sync"]["status"] == "OutOfSync"
    finally:
        await kube.delete(API, "Application", name, "argocd")
