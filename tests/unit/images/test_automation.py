"""Image Updater annotations parsed, and tags chosen by each strategy's rules."""

from __future__ import annotations

import pytest

from gitward.images.automation import (
    PREFIX,
    PullSecret,
    best_semver,
    candidate_tags,
    parse_config,
)
from gitward.model.errors import ConfigError


def annotations(**extra: str) -> dict[str, str]:
    return {PREFIX + k.replace("__", "."): v for k, v in extra.items()}


def test_no_image_list_no_automation() -> None:
    assert parse_config({"other": "x"}) is None


def test_a_full_configuration() -> None:
    config = parse_config(
        annotations(
            **{"image-list": "web=ghcr.io/org/web:~1.2, localhost:5000/api"},
            **{
                "web.allow-tags": "regexp:^1\\.",
                "web.ignore-tags": "*-dev, latest",
                "web.pull-secret": "pullsecret:argocd/ghcr",
                "api.update-strategy": "newest-build",
                "api.pull-secret": "secret:argocd/creds#token",
                "write-back-method": "git",
                "write-back-target": "helmvalues:values-dev.yaml",
                "git-branch": "main",
            },
        )
    )
    assert config is not None
    web, api = config.images
    assert (web.alias, web.image, web.constraint, web.strategy) == (
        "web", "ghcr.io/org/web", "~1.2", "semver",
    )  # fmt: skip
    assert web.pull_secret == PullSecret("argocd", "ghcr")
    assert web.ignore == ("*-dev", "latest")
    assert (api.alias, api.image, api.constraint, api.strategy) == (
        "api", "localhost:5000/api", "", "newest-build",
    )  # fmt: skip
    assert api.pull_secret == PullSecret("argocd", "creds", "token")
    assert config.write_back.method == "git"
    assert config.write_back.target == "helmvalues:values-dev.yaml"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"image-list": "web=ghcr.io/org/web:1.0@sha256:" + "a" * 64},
            "not a digest|without a tag",
        ),
        ({"image-list": "a=x, a=y"}, "used twice"),
        ({"image-list": "x", "x.update-strategy": "random"}, "one of"),
        ({"image-list": "x:latest", "x.update-strategy": "semver"}, "not a semver constraint"),
        ({"image-list": "x", "x.update-strategy": "digest"}, "needs a tag"),
        ({"image-list": "x", "x.allow-tags": "^1"}, "regexp:<pattern>"),
        ({"image-list": "x", "x.allow-tags": "regexp:("}, "allow-tags"),
        ({"image-list": "x", "x.pull-secret": "env:GITHUB_TOKEN"}, "refuses them"),
        ({"image-list": "x", "x.pull-secret": "ext:/bin/sh"}, "refuses them"),
        ({"image-list": "x", "write-back-method": "ftp"}, "argocd or git"),
        ({"image-list": "Bad Image"}, "not a valid image"),
    ],
)
def test_bad_annotations_name_the_annotation(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(annotations(**extra))
    assert PREFIX in str(info.value)


def test_semver_picks_the_highest_release_the_constraint_allows() -> None:
    tags = ["latest", "1.0.0", "1.2.0", "1.10.0-rc1", "v1.1.5", "2.0.0", "main"]
    assert best_semver(tags, "") == "2.0.0"
    assert best_semver(tags, "1.x") == "1.2.0"
    assert best_semver(tags, "~1.1") == "v1.1.5"
    assert best_semver(tags, ">=1.10.0-rc0 <2") == "1.10.0-rc1"
    assert best_semver(["latest"], "") is None


def test_allow_and_ignore_filter_tags() -> None:
    config = parse_config(
        annotations(**{"image-list": "x", "x.allow-tags": "regexp:^1\\.", "x.ignore-tags": "*-rc*"})
    )
    assert config is not None
    spec = config.images[0]
    tags = ["1.2.0", "1.10.0-rc1", "latest", "2.0.0", "1.3.0"]
    assert candidate_tags(spec, tags) == ["1.2.0", "1.3.0"]
