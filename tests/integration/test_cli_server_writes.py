"""``gitward proj/repo/cluster/appset`` writes through a real server process print what
``--core`` prints: the same command runs once each way on twin objects, outputs compared.

A readonly account's writes are refused with the server's 403 message, and a command
without a server path says it needs ``--core`` instead of using the kubeconfig.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gitward.cli.cluster_cmd import manager_objects
from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster
from tests.support.apps import unique
from tests.support.git import GitRepo
from tests.support.gwserver import ADMIN_PASSWORD, READER_PASSWORD
from tests.support.serverprocess import Gitward, Ran

pytestmark = pytest.mark.cluster

IN_CLUSTER = "https://kubernetes.default.svc"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def never_printed() -> tuple[str, ...]:
    """The accounts' passwords, and the repository password these tests hand the server."""
    return ADMIN_PASSWORD, READER_PASSWORD, "secret-pass-9"


class Twins:
    """Runs a command on the core twin with ``--core`` and on the served twin through the
    server, and checks both printed the same once the twins' names are swapped."""

    def __init__(self, gw: Gitward, swaps: dict[str, str]) -> None:
        self.gw = gw
        self.swaps = swaps

    def _swapped(self, text: str) -> str:
        for old, new in self.swaps.items():
            text = text.replace(old, new)
        return text

    def same(self, *args: str) -> tuple[Ran, Ran]:
        core = self.gw("--core", *args)
        served = self.gw(*(self._swapped(a) for a in args))
        want = STAMP.sub("<t>", self._swapped(core.stdout))
        got = STAMP.sub("<t>", served.stdout)
        changes = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(), lineterm=""))
        assert (core.returncode, want) == (served.returncode, got), (
            args,
            changes,
            core.stderr,
            served.stderr,
        )
        return core, served

    def ok(self, *args: str) -> str:
        core, served = self.same(*args)
        assert core.returncode == 0, core.stdout + core.stderr
        return served.stdout


def _appset(name: str, repo: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": name},
            "spec": {
                "generators": [{"list": {"elements": [{"env": "dev"}]}}],
                "template": {
                    "metadata": {"name": f"{name}-{{{{env}}}}"},
                    "spec": {
                        "project": "default",
                        "source": {"repoURL": repo, "path": "app"},
                        "destination": {"server": IN_CLUSTER, "namespace": "x"},
                    },
                },
            },
        }
    )


def test_proj_writes_match_core(
    gw: Gitward, server: str, git_repo: Callable[[str], GitRepo]
) -> None:
    repo = git_repo("projsrc")
    repo.commit({"a.yaml": "kind: ConfigMap\n"}, "first")
    tag = unique("p")[-6:]
    core, srv = f"core-{tag}", f"srvr-{tag}"
    twins = Twins(gw, {core: srv})
    gw.ok("login", server, "--username", "admin", "--password", ADMIN_PASSWORD)

    assert "created" in twins.ok("proj", "create", core, "-s", repo.url, "-d", f"{IN_CLUSTER},a")
    created = ("proj", "create", core, "-s", repo.url, "-d", f"{IN_CLUSTER},a")
    assert "unchanged" in twins.ok(*created)
    _, different = twins.same("proj", "create", core, "-s", repo.url)
    assert "--upsert" in different.stderr
    twins.ok("proj", "create", core, "-s", "https://example.com/*", "--upsert")
    twins.ok("proj", "add-source", core, "https://example.org/*")
    twins.ok("proj", "add-source", core, "https://example.org/*")  # already there
    twins.ok("proj", "remove-source", core, "https://example.com/*")
    twins.ok("proj", "add-destination", core, IN_CLUSTER, "b-*")
    twins.ok("proj", "add-destination", core, "in-cluster", "c", "--name")
    twins.ok("proj", "remove-destination", core, IN_CLUSTER, "b-*")
    twins.ok("proj", "allow-cluster-resource", core, "", "Namespace")
    twins.ok("proj", "deny-namespace-resource", core, "", "Secret")
    twins.ok(
        "proj", "windows", "add", core, "--kind", "deny", "--schedule", "0 22 * * *",
        "--duration", "1h", "--applications", "web-*",
    )  # fmt: skip
    twins.ok("proj", "windows", "enable-manual-sync", core, "0")
    twins.ok("proj", "windows", "list", core)
    twins.ok("proj", "windows", "delete", core, "0")
    twins.ok("proj", "get", core)
    # Refusals: the same message either way, nothing written.
    refused_core, refused_srv = twins.same("proj", "add-destination", core, IN_CLUSTER, "[")
    assert refused_srv.returncode != 0
    assert refused_core.stderr.replace(core, srv) == refused_srv.stderr
    _, missing = twins.same("proj", "add-source", f"nope-{tag}", "https://x/*")
    assert "not found" in missing.stderr
    twins.ok("proj", "delete", core)
    _, gone = twins.same("proj", "get", core)
    assert gone.returncode != 0


