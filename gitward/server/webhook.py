"""Git push webhooks: verify the sender, find the apps the push concerns.

GitHub signs the body with HMAC-SHA256 (``X-Hub-Signature-256``), GitLab
sends a shared token (``X-Gitlab-Token``), Bitbucket Cloud a hook UUID
(``X-Hook-UUID``); the secrets come from the ``argocd-secret`` Secret
(``webhook.github.secret``, ``webhook.gitlab.secret``,
``webhook.bitbucket.uuid``), as in Argo CD. Without any secret, pushes are
accepted unverified (Argo CD's behaviour; the server logs a warning once).
Once *any* secret is configured, each provider is accepted only with its own:
with only the GitHub secret set, a request that claims to come from GitLab or
Bitbucket is refused, not waved through unverified.

The body and headers are the sender's to choose, so every field is checked
for its type: a payload gitward cannot read is a :class:`WebhookRejected`
with status 400 and a message naming the field, never an exception.

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
from gitward.model.errors import GitwardError
from gitward.model.repourl import same_repo

Obj = dict[str, Any]


class WebhookRejected(GitwardError):
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

    @property
    def any(self) -> bool:
        """Whether some secret is set: then every provider needs its own."""
        return bool(self.github or self.gitlab or self.bitbucket_uuid)


#: provider -> (event header, secret field of argocd-secret, display name)
_PROVIDERS = {
    "github": ("X-GitHub-Event", "webhook.github.secret", "GitHub"),
    "gitlab": ("X-Gitlab-Event", "webhook.gitlab.secret", "GitLab"),
    "bitbucket": ("X-Event-Key", "webhook.bitbucket.uuid", "Bitbucket"),
}


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of a header (any characters at all) and a secret."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def verify(headers: Mapping[str, str], body: bytes, secrets: WebhookSecrets) -> str:
    """The provider of a verified request; raises :class:`WebhookRejected` otherwise."""
    provider = next((p for p, (h, _, _) in _PROVIDERS.items() if _header(headers, h)), None)
    if provider is None:
        raise WebhookRejected(400, "not a GitHub, GitLab or Bitbucket webhook")
    if not secrets.any:
        return provider
    _, field, name = _PROVIDERS[provider]
    if provider == "github":
        if not secrets.github:
            raise WebhookRejected(401, f"{name} webhooks are refused: {field} is not set")
        digest = hmac.new(secrets.github.encode(), body, hashlib.sha256).hexdigest()
        if not _same(_header(headers, "X-Hub-Signature-256"), f"sha256={digest}"):
            raise WebhookRejected(401, "GitHub signature does not match")
    elif provider == "gitlab":
        if not secrets.gitlab:
            raise WebhookRejected(401, f"{name} webhooks are refused: {field} is not set")
        if not _same(_header(headers, "X-Gitlab-Token"), secrets.gitlab):
            raise WebhookRejected(401, "GitLab token does not match")
    else:
        if not secrets.bitbucket_uuid:
            raise WebhookRejected(401, f"{name} webhooks are refused: {field} is not set")
        if not _same(_header(headers, "X-Hook-UUID"), secrets.bitbucket_uuid):
            raise WebhookRejected(401, "Bitbucket hook UUID does not match")
    return provider


def _short_ref(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _obj(parent: Obj, key: str, where: str) -> Obj:
    """``parent[key]`` as an object (absent or null: empty); 400 for any other type."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebhookRejected(400, f"{where}{key}: expected an object, got {_kind(value)}")
    return value


def _text(parent: Obj, key: str, where: str) -> str:
    """``parent[key]`` as a string (absent or null: empty); 400 for any other type."""
    value = parent.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebhookRejected(400, f"{where}{key}: expected a string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "null")


def _urls(parent: Obj, keys: tuple[str, ...], where: str) -> tuple[str, ...]:
    return tuple(url for url in (_text(parent, k, where) for k in keys) if url)


def parse_push(provider: str, payload: Any) -> Push | None:
    """The push a payload describes; None for other events (ping, pull request).

    Raises :class:`WebhookRejected` (400) for a payload that is not a JSON
    object or has a field of the wrong type.
    """
    if not isinstance(payload, dict):
        raise WebhookRejected(400, f"payload: expected a JSON object, got {_kind(payload)}")
    if provider in ("github", "gitlab"):
        if "ref" not in payload:
            return None
        ref = _text(payload, "ref", "")
        if provider == "github":
            repo = _obj(payload, "repository", "")
            keys = ("html_url", "clone_url", "ssh_url", "git_url", "url")
            urls = _urls(repo, keys, "repository.")
            default = _text(repo, "default_branch", "repository.")
        else:
            project = _obj(payload, "project", "")
            urls = _urls(project, ("web_url", "git_http_url", "git_ssh_url"), "project.")
            default = _text(project, "default_branch", "project.")
        return Push(provider, urls, _short_ref(ref), default)
    repo = _obj(payload, "repository", "")
    changes = _obj(payload, "push", "").get("changes")
    if changes is None or changes == []:
        return None
    if not isinstance(changes, list) or not isinstance(changes[0], dict):
        raise WebhookRejected(400, "push.changes: expected an array of objects")
    new = _obj(changes[0], "new", "push.changes[0].")
    html = _text(
        _obj(_obj(repo, "links", "repository."), "html", "repository.links."),
        "href",
        "repository.links.html.",
    )
    main = _text(_obj(repo, "mainbranch", "repository."), "name", "repository.mainbranch.")
    name = _text(new, "name", "push.changes[0].new.")
    return Push(provider, (html,) if html else (), name, main)


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
