"""Argo CD's override files merged into the source before a render."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.model import parse_source
from gitward.model.errors import RenderError
from gitward.render.overrides import apply_overrides, merge_patch
from tests.support.trees import write_tree

SOURCE = parse_source(
    {
        "repoURL": "https://example.com/shop.git",
        "path": "app",
        "targetRevision": "main",
        "kustomize": {"images": ["nginx:1.0"], "namePrefix": "dev-"},
    }
)


def test_the_shared_file_then_the_apps_own_are_merged(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "app/kustomization.yaml": "resources: []\n",
            "app/.argocd-source.yaml": "kustomize:\n  images: [nginx:1.1]\n  namePrefix: x-\n",
            "app/.argocd-source-shop.yaml": "kustomize:\n  images: [nginx:1.2]\n",
            "app/.argocd-source-other.yaml": "kustomize:\n  images: [nginx:9]\n",
        },
    )
    merged = apply_overrides(tmp_path, tmp_path / "app", SOURCE, "shop")
    assert merged.kustomize is not None
    assert merged.kustomize.images == ("nginx:1.2",)
    assert merged.kustomize.name_prefix == "x-"


def test_the_repository_path_and_revision_stay_the_applications(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"app/.argocd-source-shop.yaml": "repoURL: https://evil.example/x\npath: ../..\n"
         "targetRevision: evil\nchart: evil\n"},
    )  # fmt: skip
    merged = apply_overrides(tmp_path, tmp_path / "app", SOURCE, "ns_shop")
    assert (merged.repo_url, merged.path, merged.target_revision, merged.chart) == (
        SOURCE.repo_url,
        SOURCE.path,
        SOURCE.target_revision,
        SOURCE.chart,
    )


def test_no_files_no_change(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    assert apply_overrides(tmp_path, tmp_path / "app", SOURCE, "shop") is SOURCE


@pytest.mark.parametrize(
    ("text", "message"),
    [("kustomize: [1,\n", "not valid YAML"), ("- a\n", "must be a mapping"),
     ("kustomize: {images: 5}\n", "images")],
)  # fmt: skip
def test_bad_files_are_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    write_tree(tmp_path, {"app/.argocd-source-shop.yaml": text})
    with pytest.raises(RenderError, match=message) as info:
        apply_overrides(tmp_path, tmp_path / "app", SOURCE, "shop")
    assert "app/.argocd-source-shop.yaml" in str(info.value)


def test_merge_patch_follows_rfc_7386() -> None:
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": None, "e": 4}, "f": [1]}) == {
        "a": 1,
        "b": {"d": 3, "e": 4},
        "f": [1],
    }
