"""Hostile input end to end: a real ``gitward controller`` process keeps working.

Issue 11 found untyped crashes (500s, dead workers, a controller that could not start) from
YAML tags, deep nesting, odd quantities, ``metadata: []`` and URLs like ``http://]``. The
parsers have unit and property tests; this test puts all of it in front of one controller
process with a few workers, against the real cluster and real git, at once:

- Applications whose fields are hostile in ways the API server accepts under the CRD (its
  schema keeps ``spec`` open): a repoURL and a destination server ``http://]``, a
  destination naming a cluster Secret whose server is ``http://]``, inline Helm values with
  ``!!float x`` / ``!!binary`` / ``!!set`` tags, a ``valuesObject`` that is a list, one
  nested 2,000 levels deep (past Python's recursion limit), a ``spec.source`` that is text;
- a repository Secret and a cluster Secret whose URL is ``http://]``;
- a git repository whose manifests hold those tags, ``metadata: []``, JSON nested 50,000
  deep and container quantities ``6e7444370``, ``1E`` and ``1Ei``.

Each hostile app must get a condition that names the field or file at fault — except the
two that Kubernetes itself takes (``!!set`` is a mapping of nulls, and those quantities are
quantities to the API server): they are applied and Synced, as kubectl would apply them.
The controller must keep running with no traceback in its log, and an ordinary app created
afterwards must still be synced and Healthy. It deploys to a registered cluster (the
session cluster once more, by its ``localhost`` address): a hostile cluster Secret beside
it must not make other registered clusters unusable.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE, STDOUT
from typing import Any

import aiohttp

from gitward.cluster import KubeClient, NotFound
from gitward.cluster.kubeconfig import load
from gitward.cluster.secrets import ClusterSpec, TLSClientConfig, build_cluster_secret
from gitward.localkube import Toolchain
from gitward.localkube.process import free_ports
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.controller import API, controller_process
from tests.support.git import GitRepo
from tests.support.poll import eventually

BAD_URL = "http://]"
#: Levels of a valuesObject: past Python's recursion limit, within the API server's 10,000.
DEEP_VALUES = 2_000

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: hostile\nversion: 0.1.0\n",
    "chart/values.yaml": "greeting: hello\n",
    "chart/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    ),
}

HUGE_QUANTITY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: huge}
spec:
  selector: {matchLabels: {app: huge}}
  template:
    metadata: {labels: {app: huge}}
    spec:
      containers:
        - name: main
          image: registry.invalid/huge:1
          resources:
            requests: {cpu: "6e7444370", memory: 1E}
            limits: {cpu: "6e7444370", memory: 1Ei}
"""

FILES = {
    "ok/cm.yaml": yaml_docs(configmap("ordinary")),
    "float/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: f}\ndata: {x: !!float x}\n",
    "binary/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {x: !!binary aGVsbG8=}\n"
    ),
    "set/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: !!set {a, b}\n",
    "meta/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: []\ndata: {x: y}\n",
    "deep/deep.json": "[" * 50_000 + "]" * 50_000,
    "quantity/deploy.yaml": HUGE_QUANTITY,
    **CHART,
}


@dataclass(frozen=True)
class Hostile:
    """One hostile Application and what its status must say."""

    name: str
    spec: dict[str, Any]
    condition: tuple[str, ...]  # acceptable condition types; none: valid after all, Synced
    names: tuple[str, ...]  # the condition's message must contain each (or live objects)


#: Stands for the deep valuesObject until the Application is written as JSON text (no
#: Python JSON encoder takes 2,000 levels; kubectl sends the text as it is).
NESTED = "<nested>"


def application_json(name: str, spec: dict[str, Any]) -> str:
    obj = {"apiVersion": API, "kind": "Application", "metadata": {"name": name}, "spec": spec}
    deep = '{"a":' * DEEP_VALUES + '{"leaf":true}' + "}" * DEEP_VALUES
    return json.dumps(obj).replace(json.dumps(NESTED), deep)


def _spec(url: str, path: str, ns: str, **source: Any) -> dict[str, Any]:
    return {
        "source": {"repoURL": url, "path": path, "targetRevision": "main", **source},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }


