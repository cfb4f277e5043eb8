"""The destination rule: one server or one name, in-cluster by either, names resolved purely."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.destination import (
    IN_CLUSTER_NAME,
    IN_CLUSTER_SERVER,
    DestinationProblem,
    DestinationRef,
    destination_problem,
    destination_ref,
    is_in_cluster,
)

TEXT = st.text(max_size=30)
ANY = st.one_of(st.none(), st.integers(), st.booleans(), TEXT, st.lists(TEXT, max_size=2))


def test_exactly_one_of_server_and_name() -> None:
    assert destination_problem("", "") is DestinationProblem.NEITHER
    assert destination_problem("https://a", "a") is DestinationProblem.BOTH
    assert destination_problem("https://a", "") is None
    assert destination_problem("", "a") is None


def test_in_cluster_by_server_name_or_local_url() -> None:
    assert is_in_cluster(IN_CLUSTER_SERVER + "/", "")
    assert is_in_cluster("", IN_CLUSTER_NAME)
    assert is_in_cluster("https://127.0.0.1:6443", "", ["https://127.0.0.1:6443/"])
    assert not is_in_cluster("https://other", IN_CLUSTER_NAME)
    assert not is_in_cluster("", "prod")


def test_names_resolve_through_the_registered_clusters() -> None:
    clusters = {"prod": "https://prod:6443"}
    assert DestinationRef(name="prod").server_in(clusters) == "https://prod:6443"
    assert DestinationRef(name=IN_CLUSTER_NAME).server_in(clusters) == IN_CLUSTER_SERVER
    assert DestinationRef(name="gone").server_in(clusters) == ""
    assert DestinationRef(server="https://x").server_in(clusters) == "https://x"
    assert DestinationRef(server="https://prod:6443").known_in(clusters)
    assert DestinationRef(name="prod").known_in(clusters)
    assert not DestinationRef(name="gone").known_in(clusters)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"server": "https://a/", "namespace": "x"}, DestinationRef("https://a", "", "x")),
        ({"name": "a", "server": 3}, DestinationRef("", "a", "")),
        (None, DestinationRef()),
        ("https://a", DestinationRef()),
    ],
)
def test_raw_destinations_are_read_leniently(raw: Any, expected: DestinationRef) -> None:
    assert destination_ref(raw) == expected


@given(st.dictionaries(st.sampled_from(["server", "name", "namespace", "x"]), ANY))
def test_any_raw_destination_reads_and_has_one_verdict(raw: dict[str, Any]) -> None:
    ref = destination_ref(raw)
    assert not ref.server.endswith("/")
    names_one = bool(ref.server) != bool(ref.name)
    assert (ref.problem is None) == names_one


@given(TEXT, TEXT)
def test_the_problem_is_symmetric_in_presence(server: str, name: str) -> None:
    problem = destination_problem(server, name)
    if server and name:
        assert problem is DestinationProblem.BOTH
    elif server or name:
        assert problem is None
    else:
        assert problem is DestinationProblem.NEITHER
