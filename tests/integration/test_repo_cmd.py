"""``gitward repo``: real git behind a token, real Secrets, and no token in any output."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cluster import KubeClient
from gitward.cluster.secrets import repo_secret_name
from gitward.localkube import LocalCluster
from tests.support.git import GitRepo, SmartHttpServer

TOKEN = "repo-cmd-tok-7d1e9a-secret"
WRONG = "wrong-token-value-4b2c"
LABEL = "argocd.argoproj.io/secret-type"


class Cli:
    """Runs ``gitward --namespace NS ...`` and keeps every output, to check for leaks."""

    def __init__(self, kubeconfig: Path, namespace: str, cache: Path) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.cache = cache
        self.outputs: list[str] = []

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "gitward.cli",
                "--kubeconfig",
                str(self.kubeconfig),
                "--namespace",
                self.namespace,
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={**os.environ, "COLUMNS": "250", "GITWARD_REPO_CACHE": str(self.cache)},
        )
        self.outputs += [result.stdout, result.stderr]
        return result

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@pytest.fixture
def cli(cluster: LocalCluster, namespace: str, tmp_path: Path) -> Iterator[Cli]:
    runner = Cli(cluster.kubeconfig, namespace, tmp_path / "repo-cache")
    yield runner
    for text in runner.outputs:  # every command of every test: the tokens never show
        assert TOKEN not in text
        assert WRONG not in text


@pytest.fixture
def server(git_http: Callable[[str | None], SmartHttpServer]) -> SmartHttpServer:
    return git_http(TOKEN)


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("private")
    r.commit({"app/cm.yaml": "kind: ConfigMap\n"}, "first")
    return r


async def repo_secrets(kube: KubeClient, namespace: str, kind: str = "repository") -> list[Any]:
    return await kube.list("v1", "Secret", namespace, f"{LABEL}={kind}")


def fields(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


async def test_add_with_a_good_token_stores_argo_cds_secret(
    cli: Cli, kube: KubeClient, namespace: str, server: SmartHttpServer, repo: GitRepo
) -> None:
    url = server.url(repo)
    out = cli.ok("repo", "add", url, "--username", "git", "--password-stdin", stdin=TOKEN + "\n")
    assert "added" in out
    [secret] = await repo_secrets(kube, namespace)
    assert secret["metadata"]["name"] == repo_secret_name(url)
    assert fields(secret) == {"url": url, "type": "git", "username": "git", "password": TOKEN}

    got = json.loads(cli.ok("repo", "get", url, "-o", "json"))
    assert got["connectionState"]["status"] == "Successful"
    assert (got["repo"], got["username"], got["hasPassword"], got["hasSshPrivateKey"]) == (
        url,
        "git",
        True,
        False,
    )
    assert "password" not in got
    table = cli.ok("repo", "get", url + ".git")  # any spelling of the URL finds it
    assert "Successful" in table
    assert "STATUS" in table
    listed = yaml.safe_load(cli.ok("repo", "list", "-o", "yaml"))
    assert [(r["repo"], r["connectionState"]["status"]) for r in listed] == [(url, "Successful")]
    assert cli.ok("repo", "list", "-o", "url").split() == [url]


async def test_add_with_a_wrong_token_fails_and_stores_nothing(
    cli: Cli, kube: KubeClient, namespace: str, server: SmartHttpServer, repo: GitRepo
) -> None:
    url = server.url(repo)
    result = cli("repo", "add", url, "--username", "git", "--password", WRONG)
    assert result.returncode != 0
    assert "authentication failed" in result.stderr
    assert "nothing was stored" in result.stderr
    assert await repo_secrets(kube, namespace) == []
    unreachable = cli("repo", "add", url.replace(f":{server.port}/", ":9/"))
    assert unreachable.returncode != 0
    assert await repo_secrets(kube, namespace) == []


async def test_list_and_get_report_each_repositorys_status_now(
    cli: Cli,
    server: SmartHttpServer,
    repo: GitRepo,
    git_repo: Callable[[str], GitRepo],
) -> None:
    good = server.url(repo)
    other = git_repo("other")
    other.commit({"a.txt": "a"})
    bad = server.url(other)
    cli.ok("repo", "add", good, "--password-stdin", "--name", "good", stdin=TOKEN)
    cli.ok("repo", "add", bad, "--password", WRONG, "--skip-test", "--project", "team")

    rows = {r["repo"]: r for r in json.loads(cli.ok("repo", "list", "-o", "json"))}
    assert rows[good]["connectionState"]["status"] == "Successful"
    assert rows[bad]["connectionState"]["status"] == "Failed"
    assert "authentication failed" in rows[bad]["connectionState"]["message"]
    assert (rows[good]["name"], rows[bad]["project"]) == ("good", "team")

    table = cli.ok("repo", "list")
    header, *lines = [line for line in table.splitlines() if line.strip()]
    assert header.split() == [
        "TYPE",
        "NAME",
        "REPO",
        "INSECURE",
        "OCI",
        "LFS",
        "CREDS",
        "STATUS",
        "MESSAGE",
        "PROJECT",
    ]
    by_url = {next(w for w in line.split() if w.startswith("http")): line for line in lines}
    assert "Successful" in by_url[good]
    assert "Failed" in by_url[bad]
    assert "Failed" in cli.ok("repo", "get", bad)
    untested = json.loads(cli.ok("repo", "list", "-o", "json", "--refresh", "none"))
    assert {r["connectionState"]["status"] for r in untested} == {"Unknown"}


async def test_rm_deletes_the_secret_and_an_unknown_url_is_an_error(
    cli: Cli, kube: KubeClient, namespace: str, server: SmartHttpServer, repo: GitRepo
) -> None:
    url = server.url(repo)
    cli.ok("repo", "add", url, "--password-stdin", stdin=TOKEN)
    assert "removed" in cli.ok("repo", "rm", url + "/")
    assert await repo_secrets(kube, namespace) == []
    again = cli("repo", "rm", url)
    assert again.returncode != 0
    assert "not found" in again.stderr
    assert cli("repo", "get", url).returncode != 0


async def test_a_changed_entry_needs_upsert(
    cli: Cli, kube: KubeClient, namespace: str, server: SmartHttpServer, repo: GitRepo
) -> None:
    url = server.url(repo)
    cli.ok("repo", "add", url, "--password-stdin", stdin=TOKEN)
    assert "unchanged" in cli.ok("repo", "add", url, "--password-stdin", stdin=TOKEN)
    renamed = cli("repo", "add", url, "--password-stdin", "--name", "renamed", stdin=TOKEN)
    assert renamed.returncode != 0
    assert "--upsert" in renamed.stderr
    assert "updated" in cli.ok(
        "repo", "add", url, "--password-stdin", "--name", "renamed", "--upsert", stdin=TOKEN
    )
    [secret] = await repo_secrets(kube, namespace)
    assert fields(secret)["name"] == "renamed"


async def test_a_credential_template_covers_repositories_under_its_prefix(
    cli: Cli, kube: KubeClient, namespace: str, server: SmartHttpServer, repo: GitRepo
) -> None:
    url = server.url(repo)
    prefix = f"http://127.0.0.1:{server.port}/"
    assert cli("repo", "add", url).returncode != 0  # no credentials yet: refused by the server
    cli.ok("repo", "add-creds", prefix, "--username", "git", "--password-stdin", stdin=TOKEN)
    [template] = await repo_secrets(kube, namespace, "repo-creds")
    assert fields(template) == {"url": prefix, "username": "git", "password": TOKEN}
    assert template["metadata"]["name"].startswith("creds-")

    cli.ok("repo", "add", url)  # tested with the template's credentials
    [secret] = await repo_secrets(kube, namespace)
    assert "password" not in fields(secret)
    [row] = json.loads(cli.ok("repo", "list", "-o", "json"))
    assert (row["inheritedCreds"], row["connectionState"]["status"]) == (True, "Successful")
    templates = json.loads(cli.ok("repo", "list-creds", "-o", "json"))
    assert [(t["url"], t["hasPassword"]) for t in templates] == [(prefix, True)]

    cli.ok("repo", "rm-creds", prefix)
    assert await repo_secrets(kube, namespace, "repo-creds") == []
    [row] = json.loads(cli.ok("repo", "list", "-o", "json"))
    assert row["connectionState"]["status"] == "Failed"