def hostile_apps(url: str, ns: str, cluster_secret: str) -> list[Hostile]:
    def spec(path: str, **source: Any) -> dict[str, Any]:
        return _spec(url, path, ns, **source)

    to_bad_server = spec("ok")
    to_bad_server["destination"] = {"server": BAD_URL, "namespace": ns}
    to_bad_cluster = spec("ok")
    to_bad_cluster["destination"] = {"name": cluster_secret, "namespace": ns}
    source_text = spec("ok")
    source_text["source"] = f"repoURL: {url}"
    invalid = ("InvalidSpecError",)
    compare = ("ComparisonError",)
    tags = "a: !!float x\nb: !!binary aGVsbG8=\nc: !!set {x, y}\n"
    return [
        Hostile("h-repourl", _spec(BAD_URL, "ok", ns), invalid, ("spec.source.repoURL",)),
        # the spec is valid; the cluster it names is registered by an invalid Secret
        Hostile("h-dest-server", to_bad_server, compare, ("spec.destination", BAD_URL)),
        Hostile("h-dest-cluster", to_bad_cluster, compare, (cluster_secret, "server")),
        Hostile("h-source-text", source_text, invalid, ("spec.source",)),
        Hostile(
            "h-values-tags",
            spec("chart", helm={"values": tags}),
            compare,
            ("spec.source.helm.values",),
        ),
        Hostile(
            "h-values-list",
            spec("chart", helm={"valuesObject": [1, {"a": None}]}),
            invalid,
            ("spec.source.helm.valuesObject",),
        ),
        Hostile(
            "h-values-deep",
            spec("chart", helm={"valuesObject": NESTED}),
            invalid,
            ("spec.source.helm.valuesObject", "nested more than"),
        ),
        Hostile("h-float", spec("float"), compare, ("float/cm.yaml",)),
        Hostile("h-binary", spec("binary"), compare, ("binary/cm.yaml",)),
        # YAML's !!set is a mapping with null values: kubectl applies it (data {a: "", b: ""})
        Hostile("h-set", spec("set"), (), ("ConfigMap/s",)),
        Hostile("h-meta", spec("meta"), compare, ("meta/cm.yaml", "metadata")),
        Hostile("h-deep-json", spec("deep"), compare, ("deep/deep.json",)),
        # 6e7444370, 1E and 1Ei are quantities to the API server: the Deployment is applied
        Hostile("h-quantity", spec("quantity"), (), ("Deployment/huge",)),
    ]


def secret(name: str, kind: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": kind},
        },
        "stringData": data,
    }


def registered_again(kubeconfig: Path, name: str) -> dict[str, Any]:
    """A cluster Secret for the session cluster at ``https://localhost:PORT`` (its serving
    certificate names localhost), with the kubeconfig's credentials."""
    creds = load(str(kubeconfig))
    port = creds.server.rstrip("/").rsplit(":", 1)[1]

    def b64(data: bytes | None) -> str:
        return base64.b64encode(data).decode() if data else ""

    tls = TLSClientConfig(
        ca_data=b64(creds.ca_data), cert_data=b64(creds.cert_data), key_data=b64(creds.key_data)
    )
    spec = ClusterSpec(
        server=f"https://localhost:{port}", name=name, bearer_token=creds.token or "", tls=tls
    )
    return build_cluster_secret(spec, "argocd", name)


def conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list((obj.get("status") or {}).get("conditions") or [])


def sync_and_health(obj: dict[str, Any]) -> tuple[str, str]:
    status = obj.get("status") or {}
    sync = (status.get("sync") or {}).get("status", "")
    return sync, (status.get("health") or {}).get("status", "")


def settled(h: Hostile, obj: dict[str, Any]) -> bool:
    """A condition of the expected type; for input that is valid after all, Synced."""
    if h.condition:
        return any(c.get("type") in h.condition for c in conditions(obj))
    return sync_and_health(obj)[0] == "Synced"


def summary(obj: dict[str, Any]) -> str:
    sync, health = sync_and_health(obj)
    found = [f"{c.get('type')}: {str(c.get('message'))[:200]}" for c in conditions(obj)]
    return f"{sync}/{health} {found}"


def tail(log: Path, lines: int = 30) -> str:
    """The last log lines, each cut short (a traceback stays readable)."""
    return "\n".join(line[:1500] for line in log.read_text().splitlines()[-lines:])


