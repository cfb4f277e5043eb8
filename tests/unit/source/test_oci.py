"""OCI references and token realms, checked before any request (no network)."""

from __future__ import annotations

import pytest

from gitward.model.errors import GitwardError
from gitward.source.credentials import RepoCredentials
from gitward.source.oci import OCIClient, OCIRef, _check_realm, is_oci, parse_oci_url


def test_references() -> None:
    ref = parse_oci_url("oci://registry.example.com:5000/team/charts/")
    assert ref == OCIRef("registry.example.com:5000", "team/charts")
    assert ref.child("web").base == "https://registry.example.com:5000/v2/team/charts/web"
    assert is_oci("oci://r/x")
    assert not is_oci("https://r/x")
    assert is_oci("r.example.com/charts", RepoCredentials(url="r", enable_oci=True))


@pytest.mark.parametrize(
    "url",
    ["oci://host/Upper/Case", "oci://host/a//b", "oci://host/../x", "oci:///name", "oci://-h/x"],
)
def test_bad_references_are_refused(url: str) -> None:
    with pytest.raises(GitwardError):
        parse_oci_url(url)


@pytest.mark.parametrize(
    ("realm", "reason"),
    [
        ("http://auth.example.com/token", "not https"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/token", "link-local"),
        ("file:///etc/passwd", "only https"),
    ],
)
def test_token_realms_that_are_refused(realm: str, reason: str) -> None:
    with pytest.raises(GitwardError, match=reason):
        _check_realm(realm, "registry.example.com")
    assert _check_realm("https://auth.example.com/token", "r") == "https://auth.example.com/token"


async def test_a_tag_or_digest_needs_no_listing() -> None:
    client = OCIClient()
    ref = OCIRef("unreachable.invalid", "x")
    digest = "sha256:" + "a" * 64
    assert await client.resolve_tag(ref, "prod", None) == "prod"
    assert await client.resolve_tag(ref, digest, None) == digest
    with pytest.raises(GitwardError, match="cannot fetch"):
        await client.manifest(OCIRef("127.0.0.1:9", "x"), "latest", None)
