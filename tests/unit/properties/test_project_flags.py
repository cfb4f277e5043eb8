"""``proj create --dest``: every input is a destination or a ConfigError, decided as argocd does."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gitward.model.errors import ConfigError
from gitward.projects.edit import destination_from_flag, is_server_url
from tests.unit.properties.strategies import joined

#: Namespace-ish text: no comma (the separator) and no surrounding blanks (stripped).
namespaces = st.from_regex(r"[a-z0-9*?!{}\[\]-]{0,20}", fullmatch=True)
hosts = st.from_regex(r"[a-z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True)
servers = st.one_of(
    st.builds(lambda scheme, host: f"{scheme}://{host}", st.sampled_from(["https", "http"]), hosts),
    st.just("*"),
    st.builds(lambda host: f"!https://{host}", hosts),
)
#: Cluster names and name globs: no scheme, not an absolute path, not ``*`` alone.
names = st.from_regex(r"[a-z][a-z0-9*?-]{0,20}", fullmatch=True)

FRAGMENTS = [",", "https://", ":", "/", "*", "!", " ", "in-cluster", "ns", "{a,b}", "\t", ""]


@given(servers, namespaces)
def test_a_server_url_and_namespace_are_a_server_destination(server: str, ns: str) -> None:
    assert destination_from_flag(f"{server},{ns}") == {"server": server, "namespace": ns}


@given(names, namespaces)
def test_anything_else_is_a_cluster_name(name: str, ns: str) -> None:
    assert destination_from_flag(f"{name},{ns}") == {"name": name, "namespace": ns}


@given(st.one_of(joined(FRAGMENTS, 8), st.text(max_size=40)))
@example("a,b,c")
@example(",ns")
@example("")
def test_every_input_is_a_destination_or_a_clear_error(text: str) -> None:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not parts[0]:
        with pytest.raises(ConfigError, match=f"^--dest {re.escape(repr(text))}"):
            destination_from_flag(text)
        return
    key = "server" if is_server_url(parts[0]) else "name"
    assert destination_from_flag(text) == {key: parts[0], "namespace": parts[1]}
