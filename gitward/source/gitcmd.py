"""Running the ``git`` command: credentials out of argv, a deadline on every call.

Why these rules:

- Secrets travel only in the child's environment. ``GIT_ASKPASS`` points at a
  tiny script (no secrets in it) that echoes ``GITWARD_GIT_USERNAME`` /
  ``GITWARD_GIT_PASSWORD``; a bearer token becomes an ``http.extraHeader`` set
  through ``GIT_CONFIG_*`` variables; an SSH key is a 0600 file in a private
  temporary directory deleted after the call. argv, URLs and messages stay clean.
- ``credential.helper`` is emptied so a user's helper (``store``) never saves
  our credentials, and ``GIT_TERMINAL_PROMPT=0`` so git never waits on a tty.
- Every call has a timeout. git runs in its own process group
  (``start_new_session``) so that on timeout or cancellation the whole group —
  ``git-remote-http``, ``ssh`` — is killed, not just the parent: a hung server
  must never hang gitward.
- git's stderr goes into error messages (it says *why*), after every known
  secret and URL user-info is scrubbed from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitward._util.redact import redact
from gitward.model.repourl import redact_url
from gitward.source.credentials import RepoCredentials
from gitward.source.errors import (
    AuthenticationFailed,
    GitCommandError,
    GitTimeout,
    RepositoryNotFound,
)
from gitward.source.policy import RepoURLPolicy

log = logging.getLogger("gitward.source")

ASKPASS_SCRIPT = """#!/bin/sh
# gitward's GIT_ASKPASS: answers git's prompts from the environment of this git call.
case "$1" in
  Username*) [ -n "${GITWARD_GIT_USERNAME+x}" ] || exit 1; printf '%s\\n' "$GITWARD_GIT_USERNAME" ;;
  *) [ -n "${GITWARD_GIT_PASSWORD+x}" ] || exit 1; printf '%s\\n' "$GITWARD_GIT_PASSWORD" ;;
esac
"""

#: Inherited variables that would point git somewhere else or inject config.
_DROPPED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "SSH_ASKPASS",
    "GIT_ALLOW_PROTOCOL",
    "GIT_PROXY_COMMAND",
    "GIT_EXEC_PATH",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
)
_AUTH_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied (publickey",
    "returned error: 401",
    "returned error: 403",
    "access denied",
)
_NOT_FOUND = re.compile(r"repository '[^']*' not found")
_NOT_FOUND_MARKERS = (
    "repository not found",
    "does not appear to be a git repository",
    "returned error: 404",
    "no such repository",
)


@dataclass(frozen=True)
class GitResult:
    stdout: str
    stderr: str
    seconds: float


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` without any of ``secrets`` and without credentials (see :func:`redact`)."""
    return redact(text, secrets)


