"""The chaos suite's workload: N automated apps over a few real git repositories, a stream of
pushes, and a monitor that sees what reached the cluster and when.

Each app ``<fleet>-<i>`` deploys two ConfigMaps from ``apps/<app>/`` of its repository:

- ``<app>-state``, whose ``data`` gains one key per push (``p00042: <commit message>``), so
  every pushed change is visible in the cluster — a lost one is a missing key;
- ``<app>-stable``, never changed: it must keep its ``uid`` for the whole run, so a wrong
  prune (delete and re-create) cannot hide.

Pushes go straight into the served repositories on disk (what a developer's push does to
the server); the git server being down or flapping affects only the controller's fetches.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitward.cluster import KubeClient
from gitward.localkube.process import port_in_use
from tests.support.git import GitRepo, git

API = "argoproj.io/v1alpha1"
Obj = dict[str, Any]


class RestartableGitDaemon:
    """``git daemon`` on a fixed port that the harness can stop and start again."""

    def __init__(self, base: Path, port: int) -> None:
        self.base, self.port = base, port
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                f"--base-path={self.base}",
                "--export-all",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # `git daemon` runs `git-daemon` as its child: killing only the wrapper left
            # the server running after the suite, so its whole group is killed.
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not port_in_use(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("git daemon did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait(timeout=10)
        self._proc = None

    @property
    def up(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def url(self, repo: Path) -> str:
        return f"git://127.0.0.1:{self.port}/{repo.relative_to(self.base)}"


def _configmap(name: str, data: dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@dataclass
class Push:
    """One pushed commit: which app it changed, the key it added, when."""

    seq: int
    app: str
    key: str
    sha: str
    at: float
    withdrawn: bool = False  # rewound away by a force-push: Git no longer holds it
    deployed_at: float | None = None


@dataclass
class Fleet:
    """The apps, their repositories and every push made to them."""

    name: str
    home: str
    apps: list[str]
    repos: list[GitRepo]
    daemon: RestartableGitDaemon
    namespaces: list[str]
    pushes: list[Push] = field(default_factory=list)
    stable_uids: dict[str, str] = field(default_factory=dict)
    hidden: dict[int, Path] = field(default_factory=dict)  # deleted repositories, parked
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # -- layout ------------------------------------------------------------------------------

    def repo_of(self, app: str) -> int:
        return self.apps.index(app) % len(self.repos)

    def namespace_of(self, app: str) -> str:
        return self.namespaces[self.apps.index(app) % len(self.namespaces)]

    def application(self, app: str) -> Obj:
        repo = self.repos[self.repo_of(app)]
        return {
            "apiVersion": API,
            "kind": "Application",
            "metadata": {"name": app, "namespace": self.home},
            "spec": {
                "project": "default",
                "source": {
                    "repoURL": self.daemon.url(repo.path),
                    "path": f"apps/{app}",
                    "targetRevision": "main",
                },
                "destination": {
                    "server": "https://kubernetes.default.svc",
                    "namespace": self.namespace_of(app),
                },
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["CreateNamespace=true"],
                },
            },
        }

    @classmethod
    def create(cls, base: Path, name: str, home: str, apps: int, repos: int, port: int) -> Fleet:
        """Write the repositories (one commit each) and start the git daemon."""
        base.mkdir(parents=True, exist_ok=True)
        daemon = RestartableGitDaemon(base, port)
        names = [f"{name}-{i:03d}" for i in range(apps)]
        namespaces = [f"{name}-d{i}" for i in range(min(4, apps))]
        fleet = cls(name, home, names, [], daemon, namespaces)
        for r in range(repos):
            repo = GitRepo(base / f"repo-{r:02d}")
            files: dict[str, str | None] = {}
            for app in names[r::repos]:
                files[f"apps/{app}/state.yaml"] = yaml.safe_dump(
                    _configmap(f"{app}-state", {"created": "yes"})
                )
                files[f"apps/{app}/stable.yaml"] = yaml.safe_dump(
                    _configmap(f"{app}-stable", {"stable": "never changes"})
                )
            repo.commit(files, "initial")
            fleet.repos.append(repo)
        daemon.start()
        return fleet

    # -- pushes ------------------------------------------------------------------------------

    def _push_sync(self, app: str, seq: int) -> Push:
        repo = self.repos[self.repo_of(app)]
        path = repo.path / "apps" / app / "state.yaml"
        doc = yaml.safe_load(path.read_text())
        key = f"p{seq:05d}"
        doc["data"][key] = f"push {seq}"
        path.write_text(yaml.safe_dump(doc))
        git("add", "--all", cwd=repo.path)
        git("commit", "--quiet", "-m", f"{app}: push {seq}", cwd=repo.path)
        return Push(seq, app, key, repo.head(), time.monotonic())

    async def push(self, app: str) -> Push | None:
        """Commit one new key to ``app``'s state ConfigMap (unless its repository is gone)."""
        async with self._lock:
            if self.repo_of(app) in self.hidden:
                return None
            seq = len(self.pushes)
            made = await asyncio.to_thread(self._push_sync, app, seq)
            self.pushes.append(made)
            return made

    async def push_stream(self, stop: asyncio.Event, every: float, rng: random.Random) -> None:
        """Push to a random app every ``every`` seconds until ``stop``."""
        while not stop.is_set():
            await self.push(rng.choice(self.apps))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    # -- repository faults -------------------------------------------------------------------

    async def force_push_back(self, r: int, commits: int) -> int:
        """Move repository ``r``'s ``main`` back ``commits`` commits (a force-push of an older
        commit); the pushes it drops are marked withdrawn. Returns how many were dropped."""
        async with self._lock:
            repo = self.repos[r]
            count = int(git("rev-list", "--count", "HEAD", cwd=repo.path).strip())
            back = min(commits, count - 1)
            if back <= 0:
                return 0
            target = repo.head(f"HEAD~{back}")
            await asyncio.to_thread(git, "reset", "--quiet", "--hard", target, cwd=repo.path)
            kept = set(git("rev-list", "HEAD", cwd=repo.path).split())
            dropped = 0
            for p in self.pushes:
                if self.repo_of(p.app) == r and p.sha not in kept and not p.withdrawn:
                    p.withdrawn = True
                    dropped += 1
            return dropped

    async def delete_repo(self, r: int) -> None:
        """Take repository ``r`` off the server (moved aside, so it can come back)."""
        async with self._lock:
            repo = self.repos[r]
            parked = repo.path.with_name(repo.path.name + ".deleted")
            await asyncio.to_thread(shutil.move, repo.path, parked)
            self.hidden[r] = parked

    async def restore_repo(self, r: int) -> None:
        async with self._lock:
            parked = self.hidden.pop(r)
            await asyncio.to_thread(shutil.move, parked, self.repos[r].path)

    # -- what Git says -----------------------------------------------------------------------

    def heads(self) -> dict[str, str]:
        """The commit each app should be synced to (its repository's ``main``)."""
        per_repo = [r.head("main") for r in self.repos]
        return {a: per_repo[self.repo_of(a)] for a in self.apps}

    def expected_keys(self) -> dict[str, set[str]]:
        """Per app, the push keys its repository's ``main`` holds."""
        keys: dict[str, set[str]] = {a: set() for a in self.apps}
        for p in self.pushes:
            if not p.withdrawn:
                keys[p.app].add(p.key)
        return keys


