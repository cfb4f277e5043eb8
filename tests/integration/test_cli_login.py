"""``gitward login/logout/context/account`` and ``proj role create-token`` against a real
server process with real accounts, RBAC and tokens."""

from __future__ import annotations

import asyncio
import re
import stat
import time
from collections.abc import Callable

import jwt
import pytest
import yaml

from gitward.cluster import KubeClient
from tests.support.git import GitRepo
from tests.support.gwserver import ADMIN_PASSWORD, READER_PASSWORD
from tests.support.poll import eventually_sync
from tests.support.serverprocess import Gitward

pytestmark = pytest.mark.cluster


def _config(gw: Gitward) -> dict[str, object]:
    return dict(yaml.safe_load(gw.config.read_text()))


def test_login_saves_a_private_context_and_the_server_knows_who(gw: Gitward, server: str) -> None:
    out = gw.ok("login", server, "--username", "admin", "--password", ADMIN_PASSWORD, process=True)
    assert "'admin' logged in successfully" in out
    assert stat.S_IMODE(gw.config.stat().st_mode) == 0o600
    config = _config(gw)
    assert config["current-context"] == server
    [user] = config["users"]  # type: ignore[misc]
    assert user["auth-token"].count(".") == 2  # a JWT

    info = gw.ok("account", "get-user-info")
    assert "Logged In: true" in info
    assert "Username: admin" in info
    assert gw.ok("account", "can-i", "delete", "projects", "anything").strip() == "yes"
    accounts = gw.ok("account", "list")
    assert "reader" in accounts

    gw.ok(
        "login", server, "--username", "reader", "--name", "as-reader", stdin=READER_PASSWORD + "\n"
    )
    assert _config(gw)["current-context"] == "as-reader"
    assert gw.ok("account", "can-i", "delete", "projects", "anything").strip() == "no"
    assert gw.ok("account", "can-i", "get", "projects", "anything").strip() == "yes"
    listed = gw.ok("context")
    assert "as-reader" in listed
    assert server in listed

    gw.ok("context", server)
    assert "Username: admin" in gw.ok("account", "get-user-info")
    gw.ok("logout")
    assert "gitward login" in gw.fails("account", "get-user-info", process=True)
    gw.ok("context", "as-reader")
    assert "Username: reader" in gw.ok("account", "get-user-info")


def test_a_wrong_password_saves_nothing(gw: Gitward, server: str) -> None:
    err = gw.fails("login", server, "--username", "admin", "--password", "wrong-password")
    assert "error:" in err
    assert not gw.config.exists()


def test_api_keys_and_password_changes(gw: Gitward, server: str) -> None:
    gw.ok("login", server, "--username", "reader", "--password", READER_PASSWORD)
    key = gw.ok("account", "generate-token", "--id", "ci-key", "--expires-in", "1h").strip()
    assert key.count(".") == 2
    as_key = gw.ok("--server", server, "--auth-token", key, "account", "get-user-info")
    assert "Username: reader" in as_key
    old_session = _config(gw)["users"][0]["auth-token"]  # type: ignore[index]
    # passwordMtime has whole seconds, as Argo CD's: a token issued in the very second of
    # the change survives it. Wait for the clock to leave the old session's second.
    issued = jwt.decode(old_session, options={"verify_signature": False})["iat"]
    eventually_sync(lambda: int(time.time()) > int(issued), "the next second", 5)

    out = gw.ok(
        "account", "update-password",
        "--current-password", READER_PASSWORD, "--new-password", "reader-password-2",
    )  # fmt: skip
    assert "Password updated for 'reader'" in out
    assert "Username: reader" in gw.ok("account", "get-user-info")  # the refreshed session
    stale = ("--server", server, "--auth-token", old_session)
    assert "Logged In: false" in gw.ok(*stale, "account", "get-user-info")  # a public route
    refused = gw.fails(*stale, "account", "list")
    assert "error:" in refused
    assert old_session not in refused
    assert "Username: reader" in gw.ok(
        "--server", server, "--auth-token", key, "account", "get-user-info"
    )


async def test_project_role_tokens(
    gw: Gitward, server: str, installed: KubeClient, namespace: str
) -> None:
    role = {"name": "ci", "policies": ["p, proj:team-a:ci, applications, get, team-a/*, allow"]}
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team-a", "namespace": namespace},
        "spec": {"roles": [role]},
    }
    await installed.create(project)
    await asyncio.to_thread(_project_role_tokens, gw, server)


def _project_role_tokens(gw: Gitward, server: str) -> None:
    gw.ok("login", server, "--username", "admin", "--password", ADMIN_PASSWORD)
    out = gw.ok("proj", "role", "create-token", "team-a", "ci", "--id", "build-1")
    assert "Create token succeeded for proj:team-a:ci." in out
    assert "ID: build-1" in out
    token = out.rsplit("Token: ", 1)[1].strip()
    info = gw.ok("--server", server, "--auth-token", token, "account", "get-user-info")
    assert "Username: proj:team-a:ci" in info
    only = gw.ok("proj", "role", "create-token", "team-a", "ci", "--token-only").strip()
    assert only.count(".") == 2


def test_server_commands_need_a_server(gw: Gitward) -> None:
    assert "gitward login SERVER" in gw.fails("account", "list")


def test_proj_repo_and_cluster_reads_match_core(
    gw: Gitward, server: str, git_repo: Callable[[str], GitRepo]
) -> None:
    repo = git_repo("listed")
    repo.commit({"a.yaml": "kind: ConfigMap\n"}, "first")
    gw.ok(
        "--core",
        "proj",
        "create",
        "team-a",
        "-s",
        repo.url,
        "-d",
        "https://kubernetes.default.svc,a",
    )
    gw.ok("--core", "repo", "add", repo.url)
    gw.ok("login", server, "--username", "admin", "--password", ADMIN_PASSWORD)
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    for args in (
        ("proj", "list"),
        ("proj", "get", "team-a"),
        ("proj", "list", "-o", "json"),
        ("repo", "list"),
        ("repo", "get", repo.url),
        ("repo", "list", "-o", "url"),
        ("cluster", "list"),
        ("cluster", "get", "in-cluster", "-o", "json"),
    ):
        core, served = gw(*("--core", *args)), gw(*args)
        assert (core.returncode, stamp.sub("<t>", core.stdout)) == (
            served.returncode,
            stamp.sub("<t>", served.stdout),
        ), (args, core.stdout, served.stdout, served.stderr)
