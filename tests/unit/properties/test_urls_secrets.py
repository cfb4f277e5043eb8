"""URLs, repository credentials and cluster Secrets from arbitrary text and objects."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from gitward.cluster.secrets import cluster_secret_name, parse_cluster_secret
from gitward.model.errors import GitwardError
from gitward.model.repourl import normalize_prefix, normalize_url, redact_url, same_repo, url_slug
from gitward.source.credentials import CredentialStore, credentials_from_fields
from tests.unit.properties.strategies import json_values, maybe, url_texts

SECRET_TYPE = "argocd.argoproj.io/secret-type"


@given(url_texts, url_texts)
@example("http://]", "https://github.com/org/repo")
@example("ssh://git@[x/y", "git@[x:y")
@example("https://bot:tok@[::1/x", "http://a:99999999/x")
def test_url_functions_are_total(a: str, b: str) -> None:
    for url in (a, b):
        assert isinstance(normalize_url(url), str)
        assert isinstance(normalize_prefix(url), str)
        assert isinstance(redact_url(url), str)
        assert url_slug(url)
    assert same_repo(a, b) == same_repo(b, a)
    assert same_repo(a, a)


@given(
    st.sampled_from(["https", "http", "ssh", "git"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=6, max_size=20),
    url_texts,
)
def test_a_password_in_a_url_never_survives_redaction(scheme: str, token: str, rest: str) -> None:
    url = f"{scheme}://bot:{token}@github.com/{rest}"
    assert token not in redact_url(url).replace(rest, "")


secret_fields = st.fixed_dictionaries(
    {"url": maybe(url_texts)},
    optional={
        "username": maybe(st.text(max_size=5)),
        "password": maybe(st.text(max_size=5)),
        "insecure": json_values,
        "type": maybe(st.sampled_from(["git", "helm"])),
        "proxy": maybe(url_texts),
    },
)


def _b64(value: Any) -> Any:
    if isinstance(value, str):
        return base64.b64encode(value.encode("utf-8", "surrogatepass")).decode()
    return value


secrets = st.fixed_dictionaries(
    {
        "metadata": maybe(
            st.fixed_dictionaries(
                {"name": maybe(st.text(max_size=5))},
                optional={
                    "labels": maybe(
                        st.fixed_dictionaries(
                            {SECRET_TYPE: maybe(st.sampled_from(["repository", "repo-creds"]))}
                        )
                    )
                },
            )
        )
    },
    optional={
        "data": maybe(secret_fields.map(lambda d: {k: _b64(v) for k, v in d.items()})),
        "stringData": maybe(secret_fields),
    },
)


@given(secret_fields)
def test_credential_fields_parse_or_fail_typed(fields: dict[str, Any]) -> None:
    try:
        credentials_from_fields(fields, "Secret argocd/repo")
    except GitwardError:
        return


@given(st.lists(secrets, max_size=3), url_texts)
@example(
    [
        {
            "metadata": {"name": "s", "labels": {SECRET_TYPE: "repository"}},
            "stringData": {"url": "http://]"},
        }
    ],
    "http://]",
)
def test_repository_secrets_load_or_fail_typed(objs: list[dict[str, Any]], url: str) -> None:
    try:
        store = CredentialStore.from_secrets(objs)
    except GitwardError:
        return
    found = store.lookup(url)
    if found is not None:
        repr(found)
        found.secrets()


cluster_config = st.one_of(
    st.just('{"tlsClientConfig": {"insecure": true}}'),
    st.just("[" * 30_000 + "]" * 30_000),
    st.just('{"bearerToken": ' + "1" * 5000 + "}"),
    json_values.map(lambda v: __import__("json").dumps(v)),
    st.text(max_size=20),
)
cluster_secrets = st.fixed_dictionaries(
    {
        "metadata": maybe(st.fixed_dictionaries({"name": maybe(st.text(max_size=5))})),
        "stringData": maybe(
            st.fixed_dictionaries(
                {"server": maybe(url_texts)},
                optional={"config": maybe(cluster_config), "name": maybe(st.text(max_size=5))},
            )
        ),
    }
)


@given(cluster_secrets)
@example({"metadata": {"name": "c"}, "stringData": {"server": "https://[::1"}})
def test_cluster_secrets_parse_or_fail_typed(secret: dict[str, Any]) -> None:
    try:
        spec = parse_cluster_secret(secret)
    except GitwardError:
        return
    cluster_secret_name(spec.server)
    repr(spec)


@given(url_texts)
def test_cluster_secret_names_are_total(server: str) -> None:
    assert cluster_secret_name(server).startswith("cluster-")
