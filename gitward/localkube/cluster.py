"""One named local Kubernetes cluster: bring it up, report on it, tear it down.

``up`` is idempotent: on a cluster whose every component runs it only makes
sure the requested nodes exist and returns the same kubeconfig. A cluster with
a crashed component is restarted on its existing data (etcd keeps its objects),
on the same ports when they are still free.

Readiness means what a test needs, not merely "the process started": the API
server answers ``/readyz``, every fake node reports Ready, and the ``default``
ServiceAccount exists (so Pods are admitted).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitward.localkube import process
from gitward.localkube.api import AdminApi
from gitward.localkube.components import COMPONENTS, Layout, Ports, command
from gitward.localkube.pki import Pki, ensure_pki
from gitward.localkube.toolchain import Toolchain
from gitward.model.errors import GitwardError

FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"


class LocalKubeError(GitwardError):
    """A local control plane failed to start, or is not there."""


def default_state_root() -> Path:
    """``$GITWARD_STATE`` or ``~/.local/state/gitward``, plus ``localkube``."""
    env = os.environ.get("GITWARD_STATE")
    base = Path(env) if env else Path.home() / ".local" / "state" / "gitward"
    return base / "localkube"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    running: bool
    log: Path


def _fake_node(name: str) -> dict[str, Any]:
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {FAKE_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"allocatable": resources, "capacity": resources},
    }


def _node_ready(node: dict[str, Any]) -> bool:
    for cond in node.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


class LocalCluster:
    """A local control plane named ``name`` whose state lives in one directory."""

    def __init__(
        self,
        name: str = "default",
        state_root: Path | None = None,
        log: Callable[[str], None] = lambda _msg: None,
    ) -> None:
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise LocalKubeError(f"invalid cluster name {name!r}: use letters, digits, - and _")
        self.name = name
        self.layout = Layout((state_root or default_state_root()) / name)
        self._log = log

    # -- state -------------------------------------------------------------

    def _read_state(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.layout.state_file.read_text())
        except FileNotFoundError:
            return None
        return data

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.layout.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.layout.state_file)

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    def exists(self) -> bool:
        return self._read_state() is not None

    def status(self) -> list[ComponentStatus]:
        """Each component's pid and whether it runs; empty if never started."""
        state = self._read_state()
        if state is None:
            return []
        result = []
        for name in COMPONENTS:
            entry = state.get("pids", {}).get(name)
            pid = int(entry["pid"]) if entry else None
            running = bool(entry) and process.is_running(int(entry["pid"]), Path(entry["binary"]))
            result.append(ComponentStatus(name, pid, running, self.layout.log(name)))
        return result

    def running(self) -> bool:
        statuses = self.status()
        return bool(statuses) and all(s.running for s in statuses)

    def server(self) -> str:
        state = self._read_state()
        if state is None:
            raise LocalKubeError(f"cluster {self.name!r} does not exist; run: gitward localkube up")
        return f"https://127.0.0.1:{Ports.from_list(state['ports']).apiserver}"

    def api(self) -> AdminApi:
        return AdminApi(self.server(), Pki(self.layout.pki_dir))

    # -- up ----------------------------------------------------------------

    def up(
        self,
        toolchain: Toolchain,
        nodes: int = 3,
        timeout: float = 120.0,
        apiserver_flags: Sequence[str] = (),
    ) -> Path:
        """Start (or finish starting) the cluster; return its kubeconfig path.

        ``apiserver_flags`` are added to kube-apiserver's command line and kept in the
        state file, so a restarted API server gets them too (the chaos suite turns the
        watch cache off for ConfigMaps, so an etcd compaction reaches watchers as 410 Gone).
        """
        if nodes < 0:
            raise LocalKubeError("--nodes must be zero or more")
        started = time.monotonic()
        deadline = started + timeout
        if self.running():
            self._log(f"cluster {self.name!r} is already running")
            self._ensure_nodes(nodes, deadline)
            return self.kubeconfig
        self._stop_all()  # a partly running cluster restarts as a whole
        self.layout.root.mkdir(parents=True, exist_ok=True)
        self.layout.logs.mkdir(exist_ok=True)
        pki = ensure_pki(self.layout.pki_dir)
        ports = self._choose_ports()
        self._write_kubeconfig(pki, ports)
        state: dict[str, Any] = {
            "name": self.name,
            "ports": ports.as_list(),
            "toolchain": str(toolchain.root),
            "apiserver_flags": list(apiserver_flags),
            "pids": {},
        }
        self._write_state(state)
        try:
            for name in COMPONENTS:
                argv = command(name, toolchain, pki, ports, self.layout, apiserver_flags)
                pid = process.spawn(argv, self.layout.log(name), self.layout.root)
                state["pids"][name] = {"pid": pid, "binary": argv[0]}
                self._write_state(state)
                self._wait_component(name, ports, pki, deadline)
            self._ensure_nodes(nodes, deadline)
            self._wait_default_service_account(deadline)
        except BaseException:
            self._stop_all()
            raise
        self._log(f"cluster {self.name!r} up in {time.monotonic() - started:.1f} s")
        return self.kubeconfig

    def _choose_ports(self) -> Ports:
        state = self._read_state()
        if state is not None:
            previous = Ports.from_list(state["ports"])
            if not any(process.port_in_use(p) for p in previous.as_list()):
                return previous
        return Ports.from_list(process.free_ports(len(Ports.__dataclass_fields__)))

    def _write_kubeconfig(self, pki: Pki, ports: Ports) -> None:
        def b64(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        context = f"gitward-{self.name}"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {
                        "server": f"https://127.0.0.1:{ports.apiserver}",
                        "certificate-authority-data": b64(pki.ca_cert),
                    },
                }
            ],
            "users": [
                {
                    "name": f"{context}-admin",
                    "user": {
                        "client-certificate-data": b64(pki.admin_cert),
                        "client-key-data": b64(pki.admin_key),
                    },
                }
            ],
            "contexts": [
                {
                    "name": context,
                    "context": {"cluster": context, "user": f"{context}-admin"},
                }
            ],
            "current-context": context,
        }
        path = self.layout.kubeconfig
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        tmp.chmod(0o600)
        tmp.replace(path)

    def _check_alive(self, name: str) -> None:
        state = self._read_state() or {}
        entry = state.get("pids", {}).get(name)
        if entry and not process.is_running(int(entry["pid"]), Path(entry["binary"])):
            tail = self.layout.log(name).read_text(errors="replace").splitlines()[-15:]
            raise LocalKubeError(
                f"{name} exited during start-up; log: {self.layout.log(name)}\n" + "\n".join(tail)
            )

    def _poll(self, what: str, check: Callable[[], bool], deadline: float, watch: str) -> None:
        delay = 0.05
        while True:
            self._check_alive(watch)
            try:
                if check():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise LocalKubeError(f"timed out waiting for {what}; log: {self.layout.log(watch)}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def _wait_component(self, name: str, ports: Ports, pki: Pki, deadline: float) -> None:
        if name == "etcd":
            self._poll(
                "etcd to listen",
                lambda: process.port_in_use(ports.etcd_client),
                deadline,
                "etcd",
            )
        elif name == "kube-apiserver":
            api = AdminApi(f"https://127.0.0.1:{ports.apiserver}", pki, timeout=2)
            self._poll(
                "kube-apiserver /readyz",
                lambda: api.request("GET", "/readyz")[0] == 200,
                deadline,
                "kube-apiserver",
            )
        else:
            port = {
                "kube-controller-manager": ports.controller_manager,
                "kube-scheduler": ports.scheduler,
                "kwok": ports.kwok,
            }[name]
            self._poll(f"{name} to listen", lambda: process.port_in_use(port), deadline, name)

    def _ensure_nodes(self, count: int, deadline: float) -> None:
        api = self.api()
        status, body = api.request("GET", "/api/v1/nodes")
        if status != 200 or not isinstance(body, dict):
            raise LocalKubeError(f"cannot list nodes: HTTP {status}: {body}")
        existing = {n["metadata"]["name"] for n in body.get("items", [])}
        for i in range(count):
            name = f"kwok-node-{i}"
            if name in existing:
                continue
            status, body = api.request("POST", "/api/v1/nodes", _fake_node(name))
            if status not in (201, 409):
                raise LocalKubeError(f"cannot create node {name}: HTTP {status}: {body}")

        def all_ready() -> bool:
            status, body = api.request("GET", "/api/v1/nodes")
            if status != 200 or not isinstance(body, dict):
                return False
            ready = [n for n in body.get("items", []) if _node_ready(n)]
            return len(ready) >= count

        self._poll(f"{count} Ready nodes", all_ready, deadline, "kwok")

    def _wait_default_service_account(self, deadline: float) -> None:
        api = self.api()
        self._poll(
            "the default ServiceAccount",
            lambda: (
                api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200
            ),
            deadline,
            "kube-controller-manager",
        )

    # -- one component -----------------------------------------------------

    def kill(self, component: str) -> None:
        """SIGKILL one running component, as a crash or an OOM kill would end it.

        The cluster's reliability tests use this to take the API server or etcd away
        mid-work; :meth:`start` brings it back on the same ports and data.
        """
        state = self._read_state()
        entry = (state or {}).get("pids", {}).get(component)
        if component not in COMPONENTS:
            raise LocalKubeError(f"unknown component {component!r}")
        if not entry:
            return
        pid, binary = int(entry["pid"]), Path(entry["binary"])
        if process.is_running(pid, binary):
            process.kill(pid, binary)

    def start(self, component: str, toolchain: Toolchain, timeout: float = 60.0) -> None:
        """Start one stopped component again with the command :meth:`up` gave it.

        Its ports come from the state file, so clients keep their addresses; etcd
        keeps its data directory, so every object survives.
        """
        state = self._read_state()
        if state is None:
            raise LocalKubeError(f"cluster {self.name!r} does not exist; run: gitward localkube up")
        if component not in COMPONENTS:
            raise LocalKubeError(f"unknown component {component!r}")
        entry = state.get("pids", {}).get(component)
        if entry and process.is_running(int(entry["pid"]), Path(entry["binary"])):
            return
        ports = Ports.from_list(state["ports"])
        pki = Pki(self.layout.pki_dir)
        flags = [str(f) for f in state.get("apiserver_flags", [])]
        argv = command(component, toolchain, pki, ports, self.layout, flags)
        pid = process.spawn(argv, self.layout.log(component), self.layout.root)
        state["pids"][component] = {"pid": pid, "binary": argv[0]}
        self._write_state(state)
        self._wait_component(component, ports, pki, time.monotonic() + timeout)

    # -- down --------------------------------------------------------------

    def _stop_all(self) -> None:
        state = self._read_state()
        if state is None:
            return
        for name in reversed(COMPONENTS):
            entry = state.get("pids", {}).get(name)
            if entry:
                process.stop(int(entry["pid"]), Path(entry["binary"]))
        state["pids"] = {}
        self._write_state(state)

    def down(self, delete: bool = True) -> None:
        """Stop every component; with ``delete``, also remove the state directory."""
        state = self._read_state()
        if state is None:
            return
        self._stop_all()
        ports = Ports.from_list(state["ports"])
        deadline = time.monotonic() + 10
        while any(process.port_in_use(p) for p in ports.as_list()):
            if time.monotonic() > deadline:
                busy = [p for p in ports.as_list() if process.port_in_use(p)]
                raise LocalKubeError(f"ports {busy} of cluster {self.name!r} still in use")
            time.sleep(0.1)
        if delete:
            shutil.rmtree(self.layout.root, ignore_errors=True)


def all_clusters(state_root: Path | None = None) -> list[LocalCluster]:
    """Every cluster with a state directory, running or not."""
    root = state_root or default_state_root()
    if not root.is_dir():
        return []
    return [
        LocalCluster(p.name, root) for p in sorted(root.iterdir()) if (p / "state.json").is_file()
    ]
