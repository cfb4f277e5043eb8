"""``gitward login``, ``logout`` and ``context``: sessions with a gitward server.

``login`` asks the server for a session (``POST /api/v1/session``) with a local
account's user name and password, prompting for what the flags do not give (the
password without echo), and saves the token in the CLI's configuration
(``~/.config/gitward/config``, mode 0600) as a context that becomes current. From
then on commands talk to that server; ``--core`` still uses the kubeconfig.
"""

from __future__ import annotations

import asyncio

import typer
from rich.markup import escape

from gitward.apiclient import ApiClient, load_config, save_config, server_url
from gitward.apiclient.config import ServerEntry
from gitward.apiclient.errors import ApiClientError
from gitward.cli.console import err, out
from gitward.cli.output import print_table
from gitward.model.errors import ConfigError


def login(
    server: str = typer.Argument(..., metavar="SERVER", help="HOST:PORT or URL of the server."),
    username: str = typer.Option("", "--username", help="Local account (prompted if absent)."),
    password: str = typer.Option(
        "",
        "--password",
        help="Password (prompted without echo if absent; on the command line it is visible "
        "to other local users).",
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="Do not verify the server's TLS certificate (self-signed)."
    ),
    plaintext: bool = typer.Option(
        False, "--plaintext", help="Plain HTTP for a server given as HOST:PORT (no TLS)."
    ),
    name: str = typer.Option("", "--name", help="Name of the context (default: SERVER)."),
) -> None:
    """Log in to a gitward server and make it the current context."""
    url = server_url(server, plain_text=plaintext)
    username = username or typer.prompt("Username")
    password = password or typer.prompt("Password", hide_input=True)

    async def session() -> str:
        async with ApiClient(url, insecure=insecure) as client:
            answer = await client.post(
                "/api/v1/session", {"username": username, "password": password}
            )
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ConfigError(f"{url}: the server answered the login without a token")
        return token

    token = asyncio.run(session())
    context_name = name or server
    config = load_config()
    config.log_in(context_name, ServerEntry(server, insecure, plaintext), token)
    path = save_config(config)
    out.print(
        f"'{escape(username)}' logged in successfully\n"
        f"Context '{escape(context_name)}' updated ({escape(str(path))})"
    )


def logout(
    name: str = typer.Argument("", metavar="[CONTEXT]", help="Context (default: the current)."),
) -> None:
    """End the session of a context and forget its token."""
    config = load_config()
    found = config.context(name)
    if found is None:
        raise ConfigError(f"context {name or '(current)'!r} not found: see 'gitward context'")
    token = config.tokens.get(found.user, "")
    entry = config.server(found.server)
    if token:

        async def end() -> None:
            url = server_url(found.server, entry.plain_text if entry else False)
            async with ApiClient(url, token, insecure=entry.insecure if entry else False) as c:
                await c.delete("/api/v1/session")

        try:
            asyncio.run(end())
        except ApiClientError as exc:  # the token is forgotten here whatever the server says
            err.print(
                f"[yellow]warning:[/yellow] the server did not end the session: {escape(str(exc))}"
            )
    config.log_out(found.name)
    save_config(config)
    out.print(f"Logged out from '{escape(found.name)}'")


def context_(
    name: str = typer.Argument("", metavar="[NAME]", help="Context to switch to."),
    delete: bool = typer.Option(False, "--delete", help="Delete context NAME."),
) -> None:
    """List the contexts, switch to NAME, or delete it (--delete)."""
    config = load_config()
    if not name:
        if delete:
            raise ConfigError("--delete needs a context NAME")
        rows = [
            ["*" if c.name == config.current else "", c.name, c.server] for c in config.contexts
        ]
        print_table(["CURRENT", "NAME", "SERVER"], rows)
        return
    if config.context(name) is None:
        raise ConfigError(f"context {name!r} not found: see 'gitward context'")
    if delete:
        found = config.context(name)
        config.contexts = [c for c in config.contexts if c.name != name]
        if found is not None:
            config.tokens.pop(found.user, None)
        if config.current == name:
            config.current = ""
        save_config(config)
        out.print(f"Context '{escape(name)}' deleted")
        return
    config.current = name
    save_config(config)
    out.print(f"Switched to context '{escape(name)}'")
