"""Git push webhooks: verify the sender, find the apps the push concerns.

GitHub signs the body with HMAC-SHA256 (``X-Hub-Signature-256``), GitLab
sends a shared token (``X-Gitlab-Token``), Bitbucket Cloud a hook UUID
(``X-Hook-UUID``); the secrets come from the ``argocd-secret`` Secret
(``webhook.github.secret``, ``webhook.gitlab.secret``,
``webhook.bitbucket.uuid``), as in Argo CD. With a secret configured, a
missing or wrong signature is refused; without one, pushes are accepted
unverified (Argo CD's behaviour) and a warning is logged once.

An app matches a push when its repoURL names the same repository (https and
ssh forms, ``.git`` or not) and its targetRevision is the pushed branch or
tag — or ``HEAD``/empty and the push went to the default branch.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitward.model.application import Application
from gitward.source.urls import same_repo

Obj = dict[str, Any]


class WebhookRejected(Exception):
    """The request is not a push we accept; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Push:
    provider: str
    repo_urls: tuple[str, ...]
    ref: str  # branch or tag name, without refs/heads/
    default_branch: str


@dataclass(frozen=True)
class WebhookSecrets:
    github: str = ""
    gitlab: str = ""
    bitbucket_uuid: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> WebhookSecrets:
        return cls(
            github=fields.get("webhook.github.secret", ""),
            gitlab=fields.get("webhook.gitlab.secret", ""),
            bitbucket_uuid=fields.get("webhook.bitbucket.uuid", ""),
        )


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def verify(headers: Mapping[str, str], body: bytes, secrets: WebhookSecrets) -> str:
    """The provider of a verified request; raises :class:`WebhookRejected` otherwise."""
    if _header(headers, "X-GitHub-Event"):
        if secrets.github:
            signature = _header(headers, "X-Hub-Signature-256")
            digest = hmac.new(secrets.github.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature, f"sha256={digest}"):
                raise WebhookRejected(401, "GitHub signature does not match")
        return "github"
    if _header(headers, "X-Gitlab-Event"):
        if secrets.gitlab and not hmac.compare_digest(
            _header(headers, "X-Gitlab-Token"), secrets.gitlab
        ):
            raise WebhookRejected(401, "GitLab token does not match")
        return "gitlab"
    if _header(headers, "X-Event-Key"):
        if secrets.bitbucket_uuid and not hmac.compare_digest(
            _header(headers, "X-Hook-UUID"), secrets.bitbucket_uuid
        ):
            raise WebhookRejected(401, "Bitbucket hook UUID does not match")
        return "bitbucket"
    raise WebhookRejected(400, "not a GitHub, GitLab or Bitbucket webhook")


def _short_ref(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def parse_push(provider: str, payload: Obj) -> Push | None:
    """The push a payload describes; None for other events (ping, pull request)."""
    if provider == "github":
        repo = payload.get("repository") or {}
        if "ref" not in payload:
            return None
        urls = [repo.get(k) for k in ("html_url", "clone_url", "ssh_url", "git_url", "url")]
        return Push(
            provider,
            tuple(u for u in urls if u),
            _short_ref(str(payload["ref"])),
            str(repo.get("default_branch", "")),
        )
    if provider == "gitlab":
        project = payload.get("project") or {}
        if "ref" not in payload:
            return None
        urls = [project.get(k) for k in ("web_url", "git_http_url", "git_ssh_url")]
        return Push(
            provider,
            tuple(u for u in urls if u),
            _short_ref(str(payload["ref"])),
            str(project.get("default_branch", "")),
        )
    repo = payload.get("repository") or {}
    changes = ((payload.get("push") or {}).get("changes")) or []
    if not changes:
        return None
    new = changes[0].get("new") or {}
    html = ((repo.get("links") or {}).get("html") or {}).get("href", "")
    main = (repo.get("mainbranch") or {}).get("name", "")
    return Push(provider, (html,) if html else (), str(new.get("name", "")), str(main))


def matches(app: Application, push: Push) -> bool:
    """True when ``push`` may change what ``app`` deploys."""
    for source in app.effective_sources:
        if not any(same_repo(source.repo_url, url) for url in push.repo_urls):
            continue
        target = source.target_revision.strip()
        if target in ("", "HEAD"):
            if not push.default_branch or push.ref == push.default_branch:
                return True
        elif target == push.ref or _short_ref(target) == push.ref:
            return True
        elif any(c in target for c in "*<>=~^"):
            return True  # a semver range over tags: let the resolve decide
    return False
