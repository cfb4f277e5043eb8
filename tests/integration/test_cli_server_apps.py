"""``gitward app create/sync/get/list/diff/history/rollback/resources/manifests/wait/set/
delete`` through a real server process give the output ``--core`` gives, for two
identical Applications (one driven each way).

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
#: What differs between two live objects made alike: the API server's identity fields.
IDENTITY = re.compile(r"^(\s*(?:uid|resourceVersion)): .*$", re.MULTILINE)


def _same(core: Ran, served: Ran, swaps: dict[str, str]) -> None:
    """Equal once names and times are swapped: exit status and stdout."""
    text = core.stdout
    for old, new in swaps.items():
        text = text.replace(old, new)
    want, got = (IDENTITY.sub(r"\1: <id>", STAMP.sub("<t>", t)) for t in (text, served.stdout))
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
        rest = [swaps.get(a, a) for a in args[1:]]
        served = await asyncio.to_thread(run, "app", *args[:1], apps["srv"], *rest)
        return core, served

    create = ("--repo", repo.url, "--path", "app", "--sync-option", "CreateNamespace=true")
    with server_process(cluster.kubeconfig, "argocd", tmp_path / "server.log") as url:
        async with running_controller(installed, interval=2.0):
            await asyncio.to_thread(
                gw.ok, "login", url, "--username", "admin", "--password", ADMIN_PASSWORD
            )
            core, served = await both("create", *create, "--dest-namespace", spaces["core"])
            assert "created" in served.stdout, served.stdout + served.stderr
            _same(core, served, swaps)
            _same(*await both("create", *create, "--dest-namespace", spaces["core"]), swaps)
            core, served = await both("create", *create, "--dest-namespace", "elsewhere")
            assert "--upsert" in served.stderr
            _same(core, served, swaps)
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
            _same(*await both("resources"), swaps)
            _same(*await both("manifests"), swaps)
            _same(*await both("manifests", "--source", "live"), swaps)
            _same(*await both("wait", "--timeout", "60"), swaps)
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

            core, served = await both("set", "--revision", "HEAD")
            assert "updated" in served.stdout, served.stdout + served.stderr
            _same(core, served, swaps)
            for name in apps.values():
                obj = await installed.get(API, "Application", name, "argocd")
                assert obj["spec"]["source"]["targetRevision"] == "HEAD"
            refused = await asyncio.to_thread(run, "app", "terminate-op", apps["srv"])
            assert refused.returncode == 2
            assert "No operation is in progress" in refused.stderr
            core, served = await both("delete")
            assert "deleted" in served.stdout, served.stdout + served.stderr
            _same(core, served, swaps)
            for key in ("core", "srv"):

                async def pruned(key: str = key) -> bool:
                    found = await installed.list("v1", "ConfigMap", spaces[key])
                    return not [c for c in found if c["metadata"]["name"].startswith("settings")]

                await eventually(pruned, f"the resources of {apps[key]} deleted")
