"""Run every benchmark scenario, then print one Markdown table against the targets.

``make bench`` runs this at full size, ``make bench-quick`` with
``GITWARD_BENCH_QUICK=1`` (reduced sizes, a few minutes). Each scenario runs in
its own process, one after another, so they never compete for the machine;
each writes ``bench/results/<scenario>.json``; the table is also written to
``bench/results/summary.md``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import QUICK, RESULTS, machine, table

SCENARIOS = (
    "bench.render",
    "bench.sync",
    "bench.ceiling",
    "bench.controller",
    "bench.appsets",
    "bench.api",
    "bench.ui",
)


def figures(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text())
    return found


def share(rate: float, ceiling: dict[str, Any]) -> str:
    """``rate`` as a share of the ceiling gitward-loadgen measured (bench/ceiling.py)."""
    best = float(ceiling["ceiling_applies_per_s"])
    return f"{rate / best:.0%} of {best:.0f}/s at c={ceiling['ceiling_at_concurrency']}"


def rows() -> list[tuple[str, str, Any, Any, str]]:
    """(scenario, figure, value, baseline or ratio, target) for the summary."""
    s = figures("sync-1k")
    c = figures("ceiling")
    a = figures("apps-1k")
    r = figures("refresh")
    d = figures("drift")
    p = figures("push")
    render = {row["scenario"]: row for row in figures("render")["figures"]["scenarios"]}
    sf, sb = s["figures"], s["baselines"]
    af, rf, df, pf, cf = a["figures"], r["figures"], d["figures"], p["figures"], c["figures"]
    n = sf["resources"]
    fanout_objects = pf.get("fanout_changed_objects", pf["fanout_apps"] * 3)
    out: list[tuple[str, str, Any, Any, str]] = [
        (
            f"sync-1k ({n})",
            "full sync s (vs kubectl apply --server-side)",
            sf["gitward_full_sync_s"],
            f"{sb['kubectl_apply_server_side_s']} s = {sf['ratio_full_vs_kubectl_apply']}x",
            "<= 0.5x",
        ),
        (
            f"sync-1k ({n})",
            "no-op re-sync s (vs kubectl diff --server-side)",
            sf["gitward_noop_resync_s"],
            f"{sb['kubectl_diff_server_side_s']} s = {sf['ratio_noop_vs_kubectl_diff']}x",
            "",
        ),
        (
            "ceiling",
            "sync-1k objects/s (vs client-go SSA ceiling)",
            cf["sync_1k_objects_per_s"],
            f"{cf['ceiling_applies_per_s']}/s at c={cf['ceiling_at_concurrency']} = "
            f"{cf['sync_1k_share_of_ceiling']:.0%}",
            ">= 70%",
        ),
        (
            f"apps-1k ({af['apps']})",
            "objects/s to all Synced+Healthy (vs client-go SSA ceiling)",
            round(af["objects"] / af["seconds_to_all_synced_healthy"], 1),
            share(af["objects"] / af["seconds_to_all_synced_healthy"], cf),
            "",
        ),
        (
            f"push fan-out ({pf['fanout_apps']} apps)",
            "changed objects/s, push to all Synced (vs client-go SSA ceiling)",
            round(fanout_objects / pf["fanout_push_to_all_synced_s"], 1),
            share(fanout_objects / pf["fanout_push_to_all_synced_s"], cf),
            "",
        ),
        (
            f"apps-1k ({af['apps']})",
            "s to all Synced+Healthy (vs kubectl apply of the same objects)",
            af["seconds_to_all_synced_healthy"],
            f"{af['kubectl_apply_same_objects_s']} s = {af['ratio_to_kubectl']}x",
            "< 120 s",
        ),
        (
            f"apps-1k ({af['apps']})",
            "s to the first / the median app Synced+Healthy",
            f"{af.get('seconds_to_first_synced_healthy')} / "
            f"{af.get('seconds_to_p50_synced_healthy')}",
            f"all: {af['seconds_to_all_synced_healthy']} s",
            "first < 5 s, median < all / 2",
        ),
        (
            f"apps-1k ({af['apps']})",
            "s to all Synced+Healthy (vs kubectl apply + rollout: first / median / all)",
            af["seconds_to_all_synced_healthy"],
            " / ".join(str(x) for x in af.get("kubectl_apply_and_rollout_first_p50_all_s", []))
            + f" s = {af.get('ratio_to_kubectl_and_rollout')}x",
            "",
        ),
        (
            f"apps-1k ({af['apps']})",
            "controller peak RSS MB",
            af.get("peak_rss_mb_end", af["peak_rss_mb"]),
            f"{af['objects']} objects",
            "< 300",
        ),
        (
            f"apps-1k ({af['apps']})",
            "API requests per app (cold start)",
            af["api_requests_per_app_total"],
            json.dumps(af.get("api_requests_per_app_by_resource") or af["api_requests_per_app"]),
            "",
        ),
        (
            f"refresh ({rf['apps']})",
            "CPU s per full cycle",
            rf["cpu_seconds_per_cycle"],
            f"{rf['cycles']} cycles every {rf['cycle_interval_s']} s",
            "< 2",
        ),
        (
            f"refresh ({rf['apps']})",
            "API reads / git ls-remote per cycle",
            f"{rf['api_reads_per_cycle']} / {rf['git_ls_remote_per_cycle']}",
            f"writes {json.dumps(rf['api_requests_per_cycle'])}",
            "0 reads",
        ),
        (
            f"drift ({df['trials']} trials)",
            "self-heal p50 / p95 s",
            f"{df['heal_p50_s']} / {df['heal_p95_s']}",
            f"one GET {df['api_get_p50_s'] * 1000:.1f} ms",
            "p95 < 2",
        ),
        (
            f"push ({pf['trials']} trials)",
            "push+webhook to Synced p50 / p95 s",
            f"{pf['push_to_synced_p50_s']} / {pf['push_to_synced_p95_s']}",
            "",
            "p95 < 3",
        ),
        (
            f"push fan-out ({pf['fanout_apps']} apps)",
            "push+webhook to all Synced s",
            pf["fanout_push_to_all_synced_s"],
            f"{pf['fanout_per_app_ms']} ms/app",
            "< 10 (500 apps)",
        ),
    ]
    with contextlib.suppress(FileNotFoundError):
        t = figures("apps-10k")["figures"]
        out += [
            (
                f"apps-10k ({t['applicationsets']} sets x {t['apps_per_set']})",
                "s to all Synced+Healthy (vs kubectl apply of the same objects)",
                t["seconds_to_all_synced_healthy"],
                f"{t['kubectl_apply_same_objects_s']} s = {t['ratio_to_kubectl']}x",
                "< 600 s",
            ),
            (
                f"apps-10k ({t['apps']})",
                "controller peak RSS MB",
                t["peak_rss_mb"],
                f"{t['objects']} objects",
                "< 1024",
            ),
            (
                f"apps-10k ({t['apps']})",
                "API requests per app (cold start)",
                t["api_requests_per_app_total"],
                json.dumps(t["api_requests_per_app"]),
                "",
            ),
        ]
    with contextlib.suppress(FileNotFoundError):
        api = figures("api-10k")
        f, b = api["figures"], api["baselines"]
        out += [
            (
                f"api-10k ({f['apps']})",
                "list first page (limit=100) p50 / p95 ms",
                f"{f['list_first_page_p50_ms']} / {f['list_first_page_p95_ms']}",
                f"kube-apiserver page {b['kube_list_page_p50_ms']} / {b['kube_list_page_p95_ms']}",
                "p95 < 100",
            ),
            (
                f"api-10k ({f['apps']})",
                "app get p50 / p95 ms",
                f"{f['get_p50_ms']} / {f['get_p95_ms']}",
                f"kube-apiserver GET {b['kube_get_p50_ms']} / {b['kube_get_p95_ms']}",
                "p95 < 20",
            ),
            (
                f"api-10k ({f['apps']})",
                f"requests/s with {f['in_flight']} in flight: get / list page",
                f"{f['get_per_s']} / {f['list_page_per_s']}",
                f"server CPU ms/request {f['server_cpu_ms_per_get']} / "
                f"{f['server_cpu_ms_per_list_page']}; RSS {f['server_rss_mb']} MB; "
                f"load {f['load_average_1m']}",
                "",
            ),
        ]
    with contextlib.suppress(FileNotFoundError):
        u, ub = figures("ui")["figures"], figures("ui")["baselines"]
        whole = f"API whole list {ub['api_whole_list_ms']} ms"
        out += [
            (f"ui ({u['apps']})", "list first render ms (browser)", u["first_render_ms"],
             f"all loaded {u['all_loaded_ms']} ms; {whole}", "< 1000"),
            (f"ui ({u['apps']})", "search / health filter to paint ms (median)",
             f"{u['search_ms_median']} / {u['health_filter_ms_median']}",
             f"max {u['search_ms_max']} / {u['health_filter_ms_max']}", "< 300"),
            (f"ui ({u['apps']})", "tab memory MB (its renderer's PSS)", u["tab_pss_mb"],
             f"JS heap {u['js_heap_used_mb']} MB", "< 300"),
        ]  # fmt: skip
    for name, row in render.items():
        out.append(
            (
                f"render {name}",
                "cold / cached s",
                f"{row['cold_s']:.3f} / {row['hit_s']:.4f}",
                f"{row['cold_over_hit']:.0f}x",
                "",
            )
        )
    return out


def main() -> int:
    started = time.monotonic()
    only = sys.argv[1:]  # e.g. "bench.sync bench.ceiling"; "--summary" runs nothing
    for module in SCENARIOS:
        if only and module not in only:
            continue
        print(f"\n== {module}{' (quick)' if QUICK else ''}", flush=True)
        done = subprocess.run([sys.executable, "-m", module], check=False)
        if done.returncode != 0:
            print(f"{module} failed with exit code {done.returncode}", file=sys.stderr)
            return done.returncode
    try:
        summary = table(["scenario", "figure", "value", "baseline / ratio", "target"], rows())
    except FileNotFoundError as missing:
        # A subset was run and another scenario never wrote its results: nothing to sum up.
        print(f"\nno summary: {Path(str(missing.filename)).name} is missing", file=sys.stderr)
        return 0 if only else 1
    info = machine()
    footer = (
        f"\n{info['cpus']} CPUs, {info['platform']}, Python {info['python']}; "
        f"{'quick sizes; ' if QUICK else ''}{time.monotonic() - started:.0f} s in all"
    )
    print("\n" + summary + footer)
    (RESULTS / "summary.md").write_text(summary + footer + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
