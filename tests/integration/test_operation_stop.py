"""How an operation ends when whoever runs it stops: on a real control plane, real git.

- ``gitward app sync --timeout N`` and a SIGINT, SIGTERM or SIGHUP to a running
  ``gitward app sync`` (the CLI runs the operation itself), and the terminal it runs in
  closed: the operation is terminated as ``app terminate-op`` terminates it (the
  running hook Job deleted, the record ``Failed`` saying why, the lock released), and
  the process exits non-zero.
- A record left ``Running`` or ``Terminating`` without its lock (the ``operation``
  field): the controller's next pass ends it, deleting the hook Job that operation
  created.
- The API server's ``DELETE .../operation`` while a hook runs only marks the operation
  ``Terminating``: its answer and its audit Event say so, and a second request leaves
  the mark (and the hook) for the controller instead of dropping the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gitward.appstate import lock
from gitward.cluster import KubeClient, NotFound
from gitward.services import Services, build_controller
from gitward.sync import hooks, terminate
from tests.support.apiserver import call, serving
from tests.support.apps import (
    app_in_operation,
    configmap,
    offline_app,
    running_hook,
    suspended_hook_job,
    unique,
    yaml_docs,
)
from tests.support.brief import gitward
from tests.support.controller import API, application
from tests.support.git import GitRepo
from tests.support.gwserver import ADMIN_PASSWORD
from tests.support.poll import delete_and_wait, eventually, eventually_sync
from tests.support.serverprocess import Gitward

Obj = dict[str, Any]
pytestmark = pytest.mark.cluster
HOME = "argocd"


async def operation_state(kube: KubeClient, name: str, home: str = HOME) -> Obj:
    app = await kube.get(API, "Application", name, home)
    return dict((app.get("status") or {}).get("operationState") or {})


async def gone_or_deleting(kube: KubeClient, name: str, namespace: str) -> bool:
    try:
        live = await kube.get("batch/v1", "Job", name, namespace)
    except NotFound:
        return True
    return bool(live["metadata"].get("deletionTimestamp"))


async def lockless_operation(
    kube: KubeClient,
    app: Obj,
    repo: GitRepo,
    dest: str,
    operation_id: str,
    phase: str = "Running",
    message: str = "waiting for the hook",
) -> Obj:
    """``app`` created with a record ``phase`` and no lock, as if another tool had removed
    its ``operation``: the record lists a hook Job ``never`` running in ``dest``, and that
    Job exists, marked with ``operation_id``. The stored Application."""
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": dest}})
    mark = {hooks.OWNER: hooks.owner_token(operation_id, 0, "PreSync", 0)}
    made = suspended_hook_job({"name": "never"}, annotations=mark)
    made["metadata"]["namespace"] = dest
    await kube.create(made)
    return await app_in_operation(
        kube,
        app,
        revision=repo.head(),
        hooks=(running_hook("never", dest),),
        phase=phase,
        message=message,
        operation_id=operation_id,
        locked=False,
    )


async def hanging_app(kube: KubeClient, repo: GitRepo, name: str, dest: str) -> None:
    """An app whose PreSync hook Job never completes, so its sync never ends on its own."""
    repo.commit({"app/all.yaml": yaml_docs(suspended_hook_job({"name": "never"}), configmap("x"))})
    await kube.create(application(name, repo, dest, None))


async def cleanup(kube: KubeClient, name: str, dest: str, home: str = HOME) -> None:
    with contextlib.suppress(NotFound):
        await kube.patch(API, "Application", name, home, {"operation": None})
    await delete_and_wait(kube, API, "Application", name, home)
    with contextlib.suppress(NotFound):
        await kube.delete("v1", "Namespace", dest, None, propagation="Background")


def sync_argv(kubeconfig: Path, name: str) -> list[str]:
    """``gitward app sync NAME`` with a timeout it never reaches here."""
    argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig)]
    return [*argv, "--namespace", HOME, "app", "sync", name, "--timeout", "300"]


def start_sync(kubeconfig: Path, name: str, *prefix: str) -> subprocess.Popen[str]:
    """``gitward app sync NAME`` as a user starts it (after ``prefix``: ``nohup``), left
    running."""
    return subprocess.Popen(
        [*prefix, *sync_argv(kubeconfig, name)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


@contextlib.asynccontextmanager
async def hanging_cli_sync(
    kube: KubeClient, kubeconfig: Path, repo: GitRepo, prefix: str, *before: str
) -> AsyncIterator[tuple[str, str, subprocess.Popen[str]]]:
    """A ``gitward app sync`` (run after ``before``: ``nohup``) of a :func:`hanging_app`,
    its hook Job running: the app's name, its destination and the process. Killed if
    still running at the end, and the app and its namespace deleted."""
    name, dest = unique(prefix), unique(prefix)
    await hanging_app(kube, repo, name, dest)
    proc = start_sync(kubeconfig, name, *before)
    try:
        running = lambda: hook_running(kube, name, dest)  # noqa: E731
        await eventually(running, "the sync's hook Job to run", timeout=60)
        yield name, dest, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await cleanup(kube, name, dest)


async def ended(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The output of ``proc`` once it has exited (within a minute)."""
    return await asyncio.to_thread(proc.communicate, timeout=60)


