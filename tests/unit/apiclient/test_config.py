"""The CLI's config file: argocd's shape, private, and errors that name the field."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gitward.apiclient import load_config, save_config, server_url
from gitward.apiclient.config import ClientConfig, ServerEntry, parse_config
from gitward.apiclient.errors import NotFound, PermissionDenied, error_from_answer
from gitward.model.errors import ConfigError

ARGOCD_CONFIG = """\
contexts:
- name: cd.example.com
  server: cd.example.com
  user: cd.example.com
current-context: cd.example.com
prompts-enabled: false
servers:
- grpc-web-root-path: ""
  insecure: true
  server: cd.example.com
users:
- auth-token: abc.def.ghi
  name: cd.example.com
"""


def test_reads_an_argocd_config() -> None:
    config = parse_config(ARGOCD_CONFIG, "config")
    current = config.context()
    assert current is not None
    assert (current.server, config.tokens[current.user]) == ("cd.example.com", "abc.def.ghi")
    assert config.server("cd.example.com") == ServerEntry("cd.example.com", insecure=True)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("contexts: {}", "contexts: expected a list"),
        ("contexts: [5]", "contexts[0]: expected a mapping"),
        ("contexts: [{name: a, server: b}]", "contexts[0].user"),
        ("servers: [{server: a, insecure: 'yes'}]", "servers[0].insecure"),
        ("users: [{name: a, auth-token: 5}]", "users[0].auth-token"),
        ("!!python/object:os.system x", "not YAML"),
    ],
)
def test_bad_files_name_the_field(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_config(text, "config")


def test_saved_privately_even_over_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "gitward" / "config"
    path.parent.mkdir()
    path.write_text("")
    path.chmod(0o644)
    config = ClientConfig()
    config.log_in("prod", ServerEntry("cd.example.com:443"), "tok")
    save_config(config, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(path) == config
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_logout_forgets_only_the_token() -> None:
    config = ClientConfig()
    config.log_in("a", ServerEntry("a:1"), "ta")
    config.log_in("b", ServerEntry("b:1"), "tb")
    assert config.current == "b"
    assert config.log_out("a")
    assert not config.log_out("a")
    assert config.tokens == {"b": "tb"}
    assert [c.name for c in config.contexts] == ["a", "b"]


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("cd.example.com", "https://cd.example.com"),
        ("cd.example.com:8080", "https://cd.example.com:8080"),
        ("http://127.0.0.1:9/", "http://127.0.0.1:9"),
        ("[::1]:8080", "https://[::1]:8080"),
    ],
)
def test_server_urls(given: str, url: str) -> None:
    assert server_url(given) == url


@pytest.mark.parametrize(
    "bad", ["https://user:pw@host", "ftp://host", "host:99999", "", "https://h?x=1"]
)
def test_server_urls_refused(bad: str) -> None:
    with pytest.raises(ConfigError):
        server_url(bad)


def test_errors_follow_the_grpc_code_then_the_status() -> None:
    body = '{"error": "x", "code": 7, "message": "permission denied: projects, delete"}'
    error = error_from_answer(403, body)
    assert isinstance(error, PermissionDenied)
    assert str(error) == "permission denied: projects, delete"
    assert isinstance(error_from_answer(404, "<html>nope</html>"), NotFound)
