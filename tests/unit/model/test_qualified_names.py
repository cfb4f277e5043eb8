"""Argo CD's qualified app names: NAME in the control namespace, NS/NAME elsewhere."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gitward.model.application import qualified_name, split_qualified

DNS = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


def test_the_control_namespace_is_left_out() -> None:
    assert qualified_name("argocd", "web", "argocd") == "web"
    assert qualified_name("team-a", "web", "argocd") == "team-a/web"
    assert split_qualified("web", "argocd") == ("argocd", "web")
    assert split_qualified("team-a/web", "argocd") == ("team-a", "web")


@given(DNS, DNS, DNS)
def test_names_round_trip(namespace: str, name: str, control: str) -> None:
    assert split_qualified(qualified_name(namespace, name, control), control) == (namespace, name)
