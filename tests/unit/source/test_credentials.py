"""Argo CD repository Secrets and repo-creds templates, and a local file of the same fields."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.source.credentials import REPO_CREDS, REPOSITORY, CredentialStore, RepoCredentials
from gitward.source.errors import CredentialsError

TOKEN = "ghp_s3cr3t-value"


def secret(name: str, kind: str, fields: dict[str, str], *, encode: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": kind},
        },
    }
    if encode:
        body["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()}
    else:
        body["stringData"] = fields
    return body


def test_exact_repository_match_after_normalisation() -> None:
    store = CredentialStore.from_secrets(
        [secret("r", "repository", {"url": "https://GitHub.com/org/app.git", "password": TOKEN})]
    )
    found = store.lookup("https://github.com/org/app/")
    assert found is not None
    assert found.password == TOKEN
    assert store.lookup("https://github.com/org/other") is None


def test_longest_template_prefix_wins() -> None:
    store = CredentialStore.from_secrets(
        [
            secret("all", "repo-creds", {"url": "https://github.com/", "password": "broad"}),
            secret("org", "repo-creds", {"url": "https://github.com/org/", "password": "narrow"}),
            secret("plain", "opaque", {"url": "https://github.com/org/x", "password": "no"}),
        ]
    )
    narrow = store.lookup("https://github.com/org/app")
    broad = store.lookup("https://github.com/org-other/app")
    assert narrow is not None
    assert narrow.password == "narrow"
    assert narrow.url == "https://github.com/org/app"
    assert broad is not None
    assert broad.password == "broad"
    assert store.lookup("https://gitlab.com/org/app") is None


def test_repository_without_secret_inherits_the_template() -> None:
    store = CredentialStore.from_secrets(
        [
            secret(
                "t", "repo-creds", {"url": "https://git.example/", "username": "u", "password": "p"}
            ),
            secret(
                "r",
                "repository",
                {"url": "https://git.example/a", "insecure": "true"},
                encode=False,
            ),
        ]
    )
    found = store.lookup("https://git.example/a")
    assert found is not None
    assert (found.username, found.password, found.insecure) == ("u", "p", True)


def test_string_data_overrides_data() -> None:
    body = secret("r", "repository", {"url": "https://h/a", "password": "old"})
    body["stringData"] = {"password": "new"}
    found = CredentialStore.from_secrets([body]).lookup("https://h/a")
    assert found is not None
    assert found.password == "new"


def test_bad_secret_names_the_secret() -> None:
    body = secret("broken", "repository", {"password": "x"})
    with pytest.raises(CredentialsError, match=r"Secret argocd/broken: url: required"):
        CredentialStore.from_secrets([body])
    body = secret("b64", "repository", {"url": "https://h/a"})
    body["data"]["password"] = "%%%"
    with pytest.raises(CredentialsError, match=r"data.password: not valid base64"):
        CredentialStore.from_secrets([body])


def test_from_file_entries_and_secrets(tmp_path: Path) -> None:
    path = tmp_path / "creds.yaml"
    path.write_text(
        f"""- url: https://git.example/team/app
  username: bot
  password: {TOKEN}
- url: https://git.example/
  secretType: repo-creds
  bearerToken: tmpl-token
  insecure: true
---
apiVersion: v1
kind: Secret
metadata:
  name: ssh
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  url: git@git.example:team/infra.git
  sshPrivateKey: |
    -----BEGIN OPENSSH PRIVATE KEY-----
    AAAA
    -----END OPENSSH PRIVATE KEY-----
"""
    )
    store = CredentialStore.from_file(path)
    app = store.lookup("https://git.example/team/app.git")
    assert app is not None
    assert (app.username, app.password) == ("bot", TOKEN)
    other = store.lookup("https://git.example/team/other")
    assert other is not None
    assert other.bearer_token == "tmpl-token"
    assert other.insecure
    ssh = store.lookup("ssh://git@git.example/team/infra")
    assert ssh is not None
    assert "BEGIN OPENSSH" in ssh.ssh_private_key


def test_from_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "creds.yaml"
    path.write_text("- username: x\n")
    with pytest.raises(CredentialsError, match=r"creds.yaml document 1 entry 0: url: required"):
        CredentialStore.from_file(path)
    with pytest.raises(CredentialsError, match=r"cannot read"):
        CredentialStore.from_file(tmp_path / "missing.yaml")


def test_repr_masks_secrets() -> None:
    creds = RepoCredentials(
        url="https://user:urlpass@h/a",
        username="bot",
        password=TOKEN,
        ssh_private_key="-----BEGIN KEY-----\nAAAA\n",
        bearer_token="bearer-value",
        proxy="http://p:proxypass@proxy:3128",
    )
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        for value in (TOKEN, "BEGIN KEY", "bearer-value", "urlpass", "proxypass"):
            assert value not in text
    assert "bot" in repr(creds)


def test_secrets_lists_every_secret_value() -> None:
    creds = RepoCredentials(url="u", password=TOKEN, ssh_private_key="line-one\nline-two\n")
    assert {TOKEN, "line-one", "line-two"} <= set(creds.secrets())


# -- project-scoped repositories ----------------------------------------------------------------


def _scoped_store() -> CredentialStore:
    store = CredentialStore()
    store.add(RepoCredentials("https://git.example/team/app", password="shared-pass"))
    store.add(RepoCredentials("https://git.example/team/app", password="team-a-pass", project="a"))
    store.add(RepoCredentials("https://git.example/private", password="only-b", project="b"))
    store.add(
        RepoCredentials("https://git.example/tmpl", password="tmpl-b", project="b"), REPO_CREDS
    )
    return store


def test_a_projects_own_repository_wins_and_other_projects_never_see_it() -> None:
    store = _scoped_store()
    assert store.lookup("https://git.example/team/app", "a").password == "team-a-pass"
    assert store.lookup("https://git.example/team/app", "c").password == "shared-pass"
    assert store.lookup("https://git.example/team/app").password == "shared-pass"
    assert store.lookup("https://git.example/private", "b").password == "only-b"
    assert store.lookup("https://git.example/private", "a") is None
    assert store.lookup("https://git.example/tmpl/x", "b").password == "tmpl-b"
    assert store.lookup("https://git.example/tmpl/x", "a") is None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["https://h/a", "https://h/b", "https://h/t/x"]),
            st.sampled_from(["", "a", "b"]),
            st.booleans(),
        ),
        max_size=8,
    ),
    st.sampled_from(["", "a", "b", "c"]),
)
def test_a_project_scoped_store_answers_as_lookup_does(
    entries: list[tuple[str, str, bool]], project: str
) -> None:
    store = CredentialStore()
    for i, (url, owner, template) in enumerate(entries):
        where = "https://h/t" if template else url
        store.add(
            RepoCredentials(where, password=f"p{i}", project=owner),
            REPO_CREDS if template else REPOSITORY,
        )
    scoped = store.for_project(project)
    for url in ("https://h/a", "https://h/b", "https://h/t/x"):
        assert scoped.lookup(url) == store.lookup(url, project)
