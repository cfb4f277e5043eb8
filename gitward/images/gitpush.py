"""Commit an image change and push it, surviving a race with other pushers.

CI jobs of several services often update one GitOps repository at the same
moment; the loser of each race gets a non-fast-forward rejection. Merging or
rebasing a YAML edit can conflict, so instead the loser starts again from the
new remote tip: fetch, reset to it (only its own commit is dropped — it
refuses to start on a tree with uncommitted changes), re-apply the same image
change to the new files, commit, push. An update that somebody else already
made is a success with nothing to commit. No change is ever lost, and none is
applied twice.

Two ways in: a checkout the caller already has (``--path``, CI's case: its
remote, credentials and identity are the checkout's own), or a private clone
made from an Application's repository with the installation's credentials
(through :class:`~gitward.source.gitcmd.GitRunner`, so the URL policy and the
credential rules apply).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from gitward._util.redact import redact
from gitward.model.errors import SourceError
from gitward.source.credentials import RepoCredentials
from gitward.source.gitcmd import GitRunner

GIT_TIMEOUT = 120.0
PUSH_ATTEMPTS = 20
_REJECTED = ("non-fast-forward", "fetch first", "rejected", "failed to update ref", "stale info")
_KEPT_ENV = (
    "GIT_SSH_COMMAND",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
)
_IDENTITY = ("-c", "user.name=gitward", "-c", "user.email=gitward@users.noreply.gitward.invalid")


class PushFailed(SourceError):
    """The change could not be committed or pushed; nothing was left half done on the remote."""


@dataclass(frozen=True)
class PushResult:
    commit: str  # "" when there was nothing to commit
    pushed: bool
    attempts: int


@dataclass
class Remote:
    """How to reach the remote: ``runner`` + ``url`` + ``creds`` for a private clone, else the
    checkout's own ``origin``."""

    branch: str
    runner: GitRunner | None = None
    url: str = ""
    creds: RepoCredentials | None = None


async def local_git(cwd: Path, *args: str, timeout: float = GIT_TIMEOUT) -> str:
    """Run git in a checkout without network credentials of ours; raise with its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEPT_ENV}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=str(cwd),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PushFailed(f"git {args[0]} in {cwd}: no answer within {timeout:g}s") from None
    if proc.returncode != 0:
        command = next((a for a in args if not a.startswith("-") and "=" not in a), "git")
        detail = redact(err.decode(errors="replace").strip())
        raise PushFailed(f"git {command} in {cwd}: {detail}")
    return out.decode(errors="replace")


async def _identity(checkout: Path) -> tuple[str, ...]:
    """gitward's commit identity, unless the checkout (or the environment) has one."""
    if os.environ.get("GIT_AUTHOR_EMAIL") and os.environ.get("GIT_COMMITTER_EMAIL"):
        return ()
    try:
        if (await local_git(checkout, "config", "--get", "user.email")).strip():
            return ()
    except PushFailed:
        pass
    return _IDENTITY


async def require_clean(checkout: Path) -> None:
    """Refuse to work on a checkout with uncommitted changes to tracked files."""
    status = await local_git(checkout, "status", "--porcelain", "--untracked-files=no")
    if status.strip():
        raise PushFailed(
            f"{checkout}: the working tree has uncommitted changes; commit or stash them "
            "first (gitward resets to the remote tip if its push loses a race)"
        )


async def current_branch(checkout: Path) -> str:
    name = (await local_git(checkout, "rev-parse", "--abbrev-ref", "HEAD")).strip()
    if name == "HEAD":
        raise PushFailed(f"{checkout}: detached HEAD; say which branch to push with --branch")
    return name


def branch_of(revision: str) -> str:
    """The branch an Application's ``targetRevision`` names; "" for a tag, SHA, range or HEAD."""
    rev = revision.strip()
    if rev.startswith("refs/heads/"):
        return rev[len("refs/heads/") :]
    if rev in ("", "HEAD") or any(c in rev for c in "*<>=~^ ") or rev.startswith("refs/"):
        return ""
    if len(rev) == 40 and all(c in "0123456789abcdef" for c in rev.lower()):
        return ""
    return rev


@contextlib.asynccontextmanager
async def private_clone(remote: Remote) -> AsyncIterator[Path]:
    """A shallow clone of ``remote.branch`` in a private temporary directory."""
    assert remote.runner is not None
    with tempfile.TemporaryDirectory(prefix="gitward-image-") as tmp:
        path = Path(tmp) / "repo"
        await remote.runner.run(
            [
                "clone",
                "--quiet",
                "--depth=1",
                f"--branch={remote.branch}",
                "--",
                remote.url,
                str(path),
            ],
            url=remote.url,
            timeout=GIT_TIMEOUT,
            creds=remote.creds,
        )
        yield path


async def _push(checkout: Path, remote: Remote) -> str:
    """Push HEAD; returns "" on success, the rejection text on a lost race."""
    refspec = f"HEAD:refs/heads/{remote.branch}"
    try:
        if remote.runner is not None:
            await remote.runner.run(
                ["-C", str(checkout), "push", "--quiet", "--", remote.url, refspec],
                url=remote.url,
                timeout=GIT_TIMEOUT,
                creds=remote.creds,
            )
        else:
            await local_git(checkout, "push", "--quiet", "origin", refspec)
    except SourceError as exc:
        text = str(exc)
        if any(marker in text.lower() for marker in _REJECTED):
            return text
        raise PushFailed(f"push to {remote.branch} failed: {text}") from None
    return ""


async def _reset_to_remote(checkout: Path, remote: Remote) -> None:
    ref = f"+refs/heads/{remote.branch}:refs/remotes/gitward/{remote.branch}"
    if remote.runner is not None:
        await remote.runner.run(
            ["-C", str(checkout), "fetch", "--quiet", "--depth=1", "--", remote.url, ref],
            url=remote.url,
            timeout=GIT_TIMEOUT,
            creds=remote.creds,
        )
    else:
        await local_git(checkout, "fetch", "--quiet", "origin", ref)
    await local_git(checkout, "reset", "--quiet", "--hard", f"refs/remotes/gitward/{remote.branch}")


async def commit_and_push(
    checkout: Path,
    apply: Callable[[Path], Awaitable[list[str]]],
    message: str,
    remote: Remote,
    *,
    push: bool,
) -> PushResult:
    """Apply the change (``apply`` returns the files it wrote), commit, push, retry on races."""
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        files = await apply(checkout)
        if not files:
            return PushResult("", False, attempt)
        await local_git(checkout, "add", "--", *files)
        await local_git(checkout, *await _identity(checkout), "commit", "--quiet", "-m", message)
        commit = (await local_git(checkout, "rev-parse", "HEAD")).strip()
        if not push:
            return PushResult(commit, False, attempt)
        rejected = await _push(checkout, remote)
        if not rejected:
            return PushResult(commit, True, attempt)
        # full jitter, growing: N pushers that all lost spread out instead of colliding again
        await asyncio.sleep(random.uniform(0, min(3.0, 0.1 * 2**attempt)))  # noqa: S311
        await _reset_to_remote(checkout, remote)
    raise PushFailed(
        f"push to {remote.branch} lost the race {PUSH_ATTEMPTS} times; nothing was pushed"
    )
