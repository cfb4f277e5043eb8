"""What every benchmark shares: a local cluster, git repos, many Applications, results
files, tables.

Every figure is written beside the baseline measured in the same run, because
the machine is shared and noisy: ratios travel between runs, seconds do not.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import gitward
from gitward import localkube
from gitward.cluster import Conflict, KubeClient
from gitward.source.policy import LOCAL_REPOSITORIES_ENV

RESULTS = Path(__file__).resolve().parent / "results"
QUICK = os.environ.get("GITWARD_BENCH_QUICK") == "1"
#: Benchmark repositories are file:// repositories under the temporary directory.
os.environ.setdefault(LOCAL_REPOSITORIES_ENV, tempfile.gettempdir())

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@gitward.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@gitward.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}

Obj = dict[str, Any]


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


class Repo:
    """A bare repository (what apps point at) and a work tree that pushes to it."""

    def __init__(self, root: Path, name: str) -> None:
        self.bare = root / f"{name}.git"
        self.work = root / name
        self.bare.mkdir(parents=True)
        git("init", "-q", "--bare", "--initial-branch=main", str(self.bare), cwd=root)
        git("clone", "-q", str(self.bare), str(self.work), cwd=root)
        git("checkout", "-q", "-B", "main", cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def push(self, files: dict[str, str], message: str = "change") -> str:
        """Write ``files``, commit, push to the bare repository; the new commit's SHA."""
        for rel, text in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "-qm", message, cwd=self.work)
        git("push", "-q", "origin", "main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def cluster(name: str, fresh: bool = False, nodes: int = 3) -> localkube.LocalCluster:
    """A local control plane for benchmarks (re-created when ``fresh``)."""
    toolchain = localkube.ensure()
    found = localkube.LocalCluster(name)
    if fresh:
        found.down()
    found.up(toolchain, nodes=nodes)
    return found


def compile_bytecode() -> None:
    """Write gitward's ``.pyc`` files before a process is timed from its start.

    The image compiles them at build time (``UV_COMPILE_BYTECODE=1``). An editable
    install used with ``PYTHONDONTWRITEBYTECODE=1`` set, as on the machine that ran
    the figures in docs/performance.md, has none, and every start compiles every
    module again: 1.1 s of the 2.2 s ``gitward controller`` took to start there,
    counted in the time to the first app.
    """
    compileall.compile_dir(Path(gitward.__file__).parent, quiet=1)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far (from ``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def control_plane_cpu(local: localkube.LocalCluster) -> dict[str, float]:
    """CPU seconds used so far by each control-plane component of ``local``.

    Two readings around a phase say what that phase cost the API server and etcd,
    which share the machine's cores with the process measured.
    """
    return {
        s.name: process_cpu_seconds(s.pid)
        for s in local.status()
        if s.pid is not None and s.running
    }


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per component between two :func:`control_plane_cpu` readings."""
    return {name: round(after[name] - before.get(name, 0.0), 1) for name in sorted(after)}


def release(local: localkube.LocalCluster) -> None:
    """Stop a benchmark cluster so the next scenario has the machine to itself.

    ``GITWARD_BENCH_KEEP=1`` keeps it for a look afterwards.
    """
    if os.environ.get("GITWARD_BENCH_KEEP") != "1":
        local.down()


async def create_apps(
    kube: KubeClient,
    count: int,
    application: Callable[[int], Obj],
    status: Callable[[int], Obj],
    workers: int = 32,
) -> float:
    """Create Applications ``application(0..count-1)`` and patch each one's status
    subresource with ``status(i)``, as a controller would have written it; the seconds
    it took. An app an earlier run left behind is kept and its status written again.

    ``workers`` requests in flight at once: the benchmarks that serve many apps (API, UI)
    need them in place before they measure, not the time it takes to put them there.
    """
    started = time.monotonic()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            obj = application(i)
            with contextlib.suppress(Conflict):
                await kube.create(obj)
            meta = obj["metadata"]
            await kube.patch(
                obj["apiVersion"], "Application", meta["name"], meta["namespace"], status(i),
                subresource="status",
            )  # fmt: skip

    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.monotonic() - started


def machine() -> Obj:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "quick": QUICK,
    }


def write(scenario: str, figures: Obj, baselines: Obj | None = None) -> Path:
    """``bench/results/<scenario>.json``: machine, versions, figures, baselines."""
    toolchain = localkube.find()
    record = {
        "scenario": scenario,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "versions": toolchain.versions if toolchain else {},
        "figures": figures,
        "baselines": baselines or {},
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{scenario}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    if len(ordered) == 1:
        return ordered[0]
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return cuts[int(q) - 1] if 1 <= q <= 99 else (ordered[0] if q <= 0 else ordered[-1])


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table (numbers right-aligned)."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        cells = [f"{c:.3g}" if isinstance(c, float) else str(c) for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def loadgen(kubeconfig: Path, docs: list[Obj], levels: tuple[int, ...], prefix: str) -> Obj:
    """Run ``gitward-loadgen`` over ``docs`` at ``levels``; its JSON report."""
    binary = localkube.ensure().binary("gitward-loadgen")
    with tempfile.TemporaryDirectory() as tmp:
        objects = Path(tmp) / "objects.json"
        objects.write_text(json.dumps(docs))
        done = subprocess.run(
            [
                str(binary),
                "--kubeconfig", str(kubeconfig),
                "--objects", str(objects),
                "--concurrency", ",".join(str(n) for n in levels),
                "--namespace-prefix", prefix,
            ],
            capture_output=True, text=True, check=False, timeout=3600,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"gitward-loadgen failed: {done.stderr.strip()}")
    report: Obj = json.loads(done.stdout)
    return report