#: Runs argv[1:] with its standard input (a terminal) as the controlling terminal of the new
#: session it leads, as a shell in a terminal window runs a command.
IN_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def start_in_terminal(kubeconfig: Path, name: str) -> tuple[subprocess.Popen[bytes], int]:
    """``gitward app sync NAME`` run in a terminal of its own; the process, and the
    terminal's master side (closing it closes the terminal, as closing a window does)."""
    master, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", IN_TERMINAL, *sync_argv(kubeconfig, name)],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
            env={**os.environ, "COLUMNS": "200"},
        )
    finally:
        os.close(terminal)
    return proc, master


async def hook_running(kube: KubeClient, name: str, dest: str) -> bool:
    """Whether the sync of ``name`` recorded its hook Job running, and the Job is there."""
    found = (await operation_state(kube, name)).get("syncResult") or {}
    recorded = any(r.get("hookPhase") == "Running" for r in found.get("resources") or [])
    return recorded and not await gone_or_deleting(kube, "never", dest)


async def assert_terminated(kube: KubeClient, name: str, dest: str, why: str) -> Obj:
    """The operation ended Failed saying ``why``, its hook deleted, its lock released."""
    state = await operation_state(kube, name)
    assert state["phase"] == "Failed", state
    assert state["message"].startswith("Operation terminated"), state["message"]
    assert why in state["message"], state["message"]
    assert "job.batch/never" in state["message"], "it says what it was waiting for"
    assert state["finishedAt"]
    entry = next(r for r in state["syncResult"]["resources"] if r["name"] == "never")
    assert entry["hookPhase"] == "Failed"
    assert "terminated" in entry["message"]
    await eventually(lambda: gone_or_deleting(kube, "never", dest), "the hook Job deleted")
    assert "operation" not in await kube.get(API, "Application", name, HOME), "lock released"
    return state


