"""``gitward controller`` replicas as real processes the harness can SIGKILL and restart.

Each replica runs as a Pod would run it in a StatefulSet: a stable ``--replica-id``, the
same ``--shards`` on every replica, and its repository cache (``GITWARD_REPO_CACHE``) on a
filesystem of its own with a fixed size — a tmpfs mounted in a private mount namespace made
with ``unshare --user --map-root-user --mount`` (no root needed), so "disk full" is a real
ENOSPC from the kernel, like an ``emptyDir`` with a ``sizeLimit`` on a full node. The
harness reaches that filesystem through ``/proc/<pid>/root``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Where the cache tmpfs is mounted inside each replica's mount namespace.
CACHE_MOUNT = Path("/tmp/gitward-chaos-cache")


def private_tmpfs_available() -> bool:
    """True when an unprivileged user can mount a tmpfs in a namespace of its own here."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
         "mount -t tmpfs -o size=1m tmpfs /mnt && test -w /mnt"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    return probe.returncode == 0


@dataclass
class Replica:
    """One controller replica and every process it has been so far."""

    replica_id: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    lifetimes: list[tuple[int, float]] = field(default_factory=list)  # (pid, started at)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def cache_root(self) -> Path | None:
        """The replica's cache filesystem, seen from outside its mount namespace."""
        pid = self.pid
        return Path(f"/proc/{pid}/root{CACHE_MOUNT}") if pid else None

    def rss_kib(self) -> int:
        pid = self.pid
        if pid is None:
            return 0
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


class Replicas:
    """Start, SIGKILL and restart the controller replicas of one chaos run."""

    def __init__(
        self,
        kubeconfig: Path,
        home: str,
        logs: Path,
        count: int,
        shards: int,
        cache_mib: int,
        lease: float,
        workers: int,
    ) -> None:
        self.kubeconfig, self.home, self.logs = kubeconfig, home, logs
        self.shards, self.cache_mib, self.lease, self.workers = shards, cache_mib, lease, workers
        logs.mkdir(parents=True, exist_ok=True)
        self.replicas = [Replica(f"chaos-{i}", logs / f"chaos-{i}.log") for i in range(count)]

    def argv(self, replica: Replica) -> list[str]:
        mount = f"mount -t tmpfs -o size={self.cache_mib}m tmpfs {CACHE_MOUNT}"
        shell = f'mkdir -p {CACHE_MOUNT} && {mount} && exec "$@"'
        return [
            "unshare", "--user", "--map-root-user", "--mount", "sh", "-c", shell, "sh",
            sys.executable, "-m", "gitward.cli",
            "--kubeconfig", str(self.kubeconfig),
            "--namespace", self.home,
            "controller",
            "--listen", "127.0.0.1:0",
            "--replica-id", replica.replica_id,
            "--shards", str(self.shards),
            "--lease-duration", str(self.lease),
            "--workers", str(self.workers),
            "--no-notifications", "--no-dora", "--no-image-updates", "--no-appsets",
            "--log-format", "json",
        ]  # fmt: skip

    def start(self, replica: Replica) -> None:
        env = {**os.environ, "GITWARD_REPO_CACHE": str(CACHE_MOUNT)}
        with replica.log.open("ab") as sink:
            replica.proc = subprocess.Popen(
                self.argv(replica),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        replica.starts += 1
        replica.lifetimes.append((replica.proc.pid, time.monotonic()))

    def start_all(self) -> None:
        for r in self.replicas:
            self.start(r)

    def kill(self, replica: Replica) -> None:
        """SIGKILL: no shutdown, no Lease released, an operation possibly half done."""
        if replica.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            replica.proc.send_signal(signal.SIGKILL)
        replica.proc.wait(timeout=30)
        replica.kills += 1

    def alive(self) -> list[str]:
        """Problems: replicas that exited on their own (a crash the harness did not cause)."""
        dead = []
        for r in self.replicas:
            if r.proc is not None and r.proc.poll() is not None:
                dead.append(f"{r.replica_id} exited with {r.proc.returncode}; log {r.log}")
        return dead

    def rss(self) -> dict[str, int]:
        return {f"{r.replica_id}/{r.pid}": r.rss_kib() for r in self.replicas if r.pid}

    def stop_all(self) -> None:
        for r in self.replicas:
            if r.proc is not None and r.proc.poll() is None:
                r.proc.terminate()
                try:
                    r.proc.wait(timeout=45)
                except subprocess.TimeoutExpired:
                    r.proc.kill()
                    r.proc.wait(timeout=10)
