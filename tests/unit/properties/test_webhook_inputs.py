"""Webhook headers and payloads: a WebhookRejected with a status, or a push we can match."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from gitward.model.application import parse_application
from gitward.server.webhook import WebhookRejected, WebhookSecrets, matches, parse_push, verify
from tests.unit.properties.strategies import json_values, maybe, url_texts

header_names = st.sampled_from(
    ["X-GitHub-Event", "X-Hub-Signature-256", "X-Gitlab-Event", "X-Gitlab-Token", "X-Event-Key",
     "X-Hook-UUID", "x-github-event", "Content-Type"]
)  # fmt: skip
header_values = st.one_of(
    st.text(max_size=20), st.just("sha256=" + "é" * 64), st.just("\udcff"), st.just("push")
)
secrets = st.builds(
    WebhookSecrets,
    github=st.sampled_from(["", "s3cret", "é"]),
    gitlab=st.sampled_from(["", "tok"]),
    bitbucket_uuid=st.sampled_from(["", "{uuid}"]),
)


@given(st.dictionaries(header_names, header_values, max_size=5), st.binary(max_size=64), secrets)
def test_any_headers_are_verified_or_rejected_with_a_status(
    headers: dict[str, str], body: bytes, keys: WebhookSecrets
) -> None:
    try:
        provider = verify(headers, body, keys)
    except WebhookRejected as exc:
        status = exc.status
        provider = ""
    else:
        status = 200
    assert status in (200, 400, 401)
    assert provider in ("github", "gitlab", "bitbucket") or status != 200


text = maybe(st.text(max_size=10))
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"ref": maybe(st.sampled_from(["refs/heads/main", "refs/tags/v1", "main"]))},
        optional={
            "repository": maybe(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "clone_url": maybe(url_texts),
                        "html_url": maybe(url_texts),
                        "default_branch": text,
                        "links": maybe(
                            st.fixed_dictionaries(
                                {"html": maybe(st.fixed_dictionaries({"href": maybe(url_texts)}))}
                            )
                        ),
                        "mainbranch": maybe(st.fixed_dictionaries({"name": text})),
                    },
                )
            ),
            "project": maybe(
                st.fixed_dictionaries(
                    {}, optional={"web_url": maybe(url_texts), "default_branch": text}
                )
            ),
            "push": maybe(
                st.fixed_dictionaries(
                    {
                        "changes": maybe(
                            st.lists(
                                maybe(
                                    st.fixed_dictionaries(
                                        {"new": maybe(st.fixed_dictionaries({"name": text}))}
                                    )
                                ),
                                max_size=2,
                            )
                        )
                    }
                )
            ),
        },
    ),
)

APP = parse_application(
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a"},
        "spec": {
            "source": {"repoURL": "https://github.com/org/repo", "targetRevision": ">=1.0"},
            "destination": {"server": "https://k", "namespace": "n"},
        },
    },
    "test",
)


@given(st.sampled_from(["github", "gitlab", "bitbucket"]), payloads)
@example("github", {"ref": "refs/heads/main", "repository": {"clone_url": "http://]"}})
@example("bitbucket", {"push": {"changes": [5]}})
def test_any_payload_is_a_push_or_a_400(provider: str, payload: Any) -> None:
    try:
        push = parse_push(provider, payload)
    except WebhookRejected as exc:
        rejected: WebhookRejected | None = exc
        push = None
    else:
        rejected = None
    if rejected is not None:
        assert rejected.status == 400
        assert str(rejected)
    elif push is not None:
        matches(APP, push)