async def test_a_cli_sync_past_its_timeout_terminates_the_operation(
    installed: KubeClient, kubeconfig: Path, git_repo: Callable[[str], GitRepo]
) -> None:
    name, dest = unique("cli-to"), unique("cli-to")
    await hanging_app(installed, git_repo("cli-to"), name, dest)
    try:
        done = await asyncio.to_thread(
            gitward, kubeconfig, "--namespace", HOME, "app", "sync", name, "--timeout", "6"
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Operation terminated" in done.stdout, done.stdout
        await assert_terminated(installed, name, dest, "--timeout of 6 s")
    finally:
        await cleanup(installed, name, dest)


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.mark.parametrize("sig", SIGNALS, ids=[s.name for s in SIGNALS])
async def test_a_signal_to_a_cli_sync_terminates_the_operation(
    installed: KubeClient,
    kubeconfig: Path,
    git_repo: Callable[[str], GitRepo],
    sig: signal.Signals,
) -> None:
    repo = git_repo("cli-sig")
    async with hanging_cli_sync(installed, kubeconfig, repo, "cli-sig") as (name, dest, proc):
        proc.send_signal(sig)
        out, err = await ended(proc)
        assert proc.returncode == 128 + sig, (proc.returncode, out, err)
        assert "Operation terminated" in out, out + err
        await assert_terminated(installed, name, dest, f"interrupted ({sig.name})")


async def test_closing_the_terminal_of_a_cli_sync_terminates_the_operation(
    installed: KubeClient, kubeconfig: Path, git_repo: Callable[[str], GitRepo]
) -> None:
    """The terminal window a ``gitward app sync`` runs in is closed: the kernel hangs the
    terminal up and sends SIGHUP. The operation is terminated as on SIGTERM, though every
    write to that terminal now fails, and the CLI exits 129."""
    name, dest = unique("cli-hup"), unique("cli-hup")
    await hanging_app(installed, git_repo("cli-hup"), name, dest)
    proc, master = start_in_terminal(kubeconfig, name)
    shown = bytearray()
    loop = asyncio.get_running_loop()

    def read() -> None:  # what the window shows; a full terminal would block the CLI
        try:
            shown.extend(os.read(master, 65536))
        except OSError:
            loop.remove_reader(master)

    loop.add_reader(master, read)
    try:
        running = lambda: hook_running(installed, name, dest)  # noqa: E731
        await eventually(running, "the sync's hook Job to run", timeout=60)
        assert b"PreSync" in shown, shown  # its progress went to the terminal
        loop.remove_reader(master)
        os.close(master)  # the window is closed
        master = -1
        code = await asyncio.to_thread(proc.wait, 60)
        assert code == 128 + signal.SIGHUP, (code, shown.decode(errors="replace"))
        await assert_terminated(installed, name, dest, "interrupted (SIGHUP)")
    finally:
        if master >= 0:
            loop.remove_reader(master)
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await cleanup(installed, name, dest)


async def test_a_cli_sync_under_nohup_outlives_a_sighup(
    installed: KubeClient, kubeconfig: Path, git_repo: Callable[[str], GitRepo]
) -> None:
    """Started with SIGHUP ignored (``nohup``), the sync is meant to outlive its terminal:
    SIGHUP leaves it running, and the SIGTERM after it is what ends the operation."""
    repo = git_repo("cli-nohup")
    async with hanging_cli_sync(installed, kubeconfig, repo, "cli-nohup", "nohup") as (
        name,
        dest,
        proc,
    ):
        proc.send_signal(signal.SIGHUP)
        proc.send_signal(signal.SIGTERM)
        out, err = await ended(proc)
        assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, out, err)
        # The first signal that reaches the sync is the one it records.
        await assert_terminated(installed, name, dest, "interrupted (SIGTERM)")
        assert "SIGHUP" not in out + err


async def test_a_cli_sync_stops_when_its_lock_is_removed(
    installed: KubeClient, kubeconfig: Path, git_repo: Callable[[str], GitRepo]
) -> None:
    """Someone clears ``operation`` while a CLI runs the sync (``kubectl patch``, a way out
    of a stuck sync): the CLI stops at its next step, says so and exits non-zero. It
    applies nothing more and ends nothing: the record is no longer its own (a
    controller ends a lockless record, deleting its hook)."""
    repo = git_repo("cli-lost")
    async with hanging_cli_sync(installed, kubeconfig, repo, "cli-lost") as (name, dest, proc):
        await installed.patch(API, "Application", name, HOME, {"operation": None})
        out, err = await ended(proc)
        assert proc.returncode == 2, (proc.returncode, out, err)  # gitward's error status
        assert f"application {name}: its operation's lock was removed meanwhile" in err, err
        state = await operation_state(installed, name)
        assert state["phase"] == "Running", "the CLI wrote nothing after it lost the lock"
        with pytest.raises(NotFound):
            await installed.get("v1", "ConfigMap", "x", dest)  # the Sync phase never ran
        assert not await gone_or_deleting(installed, "never", dest), "nor deleted its hook"


