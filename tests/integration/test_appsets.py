"""ApplicationSets end to end: the controller running, a real API server, real git, webhooks.

Each test makes its own repository and names, and deletes its sets at the end
(the Applications go with them through their owner references).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gitward._util.secretdata import secret_fields
from gitward.appset import AppSetController
from gitward.cluster import Conflict, KubeClient, NotFound, build_cluster_secret
from gitward.cluster.secrets import IN_CLUSTER_SERVER, ClusterSpec
from gitward.controller import Controller
from gitward.localkube import LocalCluster
from gitward.localkube.process import free_ports
from tests.integration.test_multicluster import register
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.brief import gitward
from tests.support.controller import API, configmap_data, running_appsets
from tests.support.git import GitRepo
from tests.support.kubeconfigs import context_of, merged_kubeconfig
from tests.support.poll import eventually

Obj = dict[str, Any]
CLUSTER_SECRETS = "argocd.argoproj.io/secret-type=cluster"


def appset(name: str, spec: Obj, annotations: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": "argocd"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": API, "kind": "ApplicationSet", "metadata": meta, "spec": spec}


def template(name: str, repo: GitRepo, path: str, namespace: str, automated: bool = True) -> Obj:
    spec: Obj = {
        "project": "default",
        "source": {"repoURL": repo.url, "path": path, "targetRevision": "main"},
        "destination": {"server": IN_CLUSTER_SERVER, "namespace": namespace},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    }
    if automated:
        spec["syncPolicy"]["automated"] = {"prune": True, "selfHeal": True}
    return {"metadata": {"name": name}, "spec": spec}


async def owned(kube: KubeClient, set_name: str) -> dict[str, Obj]:
    apps = await kube.list(API, "Application", "argocd")
    return {
        a["metadata"]["name"]: a
        for a in apps
        if any(r.get("name") == set_name for r in a["metadata"].get("ownerReferences") or [])
        and not a["metadata"].get("deletionTimestamp")
    }


async def names(kube: KubeClient, set_name: str) -> set[str]:
    return set(await owned(kube, set_name))


async def conditions(kube: KubeClient, set_name: str) -> dict[str, Obj]:
    obj = await kube.get(API, "ApplicationSet", set_name, "argocd")
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def healthy(app: Obj) -> bool:
    status = app.get("status") or {}
    return (status.get("sync") or {}).get("status") == "Synced" and (
        (status.get("health") or {}).get("status") == "Healthy"
    )


async def webhook(kube: KubeClient, port: int, repo: GitRepo) -> Obj:
    """A GitHub push for ``repo`` to the controller, signed if the installation has a secret."""
    body = json.dumps(
        {"ref": "refs/heads/main", "repository": {"clone_url": repo.url, "default_branch": "main"}}
    ).encode()
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    with contextlib.suppress(NotFound):
        secret = secret_fields(await kube.get("v1", "Secret", "argocd-secret", "argocd"))
        if secret.get("webhook.github.secret"):
            key = secret["webhook.github.secret"].encode()
            headers["X-Hub-Signature-256"] = (
                "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            )
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/api/webhook", data=body, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        answer: Obj = await resp.json()
        return answer


@contextlib.asynccontextmanager
async def created(kube: KubeClient, *objects: Obj) -> AsyncIterator[None]:
    """Create ApplicationSets (and other objects); delete them afterwards."""
    for obj in objects:
        await kube.create(obj)
    try:
        yield
    finally:
        for obj in objects:
            meta = obj["metadata"]
            with contextlib.suppress(NotFound):
                await kube.delete(
                    obj["apiVersion"],
                    obj["kind"],
                    meta["name"],
                    meta.get("namespace"),
                    "Background",
                )


@pytest.fixture
async def controllers(
    installed: KubeClient,
) -> AsyncIterator[tuple[Controller, AppSetController, int]]:
    port = free_ports(1)[0]
    async with running_appsets(installed, 120.0, port) as (ctl, sets):
        yield ctl, sets, port


def manifests_repo(git_repo: Callable[[str], GitRepo], name: str, dirs: list[str]) -> GitRepo:
    repo = git_repo(name)
    repo.commit({f"apps/{d}/cm.yaml": yaml_docs(configmap(f"cm-{d}")) for d in dirs})
    return repo


# -- the brief's ApplicationSet over two registered clusters ----------------------------------


async def test_the_briefs_clusters_appset_creates_an_app_per_cluster_and_both_deploy(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    second_cluster: LocalCluster,
    kubeconfig: Path,
    tmp_path: Path,
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    repo = git_repo("brief-set")
    repo.commit({"manifests/cm.yaml": yaml_docs(configmap("brief"))})
    merged = merged_kubeconfig(tmp_path / "kubeconfig", kubeconfig, second_cluster.kubeconfig)
    far_name = unique("second")
    await register(merged, context_of(kubeconfig), context_of(second_cluster.kubeconfig), far_name)
    local = build_cluster_secret(
        ClusterSpec(server=IN_CLUSTER_SERVER, name=unique("management")), "argocd", unique("mgmt")
    )
    # The brief's ApplicationSet, as written (only repoURL points at the test's repository).
    brief = appset(
        unique("cluster-apps"),
        {
            "generators": [{"clusters": {}}],
            "template": {
                "metadata": {"name": "{{name}}-myapp"},
                "spec": {
                    "source": {"repoURL": repo.url, "path": "manifests"},
                    "destination": {"server": "{{server}}", "namespace": "myapp"},
                },
            },
        },
    )
    local_name = secret_fields(local)["name"]
    made: list[KubeClient] = []
    async with await KubeClient.from_kubeconfig(str(second_cluster.kubeconfig)) as far:
        try:
            async with created(kube, local, brief):
                wanted = {f"{far_name}-myapp", f"{local_name}-myapp"}

                async def generated() -> bool:
                    return wanted <= await names(kube, brief["metadata"]["name"])

                await eventually(generated, "an Application per registered cluster")
                apps = await owned(kube, brief["metadata"]["name"])
                assert apps[f"{far_name}-myapp"]["spec"]["destination"]["server"] == far.server
                assert "in-cluster-myapp" not in apps  # a Secret registers the in-cluster URL
                for client in (kube, far):  # the brief's namespace, as its user would create it
                    with contextlib.suppress(Conflict):
                        await client.create(
                            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "myapp"}}
                        )
                        made.append(client)
                for app_name in wanted:  # the brief's template has no sync policy: sync by hand
                    result = await asyncio.to_thread(
                        gitward, kubeconfig, "--namespace", "argocd", "app", "sync", app_name
                    )
                    assert result.returncode == 0, result.stdout + result.stderr
                assert await configmap_data(far, "brief", "myapp") == {"k": "brief"}
                assert await configmap_data(kube, "brief", "myapp") == {"k": "brief"}

            # The set is gone: its apps, and through their finalizers the ConfigMaps, go too.
            async def cascaded() -> bool:
                return not await names(kube, brief["metadata"]["name"]) and (
                    await configmap_data(far, "brief", "myapp") is None
                )

            await eventually(cascaded, "the apps and their resources deleted with the set")
        finally:
            for client in made:  # other tests of the session use "myapp" too
                await _delete_namespace(client, "myapp")
            for secret in await kube.list("v1", "Secret", "argocd", CLUSTER_SECRETS):
                if secret_fields(secret).get("name") == far_name:
                    await kube.delete("v1", "Secret", secret["metadata"]["name"], "argocd")


async def _delete_namespace(client: KubeClient, name: str) -> None:
    with contextlib.suppress(NotFound):
        await client.delete("v1", "Namespace", name, propagation="Background")

    async def gone() -> bool:
        try:
            await client.get("v1", "Namespace", name)
        except NotFound:
            return True
        return False

    await eventually(gone, f"namespace {name} to be deleted", timeout=120)


# -- git directories and files, webhooks, deletion ----------------------------------------------


async def test_git_directories_and_files_follow_pushes_through_the_webhook(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    _ctl, _sets, port = controllers
    tag = unique("g")
    repo = manifests_repo(git_repo, "dirs", ["one", "two", "three", "skipped"])
    repo.commit(
        {
            "envs/dev/config.json": json.dumps({"env": "dev", "ns": f"{tag}-dev"}),
            "envs/prod/config.json": json.dumps({"env": "prod", "ns": f"{tag}-prod"}),
            "envs/prod/notes.json": "{}",
        }
    )
    dirs = appset(
        f"{tag}-dirs",
        {
            "generators": [
                {
                    "git": {
                        "repoURL": repo.url,
                        "revision": "main",
                        "directories": [
                            {"path": "apps/*"},
                            {"path": "apps/skipped", "exclude": True},
                        ],
                    }
                }
            ],
            "template": template(
                f"{tag}-{{{{path.basename}}}}", repo, "{{path}}", f"{tag}-{{{{path.basename}}}}"
            ),
        },
    )
    files = appset(
        f"{tag}-files",
        {
            "generators": [
                {
                    "git": {
                        "repoURL": repo.url,
                        "revision": "main",
                        "files": [{"path": "envs/*/config.json"}],
                    }
                }
            ],
            "template": template(
                f"{tag}-env-{{{{env}}}}", repo, "apps/one", "{{ns}}", automated=False
            ),
        },
    )
    async with created(kube, dirs, files):
        expected = {f"{tag}-one", f"{tag}-two", f"{tag}-three"}

        async def dir_apps() -> bool:
            return await names(kube, dirs["metadata"]["name"]) == expected

        await eventually(dir_apps, "an app per directory but the excluded one")

        env_apps = {f"{tag}-env-dev", f"{tag}-env-prod"}

        async def file_apps() -> bool:
            # Apps are created one by one: wait for the whole set, then check it is exact.
            return await names(kube, files["metadata"]["name"]) >= env_apps

        await eventually(file_apps, "an app per config.json")
        assert await names(kube, files["metadata"]["name"]) == env_apps
        apps = await owned(kube, files["metadata"]["name"])
        assert apps[f"{tag}-env-prod"]["spec"]["destination"]["namespace"] == f"{tag}-prod"

        async def deployed() -> bool:
            apps = await owned(kube, dirs["metadata"]["name"])
            return len(apps) == 3 and all(healthy(a) for a in apps.values())

        await eventually(deployed, "the directory apps to sync", timeout=120)

        # A new directory, pushed: its app appears within seconds of the webhook.
        started = time.monotonic()
        repo.commit({"apps/four/cm.yaml": yaml_docs(configmap("cm-four"))})
        answer = await webhook(kube, port, repo)
        assert dirs["metadata"]["name"] in answer["applicationsets"]

        async def four() -> bool:
            return f"{tag}-four" in await names(kube, dirs["metadata"]["name"])

        await eventually(four, "the pushed directory's app", timeout=5)
        print(f"push -> generated app: {time.monotonic() - started:.2f} s")

        # The directory removed: its app is deleted (one of four: under the threshold).
        repo.commit({"apps/two": None})
        await webhook(kube, port, repo)

        async def two_gone() -> bool:
            return f"{tag}-two" not in await names(kube, dirs["metadata"]["name"])

        await eventually(two_gone, "the removed directory's app to be deleted", timeout=30)

        async def resources_cleaned() -> bool:
            return await configmap_data(kube, "cm-two", f"{tag}-two") is None

        await eventually(
            resources_cleaned, "its resources deleted through the finalizer", timeout=60
        )

        async def listed() -> bool:
            state = await kube.get(API, "ApplicationSet", dirs["metadata"]["name"], "argocd")
            names = {r["name"] for r in state["status"]["resources"]}
            return names == {f"{tag}-one", f"{tag}-three", f"{tag}-four"}

        await eventually(listed, "status.resources without the deleted app")


async def test_nothing_is_deleted_when_git_fails_or_empties_until_a_person_approves(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    git_repo: Callable[[str], GitRepo],
    kubeconfig: Path,
) -> None:
    kube = installed
    _ctl, _sets, port = controllers
    tag = unique("safe")
    repo = manifests_repo(git_repo, "safe", ["a", "b", "c", "d"])
    spec = {
        "generators": [
            {"git": {"repoURL": repo.url, "revision": "main", "directories": [{"path": "apps/*"}]}}
        ],
        "template": template(
            f"{tag}-{{{{path.basename}}}}",
            repo,
            "{{path}}",
            f"{tag}-{{{{path.basename}}}}",
            automated=False,
        ),
    }
    the_set = appset(tag, spec)
    async with created(kube, the_set):
        everything = {f"{tag}-{d}" for d in "abcd"}

        async def all_four() -> bool:
            return await names(kube, tag) == everything

        await eventually(all_four, "four apps")

        # The repository becomes unreachable: an error condition, and nothing deleted.
        moved = repo.path.with_name("safe-moved")
        repo.path.rename(moved)
        try:
            await webhook(kube, port, repo)

            async def failing() -> Obj | None:
                cond = (await conditions(kube, tag)).get("ErrorOccurred") or {}
                return cond if cond.get("status") == "True" else None

            cond = await eventually(failing, "an ErrorOccurred condition")
            assert cond["reason"] == "ApplicationParamsGenerationError"
            assert "spec.generators[0].git" in cond["message"]
            assert await names(kube, tag) == everything
        finally:
            moved.rename(repo.path)

        # The directories disappear from Git: all four would go; the deletion is held.
        repo.commit({"apps": None, "README": "empty now"})
        await webhook(kube, port, repo)

        async def held() -> Obj | None:
            return (await conditions(kube, tag)).get("DeletionHeld")

        cond = await eventually(held, "a DeletionHeld condition")
        assert "would delete all 4 applications" in cond["message"]
        assert f"gitward appset approve {tag}" in cond["message"]
        assert await names(kube, tag) == everything
        events = await kube.list(
            "v1", "Event", "argocd", field_selector=f"involvedObject.name={tag}"
        )
        assert any(e["reason"] == "DeletionHeld" and e["type"] == "Warning" for e in events)
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            metrics = await resp.text()
        assert f'gitward_appset_deletion_held{{name="{tag}",namespace="argocd"}} 4.0' in metrics
        assert f'argocd_appset_owned_applications{{name="{tag}",namespace="argocd"}} 4.0' in metrics
        shown = await asyncio.to_thread(
            gitward, kubeconfig, "--namespace", "argocd", "appset", "get", tag
        )
        assert "Held:" in shown.stdout
        assert f"{tag}-a" in shown.stdout

        # A person approves: exactly those four go.
        result = await asyncio.to_thread(
            gitward, kubeconfig, "--namespace", "argocd", "appset", "approve", tag
        )
        assert result.returncode == 0, result.stdout + result.stderr

        async def none_left() -> bool:
            return not await names(kube, tag)

        await eventually(none_left, "the approved deletion", timeout=60)

        async def approval_used() -> bool:
            obj = await kube.get(API, "ApplicationSet", tag, "argocd")
            annotations = obj["metadata"].get("annotations") or {}
            return "gitward.io/approve-deletion" not in annotations and (
                "DeletionHeld" not in await conditions(kube, tag)
            )

        await eventually(approval_used, "the approval to be used up and the hold gone")


async def test_a_held_deletion_lifts_when_the_generators_return_the_apps(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    _ctl, _sets, port = controllers
    tag = unique("back")
    repo = manifests_repo(git_repo, "back", ["a", "b", "c", "d"])
    spec = {
        "generators": [
            {"git": {"repoURL": repo.url, "revision": "main", "directories": [{"path": "apps/*"}]}}
        ],
        "template": template(
            f"{tag}-{{{{path.basename}}}}", repo, "{{path}}", tag, automated=False
        ),
    }
    async with created(kube, appset(tag, spec)):

        async def four() -> bool:
            return len(await names(kube, tag)) == 4

        await eventually(four, "four apps")
        good = repo.head()
        repo.commit({"apps/a": None, "apps/b": None, "apps/c": None})  # 3 of 4: above 25 %
        await webhook(kube, port, repo)

        async def held() -> Obj | None:
            return (await conditions(kube, tag)).get("DeletionHeld")

        assert "would delete 3 of 4" in (await eventually(held, "a held deletion"))["message"]
        repo.commit({f"apps/{d}/cm.yaml": yaml_docs(configmap(f"cm-{d}")) for d in "abc"})
        assert repo.head() != good
        await webhook(kube, port, repo)

        async def lifted() -> bool:
            return "DeletionHeld" not in await conditions(kube, tag)

        await eventually(lifted, "the hold to lift when the directories came back")
        assert len(await names(kube, tag)) == 4


# -- matrix, merge, goTemplate ------------------------------------------------------------------


async def test_matrix_of_clusters_and_git_directories_and_a_merge_override(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    tag = unique("mx")
    repo = manifests_repo(git_repo, "matrix", ["web", "db"])
    label = {"matrix-test": tag}
    secrets = [
        build_cluster_secret(
            ClusterSpec(server=IN_CLUSTER_SERVER, name=f"{tag}-a"), "argocd", f"{tag}-a"
        ),
        build_cluster_secret(
            ClusterSpec(server="https://unreachable.invalid:6443", name=f"{tag}-b"),
            "argocd",
            f"{tag}-b",
        ),
    ]
    for secret in secrets:
        secret["metadata"]["labels"].update(label)
    matrix = appset(
        f"{tag}-matrix",
        {
            "generators": [
                {
                    "matrix": {
                        "generators": [
                            {"clusters": {"selector": {"matchLabels": label}}},
                            {
                                "git": {
                                    "repoURL": repo.url,
                                    "revision": "main",
                                    "directories": [{"path": "apps/*"}],
                                }
                            },
                        ]
                    }
                }
            ],
            "template": template(
                "{{name}}-{{path.basename}}", repo, "{{path}}", tag, automated=False
            ),
        },
    )
    merge = appset(
        f"{tag}-merge",
        {
            "generators": [
                {
                    "merge": {
                        "mergeKeys": ["name"],
                        "generators": [
                            {
                                "clusters": {
                                    "selector": {"matchLabels": label},
                                    "values": {"path": "apps/web"},
                                }
                            },
                            {
                                "list": {
                                    "elements": [
                                        {"name": f"{tag}-b", "values": {"path": "apps/db"}}
                                    ]
                                }
                            },
                        ],
                    }
                }
            ],
            "template": template("{{name}}-merged", repo, "{{values.path}}", tag, automated=False),
        },
    )
    async with created(kube, *secrets, matrix, merge):
        combos = {f"{tag}-a-web", f"{tag}-a-db", f"{tag}-b-web", f"{tag}-b-db"}

        async def all_combos() -> bool:
            # Apps are created one by one: wait for the whole set, then check it is exact.
            return await names(kube, matrix["metadata"]["name"]) >= combos

        await eventually(all_combos, "cluster x directory apps")
        assert await names(kube, matrix["metadata"]["name"]) == combos

        async def merged() -> dict[str, Obj]:
            apps = await owned(kube, merge["metadata"]["name"])
            return apps if len(apps) == 2 else {}

        apps = await eventually(merged, "merged apps")
        assert apps[f"{tag}-a-merged"]["spec"]["source"]["path"] == "apps/web"
        assert apps[f"{tag}-b-merged"]["spec"]["source"]["path"] == "apps/db"  # the override


async def test_go_template_with_sprig_and_missingkey_error(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    tag = unique("go")
    repo = manifests_repo(git_repo, "go", ["web"])
    spec: Obj = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [
            {
                "list": {
                    "elements": [
                        {"team": "Payments_EU", "cfg": {"replicas": 3}},
                        {"team": "Search", "cfg": {"replicas": 1}, "path": "apps/web"},
                    ]
                }
            }
        ],
        "template": {
            "metadata": {
                "name": f"{tag}-" + '{{ .team | lower | replace "_" "-" }}',
                "annotations": {"cfg": "{{ toYaml .cfg }}"},
            },
            "spec": {
                "project": "default",
                "source": {
                    "repoURL": repo.url,
                    "path": '{{ .path | default "apps/web" }}',
                    "targetRevision": "main",
                },
                "destination": {"server": IN_CLUSTER_SERVER, "namespace": tag},
            },
        },
    }
    the_set = appset(tag, spec)
    async with created(kube, the_set):
        # Payments_EU has no .path: with missingkey=error that is an error, and nothing is made.
        async def refused() -> Obj | None:
            cond = (await conditions(kube, tag)).get("ErrorOccurred") or {}
            return cond if cond.get("status") == "True" else None

        cond = await eventually(refused, "a missingkey error condition")
        assert cond["reason"] == "RenderTemplateParamsError"
        assert 'map has no entry for key "path"' in cond["message"]
        assert not await names(kube, tag)

        obj = await kube.get(API, "ApplicationSet", tag, "argocd")
        obj["spec"]["generators"][0]["list"]["elements"][0]["path"] = "apps/web"
        await kube.replace(obj)

        async def made() -> dict[str, Obj]:
            apps = await owned(kube, tag)
            return apps if len(apps) == 2 else {}

        apps = await eventually(made, "both apps once every element has a path")
        assert set(apps) == {f"{tag}-payments-eu", f"{tag}-search"}
        assert apps[f"{tag}-payments-eu"]["metadata"]["annotations"]["cfg"] == "replicas: 3"

        async def no_error() -> bool:
            return (await conditions(kube, tag))["ErrorOccurred"]["status"] == "False"

        await eventually(no_error, "the error condition to clear")


# -- progressive sync ------------------------------------------------------------------------------


async def test_rolling_sync_syncs_three_steps_in_order(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    tag = unique("roll")
    repo = manifests_repo(git_repo, "roll", ["dev", "qa", "prod"])
    elements = [{"env": env} for env in ("dev", "qa", "prod")]
    tmpl = template(f"{tag}-{{{{env}}}}", repo, "apps/{{env}}", f"{tag}-{{{{env}}}}")
    tmpl["metadata"]["labels"] = {"env": "{{env}}"}
    steps = [
        {"matchExpressions": [{"key": "env", "operator": "In", "values": [env]}]}
        for env in ("dev", "qa", "prod")
    ]
    spec = {
        "generators": [{"list": {"elements": elements}}],
        "strategy": {"type": "RollingSync", "rollingSync": {"steps": steps}},
        "template": tmpl,
    }
    async with created(kube, appset(tag, spec)):
        order = [f"{tag}-{env}" for env in ("dev", "qa", "prod")]
        started: list[str] = []

        async def progress() -> bool:
            apps = await owned(kube, tag)
            for index, app_name in enumerate(order):
                app = apps.get(app_name)
                if app is None:
                    continue
                assert "automated" not in app["spec"]["syncPolicy"]  # the set syncs, step by step
                began = bool(
                    app.get("operation") or (app.get("status") or {}).get("operationState")
                )
                if began and app_name not in started:
                    # A step starts only once every app of the steps before it is Healthy.
                    for earlier in order[:index]:
                        assert earlier in apps, earlier
                        assert healthy(apps[earlier]), f"{app_name} started before {earlier}"
                    started.append(app_name)
            return len(apps) == 3 and all(healthy(a) for a in apps.values())

        await eventually(progress, "all three steps synced and healthy", timeout=180)
        assert started == order
        obj = await kube.get(API, "ApplicationSet", tag, "argocd")
        rollout = {s["application"]: s for s in obj["status"]["applicationStatus"]}
        assert {s["status"] for s in rollout.values()} == {"Healthy"}
        assert rollout[f"{tag}-prod"]["step"] == "3"
        history = (await kube.get(API, "Application", f"{tag}-qa", "argocd"))["status"]["history"]
        assert history[-1]["initiatedBy"]["username"] == "applicationset-controller"


# -- validation, policies, deletion of the set -----------------------------------------------------


async def test_invalid_apps_are_reported_and_the_valid_ones_created(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    tag = unique("bad")
    repo = manifests_repo(git_repo, "bad", ["web"])
    tmpl = template("{{name}}", repo, "apps/web", tag, automated=False)
    tmpl["spec"]["project"] = "{{project}}"
    spec = {
        "generators": [
            {
                "list": {
                    "elements": [
                        {"name": f"{tag}-ok", "project": "default"},
                        {"name": f"{tag}_Bad", "project": "default"},
                        {"name": f"{tag}-noproj", "project": "nowhere"},
                    ]
                }
            }
        ],
        "template": tmpl,
    }
    async with created(kube, appset(tag, spec)):

        async def reported() -> Obj | None:
            cond = (await conditions(kube, tag)).get("ErrorOccurred") or {}
            return cond if cond.get("reason") == "ApplicationValidationError" else None

        cond = await eventually(reported, "a validation error")
        assert "project nowhere which does not exist (and 1 more)" in cond["message"]
        assert await names(kube, tag) == {f"{tag}-ok"}


async def test_deleting_a_create_update_set_keeps_its_apps(
    installed: KubeClient,
    controllers: tuple[Controller, AppSetController, int],
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    tag = unique("keep")
    repo = manifests_repo(git_repo, "keep", ["web"])
    spec = {
        "generators": [{"list": {"elements": [{"name": f"{tag}-app"}]}}],
        "syncPolicy": {"applicationsSync": "create-update", "preserveResourcesOnDeletion": True},
        "template": template("{{name}}", repo, "apps/web", tag, automated=False),
    }
    obj = appset(tag, spec)
    obj["metadata"]["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    await kube.create(obj)

    async def made() -> bool:
        return await names(kube, tag) == {f"{tag}-app"}

    await eventually(made, "the app")
    app = await kube.get(API, "Application", f"{tag}-app", "argocd")
    assert "finalizers" not in app["metadata"]  # preserveResourcesOnDeletion
    await kube.delete(API, "ApplicationSet", tag, "argocd", "Background")

    async def set_gone() -> bool:
        try:
            await kube.get(API, "ApplicationSet", tag, "argocd")
        except NotFound:
            return True
        return False

    await eventually(set_gone, "the set to be deleted")
    # Its owner reference went before the set did: the garbage collector has nothing to follow.
    app = await kube.get(API, "Application", f"{tag}-app", "argocd")
    assert not app["metadata"].get("ownerReferences")
    await kube.delete(API, "Application", f"{tag}-app", "argocd", "Background")
