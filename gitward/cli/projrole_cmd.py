"""``gitward proj role``: project roles' tokens, issued by a gitward server.

A project role token (subject ``proj:PROJECT:ROLE``) lets CI act within one project
with the role's policies; the server signs it and records its id and issue time in
the AppProject, so it can be listed and revoked. Server-mode only: only the server
holds the signing key.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import jwt
import typer

from gitward.apiclient import ApiClient
from gitward.cli import context
from gitward.cli.account_cmd import expires_in_seconds
from gitward.cli.console import out

app = typer.Typer(help="Project roles (server mode).", no_args_is_help=True)


def _when(claims: dict[str, object], key: str) -> str:
    value = claims.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "<none>"
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@app.command("create-token")
def create_token(
    ctx: typer.Context,
    project: str = typer.Argument(..., metavar="PROJECT"),
    role: str = typer.Argument(..., metavar="ROLE"),
    expires_in: str = typer.Option("0", "--expires-in", "-e", help="e.g. 24h; 0: never."),
    token_id: str = typer.Option("", "--id", "-i", help="The token's id (default: random)."),
    token_only: bool = typer.Option(
        False, "--token-only", "-t", help="Print the token and nothing else."
    ),
) -> None:
    """Issue a token for a project role (as argocd proj role create-token)."""
    seconds = expires_in_seconds(expires_in)

    async def issue(client: ApiClient) -> str:
        body: dict[str, object] = {"project": project, "role": role, "expiresIn": seconds}
        if token_id:
            body["id"] = token_id
        path = f"/api/v1/projects/{quote(project, safe='')}/roles/{quote(role, safe='')}/token"
        answer = await client.post(path, body)
        return str(answer.get("token", "")) if isinstance(answer, dict) else ""

    token = context.run_api(ctx, issue)
    if token_only:
        print(token)
        return
    # The claims are read only to print them; the server checked the signature it made.
    claims = jwt.decode(token, options={"verify_signature": False})
    out.print(f"Create token succeeded for {claims.get('sub', '')}.")
    out.print(f"  ID: {claims.get('jti', '')}")
    out.print(f"  Issued At: {_when(claims, 'iat')}")
    out.print(f"  Expires At: {_when(claims, 'exp')}")
    print(f"  Token: {token}")
