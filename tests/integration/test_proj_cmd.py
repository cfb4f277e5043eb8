"""``gitward proj``: create, inspect, edit and delete AppProjects on a real cluster, as users do.

Every edit is checked on the stored object (a GET), not on what the command printed; every
refusal is checked to have written nothing (the resourceVersion did not move).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.appstate import project_writes
from gitward.cluster import ApiError, KubeClient, NotFound
from gitward.localkube import LocalCluster
from gitward.projects import edit
from gitward.projects.edit import Change
from tests.support.apps import unique
from tests.support.brief import gitward
from tests.support.poll import eventually

Obj = dict[str, Any]
API = "argoproj.io/v1alpha1"
NS = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
REPO = "https://github.com/org/team-a.git"


async def applications_served(kube: KubeClient) -> bool:
    """Whether the API server lists Applications yet: a CRD just installed answers
    ``429 storage is (re)initializing`` until its watch cache is ready."""
    try:
        await kube.list(API, "Application", NS)
    except ApiError as exc:
        if exc.status == 429:
            return False
        raise
    return True


@pytest.fixture
async def names(installed: KubeClient) -> AsyncIterator[Callable[[str], str]]:
    """Unique names for projects and apps; whatever was made under them is deleted after."""
    await eventually(lambda: applications_served(installed), "Applications listed", 120)
    made: list[str] = []

    def make(prefix: str) -> str:
        made.append(unique(prefix))
        return made[-1]

    yield make
    for name in made:
        for kind in ("Application", "AppProject"):
            with contextlib.suppress(NotFound):
                await installed.delete(API, kind, name, NS, "Background")


async def stored(kube: KubeClient, name: str) -> Obj:
    return await kube.get(API, "AppProject", name, NS)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2 and one line on stderr holding every word."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


async def test_create_get_list_and_delete(
    installed: KubeClient, cluster: LocalCluster, names: Callable[[str], str], tmp_path: Path
) -> None:
    kube, kc = installed, cluster.kubeconfig
    name, from_file = names("team"), names("filed")
    flags = (
        "--description", "Team A", "--src", REPO,
        "--dest", f"{IN_CLUSTER},team-a", "--dest", "in-cluster,team-a-*",
        "--source-namespaces", "team-a-apps,{x,y}-apps",
        "--allow-cluster-resource", "Namespace",
    )  # fmt: skip
    assert ok(gitward(kc, "proj", "create", name, *flags)).strip() == f"project '{name}' created"
    spec = (await stored(kube, name))["spec"]
    assert spec == {
        "description": "Team A",
        "sourceRepos": [REPO],
        "destinations": [
            {"server": IN_CLUSTER, "namespace": "team-a"},
            {"name": "in-cluster", "namespace": "team-a-*"},
        ],
        "sourceNamespaces": ["team-a-apps", "{x,y}-apps"],
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
    }

    # The same again is no change; a different spec needs --upsert, and then replaces it.
    assert "unchanged" in ok(gitward(kc, "proj", "create", name, *flags))
    version = (await stored(kube, name))["metadata"]["resourceVersion"]
    refused(gitward(kc, "proj", "create", name, "--src", "*"), "--upsert", name)
    assert (await stored(kube, name))["metadata"]["resourceVersion"] == version
    assert "updated" in ok(
        gitward(kc, "proj", "create", name, *flags, "--description", "A2", "--upsert")
    )
    assert (await stored(kube, name))["spec"]["description"] == "A2"

    # From a file (as `proj get -o yaml` prints it), a flag overriding one field.
    manifest = yaml.safe_load(ok(gitward(kc, "proj", "get", name, "-o", "yaml")))
    manifest["metadata"]["name"] = from_file
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(manifest))
    ok(gitward(kc, "proj", "create", "-f", str(tmp_path / "p.yaml"), "--description", "filed"))
    copied = (await stored(kube, from_file))["spec"]
    assert copied == {**spec, "description": "filed"}
    refused(
        gitward(kc, "proj", "create", "other", "-f", str(tmp_path / "p.yaml")), "does not match"
    )

    shown = ok(gitward(kc, "proj", "get", name))
    for label, value in (
        ("Name:", name),
        ("Description:", "A2"),
        ("Destinations:", f"{IN_CLUSTER},team-a"),
        ("", "in-cluster,team-a-*"),
        ("Repositories:", REPO),
        ("Source Namespaces:", "team-a-apps"),
        ("", "{x,y}-apps"),
        ("Allowed Cluster Resources:", "/Namespace"),
        ("Denied Cluster Resources:", "<none>"),
        ("Allowed Namespaced Resources:", "<all>"),
        ("Denied Namespaced Resources:", "<none>"),
        ("Orphaned Resources:", "disabled"),
        ("Sync Windows:", "<none>"),
    ):
        line = f"{label:<31}{value}"
        assert line in shown.splitlines(), shown
    assert json.loads(ok(gitward(kc, "proj", "get", name, "-o", "json"))) == await stored(
        kube, name
    )

    listed = ok(gitward(kc, "proj", "list")).splitlines()
    assert listed[0].split() == [
        "NAME", "DESCRIPTION", "DESTINATIONS", "SOURCES", "CLUSTER-RESOURCE-WHITELIST",
        "NAMESPACE-RESOURCE-BLACKLIST", "SIGNATURE-KEYS", "ORPHANED-RESOURCES",
        "DESTINATION-SERVICE-ACCOUNTS",
    ]  # fmt: skip
    row = next(line for line in listed if line.startswith(name + " "))
    assert row.split() == [
        name, "A2", "2", "destinations", REPO, "/Namespace", "<none>", "<none>", "disabled",
        "<none>",
    ]  # fmt: skip
    assert "default" in ok(gitward(kc, "proj", "list", "-o", "name")).split()
    wide = ok(gitward(kc, "proj", "list", "-o", "wide")).splitlines()
    assert wide[0].split()[-2:] == ["SOURCE-NAMESPACES", "SYNC-WINDOWS"]

    assert ok(gitward(kc, "proj", "delete", name, from_file)).splitlines() == [
        f"project '{name}' deleted",
        f"project '{from_file}' deleted",
    ]
    with pytest.raises(NotFound):
        await stored(kube, name)
    refused(gitward(kc, "proj", "delete", name), "not found")
    refused(gitward(kc, "proj", "get", name), f"project '{name}' not found in namespace 'argocd'")


async def test_each_edit_changes_the_stored_object_and_a_no_op_writes_nothing(
    installed: KubeClient, cluster: LocalCluster, names: Callable[[str], str]
) -> None:
    kube, kc = installed, cluster.kubeconfig
    name = names("edited")
    ok(gitward(kc, "proj", "create", name, "--src", REPO, "--dest", f"{IN_CLUSTER},team-a"))

    async def after(*args: str) -> tuple[str, Obj]:
        printed = ok(gitward(kc, "proj", *args)).strip()
        return printed, (await stored(kube, name))["spec"]

    other = "https://github.com/org/other.git"
    _, spec = await after("add-source", name, other)
    assert spec["sourceRepos"] == [REPO, other]
    _, spec = await after("remove-source", name, REPO)
    assert spec["sourceRepos"] == [other]
    _, spec = await after("add-destination", name, IN_CLUSTER, "team-b")
    _, spec = await after("add-destination", name, "in-cluster", "team-c", "--name")
    assert spec["destinations"][1:] == [
        {"server": IN_CLUSTER, "namespace": "team-b"},
        {"name": "in-cluster", "namespace": "team-c"},
    ]
    _, spec = await after("remove-destination", name, IN_CLUSTER, "team-a")
    _, spec = await after("remove-destination", name, "in-cluster", "team-c")
    assert spec["destinations"] == [{"server": IN_CLUSTER, "namespace": "team-b"}]
    printed, spec = await after("allow-cluster-resource", name, "", "Namespace")
    assert printed == "Group '' and kind 'Namespace' is added to allowed cluster resources"
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    _, spec = await after("deny-cluster-resource", name, "", "Namespace")
    assert spec["clusterResourceWhitelist"] == []
    _, spec = await after("deny-namespace-resource", name, "apps", "DaemonSet")
    assert spec["namespaceResourceBlacklist"] == [{"group": "apps", "kind": "DaemonSet"}]
    _, spec = await after("allow-namespace-resource", name, "apps", "DaemonSet")
    assert spec["namespaceResourceBlacklist"] == []
    _, spec = await after("allow-namespace-resource", name, "apps", "Deployment", "-l", "allow")
    assert spec["namespaceResourceWhitelist"] == [{"group": "apps", "kind": "Deployment"}]

    version = (await stored(kube, name))["metadata"]["resourceVersion"]
    for no_op, says in (
        (("add-source", name, "https://GitHub.com/org/other"), "already allowed"),
        (("remove-source", name, REPO), "does not exist"),
        (("add-destination", name, IN_CLUSTER, "team-b"), "already defined"),
        (("remove-destination", name, IN_CLUSTER, "nowhere"), "does not exist"),
        (("deny-cluster-resource", name, "", "Namespace"), "not in allowed cluster resources"),
        (("allow-namespace-resource", name, "apps", "DaemonSet"), "not in denied namespaced"),
    ):
        assert says in ok(gitward(kc, "proj", *no_op)), no_op
    assert (await stored(kube, name))["metadata"]["resourceVersion"] == version

    refused(gitward(kc, "proj", "add-source", name, "https://github.com/org/[a"), "sourceRepos[1]")
    refused(gitward(kc, "proj", "add-destination", name, "in-cluster", "x"), "--name")
    refused(gitward(kc, "proj", "add-source", names("missing"), REPO), "not found")
    assert (await stored(kube, name))["metadata"]["resourceVersion"] == version


async def test_windows_add_list_delete_with_one_open_now(
    installed: KubeClient, cluster: LocalCluster, names: Callable[[str], str]
) -> None:
    kube, kc = installed, cluster.kubeconfig
    name = names("windowed")
    ok(gitward(kc, "proj", "create", name, "--src", "*", "--dest", "*,*"))
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).hour  # closed for hours yet
    window = ("--duration", "1h", "--applications", "web-*,api")
    added = ok(gitward(kc, "proj", "windows", "add", name, "--kind", "deny",
                       "--schedule", "* * * * *", *window))  # fmt: skip
    assert added.strip() == "Sync window 0 added: deny '* * * * *' for 1h"
    ok(gitward(kc, "proj", "windows", "add", name, "--kind", "allow",
               "--schedule", f"0 {later} * * *", "--duration", "30m",
               "--namespaces", "team-a", "--time-zone", "UTC", "--manual-sync"))  # fmt: skip
    assert "already exactly" in ok(
        gitward(kc, "proj", "windows", "add", name, "--kind", "deny", "--schedule", "* * * * *",
                *window)
    )  # fmt: skip
    windows = (await stored(kube, name))["spec"]["syncWindows"]
    assert windows == [
        {"kind": "deny", "schedule": "* * * * *", "duration": "1h",
         "applications": ["web-*", "api"], "timeZone": "UTC"},
        {"kind": "allow", "schedule": f"0 {later} * * *", "duration": "30m",
         "namespaces": ["team-a"], "manualSync": True, "timeZone": "UTC"},
    ]  # fmt: skip

    table = ok(gitward(kc, "proj", "windows", "list", name)).splitlines()
    assert table[0].split() == [
        "ID", "STATUS", "KIND", "SCHEDULE", "DURATION", "APPLICATIONS", "NAMESPACES", "CLUSTERS",
        "MANUALSYNC", "TIMEZONE", "USEANDOPERATOR", "NEXT-CHANGE",
    ]  # fmt: skip
    assert table[1].split()[:3] == ["0", "Active", "deny"]
    assert "web-*,api" in table[1]
    assert table[1].endswith("stays open")  # it fires every minute for an hour: never closes
    assert table[2].split()[:3] == ["1", "Inactive", "allow"]
    assert "opens " in table[2]
    assert " Enabled " in table[2]
    views = json.loads(ok(gitward(kc, "proj", "windows", "list", name, "-o", "json")))
    assert [(v["id"], v["active"]) for v in views] == [(0, True), (1, False)]
    opens = dt.datetime.fromisoformat(views[1]["nextChange"])
    assert opens.hour == later
    assert opens.minute == 0
    shown = ok(gitward(kc, "proj", "get", name))
    assert f"{'Sync Windows:':<31}0: deny '* * * * *' for 1h, Active, stays open" in shown

    ok(gitward(kc, "proj", "windows", "enable-manual-sync", name, "0"))
    assert (await stored(kube, name))["spec"]["syncWindows"][0]["manualSync"] is True
    assert "already enabled" in ok(gitward(kc, "proj", "windows", "enable-manual-sync", name, "0"))
    ok(gitward(kc, "proj", "windows", "disable-manual-sync", name, "1"))
    assert (await stored(kube, name))["spec"]["syncWindows"][1]["manualSync"] is False
    refused(gitward(kc, "proj", "windows", "delete", name, "5"), "no sync window 5")
    deleted = ok(gitward(kc, "proj", "windows", "delete", name, "0"))
    assert "Sync window 0 deleted: deny '* * * * *' for 1h" in deleted
    remaining = (await stored(kube, name))["spec"]["syncWindows"]
    assert [w["kind"] for w in remaining] == ["allow"]
    assert ok(gitward(kc, "proj", "windows", "list", name)).splitlines()[1].split()[:2] == [
        "0",
        "Inactive",
    ]


async def test_a_bad_cron_time_zone_or_glob_is_refused_and_nothing_is_written(
    installed: KubeClient, cluster: LocalCluster, names: Callable[[str], str]
) -> None:
    kube, kc = installed, cluster.kubeconfig
    name = names("strict")
    ok(gitward(kc, "proj", "create", name, "--src", "*", "--dest", "*,*"))
    before = await stored(kube, name)
    base = ("proj", "windows", "add", name, "--kind", "deny", "--duration", "1h")
    refused(
        gitward(kc, *base, "--schedule", "0 25 * * *", "--clusters", "*"),
        f"AppProject {name}: spec.syncWindows[0].schedule: '0 25 * * *' is not a cron schedule",
    )
    refused(
        gitward(kc, *base, "--schedule", "0 1 * * *", "--clusters", "*", "--time-zone", "Mars/X"),
        "spec.syncWindows[0].timeZone: 'Mars/X' is not a time zone name",
    )
    refused(
        gitward(kc, *base, "--schedule", "0 1 * * *", "--applications", "web-[a"),
        "spec.syncWindows[0].applications[0]: 'web-[a' is not a valid pattern",
    )
    refused(gitward(kc, *base, "--schedule", "0 1 * * *"), "needs applications, namespaces or")
    refused(
        gitward(kc, "proj", "windows", "add", name, "--kind", "maybe", "--schedule", "0 1 * * *",
                "--duration", "1h", "--clusters", "*"),
        "spec.syncWindows[0].kind: expected allow or deny",
    )  # fmt: skip
    refused(gitward(kc, "proj", "create", names("bad"), "--dest", "in-cluster"), "--dest")
    assert await stored(kube, name) == before


async def test_delete_is_refused_while_an_app_uses_the_project(
    installed: KubeClient, cluster: LocalCluster, names: Callable[[str], str]
) -> None:
    kube, kc = installed, cluster.kubeconfig
    name, app = names("used"), names("user")
    ok(gitward(kc, "proj", "create", name, "--src", "*", "--dest", "*,*"))
    await kube.create(
        {
            "apiVersion": API,
            "kind": "Application",
            "metadata": {"name": app, "namespace": NS},
            "spec": {
                "project": name,
                "source": {"repoURL": REPO, "path": "app", "targetRevision": "HEAD"},
                "destination": {"server": IN_CLUSTER, "namespace": "team-a"},
            },
        }
    )
    refused(
        gitward(kc, "proj", "delete", name),
        f"project '{name}' is referenced by 1 application(s) in namespace 'argocd' ({app})",
    )
    assert await stored(kube, name)
    refused(gitward(kc, "proj", "delete", "default"), "'default' cannot be deleted")
    await kube.delete(API, "Application", app, NS, "Background")
    ok(gitward(kc, "proj", "delete", name))
    with pytest.raises(NotFound):
        await stored(kube, name)


async def test_an_edit_made_meanwhile_is_kept_not_overwritten(
    installed: KubeClient, cluster: LocalCluster, names: Callable[[str], str]
) -> None:
    """The resourceVersion guard: a write that raced ours makes ours start again on top of it."""
    kube = installed
    name = names("raced")
    ok(gitward(cluster.kubeconfig, "proj", "create", name, "--src", REPO))
    calls = 0

    def racing_edit(spec: Obj) -> Change:
        nonlocal calls
        calls += 1
        return edit.add_source(spec, "https://github.com/org/ours.git")

    async def interfere() -> None:
        obj = await stored(kube, name)
        obj["spec"]["description"] = "theirs"
        await kube.replace(obj)

    real_replace = kube.replace
    raced = False

    async def replace_after_a_race(obj: Obj, **kwargs: Any) -> Obj:
        nonlocal raced
        if not raced and obj.get("kind") == "AppProject":
            raced = True
            await interfere()  # lands between our read and our write
        return await real_replace(obj, **kwargs)

    kube.replace = replace_after_a_race  # type: ignore[method-assign]
    try:
        change = await project_writes.update_project(kube, name, NS, racing_edit)
    finally:
        kube.replace = real_replace  # type: ignore[method-assign]
    assert change.changed
    assert calls == 2  # the first attempt hit Conflict and was made again
    spec = (await stored(kube, name))["spec"]
    assert spec["description"] == "theirs"
    assert spec["sourceRepos"] == [REPO, "https://github.com/org/ours.git"]
