"""``gitward app sync/get/list/diff/history/rollback`` through a real server process give
the output ``--core`` gives, for two identical Applications (one driven each way).

The server never syncs: it records the operation, and a real controller runs it.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.controller import running_controller
from tests.support.git import GitRepo
from tests.support.gwserver import ADMIN_PASSWORD
from tests.support.poll import eventually
from tests.support.serverprocess import Gitward, Ran, server_process

pytestmark = pytest.mark.cluster

API = "argoproj.io/v1alpha1"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _same(core: Ran, served: Ran, swaps: dict[str, str]) -> None:
    """Equal once names and times are swapped: exit status and stdout."""
    text = core.stdout
    for old, new in swaps.items():
        text = text.replace(old, new)
    want, got = STAMP.sub("<t>", text), STAMP.sub("<t>", served.stdout)
    changes = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(), lineterm=""))
    assert (core.returncode, want) == (served.returncode, got), changes + served.stderr


async def test_app_commands_match_core_through_the_server(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    tmp_path: Path,
) -> None:
    repo = git_repo("parity")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("settings"))}, "first")
    tag = unique("p")[-6:]
    apps = {"core": f"core-{tag}", "srv": f"srvr-{tag}"}
    spaces = {"core": f"ns-c-{tag}", "srv": f"ns-s-{tag}"}
    swaps = {apps["core"]: apps["srv"], spaces["core"]: spaces["srv"]}
    gw = Gitward(tmp_path / "config", cluster.kubeconfig, "argocd")

    def run(*args: str) -> Ran:
        return gw(*args)

    async def both(*args: str) -> tuple[Ran, Ran]:
        core = await asyncio.to_thread(run, "--core", "app", *args[:1], apps["core"], *args[1:])
        served = await asyncio.to_thread(run, "app", *args[:1], apps["srv"], *args[1:])
        return core, served

    for key in ("core", "srv"):
        await asyncio.to_thread(
            gw.ok,
            "--core", "app", "create", apps[key], "--repo", repo.url, "--path", "app",
            "--dest-namespace", spaces[key], "--sync-option", "CreateNamespace=true",
        )  # fmt: skip
    with server_process(cluster.kubeconfig, "argocd", tmp_path / "server.log") as url:
        async with running_controller(installed, interval=2.0):
            await asyncio.to_thread(
                gw.ok, "login", url, "--username", "admin", "--password", ADMIN_PASSWORD
            )
            for name in apps.values():  # the controller's first refresh, not racing the syncs

                async def refreshed(name: str = name) -> bool:
                    obj = await installed.get(API, "Application", name, "argocd")
                    return bool((obj.get("status") or {}).get("reconciledAt"))

                await eventually(refreshed, f"the controller to refresh {name}")
            core, served = await both("sync")
            assert core.returncode == 0, core.stdout + core.stderr
            assert "Phase:          Succeeded" in served.stdout
            _same(core, served, swaps)

            _same(*await both("get"), swaps)
            _same(*await both("history"), swaps)
            listed = await asyncio.to_thread(gw.ok, "app", "list", "-o", "name")
            assert apps["core"] in listed.split()
            assert apps["srv"] in listed.split()

            for key in ("core", "srv"):
                patch = {"data": {"k": "drifted"}}
                await installed.patch("v1", "ConfigMap", "settings", spaces[key], patch)
            core, served = await both("diff")
            assert core.returncode == 1
            assert "drifted" in served.stdout
            _same(core, served, swaps)

            second = repo.commit({"app/cm.yaml": yaml_docs(configmap("settings-2"))}, "second")
            # Both see the new commit before syncing (a controller resolves HEAD from its
            # cache until a refresh, as Argo CD's does until a webhook or a refresh).
            await both("get", "--hard-refresh")
            for name in apps.values():

                async def compared(name: str = name) -> bool:
                    obj = await installed.get(API, "Application", name, "argocd")
                    sync = (obj.get("status") or {}).get("sync") or {}
                    return bool(sync.get("revision") == second)

                await eventually(compared, f"{name} compared with the second commit")
            _same(*await both("get"), swaps)
            core, served = await both("sync", "--prune")
            _same(core, served, swaps)
            core, served = await both("rollback", "0")
            assert "Phase:          Succeeded" in served.stdout, served.stdout + served.stderr
            _same(core, served, swaps)
            assert "settings" in str(
                await installed.get("v1", "ConfigMap", "settings", spaces["srv"])
            )
