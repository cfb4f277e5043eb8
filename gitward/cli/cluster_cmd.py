"""``gitward cluster``: the clusters gitward deploys to, registered the way Argo CD registers them.

A cluster is a Secret labelled ``argocd.argoproj.io/secret-type: cluster`` in
gitward's namespace of the *management* cluster (the one ``--kubeconfig`` /
``--kube-context`` point at). ``cluster add CONTEXT`` does what ``argocd cluster
add`` does: in the *target* cluster (kubeconfig context CONTEXT) it creates the
``argocd-manager`` ServiceAccount with a cluster-admin-like ClusterRole and a
long-lived token Secret, waits for Kubernetes' token controller to fill the
token in, and stores server, CA and that token. gitward never stores the
kubeconfig user's own credentials: removing the ServiceAccount revokes access.

``https://kubernetes.default.svc`` is the cluster gitward itself runs in; it is
listed as ``in-cluster`` even without a Secret. Run from a workstation, the CLI
reaches it through the management cluster's kubeconfig. Tokens are never printed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import typer
from rich.markup import escape

from gitward.cli import context
from gitward.cli.console import err, out
from gitward.cli.output import check_output, print_object, print_table
from gitward.cluster import (
    IN_CLUSTER_SERVER,
    ClusterSpec,
    KubeClient,
    NotFound,
    build_cluster_secret,
    client_for_cluster,
    describe,
    parse_cluster_secret,
)
from gitward.cluster.errors import ClusterError
from gitward.cluster.secrets import (
    CLUSTER_SECRET_TYPE,
    SECRET_TYPE_LABEL,
    spec_from_kubeconfig,
)
from gitward.model.destination import IN_CLUSTER_NAME
from gitward.model.errors import ConfigError, GitwardError
from gitward.sync.status import now

Obj = dict[str, Any]

app = typer.Typer(
    help="Manage clusters gitward deploys to (Argo CD cluster Secrets).", no_args_is_help=True
)

MANAGER_ACCOUNT = "argocd-manager"
MANAGER_ROLE = "argocd-manager-role"
MANAGER_ROLE_BINDING = "argocd-manager-role-binding"
MANAGER_TOKEN_SECRET = "argocd-manager-long-lived-token"  # noqa: S105 - a Secret's name

#: Seconds a connection test (``GET /version``) may take in ``list`` and ``get``.
_TEST_TIMEOUT = 10.0


# -- the manager account in the target cluster ------------------------------------------------


def manager_objects(system_namespace: str) -> list[Obj]:
    """ServiceAccount, ClusterRole, ClusterRoleBinding and token Secret, as Argo CD makes them.

    The token Secret is the pre-1.24 style ``kubernetes.io/service-account-token``:
    a token that does not expire, which is what a stored cluster credential needs
    (TokenRequest tokens expire within hours).
    """
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": MANAGER_ACCOUNT, "namespace": system_namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": MANAGER_ROLE},
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": MANAGER_ROLE_BINDING},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": MANAGER_ROLE,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": MANAGER_ACCOUNT, "namespace": system_namespace}
            ],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": MANAGER_TOKEN_SECRET,
                "namespace": system_namespace,
                "annotations": {"kubernetes.io/service-account.name": MANAGER_ACCOUNT},
            },
        },
    ]


async def install_manager(client: KubeClient, system_namespace: str, timeout: float) -> str:
    """Create (or keep) the manager account in the target cluster; return its token."""
    for obj in manager_objects(system_namespace):
        await client.apply(obj, force=True)
        err.print(f"{escape(describe(obj))} applied in {escape(client.server)}")
    return await _wait_for_token(client, system_namespace, timeout)


async def _wait_for_token(client: KubeClient, namespace: str, timeout: float) -> str:
    """Poll until the token controller has written ``data.token`` (it has no watchable signal
    of its own short of a watch, and this takes well under a second on a healthy cluster)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        secret = await client.get("v1", "Secret", MANAGER_TOKEN_SECRET, namespace)
        token = (secret.get("data") or {}).get("token")
        if token:
            try:
                return base64.b64decode(token, validate=True).decode().strip()
            except (binascii.Error, UnicodeDecodeError):
                raise ClusterError(
                    f"Secret {namespace}/{MANAGER_TOKEN_SECRET}: data.token: not valid base64"
                ) from None
        if time.monotonic() >= deadline:
            raise ClusterError(
                f"Secret {namespace}/{MANAGER_TOKEN_SECRET}: no token after {timeout:g}s; "
                "is kube-controller-manager running with --service-account-private-key-file?"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


# -- reading the registered clusters ----------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    """A cluster Secret (or the implicit in-cluster entry), parsed or with its parse error."""

    spec: ClusterSpec
    secret: Obj | None = None
    problem: str = ""


@dataclass(frozen=True)
class ConnectionState:
    status: str  # Successful or Failed
    message: str
    version: str
    attempted_at: str


async def _registered(client: KubeClient, namespace: str) -> list[Registered]:
    secrets = await client.list(
        "v1", "Secret", namespace, f"{SECRET_TYPE_LABEL}={CLUSTER_SECRET_TYPE}"
    )
    found: list[Registered] = []
    for secret in secrets:
        try:
            found.append(Registered(parse_cluster_secret(secret), secret))
        except GitwardError as exc:  # one bad Secret must not hide the others
            meta = secret.get("metadata") or {}
            spec = ClusterSpec(server=f"<{meta.get('name')}>", secret_name=str(meta.get("name")))
            found.append(Registered(spec, secret, str(exc)))
    if not any(r.spec.server == IN_CLUSTER_SERVER for r in found):
        found.append(Registered(ClusterSpec(IN_CLUSTER_SERVER, name=IN_CLUSTER_NAME)))
    return sorted(found, key=lambda r: (r.spec.server != IN_CLUSTER_SERVER, r.spec.server))


def _find(registered: Sequence[Registered], ident: str, namespace: str) -> Registered:
    """By server URL first (trailing slash ignored), else by name."""
    by_server = [r for r in registered if r.spec.server == ident.rstrip("/")]
    found = by_server or [r for r in registered if r.spec.display_name == ident]
    if not found:
        raise ConfigError(f"cluster {ident!r} not found in namespace {namespace!r}")
    if len(found) > 1:
        servers = ", ".join(r.spec.server for r in found)
        raise ConfigError(f"cluster name {ident!r} is ambiguous ({servers}): give the server URL")
    return found[0]


async def check_connection(entry: Registered, management: KubeClient) -> ConnectionState:
    """``GET /version`` with the stored credentials: a wrong token answers 401."""
    if entry.problem:
        return ConnectionState("Failed", entry.problem, "", now())
    try:
        if entry.spec.server == IN_CLUSTER_SERVER:
            info = await management.get_path("/version")  # where gitward runs, seen from here
        else:
            async with await client_for_cluster(entry.spec, timeout=_TEST_TIMEOUT) as client:
                info = await client.get_path("/version")
    except GitwardError as exc:
        return ConnectionState("Failed", str(exc), "", now())
    version = f"{info.get('major', '')}.{str(info.get('minor', '')).rstrip('+')}".strip(".")
    return ConnectionState("Successful", "", version, now())


async def _check_all(
    entries: Sequence[Registered], management: KubeClient
) -> list[ConnectionState]:
    return list(await asyncio.gather(*(check_connection(e, management) for e in entries)))


# -- output -------------------------------------------------------------------------------------


def cluster_view(entry: Registered, state: ConnectionState) -> Obj:
    """What ``-o json|yaml`` shows: Argo CD's Cluster fields, credentials as booleans."""
    spec = entry.spec
    return {
        "server": spec.server,
        "name": spec.display_name,
        "project": spec.project,
        "namespaces": list(spec.namespaces),
        "config": {
            "hasBearerToken": bool(spec.bearer_token),
            "tlsClientConfig": {
                "insecure": spec.tls.insecure,
                "serverName": spec.tls.server_name,
                "hasCaData": bool(spec.tls.ca_data),
                "hasCertData": bool(spec.tls.cert_data),
                "hasKeyData": bool(spec.tls.key_data),
            },
        },
        "serverVersion": state.version,
        "connectionState": {
            "status": state.status,
            "message": state.message,
            "attemptedAt": state.attempted_at,
        },
        "secretName": spec.secret_name,
    }


def print_cluster_table(views: Sequence[Obj]) -> None:
    """Argo CD's ``cluster list`` columns."""
    rows = [
        [
            view["server"],
            view["name"],
            view["serverVersion"],
            view["connectionState"]["status"],
            " ".join(view["connectionState"]["message"].split()),
            view["project"],
        ]
        for view in views
    ]
    print_table(["SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "PROJECT"], rows)


def _print(views: Obj | list[Obj], output: str) -> None:
    items = views if isinstance(views, list) else [views]
    if output in ("json", "yaml"):
        print_object(views, output)
    elif output == "server":
        for view in items:
            print(view["server"])
    else:
        print_cluster_table(items)


# -- commands ---------------------------------------------------------------------------------


def _same_secret_data(existing: Obj, new: ClusterSpec, namespace: str) -> bool:
    """Compare as parsed specs, so key order or spacing in ``config`` JSON is no difference."""
    name = str(existing["metadata"]["name"])
    try:
        old = build_cluster_secret(parse_cluster_secret(existing), namespace, name)
    except GitwardError:
        return False
    return bool(old["data"] == build_cluster_secret(new, namespace, name)["data"])


@app.command()
def add(
    ctx: typer.Context,
    kube_context: str = typer.Argument(
        ..., metavar="CONTEXT", help="Kubeconfig context of the cluster to add (in --kubeconfig)."
    ),
    name: str = typer.Option("", "--name", help="Name for the cluster (default: CONTEXT)."),
    system_namespace: str = typer.Option(
        "kube-system",
        "--system-namespace",
        help="Namespace in the added cluster for the argocd-manager ServiceAccount.",
    ),
    project: str = typer.Option("", "--project", help="Make it a project-scoped cluster."),
    upsert: bool = typer.Option(
        False, "--upsert", help="Replace an existing entry for this server even if it differs."
    ),
    token_timeout: float = typer.Option(
        60.0, "--token-timeout", help="Seconds to wait for the service-account token."
    ),
) -> None:
    """Register the cluster of kubeconfig context CONTEXT (argocd cluster add).

    In that cluster, creates the ServiceAccount argocd-manager (in
    --system-namespace), the ClusterRole argocd-manager-role (every verb on
    every resource and non-resource URL), its ClusterRoleBinding, and the
    long-lived token Secret argocd-manager-long-lived-token. Then stores the
    server, CA and that token as a cluster Secret in --namespace of the
    management cluster (the one --kubeconfig and --kube-context select).
    CONTEXT is looked up in the same --kubeconfig. The token is never printed.
    """
    cli = context.get(ctx)

    async def body(management: KubeClient) -> tuple[str, str]:
        spec, target = spec_from_kubeconfig(cli.kubeconfig, kube_context)
        async with target:
            token = await install_manager(target, system_namespace, token_timeout)
        spec = replace(spec, name=name or kube_context, project=project, bearer_token=token)
        registered = await _registered(management, cli.namespace)
        existing = next((r for r in registered if r.spec.server == spec.server), None)
        if existing is None or existing.secret is None:
            await management.create(build_cluster_secret(spec, cli.namespace))
            return spec.server, "added"
        if _same_secret_data(existing.secret, spec, cli.namespace):
            return spec.server, "unchanged"
        if not upsert:
            raise ConfigError(
                f"cluster {spec.server} already exists with different settings (Secret "
                f"{existing.spec.secret_name}); use --upsert to replace them"
            )
        secret = {**existing.secret, "apiVersion": "v1", "kind": "Secret"}
        secret["data"] = build_cluster_secret(spec, cli.namespace)["data"]
        secret.pop("stringData", None)
        await management.replace(secret)
        return spec.server, "updated"

    server, action = context.run(ctx, body)
    out.print(f"Cluster {escape(server)!r} {action}")


@app.command("list")
def list_(
    ctx: typer.Context,
    output: str = typer.Option(
        "", "--output", "-o", help="Output format: json, yaml, wide or server."
    ),
) -> None:
    """List clusters with version and connection status (GET /version, now).

    in-cluster (https://kubernetes.default.svc, where gitward runs) is always
    listed; from this CLI it is reached through --kubeconfig/--kube-context.
    """
    cli = context.get(ctx)
    check_output(output, "json", "yaml", "wide", "server")

    async def body(client: KubeClient) -> list[Obj]:
        entries = await _registered(client, cli.namespace)
        if output == "server":
            states = [ConnectionState("", "", "", "")] * len(entries)
        else:
            states = await _check_all(entries, client)
        return [cluster_view(e, s) for e, s in zip(entries, states, strict=True)]

    _print(context.run(ctx, body), output)


@app.command()
def get(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="SERVER|NAME", help="Server URL or cluster name."),
    output: str = typer.Option(
        "yaml", "--output", "-o", help="Output format: yaml (default), json, wide or server."
    ),
) -> None:
    """Show one cluster and test its connection now.

    Credentials appear only as booleans (hasBearerToken, hasKeyData, ...).
    """
    cli = context.get(ctx)
    check_output(output, "json", "yaml", "wide", "server")

    async def body(client: KubeClient) -> Obj:
        entry = _find(await _registered(client, cli.namespace), ident, cli.namespace)
        return cluster_view(entry, await check_connection(entry, client))

    _print(context.run(ctx, body), output)


@app.command()
def rm(
    ctx: typer.Context,
    ident: str = typer.Argument(..., metavar="SERVER|NAME", help="Server URL or cluster name."),
) -> None:
    """Remove a cluster (deletes its Secret).

    The argocd-manager ServiceAccount in that cluster stays: delete it there
    to revoke the token.
    """
    cli = context.get(ctx)

    async def body(client: KubeClient) -> str:
        entry = _find(await _registered(client, cli.namespace), ident, cli.namespace)
        if entry.secret is None:
            raise ConfigError(f"cluster {ident!r} has no Secret to remove (in-cluster is implicit)")
        with contextlib.suppress(NotFound):  # removed meanwhile: the outcome asked for
            await client.delete("v1", "Secret", entry.spec.secret_name, cli.namespace, "Background")
        return entry.spec.server

    out.print(f"Cluster {escape(context.run(ctx, body))!r} removed")