async def test_a_cli_sync_honours_a_termination_the_api_server_asked_for(
    installed: KubeClient, kubeconfig: Path, git_repo: Callable[[str], GitRepo]
) -> None:
    """The API server marks the operation a CLI runs ``Terminating`` (Argo CD's terminate
    while a hook runs): the CLI reads the record again before each step, so it ends the
    operation itself, its hook deleted, and exits non-zero."""
    repo = git_repo("cli-ask")
    async with hanging_cli_sync(installed, kubeconfig, repo, "cli-ask") as (name, dest, proc):
        app = await installed.get(API, "Application", name, HOME)
        asked = await lock.request_termination(installed, app)
        assert phase_of(asked) == "Terminating"
        out, err = await ended(proc)
        assert proc.returncode == 1, (proc.returncode, out, err)
        assert "Operation terminated" in out, out + err
        state = await operation_state(installed, name)
        assert (state["phase"], state["message"]) == ("Failed", terminate.TERMINATED), state
        entry = next(r for r in state["syncResult"]["resources"] if r["name"] == "never")
        assert entry["hookPhase"] == "Failed", entry
        await eventually(lambda: gone_or_deleting(installed, "never", dest), "the hook deleted")
        assert "operation" not in await installed.get(API, "Application", name, HOME)


async def test_a_cli_sync_ends_a_record_left_without_its_lock_before_it_starts(
    installed: KubeClient, kubeconfig: Path, git_repo: Callable[[str], GitRepo]
) -> None:
    """``gitward app sync`` with no controller running, over a record left Running without
    its lock: the hook that operation started is deleted and its record ended before
    the new sync takes the lock, as the controller would (else the old hook ran on
    beside the new operation)."""
    name, dest = unique("cli-orphan"), unique("cli-orphan")
    repo = git_repo("cli-orphan")
    repo.commit({"app/all.yaml": yaml_docs(configmap("x"))})
    app = application(name, repo, dest, None)
    await lockless_operation(installed, app, repo, dest, "fedcba9876543210")
    try:
        done = await asyncio.to_thread(
            gitward, kubeconfig, "--namespace", HOME, "app", "sync", name, "--timeout", "60"
        )
        assert done.returncode == 0, done.stdout + done.stderr
        await eventually(lambda: gone_or_deleting(installed, "never", dest), "the old hook gone")
        state = await operation_state(installed, name)
        assert state["phase"] == "Succeeded", state
        assert await installed.get("v1", "ConfigMap", "x", dest)
    finally:
        await cleanup(installed, name, dest)


@pytest.mark.parametrize("phase", ["Terminating", "Running"])
async def test_a_record_in_progress_without_its_lock_is_ended_by_the_controller(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo], phase: str
) -> None:
    """Something removed the ``operation`` field of an operation in progress (``kubectl
    patch`` is a common way out of a stuck Argo CD sync), or the process that
    marked it Terminating died before it ended it: nothing would take a step of it, so
    the controller's next pass ends it, deleting the hook Job that operation created."""
    kube, home = installed, namespace
    name, dest = unique("orphan"), unique("orphan")
    repo = git_repo("orphan")
    repo.commit({"app/all.yaml": yaml_docs(configmap("x"))})
    app = application(name, repo, dest, None)
    app["metadata"]["namespace"] = home
    message = lock.TERMINATING if phase == "Terminating" else "waiting for the hook"
    stored = await lockless_operation(
        kube, app, repo, dest, "0123456789abcdef", phase=phase, message=message
    )
    state = stored["status"]["operationState"]
    assert "operation" not in await kube.get(API, "Application", name, home)
    ctl = build_controller(await Services.load(kube, home, long_lived=True), workers=2)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:

        async def ended() -> Obj | None:
            found = await operation_state(kube, name, home)
            return found if found.get("phase") != phase else None

        done = await eventually(ended, f"the {phase} record to end", timeout=30)
        assert done["phase"] == "Failed", done
        assert done["message"] == f"{terminate.TERMINATED}: {terminate.UNLOCKED}", done
        assert done["finishedAt"]
        assert done["startedAt"] == state["startedAt"], "the rest of the record stays"
        entry = done["syncResult"]["resources"][0]
        assert entry["hookPhase"] == "Failed", entry
        await eventually(lambda: gone_or_deleting(kube, "never", dest), "the hook Job deleted")
        assert "operation" not in await kube.get(API, "Application", name, home)
    finally:
        stop.set()
        await asyncio.wait_for(task, 40)
        await cleanup(kube, name, dest, home)


