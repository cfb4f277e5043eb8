"""``gitward repo``: repositories and credential templates, stored the way Argo CD stores them.

A repository is a Secret in gitward's namespace labelled
``argocd.argoproj.io/secret-type: repository`` (fields ``url``, ``type``,
``name``, ``project``, ``username``, ``password``, ``sshPrivateKey``,
``bearerToken``, ``insecure``); a credential template is the same with
``repo-creds`` and a URL prefix. Secrets made by ``argocd repo add`` work here
and the other way round.

Why ``add`` runs a real ``git ls-remote`` first: a typo in a URL or an expired
token should fail at the moment someone types it, not minutes later in an
Application's status. ``get`` and ``list`` test again, so their STATUS column is
what git says now. Passwords, keys and tokens are never printed: the JSON and
YAML views show ``hasPassword``-style booleans instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import typer
from rich.markup import escape

from gitward.appstate.repositories import (
    ConnectionState,
    Entry,
    check_all,
    check_connection,
    creds_view,
    repo_view,
)
from gitward.appstate.repositories import entries as _entries
from gitward.appstate.repositories import find_one as _find_one
from gitward.appstate.repositories import matching as _matching
from gitward.appstate.repositories import plan as _plan
from gitward.appstate.repositories import store_of as _store
from gitward.appstate.repositories import write as _write
from gitward.cli import context, repo_remote
from gitward.cli.console import out
from gitward.cli.output import check_output, print_object, print_table
from gitward.cluster import KubeClient
from gitward.cluster.secrets import argocd_secret, creds_secret_name, repo_secret_name
from gitward.model.errors import ConfigError, SourceError
from gitward.source import CredentialStore, GitSource, normalize_url, redact_url
from gitward.source.credentials import REPO_CREDS, REPOSITORY
from gitward.source.gitsource import split_userinfo

Obj = dict[str, Any]

app = typer.Typer(
    help="Manage repositories (Argo CD repository and repo-creds Secrets).",
    no_args_is_help=True,
)

UsernameOption = typer.Option("", "--username", help="User name for HTTPS (any name for a token).")
PasswordOption = typer.Option(
    "",
    "--password",
    help="Password or access token for HTTPS. Visible to other local users in the process "
    "list: prefer --password-stdin.",
)
PasswordStdinOption = typer.Option(
    False, "--password-stdin", help="Read the password or token from standard input."
)
SshKeyOption = typer.Option(
    None, "--ssh-private-key-path", help="File holding the private key for an SSH URL."
)
BearerOption = typer.Option(
    "",
    "--bearer-token",
    help="Bearer token sent as an HTTP Authorization header (Bitbucket Data Center style).",
)
UpsertOption = typer.Option(
    False, "--upsert", help="Replace an existing entry for this URL even if its settings differ."
)
ProjectFilterOption = typer.Option(
    None, "--project", help="Pick the entry of this project when a URL is registered per project."
)


def print_repo_table(views: Sequence[Obj]) -> None:
    """Argo CD's ``repo list`` columns."""
    headers = [
        "TYPE",
        "NAME",
        "REPO",
        "INSECURE",
        "OCI",
        "LFS",
        "CREDS",
        "STATUS",
        "MESSAGE",
        "PROJECT",
    ]
    rows = []
    for view in views:
        creds = view["hasPassword"] or view["hasSshPrivateKey"] or view["hasBearerToken"]
        state = view["connectionState"]
        rows.append(
            [
                view["type"],
                view["name"],
                view["repo"],
                str(view["insecure"]).lower(),
                "false",
                "false",
                str(bool(creds or view["inheritedCreds"])).lower(),
                state["status"],
                " ".join(state["message"].split()),
                view["project"],
            ]
        )
    print_table(headers, rows)


# -- add --------------------------------------------------------------------------------------


def _read_password(password: str, password_stdin: bool) -> str:
    if password_stdin:
        if password:
            raise ConfigError("--password and --password-stdin exclude each other")
        return sys.stdin.read().rstrip("\r\n")
    return password


