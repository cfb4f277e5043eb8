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
        "gitward-gotemplate",
        "jsonnet",
        "actionlint",
        "registry",
        "crane",
        "kubeconform",
        "gitward-loadgen",
    }


FAKE_GO = """#!/bin/sh
# Records each call; `build -o OUT` writes a stub, `list -m` points at fake kwok sources.
echo "$*" >> "$FAKE_GO_LOG"
if [ "$1" = build ]; then
  while [ $# -gt 0 ]; do [ "$1" = -o ] && { shift; printf 'stub' > "$1"; }; shift; done
elif [ "$1" = list ]; then
  echo "$FAKE_KWOK_DIR"
fi
"""


def test_each_module_is_built_once_and_reused(
    tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-pinned module rebuilds alone; the others come from their own cache entries.

    The go here only records calls and writes stubs: what is tested is which builds run.
    """
    bindir = tmp_path / "bin"
    bindir.mkdir()
    go = bindir / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    kwok = tmp_path / "kwok-src"
    for rel in tc._KWOK_STAGES:
        (kwok / "kustomize" / "stage" / rel).parent.mkdir(parents=True, exist_ok=True)
        (kwok / "kustomize" / "stage" / rel).write_text(f"kind: Stage # {rel}\n")
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_GO_LOG", str(calls))
    monkeypatch.setenv("FAKE_KWOK_DIR", str(kwok))
    cache = tmp_path / "cache"

    first = tc.ensure(tools, cache)
    builds = [c for c in calls.read_text().splitlines() if c.startswith("build")]
    assert len(builds) == len(tc.targets(tc.pinned_versions(tools)))
    assert first.binary("kube-apiserver").read_text() == "stub"
    assert "kind: Stage" in first.stages_file.read_text()

    calls.write_text("")
    go_sum = tools / "helm" / "go.sum"
    go_sum.write_text(go_sum.read_text() + "example.com/x v1.0.0 h1:abc=\n")
    second = tc.ensure(tools, cache)
    assert second.root != first.root
    builds = [c for c in calls.read_text().splitlines() if c.startswith("build")]
    assert builds == [next(b for b in builds if b.endswith("helm.sh/helm/v3/cmd/helm"))]
    assert second.binary("kubectl").resolve() == first.binary("kubectl").resolve()


def test_a_change_to_gitwards_own_go_program_rebuilds_it_alone(
    tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tools/gotemplate holds a main.go of gitward's own: editing it must rebuild it."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    go = bindir / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    kwok = tmp_path / "kwok-src"
    for rel in tc._KWOK_STAGES:
        (kwok / "kustomize" / "stage" / rel).parent.mkdir(parents=True, exist_ok=True)
        (kwok / "kustomize" / "stage" / rel).write_text(f"kind: Stage # {rel}\n")
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_GO_LOG", str(calls))
    monkeypatch.setenv("FAKE_KWOK_DIR", str(kwok))
    cache = tmp_path / "cache"
    first = tc.ensure(tools, cache)
    calls.write_text("")
    main = tools / "gotemplate" / "main.go"
    main.write_text(main.read_text() + "\n// changed\n")
    second = tc.ensure(tools, cache)
    assert second.root != first.root
    builds = [c for c in calls.read_text().splitlines() if c.startswith("build")]
    assert len(builds) == 1
    assert builds[0].endswith("gitward.local/tools/gotemplate")