@dataclass
class Snapshot:
    """What the API server held at one moment."""

    at: float
    apps: dict[str, Obj]
    state: dict[str, dict[str, str]]  # app -> live data of its state ConfigMap
    stable: dict[str, str]  # app -> uid of its stable ConfigMap


async def snapshot(kube: KubeClient, fleet: Fleet) -> Snapshot:
    apps = {a["metadata"]["name"]: a for a in await kube.list(API, "Application", fleet.home)}
    state: dict[str, dict[str, str]] = {}
    stable: dict[str, str] = {}
    for ns in fleet.namespaces:
        for cm in await kube.list("v1", "ConfigMap", ns):
            name = str(cm["metadata"]["name"])
            if name.endswith("-state"):
                state[name.removesuffix("-state")] = dict(cm.get("data") or {})
            elif name.endswith("-stable"):
                stable[name.removesuffix("-stable")] = str(cm["metadata"]["uid"])
    return Snapshot(time.monotonic(), apps, state, stable)


def _status(app: Obj | None) -> Obj:
    return dict((app or {}).get("status") or {})


def converged(fleet: Fleet, snap: Snapshot) -> list[str]:
    """Apps not yet where Git says they should be (empty: the fleet converged)."""
    heads, keys = fleet.heads(), fleet.expected_keys()
    behind = []
    for app in fleet.apps:
        status = _status(snap.apps.get(app))
        sync = status.get("sync") or {}
        live = {k for k in snap.state.get(app, {}) if k.startswith("p")}
        phase = (status.get("operationState") or {}).get("phase")
        if (
            sync.get("status") != "Synced"
            or sync.get("revision") != heads[app]
            or live != keys[app]
            or phase == "Running"
            or app not in snap.stable
        ):
            behind.append(app)
    return behind


def stuck_operations(snap: Snapshot) -> list[str]:
    """Apps whose operation is still running or still requested (with its phase, start and
    holder, for the report)."""
    found = []
    for name, app in snap.apps.items():
        state = _status(app).get("operationState") or {}
        phase = state.get("phase")
        if phase in ("Running", "Terminating") or app.get("operation"):
            info = {
                i.get("name"): i.get("value")
                for i in (app.get("operation") or {}).get("info") or []
            }
            holder = info.get("gitward.io/holder", "?")
            found.append(f"{name} ({phase} since {state.get('startedAt')}, held by {holder})")
    return found


class Monitor:
    """Polls the API server (directly, not through the proxy) and records when each push
    became visible in the cluster and whether a stable object was ever replaced or lost."""

    def __init__(self, kube: KubeClient, fleet: Fleet, rss: Callable[[], dict[str, int]]) -> None:
        self.kube, self.fleet, self._rss = kube, fleet, rss
        self.replaced: dict[str, int] = {}
        self.last: Snapshot | None = None
        self.errors = 0
        self.rss: list[tuple[float, dict[str, int]]] = []
        self.sample_rss = False  # from the fleet's first convergence on: a warm baseline

    def check_stable(self, snap: Snapshot) -> None:
        for app, uid in snap.stable.items():
            first = self.fleet.stable_uids.setdefault(app, uid)
            if first != uid:
                self.replaced[app] = self.replaced.get(app, 0) + 1
                self.fleet.stable_uids[app] = uid

    async def observe(self) -> Snapshot | None:
        try:
            snap = await snapshot(self.kube, self.fleet)
        except Exception:  # the API server is down: that is what the faults do
            self.errors += 1
            return None
        self.last = snap
        self.check_stable(snap)
        for p in self.fleet.pushes:
            if p.deployed_at is None and p.key in snap.state.get(p.app, {}):
                p.deployed_at = snap.at
        if self.sample_rss:
            self.rss.append((snap.at, self._rss()))
        return snap

    async def run(self, stop: asyncio.Event, every: float = 1.0) -> None:
        while not stop.is_set():
            await self.observe()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