class GitRunner:
    """Runs git with gitward's fixed options; one per :class:`~gitward.source.GitSource`."""

    def __init__(
        self,
        helper_dir: Path,
        known_hosts: str | None = None,
        policy: RepoURLPolicy | None = None,
    ) -> None:
        self.helper_dir = helper_dir
        self.known_hosts = known_hosts
        self.policy = policy if policy is not None else RepoURLPolicy.create()
        self._askpass: Path | None = None

    def askpass(self) -> Path:
        """The askpass script, written once (it holds no secret, only variable names)."""
        if self._askpass is None:
            self.helper_dir.mkdir(parents=True, exist_ok=True)
            path = self.helper_dir / "askpass.sh"
            if not path.is_file() or path.read_text() != ASKPASS_SCRIPT:
                tmp = path.with_name(f".askpass.{os.getpid()}.tmp")
                tmp.write_text(ASKPASS_SCRIPT)
                tmp.chmod(0o700)
                tmp.replace(path)
            self._askpass = path
        return self._askpass

    @contextlib.contextmanager
    def _environment(self, url: str, creds: RepoCredentials | None) -> Iterator[dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS=str(self.askpass()), LC_ALL="C")
        env.pop("GITWARD_GIT_USERNAME", None)
        env.pop("GITWARD_GIT_PASSWORD", None)
        if creds is not None:
            if creds.password:
                env["GITWARD_GIT_USERNAME"] = creds.username or "git"
                env["GITWARD_GIT_PASSWORD"] = creds.password
            if creds.bearer_token:
                env["GIT_CONFIG_COUNT"] = "1"
                env["GIT_CONFIG_KEY_0"] = "http.extraHeader"
                env["GIT_CONFIG_VALUE_0"] = f"Authorization: Bearer {creds.bearer_token}"
            if creds.proxy:
                for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
                    env[name] = creds.proxy
        if not _is_ssh(url):
            yield env
            return
        with tempfile.TemporaryDirectory(prefix="gitward-ssh-") as tmp:
            env["GIT_SSH_COMMAND"] = self.ssh_command(Path(tmp), creds)
            yield env

    def ssh_command(self, tmp: Path, creds: RepoCredentials | None) -> str:
        """``GIT_SSH_COMMAND`` for one call; writes the key and known hosts under ``tmp``."""
        parts = ["ssh", "-o", "BatchMode=yes"]
        if creds is not None and creds.ssh_private_key:
            key = tmp / "id"
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(creds.ssh_private_key.rstrip("\n") + "\n")
            parts += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
        if creds is not None and creds.insecure:
            parts += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        else:
            parts += ["-o", "StrictHostKeyChecking=yes"]
            if self.known_hosts is not None:
                known = tmp / "known_hosts"
                known.write_text(self.known_hosts)
                parts += ["-o", f"UserKnownHostsFile={known}"]
        return shlex.join(parts)

    async def run(
        self,
        args: Sequence[str],
        *,
        url: str,
        timeout: float,
        creds: RepoCredentials | None = None,
        git_dir: Path | None = None,
        env_extra: dict[str, str] | None = None,
    ) -> GitResult:
        """Run ``git <args>``; raise a :class:`GitCommandError` subclass on failure.

        ``url`` is checked against the URL policy on every call (it raises
        :class:`~gitward.source.policy.RepoURLRefused`), and git may use only the
        transports that check allowed (``GIT_ALLOW_PROTOCOL``), so a URL that got
        here some other way still cannot reach ``ext::`` or a local path.
        """
        protocols = self.policy.check(url)
        command = next((a for a in args if not a.startswith("-")), "git")
        argv = ["git", "-c", "protocol.version=2", "-c", "credential.helper="]
        if creds is not None and creds.insecure:
            argv += ["-c", "http.sslVerify=false"]
        if git_dir is not None:
            argv.append(f"--git-dir={git_dir}")
        argv += list(args)
        secrets = creds.secrets() if creds else []
        started = time.monotonic()
        log.debug("git %s %s", command, redact_url(url))
        with self._environment(url, creds) as env:
            env.update(env_extra or {})
            env["GIT_ALLOW_PROTOCOL"] = protocols
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), timeout)
            except TimeoutError:
                await _kill_group(proc)
                log.warning("git %s %s: killed after %gs", command, redact_url(url), timeout)
                raise GitTimeout(url, command, f"no answer within {timeout:g}s (killed)") from None
            except BaseException:
                await _kill_group(proc)
                raise
        seconds = time.monotonic() - started
        stderr = scrub(err.decode(errors="replace"), secrets)
        log.debug("git %s %s: exit %s in %.3fs", command, redact_url(url), proc.returncode, seconds)
        if proc.returncode != 0:
            raise classify(url, command, proc.returncode or 0, stderr, creds)
        return GitResult(out.decode(errors="replace"), stderr, seconds)


def classify(
    url: str, command: str, returncode: int, stderr: str, creds: RepoCredentials | None
) -> GitCommandError:
    """The most specific error for a failed git call, from what git printed."""
    low = stderr.lower()
    if any(marker in low for marker in _AUTH_MARKERS):
        detail = (
            "authentication failed: the credentials for this repository were rejected"
            if creds is not None and (creds.has_secret or creds.username)
            else "authentication required: no credentials are configured for this repository"
        )
        return AuthenticationFailed(url, command, detail, stderr)
    if any(marker in low for marker in _NOT_FOUND_MARKERS) or _NOT_FOUND.search(low):
        return RepositoryNotFound(url, command, "repository not found", stderr)
    return GitCommandError(url, command, f"exit status {returncode}", stderr)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL git's whole process group and reap git."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()


def _is_ssh(url: str) -> bool:
    if url.startswith("ssh://") or url.startswith("git+ssh://"):
        return True
    return "://" not in url and ":" in url.split("/", 1)[0] and not url.startswith("/")
