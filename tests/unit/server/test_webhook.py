"""Webhook verification and matching, for GitHub, GitLab and Bitbucket payloads."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from gitward.model.application import Application, parse_application
from gitward.server.webhook import WebhookRejected, WebhookSecrets, matches, parse_push, verify

BODY = json.dumps(
    {
        "ref": "refs/heads/main",
        "repository": {
            "html_url": "https://github.com/org/repo",
            "clone_url": "https://github.com/org/repo.git",
            "ssh_url": "git@github.com:org/repo.git",
            "default_branch": "main",
        },
    }
).encode()


def github(body: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={digest}"}


def app(repo: str, revision: str = "") -> Application:
    source = {"repoURL": repo, "path": "dev"}
    if revision:
        source["targetRevision"] = revision
    return parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "a"},
            "spec": {"source": source, "destination": {"server": "https://x", "namespace": "n"}},
        },
        "test",
    )


def test_github_signature_checked_when_a_secret_is_set() -> None:
    secrets = WebhookSecrets(github="s3cret")
    assert verify(github(BODY, "s3cret"), BODY, secrets) == "github"
    with pytest.raises(WebhookRejected) as info:
        verify(github(BODY, "wrong"), BODY, secrets)
    assert info.value.status == 401
    with pytest.raises(WebhookRejected):
        verify(github(BODY, "s3cret"), BODY + b" ", secrets)  # body changed after signing
    assert verify({"X-GitHub-Event": "push"}, BODY, WebhookSecrets()) == "github"


def test_gitlab_and_bitbucket_tokens() -> None:
    secrets = WebhookSecrets(gitlab="tok", bitbucket_uuid="{uuid}")
    assert (
        verify({"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "tok"}, b"{}", secrets) == "gitlab"
    )
    with pytest.raises(WebhookRejected):
        verify({"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"}, b"{}", secrets)
    assert (
        verify({"X-Event-Key": "repo:push", "X-Hook-UUID": "{uuid}"}, b"{}", secrets) == "bitbucket"
    )
    with pytest.raises(WebhookRejected) as info:
        verify({"Content-Type": "application/json"}, b"{}", secrets)
    assert info.value.status == 400


def test_push_matches_apps_by_repo_form_and_branch() -> None:
    push = parse_push("github", json.loads(BODY))
    assert push is not None
    assert push.ref == "main"
    assert matches(app("https://github.com/org/repo.git"), push)
    assert matches(app("git@github.com:org/repo"), push)
    assert matches(app("https://github.com/org/repo", "HEAD"), push)
    assert not matches(app("https://github.com/org/repo", "staging"), push)
    assert not matches(app("https://github.com/org/other"), push)
    assert parse_push("github", {"zen": "ping"}) is None


def test_gitlab_and_bitbucket_payloads() -> None:
    gitlab = parse_push(
        "gitlab",
        {
            "ref": "refs/heads/dev",
            "project": {"git_http_url": "https://gitlab.com/g/p.git", "default_branch": "main"},
        },
    )
    assert gitlab is not None
    assert matches(app("https://gitlab.com/g/p", "dev"), gitlab)
    bitbucket = parse_push(
        "bitbucket",
        {
            "repository": {
                "links": {"html": {"href": "https://bitbucket.org/t/r"}},
                "mainbranch": {"name": "main"},
            },
            "push": {"changes": [{"new": {"name": "main"}}]},
        },
    )
    assert bitbucket is not None
    assert matches(app("https://bitbucket.org/t/r.git"), bitbucket)
