"""Start a gitward process the way its pod starts it, on the test machine.

The container's own arguments and environment from the generated manifest; a real
service-account token and the cluster's CA at ``/run/secrets/kubernetes.io/serviceaccount``
(bind-mounted in a private user and mount namespace, so nothing on the host changes);
``KUBERNETES_SERVICE_HOST``/``PORT`` naming the API server; no other environment. What
differs from the pod is only what must: the listen address (a free loopback port), and
``HOME`` and the cache on the test's own directories instead of emptyDir volumes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gitward.localkube import LocalCluster, Toolchain

SA_DIR = "/run/secrets/kubernetes.io/serviceaccount"


def service_account(toolchain: Toolchain, cluster: LocalCluster, name: str, dest: Path) -> Path:
    """A directory laid out as a pod's service-account mount: token, namespace, ca.crt."""
    done = subprocess.run(
        [str(toolchain.binary("kubectl")), "--kubeconfig", str(cluster.kubeconfig), "create",
         "token", name, "-n", "argocd", "--duration", "1h"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "HOME": "/tmp"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    dest.mkdir(parents=True)
    (dest / "token").write_text(done.stdout.strip())
    (dest / "namespace").write_text("argocd")
    shutil.copy(cluster.layout.root / "pki" / "ca.crt", dest / "ca.crt")
    return dest


def pod_argv(
    container: dict[str, Any],
    *,
    cluster: LocalCluster,
    toolchain: Toolchain,
    account: Path,
    scratch: Path,
    listen: str,
    pod_name: str = "",
) -> list[str]:
    """The command line that runs ``container`` as its pod would (see the module doc)."""
    if shutil.which("unshare") is None:
        raise AssertionError("unshare (util-linux) is needed to give a process a pod's layout")
    args = [a.replace("$(POD_NAME)", pod_name) for a in container["args"]]
    args[args.index("--listen") + 1] = listen
    api = urlsplit(cluster.server())
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env |= {"POD_NAME": pod_name} if pod_name else {}
    (scratch / "home").mkdir(parents=True, exist_ok=True)
    env |= {"HOME": str(scratch / "home"), "GITWARD_CACHE": str(scratch / "cache")}
    env |= {"KUBERNETES_SERVICE_HOST": api.hostname or "", "KUBERNETES_SERVICE_PORT": str(api.port)}
    env["PATH"] = f"{toolchain.bin_dir}:/usr/bin:/bin"
    script = (
        f"set -e; mount -t tmpfs tmpfs /run; mkdir -p {SA_DIR}; "
        f'mount --bind {account} {SA_DIR}; exec "$@"'
    )
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "pod",
            "env", "-i", *(f"{k}={v}" for k, v in env.items()),
            sys.executable, "-m", "gitward.cli", *args]  # fmt: skip
