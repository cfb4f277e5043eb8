"""Toolchain pins and cache keys come from the committed Go modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitward.localkube import toolchain as tc

REPO_TOOLS = Path(__file__).resolve().parents[3] / "tools"


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    copy = tmp_path / "tools"
    shutil.copytree(REPO_TOOLS, copy)
    return copy


def test_pinned_versions_are_read_from_go_mod() -> None:
    versions = tc.pinned_versions(REPO_TOOLS)
    assert versions["kubernetes"] == "v1.36.3"
    assert versions["etcd"].startswith("v3.6.")
    assert versions["kwok"] == "v0.8.0"
    assert versions["kustomize"].startswith("v5.")
    assert versions["helm"].startswith("v3.")


def test_every_staging_module_is_replaced_with_its_release() -> None:
    go_mod = (REPO_TOOLS / "kube" / "go.mod").read_text()
    replaced = [line.split()[0] for line in go_mod.splitlines() if "=> k8s.io/" in line]
    assert len(replaced) == 33
    assert all(line.endswith("v0.36.3") for line in go_mod.splitlines() if "=> k8s.io/" in line)


def test_key_changes_when_any_pin_changes(tools: Path) -> None:
    before = tc.toolchain_key(tools)
    assert before.startswith("k8s-v1.36.3-")
    assert tc.toolchain_key(tools) == before
    go_sum = tools / "helm" / "go.sum"
    go_sum.write_text(go_sum.read_text() + "example.com/x v1.0.0 h1:abc=\n")
    assert tc.toolchain_key(tools) != before


def test_find_ignores_an_unfinished_build(tools: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    root = cache / tc.toolchain_key(tools)
    (root / "bin").mkdir(parents=True)
    assert tc.find(tools, cache) is None  # no manifest yet: not trusted
    (root / "manifest.json").write_text('{"versions": {"kubernetes": "v1.36.3"}}')
    found = tc.find(tools, cache)
    assert found is not None
    assert found.versions == {"kubernetes": "v1.36.3"}


def test_missing_go_and_no_cache_is_one_clear_error(
    tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(tc.ToolchainError, match="Go is not installed"):
        tc.ensure(tools, tmp_path / "cache")


def test_missing_require_line_names_the_file(tmp_path: Path) -> None:
    go_mod = tmp_path / "go.mod"
    go_mod.write_text("module x\n\ngo 1.26.0\n")
    with pytest.raises(tc.ToolchainError, match=r"go\.mod: no require line for k8s\.io/kubernetes"):
        tc.module_version(go_mod, "k8s.io/kubernetes")


def test_version_ldflags_stamp_client_and_server() -> None:
    targets = {t.name: t for t in tc.targets(tc.pinned_versions(REPO_TOOLS))}
    flags = " ".join(targets["kube-apiserver"].ldflags)
    assert "k8s.io/component-base/version.gitVersion=v1.36.3" in flags
    assert "k8s.io/client-go/pkg/version.gitMinor=36" in flags
    assert set(targets) == {
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "etcd",
        "kwok",
        "kustomize",
        "helm",
    }
