"""``gitward stats``: the DORA figures of an app or a project (flags and printing only)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import typer

from gitward.cli import context
from gitward.cli.console import out
from gitward.cluster import KubeClient
from gitward.dora import Figures, figures
from gitward.dora.store import load_all
from gitward.model.durations import parse_duration
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION

_BARS = " ▁▂▃▄▅▆▇█"


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def sparkline(values: tuple[int, ...]) -> str:
    top = max(values, default=0)
    if top == 0:
        return _BARS[0] * len(values)
    return "".join(_BARS[round(v / top * (len(_BARS) - 1))] for v in values)


def stats(
    ctx: typer.Context,
    app: str = typer.Argument("", help="One Application (NAME or NS/NAME); default: all."),
    project: str = typer.Option("", "--project", help="Only the apps of this AppProject."),
    since: str = typer.Option("30d", "--since", help="Window: 30d, 12h, 90m, ..."),
    failure_window: str = typer.Option(
        "1h", "--failure-window", help="A deployment followed by Degraded within this failed."
    ),
    output: str = typer.Option("text", "--output", "-o", help="text or json."),
) -> None:
    """Deployment frequency, lead time for changes, change failure rate and time to restore,
    from the delivery records the controller keeps (Git commit times and sync history)."""
    if output not in ("text", "json"):
        raise ConfigError(f"--output: expected text or json, got {output!r}")
    span = parse_duration(since, "--since", days=True)
    window = parse_duration(failure_window, "--failure-window")
    cli = context.get(ctx)

    async def body(client: KubeClient) -> tuple[Figures, int]:
        records = await load_all(client, cli.namespace)
        if project:
            apps = await client.list(API_VERSION, APPLICATION, cli.namespace)
            wanted = {
                f"{a['metadata'].get('namespace', cli.namespace)}/{a['metadata']['name']}"
                for a in apps
                if ((a.get("spec") or {}).get("project") or "default") == project
            }
            records = {k: v for k, v in records.items() if k in wanted}
        if app:
            key = app if "/" in app else f"{cli.namespace}/{app}"
            if key not in records:
                raise ConfigError(f"application {key}: no deliveries recorded yet")
            records = {key: records[key]}
        now = time.time()
        return figures(list(records.values()), now - span, now, window), len(records)

    result, count = context.run(ctx, body)
    if output == "json":
        print(json.dumps({"applications": count, **asdict(result)}, indent=2))
        return
    rate = result.change_failure_rate
    rows = [
        ("applications", str(count)),
        ("deployments", f"{result.deployments} ({result.failed} failed syncs)"),
        ("deployment frequency", f"{result.deployments_per_day:.2f} per day"),
        ("lead time for changes", f"{_human(result.lead_time_median)} median, "
                                  f"{_human(result.lead_time_mean)} mean"),
        ("change failure rate", "-" if rate is None else f"{rate:.0%}"),
        ("time to restore", f"{_human(result.time_to_restore_median)} median over "
                            f"{result.restores} incident(s)"),
        (f"deployments per day ({since})", sparkline(result.per_day)),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        out.print(f"{key.ljust(width)}  {value}", highlight=False)
