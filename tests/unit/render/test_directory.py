"""Directory sources: which files load, in what order, and errors that name file and line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gitward.model import RenderError, parse_source
from gitward.render import (
    ManifestParseError,
    PathError,
    RenderEnv,
    RenderTools,
    ToolMissing,
    detect,
    render,
)
from tests.support.trees import write_tree

NO_TOOLS = RenderTools(kustomize=None, helm=None)
ENV = RenderEnv("app", "ns", "a" * 40, "https://example.com/r.git", "dev")


def cm(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


async def names(root: Path, **source: Any) -> list[str]:
    spec = parse_source({"repoURL": "https://example.com/r.git", **source})
    return [o["metadata"]["name"] for o in await render(root, spec, ENV, NO_TOOLS)]


async def test_founding_brief_layout_renders_plain_manifests(tmp_path: Path) -> None:
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: myapp\nspec:\n"
        "  replicas: 1\n  selector: {matchLabels: {app: myapp}}\n"
        "  template:\n    metadata: {labels: {app: myapp}}\n"
        "    spec: {containers: [{name: myapp, image: nginx:1.25}]}\n"
    )
    service = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: myapp-svc\nspec: {ports: [{port: 80}]}\n"
    )
    write_tree(
        tmp_path, {"dev/deployment.yaml": deployment, "dev/service.yaml": service, "README.md": "#"}
    )
    spec = parse_source({"repoURL": "https://github.com/username/repo.git", "path": "dev"})
    assert detect(tmp_path / "dev", spec) == "directory"
    objs = await render(tmp_path, spec, ENV, NO_TOOLS)
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("Deployment", "myapp"),
        ("Service", "myapp-svc"),
    ]
    assert objs[0]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"


async def test_yaml_yml_json_multi_document_and_lists(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a.yaml": cm("a1") + "---\n---\n" + cm("a2"),
            "b.yml": "apiVersion: v1\nkind: List\nitems:\n- "
            + "{apiVersion: v1, kind: Secret, metadata: {name: b}}\n",
            "c.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}',
            "d.txt": cm("ignored"),
            "e.yaml": "",
        },
    )
    assert await names(tmp_path) == ["a1", "a2", "b", "c"]


async def test_recurse_walks_in_lexical_order_like_argo(tmp_path: Path) -> None:
    write_tree(tmp_path, {"b.yaml": cm("b"), "a/x.yaml": cm("a-x"), "c/d/y.yaml": cm("c-d-y")})
    assert await names(tmp_path) == ["b"]
    assert await names(tmp_path, directory={"recurse": True}) == ["a-x", "b", "c-d-y"]


async def test_include_and_exclude_match_the_path_relative_to_the_app(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "app/deploy.yaml": cm("deploy"),
            "app/config.yml": cm("config"),
            "app/sub/deploy-sub.yaml": cm("sub"),
            "app/sub/skip.yaml": cm("skip"),
        },
    )
    d = {"recurse": True}
    assert await names(tmp_path, path="app", directory={**d, "include": "*.yaml"}) == [
        "deploy",
        "sub",
        "skip",
    ]
    assert await names(tmp_path, path="app", directory={**d, "include": "{*.yml,sub/*}"}) == [
        "config",
        "sub",
        "skip",
    ]
    assert await names(tmp_path, path="app", directory={**d, "exclude": "sub/skip.yaml"}) == [
        "config",
        "deploy",
        "sub",
    ]
    both = {**d, "include": "*deploy*", "exclude": "sub/*"}
    assert await names(tmp_path, path="app", directory=both) == ["deploy"]


async def test_invalid_glob_is_reported(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": cm("a")})
    with pytest.raises(RenderError, match=r"directory\.include '\[oops' is not a valid glob"):
        await names(tmp_path, directory={"include": "[oops"})


async def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = cm("x") + "   labels: {}\ndata: {}\n"  # line 5 is indented under a scalar
    write_tree(tmp_path, {"dev/ok.yaml": cm("ok"), "dev/bad.yaml": bad})
    with pytest.raises(ManifestParseError) as info:
        await names(tmp_path, path="dev")
    err = info.value
    assert (err.file, err.line, err.document) == ("dev/bad.yaml", 5, 1)
    assert str(err).startswith("dev/bad.yaml:5: document 1: invalid YAML: mapping values")


async def test_document_without_kind_names_file_and_document(tmp_path: Path) -> None:
    write_tree(tmp_path, {"m.yaml": cm("a") + "---\napiVersion: v1\nmetadata:\n  name: b\n"})
    with pytest.raises(ManifestParseError, match=r"^m\.yaml: document 2: not a Kubernetes object"):
        await names(tmp_path)


async def test_yaml_that_is_not_a_manifest_is_skipped_like_argo(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": cm("a"), "settings.yaml": "retries: 3\nowner: team\n"})
    assert await names(tmp_path) == ["a"]


async def test_json_must_be_one_kubernetes_object(tmp_path: Path) -> None:
    write_tree(tmp_path, {"package.json": '{"name": "x",\n "version": "1"}'})
    with pytest.raises(ManifestParseError, match=r"^package\.json: not a Kubernetes object"):
        await names(tmp_path)
    write_tree(tmp_path, {"package.json": '{"apiVersion": "v1",\n "kind": }'})
    with pytest.raises(ManifestParseError, match=r"^package\.json:2: invalid JSON"):
        await names(tmp_path)


async def test_jsonnet_needs_its_tool_unless_excluded(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.yaml": cm("a"), "lib/x.jsonnet": "{}"})
    with pytest.raises(ToolMissing, match="jsonnet is needed"):
        await names(tmp_path, directory={"recurse": True})
    assert await names(tmp_path, directory={"recurse": True, "exclude": "*.jsonnet"}) == ["a"]


async def test_symlinks_inside_the_repo_are_followed(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shared/cm.yaml": cm("shared"), "app/own.yaml": cm("own")})
    os.symlink("../shared/cm.yaml", tmp_path / "app" / "link.yaml")
    os.symlink("../nowhere.yaml", tmp_path / "app" / "dangling.yaml")
    assert await names(tmp_path, path="app") == ["shared", "own"]


async def test_symlinks_out_of_the_repo_are_refused(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"app/own.yaml": cm("own")})
    write_tree(tmp_path / "outside", {"secret.yaml": cm("secret")})
    os.symlink(tmp_path / "outside" / "secret.yaml", repo / "app" / "leak.yaml")
    with pytest.raises(PathError, match=r"app/leak\.yaml: symlink points outside the repository"):
        await names(repo, path="app")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../outside", "leads outside the repository"),
        ("missing/dir", "'missing/dir' does not exist in the repository"),
        ("/etc", "is absolute"),
        ("app/own.yaml", "is not a directory"),
        ("escape", "leads outside the repository"),
    ],
)
async def test_bad_source_paths_are_path_errors(tmp_path: Path, path: str, message: str) -> None:
    repo = write_tree(tmp_path / "repo", {"app/own.yaml": cm("own")})
    write_tree(tmp_path / "outside", {"x.yaml": cm("x")})
    os.symlink(tmp_path / "outside", repo / "escape")
    with pytest.raises(PathError, match=message):
        await names(repo, path=path)


async def test_empty_directory_renders_nothing_without_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert await names(tmp_path, path="empty") == []


def test_detect_follows_argo_precedence(tmp_path: Path) -> None:
    plain = parse_source({"repoURL": "u"})
    write_tree(
        tmp_path,
        {"k/kustomization.yaml": "", "k/Chart.yaml": "", "h/Chart.yaml": "", "d/x.yaml": ""},
    )
    assert detect(tmp_path / "k", plain) == "kustomize"  # kustomization wins over Chart.yaml
    assert detect(tmp_path / "h", plain) == "helm"
    assert detect(tmp_path / "d", plain) == "directory"
    explicit = parse_source({"repoURL": "u", "directory": {"recurse": True}})
    assert detect(tmp_path / "k", explicit) == "directory"  # options choose the renderer
    helm = parse_source({"repoURL": "u", "helm": {"releaseName": "r"}})
    assert detect(tmp_path / "d", helm) == "helm"
