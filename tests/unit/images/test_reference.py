"""Image references and image changes: parsed like distribution and kustomize parse them."""

from __future__ import annotations

import time

import pytest

from gitward.images import ImageChange, ImageRef, ImageRefError, parse_change, parse_image
from gitward.images.reference import same_image

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("nginx", ImageRef("nginx")),
        ("nginx:1.27", ImageRef("nginx", "1.27")),
        ("localhost:5000/app", ImageRef("localhost:5000/app")),
        ("localhost:5000/app:1.0", ImageRef("localhost:5000/app", "1.0")),
        ("ghcr.io/org/team/app:v2-rc.1", ImageRef("ghcr.io/org/team/app", "v2-rc.1")),
        (f"app@{DIGEST}", ImageRef("app", "", DIGEST)),
        (f"app:1@{DIGEST}", ImageRef("app", "1", DIGEST)),
        ("[::1]:5000/app:1", ImageRef("[::1]:5000/app", "1")),
    ],
)
def test_references(text: str, ref: ImageRef) -> None:
    assert parse_image(text) == ref
    assert str(ref) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Nginx",
        "nginx:",
        "nginx@",
        "nginx:-x",
        "app@sha256:xyz",
        "a//b",
        "-flag",
        "a b",
        "x" * 600,
    ],
)
def test_bad_references_are_refused(text: str) -> None:
    with pytest.raises(ImageRefError):
        parse_image(text)


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("nginx:1.27", ImageChange("nginx", "", "1.27")),
        ("nginx=registry.local/nginx:1.27", ImageChange("nginx", "registry.local/nginx", "1.27")),
        ("app=other", ImageChange("app", "other")),
        (f"app@{DIGEST}", ImageChange("app", "", "", DIGEST)),
        ("localhost:5000/app:2", ImageChange("localhost:5000/app", "", "2")),
    ],
)
def test_changes(text: str, change: ImageChange) -> None:
    assert parse_change(text) == change
    assert str(change) == text


def test_a_change_must_change_something() -> None:
    with pytest.raises(ImageRefError, match="give a tag"):
        parse_change("nginx")


def test_a_new_tag_drops_the_digest_and_a_digest_the_tag() -> None:
    current = ImageRef("nginx", "1.25", DIGEST)
    assert ImageChange("nginx", tag="1.27").apply(current) == ImageRef("nginx", "1.27")
    assert ImageChange("nginx", digest=DIGEST).apply(ImageRef("nginx", "1")) == ImageRef(
        "nginx", "", DIGEST
    )
    assert ImageChange("nginx", "mirror/nginx").apply(current) == ImageRef(
        "mirror/nginx", "1.25", DIGEST
    )


def test_docker_hub_spellings_are_one_image() -> None:
    assert same_image("nginx", "docker.io/library/nginx")
    assert same_image("org/app", "docker.io/org/app")
    assert same_image("index.docker.io/library/nginx", "nginx")
    assert not same_image("nginx", "ghcr.io/nginx")


def test_parsing_is_linear_time() -> None:
    started = time.perf_counter()
    for text in ("a" * 500, "a-" * 250, "a." * 250 + "/x", "a:" * 250):
        with pytest.raises(ImageRefError):
            parse_change(text + "!")
    assert time.perf_counter() - started < 1.0
