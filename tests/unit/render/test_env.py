"""The build environment and Argo CD's ``$VAR`` expansion (Go's os.Expand)."""

from __future__ import annotations

import pytest

from gitward.render.env import RenderEnv, envsubst, strip_userinfo

ENV = RenderEnv(
    app_name="team_web",
    app_namespace="web",
    revision="0123456789abcdef0123",
    repo_url="https://user:s3cret@git.example.com/r.git",
    source_path="apps/web",
    target_revision="main",
    kube_version="1.30.0",
    api_versions=("apps/v1", "batch/v1"),
)


def test_build_vars_are_argo_cds() -> None:
    v = ENV.build_vars()
    assert v["ARGOCD_APP_NAME"] == "team_web"
    assert v["ARGOCD_APP_NAMESPACE"] == "web"
    assert v["ARGOCD_APP_REVISION_SHORT"] == "0123456"
    assert v["ARGOCD_APP_REVISION_SHORT_8"] == "01234567"
    assert v["ARGOCD_APP_SOURCE_PATH"] == "apps/web"
    assert v["ARGOCD_APP_SOURCE_TARGET_REVISION"] == "main"


def test_credentials_in_the_repo_url_never_reach_tools() -> None:
    env = ENV.process_env("/tmp/h")
    assert env["ARGOCD_APP_SOURCE_REPO_URL"] == "https://git.example.com/r.git"
    assert all("s3cret" not in value for value in env.values())
    assert strip_userinfo("ssh://git@host:2222/r") == "ssh://host:2222/r"
    assert strip_userinfo("git@github.com:o/r.git") == "git@github.com:o/r.git"


def test_process_env_is_minimal_and_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    env = ENV.process_env("/tmp/h")
    assert "GITHUB_TOKEN" not in env
    assert env["HOME"] == "/tmp/h"
    assert env["HELM_CONFIG_HOME"].startswith("/tmp/h/")
    assert env["KUBE_VERSION"] == "1.30.0"
    assert env["KUBE_API_VERSIONS"] == "apps/v1,batch/v1"


def test_release_name_drops_the_app_namespace_prefix() -> None:
    assert ENV.app_short_name() == "web"
    assert RenderEnv("plain", "", "", "", "").app_short_name() == "plain"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tag-$ARGOCD_APP_REVISION_SHORT", "tag-0123456"),
        ("${ARGOCD_APP_NAME}-x", "team_web-x"),
        ("$UNKNOWN/x", "/x"),  # unknown names expand to nothing, as in Go
        ("pa$$word", "pa$word"),  # $$ is a literal $
        ("cost: 5$", "cost: 5$"),  # trailing $ kept
        ("a $ b", "a $ b"),  # $ not followed by a name kept
        ("${}x", "x"),  # bad syntax eaten
        ("${unclosed", "unclosed"),
        ("no dollars", "no dollars"),
    ],
)
def test_envsubst_follows_go_os_expand(text: str, expected: str) -> None:
    assert envsubst(text, ENV.build_vars()) == expected
