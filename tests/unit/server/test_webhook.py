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


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-Gitlab-Event": "Push Hook"}, "GitLab webhooks are refused: webhook.gitlab.secret"),
        ({"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": ""}, "GitLab webhooks are refused"),
        ({"X-Event-Key": "repo:push"}, "Bitbucket webhooks are refused: webhook.bitbucket.uuid"),
        ({"X-Event-Key": "repo:push", "X-Hook-UUID": "s3cret"}, "Bitbucket webhooks are refused"),
    ],
)
def test_once_one_secret_is_set_other_providers_need_their_own(
    headers: dict[str, str], message: str
) -> None:
    with pytest.raises(WebhookRejected) as info:
        verify(headers, BODY, WebhookSecrets(github="s3cret"))
    assert info.value.status == 401
    assert message in str(info.value)
    gitlab_only = WebhookSecrets(gitlab="tok")
    with pytest.raises(WebhookRejected, match="GitHub webhooks are refused"):
        verify({"X-GitHub-Event": "push"}, BODY, gitlab_only)
    # Without any secret, every provider is accepted unverified (Argo CD's default).
    assert verify(headers, BODY, WebhookSecrets()) in ("gitlab", "bitbucket")


@pytest.mark.parametrize("signature", ["sha256=é", "\udcff\udcfe", "sha256=" + "ü" * 64, ""])
def test_any_signature_header_is_a_401_not_a_crash(signature: str) -> None:
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
    with pytest.raises(WebhookRejected) as info:
        verify(headers, BODY, WebhookSecrets(github="s3cret"))
    assert info.value.status == 401
    with pytest.raises(WebhookRejected):
        verify(
            {"X-Gitlab-Event": "x", "X-Gitlab-Token": signature}, BODY, WebhookSecrets(gitlab="é")
        )


@pytest.mark.parametrize(
    ("provider", "payload", "message"),
    [
        ("github", [], "payload: expected a JSON object, got an array"),
        ("github", "push", "payload: expected a JSON object, got a string"),
        ("github", None, "payload: expected a JSON object, got null"),
        ("github", {"ref": 5}, "ref: expected a string, got a number"),
        ("github", {"ref": "refs/heads/main", "repository": []}, "repository: expected an object"),
        (
            "github",
            {"ref": "refs/heads/main", "repository": {"clone_url": {"x": 1}}},
            "repository.clone_url: expected a string, got an object",
        ),
        (
            "github",
            {"ref": "main", "repository": {"default_branch": True}},
            "repository.default_branch: expected a string, got a boolean",
        ),
        ("gitlab", {"ref": "main", "project": "p"}, "project: expected an object"),
        ("bitbucket", {"push": []}, "push: expected an object, got an array"),
        ("bitbucket", {"push": {"changes": {"a": 1}}}, "push.changes: expected an array"),
        ("bitbucket", {"push": {"changes": [5]}}, "push.changes: expected an array of objects"),
        (
            "bitbucket",
            {"push": {"changes": [{"new": {"name": []}}]}},
            "push.changes[0].new.name: expected a string",
        ),
        (
            "bitbucket",
            {"push": {"changes": [{"new": {}}]}, "repository": {"links": {"html": 3}}},
            "repository.links.html: expected an object, got a number",
        ),
    ],
)
def test_wrong_types_anywhere_are_a_400_naming_the_field(
    provider: str, payload: object, message: str
) -> None:
    with pytest.raises(WebhookRejected) as info:
        parse_push(provider, payload)
    assert info.value.status == 400
    assert message in str(info.value)


def test_bitbucket_push_is_read() -> None:
    payload = {
        "push": {"changes": [{"new": {"name": "main"}}]},
        "repository": {
            "links": {"html": {"href": "https://bitbucket.org/org/repo"}},
            "mainbranch": {"name": "main"},
        },
    }
    push = parse_push("bitbucket", payload)
    assert push is not None
    assert (push.ref, push.repo_urls, push.default_branch) == (
        "main",
        ("https://bitbucket.org/org/repo",),
        "main",
    )
    assert parse_push("bitbucket", {"push": {"changes": []}}) is None
    assert parse_push("github", {"zen": "ping"}) is None