def test_repo_writes_match_core(
    gw: Gitward, server: str, git_repo: Callable[[str], GitRepo]
) -> None:
    repos = {k: git_repo(f"repo-{k}") for k in ("core", "srvr")}
    for repo in repos.values():
        repo.commit({"a.yaml": "kind: ConfigMap\n"}, "first")
    core_url, srv_url = repos["core"].url, repos["srvr"].url
    twins = Twins(gw, {core_url: srv_url, "https://core.example/": "https://srvr.example/"})
    gw.ok("login", server, "--username", "admin", "--password", ADMIN_PASSWORD)

    assert "added" in twins.ok("repo", "add", core_url)
    assert "unchanged" in twins.ok("repo", "add", core_url)
    twins.same("repo", "add", core_url, "--name", "renamed")  # differs: needs --upsert
    assert "updated" in twins.ok("repo", "add", core_url, "--name", "renamed", "--upsert")
    twins.ok("repo", "get", core_url)
    assert "added" in twins.ok(
        "repo", "add-creds", "https://core.example/", "--username", "u",
        "--password", "secret-pass-9",
    )  # fmt: skip
    listed = gw.ok("repo", "list-creds")
    assert listed == gw.ok("--core", "repo", "list-creds")
    assert "https://srvr.example/" in listed
    assert "removed" in twins.ok("repo", "rm-creds", "https://core.example/")
    assert "removed" in twins.ok("repo", "rm", core_url)
    _, again = twins.same("repo", "rm", core_url)
    assert again.returncode != 0
    # The server always tests access; storing unchecked is a kubeconfig-only choice.
    assert "needs --core" in gw.fails("repo", "add", srv_url, "--skip-test")


async def _remove_manager(client: KubeClient) -> None:
    """Take away the manager account ``cluster add`` installed in the session cluster: other
    tests of the suite check where it exists."""
    for obj in reversed(manager_objects("kube-system")):
        meta = obj["metadata"]
        with contextlib.suppress(NotFound):
            await client.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


async def test_cluster_add_and_rm_match_core(
    gw: Gitward, server: str, cluster: LocalCluster, installed: KubeClient
) -> None:
    try:
        # The CLI runs its own event loop: in a thread, beside this test's loop.
        await asyncio.to_thread(_cluster_add_and_rm_match_core, gw, server, cluster)
    finally:
        await _remove_manager(installed)


def _cluster_add_and_rm_match_core(gw: Gitward, server: str, cluster: LocalCluster) -> None:
    kubeconfig = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    context_name = kubeconfig["current-context"]
    gw.ok("login", server, "--username", "admin", "--password", ADMIN_PASSWORD)

    def both(*args: str) -> tuple[Ran, Ran]:
        core = gw("--core", *args)
        served = gw(*args)
        return core, served

    core = gw("--core", "cluster", "add", context_name, "--name", "self")
    assert core.returncode == 0, core.stdout + core.stderr
    assert "added" in core.stdout
    removed_core = gw.ok("--core", "cluster", "rm", "self")
    served = gw("cluster", "add", context_name, "--name", "self")
    assert (core.returncode, core.stdout) == (served.returncode, served.stdout), served.stderr
    assert "unchanged" in gw.ok("cluster", "add", context_name, "--name", "self")
    listed_core, listed_srv = both("cluster", "list", "-o", "server")
    assert listed_core.stdout == listed_srv.stdout
    changed = gw("cluster", "add", context_name, "--name", "renamed")
    assert changed.returncode != 0
    assert "already exists" in changed.stderr
    assert "updated" in gw.ok("cluster", "add", context_name, "--name", "renamed", "--upsert")
    assert gw.ok("cluster", "rm", "renamed") == removed_core
    assert gw("cluster", "get", "renamed").returncode != 0


def test_appset_writes_match_core(
    gw: Gitward, server: str, git_repo: Callable[[str], GitRepo], tmp_path: Path
) -> None:
    repo = git_repo("setsrc")
    repo.commit({"app/cm.yaml": "kind: ConfigMap\n"}, "first")
    tag = unique("s")[-6:]
    core, srv = f"core-{tag}", f"srvr-{tag}"
    for name in (core, srv):
        (tmp_path / f"{name}.yaml").write_text(_appset(name, repo.url))
    twins = Twins(gw, {core: srv})
    gw.ok("login", server, "--username", "admin", "--password", ADMIN_PASSWORD)

    assert "created" in twins.ok("appset", "create", "-f", str(tmp_path / f"{core}.yaml"))
    assert "unchanged" in twins.ok("appset", "create", "-f", str(tmp_path / f"{core}.yaml"))
    twins.ok("appset", "get", core)
    listed = gw.ok("appset", "list", "-o", "name").split()
    assert core in listed
    assert srv in listed
    git_set = yaml.safe_load(_appset(f"git-{tag}", repo.url))
    git_set["spec"]["generators"] = [
        {"git": {"repoURL": repo.url, "revision": "HEAD", "directories": [{"path": "*"}]}}
    ]
    git_set["spec"]["template"]["metadata"]["name"] = "{{path.basename}}"
    (tmp_path / "git.yaml").write_text(yaml.safe_dump(git_set))
    for file in (tmp_path / f"{core}.yaml", tmp_path / "git.yaml"):
        generated = gw.ok("appset", "generate", "-f", str(file))
        assert generated == gw.ok("--core", "appset", "generate", "-f", str(file))
        assert "kind: Application" in generated
    assert "name: app" in generated  # the git generator read the repository's directory
    # Through the server, a generator reads only what the installation allows.
    git_set["spec"]["generators"][0]["git"]["repoURL"] = "file:///etc"
    (tmp_path / "etc.yaml").write_text(yaml.safe_dump(git_set))
    refused = gw("appset", "generate", "-f", str(tmp_path / "etc.yaml"))
    assert refused.returncode == 2
    assert "file:///etc" in refused.stderr
    assert "root:" not in refused.stdout + refused.stderr
    assert "deleted" in twins.ok("appset", "delete", core)
    _, gone = twins.same("appset", "get", core)
    assert gone.returncode != 0
    # No route for approving a held deletion: the command says so rather than using
    # the kubeconfig behind the server's back.
    assert "needs --core" in gw.fails("appset", "approve", srv)


