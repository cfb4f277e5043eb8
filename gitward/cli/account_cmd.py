"""``gitward account``: who you are on a gitward server, what you may do, and API keys.

Server-mode only (accounts live behind the server's authentication): the commands
call ``/api/v1/session/userinfo``, ``/api/v1/account...`` as ``argocd account`` does.
``generate-token`` prints the new key and nothing else, so it can be captured in a
script; ``update-password`` logs in again with the new password when it changed the
caller's own one, since every token issued before a password change stops working.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import typer
from rich.markup import escape

from gitward.apiclient import ApiClient, load_config, save_config
from gitward.cli import context
from gitward.cli.console import out
from gitward.cli.output import check_output, print_object, print_table
from gitward.model.durations import parse_duration
from gitward.model.errors import ConfigError

Obj = dict[str, Any]

app = typer.Typer(help="Accounts of a gitward server (server mode).", no_args_is_help=True)

OutputOption = typer.Option("", "--output", "-o", help="Output format: json or yaml.")


def expires_in_seconds(text: str) -> int:
    """``--expires-in``: a Go duration (``24h``, ``90m``) or seconds; ``0`` never expires."""
    try:
        seconds = parse_duration(text.strip())
    except ValueError as exc:
        raise ConfigError(f"--expires-in: {exc}") from None
    return int(seconds)


async def _userinfo(client: ApiClient) -> Obj:
    answer = await client.get("/api/v1/session/userinfo")
    return answer if isinstance(answer, dict) else {}


@app.command("get-user-info")
def get_user_info(ctx: typer.Context, output: str = OutputOption) -> None:
    """Who the server says you are: logged in, user name, issuer, groups."""
    check_output(output, "json", "yaml")
    info = context.run_api(ctx, _userinfo)
    if output:
        print_object(info, output)
        return
    groups = info.get("groups") or []
    out.print(f"Logged In: {str(bool(info.get('loggedIn'))).lower()}")
    if info.get("loggedIn"):
        out.print(f"Username: {escape(str(info.get('username', '')))}")
        out.print(f"Issuer: {escape(str(info.get('iss', '')))}")
        out.print(f"Groups: {escape(','.join(str(g) for g in groups))}")


@app.command("can-i")
def can_i(
    ctx: typer.Context,
    action: str = typer.Argument(..., metavar="ACTION", help="get, create, update, sync, ..."),
    resource: str = typer.Argument(..., metavar="RESOURCE", help="applications, projects, ..."),
    subresource: str = typer.Argument(
        ..., metavar="SUBRESOURCE", help="The object, e.g. PROJECT/APP or '*'."
    ),
) -> None:
    """May you do ACTION on RESOURCE SUBRESOURCE? Prints yes or no (as argocd account can-i)."""

    async def ask(client: ApiClient) -> str:
        path = "/api/v1/account/can-i/" + "/".join(
            quote(part, safe="") for part in (resource, action)
        )
        answer = await client.get(f"{path}/{quote(subresource, safe='/*')}")
        return str(answer.get("value", "no")) if isinstance(answer, dict) else "no"

    print(context.run_api(ctx, ask))


@app.command("list")
def list_(ctx: typer.Context, output: str = OutputOption) -> None:
    """Local accounts: name, enabled, capabilities (login, apiKey)."""
    check_output(output, "json", "yaml")
    answer = context.run_api(ctx, lambda c: c.get("/api/v1/account"))
    items = answer.get("items") or [] if isinstance(answer, dict) else []
    if output:
        print_object(items, output)
        return
    rows = [
        [str(a.get("name", "")), str(bool(a.get("enabled"))).lower(),
         ", ".join(str(c) for c in a.get("capabilities") or [])]
        for a in items
    ]  # fmt: skip
    print_table(["NAME", "ENABLED", "CAPABILITIES"], rows)


@app.command("generate-token")
def generate_token(
    ctx: typer.Context,
    account: str = typer.Option("", "--account", "-a", help="Account (default: yours)."),
    expires_in: str = typer.Option("0", "--expires-in", "-e", help="e.g. 24h; 0: never."),
    token_id: str = typer.Option("", "--id", help="The token's id (default: a random UUID)."),
) -> None:
    """Generate an API key for an account and print it (only the key)."""
    seconds = expires_in_seconds(expires_in)

    async def generate(client: ApiClient) -> str:
        name = account or str((await _userinfo(client)).get("username") or "")
        if not name:
            raise ConfigError("--account: not logged in as an account; name one")
        body: Obj = {"name": name, "expiresIn": seconds}
        if token_id:
            body["id"] = token_id
        answer = await client.post(f"/api/v1/account/{quote(name, safe='')}/token", body)
        return str(answer.get("token", "")) if isinstance(answer, dict) else ""

    print(context.run_api(ctx, generate))


@app.command("update-password")
def update_password(
    ctx: typer.Context,
    account: str = typer.Option("", "--account", help="Account (default: yours)."),
    current_password: str = typer.Option(
        "", "--current-password", help="Your current password (prompted if absent)."
    ),
    new_password: str = typer.Option(
        "", "--new-password", help="The new password (prompted twice if absent)."
    ),
) -> None:
    """Change an account's password; your own session continues with a fresh token."""
    current = current_password or typer.prompt(
        "*** Enter password of currently logged in user", hide_input=True
    )
    new = new_password or typer.prompt(
        "*** Enter new password", hide_input=True, confirmation_prompt=True
    )
    target = context.remote(ctx)

    async def change() -> tuple[str, str]:
        async with target.client() as client:
            me = str((await _userinfo(client)).get("username") or "")
            name = account or me
            body = {"name": name, "currentPassword": current, "newPassword": new}
            await client.put("/api/v1/account/password", body)
        if name != me:
            return name, ""
        async with ApiClient(target.server, insecure=target.insecure) as anonymous:
            answer = await anonymous.post("/api/v1/session", {"username": name, "password": new})
        return name, str(answer.get("token", "")) if isinstance(answer, dict) else ""

    name, token = asyncio.run(change())
    out.print(f"Password updated for '{escape(name)}'")
    if token:
        config = load_config()
        current_ctx = config.context()
        if current_ctx is not None and config.tokens.get(current_ctx.user) == target.token:
            config.tokens[current_ctx.user] = token
            save_config(config)
            out.print(f"Context '{escape(current_ctx.name)}' updated")
