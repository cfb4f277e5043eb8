"""The command lines of each control-plane component of a local cluster.

Kept apart from process supervision so the flags can be read (and reviewed)
in one place. Everything binds to 127.0.0.1 only; ports come from the
cluster's state so several clusters run side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitward.localkube.pki import Pki
from gitward.localkube.toolchain import Toolchain

#: Start order; ``down`` stops them in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")

#: Room for 65,534 Services: benchmarks create thousands (a /24 ran out at 254).
SERVICE_CIDR = "10.0.0.0/16"
POD_CIDR = "10.244.0.0/16"


@dataclass(frozen=True)
class Ports:
    """Every port one local cluster listens on."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def from_list(cls, ports: list[int]) -> Ports:
        return cls(*ports)

    def as_list(self) -> list[int]:
        return [
            self.etcd_client,
            self.etcd_peer,
            self.apiserver,
            self.controller_manager,
            self.scheduler,
            self.kwok,
        ]


@dataclass(frozen=True)
class Layout:
    """Paths inside one cluster's state directory."""

    root: Path

    @property
    def pki_dir(self) -> Path:
        return self.root / "pki"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"


def command(
    component: str,
    toolchain: Toolchain,
    pki: Pki,
    ports: Ports,
    layout: Layout,
    apiserver_flags: Sequence[str] = (),
) -> list[str]:
    """argv for ``component``; ``apiserver_flags`` are appended to kube-apiserver's."""
    kubeconfig = str(layout.kubeconfig)
    loopback = "127.0.0.1"
    if component == "etcd":
        client = f"http://{loopback}:{ports.etcd_client}"
        peer = f"http://{loopback}:{ports.etcd_peer}"
        return [
            str(toolchain.binary("etcd")),
            "--name=localkube",
            f"--data-dir={layout.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=localkube={peer}",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=8589934592",
            "--log-level=warn",
        ]
    if component == "kube-apiserver":
        return [
            str(toolchain.binary("kube-apiserver")),
            f"--etcd-servers=http://{loopback}:{ports.etcd_client}",
            f"--bind-address={loopback}",
            f"--advertise-address={loopback}",
            f"--secure-port={ports.apiserver}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            # Tests create many objects quickly; flow control must not throttle them.
            "--max-requests-inflight=1600",
            "--max-mutating-requests-inflight=800",
            "--enable-priority-and-fairness=false",
            "--v=0",
            *apiserver_flags,
        ]
    if component == "kube-controller-manager":
        return [
            str(toolchain.binary("kube-controller-manager")),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={loopback}",
            f"--secure-port={ports.controller_manager}",
            "--leader-elect=false",
            "--controllers=*",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            f"--cluster-signing-cert-file={pki.ca_cert}",
            f"--cluster-signing-key-file={pki.ca_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--kube-api-qps=500",
            "--kube-api-burst=1000",
            "--concurrent-deployment-syncs=10",
            "--concurrent-replicaset-syncs=10",
            "--v=0",
        ]
    if component == "kube-scheduler":
        return [
            str(toolchain.binary("kube-scheduler")),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={loopback}",
            f"--secure-port={ports.scheduler}",
            "--leader-elect=false",
            "--v=0",
        ]
    if component == "kwok":
        return [
            str(toolchain.binary("kwok")),
            f"--kubeconfig={kubeconfig}",
            f"--config={toolchain.stages_file}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={POD_CIDR}",
            f"--node-ip={loopback}",
            "--node-lease-duration-seconds=40",
            f"--server-address={loopback}:{ports.kwok}",
        ]
    raise ValueError(f"unknown component {component!r}")