def test_a_readonly_account_changes_nothing(
    gw: Gitward, server: str, git_repo: Callable[[str], GitRepo], tmp_path: Path
) -> None:
    repo = git_repo("ro")
    repo.commit({"app/cm.yaml": "kind: ConfigMap\n"}, "first")
    tag = unique("r")[-6:]
    name = f"ro-{tag}"
    gw.ok("--core", "proj", "create", name, "-s", repo.url, "-d", f"{IN_CLUSTER},a")
    gw.ok(
        "--core", "app", "create", name, "--repo", repo.url, "--path", "app",
        "--dest-namespace", "a", "--project", name,
    )  # fmt: skip
    gw.ok("--core", "repo", "add", repo.url)
    (tmp_path / "set.yaml").write_text(_appset(name, repo.url))
    gw.ok("--core", "appset", "create", "-f", str(tmp_path / "set.yaml"))
    (tmp_path / "new-set.yaml").write_text(_appset(f"{name}-2", repo.url))
    gw.ok("login", server, "--username", "reader", "--password", READER_PASSWORD)
    before = gw.ok("--core", "proj", "get", name, "-o", "json")
    app_before = gw.ok("--core", "app", "get", name, "-o", "json")

    for args in (
        ("app", "create", f"{name}-2", "--repo", repo.url, "--path", "app",
         "--dest-namespace", "a", "--project", name),
        ("app", "set", name, "--revision", "main"),
        ("app", "delete", name),
        ("app", "terminate-op", name),
        ("proj", "create", f"{name}-2"),
        ("proj", "add-source", name, "https://example.org/*"),
        ("proj", "delete", name),
        ("repo", "add", repo.url, "--name", "x", "--upsert"),
        ("repo", "rm", repo.url),
        ("repo", "add-creds", "https://example.org/", "--password", "secret-pass-9"),
        ("app", "sync", name),
        ("proj", "windows", "add", name, "--kind", "deny", "--schedule", "0 1 * * *",
         "--duration", "1h", "--applications", "*"),
        ("appset", "create", "-f", str(tmp_path / "new-set.yaml")),
        ("appset", "delete", name),
        ("appset", "generate", "-f", str(tmp_path / "set.yaml")),
        ("cluster", "rm", "in-cluster"),
    ):  # fmt: skip
        refused = gw(*args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert "permission denied" in refused.stderr, (args, refused.stderr)
    assert gw.ok("--core", "proj", "get", name, "-o", "json") == before
    assert gw.ok("--core", "app", "get", name, "-o", "json") == app_before
    assert name in gw.ok("app", "list", "-o", "name").split()  # reading is allowed


def test_commands_without_a_server_path_say_so(gw: Gitward, server: str) -> None:
    gw.ok("login", server, "--username", "admin", "--password", ADMIN_PASSWORD)
    refused = gw.fails("image", "set", "whatever", "web=nginx:1")
    assert "needs --core" in refused


async def test_cluster_add_refused_before_touching_the_cluster(
    gw: Gitward, server: str, cluster: LocalCluster, installed: KubeClient
) -> None:
    text = await asyncio.to_thread(Path(cluster.kubeconfig).read_text)
    kubeconfig = yaml.safe_load(text)
    system = f"sys-{unique('c')[-6:]}"
    await installed.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": system}})
    try:
        await asyncio.to_thread(
            gw.ok, "login", server, "--username", "reader", "--password", READER_PASSWORD
        )
        refused = await asyncio.to_thread(
            gw, "cluster", "add", kubeconfig["current-context"], "--name", "ro",
            "--system-namespace", system,
        )  # fmt: skip
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "permission denied: clusters, create" in refused.stderr
        accounts = await installed.list("v1", "ServiceAccount", system)
        assert "argocd-manager" not in [a["metadata"]["name"] for a in accounts]
        listed = await asyncio.to_thread(gw.ok, "--core", "cluster", "list", "-o", "json")
        assert "ro" not in [c["name"] for c in json.loads(listed)]
    finally:
        await installed.delete("v1", "Namespace", system, propagation="Background")
