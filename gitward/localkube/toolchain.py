"""Build the control-plane and rendering binaries from the Go module proxy, once.

No prebuilt binary can be downloaded or committed, so every binary gitward's
tests and demo need is compiled from the wrapper modules under ``tools/`` (one
Go module per upstream project, with ``go.mod`` and ``go.sum`` committed). The
result is cached outside the repository, under a directory named by the
versions and a digest of those module files, so a change of any pin builds a
new toolchain and an unchanged checkout reuses the old one without needing Go.
Each module's binaries are cached on their own too, so adding or re-pinning one
tool compiles that tool only.

A build writes into a temporary directory and renames it into place only when
every binary is there, so an interrupted build never leaves a half toolchain
that later runs would trust.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gitward._util.hashing import digest_of
from gitward.model.errors import ToolError

#: Bumped when the build recipe below changes in a way that alters binaries.
RECIPE_VERSION = "1"

_REQUIRE_LINE = re.compile(r"^\s*(?:require\s+)?(?P<path>\S+)\s+(?P<version>v\S+)", re.MULTILINE)


class ToolchainError(ToolError):
    """The toolchain could not be found in the cache nor built."""


@dataclass(frozen=True)
class Target:
    """One binary: which wrapper module builds it, from which Go package."""

    name: str
    module: str
    package: str
    ldflags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Toolchain:
    """A complete set of built binaries in one cache directory."""

    root: Path
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    def binary(self, name: str) -> Path:
        """Path of one built binary; raises if this toolchain lacks it."""
        path = self.bin_dir / name
        if not path.is_file():
            raise ToolchainError(f"toolchain {self.root} has no binary {name!r}")
        return path

    @property
    def stages_file(self) -> Path:
        """kwok stage definitions (node initialise, heartbeat, pod lifecycle)."""
        return self.root / "kwok-stages.yaml"


def default_tools_dir() -> Path:
    """The ``tools/`` directory of the checkout gitward runs from."""
    env = os.environ.get("GITWARD_TOOLS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "tools"


def default_cache_dir() -> Path:
    """Where toolchains are cached: ``$GITWARD_CACHE`` or ``~/.cache/gitward``."""
    env = os.environ.get("GITWARD_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return (base if env else base / "gitward") / "toolchain"


def module_version(go_mod: Path, module_path: str) -> str:
    """The version ``go_mod`` requires of ``module_path``."""
    for match in _REQUIRE_LINE.finditer(go_mod.read_text()):
        if match["path"] == module_path:
            return match["version"]
    raise ToolchainError(f"{go_mod}: no require line for {module_path}")


def pinned_versions(tools_dir: Path) -> dict[str, str]:
    """Versions of every upstream project, read from the committed go.mod files."""
    kube_mod = tools_dir / "kube" / "go.mod"
    return {
        "kubernetes": module_version(kube_mod, "k8s.io/kubernetes"),
        "etcd": module_version(kube_mod, "go.etcd.io/etcd/server/v3"),
        "kwok": module_version(tools_dir / "kwok" / "go.mod", "sigs.k8s.io/kwok"),
        "kustomize": module_version(
            tools_dir / "kustomize" / "go.mod", "sigs.k8s.io/kustomize/kustomize/v5"
        ),
        "helm": module_version(tools_dir / "helm" / "go.mod", "helm.sh/helm/v3"),
        "sprig": module_version(
            tools_dir / "gotemplate" / "go.mod", "github.com/Masterminds/sprig/v3"
        ),
        "jsonnet": module_version(tools_dir / "jsonnet" / "go.mod", "github.com/google/go-jsonnet"),
        "actionlint": module_version(
            tools_dir / "actionlint" / "go.mod", "github.com/rhysd/actionlint"
        ),
        "registry": module_version(
            tools_dir / "registry" / "go.mod", "github.com/distribution/distribution/v3"
        ),
        "crane": module_version(
            tools_dir / "crane" / "go.mod", "github.com/google/go-containerregistry"
        ),
        "kubeconform": module_version(
            tools_dir / "kubeconform" / "go.mod", "github.com/yannh/kubeconform"
        ),
    }


def _kube_version_ldflags(version: str) -> tuple[str, ...]:
    major, minor = version.lstrip("v").split(".")[:2]
    flags: list[str] = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return tuple(flags)


def targets(versions: dict[str, str]) -> list[Target]:
    """Every binary of the toolchain and how to build it."""
    kube_flags = _kube_version_ldflags(versions["kubernetes"])
    kube = [
        Target(name, "kube", f"k8s.io/kubernetes/cmd/{name}", kube_flags)
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
    ]
    return [
        *kube,
        Target("etcd", "kube", "go.etcd.io/etcd/server/v3"),
        Target(
            "kwok",
            "kwok",
            "sigs.k8s.io/kwok/cmd/kwok",
            (f"-X sigs.k8s.io/kwok/pkg/consts.Version={versions['kwok'].lstrip('v')}",),
        ),
        Target(
            "kustomize",
            "kustomize",
            "sigs.k8s.io/kustomize/kustomize/v5",
            (f"-X sigs.k8s.io/kustomize/api/provenance.version={versions['kustomize']}",),
        ),
        Target(
            "helm",
            "helm",
            "helm.sh/helm/v3/cmd/helm",
            (f"-X helm.sh/helm/v3/internal/version.version={versions['helm']}",),
        ),
        # gitward's own program (tools/gotemplate/main.go): ApplicationSet goTemplate rendering
        # with Go's text/template and Sprig, the engine Argo CD's output comes from.
        Target("gitward-gotemplate", "gotemplate", "gitward.local/tools/gotemplate"),
        # Jsonnet as Argo CD evaluates it (go-jsonnet); run jailed like kustomize and helm.
        Target("jsonnet", "jsonnet", "github.com/google/go-jsonnet/cmd/jsonnet"),
        # A real OCI registry and client for the OCI chart and artifact tests.
        # Test-only: checks the GitHub Actions workflow `gitward init` writes.
        Target("actionlint", "actionlint", "github.com/rhysd/actionlint/cmd/actionlint"),
        # Test-only: a real OCI registry (token auth) and a client that pushes to it.
        Target(
            "registry",
            "registry",
            "github.com/distribution/distribution/v3/cmd/registry",
            (f"-X github.com/distribution/distribution/v3/version.version={versions['registry']}",),
        ),
        Target("crane", "crane", "github.com/google/go-containerregistry/cmd/crane"),
        # Test-only: validates deploy/ against schemas exported from the test API server.
        Target("kubeconform", "kubeconform", "github.com/yannh/kubeconform/cmd/kubeconform"),
        # Bench-only: gitward's own client-go load generator (tools/loadgen/main.go), which
        # measures the API server's server-side-apply ceiling without being the bottleneck.
        Target("gitward-loadgen", "loadgen", "gitward.local/tools/loadgen"),
    ]


def toolchain_key(tools_dir: Path) -> str:
    """Directory name for the toolchain the committed pins describe."""
    versions = pinned_versions(tools_dir)
    files = sorted(tools_dir.glob("*/go.mod")) + sorted(tools_dir.glob("*/go.sum"))
    files += sorted(tools_dir.glob("*/*.go"))  # modules with a program of their own
    if not files:
        raise ToolchainError(f"no Go modules under {tools_dir}")
    digest = digest_of([RECIPE_VERSION, *(f.read_bytes() for f in files)])
    return f"k8s-{versions['kubernetes']}-{digest}"


def find(tools_dir: Path | None = None, cache_dir: Path | None = None) -> Toolchain | None:
    """The cached toolchain for the current pins, or None if it was never built."""
    tools_dir = tools_dir or default_tools_dir()
    root = (cache_dir or default_cache_dir()) / toolchain_key(tools_dir)
    manifest = root / "manifest.json"
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text())
    return Toolchain(root=root, versions=dict(data["versions"]))


def ensure(
    tools_dir: Path | None = None,
    cache_dir: Path | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> Toolchain:
    """Return the cached toolchain, building it first if it is not there."""
    tools_dir = tools_dir or default_tools_dir()
    cache_dir = cache_dir or default_cache_dir()
    found = find(tools_dir, cache_dir)
    if found is not None:
        return found
    return build(tools_dir, cache_dir, log)


def _go_binary() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(
            "Go is not installed and no toolchain is cached: install Go 1.26 or newer "
            "(https://go.dev/doc/install) so gitward can build kube-apiserver, etcd, kwok, "
            "kubectl, kustomize and helm from the Go module proxy"
        )
    return go


def _run_go(go: str, args: list[str], module_dir: Path, log_file: Path) -> None:
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"}
    with log_file.open("ab") as out:
        out.write(f"$ go {' '.join(args)}  (in {module_dir})\n".encode())
        out.flush()
        proc = subprocess.run(
            [go, *args], cwd=module_dir, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if proc.returncode != 0:
        tail = log_file.read_text(errors="replace").splitlines()[-25:]
        raise ToolchainError(
            f"go {args[0]} failed in {module_dir} (exit {proc.returncode}); "
            f"full log: {log_file}\n" + "\n".join(tail)
        )


def _module_dir(go: str, module_dir: Path, module_path: str, log_file: Path) -> Path:
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"}
    proc = subprocess.run(
        [go, "list", "-m", "-f", "{{.Dir}}", module_path],
        cwd=module_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        with log_file.open("a") as out:
            out.write(proc.stderr)
        raise ToolchainError(f"cannot locate module {module_path}: {proc.stderr.strip()}")
    return Path(proc.stdout.strip())


_KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)


def _write_kwok_stages(go: str, tools_dir: Path, out: Path, log_file: Path) -> None:
    """Copy kwok's own stage definitions, which ship in its module, into one file."""
    kwok_dir = _module_dir(go, tools_dir / "kwok", "sigs.k8s.io/kwok", log_file)
    docs = []
    for rel in _KWOK_STAGES:
        path = kwok_dir / "kustomize" / "stage" / rel
        if not path.is_file():
            raise ToolchainError(f"kwok module lacks stage file {rel} (looked in {kwok_dir})")
        docs.append(path.read_text().strip())
    out.write_text("\n---\n".join(docs) + "\n")


