"""How git is invoked: secrets only in the child's environment, scrubbed from its output."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

from gitward.source.credentials import RepoCredentials
from gitward.source.errors import AuthenticationFailed, GitCommandError, RepositoryNotFound
from gitward.source.gitcmd import GitRunner, classify, scrub

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----"


def test_scrub_removes_secrets_and_url_userinfo() -> None:
    text = "fatal: unable to access 'https://bot:tok3n@h/r': token tok3n rejected"
    cleaned = scrub(text, ["tok3n"])
    assert "tok3n" not in cleaned
    assert "https://***@h/r" in cleaned


def test_classify_auth_and_not_found() -> None:
    url = "https://h/r"
    denied = "fatal: could not read Username for 'https://h': terminal prompts disabled"
    none = classify(url, "ls-remote", 128, denied, None)
    assert isinstance(none, AuthenticationFailed)
    assert "no credentials are configured" in str(none)
    rejected = classify(
        url, "ls-remote", 128, "fatal: Authentication failed", RepoCredentials(url, password="x")
    )
    assert "were rejected" in str(rejected)
    missing = classify(url, "fetch", 128, "fatal: repository 'https://h/r/' not found", None)
    assert isinstance(missing, RepositoryNotFound)
    other = classify(url, "fetch", 1, "fatal: something else", None)
    assert type(other) is GitCommandError
    assert str(other) == "git fetch https://h/r: exit status 1: fatal: something else"


def test_askpass_answers_from_the_environment_only(tmp_path: Path) -> None:
    script = GitRunner(tmp_path).askpass()
    assert "tok3n" not in script.read_text()
    env = {
        "PATH": os.environ["PATH"],
        "GITWARD_GIT_USERNAME": "bot",
        "GITWARD_GIT_PASSWORD": "tok3n",
    }

    def ask(prompt: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), prompt], env=environ, capture_output=True, text=True, check=False
        )

    assert ask("Username for 'https://h': ", env).stdout == "bot\n"
    assert ask("Password for 'https://bot@h': ", env).stdout == "tok3n\n"
    assert ask("Password for 'https://h': ", {"PATH": os.environ["PATH"]}).returncode == 1


def test_ssh_command_uses_a_private_key_file_and_known_hosts(tmp_path: Path) -> None:
    runner = GitRunner(tmp_path / "bin", known_hosts="github.com ssh-ed25519 AAAAC3Nza\n")
    command = shlex.split(
        runner.ssh_command(tmp_path, RepoCredentials("git@h:o/r", ssh_private_key=KEY))
    )
    assert "IdentitiesOnly=yes" in command
    assert "StrictHostKeyChecking=yes" in command
    key = Path(command[command.index("-i") + 1])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN OPENSSH")
    known = next(c for c in command if c.startswith("UserKnownHostsFile="))
    assert Path(known.split("=", 1)[1]).read_text().startswith("github.com ssh-ed25519")
    assert "b3BlbnNzaC1rZXk" not in " ".join(command)


def test_insecure_ssh_skips_host_key_checking(tmp_path: Path) -> None:
    runner = GitRunner(tmp_path / "bin", known_hosts="x")
    command = runner.ssh_command(tmp_path, RepoCredentials("git@h:o/r", insecure=True))
    assert "StrictHostKeyChecking=no" in command
    assert "-i" not in shlex.split(command)
