"""Component command lines bind to loopback and use the cluster's own ports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitward.localkube.components import COMPONENTS, Layout, Ports, command
from gitward.localkube.pki import Pki
from gitward.localkube.process import free_ports
from gitward.localkube.toolchain import Toolchain


@pytest.fixture
def fake_toolchain(tmp_path: Path) -> Toolchain:
    root = tmp_path / "tc"
    (root / "bin").mkdir(parents=True)
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
        (root / "bin" / name).write_text("")
    (root / "manifest.json").write_text(json.dumps({"versions": {}}))
    return Toolchain(root)


def test_every_component_listens_on_loopback_only(
    fake_toolchain: Toolchain, tmp_path: Path
) -> None:
    ports = Ports.from_list(free_ports(6))
    layout = Layout(tmp_path / "state")
    for name in COMPONENTS:
        argv = command(name, fake_toolchain, Pki(tmp_path / "pki"), ports, layout)
        joined = " ".join(argv)
        assert not re.search(r"(=|//)(0\.0\.0\.0|\[::\])", joined), name
        assert "127.0.0.1" in joined, name


def test_ports_of_a_cluster_are_distinct() -> None:
    ports = free_ports(12)
    assert len(set(ports)) == 12


def test_apiserver_enforces_rbac_and_tls(fake_toolchain: Toolchain, tmp_path: Path) -> None:
    ports = Ports.from_list(free_ports(6))
    argv = command("kube-apiserver", fake_toolchain, Pki(tmp_path / "pki"), ports, Layout(tmp_path))
    assert "--authorization-mode=Node,RBAC" in argv
    assert f"--secure-port={ports.apiserver}" in argv
    assert any(a.startswith("--client-ca-file=") for a in argv)
    assert any(a.startswith("--service-account-signing-key-file=") for a in argv)


def test_extra_apiserver_flags_go_to_the_apiserver_only(
    fake_toolchain: Toolchain, tmp_path: Path
) -> None:
    ports = Ports.from_list([1, 2, 3, 4, 5, 6])
    flags = ("--watch-cache-sizes=configmaps#0",)
    pki, layout = Pki(tmp_path / "pki"), Layout(tmp_path)
    argv = command("kube-apiserver", fake_toolchain, pki, ports, layout, flags)
    assert argv[-1] == "--watch-cache-sizes=configmaps#0"
    for name in ("etcd", "kube-controller-manager", "kube-scheduler", "kwok"):
        assert flags[0] not in command(name, fake_toolchain, pki, ports, layout, flags)