def module_key(tools_dir: Path, module: str, group: list[Target]) -> str:
    """Cache directory name of one wrapper module's binaries: its pins and its targets."""
    recipe = json.dumps([[t.name, t.package, list(t.ldflags)] for t in group])
    files = [tools_dir / module / name for name in ("go.mod", "go.sum")]
    files += sorted((tools_dir / module).glob("*.go"))  # gitward's own programs
    contents = [f.read_bytes() for f in files if f.is_file()]
    return f"{module}-{digest_of([RECIPE_VERSION, recipe, *contents], 16)}"


def _publish(staging: Path, final: Path) -> None:
    """Rename ``staging`` to ``final`` unless another process got there first."""
    if final.exists():
        shutil.rmtree(staging)
    else:
        staging.rename(final)


def _build_module(
    go: str,
    tools_dir: Path,
    cache_dir: Path,
    module: str,
    group: list[Target],
    log: Callable[[str], None],
    log_file: Path,
) -> Path:
    """The built binaries of one module, from its own cache entry or compiled now."""
    modules = cache_dir / "modules"
    final = modules / module_key(tools_dir, module, group)
    if (final / "manifest.json").is_file():
        log(f"reusing {module} ({', '.join(t.name for t in group)}) from {final}")
        return final
    modules.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=modules))
    try:
        (staging / "bin").mkdir()
        for target in group:
            log(f"building {target.name} ({target.package})")
            _run_go(
                go,
                [
                    "build",
                    "-trimpath",
                    "-ldflags",
                    " ".join(("-s", "-w", *target.ldflags)),
                    "-o",
                    str(staging / "bin" / target.name),
                    target.package,
                ],
                tools_dir / module,
                log_file,
            )
        if module == "kwok":
            _write_kwok_stages(go, tools_dir, staging / "kwok-stages.yaml", log_file)
        (staging / "manifest.json").write_text(json.dumps({"module": module}) + "\n")
        _publish(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def build(
    tools_dir: Path, cache_dir: Path, log: Callable[[str], None] = lambda _msg: None
) -> Toolchain:
    """Build (or reuse) every module's binaries, then publish the toolchain atomically.

    Each wrapper module is cached on its own (``modules/<module>-<digest>``), so a
    new or re-pinned tool builds only that tool; the toolchain directory itself
    is a ``bin/`` of links into those entries plus the manifest.
    """
    go = _go_binary()
    versions = pinned_versions(tools_dir)
    final = cache_dir / toolchain_key(tools_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    log_file = cache_dir / f"{final.name}.build.log"
    log_file.write_text("")
    started = time.monotonic()
    by_module: dict[str, list[Target]] = {}
    for target in targets(versions):
        by_module.setdefault(target.module, []).append(target)
    built = {
        module: _build_module(go, tools_dir, cache_dir, module, group, log, log_file)
        for module, group in by_module.items()
    }
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=cache_dir))
    try:
        bin_dir = staging / "bin"
        bin_dir.mkdir()
        for module, group in by_module.items():
            for target in group:
                (bin_dir / target.name).symlink_to(built[module] / "bin" / target.name)
        shutil.copyfile(built["kwok"] / "kwok-stages.yaml", staging / "kwok-stages.yaml")
        elapsed = time.monotonic() - started
        manifest = {
            "versions": versions,
            "build_seconds": round(elapsed, 1),
            "modules": {module: path.name for module, path in built.items()},
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _publish(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"toolchain ready in {final} ({time.monotonic() - started:.0f} s)")
    return Toolchain(root=final, versions=versions)
