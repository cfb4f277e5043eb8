"""Controller replicas and restarts: shards, takeover, requested and resumed operations.

The first test runs two real ``gitward controller --shards 2`` processes, kills
one with SIGKILL and times how long the survivor takes to act on the dead
replica's apps; the others run a controller in this process and drive it
through the Application's ``operation`` field, as Argo CD's CLI does, or leave
behind what a crashed controller would.

Each test keeps its Applications (and so its Leases and Events) in a fresh
namespace of its own, with its controllers watching only that one: other
tests' controllers watching ``argocd`` on the shared cluster would otherwise
reconcile these apps too, and a takeover or a resume could not be told from
their work. Everything a test makes is removed in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from gitward.appstate import Settings, lock
from gitward.cluster import KubeClient, NotFound
from gitward.controller import Controller
from gitward.controller.leases import LEASE_API, LeaseView
from gitward.controller.sharding import DEFAULT_PREFIX, shard_of
from gitward.services import Services, build_controller, refresher_for
from tests.support.apps import HOOK, configmap, unique, yaml_docs
from tests.support.controller import API, application, configmap_data
from tests.support.git import GitRepo
from tests.support.poll import eventually

Obj = dict[str, Any]
LEASE = 4.0
RENEW = LEASE / 3  # the coordinator's default renew interval
SHARDS = 2
APPS = 6


# -- Applications in the test's own namespace --------------------------------------------------


def app_in(home: str, name: str, repo: GitRepo, dest: str) -> Obj:
    """A manual (non-automated) Application ``home/name`` deploying ``app/`` to ``dest``."""
    obj = application(name, repo, dest, None)
    obj["metadata"]["namespace"] = home
    return obj


async def get_app(kube: KubeClient, home: str, name: str) -> Obj:
    return await kube.get(API, "Application", name, home)


async def app_or_none(kube: KubeClient, home: str, name: str) -> Obj | None:
    with contextlib.suppress(NotFound):
        return await get_app(kube, home, name)
    return None


async def delete_quietly(kube: KubeClient, api: str, kind: str, name: str, ns: str | None) -> None:
    with contextlib.suppress(NotFound):
        await kube.delete(api, kind, name, ns, propagation="Background")


def sync_status(app: Obj | None) -> str:
    return str((((app or {}).get("status") or {}).get("sync") or {}).get("status") or "")


def op_state(app: Obj | None) -> Obj:
    return dict(((app or {}).get("status") or {}).get("operationState") or {})


async def has_sync_status(kube: KubeClient, home: str, name: str) -> bool:
    return bool(sync_status(await app_or_none(kube, home, name)))


# -- controller processes ----------------------------------------------------------------------


class ControllerProcess:
    """``gitward controller --shards`` as a subprocess, logging JSON lines to a file."""

    def __init__(self, proc: asyncio.subprocess.Process, replica: str, log: Path) -> None:
        self.proc, self.replica, self.log = proc, replica, log

    @classmethod
    async def start(cls, kubeconfig: Path, home: str, replica: str, log: Path) -> ControllerProcess:
        with log.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gitward.cli",
                "--kubeconfig",
                str(kubeconfig),
                "--namespace",
                home,
                "controller",
                "--listen",
                "127.0.0.1:0",  # any free port: this test needs no endpoint
                "--shards",
                str(SHARDS),
                "--lease-duration",
                str(LEASE),
                "--replica-id",
                replica,
                "--log-format",
                "json",
                "--log-level",
                "debug",  # git's debug lines carry the app each reconcile is for
                "--workers",
                "2",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=sink,
            )
        return cls(proc, replica, log)

    @property
    def identity(self) -> str:
        """The holderIdentity its Leases carry: its ``--replica-id``."""
        return self.replica

    def lines(self) -> list[Obj]:
        """The JSON log lines written so far (a torn last line is skipped)."""
        found = []
        for raw in self.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(raw)
                if isinstance(entry, dict):
                    found.append(entry)
        return found

    def first_logged(self, home: str, since: float = 0.0) -> dict[str, float]:
        """App name -> epoch of its first log line at or after ``since`` (epoch)."""
        first: dict[str, float] = {}
        for entry in self.lines():
            app, at = str(entry.get("app", "")), _epoch(entry)
            if app.startswith(f"{home}/") and at >= since:
                first.setdefault(app.removeprefix(f"{home}/"), at)
        return first

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    async def stop(self, sig: int, timeout: float) -> int:
        self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def ensure_dead(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), 10)


def _epoch(entry: Obj) -> float:
    stamp = str(entry.get("time", "")).replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0


async def shard_leases(kube: KubeClient, home: str) -> dict[int, Obj]:
    found = {}
    for shard in range(SHARDS):
        with contextlib.suppress(NotFound):
            found[shard] = await kube.get(LEASE_API, "Lease", f"{DEFAULT_PREFIX}{shard}", home)
    return found


async def live_holders(kube: KubeClient, home: str) -> dict[int, str]:
    """The unexpired holder of each shard Lease ("" when free, expired or missing)."""
    now = datetime.datetime.now(datetime.UTC)
    leases = await shard_leases(kube, home)
    return {
        s: LeaseView.of(leases[s]).live_holder(now) if s in leases else "" for s in range(SHARDS)
    }


def names_per_shard(home: str, per_shard: int) -> list[str]:
    """App names, ``per_shard`` in each shard, so that both replicas surely get some."""
    chosen: dict[int, list[str]] = {s: [] for s in range(SHARDS)}
    while any(len(v) < per_shard for v in chosen.values()):
        name = unique("ha")
        shard = shard_of({"metadata": {"namespace": home, "name": name}}, SHARDS, "app")
        if len(chosen[shard]) < per_shard:
            chosen[shard].append(name)
    return [n for names in chosen.values() for n in names]


async def test_two_processes_share_shards_and_the_survivor_takes_over(
    installed: KubeClient,
    namespace: str,
    kubeconfig: Path,
    git_repo: Callable[[str], GitRepo],
    tmp_path: Path,
) -> None:
    kube, home = installed, namespace
    repo = git_repo("ha")
    repo.commit(
        {
            "app/cm.yaml": yaml_docs(configmap("one")),
            "alt/cm.yaml": yaml_docs(configmap("two"), configmap("three")),
        }
    )
    dest = unique("ha")  # manual apps: nothing is synced there, so it is never created
    names = names_per_shard(home, APPS // SHARDS)
    procs: list[ControllerProcess] = []
    try:
        for replica in (unique("r1"), unique("r2")):
            log = tmp_path / f"{replica}.log"
            procs.append(await ControllerProcess.start(kubeconfig, home, replica, log))
        by_identity = {p.identity: p for p in procs}

        async def split() -> dict[int, str] | None:
            for p in procs:
                assert p.proc.returncode is None, p.tail()
            holders = await live_holders(kube, home)
            return holders if set(holders.values()) == set(by_identity) else None

        holders = await eventually(split, "one shard Lease held by each process", timeout=30)
        for name in names:
            await kube.create(app_in(home, name, repo, dest))

        async def all_compared() -> bool:
            return all([await has_sync_status(kube, home, n) for n in names])

        await eventually(all_compared, "every app to get a sync status", timeout=60)
        assert await live_holders(kube, home) == holders, "shards moved while nothing failed"
        owner = {
            n: by_identity[holders[shard_of(await get_app(kube, home, n), SHARDS)]] for n in names
        }
        for p in procs:
            mine = {n for n in names if owner[n] is p}
            assert len(mine) == APPS // SHARDS
            # Its log shows reconciles of its own apps, never of the other replica's.
            logged = set(p.first_logged(home)) & set(names)
            assert logged, f"{p.replica} logged none of its apps {mine}"
            assert logged <= mine, f"{p.replica} worked on {logged - mine}, not its shard's"

        victim, survivor = procs[1], procs[0]
        lost = next(s for s, who in holders.items() if who == victim.identity)
        target = next(n for n in names if owner[n] is victim)
        app = await get_app(kube, home, target)
        assert app["status"]["sync"]["comparedTo"]["source"]["path"] == "app"
        assert await victim.stop(signal.SIGKILL, 10) == -signal.SIGKILL
        killed_at, killed_wall = time.monotonic(), time.time()
        edit = {"spec": {"source": {"path": "alt"}}}
        await kube.patch(API, "Application", target, home, edit)

        async def reflected() -> bool:
            app = await get_app(kube, home, target)
            compared = app["status"]["sync"].get("comparedTo") or {}
            return (compared.get("source") or {}).get("path") == "alt"

        await eventually(reflected, "the survivor to compare the edited app", timeout=3 * LEASE)
        took = time.monotonic() - killed_at
        started = survivor.first_logged(home, since=killed_wall).get(target, 0.0) - killed_wall
        print(
            f"SIGKILL -> survivor's first reconcile of the dead replica's app: {started:.2f} s; "
            f"edit visible in its status: {took:.2f} s (lease {LEASE:.0f} s, renew {RENEW:.2f} s)"
        )
        app = await get_app(kube, home, target)
        assert len(app["status"]["resources"]) == 2  # alt/ declares two ConfigMaps
        # Not before the dead replica's Lease can have expired (it renewed < RENEW ago) ...
        assert started > LEASE - RENEW - 0.5, started
        # ... and within the lease duration plus a renew interval and a reconcile.
        assert took < LEASE + RENEW + 2.0, took
        assert (await live_holders(kube, home))[lost] == survivor.identity

        stopping = time.monotonic()
        assert await survivor.stop(signal.SIGTERM, 15) == 0, survivor.tail()
        print(f"SIGTERM -> exit 0 in {time.monotonic() - stopping:.2f} s")
        leases = await shard_leases(kube, home)
        assert set(leases) == set(range(SHARDS))
        assert all("holderIdentity" not in lease["spec"] for lease in leases.values()), leases
        holders_left = {
            str((lease.get("spec") or {}).get("holderIdentity"))
            for lease in await kube.list(LEASE_API, "Lease", home)
        }
        assert survivor.identity not in holders_left, "its membership Lease was left behind"
        assert victim.identity in holders_left  # SIGKILL releases nothing: it just expires
        assert any(e.get("msg") == "gitward controller stopped" for e in survivor.lines())
    finally:
        for p in procs:
            await p.ensure_dead()
        for name in names:  # the namespace fixture deletes the Leases with the namespace
            await delete_quietly(kube, API, "Application", name, home)


# -- in-process controllers --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def replica_controller(
    kube: KubeClient, home: str, replica: str, interval: float
) -> AsyncIterator[tuple[Controller, asyncio.Event, asyncio.Task[None]]]:
    """A controller of the apps in ``home``, named ``replica`` as ``--replica-id`` names it."""
    settings = Settings(reconciliation_seconds=interval, reconciliation_jitter_seconds=0.0)
    parts = await Services.load(kube, home, long_lived=True, settings=settings)
    ctl = build_controller(parts, workers=4, replica=replica)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        yield ctl, stop, task
    finally:
        stop.set()
        await asyncio.wait_for(task, 40)


def count_passes(ctl: Controller) -> Counter[str]:
    """Reconcile passes per app name from now on (wraps the reconciler's entry point)."""
    passes: Counter[str] = Counter()
    original = ctl.reconciler.reconcile

    async def counted(name: str) -> bool:
        try:
            return await original(name)
        finally:
            passes[name] += 1

    ctl.reconciler.reconcile = counted  # type: ignore[method-assign]
    return passes


async def events_for(kube: KubeClient, home: str, name: str) -> list[Obj]:
    return await kube.list("v1", "Event", home, field_selector=f"involvedObject.name={name}")


# -- an operation requested through the Application --------------------------------------------


async def test_a_requested_operation_is_run_and_a_malformed_one_is_refused(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    kube, home = installed, namespace
    name, bad, dest = unique("req"), unique("reqbad"), unique("req")
    repo = git_repo("req")
    sha = repo.commit({"app/cms.yaml": yaml_docs(configmap("one"), configmap("two"))})
    try:
        async with replica_controller(kube, home, unique("req"), 1.0):
            for app_name in (name, bad):
                await kube.create(app_in(home, app_name, repo, dest))
                await eventually(lambda n=app_name: has_sync_status(kube, home, n), "a refresh")
            # What `argocd app sync NAME --prune --revision SHA` writes.
            operation = {
                "sync": {"revision": sha, "prune": True, "syncStrategy": {"hook": {}}},
                "initiatedBy": {"username": "alice"},
            }
            await kube.patch(API, "Application", name, home, {"operation": operation})

            async def finished() -> Obj | None:
                app = await get_app(kube, home, name)
                return app if op_state(app).get("finishedAt") else None

            app = await eventually(finished, "the requested sync to finish", timeout=60)
            state = op_state(app)
            assert state["phase"] == "Succeeded", state
            assert state["syncResult"]["revision"] == sha
            assert state["operation"]["initiatedBy"] == {"username": "alice"}
            assert await configmap_data(kube, "one", dest) == {"k": "one"}
            assert await configmap_data(kube, "two", dest) == {"k": "two"}
            assert app["status"]["history"][-1]["initiatedBy"]["username"] == "alice"
            assert app["status"]["history"][-1]["revision"] == sha

            async def cleared(app_name: str) -> Obj | None:
                app = await get_app(kube, home, app_name)
                return app if "operation" not in app else None

            await eventually(lambda: cleared(name), "the operation field to be cleared")

            malformed = {
                "sync": {"prune": True, "resources": [{"group": "", "name": "one"}]},
                "initiatedBy": {"username": "alice"},
            }
            await kube.patch(API, "Application", bad, home, {"operation": malformed})

            async def refused() -> Obj | None:
                app = await cleared(bad)
                return app if app and op_state(app).get("finishedAt") else None

            app = await eventually(refused, "the malformed operation to be refused and cleared")
            state = op_state(app)
            assert state["phase"] == "Error", state
            assert "operation.sync.resources[0].kind" in state["message"], state["message"]
            assert "history" not in app["status"]
    finally:
        for app_name in (name, bad):
            await delete_quietly(kube, API, "Application", app_name, home)
        await delete_quietly(kube, "v1", "Namespace", dest, None)


# -- an operation left behind by a crashed controller ------------------------------------------


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def leave_running(kube: KubeClient, home: str, name: str, holder: str) -> None:
    """What a controller that dies mid-sync leaves: its lock, and Running in the status."""
    requested = {"sync": {"prune": True, "syncStrategy": {"hook": {}}}}
    requested["initiatedBy"] = {"username": "bob"}
    info = [{"name": lock.HEARTBEAT, "value": _now()}, {"name": lock.HOLDER, "value": holder}]
    await kube.patch(API, "Application", name, home, {"operation": {**requested, "info": info}})
    state = {
        "operation": requested,
        "phase": "Running",
        "message": "running Sync wave 0",
        "startedAt": _now(),
    }
    await kube.patch(
        API,
        "Application",
        name,
        home,
        {"status": {"operationState": state}},
        subresource="status",
    )


async def test_an_interrupted_operation_is_resumed_and_a_live_cli_sync_left_alone(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    """The record is the operation's state: an earlier process of this replica's, and another
    controller replica's (a shard moved), are both resumed; a CLI's live sync is the CLI's."""
    kube, home = installed, namespace
    replica = unique("replica")
    mine, moved, cli = unique("resume"), unique("moved"), unique("cli")
    dest = unique("resume")
    repo = git_repo("resume")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    try:
        for app_name in (mine, moved, cli):
            await kube.create(app_in(home, app_name, repo, dest))
        await leave_running(kube, home, mine, f"controller@{replica}/deadbeef")
        await leave_running(kube, home, moved, "controller@other/1234")
        await leave_running(kube, home, cli, "gitward-cli@laptop/1234")
        async with replica_controller(kube, home, replica, 0.5) as (ctl, _stop, _task):
            passes = count_passes(ctl)

            async def resumed(app_name: str) -> Obj | None:
                app = await get_app(kube, home, app_name)
                done = op_state(app).get("finishedAt") and "operation" not in app
                return app if done else None

            app = await eventually(lambda: resumed(mine), "the interrupted sync to be run again")
            assert op_state(app)["phase"] == "Succeeded", op_state(app)
            assert await configmap_data(kube, "one", dest) == {"k": "one"}
            assert app["status"]["history"][-1]["initiatedBy"]["username"] == "bob"
            reasons = [e.get("reason") for e in await events_for(kube, home, mine)]
            assert reasons.count("OperationResumed") == 1, reasons
            resumed_event = next(
                e for e in await events_for(kube, home, mine) if e["reason"] == "OperationResumed"
            )
            assert f"controller@{replica}/deadbeef" in resumed_event["message"]
            other = await eventually(lambda: resumed(moved), "another replica's sync resumed")
            assert op_state(other)["phase"] == "Succeeded", op_state(other)

            # A live heartbeat of a CLI's operation is left alone, pass after pass.
            await eventually(lambda: _at_least(passes, cli, 3), "three passes over it")
            app = await get_app(kube, home, cli)
            assert op_state(app)["phase"] == "Running", op_state(app)
            assert lock.holder_of(app) == "gitward-cli@laptop/1234"
            assert await events_for(kube, home, cli) == []
            assert "history" not in app["status"]
    finally:
        for app_name in (mine, moved, cli):
            await delete_quietly(kube, API, "Application", app_name, home)
        await delete_quietly(kube, "v1", "Namespace", dest, None)


async def _at_least(passes: Counter[str], name: str, count: int) -> bool:
    return passes[name] >= count


# -- graceful shutdown in the middle of a sync -------------------------------------------------


async def test_a_stopped_controller_leaves_its_sync_to_the_next_one(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    """Stop while a PostSync hook runs: run() returns at once (no worker waits on a hook); the
    next controller goes on from the record, and the hook Job is not created again."""
    kube, home = installed, namespace
    name, dest = unique("drain"), unique("drain")
    # A suspended Job never completes: the sync waits on it until the test resumes it.
    hook = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "smoke", "annotations": {HOOK: "PostSync"}},
        "spec": {
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "s", "image": "busybox:1.36", "args": ["true"]}],
                }
            },
        },
    }
    repo = git_repo("drain")
    repo.commit({"app/all.yaml": yaml_docs(configmap("one"), hook)})
    replica = unique("drain")
    try:
        async with replica_controller(kube, home, replica, 1.0) as (_ctl, stop, task):
            await kube.create(app_in(home, name, repo, dest))
            await eventually(lambda: has_sync_status(kube, home, name), "the app's first refresh")
            operation = {"sync": {"prune": True}, "initiatedBy": {"username": "carol"}}
            await kube.patch(API, "Application", name, home, {"operation": operation})

            async def waiting_on_hook() -> Obj | None:
                # The hook Job exists once the PostSync phase has started.
                with contextlib.suppress(NotFound):
                    job = await kube.get("batch/v1", "Job", "smoke", dest)
                    state = op_state(await get_app(kube, home, name))
                    results = state.get("syncResult", {}).get("resources", [])
                    running = [r for r in results if r.get("hookPhase") == "Running"]
                    return job if state.get("phase") == "Running" and running else None
                return None

            job = await eventually(waiting_on_hook, "the sync to wait on its PostSync hook")
            stop.set()
            await asyncio.wait_for(asyncio.shield(task), 10)
        assert op_state(await get_app(kube, home, name))["phase"] == "Running"
        async with replica_controller(kube, home, replica, 1.0):
            await kube.patch("batch/v1", "Job", "smoke", dest, {"spec": {"suspend": False}})

            async def finished() -> Obj | None:
                app = await get_app(kube, home, name)
                return app if op_state(app).get("phase") == "Succeeded" else None

            app = await eventually(finished, "the next controller to finish the sync", timeout=60)
            state = op_state(app)
            assert "operation" not in app  # the lock was released
            result = next(r for r in state["syncResult"]["resources"] if r["kind"] == "Job")
            assert result["hookPhase"] == "Succeeded"
            with contextlib.suppress(NotFound):  # deleted once done only with a policy saying so
                again = await kube.get("batch/v1", "Job", "smoke", dest)
                assert again["metadata"]["uid"] == job["metadata"]["uid"], "created again"
            assert await configmap_data(kube, "one", dest) == {"k": "one"}
            assert app["status"]["history"][-1]["initiatedBy"]["username"] == "carol"
    finally:
        await delete_quietly(kube, API, "Application", name, home)
        await delete_quietly(kube, "v1", "Namespace", dest, None)


# -- two writers of one status -----------------------------------------------------------------


async def test_a_first_refresh_from_an_older_copy_keeps_a_sync_state_written_since(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    """A controller compares a just-created app while a sync starts on it elsewhere.

    Its status write, from the copy it read before the sync, must not wipe the
    sync's operationState (the first write of a status used to replace all of it).
    """
    kube, home = installed, namespace
    repo = git_repo("race")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    name = unique("race")
    read_before = await kube.create(app_in(home, name, repo, unique("race")))
    try:
        await leave_running(kube, home, name, "gitward-cli@elsewhere/1234")
        refresher = await refresher_for(kube, home)
        stored, _comparison = await refresher.refresh(read_before)
        assert sync_status(stored) == "OutOfSync"
        assert op_state(stored)["phase"] == "Running", stored["status"]
    finally:
        await delete_quietly(kube, API, "Application", name, home)