async def test_hostile_apps_and_secrets_leave_the_controller_working(
    installed: KubeClient,
    kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    git_repo: Callable[[str], GitRepo],
    toolchain: Toolchain,
) -> None:
    kube = installed
    repo = git_repo("hostile")
    repo.commit(FILES, "hostile manifests beside an ordinary one")
    suffix = unique("x").removeprefix("x-")
    repo_secret, cluster_secret = f"hostile-repo-{suffix}", f"hostile-cluster-{suffix}"
    good_cluster = f"ordinary-cluster-{suffix}"
    hostile = hostile_apps(repo.url, namespace, cluster_secret)
    hostile = [Hostile(f"{h.name}-{suffix}", h.spec, h.condition, h.names) for h in hostile]
    ordinary = f"ordinary-{suffix}"
    port = free_ports(1)[0]
    log = tmp_path / "controller.log"
    names = [h.name for h in hostile] + [ordinary]
    try:
        await kube.apply(
            secret(repo_secret, "repository", {"url": BAD_URL, "username": "u", "password": "p"})
        )
        await kube.apply(
            secret(cluster_secret, "cluster", {"name": cluster_secret, "server": BAD_URL})
        )
        await kube.apply(registered_again(kubeconfig, good_cluster))
        kubectl = [str(toolchain.binary("kubectl")), "--kubeconfig", str(kubeconfig)]
        for h in hostile:
            created = await asyncio.create_subprocess_exec(
                *kubectl,
                "--namespace",
                "argocd",
                "create",
                "-f",
                "-",
                stdin=PIPE,
                stdout=PIPE,
                stderr=STDOUT,
            )
            out, _ = await created.communicate(application_json(h.name, h.spec).encode())
            assert created.returncode == 0, out.decode()
        with controller_process(kubeconfig, log, port, "--workers", "3") as proc:
            started = time.monotonic()

            pending: dict[str, str] = {}

            async def all_settled() -> list[dict[str, Any]] | None:
                objs = [await kube.get(API, "Application", h.name, "argocd") for h in hostile]
                pending.clear()
                for h, obj in zip(hostile, objs, strict=True):
                    if not settled(h, obj):
                        pending[h.name] = summary(obj)
                return None if pending else objs

            try:
                objs = await eventually(all_settled, "every hostile app to get its status", 120)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\nunsettled: {pending}\nlog:\n{tail(log)}") from None
            seen = time.monotonic() - started

            # Seen them all: an ordinary app created now is still synced by the workers.
            spec = _spec(repo.url, "ok", namespace)
            spec["destination"] = {"name": good_cluster, "namespace": namespace}
            await kube.apply(
                {
                    "apiVersion": API,
                    "kind": "Application",
                    "metadata": {"name": ordinary, "namespace": "argocd"},
                    "spec": spec,
                }
            )

            async def synced_healthy() -> dict[str, Any] | None:
                app = await kube.get(API, "Application", ordinary, "argocd")
                return app if sync_and_health(app) == ("Synced", "Healthy") else None

            await eventually(synced_healthy, "the ordinary app to be Synced and Healthy", 90)
            deployed = await kube.get("v1", "ConfigMap", "ordinary", namespace)
            print(f"hostile apps reported in {seen:.1f} s; ordinary synced after")

            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/healthz") as resp,
            ):
                assert resp.status == 200
            assert proc.poll() is None, "the controller process exited"

        assert deployed["data"] == {"k": "ordinary"}
        for h, obj in zip(hostile, objs, strict=True):
            found = conditions(obj)
            if not h.condition:  # valid after all: applied, with no error
                assert not [c for c in found if c.get("type", "").endswith("Error")], found
                listed = {f"{r['kind']}/{r['name']}" for r in obj["status"]["resources"]}
                assert set(h.names) <= listed, f"{h.name}: {h.names} not among {listed}"
                continue
            matching = [c for c in found if c.get("type") in h.condition]
            message = " ".join(str(c.get("message", "")) for c in matching)
            for part in h.names:
                assert part in message, f"{h.name}: {part!r} not named in {message!r}"
        as_set = await kube.get("v1", "ConfigMap", "s", namespace)
        assert as_set["data"] == {"a": "", "b": ""}
        huge = await kube.get("apps/v1", "Deployment", "huge", namespace)
        resources = huge["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert resources == {  # as the server stores them
            "requests": {"cpu": "600e7444368", "memory": "1E"},
            "limits": {"cpu": "600e7444368", "memory": "1Ei"},
        }
        assert "Traceback" not in log.read_text(), f"a traceback in the log:\n{tail(log)}"
    finally:
        for name in names:
            with contextlib.suppress(NotFound):
                await kube.delete(API, "Application", name, "argocd")
        for name in (repo_secret, cluster_secret, good_cluster):
            with contextlib.suppress(NotFound):
                await kube.delete("v1", "Secret", name, "argocd")
