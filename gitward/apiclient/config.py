"""The CLI's login configuration: ``~/.config/gitward/config``, shaped like ``argocd``'s.

::

    contexts:
    - {name: cd.example.com, server: cd.example.com, user: cd.example.com}
    current-context: cd.example.com
    servers:
    - {server: cd.example.com, insecure: false, plain-text: false}
    users:
    - {name: cd.example.com, auth-token: eyJ...}

``$GITWARD_CONFIG`` names another file (tests, several installations). The file holds
session tokens, so it is written with mode 0600 (its directory 0700), through a
temporary file renamed over the old one: a crash never leaves half a file, and a
file someone made readable to others becomes private again at the next write.
Reading refuses anything else than this shape with an error naming the field.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from gitward._util.yamlload import load_one
from gitward.model.errors import ConfigError

CONFIG_ENV = "GITWARD_CONFIG"


def config_path() -> Path:
    """``$GITWARD_CONFIG``, else ``$XDG_CONFIG_HOME/gitward/config`` (``~/.config``)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gitward" / "config"


@dataclasses.dataclass(frozen=True)
class Context:
    name: str
    server: str
    user: str


@dataclasses.dataclass(frozen=True)
class ServerEntry:
    server: str
    insecure: bool = False
    plain_text: bool = False


@dataclasses.dataclass
class ClientConfig:
    contexts: list[Context] = dataclasses.field(default_factory=list)
    current: str = ""
    servers: list[ServerEntry] = dataclasses.field(default_factory=list)
    #: user name -> auth token
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)

    def context(self, name: str = "") -> Context | None:
        """The context ``name`` (default: the current one), None when there is none."""
        wanted = name or self.current
        return next((c for c in self.contexts if c.name == wanted), None)

    def server(self, server: str) -> ServerEntry | None:
        return next((s for s in self.servers if s.server == server), None)

    def token_for_server(self, server: str) -> str:
        """The token of the first context on ``server`` (``--server`` without ``--auth-token``)."""
        for ctx in self.contexts:
            if ctx.server == server and self.tokens.get(ctx.user):
                return self.tokens[ctx.user]
        return ""

    def log_in(self, name: str, entry: ServerEntry, token: str) -> None:
        """Record a login to ``entry`` as context ``name`` (user of the same name), current."""
        self.contexts = [c for c in self.contexts if c.name != name]
        self.contexts.append(Context(name, entry.server, name))
        self.servers = [s for s in self.servers if s.server != entry.server] + [entry]
        self.tokens[name] = token
        self.current = name

    def log_out(self, name: str) -> bool:
        """Forget the token of context ``name``; False when it had none."""
        ctx = self.context(name)
        if ctx is None or not self.tokens.get(ctx.user):
            return False
        del self.tokens[ctx.user]
        return True


def _text(item: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ConfigError(f"{where}.{key}: expected a non-empty string")
    return value


def _flag(item: dict[str, Any], key: str, where: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected true or false")
    return value


def _items(doc: dict[str, Any], key: str, where: str) -> list[tuple[dict[str, Any], str]]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key}: expected a list")
    found = []
    for i, item in enumerate(value):
        at = f"{where}: {key}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: expected a mapping")
        found.append((item, at))
    return found


def parse_config(text: str, where: str) -> ClientConfig:
    """The configuration ``text`` holds; :class:`ConfigError` naming the field otherwise."""
    try:
        doc = load_one(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not YAML: {exc}") from None
    if doc is None:
        return ClientConfig()
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping")
    return ClientConfig(
        contexts=[
            Context(_text(c, "name", at), _text(c, "server", at), _text(c, "user", at))
            for c, at in _items(doc, "contexts", where)
        ],
        current=_text(doc, "current-context", where, required=False),
        servers=[
            ServerEntry(
                _text(s, "server", at), _flag(s, "insecure", at), _flag(s, "plain-text", at)
            )
            for s, at in _items(doc, "servers", where)
        ],
        tokens={
            _text(u, "name", at): _text(u, "auth-token", at, required=False)
            for u, at in _items(doc, "users", where)
        },
    )


def load_config(path: Path | None = None) -> ClientConfig:
    """The configuration at ``path`` (default :func:`config_path`); empty when absent."""
    path = path or config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return ClientConfig()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_config(text, str(path))


def render_config(config: ClientConfig) -> str:
    doc = {
        "contexts": [{"name": c.name, "server": c.server, "user": c.user} for c in config.contexts],
        "current-context": config.current,
        "servers": [
            {"server": s.server, "insecure": s.insecure, "plain-text": s.plain_text}
            for s in config.servers
        ],
        "users": [{"name": n, "auth-token": t} for n, t in config.tokens.items()],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def save_config(config: ClientConfig, path: Path | None = None) -> Path:
    """Write ``config`` to ``path`` with mode 0600, atomically."""
    path = path or config_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(render_config(config))
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None
    return path
