"""``gitward app sync``, ``wait``, ``history``, ``rollback`` and ``terminate-op``.

Operations on an Application, in kubeconfig mode (the CLI runs the sync itself, as
``argocd --core`` does) or through a gitward server (the server records the
operation and the controller runs it; :mod:`gitward.cli.app_remote`). Both print
through :mod:`gitward.cli.app_view` from the same dicts.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from gitward import health
from gitward.apiclient import ApiClient
from gitward.appstate.app_writes import disable_automated, get_app
from gitward.appstate.wait import WaitFor, wait_for
from gitward.cli import app_remote, app_remote_edit, app_view, context
from gitward.cli.app_cmd import OutputOption
from gitward.cli.console import err, out
from gitward.cli.interrupt import Caught, best_effort, caught_signals
from gitward.cli.output import print_object
from gitward.cluster import KubeClient
from gitward.model.app_edit import resource_selector, retry_from_flags
from gitward.model.outcome import Outcome, read_outcome, recorded_outcome
from gitward.model.phases import OperationPhase
from gitward.services import refresher_for
from gitward.sync.attempt import OperationResult, Progress
from gitward.sync.plan import SyncRequest, SyncTask
from gitward.sync.rollback import rollback_entry, rollback_request
from gitward.sync.runner import run_sync
from gitward.sync.terminate import terminate_op as end_operation

Obj = dict[str, Any]


def _print_progress(task: SyncTask) -> None:
    shown = task.hook_phase if task.action == "hook" and task.hook_phase != "Succeeded" else None
    state = str(shown or task.status or "")
    colour = {"Synced": "green", "Pruned": "green", "SyncFailed": "red", "Failed": "red"}.get(
        state, "yellow"
    )
    err.print(
        f"[{colour}]{state:<12}[/{colour}] {task.phase:<8} {escape(str(task.key))}  "
        f"[dim]{escape(task.message)}[/dim]"
    )


def _notice(msg: str) -> None:
    err.print(f"[yellow]{escape(msg)}[/yellow]")


def _sync(
    ctx: typer.Context, name: str, request: SyncRequest, timeout: float, output: str
) -> tuple[OperationResult, Caught]:
    cli = context.get(ctx)

    async def body(client: KubeClient) -> tuple[OperationResult, Caught]:
        obj = await get_app(client, name, cli.namespace)
        progress = _print_progress if output != "json" else lambda _t: None
        return await _run_here(client, cli.namespace, obj, request, timeout, progress)

    return context.run(ctx, body)


async def _run_here(
    client: KubeClient,
    namespace: str,
    obj: Obj,
    request: SyncRequest,
    timeout: float,
    progress: Progress,
) -> tuple[OperationResult, Caught]:
    """Run a sync (or rollback) in this process, SIGINT, SIGTERM and SIGHUP ending it cleanly."""
    refresher = await refresher_for(client, namespace)
    notice = best_effort(_notice)
    with caught_signals(notice) as caught:
        result = await run_sync(
            refresher,
            obj,
            request,
            timeout=timeout,
            progress=best_effort(progress),
            notice=notice,
            interrupt=caught.interrupt,
        )
    return result, caught


def _exit_code(phase: object, caught: Caught | None) -> int:
    """0 when the operation succeeded; 128 + the signal that ended it; else 1."""
    if phase == "Succeeded":
        return 0
    return caught.exit_code if caught is not None else 1


def sync(
    ctx: typer.Context,
    name: str,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would change; change nothing."
    ),
    prune: bool = typer.Option(False, "--prune", help="Delete resources Git no longer declares."),
    force: bool = typer.Option(
        False, "--force", help="Re-create resources that cannot be patched."
    ),
    resource: list[str] = typer.Option([], "--resource", help="Only GROUP:KIND:NAME (repeatable)."),
    revision: str = typer.Option(
        "", "--revision", help="Sync this revision instead of the target."
    ),
    sync_option: list[str] = typer.Option([], "--sync-option", help="e.g. ApplyOutOfSyncOnly=true"),
    apply_out_of_sync_only: bool = typer.Option(
        False, "--apply-out-of-sync-only", help="Skip resources that are already Synced."
    ),
    timeout: float = typer.Option(
        300.0,
        "--timeout",
        help="Seconds before the sync gives up: the operation is then terminated as "
        "terminate-op does (running hooks deleted, Failed). Through a server, only the "
        "waiting stops; the controller goes on.",
    ),
    retry_limit: int = typer.Option(
        0, "--retry-limit", help="Retry a failed sync this many times (-1: until --timeout)."
    ),
    retry_backoff_duration: str = typer.Option(
        "5s", "--retry-backoff-duration", help="Wait before the first retry."
    ),
    retry_backoff_factor: int = typer.Option(
        2, "--retry-backoff-factor", help="Multiply the wait by this after each retry."
    ),
    retry_backoff_max_duration: str = typer.Option(
        "3m", "--retry-backoff-max-duration", help="Longest wait between retries."
    ),
    output: str = OutputOption,
) -> None:
    """Sync an Application to its target revision; exit non-zero if anything failed.

    Without --retry-limit the app's spec.syncPolicy.retry applies. With --core the CLI
    runs the operation itself: Ctrl-C, SIGTERM or SIGHUP (a closed terminal) terminates
    it once the step in progress is done (running hooks deleted, Failed, exit 128 + the
    signal's number).
    """
    options = list(sync_option)
    if apply_out_of_sync_only:
        options.append("ApplyOutOfSyncOnly=true")
    request = SyncRequest(
        revision=revision or None,
        prune=prune,
        dry_run=dry_run,
        force=force,
        resources=frozenset(resource_selector(r) for r in resource) if resource else None,
        sync_options=tuple(options),
        retry=retry_from_flags(
            retry_limit, retry_backoff_duration, retry_backoff_factor, retry_backoff_max_duration
        ),
    )
    caught: Caught | None = None
    if context.get(ctx).remote() is not None:
        state, healths = _sync_remote(ctx, name, request, timeout)
    else:
        result, caught = _sync(ctx, name, request, timeout, output)
        state = {
            "phase": result.phase,
            "message": result.message,
            "syncResult": {
                "revision": result.revision,
                "resources": [t.as_result() for t in result.tasks],
            },
        }
        healths = {}
        for t in result.tasks:
            assessed = health.assess(t.live) if t.live is not None else None
            if assessed is not None:
                healths[(t.key.group, t.key.kind, t.key.namespace, t.key.name)] = str(
                    assessed.status
                )
    if output == "json":
        sync_result = state.get("syncResult") or {}
        print_object(
            {
                "phase": state.get("phase"),
                "message": state.get("message"),
                "revision": sync_result.get("revision"),
                "resources": sync_result.get("resources") or [],
            },
            "json",
        )
    else:
        app_view.print_sync_result(state, healths, dry_run)
    code = _exit_code(state.get("phase"), caught)
    if code:
        raise typer.Exit(code)


def _sync_remote(
    ctx: typer.Context, name: str, request: SyncRequest, timeout: float
) -> tuple[Obj, dict[tuple[str, str, str, str], str]]:
    """The operation state and resource healths of a sync the controller ran."""
    cli = context.get(ctx)
    retry = request.retry
    body = app_remote.sync_body(
        revision=request.revision,
        prune=request.prune,
        dry_run=request.dry_run,
        force=request.force,
        resources=sorted(request.resources) if request.resources else None,
        sync_options=list(request.sync_options),
        retry=None
        if retry is None
        else {
            "limit": retry.limit,
            "backoff": {
                "duration": retry.backoff.duration,
                "factor": retry.backoff.factor,
                "maxDuration": retry.backoff.max_duration,
            },
        },
    )
    obj = context.run_api(ctx, lambda c: app_remote.sync(c, name, cli.namespace, body, timeout))
    state = (obj.get("status") or {}).get("operationState") or {}
    return state, app_remote.health_by_key(obj)


def wait(
    ctx: typer.Context,
    name: str,
    sync_: bool = typer.Option(False, "--sync", help="Wait until Synced."),
    health_: bool = typer.Option(False, "--health", help="Wait until Healthy."),
    operation: bool = typer.Option(False, "--operation", help="Wait until no operation runs."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait."),
) -> None:
    """Wait for an Application to be Synced and/or Healthy (both when neither is given).

    Only reads: the cluster is compared in memory, never written, so a wait beside a
    running controller does not race its status writes."""
    cli = context.get(ctx)
    want = WaitFor(sync=sync_, health=health_, operation=operation)

    async def body(client: KubeClient) -> Obj:
        refresher = await refresher_for(client, cli.namespace)
        return await wait_for(
            refresher, lambda: get_app(client, name, cli.namespace), want, timeout, name
        )

    if cli.remote() is not None:
        obj = context.run_api(
            ctx, lambda c: app_remote_edit.wait(c, name, cli.namespace, want, timeout)
        )
    else:
        obj = context.run(ctx, body)
    app_view.app_header(obj)


def history_(ctx: typer.Context, name: str, output: str = OutputOption) -> None:
    """List what was deployed, newest last: ID, date, revision."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> Obj:
        return await get_app(client, name, cli.namespace)

    if cli.remote() is not None:
        obj = context.run_api(ctx, lambda c: app_remote.get_app(c, name, cli.namespace))
    else:
        obj = context.run(ctx, body)
    entries = list(((obj.get("status") or {}).get("history")) or [])
    if output in ("json", "yaml"):
        print_object(entries, output)
        return
    table = Table("ID", "DATE", "REVISION", box=None)
    for entry in entries:
        if entry.get("revisions"):
            sources = entry.get("sources") or []
            shown = ", ".join(
                f"{(sources[i] if i < len(sources) else {}).get('targetRevision') or 'HEAD'} "
                f"({str(rev)[:7]})"
                for i, rev in enumerate(entry["revisions"])
            )
            table.add_row(str(entry.get("id")), entry.get("deployedAt", ""), shown)
            continue
        source = entry.get("source") or {}
        revision = entry.get("revision", "")
        target = source.get("targetRevision") or "HEAD"
        table.add_row(
            str(entry.get("id")), entry.get("deployedAt", ""), f"{target} ({revision[:7]})"
        )
    out.print(table)


def rollback(
    ctx: typer.Context,
    name: str,
    history_id: int | None = typer.Argument(None, help="History ID (default: the previous one)."),
    timeout: float = typer.Option(
        300.0,
        "--timeout",
        help="Seconds before the rollback gives up (terminated as app sync --timeout is).",
    ),
    prune: bool = typer.Option(False, "--prune", help="Also prune what the old revision lacks."),
) -> None:
    """Deploy a previous revision from the history. Disables automated sync, as Argo CD does.

    Ctrl-C, SIGTERM or SIGHUP ends a rollback the CLI runs as they end app sync."""
    cli = context.get(ctx)
    if cli.remote() is not None:
        _print_rollback(_rollback_remote(ctx, name, history_id, timeout, prune))
        return

    async def body(client: KubeClient) -> tuple[OperationResult, Caught]:
        obj = await get_app(client, name, cli.namespace)
        request = rollback_request(rollback_entry(obj, history_id, name), prune=prune)
        disabled = await disable_automated(client, obj)
        if disabled is not None:
            err.print(
                "[yellow]warning:[/yellow] automated sync is disabled for "
                f"{escape(name)} so the rollback is not undone; re-enable it with "
                f"gitward app set {escape(name)} --sync-policy automated"
            )
            obj = disabled
        return await _run_here(client, cli.namespace, obj, request, timeout, _print_progress)

    result, caught = context.run(ctx, body)
    outcome = {"phase": result.phase, "message": result.message, "revision": result.revision}
    _print_rollback(outcome, caught)


def _print_rollback(outcome: Obj, caught: Caught | None = None) -> None:
    out.print(f"{'Phase:':<16}{app_view.coloured(str(outcome.get('phase') or ''))}")
    out.print(f"{'Revision:':<16}{escape(str(outcome.get('revision') or ''))}")
    out.print(f"{'Message:':<16}{escape(str(outcome.get('message') or ''))}")
    code = _exit_code(outcome.get("phase"), caught)
    if code:
        raise typer.Exit(code)


def _rollback_remote(
    ctx: typer.Context, name: str, history_id: int | None, timeout: float, prune: bool
) -> Obj:
    """Ask the server for a rollback (turning automated sync off first) and wait for it."""
    cli = context.get(ctx)

    async def body(client: ApiClient) -> Obj:
        obj = await app_remote.get_app(client, name, cli.namespace)
        entry = rollback_entry(obj, history_id, name)
        if ((obj.get("spec") or {}).get("syncPolicy") or {}).get("automated") is not None:
            err.print(
                "[yellow]warning:[/yellow] automated sync is disabled for "
                f"{escape(name)} so the rollback is not undone; re-enable it with "
                f"gitward app set {escape(name)} --sync-policy automated"
            )
            await app_remote.disable_automated(client, name, cli.namespace)
        done = await app_remote.rollback(
            client, name, cli.namespace, int(entry["id"]), prune, timeout
        )
        state = (done.get("status") or {}).get("operationState") or {}
        result = state.get("syncResult") or {}
        revision = result.get("revision") or ",".join(result.get("revisions") or [])
        return {"phase": state.get("phase"), "message": state.get("message"), "revision": revision}

    return context.run_api(ctx, body)


def terminate_op(ctx: typer.Context, name: str) -> None:
    """End the running operation.

    With --core: its running hook Jobs are deleted, it is recorded as Failed ("Operation
    terminated") and its lock cleared (also a lock left by a killed sync); exit 1 when a
    hook could not be deleted (Error). Through a server, an operation whose hooks run is
    only marked Terminating: the controller deletes them and ends it at its next step."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> Outcome | None:
        obj = await get_app(client, name, cli.namespace)
        if not obj.get("operation") and not recorded_outcome(obj).in_progress:
            return None  # nothing runs: nothing to end
        stored = await end_operation(await refresher_for(client, cli.namespace), obj)
        return recorded_outcome(stored)

    if cli.remote() is not None:
        answer = context.run_api(ctx, lambda c: app_remote_edit.terminate(c, name, cli.namespace))
        ended = read_outcome(answer)
    else:
        found = context.run(ctx, body)
        if found is None:
            out.print(f"application '{escape(name)}' has no operation in progress")
            return
        ended = found
    phase, message = ended.phase, ended.message
    if phase is OperationPhase.TERMINATING:
        out.print(f"Application '{escape(name)}' operation terminating")
        err.print(f"[dim]{escape(message)}[/dim]")
    elif phase is OperationPhase.ERROR:
        out.print(f"operation of application '{escape(name)}' ended with errors")
        err.print(f"[red]{escape(message)}[/red]")
        raise typer.Exit(1)
    elif phase is not None:
        out.print(f"operation of application '{escape(name)}' terminated")
    else:  # a server that does not say (Argo CD answers {})
        out.print(f"asked to terminate the operation of application '{escape(name)}'")


def register(app: typer.Typer) -> None:
    """Add these commands to ``gitward app``."""
    app.command()(sync)
    app.command()(wait)
    app.command("history")(history_)
    app.command()(rollback)
    app.command("terminate-op")(terminate_op)