def phase_of(app: Obj | None) -> str:
    return str(((app or {}).get("status") or {}).get("operationState", {}).get("phase") or "")


async def test_the_api_servers_terminate_says_the_operation_is_terminating(
    installed: KubeClient,
) -> None:
    """A hook runs, so the API server (which deletes nothing on a destination) only marks
    the operation Terminating; its answer and audit Event say that, not "terminated"."""
    kube = installed
    name = unique("term-api")
    await app_in_operation(kube, offline_app(name, HOME), hooks=(running_hook("never", name),))
    try:
        async with serving(kube) as served:

            async def seen(phase: str) -> bool:
                return phase_of(served.store.get(name, HOME)) == phase

            await eventually(lambda: seen("Running"), "the running record in the informer")
            url = f"{served.url}/api/v1/applications/{name}/operation"
            status, answer = await call("DELETE", url)
            assert status == 200, answer
            assert answer["phase"] == "Terminating", answer
            assert "terminated" not in answer["message"], answer
            stored = await kube.get(API, "Application", name, HOME)
            assert phase_of(stored) == "Terminating"
            assert stored.get("operation"), "the controller ends it, with its lock"

            async def event() -> Obj | None:
                found = await kube.list(
                    "v1", "Event", HOME, field_selector=f"involvedObject.name={name}"
                )
                return next((e for e in found if e["reason"] == "OperationTerminating"), None)

            said = await eventually(event, "the audit Event")
            assert said["message"].startswith("admin asked"), said["message"]
            assert "terminated running" not in said["message"]

            await eventually(lambda: seen("Terminating"), "the Terminating record in the informer")
            status, again = await call("DELETE", url)
            assert status == 200, again
            assert again["phase"] == "Terminating", again
            kept = await kube.get(API, "Application", name, HOME)
            assert phase_of(kept) == "Terminating", "left for the controller to end"
            assert kept.get("operation"), "a second request does not drop the lock"
    finally:
        await cleanup(kube, name, name)


async def test_terminate_op_prints_what_happened_in_both_its_paths(
    installed: KubeClient, namespace: str, gw: Gitward, server: str
) -> None:
    """Through the server the operation is only marked Terminating, and the CLI says so
    (Argo CD's words); with --core the CLI ends it itself; then nothing is left to end."""
    kube, home = installed, namespace
    name = unique("term-cli")
    await app_in_operation(kube, offline_app(name, home), hooks=(running_hook("never", name),))
    try:
        await asyncio.to_thread(
            gw.ok, "login", server, "--username", "admin", "--password", ADMIN_PASSWORD
        )

        def served_phase() -> str | None:
            shown = json.loads(gw.ok("app", "get", name, "-o", "json"))
            return "yes" if phase_of(shown) == "Running" else None

        await asyncio.to_thread(eventually_sync, served_phase, "the record in the server")
        asked = await asyncio.to_thread(gw, "app", "terminate-op", name)
        assert asked.returncode == 0, asked.stdout + asked.stderr
        assert asked.stdout.strip() == f"Application '{name}' operation terminating"
        assert phase_of(await kube.get(API, "Application", name, home)) == "Terminating"

        ended = await asyncio.to_thread(gw, "--core", "app", "terminate-op", name)
        assert ended.returncode == 0, ended.stdout + ended.stderr
        assert ended.stdout.strip() == f"operation of application '{name}' terminated"
        stored = await kube.get(API, "Application", name, home)
        assert phase_of(stored) == "Failed"
        assert "operation" not in stored

        nothing = await asyncio.to_thread(gw, "--core", "app", "terminate-op", name)
        assert nothing.returncode == 0, nothing.stdout + nothing.stderr
        assert nothing.stdout.strip() == f"application '{name}' has no operation in progress"
    finally:
        await cleanup(kube, name, name, home)