def _read_key(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        key = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--ssh-private-key-path {path}: cannot read: {exc.strerror}") from None
    if "PRIVATE KEY" not in key:
        raise ConfigError(f"--ssh-private-key-path {path}: not a PEM/OpenSSH private key")
    return key


def _credential_fields(
    url: str,
    username: str,
    password: str,
    password_stdin: bool,
    ssh_key_path: Path | None,
    bearer_token: str,
) -> tuple[str, dict[str, str]]:
    """The clean URL (user-info moved out) and the credential fields the flags give."""
    password = _read_password(password, password_stdin)
    clean, from_url = split_userinfo(url, None)
    if from_url is not None and not password:
        username, password = username or from_url.username, from_url.password
    if username and not (password or ssh_key_path):
        raise ConfigError("--username needs --password or --password-stdin")
    fields = {
        "url": clean,
        "username": username,
        "password": password,
        "sshPrivateKey": _read_key(ssh_key_path),
        "bearerToken": bearer_token,
    }
    if fields["sshPrivateKey"] and not normalize_url(clean).startswith("ssh://"):
        raise ConfigError(f"--ssh-private-key-path: {redact_url(clean)} is not an SSH URL")
    return clean, fields


@app.command()
def add(
    ctx: typer.Context,
    url: str = typer.Argument(
        ...,
        metavar="URL",
        help="Repository URL: https://…, ssh://…, git@host:org/repo, git://… or file://…",
    ),
    username: str = UsernameOption,
    password: str = PasswordOption,
    password_stdin: bool = PasswordStdinOption,
    ssh_private_key_path: Path | None = SshKeyOption,
    bearer_token: str = BearerOption,
    insecure_skip_server_verification: bool = typer.Option(
        False,
        "--insecure-skip-server-verification",
        help="Do not verify the server: no TLS certificate check (HTTPS), no host key check (SSH).",
    ),
    insecure_ignore_host_key: bool = typer.Option(
        False,
        "--insecure-ignore-host-key",
        help="Alias of --insecure-skip-server-verification (Argo CD's older flag).",
    ),
    name: str = typer.Option("", "--name", help="A display name for the repository."),
    project: str = typer.Option("", "--project", help="Make it a project-scoped repository."),
    upsert: bool = UpsertOption,
    skip_test: bool = typer.Option(
        False, "--skip-test", help="Store without checking access with git ls-remote first."
    ),
) -> None:
    """Register a Git repository and its credentials.

    Access is checked first with a real `git ls-remote`; credentials reach
    git through its environment, never its arguments. If the repository is
    unreachable or the credentials are refused, nothing is stored and the
    command fails (--skip-test stores without checking). A URL without
    credentials of its own uses a matching `gitward repo add-creds` template.
    """
    cli = context.get(ctx)
    clean, fields = _credential_fields(
        url, username, password, password_stdin, ssh_private_key_path, bearer_token
    )
    insecure = insecure_skip_server_verification or insecure_ignore_host_key
    fields.update(type="git", name=name, project=project, insecure="true" if insecure else "")
    secret = argocd_secret(repo_secret_name(clean, project), cli.namespace, REPOSITORY, fields)

    async def body(client: KubeClient) -> str:
        repos = await _entries(client, cli.namespace, REPOSITORY)
        existing = next(iter(_matching(repos, clean, project, prefix=False)), None)
        action = _plan(existing, secret, upsert, "repository")
        if not skip_test:
            store = _store(await _entries(client, cli.namespace, REPO_CREDS))
            store.add(Entry(secret, fields).credentials())
            state = await check_connection(GitSource(), clean, store.lookup(clean, project))
            if state.status != "Successful":
                raise SourceError(
                    f"{state.message}; nothing was stored (--skip-test stores it unchecked)"
                )
        await _write(client, existing, secret, action)
        return action

    if cli.remote() is not None:
        if skip_test:
            raise ConfigError("--skip-test needs --core: the server always tests access first")
        action = context.run_api(ctx, lambda c: repo_remote.add(c, fields, upsert))
    else:
        action = context.run(ctx, body)
    out.print(f"Repository {escape(redact_url(clean))!r} {action}")


@app.command("add-creds")
def add_creds(
    ctx: typer.Context,
    url_prefix: str = typer.Argument(
        ..., metavar="URL-PREFIX", help="URL prefix it covers, e.g. https://github.com/my-org/"
    ),
    username: str = UsernameOption,
    password: str = PasswordOption,
    password_stdin: bool = PasswordStdinOption,
    ssh_private_key_path: Path | None = SshKeyOption,
    bearer_token: str = BearerOption,
    upsert: bool = UpsertOption,
) -> None:
    """Add a credential template (a repo-creds Secret, Argo CD's repocreds).

    Every repository whose URL starts with URL-PREFIX and has no credentials
    of its own uses these; the longest matching prefix wins. Not tested with
    git: a prefix is not a repository.
    """
    cli = context.get(ctx)
    clean, fields = _credential_fields(
        url_prefix, username, password, password_stdin, ssh_private_key_path, bearer_token
    )
    if not (fields["password"] or fields["sshPrivateKey"] or fields["bearerToken"]):
        raise ConfigError(
            "a credential template needs --password, --ssh-private-key-path or --bearer-token"
        )
    secret = argocd_secret(creds_secret_name(clean), cli.namespace, REPO_CREDS, fields)

    async def body(client: KubeClient) -> str:
        templates = await _entries(client, cli.namespace, REPO_CREDS)
        existing = next(iter(_matching(templates, clean, None, prefix=True)), None)
        action = _plan(existing, secret, upsert, "credential template")
        await _write(client, existing, secret, action)
        return action

    if cli.remote() is not None:
        action = context.run_api(ctx, lambda c: repo_remote.add_creds(c, fields, upsert))
    else:
        action = context.run(ctx, body)
    out.print(f"Repository credentials for {escape(redact_url(clean))!r} {action}")


# -- get / list -------------------------------------------------------------------------------


OutputOption = typer.Option("", "--output", "-o", help="Output format: json, yaml or wide.")


@app.command()
def get(
    ctx: typer.Context,
    url: str = typer.Argument(
        ..., metavar="URL", help="Repository URL (any spelling: with .git, any host case)."
    ),
    output: str = OutputOption,
    project: str | None = ProjectFilterOption,
) -> None:
    """Show a repository and test its connection now (git ls-remote).

    The table has Argo CD's columns (TYPE NAME REPO ... STATUS MESSAGE
    PROJECT). -o json and -o yaml show the stored fields with credentials
    reduced to hasPassword, hasSshPrivateKey and hasBearerToken: passwords,
    keys and tokens are never printed.
    """
    cli = context.get(ctx)
    check_output(output, "json", "yaml", "wide")
    if cli.remote() is not None:
        params = {"forceRefresh": "true", **({"appProject": project} if project else {})}
        path = f"/api/v1/repositories/{quote(url, safe='')}"
        _print_views([context.run_api(ctx, lambda c: c.get(path, **params))], output, single=True)
        return

    async def body(client: KubeClient) -> tuple[Entry, ConnectionState, CredentialStore]:
        repos = await _entries(client, cli.namespace, REPOSITORY)
        entry = _find_one(repos, url, project, cli.namespace, "repository")
        store = _store(repos + await _entries(client, cli.namespace, REPO_CREDS))
        state = await check_connection(
            GitSource(), entry.url, store.lookup(entry.url, entry.project)
        )
        return entry, state, store

    entry, state, store = context.run(ctx, body)
    _print_views([repo_view(entry, state, store)], output, single=True)


def _print_views(views: list[Obj], output: str, single: bool = False) -> None:
    if output == "url":
        for view in views:
            print(view["repo"])
    elif output in ("json", "yaml"):
        print_object(views[0] if single else views, output)
    else:
        print_repo_table(views)


@app.command("list")
def list_(
    ctx: typer.Context,
    output: str = typer.Option("", "--output", "-o", help="Output format: json, yaml or url."),
    refresh: str = typer.Option(
        "hard",
        "--refresh",
        help="hard: test every repository with git ls-remote now (default); none: do not test.",
    ),
) -> None:
    """List repositories with their connection status (tested now, in parallel)."""
    cli = context.get(ctx)
    check_output(output, "json", "yaml", "url")
    if refresh not in ("hard", "none", ""):
        raise ConfigError(f"--refresh: expected hard or none, got {refresh!r}")
    if cli.remote() is not None:
        test = "true" if refresh != "none" and output != "url" else "false"
        answer = context.run_api(ctx, lambda c: c.get("/api/v1/repositories", forceRefresh=test))
        _print_views(list(answer.get("items") or []), output)
        return

    async def body(
        client: KubeClient,
    ) -> tuple[list[Entry], list[ConnectionState], CredentialStore]:
        repos = await _entries(client, cli.namespace, REPOSITORY)
        store = _store(repos + await _entries(client, cli.namespace, REPO_CREDS))
        test = refresh != "none" and output != "url"
        return repos, await check_all(repos, store, test), store

    repos, states, store = context.run(ctx, body)
    _print_views([repo_view(e, s, store) for e, s in zip(repos, states, strict=True)], output)


@app.command("list-creds")
def list_creds(
    ctx: typer.Context,
    output: str = typer.Option("", "--output", "-o", help="Output format: json, yaml or url."),
) -> None:
    """List credential templates (secrets shown only as yes/no)."""
    cli = context.get(ctx)
    check_output(output, "json", "yaml", "url")
    views: list[Obj]
    if cli.remote() is not None:
        views = context.run_api(ctx, repo_remote.list_creds)
    else:
        templates = context.run(ctx, lambda c: _entries(c, cli.namespace, REPO_CREDS))
        views = [creds_view(e) for e in templates]
    if output == "url":
        for view in views:
            print(view["url"])
    elif output in ("json", "yaml"):
        print_object(views, output)
    else:
        keys = ("hasPassword", "hasSshPrivateKey", "hasBearerToken")
        print_table(
            ["URL PATTERN", "USERNAME", "PASSWORD", "SSH_CREDS", "BEARER_TOKEN"],
            [[v["url"], v["username"], *(str(v[k]).lower() for k in keys)] for v in views],
        )


# -- rm ---------------------------------------------------------------------------------------


def _remove(ctx: typer.Context, url: str, project: str | None, secret_type: str) -> Entry:
    cli = context.get(ctx)
    what = "repository" if secret_type == REPOSITORY else "credential template"

    async def body(client: KubeClient) -> Entry:
        entry = _find_one(
            await _entries(client, cli.namespace, secret_type), url, project, cli.namespace, what
        )
        await client.delete("v1", "Secret", entry.secret_name, cli.namespace, "Background")
        return entry

    return context.run(ctx, body)


@app.command()
def rm(
    ctx: typer.Context,
    url: str = typer.Argument(..., metavar="URL", help="Repository URL (any spelling of it)."),
    project: str | None = ProjectFilterOption,
) -> None:
    """Remove a repository (deletes its Secret). An unknown URL is an error."""
    if context.get(ctx).remote() is not None:
        shown = context.run_api(ctx, lambda c: repo_remote.remove(c, url, project))
    else:
        shown = redact_url(_remove(ctx, url, project, REPOSITORY).url)
    out.print(f"Repository {escape(shown)!r} removed")


@app.command("rm-creds")
def rm_creds(
    ctx: typer.Context,
    url_prefix: str = typer.Argument(..., metavar="URL-PREFIX", help="The template's prefix."),
) -> None:
    """Remove a credential template (deletes its repo-creds Secret)."""
    if context.get(ctx).remote() is not None:
        shown = context.run_api(ctx, lambda c: repo_remote.remove_creds(c, url_prefix))
    else:
        shown = redact_url(_remove(ctx, url_prefix, None, REPO_CREDS).url)
    out.print(f"Repository credentials for {escape(shown)!r} removed")
