"""The controller's side of DORA: watch Applications, record what happened to each.

``gitward controller`` attaches a :class:`Recorder` to its watch of Applications. For every
change of an app it compares what the app's status says now with the app's stored record
(:mod:`gitward.dora.store`) and records, durably, only what is new:

- a **deployment**: the app's operation finished (``operationState.finishedAt``) with a
  revision that was not deployed yet — succeeded, or failed (``Failed``/``Error``: a change
  failure). Its commit's committer and author times are read from the repository's mirror
  with git (:class:`GitCommits`), so lead time starts at the commit, not at the push;
- **Synced and Healthy** with the deployed revision: the end of that deployment's lead time;
- an **incident**: the app turned ``Degraded`` (a change failure too, when it follows a
  deployment within ``failure_window``), and its restore when it is ``Healthy`` again.

The same finished operation seen again — the next change of the app, a restarted
controller relisting — is recognised by its revision and finish time and changes nothing.
What happened is also reported to :attr:`Recorder.observe` as :class:`Happened` values, for
the ``gitward_dora_*`` metrics. One app is handled at a time, its changes in order.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from gitward._util.keyed import KeyedRunner, ObjectFeed
from gitward._util.quiet import QuietGate
from gitward.cluster import KubeClient
from gitward.dora import store
from gitward.dora.records import Record
from gitward.model.errors import GitwardError
from gitward.source import CommitInfo, CredentialStore, GitSource
from gitward.source.refs import FULL_SHA

Obj = dict[str, Any]
Kind = Literal["deployment", "change_failure", "lead_time", "restore"]
log = logging.getLogger("gitward.dora")

#: A finished operation seen this long after it finished (the controller was down, or the
#: recorder is new) is recorded without waiting for health: its lead time ends at the sync.
LATE_SECONDS = 300.0
FAILED_PHASES = ("Failed", "Error")
#: Seconds before a record that could not be stored is tried again.
RETRY_SECONDS = 5.0
CommitLookup = Callable[[Obj, str], Awaitable[CommitInfo | None]]


@dataclass(frozen=True)
class Happened:
    """One thing the recorder recorded: ``deployment`` (``failed`` or not), ``change_failure``,
    ``lead_time`` and ``restore`` (with their ``seconds``)."""

    kind: Kind
    namespace: str
    name: str
    project: str
    seconds: float = 0.0
    failed: bool = False


_KINDS: dict[str, Kind] = {
    "deployment": "deployment",
    "failed_deployment": "deployment",
    "change_failure": "change_failure",
    "lead_time": "lead_time",
    "restore": "restore",
}


@dataclass(frozen=True)
class Finished:
    revision: str
    at: float
    failed: bool


@dataclass(frozen=True)
class Facts:
    """What an Application's status says, as far as delivery records care."""

    finished: Finished | None
    revision: str
    synced: bool
    health: str


