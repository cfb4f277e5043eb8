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
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import typer
from rich.markup import escape

from gitward.apiclient import ApiClient
from gitward.appstate.clusters import (
    ConnectionState,
    check_all,
    check_connection,
    cluster_view,
    find,
    registered,
    same_secret_data,
)
from gitward.cli import cluster_remote, context
from gitward.cli.console import err, out
from gitward.cli.output import check_output, print_object, print_table
from gitward.cluster import (
    KubeClient,
    NotFound,
    build_cluster_secret,
    describe,
)
from gitward.cluster.errors import ClusterError
from gitward.cluster.secrets import (
    spec_from_kubeconfig,
)
from gitward.model.errors import ConfigError

Obj = dict[str, Any]

app = typer.Typer(
    help="Manage clusters gitward deploys to (Argo CD cluster Secrets).", no_args_is_help=True
)

MANAGER_ACCOUNT = "argocd-manager"
MANAGER_ROLE = "argocd-manager-role"
MANAGER_ROLE_BINDING = "argocd-manager-role-binding"
MANAGER_TOKEN_SECRET = "argocd-manager-long-lived-token"  # noqa: S105 - a Secret's name


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
        known = await registered(management, cli.namespace)
        existing = next((r for r in known if r.spec.server == spec.server), None)
        if existing is None or existing.secret is None:
            await management.create(build_cluster_secret(spec, cli.namespace))
            return spec.server, "added"
        if same_secret_data(existing.secret, spec, cli.namespace):
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

    async def served(api: ApiClient) -> tuple[str, str]:
        # The kubeconfig is read here, never sent: the server gets the manager's token.
        spec, target = spec_from_kubeconfig(cli.kubeconfig, kube_context)
        async with target:
            await cluster_remote.may_add(api, spec.server, project)
            token = await install_manager(target, system_namespace, token_timeout)
        spec = replace(spec, name=name or kube_context, project=project, bearer_token=token)
        return spec.server, await cluster_remote.add(api, spec, upsert)

    if cli.remote() is not None:
        server, action = context.run_api(ctx, served)
    else:
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
    if cli.remote() is not None:
        _print(list(context.run_api(ctx, lambda c: c.get("/api/v1/clusters"))["items"]), output)
        return

    async def body(client: KubeClient) -> list[Obj]:
        entries = await registered(client, cli.namespace)
        if output == "server":
            states = [ConnectionState("", "", "", "")] * len(entries)
        else:
            states = await check_all(entries, client)
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
    if cli.remote() is not None:
        path = f"/api/v1/clusters/{quote(ident, safe='')}"
        _print(context.run_api(ctx, lambda c: c.get(path)), output)
        return

    async def body(client: KubeClient) -> Obj:
        entry = find(await registered(client, cli.namespace), ident, cli.namespace)
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
        entry = find(await registered(client, cli.namespace), ident, cli.namespace)
        if entry.secret is None:
            raise ConfigError(f"cluster {ident!r} has no Secret to remove (in-cluster is implicit)")
        with contextlib.suppress(NotFound):  # removed meanwhile: the outcome asked for
            await client.delete("v1", "Secret", entry.spec.secret_name, cli.namespace, "Background")
        return entry.spec.server

    if cli.remote() is not None:
        server = context.run_api(ctx, lambda c: cluster_remote.remove(c, ident))
    else:
        server = context.run(ctx, body)
    out.print(f"Cluster {escape(server)!r} removed")
