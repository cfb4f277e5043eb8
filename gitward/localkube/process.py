"""Start, inspect and stop the control-plane processes of a local cluster.

Processes are detached into their own session so they outlive the
``gitward localkube up`` command that started them; their pids are recorded in
the cluster's state file. A pid alone is not trusted after a reboot or a long
pause (pids are reused), so liveness also checks that ``/proc/<pid>/exe`` is
the binary we started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import ExitStack, suppress
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct TCP ports on 127.0.0.1 that were free just now.

    All sockets are held open until every port is chosen, so the ports differ
    from each other; another program could still take one before we bind it,
    which a component reports as an address-in-use error in its log.
    """
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def port_in_use(port: int) -> bool:
    """True when something listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def spawn(argv: list[str], log_path: Path, cwd: Path) -> int:
    """Start ``argv`` detached, appending its output to ``log_path``; return its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )
    return proc.pid


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our child, so it does not linger as a zombie."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_running(pid: int, binary: Path) -> bool:
    """True when ``pid`` is alive and is an instance of ``binary``."""
    _reap(pid)
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    return Path(exe.removesuffix(" (deleted)")) == binary.resolve()


def stop(pid: int, binary: Path, grace: float = 10.0) -> None:
    """SIGTERM ``pid``, wait up to ``grace`` seconds, then SIGKILL."""
    if not is_running(pid, binary):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_running(pid, binary):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and is_running(pid, binary):
        time.sleep(0.05)


def kill(pid: int, binary: Path, wait: float = 5.0) -> None:
    """SIGKILL ``pid`` (no grace: a crash) and wait until it is gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and is_running(pid, binary):
        time.sleep(0.02)