def _epoch(stamp: Any) -> float | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def _map(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def facts_of(app: Obj) -> Facts:
    """The parts of ``app``'s status that matter here, whatever its fields hold."""
    status = _map(app.get("status"))
    sync, health = _map(status.get("sync")), _map(status.get("health"))
    state = _map(status.get("operationState"))
    finished = None
    phase = state.get("phase")
    at = _epoch(state.get("finishedAt"))
    result = _map(state.get("syncResult"))
    revision = result.get("revision")
    if not isinstance(revision, str) or not revision:
        revisions = result.get("revisions")
        revision = revisions[0] if isinstance(revisions, list) and revisions else ""
    if phase in ("Succeeded", *FAILED_PHASES) and at is not None and isinstance(revision, str):
        if not revision:  # an operation that failed before it resolved a revision
            revision = str(_map(_map(state.get("operation")).get("sync")).get("revision") or "")
        if revision:
            finished = Finished(revision, at, phase in FAILED_PHASES)
    current = sync.get("revision")
    if not isinstance(current, str) or not current:
        revisions = sync.get("revisions")
        current = revisions[0] if isinstance(revisions, list) and revisions else ""
    return Facts(
        finished,
        str(current or ""),
        sync.get("status") == "Synced",
        str(health.get("status") or ""),
    )


def is_new(record: Record, finished: Finished | None) -> bool:
    """Whether ``finished`` is a deployment the record has not counted yet."""
    if finished is None:
        return False
    if any(d.revision == finished.revision and d.synced_at == finished.at
           for d in record.deployments[-20:]):  # fmt: skip
        return False
    last = record.deployments[-1] if record.deployments else None
    if last is None or last.revision != finished.revision:
        return True
    # The revision again: a self-heal, or another attempt at a failing revision (a restarted
    # controller retries it) — not a new deployment. A failed revision that succeeds is one.
    return last.failed and not finished.failed


def apply(
    record: Record,
    facts: Facts,
    commit: CommitInfo | None,
    now: float,
    failure_window: float,
) -> list[tuple[str, float]]:
    """Bring ``record`` up to date with ``facts``; what changed, as (kind, seconds) pairs:
    ``deployment``, ``failed_deployment``, ``change_failure``, ``lead_time``, ``restore``.

    Pure, and idempotent: applied again to the record it produced, it changes nothing —
    so :func:`gitward.dora.store.update` may re-apply it to a record read afresh.
    """
    happened: list[tuple[str, float]] = []
    finished = facts.finished
    if finished is not None and is_new(record, finished):
        committed = float(commit.committed_at) if commit else 0.0
        record.deployed(finished.revision, committed, finished.at, finished.failed)
        deployment = record.deployments[-1]
        deployment.authored_at = float(commit.authored_at) if commit else 0.0
        happened.append(("failed_deployment" if finished.failed else "deployment", 0.0))
        if finished.failed:
            happened.append(("change_failure", 0.0))
        elif now - finished.at > LATE_SECONDS and _healthy_at(facts, finished.revision):
            deployment.healthy_at = finished.at  # seen late: healthy since when, unknown
            if deployment.committed_at:
                happened.append(("lead_time", max(0.0, finished.at - committed)))
    last = record.deployments[-1] if record.deployments else None
    was_healthy = bool(last is not None and last.healthy_at)
    open_before = bool(record.incidents and not record.incidents[-1].restored_at)
    if not record.observed(facts.revision, facts.synced, facts.health, now):
        return happened
    if last is not None and not was_healthy and last.healthy_at and last.committed_at:
        happened.append(("lead_time", max(0.0, last.healthy_at - last.committed_at)))
    incident = record.incidents[-1] if record.incidents else None
    if incident is not None and not open_before and not incident.restored_at:
        if _blamed(record, incident.degraded_at, failure_window):
            happened.append(("change_failure", 0.0))
    elif incident is not None and open_before and incident.restored_at:
        happened.append(("restore", incident.restored_at - incident.degraded_at))
    return happened


def _healthy_at(facts: Facts, revision: str) -> bool:
    return facts.revision == revision and facts.synced and facts.health == "Healthy"


def _blamed(record: Record, degraded_at: float, window: float) -> bool:
    """Whether the deployment before ``degraded_at`` failed by it: it was recent, and no
    earlier incident since it was already counted against it."""
    ok = [d for d in record.deployments if not d.failed and d.synced_at <= degraded_at]
    if not ok or degraded_at >= ok[-1].synced_at + window:
        return False
    since = ok[-1].synced_at
    earlier = [i for i in record.incidents[:-1] if since <= i.degraded_at < degraded_at]
    return not earlier


class GitCommits:
    """A commit's times from the app's repository mirror, with the installation's credentials."""

    def __init__(
        self, git: GitSource, credentials: Callable[[], CredentialStore | None] = lambda: None
    ) -> None:
        self.git = git
        self.credentials = credentials

    async def __call__(self, app: Obj, revision: str) -> CommitInfo | None:
        if not FULL_SHA.match(revision):
            return None  # a Helm chart version, an OCI digest: no commit to read
        spec = _map(app.get("spec"))
        sources = spec.get("sources")
        source = _map(spec.get("source")) or (
            _map(sources[0]) if isinstance(sources, list) and sources else {}
        )
        url = source.get("repoURL")
        if not isinstance(url, str) or not url or source.get("chart"):
            return None
        store_ = self.credentials()
        project = str(spec.get("project") or "default")
        creds = store_.lookup(url, project) if store_ is not None else None
        return await self.git.commit_info(url, revision, creds)


class Recorder:
    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        commits: CommitLookup | None = None,
        *,
        failure_window: float = 3600.0,
        clock: Callable[[], float] = time.time,
        write_delay: float = 0.0,
        gate: QuietGate | None = None,
    ) -> None:
        self.client = client
        #: Delayed writes also wait for the controller to have no urgent work (its syncs).
        self.gate = gate
        #: Seconds a change waits in memory before it is stored, so the changes of one
        #: delivery (its sync, then Healthy a moment later) cost one write. 0: at once.
        #: What a crash loses meanwhile is found again in the app's status on restart.
        self.write_delay = write_delay
        #: Changes recorded in memory, not stored yet, by app: (facts, commit, when).
        self._unstored: dict[str, list[tuple[Facts, CommitInfo | None, float]]] = {}
        #: The write each of those apps waits for, and the app object it writes for.
        self._writes: dict[str, asyncio.Task[None]] = {}
        self._apps_written: dict[str, Obj] = {}
        self.namespace = namespace
        self.commits = commits
        self.failure_window = failure_window
        self.clock = clock
        #: Every app's record as last read or written, by ``namespace/name``.
        self.records: dict[str, Record] = {}
        #: Each record's ConfigMap as last stored: a change is written without reading first.
        self._stored: dict[str, Obj] = {}
        #: Called with each thing recorded (metrics).
        self.observe: Callable[[Happened], None] = lambda _happened: None
        self._loaded = False
        self._load_lock = asyncio.Lock()
        self._runner: KeyedRunner[Obj] = KeyedRunner(self._guarded, latest=False, log=log)
        self._active: Callable[[Obj], bool] = lambda _app: True

    def attach(self, apps: ObjectFeed, active: Callable[[Obj], bool] | None = None) -> None:
        """Record from every change ``apps`` reports; ``active(app)`` says whether this
        process records for it (with shards: the owner of the app's shard)."""
        if active is not None:
            self._active = active
        apps.subscribe(self._changed)

    def _changed(self, name: str, _old: Obj | None, new: Obj | None) -> None:
        if new is not None and self._active(new):
            self._runner.submit(name, new)

    def look(self, app: Obj) -> None:
        """Record from ``app``'s state soon, in the background."""
        self._runner.submit(str(app["metadata"]["name"]), app)

    async def idle(self) -> None:
        """Return once every change seen so far is recorded and stored."""
        await self._runner.idle()
        while self._writes:
            await asyncio.gather(*list(self._writes.values()), return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()
        await self._runner.close()
        await self.flush()

    async def flush(self) -> None:
        """Store every change still waiting for its write (at shutdown, and in tests)."""
        for task in list(self._writes.values()):
            task.cancel()
        self._writes.clear()
        for key in list(self._unstored):
            try:
                await self._store(key, self._apps_written.get(key) or {})
            except GitwardError as exc:
                log.warning("delivery record of %s: %s", key, exc)

    def _key(self, app: Obj) -> str:
        meta = app["metadata"]
        return f"{meta.get('namespace', self.namespace)}/{meta['name']}"

    async def _load(self) -> None:
        async with self._load_lock:
            if not self._loaded:
                stored = await store.load_all_configmaps(self.client, self.namespace)
                self._stored.update(stored)
                self.records.update({key: store.parse(cm) for key, cm in stored.items()})
                self._loaded = True

    async def _guarded(self, app: Obj) -> None:
        try:
            await self.record(app)
        except GitwardError as exc:
            log.warning("delivery record of %s: %s", self._key(app), exc)

    async def record(self, app: Obj) -> list[Happened]:
        """Record what ``app``'s state adds to its delivery record; what was recorded."""
        await self._load()
        key = self._key(app)
        facts = facts_of(app)
        known = self.records.get(key) or Record()
        commit = None
        if is_new(known, facts.finished) and self.commits is not None:
            assert facts.finished is not None
            try:
                commit = await self.commits(app, facts.finished.revision)
            except GitwardError as exc:  # recorded without a lead time rather than not at all
                log.warning("commit time of %s for %s: %s", facts.finished.revision[:12], key, exc)
        now = self.clock()
        record = Record.from_dict(known.to_dict(), "record")
        happened = apply(record, facts, commit, now, self.failure_window)
        if record.to_dict() == known.to_dict():
            return []  # (what counts for no metric, an unblamed incident, still changes it)
        # One path for every change: recorded in memory, then stored at once or after
        # ``write_delay`` (re-applied to the stored record: another replica may have
        # written it meanwhile, and :func:`apply` is idempotent).
        self.records[key] = record
        self._unstored.setdefault(key, []).append((facts, commit, now))
        self._apps_written[key] = app
        if key not in self._writes:
            if self.write_delay > 0:
                self._later(key, self.write_delay)
            else:
                await self._store_now(key)
        spec = _map(app.get("spec"))
        ns, name = key.split("/", 1)
        project = str(spec.get("project") or "default")
        out = [
            Happened(_KINDS[kind], ns, name, project, seconds, kind == "failed_deployment")
            for kind, seconds in happened
        ]
        for one in out:
            self.observe(one)
        if out:
            log.info("delivery record of %s: %s", key, ", ".join(h.kind for h in out))
        return out

    def _later(self, key: str, delay: float) -> None:
        self._writes[key] = asyncio.create_task(self._store_later(key, delay))

    async def _store_later(self, key: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.gate is not None:
            await self.gate.wait()
        self._writes.pop(key, None)
        await self._store_now(key)

    async def _store_now(self, key: str) -> None:
        """Store ``key``'s changes; on failure they wait in memory for another try."""
        try:
            await self._store(key, self._apps_written.get(key) or {})
        except GitwardError as exc:
            log.warning("delivery record of %s: %s; trying again", key, exc)
            if key not in self._writes:
                self._later(key, max(self.write_delay, RETRY_SECONDS))

    async def _store(self, key: str, app: Obj) -> None:
        """Store the changes of ``key`` recorded in memory, re-applied to the stored record
        (another replica may have written it meanwhile: :func:`apply` is idempotent)."""
        changes = self._unstored.pop(key, [])
        if not changes or not app:
            self._apps_written.pop(key, None)
            return

        def change(record: Record) -> bool:
            before = record.to_dict()
            for facts, commit, at in changes:
                apply(record, facts, commit, at, self.failure_window)
            return record.to_dict() != before

        last_stored = self._stored.get(key, store.ABSENT) if self._loaded else None
        try:
            record, stored = await store.update(
                self.client, self.namespace, app, change, last_stored
            )
        except GitwardError:
            # Kept for the next write (or found again in the status after a restart).
            self._unstored[key] = changes + self._unstored.get(key, [])
            raise
        if stored is not None:
            self._stored[key] = stored
        for facts, commit, at in self._unstored.get(key, []):  # recorded during the write
            apply(record, facts, commit, at, self.failure_window)
        self.records[key] = record
        if key not in self._unstored:
            self._apps_written.pop(key, None)
