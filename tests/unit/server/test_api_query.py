"""The applications API's query parsers: selectors, paging tokens, flags, filters."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import MultiDict

from gitward.model.errors import GitwardError
from gitward.server.api.query import (
    AppFilter,
    decode_continue,
    encode_continue,
    flag,
    limit,
    parse_selector,
    selector_matches,
)
from gitward.server.errors import InvalidArgument

LABELS = {"team": "a", "env": "prod", "example.com/tier": "web"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("team=a", True),
        ("team==a", True),
        ("team!=a", False),
        ("team=b", False),
        ("env in (prod, staging)", True),
        ("env notin (prod)", False),
        ("missing notin (x)", True),
        ("team", True),
        ("!team", False),
        ("!missing", True),
        ("team=a,env=prod", True),
        ("team=a,env=dev", False),
        ("example.com/tier=web", True),
        ("missing!=x", True),
    ],
)
def test_selectors_select_as_kubernetes_does(selector: str, expected: bool) -> None:
    assert selector_matches(parse_selector(selector), LABELS) is expected


@pytest.mark.parametrize(
    "selector", ["team=a,", "=a", "team in (a", "team)=a", "te am=a", "a=b c", "x" * 5000]
)
def test_bad_selectors_name_the_parameter(selector: str) -> None:
    with pytest.raises(InvalidArgument, match="selector"):
        parse_selector(selector)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_any_selector_text_parses_or_is_refused_with_our_error(text: str) -> None:
    failure = ""
    try:
        requirements = parse_selector(text)
    except GitwardError as exc:
        failure = str(exc)
    if failure:
        assert "selector" in failure
    else:
        selector_matches(requirements, LABELS)  # and matching never raises


_label = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_label, _label, max_size=5), _label, _label)
def test_equality_selector_agrees_with_the_labels(
    labels: dict[str, str], key: str, value: str
) -> None:
    assert selector_matches(parse_selector(f"{key}={value}"), labels) is (labels.get(key) == value)
    assert selector_matches(parse_selector(f"{key}!={value}"), labels) is (labels.get(key) != value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=253), st.text(max_size=63))
def test_continue_tokens_round_trip(name: str, namespace: str) -> None:
    assert decode_continue(encode_continue((name, namespace))) == (name, namespace)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=5000))
def test_any_continue_text_is_a_token_or_refused_with_our_error(text: str) -> None:
    failure = ""
    key = None
    try:
        key = decode_continue(text)
    except GitwardError as exc:
        failure = str(exc)
    if failure:
        assert "continue" in failure
    assert key is None or (isinstance(key[0], str) and isinstance(key[1], str))


def test_flags_and_limits() -> None:
    assert flag(MultiDict(upsert="true"), "upsert") is True
    assert flag(MultiDict(), "validate", True) is True
    assert flag(MultiDict(validate="0"), "validate", True) is False
    with pytest.raises(InvalidArgument, match="upsert"):
        flag(MultiDict(upsert="yes"), "upsert")
    assert limit(MultiDict(limit="50")) == 50
    assert limit(MultiDict(limit="0")) is None
    assert limit(MultiDict()) is None
    for bad in ("-1", "1e3", "99999999", "x", "10001"):
        with pytest.raises(InvalidArgument, match="limit"):
            limit(MultiDict(limit=bad))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["limit", "upsert"]), st.text(max_size=20)))
def test_scalar_parsers_raise_only_our_error(query: dict[str, str]) -> None:
    md = MultiDict(query)
    for parse in (lambda: limit(md), lambda: flag(md, "upsert")):
        with contextlib.suppress(GitwardError):
            parse()


def _app(name: str, project: str = "default", repo: str = "https://g/x.git", **labels: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "argocd", "labels": labels},
        "spec": {"project": project, "source": {"repoURL": repo}},
    }


def test_filter_by_name_project_repo_selector_namespace() -> None:
    query = MultiDict(
        [
            ("projects", "team-a"),
            ("project", "team-b"),
            ("repo", "https://G/x"),
            ("selector", "t=1"),
        ]
    )
    wanted = AppFilter.from_query(query)
    assert wanted.projects == {"team-a", "team-b"}
    assert wanted.matches(_app("one", "team-a", t="1"))
    assert not wanted.matches(_app("one", "team-c", t="1"))
    assert not wanted.matches(_app("one", "team-a", t="2"))
    assert not wanted.matches(_app("one", "team-a", "https://g/y", t="1"))
    assert AppFilter.from_query(MultiDict(name="one")).matches(_app("one"))
    assert not AppFilter.from_query(MultiDict(name="one")).matches(_app("two"))
    assert not AppFilter.from_query(MultiDict(appNamespace="other")).matches(_app("one"))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "projects", "selector", "repo", "appNamespace"]),
        st.text(max_size=80),
    )
)
def test_filters_from_any_query_raise_only_our_error(query: dict[str, str]) -> None:
    try:
        wanted = AppFilter.from_query(MultiDict(query))
    except GitwardError:
        return
    wanted.matches(_app("one", t="1"))
